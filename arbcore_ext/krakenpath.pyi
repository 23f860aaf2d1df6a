"""Kraken v1 book frames in one pass (tail-routed updates numbered by arrival; snapshots too)."""

from collections.abc import Iterable

from arbcore_ext.book import LevelBuffer
from arbcore_ext.checksum import crc32 as crc32
from arbcore_ext.checksum import crc32_append as crc32_append
from arbcore_ext.deltapath import DeltaPath, Route

def scan_v1_book(
    frame: bytes, price_decimals: int, size_decimals: int, levels: LevelBuffer
) -> tuple[bool, int | None] | None:
    """``(is_snapshot, checksum or None)`` of a v1 book frame, its levels in ``levels`` (asks,
    then bids); None when the frame is not in the wire's strict shape."""

class TailPath(DeltaPath):
    """Array frames naming their book at the end (Kraken v1), numbered by arrival."""

    @property
    def arrivals(self) -> int: ...
    def __init__(
        self, routes: Iterable[Route], *, tail_mark: bytes, capacity: int = 256
    ) -> None: ...
    def next_arrival(self) -> int:
        """The next arrival number (for a book event read elsewhere)."""
