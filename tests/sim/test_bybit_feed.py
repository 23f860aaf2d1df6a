"""The simulator's Bybit traffic through arbcore's own Bybit parsing and sync.

Exactly the code the real recordings pass (``BybitBookFeed`` + ``BookSync`` by ``BybitRule``,
``parse_instruments`` for instruments-info) must read the simulator's frames and bodies: a
snapshot after the subscribe, then deltas whose ``u`` runs on by one, zero gaps, and the local
book equal to the engine's (its top 50 on ``orderbook.50``); the REST book lines up with the
1000-level stream by ``u``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import attrs
import httpx
import pytest

from arbcore.exchanges.bybit.data import BybitBookFeed
from arbcore.exchanges.bybit.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, replay
from arbcore.marketdata.records import Record
from arbcore.model import OrderSide, OrderType
from arbcore.sim import MarketConfig, SimConfig, Simulator
from arbcore.sim.venues.bybit import BybitServer
from arbcore.testing.simwire import queued_texts
from arbcore_ext.book import ASK, BID


@pytest.fixture
def bybit(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("bybit",))


def _get(server: BybitServer, path: str) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get(path)

    return asyncio.run(fetch())


def _server(sim: Simulator) -> BybitServer:
    server = sim.servers["bybit"]
    assert isinstance(server, BybitServer)
    return server


def test_instruments_info_parses_back_to_the_simulators_instruments(
    bybit: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(bybit, autostep=False)
    body = _get(_server(sim), "/v5/market/instruments-info?category=spot").json()
    parsed = parse_instruments(body)
    assert parsed.skipped == ()
    assert parsed.by_symbol() == {i.symbol: i for i in sim.venues["bybit"].instruments}
    example = json.loads((shared_data / "vectors/bybit/instruments_info_spot_response.json")
                         .read_text())  # fmt: skip
    assert list(body) == list(example)
    documented = example["result"]["list"][0]
    entry = body["result"]["list"][0]
    assert set(documented) - {"symbolId"} <= set(entry)
    assert list(entry["lotSizeFilter"]) == list(documented["lotSizeFilter"])


def _records(sim: Simulator, depth: int, steps: int, *, rest_at: int | None = None) -> list[Record]:
    """Frames of a connection subscribed to ``orderbook.<depth>`` of every market while the
    market steps and an account trades; the REST book of each market at ``rest_at``."""
    server = _server(sim)
    venue = sim.venues["bybit"]
    sim.step()  # as Simulator.start does: books are never empty
    subscriber = server.hub.join()
    args = [f"orderbook.{depth}.{i.native_symbol}" for i in venue.instruments]
    server.answer(subscriber, json.dumps({"req_id": "1", "op": "subscribe", "args": args}))
    records: list[Record] = []

    def frames() -> None:
        records.extend(Record(kind="ws", ts_ns=0, payload=text.encode())
                       for text in queued_texts(subscriber))  # fmt: skip

    for step in range(steps):
        sim.step()
        frames()
        if step == rest_at:
            for instrument in venue.instruments:
                url = f"/v5/market/orderbook?category=spot&symbol={instrument.native_symbol}"
                body = _get(server, url + "&limit=1000").content
                records.append(Record(kind="rest", ts_ns=0, payload=body, url="http://sim" + url))
        if step % 7 == 3:  # accounts trade too: takers, resting orders the market runs over
            engine = venue.engines["BTC/USDT"]
            best_ask = engine.best(ASK)
            assert best_ask is not None
            engine.place("trader", OrderSide.BUY, OrderType.MARKET, 5_000)
            engine.place("trader", OrderSide.BUY, OrderType.LIMIT, 1_000, price_raw=best_ask - 500)
    server.publish()
    frames()
    return records


def _assert_in_step(sim: Simulator, report: ReplayReport, depth: int, snapshots: int = 1) -> None:
    assert report.malformed == 0
    assert set(report.books) == set(sim.config.symbols)
    for symbol, book in report.books.items():
        counters = book.sync.counters
        assert (counters.gaps, counters.resyncs, counters.crossed) == (0, 0, 0), symbol
        assert (counters.snapshots, counters.skipped) == (snapshots, 0)
        assert counters.updates > 20
        engine = sim.venues["bybit"].engines[symbol]
        bids, bid_sizes, asks, ask_sizes = book.sync.book.top(1000)
        bid_levels = list(zip(bids.tolist(), bid_sizes.tolist(), strict=True))
        ask_levels = list(zip(asks.tolist(), ask_sizes.tolist(), strict=True))
        assert bid_levels == engine.levels(BID, depth)
        assert ask_levels == engine.levels(ASK, depth)


def test_simulated_frames_sync_through_the_bybit_feed_with_zero_gaps(bybit: SimConfig) -> None:
    sim = Simulator(bybit, autostep=False)
    records = _records(sim, 50, 60)
    ack = json.loads(records[0].payload)
    assert (ack["success"], ack["op"], ack["req_id"]) == (True, "subscribe", "1")
    first = json.loads(records[1].payload)
    assert first["type"] == "snapshot"
    delta = json.loads(next(r.payload for r in records if b'"type":"delta"' in r.payload))
    assert list(delta) == ["topic", "ts", "type", "data", "cts"]
    assert list(delta["data"]) == ["s", "b", "a", "u", "seq"]
    deltas = [json.loads(r.payload)["data"] for r in records
              if b'"type":"delta"' in r.payload and b"BTCUSDT" in r.payload]  # fmt: skip
    start = first["data"]["u"] + 1
    assert [d["u"] for d in deltas] == list(range(start, start + len(deltas)))  # one by one
    feed = BybitBookFeed(SymbolMap.of("bybit", sim.venues["bybit"].instruments))
    _assert_in_step(sim, replay(records, feed), 50)


def test_orderbook_50_keeps_the_top_50_of_a_deeper_book(bybit: SimConfig) -> None:
    deep = attrs.evolve(bybit, market=attrs.evolve(bybit.market, levels=70))
    sim = Simulator(deep, autostep=False)
    records = _records(sim, 50, 30)
    assert len(sim.venues["bybit"].engines["ETH/USDT"].levels(BID)) > 50
    feed = BybitBookFeed(SymbolMap.of("bybit", sim.venues["bybit"].instruments))
    _assert_in_step(sim, replay(records, feed), 50)


def test_rest_book_lines_up_with_the_1000_level_stream(bybit: SimConfig) -> None:
    sim = Simulator(bybit, autostep=False)
    records = _records(sim, 1000, 30, rest_at=12)
    feed = BybitBookFeed(SymbolMap.of("bybit", sim.venues["bybit"].instruments))
    _assert_in_step(sim, replay(records, feed), 1000, snapshots=2)


def test_orderbook_1_is_top_of_book_snapshots_only(bybit: SimConfig) -> None:
    sim = Simulator(attrs.evolve(bybit, market=MarketConfig(volatility_bps=2.0)), autostep=False)
    records = _records(sim, 1, 10)
    messages = [json.loads(r.payload) for r in records[1:]]
    assert {m["type"] for m in messages} == {"snapshot"}
    assert all(len(m["data"]["b"]) == len(m["data"]["a"]) == 1 for m in messages)
    feed = BybitBookFeed(SymbolMap.of("bybit", sim.venues["bybit"].instruments))
    quotes = [e for r in records for e in feed.parse_ws(r.payload, 0)]
    engine = sim.venues["bybit"].engines["ETH/BTC"]
    last = next(q for q in reversed(quotes) if q.symbol == "ETH/BTC")
    assert [(last.bid_price, last.bid_size)] == engine.levels(BID, 1)
    assert [(last.ask_price, last.ask_size)] == engine.levels(ASK, 1)


def test_orderbook_1_is_sent_again_after_3_seconds_without_change(bybit: SimConfig) -> None:
    now = [1_700_000_000 * 10**9]
    sim = Simulator(bybit, autostep=False, clock=lambda: now[0])
    server = _server(sim)
    sim.step()
    subscriber = server.hub.join()
    server.answer(
        subscriber, '{"op":"subscribe","args":["orderbook.1.ETHBTC","orderbook.50.ETHBTC"]}'
    )
    now[0] += 2 * 10**9
    server.publish()  # nothing changed, not yet 3 s: nothing sent
    now[0] += 10**9
    server.publish()
    ack, top, deep, again = (json.loads(text) for text in queued_texts(subscriber))
    assert ack["op"] == "subscribe"
    assert (top["topic"], deep["topic"], again["topic"]) == (
        "orderbook.1.ETHBTC", "orderbook.50.ETHBTC", "orderbook.1.ETHBTC")  # fmt: skip
    assert again["type"] == "snapshot"
    assert (again["data"], again["ts"] - top["ts"]) == (top["data"], 3000)  # same u, 3 s later
