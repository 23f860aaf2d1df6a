"""The triangular-cycle benches' world: Binance's pair universe, seeded prices, and the peers.

The universe is every trading spot pair of the recorded Binance ``exchangeInfo`` (the
``BINANCE.0`` cryptofeed recording). Prices are seeded, not recorded: each asset gets a random
USD value, each market a mid of ``value(base) / value(quote)`` times a small noise, and a touch
a few bps either side, so that only a handful of USDT 3-cycles clear three 0.1% taker fees.
Every market also gets an ``L2Book`` of ``LEVELS`` levels a side (for ``on_book`` and sizing).

The peers re-implement the engine's rates (docs/triangular.md) on the same graph: a plain
Python loop, a numpy vectorised pass, and networkx Bellman-Ford on ``-log(rate)`` (Peregrine's
approach), the last only when networkx is installed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from functools import cache
from itertools import pairwise, repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.model import Instrument
from arbcore.testing.instruments import load_rest_body
from arbcore.testing.recordings import shared_data_dir
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.cycles import BUY, SELL, CycleEngine

try:
    import networkx as nx
except ImportError:  # a dev extra: its rows skip
    nx = None

__all__ = [
    "HAS_NETWORKX",
    "SEED",
    "NetworkxBellmanFord",
    "NumpyCycles",
    "PythonCycles",
    "Universe",
    "alternating_loop",
    "bench_markets",
    "binance_instruments",
    "universe",
]

HAS_NETWORKX = nx is not None
#: Seed of the prices (numpy default_rng); with these constants 6 of the 1,692 cycles pay.
SEED = 20261125
#: log10 of the USD value range of an asset.
VALUE_LOG10 = (-3.0, 4.0)
#: Standard deviation of each market's mid around the asset values' cross rate (bps).
NOISE_BPS = 8.0
#: Distance of the best bid and ask from the mid (bps), and between book levels.
HALF_SPREAD_BPS = 2.0
LEVEL_STEP_BPS = 1.0
#: Levels a side of every market's book; each worth 100..2,000 USD.
LEVELS = 20
LEVEL_USD = (100.0, 2_000.0)
#: Raw prices get this many significant digits (one tick is ~1e-7 of the price).
PRICE_DIGITS = 7
SIZE_DECIMALS = 8
START = "USDT"
#: Per round of a per-market bench: each loop's time is bounded by the round budget.
ROUND_BUDGET_S = 0.8
MIN_ROUNDS, MAX_ROUNDS = 3, 30


def recording() -> Path:
    """The recorded Binance REST bodies; skips the requesting test when absent."""
    root = shared_data_dir()
    if root is None:
        pytest.skip("the real recordings (../shared/data or $ARBCORE_SHARED_DATA) are absent")
    path = root / "real/binance/BINANCE.0"
    if not path.is_file():
        pytest.skip(f"recording {path} is absent")
    return path


@cache
def _instruments(path: Path) -> tuple[Instrument, ...]:
    payload = load_rest_body(path, "/api/v3/exchangeInfo")
    return tuple(parse_instruments(payload).instruments)


def binance_instruments() -> tuple[Instrument, ...]:
    """Every trading Binance spot instrument of the recording."""
    return _instruments(recording())


class Universe:
    """The Binance graph with seeded tops and books; ``engine`` has every market's top set."""

    def __init__(self, instruments: Sequence[Instrument], seed: int = SEED) -> None:
        self.instruments = tuple(instruments)
        self.symbols = [i.symbol for i in self.instruments]
        self.bases = [i.base for i in self.instruments]
        self.quotes = [i.quote for i in self.instruments]
        self.fees = np.array([i.taker_fee for i in self.instruments])
        self.engine = CycleEngine(
            self.symbols, self.bases, self.quotes, start_assets=(START,), taker_fees=self.fees
        )
        n = self.n_markets = len(self.symbols)
        rng = np.random.default_rng(seed)
        values = dict(
            zip(
                self.engine.assets,
                10 ** rng.uniform(*VALUE_LOG10, len(self.engine.assets)),
                strict=True,
            )
        )
        self.usd = values
        mid = np.array(
            [values[b] / values[q] for b, q in zip(self.bases, self.quotes, strict=True)]
        )
        mid *= 1.0 + rng.normal(0.0, NOISE_BPS / 1e4, n)
        self.price_decimals = np.clip(PRICE_DIGITS - 1 - np.floor(np.log10(mid)), 0, 18).astype(
            np.int64
        )
        scale = 10.0**self.price_decimals
        half = HALF_SPREAD_BPS / 1e4
        self.bid_raw = np.floor(mid * (1 - half) * scale).astype(np.int64)
        self.ask_raw = np.ceil(mid * (1 + half) * scale).astype(np.int64)
        self.bid = self._price(self.bid_raw)
        self.ask = self._price(self.ask_raw)
        # the alternative touch: one tick tighter a side (every cycle of the market changes rate)
        self.alt_bid = self._price(self.bid_raw + 1)
        self.alt_ask = self._price(self.ask_raw - 1)
        for m in range(n):
            self.engine.set_top(m, self.bid[m], self.ask[m])
        self.cycle_edges = np.array(
            [[2 * m + d for m, d in self.engine.cycle(c)] for c in range(self.engine.cycle_count)],
            dtype=np.intp,
        )
        self.cycles_of_market = [self.engine.cycles_of_market(m) for m in range(n)]
        self._book_rng = rng

    def _price(self, raw: npt.NDArray[np.int64]) -> list[float]:
        """Raw prices in price units, as ``on_book`` reads them (a division by 10**decimals)."""
        return [int(r) / 10 ** int(d) for r, d in zip(raw, self.price_decimals, strict=True)]

    @property
    def cycle_count(self) -> int:
        return int(self.engine.cycle_count)

    def edge_rates(self) -> npt.NDArray[np.float64]:
        """The engine's edge rates (index ``2 * market + direction``) from the seeded tops."""
        keep = 1.0 - self.fees
        rates = np.empty(2 * self.n_markets)
        rates[BUY::2] = keep / np.array(self.ask)
        rates[SELL::2] = np.array(self.bid) * keep
        return rates

    @cache  # noqa: B019 - one Universe per session
    def books(self) -> tuple[L2Book, ...]:
        """One book per market: ``LEVELS`` levels a side stepping ``LEVEL_STEP_BPS`` away.

        Flat layout (``window_ticks=0``): with levels 1 bp apart at 7 significant digits, the
        default window would take ~300 KB a book (370 MB for the universe) for 20 levels.
        """
        rng = self._book_rng
        steps = 1.0 - LEVEL_STEP_BPS / 1e4 * np.arange(LEVELS)
        books = []
        for m in range(self.n_markets):
            d = int(self.price_decimals[m])
            bid_p = np.floor(self.bid_raw[m] * steps).astype(np.int64)
            ask_p = np.ceil(self.ask_raw[m] * (2.0 - steps)).astype(np.int64)
            bid_p[0], ask_p[0] = self.bid_raw[m], self.ask_raw[m]
            qty = rng.uniform(*LEVEL_USD, (2, LEVELS)) / self.usd[self.bases[m]] * 10**SIZE_DECIMALS
            sizes = np.maximum(qty.astype(np.int64), 1)
            book = L2Book(d, SIZE_DECIMALS, window_ticks=0)
            book.apply_snapshot(bid_p, sizes[0], ask_p, sizes[1])
            books.append(book)
        return tuple(books)

    def touch_deltas(
        self, m: int
    ) -> tuple[tuple[npt.NDArray[Any], ...], tuple[npt.NDArray[Any], ...]]:
        """Two ``apply_deltas`` messages: one tick inside the touch on both sides, then back."""
        sides = np.array([BID, ASK], dtype=np.int8)
        prices = np.array([self.bid_raw[m] + 1, self.ask_raw[m] - 1], dtype=np.int64)
        return (sides, prices, np.array([10**SIZE_DECIMALS] * 2, dtype=np.int64)), (
            sides,
            prices,
            np.zeros(2, dtype=np.int64),
        )


