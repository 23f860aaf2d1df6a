"""Quotes checked against the book, frames without book data set aside, the replay loop: in C."""

from collections.abc import Iterable, Iterator
from typing import Any

from arbcore_ext.deltapath import DeltaPath, Route, SyncCore

QUOTED: int

class BboCheck:
    """The BBO cross-check of one book: matches, mismatches, quotes waiting for their update."""

    @property
    def core(self) -> SyncCore: ...
    matches: int
    mismatches: int
    @property
    def waiting(self) -> list[tuple[int, int, int, int, int]]:
        """The quotes that wait, in update order: ``(update_id, bid_price, bid_size, ask_price,
        ask_size)`` each."""
    def __init__(self, core: SyncCore) -> None: ...
    def on_quote(
        self, update_id: int, bid_price: int, bid_size: int, ask_price: int, ask_size: int
    ) -> None:
        """A venue quote at update ``update_id`` (0: it names none, nothing to check)."""
    def after_update(self) -> None:
        """The book changed (and is in sync): compare the quote waiting for its new id."""

class QuotePath:
    """A venue's quote frames, read and checked in C."""

    last_symbol: str | None
    @property
    def last_quote(self) -> tuple[int, int, int, int, int] | None:
        """``(update_id, bid_price, bid_size, ask_price, ask_size)`` of the last quote read."""
    def __init__(
        self,
        routes: Iterable[Route],
        *,
        anchor: bytes,
        window: int = 0,
        kind_key: bytes,
        kind: bytes | None = None,
        base_key: bytes | None = None,
        symbol_key: bytes,
        symbol_sep: bytes | None = None,
        value_keys: tuple[bytes, bytes, bytes, bytes],
        update_key: bytes,
        time_key: bytes | None = None,
    ) -> None: ...
    def attach(self, symbol: str, check: BboCheck | None) -> None: ...
    def read(self, frame: bytes) -> int:
        """QUOTED (checked by its book's BboCheck) or DECLINED."""

class KindFilter:
    """Frames whose first ``key`` string is one of ``kinds`` (None: the key is absent), or
    that ``also`` matches: no book data in them (``objects_only``: frames that start with ``{``)."""

    def __init__(
        self,
        key: bytes,
        kinds: Iterable[bytes | None],
        also: KindFilter | None = None,
        *,
        objects_only: bool = False,
    ) -> None: ...
    def matches(self, frame: bytes) -> bool: ...

class FrameLoop:
    """The compiled part of a replay (see the module docstring)."""

    messages: int
    book_events: int
    @property
    def status(self) -> int: ...
    def __init__(
        self,
        path: DeltaPath | None = None,
        quotes: QuotePath | None = None,
        no_book: KindFilter | None = None,
    ) -> None: ...
    def attach(self, symbol: str, check: BboCheck) -> None: ...
    def run(self, records: Iterator[Any]) -> Any:
        """The next record that needs Python, or None when ``records`` is exhausted."""
