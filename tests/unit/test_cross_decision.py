"""The engine's compiled decisions (CrossDecision, TriangularDecision) against the Python path.

Two real engines (strategies, orchestrator, risk, shadow venues, router, audit trail) are fed
the same book updates through their real book callbacks; one decides crossing routes and
paying cycles in C, the other (its ``cross_decision`` and ``cycle_decisions`` unset) in Python.
Everything they record and count must be the same, byte for byte in the audit trail, while the
compiled one did decide.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.model import Instrument
from arbcore.storage.audit import AuditTrail, read_records
from arbcore.testing.trading_kit import no_sleep
from arbcore_ext.book import L2Book
from arbcore_ext.clocks import EventClock
from arbcore_ext.crossdecide import CrossDecision
from arbcore_ext.deltapath import BookCounters, SyncCore

ROOT = Path(__file__).resolve().parents[2]
FEES = {"binance": 0.001, "okx": 0.0008, "kraken": 0.0026}
#: Kraken's BTC/USD against BTC/USDT is a route between two quotes (the live rate: Python's)
LISTED = {"binance": ("BTC/USDT", "ETH/USDT", "ETH/BTC", "SOL/USDT", "SOL/BTC"),
          "okx": ("BTC/USDT", "ETH/USDT", "ETH/BTC"),
          "kraken": ("BTC/USDT", "BTC/USD", "USDT/USD")}  # fmt: skip
MIDS = {"BTC/USDT": 5_000_000, "BTC/USD": 5_000_000, "ETH/USDT": 300_000, "ETH/BTC": 60_000,
        "USDT/USD": 10_000, "SOL/USDT": 15_000, "SOL/BTC": 3_000}  # fmt: skip
MARKETS = [(venue, symbol) for venue, symbols in LISTED.items() for symbol in symbols]


def _instrument(venue: str, symbol: str) -> Instrument:
    base, quote = symbol.split("/")
    tick = {"BTC": "0.000001", "USD": "0.0001"}.get(quote, "0.01")
    minimum = "0.0001" if quote == "BTC" else "5"  # (5 USD either way)
    return Instrument.from_text(venue=venue, native_symbol=base + quote, base=base, quote=quote,
                                tick_size=tick, lot_size="0.0001", min_notional=minimum,
                                taker_fee=FEES[venue])  # fmt: skip


class _Sync:
    """What the engine and the kernels read of a venue's sync: its book, in sync or not."""

    def __init__(self, book: L2Book) -> None:
        self.book = book
        self.core = SyncCore(book, BookCounters())
        self.core.synced = True

    @property
    def in_sync(self) -> bool:
        return bool(self.core.synced)


@attrs.define
class _Run:
    engine: Engine
    taps: dict[str, Callable[[str, L2Book], None]]
    books: dict[tuple[str, str], L2Book]
    clock: EventClock


def _engine(audit: AuditTrail, compiled: bool, triangles: tuple[str, ...],
            balances: dict[str, float] | None = None, cross: bool = True,
            position_usd: float | None = None, correlated: bool = False) -> _Run:  # fmt: skip
    """``triangles``: the venues scanned for cycles (a cycle found on the update a route
    crosses on is ranked with it in Python); ``balances``: each shadow account's; ``cross``:
    the cross-exchange strategy runs; ``position_usd``: risk's position limit (else the
    demo's); ``correlated``: risk has correlations (its check is then Python's, fed the legs
    the compiled decision built)."""
    config = load_config(ROOT / "config" / "demo.toml", {})
    strategies = config.system.strategies
    strategies = attrs.evolve(
        strategies,
        cool_off_ms=2.0,
        triangular=attrs.evolve(strategies.triangular, venues=triangles),
        cross_exchange=attrs.evolve(strategies.cross_exchange, enabled=cross),
    )
    risk = config.system.risk
    if position_usd is not None:
        risk = attrs.evolve(risk, max_position_usd=position_usd)
    system = attrs.evolve(config.system, sim=None, strategies=strategies, risk=risk)
    if balances is None:
        balances = {"USDT": 3_000.0, "USD": 3_000.0, "BTC": 0.05, "ETH": 1.0, "SOL": 10.0}
    shadow = attrs.evolve(config.shadow, latency_ms=1.0, balances=balances)
    engine = Engine(attrs.evolve(config, system=system, shadow=shadow))
    clock = EventClock(1_700_000_000_000_000_000)
    engine.clock_ns = clock
    ids, orders = itertools.count(1), itertools.count(1)
    engine.new_trace_id = lambda: f"{next(ids):032x}"
    engine.new_order_id = lambda: f"t{next(orders)}"
    engine.audit = audit
    engine.instruments.update({v: {s: _instrument(v, s) for s in symbols}
                               for v, symbols in LISTED.items()})  # fmt: skip
    books = {}
    for venue, symbol in MARKETS:
        instrument = engine.instruments[venue][symbol]
        books[venue, symbol] = L2Book(instrument.price_decimals, instrument.size_decimals)
    synced: Any = {v: {s: _Sync(books[v, s]) for s in symbols} for v, symbols in LISTED.items()}
    engine.syncs.update(synced)  # (what the engine reads of a BookSync: book, in_sync, core)
    taps = {venue: engine._on_book(venue) for venue in LISTED}
    engine._build_trading(sleep=no_sleep)
    if correlated:
        engine.risk.correlations = {("BTC", "ETH"): 0.9, ("BTC", "USD"): 0.1}
    if not compiled:
        engine.cross_decision = None
        engine.cycle_decisions = {}
    return _Run(engine, taps, books, clock)


