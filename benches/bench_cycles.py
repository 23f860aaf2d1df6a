"""Triangular-cycle benchmarks on Binance's real pair universe with seeded prices.

Three questions: how fast is a full scan of every USDT 3-cycle (against a numpy pass, networkx
Bellman-Ford and a Python loop), how fast is the incremental re-evaluation when one market's top
moves (``set_top``, ``on_book``), and how fast is depth-aware sizing of one cycle. Every bench
checks its answer against the peers, so the file doubles as a smoke test under
``--benchmark-disable``. The world (universe, prices, peers) is in ``cycle_peers.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from itertools import repeat
from typing import Any

import numpy as np
import pytest
from cycle_peers import (
    HAS_NETWORKX,
    LEVELS,
    SEED,
    NetworkxBellmanFord,
    NumpyCycles,
    PythonCycles,
    Universe,
    alternating_loop,
    bench_markets,
    binance_instruments,
    universe,
)
from peers import bench_calls, call_loop

from arbcore.strategies.triangular import TriangularScanner
from arbcore_ext.cycles import CycleEngine

pytestmark = pytest.mark.recording


def _reference_engine() -> Any:
    """The plain-Python twin's engine class, or None (it lands separately; its row skips)."""
    try:
        return importlib.import_module("arbcore_ext.reference.cycles").CycleEngine
    except (ImportError, AttributeError):
        return None


ReferenceEngine: Any = _reference_engine()

HOT = "BTC/USDT"  # the market in the most cycles
GROUP_SCAN = "cycles: full scan of every USDT 3-cycle"
GROUP_MEDIAN = "cycles: one market's top moves (median over all markets)"
GROUP_HOT = f"cycles: one market's top moves ({HOT})"
GROUP_SIZE = f"cycles: depth-aware sizing of one cycle ({LEVELS} levels a side)"

SCAN = ("arbcore scan()", "numpy vectorised", "networkx Bellman-Ford", "plain Python")
UPDATES = (
    "arbcore set_top",
    "CycleEngine.on_book + apply_deltas",
    "TriangularScanner.on_book + apply_deltas",
    "apply_deltas alone",
    "numpy",
    "plain Python",
    "empty method call",
    "bare loop",
)
BASELINE = "plain Python"
#: Calls per market in one per-market timing, and per round for the one-market rows.
MARKET_CALLS = {"numpy": 10, "plain Python": 10}
MARKET_CALLS_DEFAULT = 100
HOT_CALLS = {"numpy": 400, "plain Python": 100, "TriangularScanner.on_book + apply_deltas": 200}
HOT_CALLS_DEFAULT = 10_000
SIZE_CALLS = {"arbcore size()": 10_000, "reference twin": 20}


def _skip_networkx(name: str) -> Any:
    return pytest.param(
        name,
        id=name,
        marks=pytest.mark.skipif(
            name.startswith("networkx") and not HAS_NETWORKX,
            reason="networkx is not installed (dev extra)",
        ),
    )


class World:
    """The universe plus every engine and peer, each in the seeded state."""

    def __init__(self, u: Universe) -> None:
        self.u = u
        self.engine = u.engine
        self.books = u.books()
        for symbol, book in zip(u.symbols, self.books, strict=True):
            self.engine.on_book(symbol, book)
        self.scanner = TriangularScanner(u.instruments)
        for symbol, book in zip(u.symbols, self.books, strict=True):
            self.scanner.on_book(symbol, book)
        self.python = PythonCycles(u)
        self.numpy = NumpyCycles(u)
        self.profitable = self.engine.scan()
        assert self.python.scan() == self.profitable.tolist()
        assert self.numpy.scan().tolist() == self.profitable.tolist()
        self.rates = self.engine.rates()
        paying = set(self.profitable.tolist())
        self.paying_of = [[int(c) for c in ids if int(c) in paying] for ids in u.cycles_of_market]

    def summary(self) -> str:
        u, hot = self.u, self.engine.market_id(HOT)
        best = (self.engine.rate(int(self.profitable[0])) - 1) * 1e4
        return (
            f"Binance spot exchangeInfo (recorded): {u.n_markets:,} markets, "
            f"{len(self.engine.assets)} assets, {u.cycle_count:,} USDT 3-cycles; {HOT} is in "
            f"{len(u.cycles_of_market[hot])} of them, the median market in "
            f"{int(np.median([len(c) for c in u.cycles_of_market]))}. Seeded prices (default_rng"
            f"({SEED}), random USD values, 8 bps mid noise, touch 2 bps from the mid, 0.1% taker "
            f"fees): {len(self.profitable)} cycles pay (best {best:.1f} bps; {HOT} is in "
            f"{len(self.paying_of[hot])} of them)."
        )

    def check_state(self) -> None:
        """Every loop ends on the seeded touch: rates and tops are as they started."""
        assert np.array_equal(self.engine.rates(), self.rates)
        assert np.array_equal(self.engine.scan(), self.profitable)


