"""The engine benches' world: a seeded simulator market as book events, paced into the Engine.

Everything here is built before any timing: :func:`sim_stream` steps the simulator's market
process (:mod:`arbcore.sim.market` through each venue's matching engine, no servers, no sockets)
and turns every venue's changed levels into the :class:`~arbcore.model.BookEvent` its feed would
have parsed (update ids contiguous, so every venue's sequence rule applies them). :func:`engine_for`
wires a real :class:`~arbcore.engine.Engine` over those books (both strategies, orchestrator,
risk, shadow venues, router, audit trail) the way a backtest does. :func:`paced` then offers the
events at a fixed rate: event ``i`` "arrives" at ``t0 + i / rate`` (perf_counter ns), goes through
the venue's ``BookSync`` and the engine's book callback, and two latencies are stamped from that
arrival: to the callback's return (every message: its decisions, including "no trade"), and to
each risk decision (the engine's own ``stats.latencies_ns``, arrival injected). Arrival is the
scheduled time, so a message that waits behind a slow one counts the wait. :func:`run_engine`
gives the loop the runtime ``Engine.run`` does (the 50 us GIL switch interval, start-up's
garbage frozen).

The peer, :class:`DecimalLoop`, is what a home-grown script does: dict books of ``Decimal``
prices and sizes, best prices by ``max``/``min`` over the keys, the cross-venue test and the
triangle product in ``Decimal``, and a risk check over a dict of positions.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import attrs
import numpy as np

from arbcore.config import load_config
from arbcore.config.schema import AppConfig
from arbcore.engine import SWITCH_INTERVAL_S, Engine, frozen_startup
from arbcore.exchanges.registry import get_venue
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEvent, BookEventKind, Instrument, Opportunity
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.market import MarketConfig
from arbcore.storage.audit import AuditTrail
from arbcore_ext.book import BID
from arbcore_ext.crossdecide import CrossDecision
from arbcore_ext.tridecide import TriangularDecision

ROOT = Path(__file__).resolve().parent.parent
VENUES = ("binance", "okx", "bybit", "kraken")
SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
SEED = 7
DISLOCATION_RATE = 0.2  # the demo's: opportunities on both strategies every few steps


@attrs.frozen
class SimStream:
    """A seeded market as book events: first snapshots, then every delta in order."""

    instruments: Mapping[str, tuple[Instrument, ...]]
    snapshots: tuple[BookEvent, ...]
    deltas: tuple[BookEvent, ...]


def _event(venue: str, symbol: str, kind: BookEventKind, levels: Sequence[tuple[int, int, int]],
           first: int, last: int) -> BookEvent:  # fmt: skip
    rows = np.array(levels, dtype=np.int64).reshape(-1, 3)
    return BookEvent(venue=venue, symbol=symbol, kind=kind, sides=rows[:, 0],
                     prices=rows[:, 1], sizes=rows[:, 2], first_seq=first, last_seq=last,
                     prev_seq=first - 1)  # fmt: skip


def sim_stream(messages: int, seed: int = SEED) -> SimStream:
    """``messages`` deltas of the demo's four venues and three markets, after the snapshots.

    The first step fills empty books, so its changes are whole books: they are the snapshots.
    A longer stream's first ``messages`` are a shorter one, so one stream serves every size.
    """
    cached = _STREAMS.get(seed)
    if cached is not None and len(cached.deltas) >= messages:
        return attrs.evolve(cached, deltas=cached.deltas[:messages])
    sim = Simulator(SimConfig(venues=VENUES, symbols=SYMBOLS, seed=seed,
                              market=MarketConfig(dislocation_rate=DISLOCATION_RATE)),
                    autostep=False)  # fmt: skip
    steps: list[list[BookEvent]] = []
    while not steps or sum(map(len, steps[1:])) < messages:
        targets = sim.market.step()
        events = []
        for name, venue in sim.venues.items():
            venue.apply(targets[name])
            for instrument, change in venue.drain():
                kind = BookEventKind.DELTA if steps else BookEventKind.SNAPSHOT
                events.append(_event(name, instrument.symbol, kind, change.levels,
                                     change.first_id, change.last_id))  # fmt: skip
        steps.append(events)
    stream = _STREAMS[seed] = SimStream(
        instruments={name: tuple(venue.instruments) for name, venue in sim.venues.items()},
        snapshots=tuple(steps[0]),
        deltas=tuple(itertools.chain.from_iterable(steps[1:]))[:messages],
    )
    return stream


_STREAMS: dict[int, SimStream] = {}


def demo_config(audit_path: Path) -> AppConfig:
    """``config/demo.toml`` (both strategies, its risk limits) with the trail at ``audit_path``."""
    config = load_config(ROOT / "config" / "demo.toml", {})
    storage = attrs.evolve(config.system.storage, path=str(audit_path))
    return attrs.evolve(config, system=attrs.evolve(config.system, storage=storage))


def engine_for(stream: SimStream, audit: AuditTrail, config: AppConfig, *,
               sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
               clock_ns: Callable[[], int] | None = None) -> Engine:  # fmt: skip
    """A real Engine over ``stream``'s venues with every book at its snapshot (as a backtest
    wires one: instruments, each venue's own ``BookSync``, strategies, shadow venues, router);
    ``clock_ns`` and ``sleep``: a virtual clock's, for a deterministic replay."""
    engine = Engine(config)
    if clock_ns is not None:
        engine.clock_ns = clock_ns
    for venue, listed in stream.instruments.items():
        engine.instruments[venue] = {instrument.symbol: instrument for instrument in listed}
        feed = get_venue(venue).feed(SymbolMap.of(venue, listed))
        engine.syncs[venue] = {
            instrument.symbol: feed.new_sync(instrument) for instrument in listed
        }
    for event in stream.snapshots:
        engine.syncs[event.venue][event.symbol].on_event(event)
    engine.audit = audit
    engine._build_trading(sleep=sleep)
    return engine


