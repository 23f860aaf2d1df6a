"""The simulator's Bitfinex traffic through arbcore's own Bitfinex parsing and sync.

Exactly the code the real capture passes (``BitfinexBookFeed`` + ``BookSync`` by ``PrevRule``
on SEQ_ALL numbers, the CRC32 ``cs`` checksums; ``providers.parse_instruments`` for the pair
list) must read the simulator's frames: zero gaps, every checksum verified, no crossed book, and
the local book equal to the engine's top ``len``. arbcore reads Bitfinex at 8 decimals
(``constants.PRICE_STEP``); the engine keeps each market at its own, so books are compared as
values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbcore.exchanges.bitfinex import constants
from arbcore.exchanges.bitfinex.data import BitfinexBookFeed
from arbcore.exchanges.bitfinex.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, replay
from arbcore.marketdata.records import Record
from arbcore.model import Instrument
from arbcore.sim import Fault, SimConfig, Simulator
from arbcore.sim.venues.bitfinex import BitfinexServer, shapes
from arbcore.testing.conformance import load_recording
from arbcore.testing.simwire import asgi_get, queued_texts, record_steps, trade_now_and_then
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.fixedpoint import to_raw

LENGTH = 25
CONF = json.dumps({"event": "conf", "flags": constants.CONF_FLAGS})


@pytest.fixture
def bitfinex(config: SimConfig) -> SimConfig:
    """Deeper than the channel: levels leave and enter the top 25 as the market moves."""
    return attrs.evolve(config, venues=("bitfinex",),
                        market=attrs.evolve(config.market, levels=40))  # fmt: skip


def _server(sim: Simulator) -> BitfinexServer:
    server = sim.servers["bitfinex"]
    assert isinstance(server, BitfinexServer)
    return server


def client_instruments(sim: Simulator) -> tuple[Instrument, ...]:
    """What arbcore's client trades with: the pair list the simulator serves, parsed."""
    body = asgi_get(_server(sim).app, "/v2/conf/" + constants.INSTRUMENTS_PATH).json()
    return parse_instruments(body).instruments


def as_values(levels: Sequence[tuple[int, int]], instrument: Instrument) -> list[tuple[int, int]]:
    """The engine's levels at arbcore's 8 decimals (what the client's book holds)."""
    price_scale = 10 ** (8 - instrument.price_decimals)
    size_scale = 10 ** (8 - instrument.size_decimals)
    return [(price * price_scale, size * size_scale) for price, size in levels]


def book_levels(book: L2Book) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    bids, bid_sizes, asks, ask_sizes = book.top(1000)
    return (list(zip(bids.tolist(), bid_sizes.tolist(), strict=True)),
            list(zip(asks.tolist(), ask_sizes.tolist(), strict=True)))  # fmt: skip


def same_book(sim: Simulator, symbol: str, book: L2Book, depth: int = LENGTH) -> bool:
    engine = sim.venues["bitfinex"].engines[symbol]
    instrument = engine.instrument
    expected = (as_values(engine.levels(BID, depth), instrument),
                as_values(engine.levels(ASK, depth), instrument))  # fmt: skip
    return book_levels(book) == expected


def _records(sim: Simulator, steps: int, *, conf: str | None = CONF) -> list[Record]:
    """Frames of a connection (after ``conf``) subscribed to every market's P0 book while
    the market steps and an account trades."""
    server = _server(sim)
    venue = sim.venues["bitfinex"]
    sim.step()  # as Simulator.start does: books are never empty
    subscriber = server.hub.join()
    if conf is not None:
        server.answer(subscriber, conf)
    for instrument in venue.instruments:
        server.answer(subscriber, json.dumps({"event": "subscribe", "channel": "book",
                                              "symbol": instrument.native_symbol, "prec": "P0",
                                              "freq": "F0", "len": str(LENGTH)}))  # fmt: skip
    engine = venue.engines["BTC/USDT"]
    return record_steps(
        sim,
        "bitfinex",
        subscriber,
        steps,
        between=lambda step: trade_now_and_then(
            engine, step, market_raw=5_000_000, limit_raw=1_000_000, below_raw=2
        ),
    )


def replay_frames(records: Sequence[Record], instruments: Sequence[Instrument]) -> ReplayReport:
    """Records through arbcore's Bitfinex feed: the one path the capture and the simulator
    both take."""
    return replay(records, BitfinexBookFeed(SymbolMap.of("bitfinex", instruments)))


def _assert_in_step(sim: Simulator, report: ReplayReport, *, checksums: bool = True) -> None:
    assert report.malformed == 0
    assert set(report.books) == set(sim.config.symbols)
    for symbol, book in report.books.items():
        counters = book.sync.counters
        assert (counters.gaps, counters.resyncs, counters.crossed) == (0, 0, 0), symbol
        assert counters.checksum_failed == 0
        assert counters.updates > 40
        assert (counters.checksum_ok > 20) is checksums
        assert same_book(sim, symbol, book.sync.book), symbol