DISLOCATIONS = (0, 0, 0, 400, -400, 2_000, -2_000)
#: per step: which market, its mid's move (ticks), a dislocation (ticks, 0: none), the levels'
#: size (raw), whether its sync drops out, ns since the last step, and how many times the
#: loop runs before the next update (a trade in flight across updates keeps its markets busy)
Step = tuple[int, int, int, int, bool, int, int]
STEP = st.tuples(st.integers(0, len(MARKETS) - 1), st.integers(-30, 30),
                 st.sampled_from(DISLOCATIONS), st.integers(1, 40_000),
                 st.integers(0, 30).map(lambda n: n == 0), st.integers(0, 60_000_000),
                 st.integers(0, 3))  # fmt: skip


#: where rehearsals go: (step, phase) -> routes (phase 0: just after the step's update, k: after
#: its k-th loop turn; a route -1: ``Engine.idle``, the next route in turn)
Rehearsals = dict[tuple[int, int], list[int]]


def _rehearse(run: _Run, routes: list[int]) -> None:
    """Each of ``routes``: -1, the engine's idle step (a rehearsal of each compiled decision in
    turn); else that route's rehearsal and, on each venue, that cycle's."""
    if not routes:
        return
    decision = run.engine.cross_decision
    assert decision is not None
    for route in routes:
        if route < 0:
            run.engine.idle()
            continue
        decision.rehearse(route % decision.kernel.n_routes)
        for cycles in run.engine.cycle_decisions.values():
            cycles.rehearse(route % cycles.engine.cycle_count)


async def _drive(run: _Run, steps: list[Step], rehearsals: Rehearsals | None = None) -> None:
    offsets = dict.fromkeys(range(len(MARKETS)), 0)
    plan = {} if rehearsals is None else rehearsals
    for step, (index, move, dislocation, size, drops, elapsed, turns) in enumerate(steps):
        venue, symbol = MARKETS[index]
        offsets[index] += move
        mid = MIDS[symbol] + offsets[index] + dislocation
        run.clock.now_ns += elapsed
        run.engine.syncs[venue][symbol].core.synced = not drops
        book = run.books[venue, symbol]
        book.clear()
        for level in range(3):  # three levels a side, deeper ones larger
            book.set_level(0, mid - 2 - 3 * level, size * (level + 1))
            book.set_level(1, mid + 2 + 3 * level, size * (level + 1))
        run.taps[venue](symbol, book)
        _rehearse(run, plan.get((step, 0), []))
        for turn in range(turns):  # the trades' tasks run as far, the same in both
            await asyncio.sleep(0)
            _rehearse(run, plan.get((step, turn + 1), []))
    if run.engine._trades:
        await asyncio.gather(*run.engine._trades)


def _outcome(run: _Run, path: Path) -> tuple[Any, ...]:
    engine = run.engine
    assert engine.audit is not None
    engine.audit.flush()
    stats = engine.stats
    rows = [(r.kind, r.trace_id, r.venue, dict(r.payload), r.hash) for r in read_records(path)]
    return (rows, dict(stats.opportunities.items()), stats.admitted, dict(stats.risk_refused),
            stats.trades, stats.filled_legs, stats.pnl_usd,
            dict(engine.orchestrator.refused.items()), engine.orchestrator.offered,
            engine.orchestrator.admitted, dict(engine.metrics.detected.items()),
            engine.cross.walked if engine.cross else None,
            dict(engine.orchestrator.reserved))  # fmt: skip