@cache
def universe(instruments: tuple[Instrument, ...]) -> Universe:
    return Universe(instruments)


class PythonCycles:
    """The engine's rates in a plain-Python loop: lists of floats, tuples of edge ids."""

    def __init__(self, u: Universe) -> None:
        self.keep = [1.0 - float(f) for f in u.fees]
        self.threshold = float(u.engine.threshold)
        self.edge_rates = u.edge_rates().tolist()
        self.cycles = [tuple(int(e) for e in row) for row in u.cycle_edges]
        self.rates = [0.0] * len(self.cycles)
        self.members = [[(int(c), *self.cycles[c]) for c in ids] for ids in u.cycles_of_market]

    def scan(self) -> list[int]:
        """Every profitable cycle, best rate first (ties: lower id)."""
        r, rates, threshold = self.edge_rates, self.rates, self.threshold
        found = []
        for c, (e0, e1, e2) in enumerate(self.cycles):
            rate = r[e0] * r[e1] * r[e2]
            rates[c] = rate
            if rate > threshold:
                found.append(c)
        found.sort(key=lambda c: (-rates[c], c))
        return found

    def set_top(self, m: int, bid: float, ask: float) -> int:
        """Re-evaluate the market's cycles: how many changed rate and are profitable."""
        r, rates, threshold, keep = self.edge_rates, self.rates, self.threshold, self.keep[m]
        r[2 * m] = keep / ask if ask > 0.0 else 0.0
        r[2 * m + 1] = bid * keep if bid > 0.0 else 0.0
        n = 0
        for c, e0, e1, e2 in self.members[m]:
            rate = r[e0] * r[e1] * r[e2]
            if rate != rates[c]:
                rates[c] = rate
                if rate > threshold:
                    n += 1
        return n


