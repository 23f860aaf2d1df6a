"""What metrics cost the engine: a backtest unscraped and scraped, side by side, and the
per-decision cost of what the engine records itself.

A Binance-protocol session is recorded once from the seeded simulator (dislocations on, so the
triangular strategy finds and trades opportunities), then replayed through the whole engine
(parse, sync, strategies, orchestrator, risk, shadow execution, audit) by
:func:`arbcore.backtest.backtest`: once as it is, once while a scrape renders ``/metrics`` every
200 book updates (real Prometheus scrapes every 15 s: far rarer). The engine always keeps its
:class:`~arbcore.observability.metrics.DecisionMetrics` (an opportunity counter and a latency
histogram sample per decision); what those two lines cost per decision is timed on their own
(:func:`_wiring_cost_ns`) and set against the decision's own latency.

``test_metrics_overhead_ratio`` runs both alternately in one process and prints the ratio of
the medians (target: under 1.05). Run timed::

    PYTHONPATH=. python -m pytest benches/bench_metrics.py --benchmark-enable -p no:cacheprovider -s
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from engine_world import (
    Arrival,
    Run,
    SimStream,
    demo_config,
    engine_for,
    engine_handler,
    paced,
    sim_stream,
)

from arbcore.backtest import ReplaySource, backtest
from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.exchanges.binance.data import BinanceDataClient
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.marketdata.recorder import Recorder
from arbcore.net.ws import Backoff
from arbcore.observability.events import TOPICS, Subscription
from arbcore.observability.metrics import (
    DecisionMetrics,
    LatencyHistogram,
    Sources,
    registry_for,
    render,
)
from arbcore.observability.publish import QUOTE_INTERVAL_S
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.market import MarketConfig
from arbcore.storage.audit import AuditTrail

ROOT = Path(__file__).resolve().parents[1]
SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
RECORD_S = 4.0
SCRAPE_EVERY = 200  # book updates between two renders of /metrics in the scraped run
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


def _replay(source: ReplaySource, folder: Path, scraped: bool) -> Engine:
    config = load_config(ROOT / "config" / "demo.toml", {})
    storage = attrs.evolve(config.system.storage, path=str(folder / f"run{next(_runs)}.db"),
                           synchronous="NORMAL")  # fmt: skip
    engine = Engine(attrs.evolve(config, system=attrs.evolve(config.system, storage=storage)))
    if scraped:
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


def _timed(source: ReplaySource, folder: Path, scraped: bool) -> float:
    started = time.perf_counter()
    _replay(source, folder, scraped)
    return time.perf_counter() - started


def test_metrics_overhead_ratio(session: ReplaySource, tmp_path: Path) -> None:
    """Alternate unscraped/scraped runs in one process; the ratio of medians, printed and
    bounded; and the engine's own per-decision recording against the decision's latency."""
    plain = _replay(session, tmp_path, scraped=False)
    scraped = _replay(session, tmp_path, scraped=True)
    assert plain.stats.trades == scraped.stats.trades > 0  # the same decisions either way
    decisions = len(scraped.stats.latencies_ns)
    assert scraped.metrics.latency.count == decisions > 0
    off, on = [], []
    for _ in range(ROUNDS):
        off.append(_timed(session, tmp_path, scraped=False))
        on.append(_timed(session, tmp_path, scraped=True))
    ratio = statistics.median(on) / statistics.median(off)
    per_decision_ns = _wiring_cost_ns()
    p50_ns = statistics.median(scraped.stats.latencies_ns)
    print(f"\nbacktest of {plain.stats.book_updates} book updates, {decisions} decisions, "
          f"{plain.stats.trades} trades: unscraped {statistics.median(off) * 1e3:.1f} ms, "
          f"scraped {statistics.median(on) * 1e3:.1f} ms (median of {ROUNDS}); ratio "
          f"{ratio:.3f}\n"
          f"per decision the wiring costs {per_decision_ns:.0f} ns, the decision itself "
          f"takes {p50_ns / 1e3:.1f} us (p50): {per_decision_ns / p50_ns:.2%} of it")  # fmt: skip
    assert ratio < 1.25  # generous for a noisy shared machine; the report quotes the number


@pytest.mark.parametrize("scraped", [False, True], ids=["unscraped", "scraped"])
def test_backtest(benchmark: Any, session: ReplaySource, tmp_path: Path, scraped: bool) -> None:
    benchmark.group = "engine backtest, /metrics unscraped vs scraped every 200 updates"
    engine = benchmark.pedantic(_replay, args=(session, tmp_path, scraped), rounds=ROUNDS,
                                iterations=1, warmup_rounds=1)  # fmt: skip
    assert engine.stats.trades > 0


def _wiring_cost_ns(repeats: int = 200_000) -> float:
    """ns per decision of exactly what the engine records for metrics: one counter increment
    by (kind, venue) and one histogram sample (the best of five runs)."""
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


# -- the event streams: the decision path with and without listeners ---------------------------

#: paced runs (engine_world's seeded four-venue stream): messages per run, enabled / smoke
LISTENED_MESSAGES, LISTENED_SMOKE = 30_000, 1_500
LISTENED_RATES: tuple[float | None, ...] = (10_000, None)


async def _listened_run(stream: SimStream, rate: float | None, folder: Path,
                        listeners: int) -> tuple[Run, int]:  # fmt: skip
    """engine_world's paced run, with ``listeners`` subscribers of every topic draining their
    queues as a stream client does; the run and the events published."""
    config = demo_config(folder / f"listened-{next(_runs)}.db")
    with AuditTrail(config.system.storage.path, synchronous="NORMAL") as audit:
        engine = engine_for(stream, audit, config)
        subscriptions = [engine.events.subscribe(TOPICS) for _ in range(listeners)]

        async def drain(subscription: Subscription) -> None:
            async for _ in subscription:
                pass

        readers = [asyncio.create_task(drain(s)) for s in subscriptions]
        arrival = Arrival()
        engine.arrival_ns = arrival
        run = await paced(engine_handler(engine), stream.deltas, rate, arrival,
                          decisions=lambda: engine.stats.latencies_ns,
                          pending=lambda: len(engine._trades))  # fmt: skip
        if engine._trades:
            await asyncio.gather(*engine._trades, return_exceptions=True)
        await asyncio.sleep(2 * QUOTE_INTERVAL_S)  # the last coalesced quotes
        for subscription in subscriptions:
            subscription.close()
        await asyncio.gather(*readers)
    return run, engine.events.published


def _label(rate: float | None) -> str:
    return "back to back" if rate is None else f"{rate / 1000:,.0f}k msgs/s"


@pytest.mark.parametrize("rate", LISTENED_RATES, ids=_label)
@pytest.mark.parametrize("listeners", [0, 3], ids=["no-listener", "3-listeners"])
def test_decision_path_with_stream_listeners(benchmark: Any, tmp_path: Path, listeners: int,
                                             rate: float | None) -> None:  # fmt: skip
    """The engine's decision path (bench_engine's paced stream) while nobody listens to the
    event hub, and while three subscribers of every topic drain it (the control API's streams):
    the decisions are the same, and the latency quantiles land in ``extra_info``."""
    stream = sim_stream(LISTENED_SMOKE if benchmark.disabled else LISTENED_MESSAGES)
    runs: list[tuple[Run, int]] = []
    benchmark.group = f"decision path with stream listeners: {_label(rate)}"
    benchmark.pedantic(lambda: runs.append(asyncio.run(_listened_run(stream, rate, tmp_path,
                                                                     listeners))),
                       rounds=1, iterations=1)  # fmt: skip
    run, published = runs[-1]
    assert len(run.decisions_ns) > 0
    assert (published > 0) == (listeners > 0)  # nothing is built while nobody listens
    benchmark.extra_info.update(
        listeners=listeners, published=published,
        decision_p50_us=run.quantile_us(run.decisions_ns, 0.5),
        decision_p99_us=run.quantile_us(run.decisions_ns, 0.99),
        handled_p50_us=run.quantile_us(run.handled_ns, 0.5),
        handled_p99_us=run.quantile_us(run.handled_ns, 0.99), messages_per_s=run.rate,
    )  # fmt: skip


def main() -> None:
    """Alternate runs without and with three listeners (five each per rate): the medians of
    their decision and handled quantiles, printed as a table (docs/observability.md)."""
    logging.disable(logging.WARNING)
    stream = sim_stream(LISTENED_MESSAGES)
    print("| offered | listeners | decision p50 / p99 (us) | handled p50 / p99 (us) | msgs/s "
          "| events |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for rate in LISTENED_RATES:
            rows: dict[int, list[tuple[Run, int]]] = {0: [], 3: []}
            for _ in range(5):
                for listeners, runs in rows.items():
                    runs.append(asyncio.run(_listened_run(stream, rate, Path(folder), listeners)))
            for listeners, runs in rows.items():
                cells = [
                    statistics.median(r.quantile_us(getattr(r, field), q) for r, _ in runs)
                    for field in ("decisions_ns", "handled_ns")
                    for q in (0.5, 0.99)
                ]
                print(f"| {_label(rate)} | {listeners} | {cells[0]:.1f} / {cells[1]:.1f} | "
                      f"{cells[2]:.1f} / {cells[3]:.1f} | "
                      f"{statistics.median(r.rate for r, _ in runs):,.0f} | "
                      f"{statistics.median(p for _, p in runs):,.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