def _compare(tmp: Path, steps: list[Step], triangles: tuple[str, ...] = tuple(LISTED),
             balances: dict[str, float] | None = None, cross: bool = True,
             position_usd: float | None = None,
             correlated: bool = False) -> tuple[int, int, int]:  # fmt: skip
    """Both engines through ``steps``: their outcomes must be equal; the decisions taken in C
    (crossings, cycles) and the updates whose several cycles were ranked in C."""
    outcomes, decided, cycles, ranked = [], 0, 0, 0
    for compiled in (True, False):
        path = tmp / f"{'c' if compiled else 'py'}-{next(_RUNS)}.db"
        with AuditTrail(path, synchronous="NORMAL") as audit:
            run = _engine(audit, compiled, triangles, balances, cross, position_usd, correlated)
            asyncio.run(_drive(run, steps))
            outcomes.append(_outcome(run, path))
            if compiled and cross:
                assert isinstance(run.engine.cross_decision, CrossDecision)
                decided = run.engine.cross_decision.decided
            if compiled:
                made = run.engine.cycle_decisions
                assert set(made) == set(triangles)
                cycles = sum(decision.decided for decision in made.values())
                ranked = sum(decision.ranked for decision in made.values())
    assert outcomes[0] == outcomes[1]
    return decided, cycles, ranked


_RUNS = itertools.count()


def test_a_long_market_is_decided_in_c_exactly_as_in_python(tmp_path: Path) -> None:
    """A fixed 1,500-step market with dislocations on every venue: many compiled decisions
    (cycles scanned on Kraken only, so most crossing updates have none to rank with), approved
    and refused, trades filled, and the same records and counts as Python's."""
    rng = random.Random(5)
    steps = [(rng.randrange(len(MARKETS)), rng.randint(-30, 30), rng.choice(DISLOCATIONS),
              rng.randint(1, 40_000), rng.random() < 0.03, rng.randint(0, 60_000_000),
              rng.randint(0, 3)) for _ in range(1_500)]  # fmt: skip
    decided, _, _ = _compare(tmp_path, steps, ("kraken",))
    assert decided >= 20


@pytest.mark.parametrize("rich", [False, True], ids=["demo-balances", "rich"])
def test_a_crossing_and_cycles_on_one_update_are_ranked_in_c_as_in_python(
    tmp_path: Path, rich: bool
) -> None:
    """A Binance or OKX dislocation is a crossing route and a paying cycle on the same update:
    the engine ranks the two finds by expected USD profit and decides them in turn, the second
    asked of the gate again (the first's trade may hold the market they share); in C as in
    Python (a second find let through regardless fails this market)."""
    rng = random.Random(0)
    steps = [(rng.randrange(len(MARKETS)), rng.randint(-30, 30), rng.choice(DISLOCATIONS),
              rng.randint(1, 40_000), rng.random() < 0.03, rng.randint(0, 60_000_000),
              rng.randint(0, 3)) for _ in range(600)]  # fmt: skip
    balances = {"USDT": 3_000.0, "USD": 3_000.0, "BTC": 0.5, "ETH": 10.0, "SOL": 100.0}
    _, cycles, ranked = _compare(tmp_path, steps, balances=balances if rich else None)
    assert cycles >= 10
    assert ranked >= 5


@pytest.mark.parametrize(("cross", "position_usd", "correlated"),
                         [(True, None, False), (False, None, False), (False, 60.0, False),
                          (False, 60.0, True)],
                         ids=["with-crossings", "cycles-alone", "tight", "correlated"])  # fmt: skip
def test_cycles_on_every_venue_are_decided_in_c_exactly_as_in_python(
    tmp_path: Path, cross: bool, position_usd: float | None, correlated: bool
) -> None:
    """The same kind of market with every venue's cycles scanned: cycles through dollar quotes
    only (Kraken's USDT -> BTC -> USD) and through BTC (Binance's and OKX's, a leg valued at
    BTC's USD mid), found alone (decided in C) or on an update a route crosses on (ranked with
    it in Python: with the cross strategy running, every Binance and OKX dislocation is one).
    Alone, a moved BTC/USDT on Binance pays through ETH and through SOL: both are ranked and
    decided in turn (the second refused while the first's trade holds BTC/USDT). With a tight
    position limit a cycle's legs net out only when each is valued at its own quote's price,
    so a leg mis-valued shows as a position refused. Correlated, risk's check is the Python
    reference's, over the legs the compiled decision made."""
    rng = random.Random(11)
    steps = [(rng.randrange(len(MARKETS)), rng.randint(-30, 30), rng.choice(DISLOCATIONS),
              rng.randint(1, 40_000), rng.random() < 0.03, rng.randint(0, 60_000_000),
              rng.randint(0, 3)) for _ in range(1_500)]  # fmt: skip
    _, cycles, ranked = _compare(
        tmp_path, steps, cross=cross, position_usd=position_usd, correlated=correlated
    )
    assert cycles >= 20
    assert ranked >= 5  # (a moved BTC/USDT pays through ETH and SOL; a crossing with cycles)