class NumpyCycles:
    """The engine's rates vectorised: ``rates[edges].prod(axis=1)`` over an (n, 3) edge array."""

    def __init__(self, u: Universe) -> None:
        self.keep = (1.0 - u.fees).tolist()
        self.threshold = float(u.engine.threshold)
        self.edge_rates = u.edge_rates()
        self.edges = u.cycle_edges
        self.rates = np.zeros(len(self.edges))
        self.ids = u.cycles_of_market
        self.member_edges = [self.edges[ids] for ids in self.ids]

    def scan(self) -> npt.NDArray[np.intp]:
        """Every profitable cycle, best rate first (a stable argsort: ties by lower id)."""
        rates = self.edge_rates[self.edges].prod(axis=1)
        self.rates = rates
        found = np.flatnonzero(rates > self.threshold)
        return found[np.argsort(-rates[found], kind="stable")]

    def set_top(self, m: int, bid: float, ask: float) -> int:
        """Re-evaluate the market's cycles: how many changed rate and are profitable."""
        keep = self.keep[m]
        self.edge_rates[2 * m] = keep / ask if ask > 0.0 else 0.0
        self.edge_rates[2 * m + 1] = bid * keep if bid > 0.0 else 0.0
        ids = self.ids[m]
        new = self.edge_rates[self.member_edges[m]].prod(axis=1)
        hits = (new != self.rates[ids]) & (new > self.threshold)
        self.rates[ids] = new
        return int(np.count_nonzero(hits))


class NetworkxBellmanFord:
    """Peregrine's approach: a DiGraph of assets weighted ``-log(rate)``, Bellman-Ford from USDT.

    The graph and its weights are built once, untimed; ``find()`` is one
    ``nx.find_negative_cycle`` (a negative cycle is a profitable loop of trades).
    """

    def __init__(self, u: Universe) -> None:
        if nx is None:
            raise RuntimeError("networkx is not installed")
        rates = u.edge_rates()
        self.graph = nx.DiGraph()
        self.rate: dict[tuple[str, str], float] = {}
        for m, (base, quote) in enumerate(zip(u.bases, u.quotes, strict=True)):
            for d, (a, b) in ((BUY, (quote, base)), (SELL, (base, quote))):
                rate = float(rates[2 * m + d])
                if rate > 0.0:
                    self.graph.add_edge(a, b, weight=-math.log(rate))
                    self.rate[a, b] = rate

    def find(self) -> list[str] | None:
        """A profitable cycle reachable from USDT as asset names (first = last), or None."""
        try:
            return list(nx.find_negative_cycle(self.graph, START, weight="weight"))
        except nx.NetworkXError:
            return None

    def cycle_rate(self, nodes: list[str]) -> float:
        rate = 1.0
        for a, b in pairwise(nodes):
            rate *= self.rate[a, b]
        return rate


def alternating_loop(
    fn: Callable[..., object], first: tuple[Any, ...], second: tuple[Any, ...], calls: int
) -> Callable[[], object]:
    """``calls`` calls of ``fn`` alternating between two argument tuples (ending on ``second``)."""
    (a0, b0, c0), (a1, b1, c1) = first, second

    def loop() -> object:
        out = None
        for _ in repeat(None, calls // 2):
            fn(a0, b0, c0)
            out = fn(a1, b1, c1)
        return out

    return loop


def _time_markets(loops: Sequence[Callable[[], object]], calls: int) -> npt.NDArray[np.float64]:
    """ns per call for each market's loop (one timing per market)."""
    out = np.empty(len(loops))
    clock = time.perf_counter_ns
    for i, loop in enumerate(loops):
        start = clock()
        loop()
        out[i] = (clock() - start) / calls
    return out


def bench_markets(
    benchmark: Any,
    loops: Sequence[Callable[[], object]],
    calls: int,
    *,
    group: str,
    contender: str,
    baseline: str = "",
    target_ns: float | None = None,
    note: str = "",
) -> npt.NDArray[np.float64]:
    """Each round times every market's loop of ``calls`` calls separately; the round's figure is
    the median across markets of the per-market mean. Records the rounds' figures as
    ``samples_ns`` (report.py reads them instead of the round times); returns the last round's
    per-market ns.
    """
    per_market: list[npt.NDArray[np.float64]] = []
    samples: list[float] = []

    def one_round() -> None:
        ns = _time_markets(loops, calls)
        per_market.append(ns)
        samples.append(float(np.median(ns)))

    benchmark.group = group
    benchmark.extra_info.update(
        contender=contender, ops=1, unit="update", baseline=baseline, note=note
    )
    if target_ns is not None:
        benchmark.extra_info["target_ns"] = target_ns
    if benchmark.disabled:
        benchmark.pedantic(one_round)
    else:
        start = time.perf_counter()
        one_round()  # calibration and warm-up, not recorded
        seconds = time.perf_counter() - start
        per_market.clear()
        samples.clear()
        rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(ROUND_BUDGET_S / max(seconds, 1e-9))))
        benchmark.pedantic(one_round, rounds=rounds)
    benchmark.extra_info["samples_ns"] = samples
    benchmark.extra_info["markets"] = len(loops)
    return per_market[-1]
