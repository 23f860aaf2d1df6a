"""The simulator's Gate.io traffic through arbcore's own Gate.io parsing and sync.

Exactly the code the real recordings pass (``GateioBookFeed`` + ``BookSync`` by Gate's U/u rule
against the REST ``id``, ``parse_instruments`` for the pair list) must read the simulator's
frames and bodies: zero gaps and the local book equal to the engine's, for the legacy
``spot.order_book_update`` and for Order Book V2 (``spot.obu``), whose depth-limited view ends
equal to the engine's top levels.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from arbcore.exchanges.gateio.data import GateioBookFeed
from arbcore.exchanges.gateio.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import BookReport, replay
from arbcore.marketdata.records import Record
from arbcore.model import OrderSide, OrderType
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.engine import MatchingEngine
from arbcore.sim.stream import Subscriber
from arbcore.sim.venues.gateio import GateioServer
from arbcore_ext.book import ASK, BID


@pytest.fixture
def gateio(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("gateio",))


def _server(sim: Simulator) -> GateioServer:
    server = sim.servers["gateio"]
    assert isinstance(server, GateioServer)
    return server


def _get(server: GateioServer, path: str) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get(path)

    return asyncio.run(fetch())


def _vector(shared_data: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((shared_data / "vectors/gateio" / name).read_text())
    return loaded


def _drain(subscriber: Subscriber, records: list[Record]) -> None:
    while not subscriber.queue.empty():
        frame = subscriber.queue.get_nowait()
        assert frame is not None
        records.append(Record(kind="ws", ts_ns=0, payload=frame.text.encode()))


def _assert_book(book: BookReport, engine: MatchingEngine, depth: int | None = None) -> None:
    """The replayed book holds the engine's levels (top ``depth``) at the book's scales."""
    price_scale = 10 ** (book.instrument.price_decimals - engine.instrument.price_decimals)
    size_scale = 10 ** (book.instrument.size_decimals - engine.instrument.size_decimals)
    bids, bid_sizes, asks, ask_sizes = book.sync.book.top(1000)
    for side, prices, sizes in ((BID, bids, bid_sizes), (ASK, asks, ask_sizes)):
        expected = [(p * price_scale, s * size_scale) for p, s in engine.levels(side, depth)]
        assert list(zip(prices.tolist(), sizes.tolist(), strict=True)) == expected


def test_currency_pairs_parse_back_to_the_simulators_instruments(
    gateio: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(gateio, autostep=False)
    body = _get(_server(sim), "/api/v4/spot/currency_pairs").json()
    parsed = parse_instruments(body)
    assert parsed.skipped == ()
    assert parsed.by_symbol() == {i.symbol: i for i in sim.venues["gateio"].instruments}
    assert list(body[0]) == list(_vector(shared_data, "rest_currency_pair.json")["response"])
    one = _get(_server(sim), "/api/v4/spot/currency_pairs/ETH_BTC").json()
    assert one == next(pair for pair in body if pair["id"] == "ETH_BTC")


def test_simulated_frames_sync_through_the_gateio_feed_with_zero_gaps(
    gateio: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(gateio, autostep=False)
    server = _server(sim)
    venue = sim.venues["gateio"]
    natives = [i.native_symbol for i in venue.instruments]
    subscriber = server.hub.join()
    subscriber.streams.update(f"spot.order_book_update:{n}:100ms" for n in natives)
    subscriber.streams.update(f"spot.book_ticker:{n}" for n in natives)
    records: list[Record] = []
    engine = venue.engines["BTC/USDT"]

    def resting_bid() -> None:
        best_bid = engine.best(BID)
        assert best_bid is not None
        engine.place("trader", OrderSide.BUY, OrderType.LIMIT, 1_000, price_raw=best_bid - 700)

    for step in range(60):
        sim.step()
        _drain(subscriber, records)
        if step == 10:  # snapshots arrive while deltas are already buffered, as live
            resting_bid()  # the snapshot's id covers it, the next update straddles it
            for native in natives:
                url = f"/api/v4/spot/order_book?currency_pair={native}&limit=100&with_id=true"
                body = _get(server, url).content
                records.append(Record(kind="rest", ts_ns=0, payload=body, url="http://sim" + url))
        if step % 7 == 3:  # accounts trade too: takers, resting orders the market runs over
            engine.place("trader", OrderSide.BUY, OrderType.MARKET, 5_000)
            resting_bid()
    server.publish()
    _drain(subscriber, records)

    documented = _vector(shared_data, "ws_order_book_update.json")["notification"]
    update = json.loads(next(r.payload for r in records if b'"depthUpdate"' in r.payload))
    assert list(update) == list(documented)
    assert set(update["result"]) == set(documented["result"]) - {"full", "l"}
    snapshot = json.loads(next(r.payload for r in records if r.kind == "rest"))
    assert list(snapshot) == list(_vector(shared_data, "rest_order_book.json")["response"])
    assert any(b"spot.book_ticker" in r.payload for r in records)

    feed = GateioBookFeed(SymbolMap.of("gateio", venue.instruments))
    report = replay(records, feed)
    assert report.malformed == 0
    assert set(report.books) == set(gateio.symbols)
    for symbol, book in report.books.items():
        counters = book.sync.counters
        assert (counters.gaps, counters.resyncs, counters.crossed) == (0, 0, 0), symbol
        assert counters.updates >= 40
        assert book.sync.book_id == venue.engines[symbol].update_id
        _assert_book(book, venue.engines[symbol])


def test_order_book_v2_snapshot_then_increments_hold_the_top_of_the_book(
    gateio: SimConfig, shared_data: Path
) -> None:
    deep = attrs.evolve(gateio, market=attrs.evolve(gateio.market, levels=70))
    sim = Simulator(deep, autostep=False)
    server = _server(sim)
    venue = sim.venues["gateio"]
    sim.step()
    subscriber = server.hub.join()
    subscribe = {"time": 1, "channel": "spot.obu", "event": "subscribe",
                 "payload": ["ob.BTC_USDT.50", "ob.ETH_BTC.400"]}  # fmt: skip
    server.answer(subscriber, json.dumps(subscribe))
    server.answer(subscriber, json.dumps(subscribe))  # the same streams again: refused
    records: list[Record] = []
    _drain(subscriber, records)
    ack, *snapshots, refusal = (json.loads(r.payload) for r in records)
    documented = _vector(shared_data, "ws_obu_v2.json")
    assert ack["result"] == documented["subscribe_ack"]["result"]
    full = list(documented["full_snapshot"]["result"])
    assert [list(snapshot["result"]) for snapshot in snapshots] == [full, full]
    assert (refusal["error"]["code"], refusal["result"]) == (2, {"status": "fail"})
    for _ in range(30):
        sim.step()
        _drain(subscriber, records)
    increments = [json.loads(r.payload)["result"] for r in records[4:]]
    assert list(increments[0]) == list(documented["incremental"]["result"])

    report = replay(records, GateioBookFeed(SymbolMap.of("gateio", venue.instruments)))
    assert report.malformed == 0
    for symbol, depth in (("BTC/USDT", 50), ("ETH/BTC", 400)):
        book = report.books[symbol]
        counters = book.sync.counters
        assert (counters.gaps, counters.resyncs, counters.snapshots) == (0, 0, 1), symbol
        assert counters.updates >= 20
        _assert_book(book, venue.engines[symbol], depth)
    assert len(venue.engines["BTC/USDT"].levels(BID)) > 50  # the view was cut at 50
