"""OKX ``books`` pushes in one call: read, applied by OKX's seqId rule, checksum verified."""

from collections.abc import Iterable

from arbcore_ext.book import LevelBuffer
from arbcore_ext.checksum import TextForm
from arbcore_ext.deltapath import DeltaPath, Route

def okx_verdict(book_id: int, last: int, prev: int | None = None) -> int:
    """The compiled OKXSeqRule: 0 apply, 1 skip, 2 gap."""

def read_levels(
    frame: bytes, offset: int, side: int, price_decimals: int, size_decimals: int, out: LevelBuffer
) -> int:
    """OKX's level array at ``offset`` appended to ``out``: the end, or -1 (not that shape)."""

class OKXPath(DeltaPath):
    """OKX ``books`` pushes read (updates applied, checksums verified) in one call."""

    @property
    def channels(self) -> tuple[bytes, ...]: ...
    def __init__(
        self,
        routes: Iterable[Route],
        form: TextForm,
        channels: Iterable[bytes],
        capacity: int = 512,
    ) -> None: ...
    def push_of(self, frame: bytes) -> tuple[str, bool, int, int | None, int | None, int] | None:
        """The fields of a strict books push (levels in :attr:`levels`), else None."""
    def ignores(self, frame: bytes) -> bool:
        """True when ``parse_ws`` has nothing to read in the frame (another channel, an
        unknown instId)."""