def _no_stamps() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@attrs.frozen
class Run:
    """One replay: per message arrival -> handled, per risk decision arrival -> decision (ns);
    ``detected_ns``, when the run stamps it: per strategy find offered to the orchestrator,
    arrival -> the find (before the orchestrator and risk)."""

    handled_ns: np.ndarray
    decisions_ns: np.ndarray
    elapsed_ns: int
    late: int  # messages whose handling started after their scheduled arrival
    detected_ns: np.ndarray = attrs.field(factory=_no_stamps)
    idled: int = 0  # idle hook calls made while waiting (paced with ``idle``)

    def quantile_us(self, values: np.ndarray, q: float) -> float:
        return float(np.quantile(values, q)) / 1_000 if len(values) else float("nan")

    @property
    def rate(self) -> float:
        """Messages handled per second over the whole run."""
        return len(self.handled_ns) * 1e9 / self.elapsed_ns


Handler = Callable[[BookEvent], object]


def engine_handler(engine: Engine) -> Handler:
    """One event as the live client hands it on: the venue's sync, then the engine's callback."""
    syncs = engine.syncs
    callbacks = {venue: engine._on_book(venue) for venue in syncs}

    def handle(event: BookEvent) -> None:
        sync = syncs[event.venue][event.symbol]
        if sync.on_event(event):
            callbacks[event.venue](event.symbol, sync.book)

    return handle


class Arrival:
    """The scheduled arrival of the message being handled (the engine's ``arrival_ns``)."""

    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


YIELD_EVERY = 64  # when behind schedule, still let order tasks run this often
#: the idle hook's budget (ns): it is called only while more than 1.5x this is left before the
#: next message is due; it starts here, then follows the calls' own time (a jump to a longer
#: call at once, back down by 1/16 of the gap a call), capped so one preempted call does not
#: stop the rehearsals for good
IDLE_BUDGET_NS = 10_000
IDLE_BUDGET_CAP_NS = 50_000

