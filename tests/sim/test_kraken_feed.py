"""The simulator's Kraken traffic through arbcore's own Kraken parsing and sync.

Exactly the code the real recordings pass (``KrakenBookFeed`` + ``BookSync`` by arrival with
Kraken's CRC32 checksum after truncating to the subscribed depth; ``parse_instruments`` for
AssetPairs) must read the simulator's v1 frames and bodies: every checksum verified, the
levels pushed below the depth never deleted on the wire and those rising into it republished
(``"r"``), and the local book equal to the engine's (its top 10 on ``book-10``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbcore.exchanges.kraken.data import KrakenBookFeed
from arbcore.exchanges.kraken.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, replay
from arbcore.marketdata.records import Record
from arbcore.model import Instrument
from arbcore.sim import Fault, SimConfig, Simulator
from arbcore.sim.venues.kraken import KrakenServer, shapes
from arbcore.testing.simwire import asgi_get, queued_texts, record_steps, trade_now_and_then
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw


@pytest.fixture
def kraken(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("kraken",))


def _server(sim: Simulator) -> KrakenServer:
    server = sim.servers["kraken"]
    assert isinstance(server, KrakenServer)
    return server


def _get(server: KrakenServer, path: str) -> Any:
    return asgi_get(server.app, path).json()


def test_asset_pairs_parse_back_to_the_simulators_instruments(shared_data: Path) -> None:
    config = SimConfig(venues="kraken", symbols="BTC/USD,BTC/USDT,ETH/BTC,ETH/USDT")
    sim = Simulator(config, autostep=False)
    body = _get(_server(sim), "/0/public/AssetPairs")
    parsed = parse_instruments(body)
    assert parsed.skipped == ()
    assert parsed.by_symbol() == {i.symbol: i for i in sim.venues["kraken"].instruments}
    assert list(body["result"]) == ["XXBTZUSD", "XBTUSDT", "XETHXXBT", "ETHUSDT"]
    documented = json.loads((shared_data / "vectors/kraken/rest_asset_pairs_excerpt.json")
                            .read_text())["response_excerpt"]["XXBTZUSD"]  # fmt: skip
    assert set(documented) <= set(body["result"]["XXBTZUSD"])
    entry = body["result"]["XXBTZUSD"]
    assert (entry["wsname"], entry["altname"], entry["base"], entry["quote"]) == (
        "XBT/USD", "XBTUSD", "XXBT", "ZUSD")  # fmt: skip
    one = _get(_server(sim), "/0/public/AssetPairs?pair=XBTUSD")
    assert list(one["result"]) == ["XXBTZUSD"]
    assert _get(_server(sim), "/0/public/AssetPairs?pair=NOPE") == {
        "error": ["EQuery:Unknown asset pair"], "result": {}}  # fmt: skip


def test_rest_depth_is_keyed_by_the_canonical_name(kraken: SimConfig) -> None:
    sim = Simulator(kraken, autostep=False)
    sim.step()
    body = _get(_server(sim), "/0/public/Depth?pair=ETHXBT&count=3")
    book = body["result"]["XETHXXBT"]
    engine = sim.venues["kraken"].engines["ETH/BTC"]
    pd, sd = engine.instrument.price_decimals, engine.instrument.size_decimals
    bids = [(to_raw(p, pd), to_raw(s, sd)) for p, s, _ in book["bids"]]
    assert bids == engine.levels(BID, 3)
    assert all(isinstance(stamp, int) for _, _, stamp in book["asks"])
    assert _get(_server(sim), "/0/public/Time")["result"]["unixtime"] > 1_600_000_000


def _records(sim: Simulator, steps: int, depth: int) -> list[Record]:
    """Frames of a connection subscribed to ``book-<depth>`` of every pair while the market
    steps and an account trades."""
    server = _server(sim)
    venue = sim.venues["kraken"]
    sim.step()
    subscriber = server.hub.join()
    pairs = [i.native_symbol for i in venue.instruments]
    server.answer(
        subscriber,
        json.dumps(
            {
                "event": "subscribe",
                "pair": pairs,
                "reqid": 7,
                "subscription": {"name": "book", "depth": depth},
            }
        ),
    )
    engine = venue.engines["BTC/USDT"]
    return record_steps(
        sim,
        "kraken",
        subscriber,
        steps,
        between=lambda step: trade_now_and_then(
            engine, step, market_raw=5_000, limit_raw=1_000, below_raw=500
        ),
    )


def _assert_in_step(sim: Simulator, report: ReplayReport, depth: int) -> None:
    assert report.malformed == 0
    assert set(report.books) == set(sim.config.symbols)
    for symbol, book in report.books.items():
        counters = book.sync.counters
        assert (counters.gaps, counters.resyncs, counters.crossed) == (0, 0, 0), symbol
        assert counters.checksum_failed == 0
        assert counters.checksum_ok == counters.updates > 20  # v1 snapshots carry none
        engine = sim.venues["kraken"].engines[symbol]
        bids, bid_sizes, asks, ask_sizes = book.sync.book.top(1000)
        assert list(zip(bids.tolist(), bid_sizes.tolist(), strict=True)) == engine.levels(
            BID, depth
        )
        assert list(zip(asks.tolist(), ask_sizes.tolist(), strict=True)) == engine.levels(
            ASK, depth
        )


def _feed(sim: Simulator) -> KrakenBookFeed:
    return KrakenBookFeed(SymbolMap.of("kraken", sim.venues["kraken"].instruments))


def test_simulated_frames_sync_through_the_kraken_feed(kraken: SimConfig) -> None:
    sim = Simulator(kraken, autostep=False)
    records = _records(sim, 60, 1000)
    head = [json.loads(r.payload) for r in records[:6]]
    assert [(h["event"], h["status"], h["reqid"]) for h in head[::2]] == [
        ("subscriptionStatus", "subscribed", 7)] * 3  # fmt: skip
    assert head[0]["channelName"] == "book-1000"
    assert head[1][0] == head[0]["channelID"]
    assert set(head[1][1]) == {"as", "bs"}
    update = next(json.loads(r.payload) for r in records[6:] if r.payload.startswith(b"["))
    assert update[-2:] in (["book-1000", "XBT/USDT"], ["book-1000", "ETH/USDT"],
                           ["book-1000", "ETH/XBT"])  # fmt: skip
    assert "c" in update[-3]
    assert update[-3]["c"].isdigit()
    _assert_in_step(sim, replay(records, _feed(sim)), 1000)


def test_a_shallow_book_is_truncated_not_deleted_and_republishes(kraken: SimConfig) -> None:
    sim = Simulator(kraken, autostep=False)
    records = _records(sim, 60, 10)
    updates = [json.loads(r.payload) for r in records if r.payload.startswith(b"[")][3:]
    rows = [row for update in updates for side in update[1:-2] for key in ("a", "b")
            for row in side.get(key, [])]  # fmt: skip
    assert any(row[3:] == ["r"] for row in rows)  # a level risen into the top 10
    assert all(len(row) == 3 or row[3] == "r" for row in rows)
    _assert_in_step(sim, replay(records, _feed(sim)), 10)


def test_checksum_fault_is_caught_by_the_kraken_feed(kraken: SimConfig) -> None:
    sim = Simulator(kraken, autostep=False)
    sim.faults.arm(Fault.CHECKSUM, "kraken")
    report = replay(_records(sim, 10, 10), _feed(sim))
    failed = {s: b.sync.counters.checksum_failed for s, b in report.books.items()}
    assert sorted(failed.values()) == [0, 0, 1]
    assert sim.faults.injected == {("kraken", Fault.CHECKSUM): 1}


def test_checksum_matches_the_documentation_vector(shared_data: Path) -> None:
    vector = json.loads((shared_data / "vectors/kraken/book_checksum.json").read_text())
    case = vector["cases"][0]
    instrument = attrs.evolve(_instrument(), price_decimals=5, size_decimals=8, tick_size=1,
                              lot_size=1, min_qty=0)  # fmt: skip
    asks = [(to_raw(p, 5), to_raw(s, 8)) for p, s, _ in case["book"]["asks"]]
    bids = [(to_raw(p, 5), to_raw(s, 8)) for p, s, _ in case["book"]["bids"]]
    assert shapes.checksum(instrument, bids, asks) == case["expected_checksum"] == 974947235


def _instrument() -> Instrument:
    return Simulator(SimConfig(venues="kraken"), autostep=False).venues["kraken"].instruments[0]


def test_subscription_errors_ping_and_heartbeat(kraken: SimConfig) -> None:
    now = [1_700_000_000 * 10**9]
    sim = Simulator(kraken, autostep=False, clock=lambda: now[0])
    server = _server(sim)
    sim.step()
    subscriber = server.hub.join()
    server.answer(subscriber, '{"event":"ping","reqid":42}')
    server.answer(
        subscriber,
        '{"event":"subscribe","pair":["XBT/EUR"],"subscription":{"name":"book","depth":10}}',
    )
    server.answer(
        subscriber,
        '{"event":"subscribe","pair":["XBT/USDT"],"subscription":{"name":"book","depth":11}}',
    )
    server.answer(
        subscriber, '{"event":"unsubscribe","pair":["XBT/USDT"],"subscription":{"name":"book"}}'
    )
    server.publish()  # no subscription yet: no heartbeat
    server.answer(
        subscriber, '{"event":"subscribe","pair":["ETH/XBT"],"subscription":{"name":"book"}}'
    )
    now[0] += 10**9
    server.publish()  # the book did not change for a second: a heartbeat
    frames = [json.loads(text) for text in queued_texts(subscriber)]
    assert frames[0] == {"event": "pong", "reqid": 42}
    assert [f.get("errorMessage") for f in frames[1:4]] == [
        "Currency pair not supported XBT/EUR", "Subscription depth not supported",
        "Subscription Not Found"]  # fmt: skip
    assert frames[4]["channelName"] == "book-10"
    assert frames[5][2:] == ["book-10", "ETH/XBT"]
    assert frames[6:] == [{"event": "heartbeat"}]
