"""Prometheus metrics: the seed's names with real values from a real engine and real parts,
read at scrape time from the counters the parts keep, in a registry of their own."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import attrs
import httpx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.errors import ExchangeError
from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, BookEventKind
from arbcore.net.http import HttpClient, HttpRequest
from arbcore.net.ratelimit import BudgetSpec, RateLimiter
from arbcore.observability.alerts import read_engine
from arbcore.observability.metrics import (
    LATENCY_BUCKETS_S,
    ArbcoreCollector,
    LatencyHistogram,
    Sources,
    registry_for,
    render,
)
from arbcore.storage import RecordKind
from arbcore.storage.audit import read_records
from arbcore_ext.book import ASK, BID, L2Book

ROOT = Path(__file__).resolve().parents[2]
SEED_NAMES = (
    "arbitrage_opportunities_detected",
    "arbitrage_trades_executed",
    "arbitrage_profit_usd_total",
    "arbitrage_latency_seconds",
    "system_memory_usage_bytes",
    "system_cpu_usage_percent",
    "websocket_connections_active",
    "api_requests_per_second",
    "errors",
    "strategy_failures",
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(registry: CollectorRegistry) -> tuple[dict[str, str], Samples]:
    """Family name -> type, and (sample name, labels) -> value, parsed by prometheus_client."""
    families = list(text_string_to_metric_families(render(registry).decode()))
    types = {family.name: family.type for family in families}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in families for s in family.samples}  # fmt: skip
    return types, samples


def labelled(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: value for (sample, labels), value in samples.items()
            if sample == name}  # fmt: skip


# -- the latency histogram ----------------------------------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=3 * 10**9), max_size=200))
def test_latency_histogram_counts_like_prometheus_client(samples_ns: list[int]) -> None:
    ours = LatencyHistogram()
    oracle_registry = CollectorRegistry()
    oracle = Histogram("oracle", "", buckets=LATENCY_BUCKETS_S, registry=oracle_registry)
    for elapsed in samples_ns:
        ours.observe_ns(elapsed)
        oracle.observe(elapsed / 1e9)
    text = generate_latest(oracle_registry).decode()
    (family,) = [f for f in text_string_to_metric_families(text) if f.name == "oracle"]
    expected = {s.labels["le"]: s.value for s in family.samples if s.name == "oracle_bucket"}
    got = dict(ours.cumulative())
    assert [float(le) for le in got] == [float(le) for le in expected]
    assert list(got.values()) == list(expected.values())
    assert ours.count == len(samples_ns)
    assert ours.sum_ns == sum(samples_ns)


def test_latency_buckets_reach_down_to_one_microsecond() -> None:
    histogram = LatencyHistogram()
    for elapsed in (1_000, 1_001, 999, 10_000_000, 10_000_001):
        histogram.observe_ns(elapsed)
    cumulative = dict(histogram.cumulative())
    assert cumulative["1e-06"] == 2  # 999 and 1000 ns: "le" includes the bound
    assert cumulative["2e-06"] == 3
    assert cumulative["0.01"] == 4
    assert cumulative["+Inf"] == 5
    assert histogram.quantile_bound_s(0.5) == 2e-6
    assert histogram.quantile_bound_s(0.99) == 0.025
    assert LatencyHistogram().quantile_bound_s(0.99) == 0.0


def test_histogram_bounds_must_increase() -> None:
    with pytest.raises(ValueError, match="increasing"):
        LatencyHistogram((1e-3, 1e-6))


# -- a real engine on the simulator ------------------------------------------------------------


def test_a_real_engine_run_exposes_every_seed_metric_with_its_values(tmp_path: Path) -> None:
    config = load_config(ROOT / "config" / "demo.toml", {})
    storage = attrs.evolve(config.system.storage, path=str(tmp_path / "audit.db"))
    engine = Engine(attrs.evolve(config, system=attrs.evolve(config.system, storage=storage)))
    sources = Sources(engine)
    registry = registry_for(sources)
    venues = set(config.system.sim.venues) if config.system.sim else set()

    async def run() -> tuple[Samples, object]:
        task = asyncio.create_task(engine.run(5.0))
        await asyncio.sleep(4.0)
        _, during = scrape(registry)  # connections are open now
        reading = read_engine(sources)
        await asyncio.wait_for(task, 60)
        return during, reading

    during, reading = asyncio.run(run())
    types, samples = scrape(registry)
    for name in SEED_NAMES:
        assert name in types, name
    assert types["arbitrage_latency_seconds"] == "histogram"
    assert types["errors"] == "counter"
    stats = engine.stats
    assert stats.trades > 0
    detected = {(dict(labels)["kind"], dict(labels)["venue"]): value
                for (name, labels), value in samples.items()
                if name == "arbitrage_opportunities_detected_total"}  # fmt: skip
    # every opportunity found, by venue: those that reached a decision and those the
    # strategies' pre-checks dropped unbuilt, as the engine's own count by kind has them
    admitted = sum(1 for _ in read_records(tmp_path / "audit.db", RecordKind.OPPORTUNITY))
    assert 0 < admitted < sum(detected.values())
    for kind in stats.opportunities:
        by_kind = sum(v for (k, _), v in detected.items() if k == kind)
        assert by_kind == stats.opportunities[kind] > 0
    assert {venue for kind, venue in detected if kind == "triangular"} <= venues
    assert all("->" in venue for kind, venue in detected if kind == "cross_exchange")
    assert samples[("arbitrage_trades_executed_total", ())] == stats.trades
    assert samples[("arbitrage_profit_usd_total", ())] == pytest.approx(stats.pnl_usd)
    assert samples[("arbitrage_latency_seconds_count", ())] == len(stats.latencies_ns) > 0
    assert samples[("arbitrage_latency_seconds_sum", ())] == pytest.approx(
        sum(stats.latencies_ns) / 1e9
    )
    assert samples[("system_memory_usage_bytes", ())] > 10 * 2**20
    assert samples[("system_cpu_usage_percent", ())] >= 0
    assert labelled(during, "websocket_connections_active", "venue") == dict.fromkeys(venues, 1.0)
    assert set(labelled(during, "book_age_max_seconds", "venue")) == venues
    assert labelled(samples, "websocket_connections_active", "venue") == dict.fromkeys(venues, 0.0)
    assert labelled(samples, "risk_denials_total", "rule") == dict(engine.risk.refusals)
    assert samples[("leg_failures_total", ())] == stats.leg_failures
    errors = labelled(samples, "errors_total", "type")
    assert {"api_error", "network_error", "sequence_gap", "checksum_mismatch"} <= set(errors)
    assert set(labelled(samples, "book_resyncs_total", "venue")) == venues
    assert reading.venues_up == dict.fromkeys(venues, True)  # type: ignore[attr-defined]
    assert len(reading.mids) == 3 * len(venues)  # type: ignore[attr-defined]
    assert "arbitrage_trades_executed_total" not in generate_latest(REGISTRY).decode()


# -- real parts fed real data -------------------------------------------------------------------


def _event(kind: BookEventKind, first: int, last: int, bids: list[tuple[int, int]],
           asks: list[tuple[int, int]], received_ns: int = 0) -> BookEvent:  # fmt: skip
    levels = [(BID, p, q) for p, q in bids] + [(ASK, p, q) for p, q in asks]
    columns = list(zip(*levels, strict=True))
    sides, prices, sizes = (np.array(column, dtype=np.int64) for column in columns)
    return BookEvent(venue="binance", symbol="BTC/USDT", kind=kind, sides=sides.astype(np.int8),
                     prices=prices, sizes=sizes, first_seq=first, last_seq=last,
                     ts_recv_ns=received_ns)  # fmt: skip


def test_book_gaps_and_resyncs_are_read_from_the_sync_counters() -> None:
    resyncs: list[str] = []
    sync = BookSync("binance", "BTC/USDT", L2Book(2, 4), RangeRule(),
                    on_resync=lambda s: resyncs.append(s.symbol))  # fmt: skip
    sources = Sources()
    sources.add_sync(sync)
    registry = registry_for(sources)
    assert sync.on_event(_event(BookEventKind.SNAPSHOT, 10, 10, [(100, 5)], [(101, 5)]))
    two_seconds_ago = time.time_ns() - 2 * 10**9
    assert sync.on_event(_event(BookEventKind.DELTA, 11, 12, [(100, 6)], [(101, 4)],
                                received_ns=two_seconds_ago))  # fmt: skip
    _, samples = scrape(registry)
    assert labelled(samples, "books_stale", "venue") == {"binance": 0.0}
    assert labelled(samples, "book_age_max_seconds", "venue")["binance"] == pytest.approx(
        2, abs=0.5
    )
    assert labelled(samples, "errors_total", "type")["sequence_gap"] == 0
    assert not sync.on_event(_event(BookEventKind.DELTA, 20, 21, [(100, 7)], [(101, 3)]))  # gap
    _, samples = scrape(registry)
    assert resyncs == ["BTC/USDT"]
    assert labelled(samples, "errors_total", "type")["sequence_gap"] == 1
    assert labelled(samples, "book_resyncs_total", "venue") == {"binance": 1.0}
    assert labelled(samples, "books_stale", "venue") == {"binance": 1.0}
    assert labelled(samples, "book_age_max_seconds", "venue") == {}  # a stale book has no age


def test_rest_requests_errors_and_headroom_are_read_from_the_client() -> None:
    def venue(request: httpx.Request) -> httpx.Response:
        failing = request.url.path == "/fail"
        return httpx.Response(400 if failing else 200, json={"code": -1 if failing else 0})

    def check(response: httpx.Response) -> ExchangeError | None:
        return ExchangeError("refused", venue="okx") if response.status_code != 200 else None

    clock = [100.0]
    limiter = RateLimiter([BudgetSpec("requests", 10, 1.0)])
    client = HttpClient("okx", "http://venue", check=check, limiter=limiter,
                        transport=httpx.MockTransport(venue))  # fmt: skip
    sources = Sources()
    sources.add_http(client)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ArbcoreCollector(sources, clock=lambda: clock[0]))
    scrape(registry)  # the first scrape starts the rate's interval

    async def send() -> None:
        for path in ("/ok", "/ok", "/ok", "/fail"):
            with contextlib.suppress(ExchangeError):
                await client.send(HttpRequest(method="GET", path=path))
        await client.aclose()

    asyncio.run(send())
    clock[0] += 2.0
    _, samples = scrape(registry)
    assert labelled(samples, "api_requests_per_second", "venue") == {"okx": 2.0}  # 4 in 2 s
    assert labelled(samples, "errors_total", "type")["api_error"] == 1
    (headroom,) = [v for (name, _), v in samples.items() if name == "rate_limit_headroom_ratio"]
    assert headroom == pytest.approx(0.6)


def test_two_registries_do_not_share_anything() -> None:
    first, second = Sources(), Sources()
    sync = BookSync("kraken", "ETH/USD", L2Book(2, 4), RangeRule())
    first.add_sync(sync)
    _, one = scrape(registry_for(first))
    _, two = scrape(registry_for(second))
    assert labelled(one, "books_stale", "venue") == {"kraken": 1.0}
    assert labelled(two, "books_stale", "venue") == {}