_Item = TypeVar("_Item")


async def paced(handle: Callable[[_Item], object], events: Sequence[_Item], rate: float | None,
                arrival: Arrival, decisions: Callable[[], Iterable[int]] = tuple,
                pending: Callable[[], int] = lambda: 0,
                idle: Callable[[], object] | None = None) -> Run:  # fmt: skip
    """Offer ``events`` (book events, or frames) at ``rate`` per second (None: back to back,
    as fast as handled).

    Order tasks (shadow fills) run between messages when the source is ahead of its schedule,
    and at least every :data:`YIELD_EVERY` messages: they share the core, as they do live.
    While it waits for a message's time it spins; with ``idle`` (the engine's
    :meth:`~arbcore.engine.Engine.idle`: a rehearsal of the decision) it calls that while the
    time left is more than a call takes (:data:`IDLE_BUDGET_NS`), so no message is made late
    by it, then spins the rest.
    """
    clock = time.perf_counter_ns
    period = 0.0 if rate is None else 1e9 / rate
    handled = np.empty(len(events), dtype=np.int64)
    late = idled = 0
    budget = IDLE_BUDGET_NS
    start = clock() + 1_000_000
    for i, event in enumerate(events):
        due = start + int(i * period)
        if clock() < due:
            if pending():
                await asyncio.sleep(0)
            if idle is not None:
                now = clock()
                while due - now > budget + (budget >> 1):
                    idle()
                    idled += 1
                    then, now = now, clock()
                    spent = now - then
                    budget = spent if spent > budget else budget - ((budget - spent) >> 4)
                    budget = min(budget, IDLE_BUDGET_CAP_NS)
            while clock() < due:
                pass
        else:
            late += 1
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        arrived = due if rate is not None else clock()
        arrival.ns = arrived
        handle(event)
        handled[i] = clock() - arrived
    elapsed = clock() - start
    return Run(handled, np.fromiter(decisions(), dtype=np.int64), elapsed, late, idled=idled)


async def run_engine(stream: SimStream, rate: float | None, workdir: Path,
                     messages: int | None = None, rehearse: bool = False
                     ) -> tuple[Run, Engine]:  # fmt: skip
    """A fresh engine over ``stream`` replayed at ``rate``; its orders finished after;
    ``rehearse``: the engine's idle hook called while the source waits (see :func:`paced`)."""
    config = demo_config(workdir / f"audit-{next(_RUNS)}.db")
    with AuditTrail(config.system.storage.path, synchronous="NORMAL") as audit:
        engine = engine_for(stream, audit, config)
        detected = stamp_finds(engine)
        arrival = Arrival()
        engine.arrival_ns = arrival
        run = await run_paced(engine, engine_handler(engine), stream.deltas[:messages], rate,
                              arrival, detected, rehearse)  # fmt: skip
    return run, engine


