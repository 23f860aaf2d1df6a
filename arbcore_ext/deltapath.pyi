"""One call per delta frame: from the frame's bytes to the applied book."""

from collections.abc import Iterable
from typing import Any

from arbcore_ext.book import L2Book, LevelBuffer
from arbcore_ext.checksum import TextForm

APPLIED: int
DECLINED: int
SKIPPED: int
UNROUTED: int
DEFER: int
VERIFY: int
SCANNED: int
CROSSED: int
RULE_OTHER: int
RULE_RANGE: int
RULE_ARRIVAL: int
RULE_PREV: int

def anchor_offset(frame: bytes, anchor: bytes, limit: int) -> int:
    """Where the compiled anchor search finds ``anchor`` within ``frame[:limit]``, or -1."""

def range_verdict(book_id: int, first: int, last: int) -> int:
    """The compiled RangeRule: 0 apply, 1 skip, 2 gap."""

def rule_verdict(rule: int, book_id: int, first: int, last: int, prev: int | None = None) -> int:
    """A compiled rule's verdict (RULE_RANGE, RULE_ARRIVAL, RULE_PREV): 0 apply, 1 skip, 2 gap."""

class BookCounters:
    """What happened to one book (C counters, written by the fast path too)."""

    updates: int
    snapshots: int
    skipped: int
    gaps: int
    resyncs: int
    checksum_ok: int
    checksum_failed: int
    crossed: int
    buffer_overflows: int
    def __init__(
        self,
        updates: int = 0,
        snapshots: int = 0,
        skipped: int = 0,
        gaps: int = 0,
        resyncs: int = 0,
        checksum_ok: int = 0,
        checksum_failed: int = 0,
        crossed: int = 0,
        buffer_overflows: int = 0,
    ) -> None: ...
    def as_dict(self) -> dict[str, int]: ...

class SyncCore:
    """The C state of one BookSync."""

    @property
    def book(self) -> L2Book: ...
    @property
    def counters(self) -> BookCounters: ...
    book_id: int
    synced: bool
    updated_at_ns: int
    rule: int
    verify_each: bool
    def __init__(
        self, book: L2Book, counters: BookCounters, rule: int = ..., verify_each: bool = False
    ) -> None: ...

class Route:
    """One wire symbol a DeltaPath reads."""

    @property
    def native(self) -> bytes: ...
    @property
    def symbol(self) -> str: ...
    @property
    def price_decimals(self) -> int: ...
    @property
    def size_decimals(self) -> int: ...
    def __init__(
        self, native: bytes, symbol: str, price_decimals: int, size_decimals: int
    ) -> None: ...

class DeltaPath:
    """A venue's plain delta frames, read and applied in one call."""

    @property
    def levels(self) -> LevelBuffer: ...
    @property
    def first_seq(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def prev_seq(self) -> int | None: ...
    @property
    def checksum(self) -> int | None: ...
    @property
    def ts_event_ns(self) -> int: ...
    @property
    def ts_recv_ns(self) -> int: ...
    @property
    def symbol(self) -> str | None: ...
    @property
    def owner(self) -> Any: ...
    def __init__(
        self,
        routes: Iterable[Route],
        *,
        anchor: bytes,
        window: int = 0,
        base_key: bytes | None = None,
        reject: bytes | None = None,
        symbol_key: bytes,
        first_key: bytes,
        last_key: bytes,
        time_key: bytes | None = None,
        time_required: bool = False,
        time_unit_ns: int = 1,
        single_seq: bool = False,
        levels_key: bytes | None = None,
        level_keys: tuple[tuple[bytes, int], ...],
        drop_zero_prices: bool = False,
        capacity: int = 256,
    ) -> None: ...
    def attach(self, symbol: str, core: SyncCore, owner: Any = None) -> None: ...
    def detach(self, symbol: str) -> None: ...
    def set_checksum(self, symbol: str, form: TextForm | None, depth: int = 0) -> None:
        """Verify the symbol's checksums in C (after truncating to ``depth``; 0: none)."""
    def scan(self, frame: bytes, ts_recv_ns: int = 0, connection: int = 0) -> int: ...
    def apply(self, frame: bytes, ts_recv_ns: int = 0, connection: int = 0) -> int: ...
