"""The simulator's OKX traffic through arbcore's own OKX parsing and sync.

Exactly the code the real recordings pass (``OKXBookFeed`` + ``BookSync`` by ``OKXSeqRule``
with the CRC32 checksum, ``parse_instruments`` for the instrument list) must read the
simulator's frames and bodies: zero gaps, every checksum verified, every ``bbo-tbt`` equal to
the book at its ``seqId``, and the local book equal to the engine's.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import httpx
import pytest

from arbcore.exchanges.okx.data import OKXBookFeed
from arbcore.exchanges.okx.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, replay
from arbcore.marketdata.records import Record
from arbcore.model import Instrument, OrderSide, OrderType
from arbcore.sim import Fault, SimConfig, Simulator
from arbcore.sim.protocol import DepthView
from arbcore.sim.venues.okx import OKXServer, shapes
from arbcore.testing.simwire import asgi_get, queued_texts
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw


@pytest.fixture
def okx(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("okx",))


def _get(server: OKXServer, path: str) -> httpx.Response:
    return asgi_get(server.app, path)


def _server(sim: Simulator) -> OKXServer:
    server = sim.servers["okx"]
    assert isinstance(server, OKXServer)
    return server


def test_instrument_list_parses_back_to_the_simulators_instruments(
    okx: SimConfig, shared_data: Path
) -> None:
    sim = Simulator(okx, autostep=False)
    body = _get(_server(sim), "/api/v5/public/instruments?instType=SPOT").json()
    parsed = parse_instruments(body)
    assert parsed.skipped == ()
    assert parsed.by_symbol() == {i.symbol: i for i in sim.venues["okx"].instruments}
    documented = json.loads((shared_data / "vectors/okx/instrument_spot_example.json").read_text())
    assert set(documented) - {"note"} <= set(body["data"][0])


def _records(sim: Simulator, steps: int, *, rest_at: int | None = None) -> list[Record]:
    """Frames of a connection subscribed to ``books`` and ``bbo-tbt`` of every market while
    the market steps and an account trades; a REST book of each market at ``rest_at``."""
    server = _server(sim)
    venue = sim.venues["okx"]
    sim.step()  # as Simulator.start does: books are never empty
    subscriber = server.hub.join()
    args = [{"channel": channel, "instId": i.native_symbol}
            for i in venue.instruments for channel in ("books", "bbo-tbt")]  # fmt: skip
    server.answer(subscriber, json.dumps({"id": "1", "op": "subscribe", "args": args}))
    records: list[Record] = []

    def frames() -> None:
        records.extend(Record(kind="ws", ts_ns=0, payload=text.encode())
                       for text in queued_texts(subscriber))  # fmt: skip

    for step in range(steps):
        sim.step()
        frames()
        if step == rest_at:
            for instrument in venue.instruments:
                url = f"/api/v5/market/books?instId={instrument.native_symbol}&sz=400"
                body = _get(server, url).content
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


def _assert_in_step(sim: Simulator, report: ReplayReport, *, resyncs: int = 0) -> None:
    assert report.malformed == 0
    assert set(report.books) == set(sim.config.symbols)
    for symbol, book in report.books.items():
        counters = book.sync.counters
        assert (counters.gaps, counters.resyncs, counters.crossed) == (0, resyncs, 0), symbol
        assert counters.checksum_failed == 0
        assert counters.checksum_ok == counters.updates + 1 > 20  # the pushed snapshot too
        assert book.bbo_matches > 0
        assert book.bbo_mismatches == 0
        engine = sim.venues["okx"].engines[symbol]
        assert book.sync.book_id == engine.update_id
        bids, bid_sizes, asks, ask_sizes = book.sync.book.top(1000)
        assert list(zip(bids.tolist(), bid_sizes.tolist(), strict=True)) == engine.levels(BID)
        assert list(zip(asks.tolist(), ask_sizes.tolist(), strict=True)) == engine.levels(ASK)


def test_simulated_frames_sync_through_the_okx_feed_with_zero_gaps(okx: SimConfig) -> None:
    sim = Simulator(okx, autostep=False)
    records = _records(sim, 60)
    acks = [json.loads(r.payload) for r in records if b'"event"' in r.payload]
    assert [a["event"] for a in acks] == ["subscribe"] * 6
    first = json.loads(next(r.payload for r in records if b'"action"' in r.payload))
    assert first["action"] == "snapshot"
    assert first["data"][0]["prevSeqId"] == -1
    update = json.loads(next(r.payload for r in records if b'"action":"update"' in r.payload))
    assert list(update["data"][0]) == ["asks", "bids", "ts", "checksum", "prevSeqId", "seqId"]
    feed = OKXBookFeed(SymbolMap.of("okx", sim.venues["okx"].instruments))
    _assert_in_step(sim, replay(records, feed))


def test_rest_book_aligns_with_the_stream_by_seq_id(okx: SimConfig) -> None:
    sim = Simulator(okx, autostep=False)
    records = _records(sim, 30, rest_at=12)
    rest = [json.loads(r.payload) for r in records if r.kind == "rest"]
    assert all(isinstance(body["data"][0]["seqId"], int) for body in rest)
    feed = OKXBookFeed(SymbolMap.of("okx", sim.venues["okx"].instruments))
    report = replay(records, feed)
    assert all(book.sync.counters.snapshots == 2 for book in report.books.values())
    _assert_in_step(sim, report)


def test_checksum_fault_is_caught_by_the_okx_feed(okx: SimConfig) -> None:
    sim = Simulator(okx, autostep=False)
    sim.faults.arm(Fault.CHECKSUM, "okx")
    records = _records(sim, 10)
    feed = OKXBookFeed(SymbolMap.of("okx", sim.venues["okx"].instruments))
    report = replay(records, feed)
    failed = {s: b.sync.counters.checksum_failed for s, b in report.books.items()}
    assert sorted(failed.values()) == [0, 0, 1]
    assert sim.faults.injected == {("okx", Fault.CHECKSUM): 1}


def test_checksum_matches_the_documentation_vectors(shared_data: Path) -> None:
    vectors = json.loads((shared_data / "vectors/okx/checksum_vectors.json").read_text())
    for case in vectors["cases"]:
        texts = [level[0] for level in case["bids"] + case["asks"]]
        pd = max(len(t.partition(".")[2]) for t in texts)
        sizes = [level[1] for level in case["bids"] + case["asks"]]
        sd = max(len(t.partition(".")[2]) for t in sizes)
        instrument = attrs.evolve(_instrument(), price_decimals=pd, size_decimals=sd,
                                  tick_size=1, lot_size=1, min_qty=0)  # fmt: skip
        bids = [(to_raw(p, pd), to_raw(s, sd)) for p, s, *_ in case["bids"]]
        asks = [(to_raw(p, pd), to_raw(s, sd)) for p, s, *_ in case["asks"]]
        assert shapes.checksum(instrument, bids, asks) == case["crc32_signed_int32"]


def _instrument() -> Instrument:
    return Simulator(SimConfig(venues="okx"), autostep=False).venues["okx"].instruments[0]


def test_depth_view_keeps_the_top_and_reports_what_left_it(okx: SimConfig) -> None:
    sim = Simulator(okx, autostep=False)
    sim.step()
    engine = sim.venues["okx"].engines["BTC/USDT"]
    view = DepthView(3)
    first = view.update(engine)
    assert [(p, s) for side, p, s in first if side == BID] == engine.levels(BID, 3)
    assert [(p, s) for side, p, s in first if side == ASK] == engine.levels(ASK, 3)
    best_bid = engine.best(BID)
    assert best_bid is not None
    engine.place("trader", OrderSide.BUY, OrderType.LIMIT, 1_000, price_raw=best_bid + 1)
    changes = view.update(engine)
    pushed_out = engine.levels(BID, 4)[3][0]  # the old third level is fourth now: gone (size 0)
    assert (BID, best_bid + 1, engine.levels(BID, 1)[0][1]) in changes
    assert (BID, pushed_out, 0) in changes
    assert view.levels(BID) == engine.levels(BID, 3)
    assert view.seq == engine.update_id
    assert view.update(engine) == []


def test_an_unchanged_book_gets_a_keepalive_update_every_60_seconds(okx: SimConfig) -> None:
    now = [1_700_000_000 * 10**9]
    sim = Simulator(okx, autostep=False, clock=lambda: now[0])
    server = _server(sim)
    sim.step()
    subscriber = server.hub.join()
    server.answer(subscriber, '{"op":"subscribe","args":[{"channel":"books","instId":"ETH-BTC"}]}')
    server.publish()  # nothing changed: nothing sent
    now[0] += 59 * 10**9
    server.publish()
    now[0] += 10**9
    server.publish()
    frames = [json.loads(text) for text in queued_texts(subscriber)]
    assert [f.get("action") or f["event"] for f in frames] == ["subscribe", "snapshot", "update"]
    snapshot, keepalive = frames[1]["data"][0], frames[2]["data"][0]
    assert (keepalive["asks"], keepalive["bids"]) == ([], [])
    assert keepalive["prevSeqId"] == keepalive["seqId"] == snapshot["seqId"]
    assert keepalive["checksum"] == snapshot["checksum"]
