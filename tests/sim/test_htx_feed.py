"""The simulator's HTX traffic through arbcore's own HTX parsing and sync.

Exactly the code the real recordings pass (``HTXBookFeed`` + ``BookSync`` by the prevSeqNum
chain from a ``req`` image, ``parse_instruments`` for both symbol lists) must read the
simulator's gzip frames and bodies: zero gaps and the local book equal to the engine's, on the
150-level channel and (its top levels) on the 5-level one.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from arbcore.exchanges.htx.data import HTXBookFeed
from arbcore.exchanges.htx.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import BookReport, replay
from arbcore.marketdata.records import Record
from arbcore.model import OrderSide, OrderType
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.engine import MatchingEngine
from arbcore.sim.stream import Subscriber
from arbcore.sim.venues.htx import HTXServer
from arbcore.sim.venues.htx.shapes import gzipped
from arbcore_ext.book import ASK, BID


@pytest.fixture
def htx(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("htx",))


def _server(sim: Simulator) -> HTXServer:
    server = sim.servers["htx"]
    assert isinstance(server, HTXServer)
    return server


def _get(server: HTXServer, path: str) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get(path)

    return asyncio.run(fetch())


def _vector(shared_data: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((shared_data / "vectors/htx" / name).read_text())
    return loaded


def _drain(subscriber: Subscriber, records: list[Record]) -> None:
    """Frames as the wire carries them: gzip."""
    while not subscriber.queue.empty():
        frame = subscriber.queue.get_nowait()
        assert frame is not None
        records.append(Record(kind="ws", ts_ns=0, payload=gzipped(frame.text)))


def _texts(records: list[Record]) -> list[dict[str, Any]]:
    return [json.loads(gzip.decompress(r.payload)) for r in records]


def _assert_book(book: BookReport, engine: MatchingEngine, depth: int | None = None) -> None:
    price_scale = 10 ** (book.instrument.price_decimals - engine.instrument.price_decimals)
    size_scale = 10 ** (book.instrument.size_decimals - engine.instrument.size_decimals)
    bids, bid_sizes, asks, ask_sizes = book.sync.book.top(1000)
    for side, prices, sizes in ((BID, bids, bid_sizes), (ASK, asks, ask_sizes)):
        expected = [(p * price_scale, s * size_scale) for p, s in engine.levels(side, depth)]
        assert list(zip(prices.tolist(), sizes.tolist(), strict=True)) == expected


def test_symbol_lists_parse_back_to_the_simulators_instruments(
    htx: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(htx, autostep=False)
    expected = {i.symbol: i for i in sim.venues["htx"].instruments}
    for path in ("/v1/common/symbols", "/v1/settings/common/market-symbols"):
        parsed = parse_instruments(_get(_server(sim), path).json())
        assert parsed.skipped == ()
        assert parsed.by_symbol() == expected, path
    short = _get(_server(sim), "/v1/settings/common/market-symbols?symbols=ethbtc").json()
    documented = _vector(shared_data, "rest_market_symbols.json")["response"]["data"][0]
    assert [e["symbol"] for e in short["data"]] == ["ethbtc"]
    assert set(short["data"][0]) <= set(documented)


def test_simulated_frames_sync_through_the_htx_feed_with_zero_gaps(
    htx: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(htx, autostep=False)
    server = _server(sim)
    venue = sim.venues["htx"]
    natives = [i.native_symbol for i in venue.instruments]
    subscriber = server.hub.join()
    for levels in (150, 5):
        for native in natives:
            server.answer(subscriber, json.dumps({"sub": f"market.{native}.mbp.{levels}",
                                                  "id": "id1"}))  # fmt: skip
    records: list[Record] = []
    _drain(subscriber, records)
    acks = _texts(records)
    assert list(acks[0]) == list(_vector(shared_data, "ws_mbp_subscribe.json")["response"])
    records.clear()
    engine = venue.engines["BTC/USDT"]
    for step in range(60):
        sim.step()
        _drain(subscriber, records)
        if step == 10:  # images arrive while deltas are already buffered, as live
            for levels in (150, 5):
                for native in natives:
                    server.answer(subscriber, json.dumps({"req": f"market.{native}.mbp.{levels}",
                                                          "id": "id2"}))  # fmt: skip
        if step % 7 == 3:  # accounts trade too
            engine.place("trader", OrderSide.BUY, OrderType.MARKET, 5_000_000)
            best_bid = engine.best(BID)
            assert best_bid is not None
            engine.place("trader", OrderSide.BUY, OrderType.LIMIT, 1_000_000,
                         price_raw=best_bid - 700)  # fmt: skip
    server.publish()
    _drain(subscriber, records)

    frames = _texts(records)
    documented = _vector(shared_data, "ws_mbp_incremental.json")["message_150_levels_one_side"]
    delta = next(f for f in frames if f.get("ch", "").endswith(".mbp.150"))
    assert list(delta) == list(documented)
    assert list(delta["tick"]) == list(documented["tick"])
    reply = next(f for f in frames if "rep" in f)
    shown = _vector(shared_data, "ws_mbp_req_snapshot.json")
    shown = shown["response_as_documented_truncated_to_5_levels"]
    assert list(reply) == list(shown)
    assert list(reply["data"]) == list(shown["data"])

    for levels, depth in ((150, None), (5, 5)):
        wanted = [r for r, f in zip(records, frames, strict=True)
                  if f.get("ch", f.get("rep", "")).endswith(f".mbp.{levels}")]  # fmt: skip
        report = replay(wanted, HTXBookFeed(SymbolMap.of("htx", venue.instruments)))
        assert report.malformed == 0
        assert set(report.books) == set(htx.symbols)
        for symbol, book in report.books.items():
            counters = book.sync.counters
            assert (counters.gaps, counters.resyncs, counters.crossed) == (0, 0, 0), symbol
            assert counters.updates >= 20
            assert book.sync.book_id == server.views[symbol, levels].seq
            _assert_book(book, venue.engines[symbol], depth)


def test_rest_depth_has_the_documented_shape(htx: SimConfig, shared_data: Path) -> None:
    sim = Simulator(htx, autostep=False)
    sim.step()
    server = _server(sim)
    body = _get(server, "/market/depth?symbol=btcusdt&depth=5&type=step0").json()
    documented = _vector(shared_data, "rest_depth.json")["response"]
    assert list(body) == list(documented)
    assert list(body["tick"]) == list(documented["tick"])
    engine = sim.venues["htx"].engines["BTC/USDT"]
    assert body["tick"]["version"] == engine.update_id
    assert len(body["tick"]["bids"]) == 5
    refused = _get(server, "/market/depth?symbol=nope&type=step0").json()
    assert (refused["status"], refused["err-code"]) == ("error", "invalid-parameter")
