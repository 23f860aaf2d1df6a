"""The simulator's Binance traffic through arbcore's own Binance parsing and sync.

Exactly the code the real recordings pass (``BinanceBookFeed`` + ``BookSync`` by the U/u rule,
``parse_instruments`` for exchangeInfo) must read the simulator's frames and bodies: zero gaps,
every bookTicker equal to the book at its update id, and the local book equal to the engine's.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from arbcore.exchanges.binance.data import BinanceBookFeed
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import replay
from arbcore.marketdata.records import Record
from arbcore.model import OrderSide, OrderType
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.venues.binance import BinanceServer, shapes
from arbcore_ext.book import ASK, BID

VECTORS_KEYS = {  # top-level keys of the documentation's examples (shared/data/vectors/binance)
    "depth": {"lastUpdateId", "bids", "asks"},
    "update": ["e", "E", "s", "U", "u", "b", "a"],
}


def _get(app: BinanceServer, path: str) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get(path)

    return asyncio.run(fetch())


def test_exchange_info_parses_back_to_the_simulators_instruments(config: SimConfig) -> None:
    sim = Simulator(config, autostep=False)
    server = sim.servers["binance"]
    assert isinstance(server, BinanceServer)
    body = _get(server, "/api/v3/exchangeInfo").json()
    parsed = parse_instruments(body)
    assert parsed.skipped == ()
    assert parsed.by_symbol() == {i.symbol: i for i in sim.venues["binance"].instruments}
    assert [f["filterType"] for f in body["symbols"][0]["filters"]][:2] == [
        "PRICE_FILTER", "LOT_SIZE",
    ]  # fmt: skip


def test_simulated_frames_sync_through_the_binance_feed_with_zero_gaps(config: SimConfig) -> None:
    sim = Simulator(config, autostep=False)
    server = sim.servers["binance"]
    assert isinstance(server, BinanceServer)
    venue = sim.venues["binance"]
    natives = [i.native_symbol.lower() for i in venue.instruments]
    subscriber = server.hub.join()
    subscriber.streams.update(f"{n}@depth@100ms" for n in natives)
    subscriber.streams.update(f"{n}@bookTicker" for n in natives)
    records: list[Record] = []

    def frames() -> None:
        while not subscriber.queue.empty():
            frame = subscriber.queue.get_nowait()
            assert frame is not None
            text = server.wire(frame, combined=True)
            records.append(Record(kind="ws", ts_ns=0, payload=text.encode()))

    for step in range(60):
        sim.step()
        frames()
        if step == 10:  # snapshots arrive while deltas are already buffered, as live
            for native in natives:
                url = f"/api/v3/depth?symbol={native.upper()}&limit=1000"
                body = _get(server, url).content
                assert set(json.loads(body)) == VECTORS_KEYS["depth"]
                records.append(Record(kind="rest", ts_ns=0, payload=body, url="http://sim" + url))
        if step % 7 == 3:  # accounts trade too: takers, resting orders the market runs over
            engine = venue.engines["BTC/USDT"]
            best_ask = engine.best(ASK)
            assert best_ask is not None
            engine.place("trader", OrderSide.BUY, OrderType.MARKET, 5_000_000)
            engine.place("trader", OrderSide.BUY, OrderType.LIMIT, 1_000_000,
                         price_raw=best_ask - 500)  # fmt: skip
    server.publish()  # what the last orders changed
    frames()
    update = json.loads(next(r.payload for r in records if b"depthUpdate" in r.payload))
    assert list(update["data"]) == VECTORS_KEYS["update"]

    feed = BinanceBookFeed(SymbolMap.of("binance", venue.instruments))
    report = replay(records, feed)
    assert report.malformed == 0
    assert set(report.books) == set(config.symbols)
    for symbol, book in report.books.items():
        counters = book.sync.counters
        assert (counters.gaps, counters.resyncs, counters.crossed) == (0, 0, 0), symbol
        assert counters.updates >= 40
        assert book.bbo_matches > 0
        assert book.bbo_mismatches == 0
        engine = venue.engines[symbol]
        assert book.sync.book_id == engine.update_id
        bids, bid_sizes, asks, ask_sizes = book.sync.book.top(1000)
        assert list(zip(bids.tolist(), bid_sizes.tolist(), strict=True)) == engine.levels(BID)
        assert list(zip(asks.tolist(), ask_sizes.tolist(), strict=True)) == engine.levels(ASK)


def test_decimal_text_writes_binance_places() -> None:
    assert shapes.decimal_text(6173763, 2) == "61737.63000000"
    assert shapes.decimal_text(54321, 10) == "0.0000054321"
    assert shapes.decimal_text(0, 0) == "0.00000000"