@pytest.fixture(scope="module")
def world() -> World:
    return World(universe(binance_instruments()))


# -- full scan ----------------------------------------------------------------------------------


@pytest.mark.parametrize("contender", [_skip_networkx(name) for name in SCAN])
def test_full_scan(benchmark: Any, world: World, contender: str) -> None:
    """Every USDT 3-cycle re-evaluated from the current tops; the profitable ones, best first."""
    engine, found = world.engine, world.profitable
    if contender == "arbcore scan()":
        target: Callable[[], object] = engine.scan
    elif contender == "numpy vectorised":
        target = world.numpy.scan
    elif contender == "plain Python":
        target = world.python.scan
    else:
        target = NetworkxBellmanFord(world.u).find
    notes = {
        "arbcore scan()": "all profitable cycles, ranked",
        "numpy vectorised": "`edge_rates[edges].prod(axis=1)`, threshold mask, stable argsort "
        "of the profitable ones",
        "networkx Bellman-Ford": "`nx.find_negative_cycle(G, 'USDT')` on a prebuilt DiGraph "
        "weighted -log(rate) (building it is not timed); finds one negative cycle reachable "
        "from USDT, of any length, not the list",
        "plain Python": "loop over (e0, e1, e2) tuples of a list of edge rates, then sort",
    }
    result = bench_calls(
        benchmark,
        target,
        1,
        group=GROUP_SCAN,
        contender=contender,
        unit="scan",
        baseline=BASELINE,
        note=notes[contender],
    )
    benchmark.extra_info["about"] = world.summary()
    if contender == "arbcore scan()":
        benchmark.extra_info["target_speedup"] = {
            "networkx Bellman-Ford": 500.0,
            "numpy vectorised": 5.0,
        }
    assert len(found) > 0
    if contender == "networkx Bellman-Ford":
        assert isinstance(result, list)  # it agrees: a profitable cycle exists
        graph = NetworkxBellmanFord(world.u)
        assert result[0] == result[-1]
        assert graph.cycle_rate(result) > 1.0
    else:
        assert np.asarray(result).tolist() == found.tolist()
    world.check_state()


# -- incremental updates ------------------------------------------------------------------------


class _Noop:
    """A trivial Python object: the floor of a three-argument method call."""

    def set_top(self, market: int, bid: float, ask: float) -> int:
        return 0


