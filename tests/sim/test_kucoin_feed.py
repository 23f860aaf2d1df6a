"""The simulator's KuCoin traffic through arbcore's own KuCoin parsing and sync.

Exactly the code the real recordings pass (``KucoinBookFeed`` + ``KucoinBookSync`` by KuCoin's
sequence rules, ``parse_instruments`` for the symbols list) must read the simulator's frames and
bodies: zero gaps, every ticker equal to the book at its sequence, the local book equal to the
engine's, through both the fast single-sequence path and the multi-sequence path that trims the
rows a snapshot already holds.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import attrs
import httpx
import pytest

from arbcore.exchanges.kucoin.data import KucoinBookFeed
from arbcore.exchanges.kucoin.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import replay
from arbcore.marketdata.records import Record
from arbcore.model import OrderSide, OrderType
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.venues.kucoin import FIRST_SEQUENCE, KuCoinServer
from arbcore_ext.book import ASK, BID


@pytest.fixture
def kucoin(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("kucoin",))


def _get(server: KuCoinServer, path: str) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get(path)

    return asyncio.run(fetch())


def _server(sim: Simulator) -> KuCoinServer:
    server = sim.servers["kucoin"]
    assert isinstance(server, KuCoinServer)
    return server


def _keys(value: object) -> list[str]:
    assert isinstance(value, dict)
    return list(value)


def test_symbols_parse_back_to_the_simulators_instruments(
    kucoin: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(kucoin, autostep=False)
    body = _get(_server(sim), "/api/v2/symbols").json()
    parsed = parse_instruments(body)
    assert parsed.skipped == ()
    assert parsed.by_symbol() == {i.symbol: i for i in sim.venues["kucoin"].instruments}
    documented = json.loads((shared_data / "vectors/kucoin/symbols_response.json").read_text())
    assert _keys(body["data"][0]) == _keys(documented["data"][0])
    assert _get(_server(sim), "/api/v1/symbols").json() == body


def test_simulated_frames_sync_through_the_kucoin_feed_with_zero_gaps(
    kucoin: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(kucoin, autostep=False)
    server = _server(sim)
    venue = sim.venues["kucoin"]
    natives = [i.native_symbol for i in venue.instruments]
    subscriber = server.hub.join()
    subscriber.streams.update(f"/market/level2:{n}" for n in natives)
    subscriber.streams.update(f"/market/ticker:{n}" for n in natives)
    records: list[Record] = []
    engine = venue.engines["BTC/USDT"]
    snapshot_sequence = 0

    def frames() -> None:
        while not subscriber.queue.empty():
            frame = subscriber.queue.get_nowait()
            assert frame is not None
            records.append(Record(kind="ws", ts_ns=0, payload=frame.text.encode()))

    def resting_bid() -> None:
        best_bid = engine.best(BID)
        assert best_bid is not None
        engine.place("trader", OrderSide.BUY, OrderType.LIMIT, 1_000, price_raw=best_bid - 700)

    for step in range(60):
        sim.step()
        frames()
        if step == 10:  # snapshots arrive while deltas are already buffered, as live
            resting_bid()  # changed, not published: the snapshot stamps it
            for native in natives:
                url = f"/api/v1/market/orderbook/level2_100?symbol={native}"
                body = _get(server, url).content
                records.append(Record(kind="rest", ts_ns=0, payload=body, url="http://sim" + url))
                if native == "BTC-USDT":
                    snapshot_sequence = int(json.loads(body)["data"]["sequence"])
        if step % 7 == 3:  # accounts trade too: takers, resting orders the market runs over
            resting_bid()
            server.publish()  # on its own: the one changed level is one sequence
            frames()
            engine.place("trader", OrderSide.BUY, OrderType.MARKET, 5_000)
    server.publish()
    frames()

    updates = [json.loads(r.payload) for r in records if b"trade.l2update" in r.payload]
    documented = json.loads((shared_data / "vectors/kucoin/level2_update.json").read_text())
    assert _keys(updates[0]) == _keys(documented)
    assert _keys(updates[0]["data"]) == _keys(documented["data"])
    spans = [(u["data"]["symbol"], u["data"]["sequenceStart"], u["data"]["sequenceEnd"])
             for u in updates]  # fmt: skip
    assert any(start == end for _, start, end in spans)  # the scanner's fast path
    assert spans[0][:2] == ("BTC-USDT", FIRST_SEQUENCE + 1)
    straddling = [s for s in spans if s[0] == "BTC-USDT" and s[1] <= snapshot_sequence < s[2]]
    assert len(straddling) == 1  # rows the snapshot holds, then rows after it

    feed = KucoinBookFeed(SymbolMap.of("kucoin", venue.instruments))
    report = replay(records, feed)
    assert report.malformed == 0
    assert set(report.books) == set(kucoin.symbols)
    for symbol, book in report.books.items():
        counters = book.sync.counters
        assert (counters.gaps, counters.resyncs, counters.crossed) == (0, 0, 0), symbol
        assert counters.updates >= 40
        assert book.bbo_matches > 0
        assert book.bbo_mismatches == 0
        engine_now = venue.engines[symbol]
        assert book.sync.book_id == server.sequence(symbol)
        scale = 10 ** (book.instrument.size_decimals - engine_now.instrument.size_decimals)
        for side, (prices, sizes) in ((BID, book.sync.book.top(1000)[:2]),
                                      (ASK, book.sync.book.top(1000)[2:])):  # fmt: skip
            expected = [(price, size * scale) for price, size in engine_now.levels(side)]
            assert list(zip(prices.tolist(), sizes.tolist(), strict=True)) == expected


def test_snapshot_and_placement_answers_have_the_documented_fields(
    kucoin: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(kucoin, autostep=False)
    sim.step()
    vectors = shared_data / "vectors/kucoin"
    body = _get(_server(sim), "/api/v1/market/orderbook/level2_20?symbol=ETH-BTC").json()
    documented = json.loads((vectors / "rest_orderbook_level2_response.json").read_text())
    assert _keys(body) == _keys(documented)
    assert _keys(body["data"]) == _keys(documented["data"])
    assert isinstance(body["data"]["sequence"], str)
    assert len(body["data"]["bids"]) == 15  # the market's levels, all within 20
    assert _get(_server(sim), "/api/v1/market/orderbook/level2_7?symbol=ETH-BTC").status_code == 404