async def run_paced(engine: Engine, handle: Callable[[_Item], object], items: Sequence[_Item],
                    rate: float | None, arrival: Arrival, detected: list[int],
                    rehearse: bool = False) -> Run:  # fmt: skip
    """:func:`paced` under the runtime ``Engine.run`` sets up (its GIL switch interval,
    start-up's garbage frozen); the engine's orders finished after. While the source waits it
    calls the engine's :meth:`~arbcore.engine.Engine.idle_work` (the audit trail's rows, as
    ``arbcore run``'s loop does before it sleeps), or with ``rehearse`` its
    :meth:`~arbcore.engine.Engine.idle` (that, then rehearsals: the busy-polling loop's)."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        with frozen_startup():
            run = await paced(handle, items, rate, arrival,
                              decisions=lambda: engine.stats.latencies_ns,
                              pending=lambda: len(engine._trades),
                              idle=engine.idle if rehearse else engine.idle_work)  # fmt: skip
    finally:
        sys.setswitchinterval(switch)
    if engine._trades:
        await asyncio.gather(*engine._trades, return_exceptions=True)
    return attrs.evolve(run, detected_ns=np.array(detected, dtype=np.int64))


def stamp_finds(engine: Engine) -> list[int]:
    """Stamps arrival -> each find the strategies offer (on entering ``Engine._decide``, before
    the orchestrator and risk; a find decided in C is stamped there, ``found_ns`` of
    ``CrossDecision`` or ``TriangularDecision``, and read when its decision reaches
    ``Engine._decided`` or ``_decided_cycle``; a find refused in C for its balances is not
    listed): the detection latency. Install it before the book callbacks are made; it costs a
    Python call per find, none per message."""
    found: list[int] = []
    decide, clock = engine._decide, time.perf_counter_ns
    decided, decided_cycle = engine._decided, engine._decided_cycle

    def stamped(opportunity: Opportunity, arrived_ns: int) -> None:
        found.append(clock() - arrived_ns)
        decide(opportunity, arrived_ns)

    def stamped_in_c(made: CrossDecision) -> None:
        found.append(made.found_ns)
        decided(made)

    def stamped_cycle(made: TriangularDecision) -> None:
        found.append(made.found_ns)
        decided_cycle(made)

    engine._decide = stamped  # type: ignore[method-assign]
    engine._decided = stamped_in_c  # type: ignore[method-assign]
    engine._decided_cycle = stamped_cycle  # type: ignore[method-assign]
    if engine.cross_decision is not None or engine.cycle_decisions:  # bound: bind them again
        engine._bind_decision()
    return found


_RUNS = itertools.count()


class DecimalLoop:
    """The peer: the loop a home-grown bot would have (see the module docstring).

    Books are ``{Decimal price: Decimal size}`` per side; on every event the levels are set,
    then the market is checked against every other venue both ways (best prices by ``min`` and
    ``max`` over the keys, both taker fees, ``min_profit_bps``) and every triangle through the
    venue's markets; a find that is not cooling off is checked against a per-position USD limit
    and counted as a decision (arrival -> decision stamped like the engine's).
    """

    def __init__(self, instruments: Mapping[str, Sequence[Instrument]], arrival: Arrival, *,
                 min_profit_bps: float = 5.0, cool_off_ms: float = 250.0,
                 max_position_usd: float = 10_000.0) -> None:  # fmt: skip
        """Empty books over ``instruments`` (venue -> markets); :meth:`over` fills them."""
        self.arrival = arrival
        self.instruments = {(i.venue, i.symbol): i for listed in instruments.values()
                            for i in listed}  # fmt: skip
        self.books: dict[tuple[str, str], tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]]
        self.books = {market: ({}, {}) for market in self.instruments}
        self.fees = {m: Decimal(str(i.taker_fee)) for m, i in self.instruments.items()}
        self.min_profit = Decimal(str(min_profit_bps)) / 10_000
        self.cool_off_ns = int(cool_off_ms * 1e6)
        self.max_position = Decimal(str(max_position_usd))
        self.positions: dict[tuple[str, str], Decimal] = {}
        self.last_taken: dict[tuple[str, ...], int] = {}
        self.decisions_ns: list[int] = []
        self.detected_ns: list[int] = []  # arrival -> each find past the cool-off, before risk

    @classmethod
    def over(cls, stream: SimStream, arrival: Arrival) -> DecimalLoop:
        """The peer with ``stream``'s snapshots applied (before the clock starts)."""
        peer = cls(stream.instruments, arrival)
        for event in stream.snapshots:
            peer.on_event(event)
        peer.restart()
        return peer

    def restart(self) -> None:
        """Forget the stamps of what was handled before the clock started."""
        self.decisions_ns.clear()
        self.detected_ns.clear()

    def on_event(self, event: BookEvent) -> None:
        instrument = self.instruments[(event.venue, event.symbol)]
        bids, asks = self.books[(event.venue, event.symbol)]
        if event.kind is BookEventKind.SNAPSHOT:
            bids.clear()
            asks.clear()
        for side, price_raw, size_raw in zip(event.sides.tolist(), event.prices.tolist(),
                                             event.sizes.tolist(), strict=True):  # fmt: skip
            price = Decimal(price_raw).scaleb(-instrument.price_decimals)
            size = Decimal(size_raw).scaleb(-instrument.size_decimals)
            levels = bids if side == BID else asks
            if size:
                levels[price] = size
            else:
                levels.pop(price, None)
        self.check(event.venue, event.symbol)

    def check(self, venue: str, symbol: str) -> None:
        """After ``venue``'s ``symbol`` changed: both strategies' tests, and the decisions."""
        self._cross(venue, symbol)
        self._triangles(venue)

    def _top(self, venue: str, symbol: str) -> tuple[Decimal, Decimal] | None:
        bids, asks = self.books[(venue, symbol)]
        return (max(bids), min(asks)) if bids and asks else None

    def _cross(self, venue: str, symbol: str) -> None:
        here = self._top(venue, symbol)
        for other, _ in self.instruments:
            if other == venue or (other, symbol) not in self.instruments or here is None:
                continue
            there = self._top(other, symbol)
            if there is None:
                continue
            for buy, sell, ask, bid in ((venue, other, here[1], there[0]),
                                        (other, venue, there[1], here[0])):  # fmt: skip
                cost = ask * (1 + self.fees[(buy, symbol)])
                proceeds = bid * (1 - self.fees[(sell, symbol)])
                if proceeds - cost > cost * self.min_profit:
                    self._decide(("cross", buy, sell, symbol), ((buy, symbol),), ask)

    def _triangles(self, venue: str) -> None:
        tops = {s: self._top(v, s) for v, s in self.instruments if v == venue}
        fee = 1 - self.fees[next(m for m in self.instruments if m[0] == venue)]
        btc, eth, cross = tops.get("BTC/USDT"), tops.get("ETH/USDT"), tops.get("ETH/BTC")
        if btc is None or eth is None or cross is None:
            return
        # USDT -> BTC -> ETH -> USDT, and the other way round
        forward = (1 / btc[1]) * (1 / cross[1]) * eth[0] * fee**3
        backward = (1 / eth[1]) * cross[0] * btc[0] * fee**3
        for name, rate in (("forward", forward), ("backward", backward)):
            if rate - 1 > self.min_profit:
                self._decide(("triangle", venue, name), ((venue, "ETH/BTC"),), btc[1])

    def _decide(self, key: tuple[str, ...], markets: tuple[tuple[str, str], ...],
                price: Decimal) -> None:  # fmt: skip
        now = time.perf_counter_ns()
        last = self.last_taken.get(key)
        if last is not None and now - last < self.cool_off_ns:
            return
        self.detected_ns.append(now - self.arrival.ns)  # as the engine's: a find not cooling off
        self.last_taken[key] = now
        held = sum(self.positions.get(market, Decimal(0)) for market in markets)
        if held * price <= self.max_position:
            self.decisions_ns.append(time.perf_counter_ns() - self.arrival.ns)


async def run_peer(stream: SimStream, rate: float | None, messages: int | None = None) -> Run:
    """:class:`DecimalLoop` over ``stream`` at ``rate``, paced and stamped like the engine."""
    arrival = Arrival()
    peer = DecimalLoop.over(stream, arrival)
    run = await paced(peer.on_event, stream.deltas[:messages], rate, arrival,
                      decisions=lambda: peer.decisions_ns)  # fmt: skip
    return attrs.evolve(run, detected_ns=np.array(peer.detected_ns, dtype=np.int64))