def test_pair_list_and_pair_info_state_the_simulators_markets(bitfinex: SimConfig) -> None:
    sim = Simulator(bitfinex, autostep=False)
    listed = {i.symbol: i for i in client_instruments(sim)}
    markets = {i.symbol: i for i in sim.venues["bitfinex"].instruments}
    assert set(listed) == set(markets) == {"BTC/USDT", "ETH/USDT", "ETH/BTC"}
    for symbol, mine in markets.items():
        theirs = listed[symbol]
        assert (theirs.native_symbol, theirs.base, theirs.quote) == (
            mine.native_symbol, mine.base, mine.quote)  # fmt: skip
        assert theirs.price_decimals == theirs.size_decimals == 8 >= mine.price_decimals
    assert markets["BTC/USDT"].native_symbol == "tBTCUST"
    assert markets["BTC/USDT"].price_text(markets["BTC/USDT"].tick_size) == "1"  # 5 digits
    assert markets["ETH/BTC"].price_text(markets["ETH/BTC"].tick_size) == "0.000001"
    info = asgi_get(_server(sim).app, "/v2/conf/pub:info:pair,pub:nothing").json()
    assert info[1] is None
    minimums = {pair: entry[3] for pair, entry in info[0]}
    assert minimums == {"BTCUST": "0.00001", "ETHUST": "0.0001", "ETHBTC": "0.0001"}


def test_simulated_frames_sync_through_the_bitfinex_feed(bitfinex: SimConfig) -> None:
    sim = Simulator(bitfinex, autostep=False)
    records = _records(sim, 60)
    head = [json.loads(r.payload) for r in records[:3]]
    assert head[0] == {"event": "conf", "status": "OK", "flags": constants.CONF_FLAGS}
    assert (head[1]["event"], head[1]["len"], head[1]["pair"]) == ("subscribed", "25", "BTCUST")
    chan_id = head[1]["chanId"]
    assert (head[2][0], head[2][2]) == (chan_id, 1)  # the snapshot, the connection's first
    assert len(head[2][1]) == 2 * LENGTH
    frames = [json.loads(r.payload) for r in records if r.payload.startswith(b"[")]
    assert [f[-1] for f in frames] == list(range(1, len(frames) + 1))  # SEQ_ALL, no hole
    kinds = {f[1] if isinstance(f[1], str) else len(f[1]) for f in frames[3:]}
    assert kinds == {"cs", 3}  # one-level updates and checksums after them
    deletions = [f[1] for f in frames if isinstance(f[1], list) and f[1][1:2] == [0]]
    assert deletions
    assert all(d[2] in (1, -1) for d in deletions)
    _assert_in_step(sim, replay_frames(records, client_instruments(sim)))


def test_without_conf_flags_frames_carry_no_sequence_and_no_checksum(bitfinex: SimConfig) -> None:
    sim = Simulator(bitfinex, autostep=False)
    records = _records(sim, 40, conf=None)
    frames = [json.loads(r.payload) for r in records if r.payload.startswith(b"[")]
    assert all(len(f) == 2 for f in frames)
    _assert_in_step(sim, replay_frames(records, client_instruments(sim)), checksums=False)


def test_the_real_capture_and_the_simulator_pass_the_same_code(
    bitfinex: SimConfig, shared_data: Path
) -> None:
    capture = load_recording("bitfinex", [shared_data / "real/bitfinex/BITFINEX.ws.11.0"])
    real = replay_frames(capture.records, capture.instruments)
    assert real.malformed == 0
    assert sum(book.sync.counters.updates for book in real.books.values()) == 1593
    assert all(book.sync.counters.gaps == 0 for book in real.books.values())

    sim = Simulator(bitfinex, autostep=False)
    records = _records(sim, 30, conf='{"event":"conf","flags":65536}')  # the capture's flags
    _assert_in_step(sim, replay_frames(records, client_instruments(sim)), checksums=False)

    def events(payloads: Sequence[bytes], name: str) -> list[dict[str, Any]]:
        decoded = [json.loads(p) for p in payloads if p.startswith(b"{")]
        return [e for e in decoded if e.get("event") == name and e.get("channel", "book") == "book"]

    theirs = [r.payload for r in capture.records if r.kind == "ws"]
    mine = [r.payload for r in records]
    assert events(mine, "conf") == events(theirs, "conf")  # {"event","status","flags"}
    assert [list(e) for e in events(mine, "subscribed")][:1] == [
        list(e) for e in events(theirs, "subscribed")][:1]  # fmt: skip
    book_channel = events(theirs, "subscribed")[0]["chanId"]
    snapshot = json.loads(next(p for p in theirs if p.startswith(b"[%d,[[" % book_channel)))
    simulated = json.loads(next(p for p in mine if b",[[" in p))
    assert [len(snapshot), len(snapshot[1][0])] == [len(simulated), len(simulated[1][0])]


