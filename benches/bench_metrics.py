"""What metrics cost the engine: a backtest with metrics off and on, side by side.

A Binance-protocol session is recorded once from the seeded simulator (dislocations on, so the
triangular strategy finds and trades opportunities), then replayed through the whole engine
(parse, sync, strategies, orchestrator, risk, shadow execution, audit) by
:func:`arbcore.backtest.backtest`, once with the plain :class:`~arbcore.engine.Engine` and once
with :class:`~arbcore.testing.metered.MeteredEngine` (the opportunity counter, the latency
histogram and the trade's trace; an upper bound of the wired-in cost), while a scrape renders
``/metrics`` every 200 book updates (real Prometheus scrapes every 15 s: far rarer).

``test_metrics_overhead_ratio`` runs both alternately in one process and prints the ratio of
the medians (target: under 1.05). Run timed::

    PYTHONPATH=. python -m pytest benches/bench_metrics.py --benchmark-enable -p no:cacheprovider -s
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from arbcore.backtest import ReplaySource, backtest
from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.exchanges.binance.data import BinanceDataClient
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.marketdata.recorder import Recorder
from arbcore.net.ws import Backoff
from arbcore.observability.metrics import (
    DecisionMetrics,
    LatencyHistogram,
    Sources,
    registry_for,
    render,
)
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.market import MarketConfig
from arbcore.testing.metered import MeteredEngine

ROOT = Path(__file__).resolve().parents[1]
SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
RECORD_S = 4.0
SCRAPE_EVERY = 200  # book updates between two renders of /metrics in the metered run
ROUNDS = 7


async def _record(folder: Path) -> ReplaySource:
    """A simulator session as the live Binance client received it, with its instrument list."""
    config = SimConfig(venues=("binance",), symbols=SYMBOLS, seed=5, step_interval_s=0.01,
                       market=MarketConfig(dislocation_rate=0.3))  # fmt: skip
    async with Simulator(config) as sim, httpx.AsyncClient(timeout=5.0) as http:
        endpoint = sim.endpoints["binance"]
        url = endpoint.rest_url + "/api/v3/exchangeInfo"
        body = (await http.get(url)).text
        capture = folder / "BINANCE.0"
        capture.write_text(f"{url} -> {time.time()}: {body}\n")
        session = folder / "session.arbcore.gz"
        with Recorder(session) as recorder:
            client = BinanceDataClient(parse_instruments(json.loads(body)).instruments,
                                       ws_url=endpoint.ws_url, rest_url=endpoint.rest_url,
                                       http=http, recorder=recorder,
                                       backoff=Backoff(initial_s=0.01))  # fmt: skip
            await client.add_symbols(list(SYMBOLS))
            runner = asyncio.create_task(client.run())
            await asyncio.sleep(RECORD_S)
            await client.close()
            await asyncio.wait_for(runner, timeout=5)
    return ReplaySource("binance", (session,), "arbcore", capture)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> ReplaySource:
    return asyncio.run(_record(tmp_path_factory.mktemp("metrics-bench")))


_runs = itertools.count()


def _replay(source: ReplaySource, folder: Path, metered: bool) -> Engine:
    config = load_config(ROOT / "config" / "demo.toml", {})
    storage = attrs.evolve(config.system.storage, path=str(folder / f"run{next(_runs)}.db"),
                           synchronous="NORMAL")  # fmt: skip
    engine = (MeteredEngine if metered else Engine)(
        attrs.evolve(config, system=attrs.evolve(config.system, storage=storage))
    )
    if metered:
        registry = registry_for(Sources(engine))
        inner = engine._on_book

        def on_book(venue: str) -> Any:  # the engine's callback, plus a scrape now and then
            callback = inner(venue)

            def scraping(symbol: str, book: Any) -> None:
                callback(symbol, book)
                if engine.stats.book_updates % SCRAPE_EVERY == 0:
                    render(registry)

            return scraping

        engine._on_book = on_book  # type: ignore[method-assign]
    asyncio.run(backtest(engine, [source], seed=1))
    return engine


def _timed(source: ReplaySource, folder: Path, metered: bool) -> float:
    started = time.perf_counter()
    _replay(source, folder, metered)
    return time.perf_counter() - started


def test_metrics_overhead_ratio(session: ReplaySource, tmp_path: Path) -> None:
    """Alternate off/on runs in one process; the ratio of medians, printed and bounded."""
    plain = _replay(session, tmp_path, metered=False)
    metered = _replay(session, tmp_path, metered=True)
    assert plain.stats.trades == metered.stats.trades > 0  # the same decisions either way
    decisions = len(metered.stats.latencies_ns)
    assert metered.metrics.latency.count == decisions > 0  # type: ignore[attr-defined]
    off, on = [], []
    for _ in range(ROUNDS):
        off.append(_timed(session, tmp_path, metered=False))
        on.append(_timed(session, tmp_path, metered=True))
    ratio = statistics.median(on) / statistics.median(off)
    per_decision_ns = _wiring_cost_ns()
    p50_ns = statistics.median(metered.stats.latencies_ns)
    print(f"\nbacktest of {plain.stats.book_updates} book updates, {decisions} decisions, "
          f"{plain.stats.trades} trades: metrics off {statistics.median(off) * 1e3:.1f} ms, "
          f"on {statistics.median(on) * 1e3:.1f} ms (median of {ROUNDS}); ratio {ratio:.3f}\n"
          f"per decision the wiring costs {per_decision_ns:.0f} ns, the decision itself "
          f"takes {p50_ns / 1e3:.1f} us (p50): {per_decision_ns / p50_ns:.2%} of it")  # fmt: skip
    assert ratio < 1.25  # generous for a noisy shared machine; the report quotes the number


@pytest.mark.parametrize("metered", [False, True], ids=["metrics-off", "metrics-on"])
def test_backtest(benchmark: Any, session: ReplaySource, tmp_path: Path, metered: bool) -> None:
    benchmark.group = "engine backtest, metrics off vs on"
    engine = benchmark.pedantic(_replay, args=(session, tmp_path, metered), rounds=ROUNDS,
                                iterations=1, warmup_rounds=1)  # fmt: skip
    assert engine.stats.trades > 0


def _wiring_cost_ns(repeats: int = 200_000) -> float:
    """ns per decision of exactly what the wired-in engine adds: one counter increment by
    (kind, venue) and one histogram sample (the best of five runs)."""
    metrics = DecisionMetrics()
    detected, observe = metrics.detected, metrics.latency.observe_ns
    kind, venue = "triangular", "binance"
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter_ns()
        for elapsed in range(repeats):
            detected[kind, venue] += 1
            observe(elapsed)
        best = min(best, (time.perf_counter_ns() - started) / repeats)
    return best


def test_latency_observe(benchmark: Any) -> None:
    """One histogram sample: what the decision path pays per decision."""
    histogram = LatencyHistogram()
    observe = histogram.observe_ns
    samples = [1_000 + 37 * i for i in range(1_000)]

    def thousand() -> None:
        for sample in samples:
            observe(sample)

    benchmark.group = "metrics hot path (per 1000 samples)"
    benchmark(thousand)
    assert histogram.count >= 1_000