def _book_loop(
    world: World, m: int, calls: int, engine: CycleEngine | None
) -> Callable[[], object]:
    """``calls`` rounds of apply_deltas (touch one tick tighter, then back) + ``on_book``."""
    book, symbol = world.books[m], world.u.symbols[m]
    apply = book.apply_deltas
    (s0, p0, q0), (s1, p1, q1) = world.u.touch_deltas(m)
    if engine is None:

        def apply_only() -> object:
            for _ in repeat(None, calls // 2):
                apply(s0, p0, q0)
                apply(s1, p1, q1)
            return None

        return apply_only
    on_book = engine.on_book

    def loop() -> object:
        out = None
        for _ in repeat(None, calls // 2):
            apply(s0, p0, q0)
            on_book(symbol, book)
            apply(s1, p1, q1)
            out = on_book(symbol, book)
        return out

    return loop


def _update_loop(world: World, contender: str, m: int, calls: int) -> Callable[[], object]:
    """One market's loop: the touch one tick tighter, then back (``calls`` calls in all)."""
    u = world.u
    if contender == "bare loop":

        def bare() -> object:
            for _ in repeat(None, calls // 2):
                pass
            return None

        return bare
    if contender.endswith("apply_deltas") or contender == "apply_deltas alone":
        engines = {
            "CycleEngine.on_book + apply_deltas": world.engine,
            "TriangularScanner.on_book + apply_deltas": world.scanner,
        }
        return _book_loop(world, m, calls, engines.get(contender))
    fns = {
        "arbcore set_top": world.engine.set_top,
        "numpy": world.numpy.set_top,
        "plain Python": world.python.set_top,
        "empty method call": _Noop().set_top,
    }
    return alternating_loop(
        fns[contender], (m, u.alt_bid[m], u.alt_ask[m]), (m, u.bid[m], u.ask[m]), calls
    )


def _check_update(world: World, contender: str, m: int, result: object) -> None:
    """The last call of a loop (back to the seeded touch) reports the market's paying cycles."""
    paying = world.paying_of[m]
    if contender in ("arbcore set_top", "numpy", "plain Python"):
        assert result == len(paying)
    elif contender == "CycleEngine.on_book + apply_deltas":
        assert result == tuple(paying)
    elif contender == "TriangularScanner.on_book + apply_deltas":
        assert isinstance(result, tuple)
        assert sorted(o.rate for o in result) == sorted(world.engine.rate(c) for c in paying)
        assert all(o.kind == "triangular" for o in result)
    world.check_state()
    assert world.python.rates == world.rates.tolist()
    assert np.array_equal(world.numpy.rates, world.rates)


_UPDATE_NOTES = {
    "arbcore set_top": "the public API with floats: 2 edge rates, then the market's cycles",
    "CycleEngine.on_book + apply_deltas": "a live feed's path: apply a 2-level message to the "
    "market's L2Book (flat layout), then on_book reads the touch",
    "TriangularScanner.on_book + apply_deltas": "as above, through the strategy: a market in a "
    "paying cycle emits a sized Opportunity per paying cycle on every call",
    "apply_deltas alone": "the book update the two on_book rows include",
    "numpy": "two edge rates, `edge_rates[member_edges].prod(axis=1)`, compare, store",
    "plain Python": "two edge rates, loop over the market's cycles multiplying three rates",
    "empty method call": "a Python-level method taking (market, bid, ask) and returning 0 (a "
    "compiled method's call costs less)",
    "bare loop": "the loop alone (per two calls it runs one iteration)",
}


@pytest.mark.parametrize("contender", UPDATES)
def test_update_median_market(benchmark: Any, world: World, contender: str) -> None:
    """Every market's top alternates in turn; per-market mean, median across markets."""
    calls = 2 if benchmark.disabled else MARKET_CALLS.get(contender, MARKET_CALLS_DEFAULT)
    markets = range(world.u.n_markets)
    loops = [_update_loop(world, contender, m, calls) for m in markets]
    ns = bench_markets(
        benchmark,
        loops,
        calls,
        group=GROUP_MEDIAN,
        contender=contender,
        baseline=BASELINE,
        target_ns=100.0 if contender == "arbcore set_top" else None,
        note=_UPDATE_NOTES[contender],
    )
    benchmark.extra_info["about"] = (
        f"Each market in turn (all {world.u.n_markets:,}, in or out of cycles) gets a loop of "
        "calls alternating its touch between the seeded one and one tick tighter a side, so "
        "every call changes the rate of each of its cycles; a row is the median across markets "
        "of the per-market mean (the loop's own cost included), its min/mean over rounds. "
        "p90 across markets: see each row's note."
    )
    benchmark.extra_info["note"] += f"; p90 across markets {np.percentile(ns, 90):,.0f} ns"
    assert len(ns) == world.u.n_markets
    assert np.all(ns > 0)
    hot = world.engine.market_id(HOT)
    _check_update(world, contender, hot, loops[hot]())


@pytest.mark.parametrize("contender", UPDATES)
def test_update_hot_market(benchmark: Any, world: World, contender: str) -> None:
    """The market in the most cycles: its top alternates in a loop of calls."""
    m = world.engine.market_id(HOT)
    calls = 2 if benchmark.disabled else HOT_CALLS.get(contender, HOT_CALLS_DEFAULT)
    loop = _update_loop(world, contender, m, calls)
    result = bench_calls(
        benchmark,
        loop,
        calls,
        group=GROUP_HOT,
        contender=contender,
        unit="update",
        baseline=BASELINE,
        target_ns=500.0 if contender == "arbcore set_top" else None,
        note=_UPDATE_NOTES[contender],
    )
    benchmark.extra_info["about"] = (
        f"{HOT} is in {len(world.u.cycles_of_market[m])} of the "
        f"{world.u.cycle_count:,} cycles ({len(world.paying_of[m])} of them pay, so every call "
        "reports them as changed and profitable). One loop of calls alternating its touch."
    )
    _check_update(world, contender, m, result)


# -- sizing -------------------------------------------------------------------------------------


def _reference(world: World) -> Any:
    """The plain-Python twin configured as TriangularScanner configures the engine."""
    assert ReferenceEngine is not None
    ins = world.u.instruments
    ref = ReferenceEngine(
        [i.symbol for i in ins],
        [i.base for i in ins],
        [i.quote for i in ins],
        taker_fees=[i.taker_fee for i in ins],
        lots=[i.lot_size / 10**i.size_decimals for i in ins],
        min_qty=[i.min_qty / 10**i.size_decimals for i in ins],
        min_notional=[i.min_notional / 10**i.price_decimals for i in ins],
    )
    for symbol, book in zip(world.u.symbols, world.books, strict=True):
        ref.set_book(symbol, book)
    return ref


def _sized_cycle(world: World) -> int:
    """The best-rate paying cycle that sizes to a positive profit under Binance's lots."""
    for c in world.profitable.tolist():
        sized = world.scanner.size(c)
        if sized and sized.profit > 0:
            return int(c)
    raise AssertionError("no paying cycle sizes to a profit")


@pytest.mark.parametrize(
    "contender",
    [
        "arbcore size()",
        pytest.param(
            "reference twin",
            marks=pytest.mark.skipif(
                ReferenceEngine is None,
                reason="arbcore_ext.reference.cycles is not there yet",
            ),
        ),
    ],
)
def test_size(benchmark: Any, world: World, contender: str) -> None:
    """Depth-aware sizing of one paying cycle over its three books (instrument lots, minimums)."""
    c = _sized_cycle(world)
    engine: Any = world.scanner if contender == "arbcore size()" else _reference(world)
    calls = 1 if benchmark.disabled else SIZE_CALLS[contender]
    sized = bench_calls(
        benchmark,
        call_loop(engine.size, (c,), calls),
        calls,
        group=GROUP_SIZE,
        contender=contender,
        baseline="reference twin",
        target_ns=3000.0 if contender == "arbcore size()" else None,
        note="exact rationals, the oracle of the engine's tests"
        if contender == "reference twin"
        else "the compiled engine (TriangularScanner's configuration)",
    )
    expected = world.scanner.size(c)
    legs = [(leg.market, leg.direction, leg.levels) for leg in expected.legs]
    benchmark.extra_info["about"] = (
        f"Cycle {c} ({' -> '.join(world.engine.cycle_assets(c))} -> USDT, top-of-book "
        f"{(world.engine.rate(c) - 1) * 1e4:.1f} bps after fees): sized to "
        f"{expected.start_amount:,.2f} USDT for {expected.profit:,.4f} USDT "
        f"({expected.profit_bps:.1f} bps), legs reaching {[n for *_, n in legs]} levels; "
        "lots and minimums from the Binance instruments."
    )
    assert sized.cycle == c
    assert sized.profit > 0
    assert sized.start_amount == pytest.approx(expected.start_amount, rel=1e-9)
    assert sized.profit == pytest.approx(expected.profit, rel=1e-6)
    assert [(leg.market, leg.direction, leg.levels) for leg in sized.legs] == legs
    assert max(n for *_, n in legs) > 1  # the walk really goes past the touch