def test_checksum_fault_is_caught_by_the_bitfinex_feed(bitfinex: SimConfig) -> None:
    sim = Simulator(bitfinex, autostep=False)
    sim.faults.arm(Fault.CHECKSUM, "bitfinex")
    report = replay_frames(_records(sim, 10), client_instruments(sim))
    failed = {s: b.sync.counters.checksum_failed for s, b in report.books.items()}
    assert sorted(failed.values()) == [0, 0, 1]
    assert sim.faults.injected == {("bitfinex", Fault.CHECKSUM): 1}


def test_checksum_matches_the_documentation_vectors(shared_data: Path) -> None:
    vectors = json.loads((shared_data / "vectors/bitfinex/book_checksum.json").read_text())
    cases = [c for c in vectors["cases"] if c["entry_format"] == "[PRICE,COUNT,AMOUNT]"]
    assert len(cases) == 2
    for case in cases:
        instrument = attrs.evolve(_instrument(), price_decimals=9, size_decimals=0, tick_size=1,
                                  lot_size=1, min_qty=0)  # fmt: skip
        bids = [(to_raw(f"{p:.9f}", 9), a) for p, _, a in case["bids"]]
        asks = [(to_raw(f"{p:.9f}", 9), -a) for p, _, a in case["asks"]]
        assert shapes.checksum(instrument, bids, asks) == case["expected_checksum_signed"]


def _instrument() -> Instrument:
    return Simulator(SimConfig(venues="bitfinex"), autostep=False).venues["bitfinex"].instruments[0]


def test_numbers_are_written_as_bitfinexs_servers_write_them() -> None:
    assert [shapes.number(raw, 8).text for raw in (2, -15, 100, 5_000_000_000, 0, -123)] == [
        "2e-8", "-1.5e-7", "0.000001", "50", "0", "-0.00000123"]  # fmt: skip
    assert shapes.dumps([1, None, "a", {"k": shapes.Number("2e-8")}]) == '[1,null,"a",{"k":2e-8}]'
    with pytest.raises(TypeError):
        shapes.dumps([0.1])


def test_subscription_errors_ping_heartbeat_and_resubscribe(bitfinex: SimConfig) -> None:
    now = [1_700_000_000 * 10**9]
    sim = Simulator(bitfinex, autostep=False, clock=lambda: now[0])
    server = _server(sim)
    sim.step()
    subscriber = server.hub.join()
    book = {"event": "subscribe", "channel": "book", "prec": "P0", "len": "25"}
    for message in ({"event": "ping", "cid": 7}, CONF, {**book, "symbol": "tBTCEUR"},
                    {**book, "symbol": "tBTCUST", "prec": "R0"}, {**book, "channel": "trades"},
                    {**book, "symbol": "tBTCUST", "len": "30"}, {**book, "symbol": "TBTCUST"},
                    {**book, "symbol": "tETHBTC", "subId": 5}, {**book, "symbol": "tETHBTC"},
                    {"event": "unsubscribe", "chanId": 1}):  # fmt: skip
        server.answer(subscriber, message if isinstance(message, str) else json.dumps(message))
    frames = [json.loads(text) for text in queued_texts(subscriber)]
    assert frames[0] == {"event": "pong", "ts": now[0] // 10**6, "cid": 7}
    errors = [(f["code"], f["msg"]) for f in frames if isinstance(f, dict) and
              f.get("event") == "error"]  # fmt: skip
    assert errors == [(10300, "symbol: invalid"), (10300, "prec: invalid"),
                      (10302, "channel: unknown"), (10300, "len: invalid"),
                      (10300, "symbol: invalid"), (10301, "subscribe: dup"),
                      (10400, "unsubscribe: invalid")]  # fmt: skip
    subscribed = next(f for f in frames if isinstance(f, dict) and f["event"] == "subscribed")
    assert subscribed["subId"] == 5
    chan_id = subscribed["chanId"]
    now[0] += 15 * 10**9
    server.publish()  # the book did not change for 15 s: a heartbeat
    assert [json.loads(t) for t in queued_texts(subscriber)] == [[chan_id, "hb", 2]]
    server.answer(subscriber, json.dumps({"event": "unsubscribe", "chanId": chan_id}))
    server.answer(subscriber, json.dumps({**book, "symbol": "tETHBTC"}))
    sim.step()
    again = [json.loads(t) for t in queued_texts(subscriber)]
    assert again[0] == {"event": "unsubscribed", "status": "OK", "chanId": chan_id}
    assert again[1]["chanId"] > chan_id  # a new channel id
    assert {f[0] for f in again[2:]} == {again[1]["chanId"]}
    assert [f[-1] for f in again[2:]] == list(range(3, len(again) + 1))
