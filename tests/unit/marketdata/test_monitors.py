"""Quality monitor, health monitor and the REST cache."""

from __future__ import annotations

import asyncio

import pytest

from arbcore.marketdata.cache import TTLCache
from arbcore.marketdata.health import HealthMonitor
from arbcore.marketdata.quality import QualityMonitor
from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, BookEventKind, Quote
from arbcore.net.ws import ConnectionCounters
from arbcore_ext.book import L2Book


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000_000_000

    def __call__(self) -> int:
        return self.now


def _synced(symbol: str = "BTC/USDT") -> BookSync:
    sync = BookSync("binance", symbol, L2Book(2, 8), RangeRule())
    sync.on_event(
        BookEvent(
            venue="binance",
            symbol=symbol,
            kind=BookEventKind.SNAPSHOT,
            sides=[0, 1],
            prices=[10000, 10002],
            sizes=[5, 5],
            first_seq=10,
            last_seq=10,
        )
    )
    return sync


def _move(sync: BookSync, bid: int, ask: int, seq: int) -> None:
    sync.book.clear()
    sync.book.set_level(0, bid, 5)
    sync.book.set_level(1, ask, 5)
    sync.book_id = seq


def test_quality_flags_staleness_spikes_and_bbo_mismatch() -> None:
    clock = Clock()
    monitor = QualityMonitor(stale_after_s=2.0, spike_sigma=6.0, min_returns=20, clock=clock)
    sync = _synced()
    monitor.watch(sync)
    assert not monitor.tradable("BTC/USDT")  # never updated yet
    price = 10000
    for step in range(40):  # small alternating moves: sigma ~ 1 tick
        price += 1 if step % 2 else -1
        _move(sync, price, price + 2, 11 + step)
        assert monitor.on_update(
            "BTC/USDT", ts_event_ns=clock.now - 3_000_000, ts_recv_ns=clock.now
        )
    assert monitor.tradable("BTC/USDT")
    _move(sync, 10500, 10502, 60)  # a 5 % jump: dozens of sigmas
    assert monitor.on_update("BTC/USDT") is False
    monitor.on_quote(Quote(venue="binance", symbol="BTC/USDT", bid_price=10500, bid_size=5,
                           ask_price=10502, ask_size=5, update_id=60))  # fmt: skip
    monitor.on_quote(Quote(venue="binance", symbol="BTC/USDT", bid_price=10499, bid_size=5,
                           ask_price=10502, ask_size=5, update_id=60))  # fmt: skip
    monitor.on_quote(
        Quote(
            venue="binance",
            symbol="BTC/USDT",
            bid_price=1,
            bid_size=5,
            ask_price=2,
            ask_size=5,
            update_id=61,
        )
    )  # another update: not compared
    clock.now += 3_000_000_000
    report = monitor.report("BTC/USDT")
    assert (report.spikes, report.bbo_matches, report.bbo_mismatches) == (1, 1, 1)
    assert report.stale
    assert not report.tradable
    assert report.latency_p50_ms == pytest.approx(3.0)


def test_health_rates_reconnects_and_rest_latency() -> None:
    now = [100.0]
    counters = ConnectionCounters(connects=1)
    monitor = HealthMonitor(clock=lambda: now[0])
    monitor.register("binance", counters, lambda: True)
    counters.messages_in += 500
    counters.connects += 1
    counters.last_message_ns = 5_000_000_000
    now[0] += 10.0
    monitor.sample()
    for latency in (0.010, 0.020, 0.030):
        monitor.record_rest("binance", latency)
    monitor.record_rest("binance", 1.0, ok=False)
    health = monitor.health("binance", now_ns=6_000_000_000)
    assert health.messages_per_s == pytest.approx(50.0)
    assert health.reconnects == 1
    assert health.rest_latency_p50_s == pytest.approx(0.030)
    assert health.rest_failures == 1
    assert health.seconds_since_message == pytest.approx(1.0)


def test_cache_expires_evicts_and_shares_one_fetch() -> None:
    now = [0.0]
    cache: TTLCache[str] = TTLCache(maxsize=2, ttl_s=10.0, clock=lambda: now[0])
    cache.set("a", "A")
    cache.set("b", "B")
    assert cache.get("a") == "A"
    cache.set("c", "C")  # "b" is least recently used now
    assert cache.get("b") is None
    assert cache.stats.evicted == 1
    now[0] = 11.0
    assert cache.get("a") is None
    assert cache.stats.expired == 1

    calls = []

    async def fetch() -> str:
        calls.append(1)
        await asyncio.sleep(0.01)
        return "fresh"

    async def many() -> list[str]:
        return await asyncio.gather(*(cache.get_or_fetch("k", fetch) for _ in range(5)))

    assert asyncio.run(many()) == ["fresh"] * 5
    assert calls == [1]
    assert cache.get("k") == "fresh"