def test_what_trades_in_flight_reserved_sizes_the_next_decision_in_c_as_in_python(
    tmp_path: Path,
) -> None:
    """Binance's BTC, then its ETH, cheap while the first trade is in flight: the second buy
    spends binance's USDT less what the first reserved (the ledger's slots in C, its
    reservations and the shadow account's balances in Python), which binds here (the first
    takes 1,000 of the 1,500)."""
    quiet = [(m, 0, 0, 40_000, False, 1_000_000, 3)
             for m, (venue, _) in enumerate(MARKETS) if venue != "kraken"]  # fmt: skip
    btc, eth = MARKETS.index(("binance", "BTC/USDT")), MARKETS.index(("binance", "ETH/USDT"))
    steps = [*quiet, (btc, 0, -40_000, 40_000, False, 1_000, 0),
             (eth, 0, -2_000, 40_000, False, 1_000, 0), *quiet]  # fmt: skip
    balances = {"USDT": 1_500.0, "USD": 1_500.0, "BTC": 0.05, "ETH": 1.0}
    assert _compare(tmp_path, steps, ("kraken",), balances)[0] >= 2


@settings(max_examples=15, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=120))
def test_random_markets_are_decided_in_c_exactly_as_in_python(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Step]
) -> None:
    _compare(tmp_path_factory.mktemp("decide"), steps)


@settings(max_examples=15, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=120))
def test_random_cycles_alone_are_decided_in_c_exactly_as_in_python(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Step]
) -> None:
    """Every venue's cycles with no cross strategy (so each cycle found alone is decided in C)
    and a tight position limit."""
    _compare(tmp_path_factory.mktemp("cycles"), steps, cross=False, position_usd=60.0)


def _state(run: _Run) -> tuple[Any, ...]:
    """What a rehearsal could leave behind beyond the outcome: the gate's cool-offs and busy
    markets, risk's order-rate window and open orders, the USD cache (in its order), the
    ledger's balances."""
    engine = run.engine
    orchestrator = engine.orchestrator
    exposure = engine.risk.exposure
    taken = orchestrator._last_taken
    return ({key: taken[key] for key in taken}, sorted(orchestrator._busy), orchestrator.offered,
            exposure.order_times, exposure.open_orders, list(engine._usd_cache.items()),
            {venue: engine.ledger.balances(venue).copy() for venue in LISTED})  # fmt: skip


def _rehearsed(tmp: Path, steps: list[Step], rehearsals: Rehearsals,
               triangles: tuple[str, ...] = tuple(LISTED)) -> tuple[int, int]:  # fmt: skip
    """The compiled engine through ``steps`` without rehearsals and with them: the same
    outcome (audit rows and their hash chain, every count, the reservations) and state; the
    rehearsals made (of routes, of cycles)."""
    outcomes, rehearsed, cycles = [], 0, 0
    for plan in ({}, rehearsals):
        path = tmp / f"r-{next(_RUNS)}.db"
        with AuditTrail(path, synchronous="NORMAL") as audit:
            run = _engine(audit, True, triangles)
            asyncio.run(_drive(run, steps, plan))
            # then the feed goes quiet for 2 s (risk's order-rate window would forget every
            # order), and the idle loop rehearses each route
            run.clock.now_ns += 2_000_000_000
            if plan:
                _rehearse(run, list(range(64)))
            outcomes.append((_outcome(run, path), _state(run)))
            assert isinstance(run.engine.cross_decision, CrossDecision)
            rehearsed = run.engine.cross_decision.rehearsed
            cycles = sum(d.rehearsed for d in run.engine.cycle_decisions.values())
    assert outcomes[0] == outcomes[1]
    return rehearsed, cycles


