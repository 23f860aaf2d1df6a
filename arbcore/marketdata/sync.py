"""Keeping a local book provably in sync with the venue's.

One :class:`BookSync` per (venue, symbol) owns an :class:`~arbcore_ext.book.L2Book` and applies
the venue's :class:`SequenceRule` to every event: deltas are buffered while a snapshot loads; a
gap, a bad checksum or a crossed book marks the book stale, counts it and asks for a resync
(``on_resync``: the data client fetches a REST snapshot or resubscribes). While a book is not in
sync :meth:`BookSync.fresh_book` returns None, so a stale book is never handed to a strategy.

The rules are small pure objects, one per documented sequencing scheme:

- :class:`RangeRule`: skip ``last <= id``; gap if ``first > id + 1`` (Binance spot, Gate.io,
  KuCoin);
- :class:`PrevRule`: ``prev == id``, the venue names its predecessor (HTX mbp, Bitfinex
  channels, Binance futures; OKX refines it in ``okx.data.OKXSeqRule`` to align REST snapshots
  and accept the pre-2023 pushes that carry no sequence);
- venue rules where none of these fits: ``okx.data.OKXSeqRule``, ``bybit.data.BybitRule``
  (``u == id + 1``, ``u == 1`` a restart);
- :class:`ArrivalRule`: no sequence; the feed numbers events by arrival, so deltas older than a
  pushed snapshot are skipped and checksums decide the rest (Kraken).

``id`` is the sequence of the last applied event (the snapshot's first).

The state a delta touches (book, ``id``, in-sync flag, counters, receive time) lives in a C
:class:`~arbcore_ext.deltapath.SyncCore`, so a feed's compiled
:class:`~arbcore_ext.deltapath.DeltaPath` applies plain deltas in one call and hands back only
what needs a decision here (:meth:`BookSync.on_path`).
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

import attrs
import numpy as np

from arbcore.model import BookEvent, BookEventKind
from arbcore_ext.book import BID, L2Book, LevelBuffer
from arbcore_ext.deltapath import (
    CROSSED,
    RULE_ARRIVAL,
    RULE_OTHER,
    RULE_PREV,
    RULE_RANGE,
    VERIFY,
    BookCounters,
    SyncCore,
)

__all__ = [
    "ArrivalRule",
    "BookCounters",
    "BookSync",
    "ChecksumFunction",
    "Continuity",
    "PrevRule",
    "RangeRule",
    "SeqView",
    "SequenceInfo",
    "SequenceRule",
    "SyncState",
]

logger = logging.getLogger(__name__)


class Continuity(enum.Enum):
    APPLY = "apply"
    SKIP = "skip"  # already contained in the book (older than the snapshot, or a repeat)
    GAP = "gap"


class SyncState(enum.Enum):
    WAITING_SNAPSHOT = "waiting_snapshot"  # buffering deltas until a snapshot arrives
    SYNCED = "synced"


class SequenceInfo(Protocol):
    """The sequence fields a rule reads: a :class:`BookEvent` or a parser's :class:`SeqView`."""

    @property
    def first_seq(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def prev_seq(self) -> int | None: ...
    @property
    def checksum(self) -> int | None: ...
    @property
    def ts_recv_ns(self) -> int: ...


@attrs.define(slots=True)
class SeqView:
    """Sequence fields of the delta a fast parser just scanned into a LevelBuffer (reused)."""

    first_seq: int = 0
    last_seq: int = 0
    prev_seq: int | None = None
    checksum: int | None = None
    ts_event_ns: int = 0
    ts_recv_ns: int = 0


class DeltaPathView(SequenceInfo, Protocol):
    """A feed's DeltaPath as :meth:`BookSync.on_path` reads it: its last frame's sequence
    fields and the levels it scanned."""

    @property
    def levels(self) -> LevelBuffer: ...


class SequenceRule(Protocol):
    """A venue's continuity rule: may ``event`` follow a book whose sequence is ``book_id``?"""

    def check(self, book_id: int, event: SequenceInfo) -> Continuity: ...


@attrs.frozen
class RangeRule:
    """Events carry ``[first_seq, last_seq]``; each continues where the last one ended."""

    def check(self, book_id: int, event: SequenceInfo) -> Continuity:
        if event.last_seq <= book_id:
            return Continuity.SKIP
        if event.first_seq > book_id + 1:
            return Continuity.GAP
        return Continuity.APPLY


@attrs.frozen
class PrevRule:
    """Events name their predecessor (``prev_seq``); it must be the book's sequence."""

    def check(self, book_id: int, event: SequenceInfo) -> Continuity:
        if event.prev_seq is None:
            return Continuity.GAP
        if event.last_seq <= book_id and event.prev_seq < book_id:
            return Continuity.SKIP
        return Continuity.APPLY if event.prev_seq == book_id else Continuity.GAP


@attrs.frozen
class ArrivalRule:
    """No sequence numbers: the feed numbers events by arrival and the checksum judges.

    Arrival order only decides which deltas predate a snapshot: one pushed on (re)subscribe
    already contains every delta that reached the client before it, so those (buffered while the
    book waited) are skipped, not applied a second time on top of the newer book. Every later
    delta applies; a lost one is caught by the venue's checksum.
    """

    def check(self, book_id: int, event: SequenceInfo) -> Continuity:
        return Continuity.SKIP if event.last_seq <= book_id else Continuity.APPLY


ChecksumFunction = Callable[[L2Book], int]


class BookSync:
    """One book kept in sync by one venue's rule (see the module docstring)."""

    def __init__(
        self,
        venue: str,
        symbol: str,
        book: L2Book,
        rule: SequenceRule,
        *,
        checksum: ChecksumFunction | None = None,
        on_resync: Callable[[BookSync], None] | None = None,
        max_buffer: int = 10_000,
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.book = book
        self.on_resync = on_resync
        self.counters = BookCounters()
        #: the C state the feed's DeltaPath writes (see the module docstring)
        self.core = SyncCore(book, self.counters)
        self.rule = rule
        self.checksum = checksum
        self._buffer: deque[BookEvent] = deque(maxlen=max_buffer)

    @property
    def rule(self) -> SequenceRule:
        return self._rule

    @rule.setter
    def rule(self, rule: SequenceRule) -> None:
        self._rule = rule  # only the rules compiled in C may be applied there (exact types)
        self.core.rule = _COMPILED_RULES.get(type(rule), RULE_OTHER)

    @property
    def checksum(self) -> ChecksumFunction | None:
        return self._checksum

    @checksum.setter
    def checksum(self, checksum: ChecksumFunction | None) -> None:
        self._checksum = checksum
        self.core.verify_each = checksum is not None

    @property
    def book_id(self) -> int:
        """Sequence of the last applied event."""
        return self.core.book_id

    @book_id.setter
    def book_id(self, value: int) -> None:
        self.core.book_id = value

    @property
    def state(self) -> SyncState:
        return SyncState.SYNCED if self.core.synced else SyncState.WAITING_SNAPSHOT

    @state.setter
    def state(self, state: SyncState) -> None:
        self.core.synced = state is SyncState.SYNCED

    @property
    def in_sync(self) -> bool:
        return self.core.synced

    @property
    def updated_at_ns(self) -> int:
        """Receive time of the frame behind the last applied update (0: none had one)."""
        return self.core.updated_at_ns

    def age_ns(self, now_ns: int) -> int | None:
        """How long ago (by the feed's receive clock) the book last changed; None when it is not
        in sync or no update carried a receive time. No clock call on the hot path: the time is
        the frame's own."""
        core = self.core
        if not core.synced or not core.updated_at_ns:
            return None
        return now_ns - core.updated_at_ns

    def fresh_book(self) -> L2Book | None:
        """The book if it is in sync, else None: strategies only ever see a synced book."""
        return self.book if self.state is SyncState.SYNCED else None

    def on_event(self, event: BookEvent) -> bool:
        """Apply one event by the venue's rule; True when the book changed and is in sync."""
        if event.kind is BookEventKind.SNAPSHOT:
            return self._snapshot(event)
        if self.state is not SyncState.SYNCED:
            if len(self._buffer) == self._buffer.maxlen:
                self.counters.buffer_overflows += 1
            self._buffer.append(event)
            return False
        return self._delta(event)

    def on_levels(self, seq: SequenceInfo, levels: LevelBuffer, symbol: str) -> bool:
        """The fast path: a delta scanned straight into ``levels``, no BookEvent built.

        While the book waits for a snapshot the delta is kept as a BookEvent (a copy), exactly
        as :meth:`on_event` would keep it.
        """
        if self.state is not SyncState.SYNCED:
            sides, prices, sizes = levels.arrays()
            return self.on_event(
                BookEvent(
                    venue=self.venue,
                    symbol=symbol,
                    kind=BookEventKind.DELTA,
                    sides=sides.copy(),
                    prices=prices.copy(),
                    sizes=sizes.copy(),
                    first_seq=seq.first_seq,
                    last_seq=seq.last_seq,
                    prev_seq=seq.prev_seq,
                    checksum=seq.checksum,
                    ts_recv_ns=seq.ts_recv_ns,
                )
            )
        verdict = self._rule.check(self.book_id, seq)
        if verdict is not Continuity.APPLY:
            return self._refuse(verdict, seq)
        crossed = self.book.apply_buffer(levels)
        self._applied(seq)
        if crossed or (self._checksum is not None and seq.checksum is not None):
            return self._verify(seq)
        return True  # the common case, decided without another call

    def on_path(self, path: DeltaPathView, status: int) -> bool:
        """What a feed's DeltaPath left to Python for this book (``status`` from its ``apply``):
        VERIFY -> the checks after an update it applied; CROSSED -> its checksum passed in C,
        the book is crossed; otherwise (a gap, a book waiting for its snapshot, a rule not
        compiled) the delta it scanned, decided here by the rule."""
        if status == VERIFY:
            return self._verify(path)
        if status == CROSSED:
            return self._uncrossed()
        return self.on_levels(path, path.levels, self.symbol)

    def suspend(self, reason: str) -> None:
        """The feed stopped (connection lost or closed): the book is stale from now on, and a
        snapshot is asked for when the feed is back (not now: there is nothing to ask yet)."""
        if self.state is not SyncState.SYNCED:
            return
        logger.warning("%s %s: %s; the book is stale until it resyncs", self.venue, self.symbol,
                       reason)  # fmt: skip
        self.counters.resyncs += 1
        self.state = SyncState.WAITING_SNAPSHOT
        self.book.clear()
        self._buffer.clear()

    def resync(self, reason: str) -> None:
        """Drop the book, wait for a new snapshot and ask the data client for one."""
        logger.warning("%s %s: %s; resyncing", self.venue, self.symbol, reason)
        self.counters.resyncs += 1
        self.state = SyncState.WAITING_SNAPSHOT
        self.book.clear()
        self._buffer.clear()
        if self.on_resync is not None:
            self.on_resync(self)

    # -- internals -------------------------------------------------------------------------------

    def _snapshot(self, event: BookEvent) -> bool:
        self.book.load_snapshot(event.sides, event.prices, event.sizes)
        self.counters.snapshots += 1
        self.book_id = event.last_seq
        if event.ts_recv_ns:
            self.core.updated_at_ns = event.ts_recv_ns
        self.state = SyncState.SYNCED
        if not self._verify(event):
            return False
        buffered, self._buffer = self._buffer, deque(maxlen=self._buffer.maxlen)
        for delta in buffered:
            if not self._delta(delta) and self.state is not SyncState.SYNCED:
                return False
        return True

    def _refuse(self, verdict: Continuity, event: SequenceInfo) -> bool:
        if verdict is Continuity.SKIP:
            self.counters.skipped += 1
        else:
            self.counters.gaps += 1
            span = f"{event.first_seq}..{event.last_seq}"
            self.resync(f"sequence gap after {self.book_id} (event {span})")
        return False

    def _delta(self, event: BookEvent) -> bool:
        verdict = self._rule.check(self.book_id, event)
        if verdict is not Continuity.APPLY:
            return self._refuse(verdict, event)
        self.book.apply_deltas(event.sides, event.prices, event.sizes)
        self._applied(event)
        return self._verify(event)

    def _applied(self, event: SequenceInfo) -> None:
        """Count an applied delta (as DeltaPath does in C)."""
        core = self.core
        core.counters.updates += 1
        core.book_id = event.last_seq
        if event.ts_recv_ns:
            core.updated_at_ns = event.ts_recv_ns

    def _verify(self, event: SequenceInfo) -> bool:
        if self._checksum is not None and event.checksum is not None:
            computed = self._checksum(self.book)
            if computed != event.checksum:
                self.counters.checksum_failed += 1
                self.resync(f"checksum mismatch: venue {event.checksum}, local {computed}")
                return False
            self.counters.checksum_ok += 1
        return self._uncrossed()

    def _uncrossed(self) -> bool:
        if self.book.is_crossed():
            self.counters.crossed += 1
            self.resync(f"crossed book: bid {self.book.best_bid()} >= ask {self.book.best_ask()}")
            return False
        return True


#: The rules a DeltaPath applies in C (``arbcore_ext.deltapath.rule_verdict``, tested against
#: these objects' ``check``); any other rule, subclasses included, is decided in Python.
_COMPILED_RULES: dict[type, int] = {
    RangeRule: RULE_RANGE,
    ArrivalRule: RULE_ARRIVAL,
    PrevRule: RULE_PREV,
}


def register_compiled_rule(rule_type: type, compiled: int) -> None:
    """Let DeltaPath decide books synced by ``rule_type`` (exactly that type) with ``compiled``.

    Only sound when ``rule_type``'s verdict equals the compiled one wherever the compiled one
    applies or skips: every other verdict is handed back to the BookSync, which decides by the
    rule object. A venue whose rule applies more (OKX's straddling push) applies that in its own
    path; a venue registers at import, with a test that the two agree.
    """
    if compiled not in (RULE_RANGE, RULE_ARRIVAL, RULE_PREV):
        raise ValueError(f"not a compiled rule: {compiled!r}")
    _COMPILED_RULES[rule_type] = compiled


def split_sides(event: BookEvent) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(bid_prices, bid_sizes, ask_prices, ask_sizes)`` of an event's flat arrays."""
    bids = event.sides == BID
    asks = ~bids
    return event.prices[bids], event.sizes[bids], event.prices[asks], event.sizes[asks]
