"""Backtesting: the trading loop driven by recordings instead of sockets, deterministically.

``arbcore run --config FILE --replay VENUE=FILE ...`` reads each venue's recording (any format
``arbcore replay`` reads), merges them by receive time and feeds every frame through the same
parsing, sync, strategies, risk, router and audit trail as live, with the shadow venue. Time is
the recording's: a :class:`VirtualClock` is the engine's clock, and a shadow order "waits" its
latency by letting the replay advance until that much recorded time has passed, so it fills
against the book as the recording had it then. Trace ids come from a seeded counter. The same
recordings and configuration therefore give the same decisions, trades and PnL, byte for byte
in the audit trail.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs

from arbcore.cli_replay import find_instruments
from arbcore.engine import Engine, EngineStats
from arbcore.errors import ConfigError, FeedError
from arbcore.exchanges.registry import get_venue
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import VenueFeed
from arbcore.marketdata.records import Record, read_records
from arbcore.model import BookEvent, Quote
from arbcore.storage.audit import AuditTrail
from arbcore.testing.instruments import load_rest_body
from arbcore_ext.book import L2Book
from arbcore_ext.clocks import EventClock

__all__ = ["ReplaySource", "VirtualClock", "backtest"]

SETTLE_ROUNDS = 8  # loop turns given to order tasks after each release


@attrs.frozen
class ReplaySource:
    """One venue's recording (one or more files, one continuous session)."""

    venue: str
    files: tuple[Path, ...]
    fmt: str | None = None
    instruments: Path | None = None  # the venue's instrument capture; found beside the files


class VirtualClock(EventClock):
    """Recorded time in ns; ``sleep`` resolves when the replay has advanced that far (calling
    it answers ``now_ns``: an EventClock, which the engine's book callback reads in C)."""

    def __init__(self) -> None:
        super().__init__(0)
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        due = self.now_ns + int(seconds * 1e9)
        heapq.heappush(self._waiting, (due, next(self._order), future))
        await future

    async def advance(self, ts_ns: int) -> None:
        """Move to ``ts_ns`` (never backwards), waking every sleeper due by then, in order and
        each at its own time: what a woken task records is stamped when it woke, not at the
        end of the step (a chain of waits after the last frame must not jump ahead)."""
        target = max(self.now_ns, ts_ns)
        await _settle()
        while self._waiting and self._waiting[0][0] <= target:
            due, _, future = heapq.heappop(self._waiting)
            self.now_ns = max(self.now_ns, due)
            future.set_result(None)
            await _settle()
        self.now_ns = target

    async def drain(self) -> None:
        """Run every sleeper to completion, time moving only as far as the last one needs."""
        await _settle()
        while self._waiting:
            await self.advance(self._waiting[0][0])


async def _settle() -> None:
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(0)


def _trace_ids(seed: int) -> Iterator[str]:
    for n in itertools.count(1):
        yield hashlib.sha256(f"arbcore-backtest:{seed}:{n}".encode()).hexdigest()[:32]


def _tagged(venue: str, records: Iterator[Record]) -> Iterator[tuple[int, str, Record]]:
    for record in records:
        if record.kind in ("ws", "rest"):
            yield record.ts_ns, venue, record


async def backtest(engine: Engine, sources: Sequence[ReplaySource], *, seed: int = 0
                   ) -> EngineStats:  # fmt: skip
    """Run ``engine``'s loop over the recordings; the run's statistics."""
    clock = VirtualClock()
    engine.clock_ns = clock
    ids, orders = _trace_ids(seed), itertools.count(1)
    engine.new_trace_id = lambda: next(ids)
    engine.new_order_id = lambda: f"bt{seed}n{next(orders)}"
    feeds: dict[str, VenueFeed] = {}
    for source in sources:
        spec = get_venue(source.venue)
        capture = source.instruments or find_instruments(spec, source.files[0])
        if capture is None:
            raise ConfigError(f"no {spec.instruments_file} beside {source.files[0]}",
                              key=f"replay.{source.venue}")  # fmt: skip
        listed = spec.parse_instruments(load_rest_body(capture, spec.instruments_path)).instruments
        settings = engine.config.system.venues.get(source.venue)
        wanted = set(settings.symbols) if settings is not None and settings.symbols else None
        chosen = {i.symbol: i for i in listed if wanted is None or i.symbol in wanted}
        engine.instruments[source.venue] = chosen
        engine.syncs[source.venue] = {}
        feeds[source.venue] = spec.feed(SymbolMap.of(source.venue, chosen.values()))
    storage = engine.config.system.storage
    with AuditTrail(storage.path, synchronous=storage.synchronous) as audit:
        engine.audit = audit
        engine._build_trading(sleep=clock.sleep)
        callbacks = {venue: engine._on_book(venue) for venue in feeds}
        merged = heapq.merge(*(_tagged(s.venue, read_records(s.files, s.fmt)) for s in sources),
                             key=lambda item: (item[0], item[1]))  # fmt: skip
        for ts_ns, venue, record in merged:
            await clock.advance(ts_ns)
            _apply(engine, feeds[venue], venue, record, callbacks[venue])
        await clock.drain()  # let every order in flight finish
        audit.flush()
    engine.stats.not_admitted.update(engine.orchestrator.refused)
    return engine.stats


def _apply(engine: Engine, feed: VenueFeed, venue: str, record: Record,
           on_book: Callable[[str, L2Book], None]) -> None:  # fmt: skip
    """One record through the feed and its book's sync; the engine hears of a changed book."""
    syncs, instruments = engine.syncs[venue], engine.instruments[venue]
    try:
        if record.kind == "rest":
            events: Sequence[BookEvent | Quote] = feed.parse_rest(record.url, record.payload,
                                                                  record.ts_ns)  # fmt: skip
        else:
            events = feed.parse_ws(record.payload, record.ts_ns, record.connection)
    except (FeedError, ValueError):
        return  # `arbcore replay` counts these; a backtest trades on what parses
    for event in events:
        if isinstance(event, Quote) or event.symbol not in instruments:
            continue
        sync = syncs.get(event.symbol)
        if sync is None:
            sync = syncs[event.symbol] = feed.new_sync(instruments[event.symbol])
        if sync.on_event(event) and sync.in_sync:
            on_book(event.symbol, sync.book)