@pytest.mark.parametrize("triangles", [("kraken",), tuple(LISTED)], ids=["kraken", "all"])
def test_rehearsals_through_a_long_market_change_nothing(
    tmp_path: Path, triangles: tuple[str, ...]
) -> None:
    """The fixed 1,500-step market, rehearsals everywhere (after every update and loop turn,
    the next route in turn and a random one, and each venue's cycle of that number): the same
    records, counts and state as without, while they went through every read of a decision
    many times (cycles through BTC, whose USD price a rehearsal reads and must not cache, on
    every venue's scan)."""
    rng = random.Random(5)
    steps = [(rng.randrange(len(MARKETS)), rng.randint(-30, 30), rng.choice(DISLOCATIONS),
              rng.randint(1, 40_000), rng.random() < 0.03, rng.randint(0, 60_000_000),
              rng.randint(0, 3)) for _ in range(1_500)]  # fmt: skip
    plan = {(step, phase): [-1, rng.randrange(64)]
            for step, (*_, turns) in enumerate(steps) for phase in range(turns + 1)}  # fmt: skip
    routes, cycles = _rehearsed(tmp_path, steps, plan, triangles)
    assert routes >= 1_000
    assert cycles >= 500  # (Engine.idle takes the cross decision and each venue's cycles in turn)


@settings(max_examples=15, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=120), st.data())
def test_rehearsals_at_random_points_change_nothing(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Step], data: st.DataObject
) -> None:
    points = st.tuples(st.integers(0, len(steps) - 1), st.integers(0, 3))
    routes = st.lists(st.integers(-1, 63), min_size=1, max_size=4)
    plan = data.draw(st.dictionaries(points, routes, max_size=3 * len(steps)))
    _rehearsed(tmp_path_factory.mktemp("rehearse"), steps, plan)


def test_a_rehearsal_names_its_route_and_counts_apart(tmp_path: Path) -> None:
    """``rehearse(route)`` answers the route (or -1: its books are not in sync), the next in
    turn for -1, counts in ``rehearsed`` only, and refuses a route out of range."""
    with AuditTrail(tmp_path / "a.db", synchronous="NORMAL") as audit:
        run = _engine(audit, True, ())
        asyncio.run(_drive(run, [(m, 0, 0, 40_000, False, 1_000, 0) for m in range(len(MARKETS))]))
        decision = run.engine.cross_decision
        assert isinstance(decision, CrossDecision)
        n = decision.kernel.n_routes
        walked, decided = run.engine.cross.walked if run.engine.cross else None, decision.decided
        fast = [r for r in range(n) if decision.rehearse(r) == r]
        assert fast
        assert decision.rehearsed == len(fast)
        assert [decision.rehearse() for _ in range(len(fast))] == fast  # (round-robin)
        run.engine.syncs["okx"]["BTC/USDT"].core.synced = False
        assert -1 in {decision.rehearse(r) for r in range(n)}
        assert decision.decided == decided
        assert (run.engine.cross.walked if run.engine.cross else None) == walked
        with pytest.raises(IndexError):
            decision.rehearse(n)


def test_a_cycle_rehearsal_reads_and_leaves_nothing(tmp_path: Path) -> None:
    """``TriangularDecision.rehearse(cycle)`` answers the cycle (or -1: a book never seen; the
    last cycle an update changed for -1), counts in ``rehearsed`` only, caches no USD price it
    read (BTC's, for the leg through ETH/BTC), and refuses a cycle out of range."""
    with AuditTrail(tmp_path / "a.db", synchronous="NORMAL") as audit:
        run = _engine(audit, True, ("binance",), cross=False)
        decision = run.engine.cycle_decisions["binance"]
        assert decision.rehearse() == -1  # (no update yet)
        binance = [m for m, (venue, _) in enumerate(MARKETS) if venue == "binance"]
        asyncio.run(_drive(run, [(m, 0, 0, 40_000, False, 1_000, 0) for m in binance]))
        run.engine._usd_cache.clear()
        before = (decision.decided, decision.ranked, dict(run.engine.orchestrator.reserved))
        through_btc = [c for c in range(decision.engine.cycle_count)
                       if "BTC" in decision.engine.cycle_assets(c)]  # fmt: skip
        assert [decision.rehearse(c) for c in through_btc] == through_btc
        assert decision.rehearsed == len(through_btc)
        assert run.engine._usd_cache == {}
        after = (decision.decided, decision.ranked, dict(run.engine.orchestrator.reserved))
        assert after == before
        with pytest.raises(IndexError):
            decision.rehearse(decision.engine.cycle_count)
