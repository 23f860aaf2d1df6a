"""Bybit v5 market data: the real recording replays exactly; corruptions are caught."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbcore.cli_replay import run_replay
from arbcore.exchanges.bybit import parsing
from arbcore.exchanges.bybit.data import BybitBookFeed
from arbcore.exchanges.bybit.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEventKind, Instrument
from arbcore.testing.conformance import Recording, delta_indices, load_recording, replay_records
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer
from arbcore_ext.fixedpoint import to_text

pytestmark = pytest.mark.recording

XRPUSDT = "XRP/USDT"
RECORDING = "real/bybit/xrpusdt-ob500.data.zip"


def _spot_vector(shared_data: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(
        (shared_data / "vectors/bybit/instruments_info_spot_response.json").read_text()
    )
    return vector


def _xrp_instruments_response(shared_data: Path) -> dict[str, Any]:
    """The documentation's instruments response with its one entry made XRPUSDT.

    Bybit publishes no instrument capture beside the recording; XRPUSDT trades at a 0.0001 tick
    in whole coins (the recording's prices have 4 decimals, its sizes none).
    """
    response = copy.deepcopy(_spot_vector(shared_data))
    entry = response["result"]["list"][0]
    entry.update(symbol="XRPUSDT", baseCoin="XRP", priceFilter={"tickSize": "0.0001"})
    entry["lotSizeFilter"].update(basePrecision="1", minOrderQty="1")
    return response


@pytest.fixture(scope="module")
def xrp(shared_data: Path) -> Recording:
    instruments = parse_instruments(_xrp_instruments_response(shared_data)).instruments
    return load_recording("bybit", [shared_data / RECORDING], instruments=instruments)


def _book(recording: Recording, records: Any = None) -> dict[str, Any]:
    book: dict[str, Any] = replay_records(recording, records).as_json()["books"][XRPUSDT]
    return book


def test_bybit_recording_replays_every_delta_without_a_gap(xrp: Recording) -> None:
    report = replay_records(xrp).as_json()
    book = report["books"][XRPUSDT]
    # SOURCES.md: 1 snapshot + 49 deltas, u contiguous; Bybit books carry no checksum
    assert (book["updates"], book["snapshots"], book["gaps"], book["resyncs"]) == (49, 1, 0, 0)
    assert (book["checksum_ok"], book["checksum_failed"], book["crossed"]) == (0, 0, 0)
    assert (book["best_bid"], book["best_ask"]) == ("1.9537", "1.9538")
    assert (report["messages"], report["book_events"], report["malformed"]) == (50, 50, 0)


def test_bybit_recording_update_ids_run_contiguously(xrp: Recording) -> None:
    feed = xrp.feed()
    events = [event for r in xrp.records for event in feed.parse_ws(r.payload, 0, 0)]
    kinds = [event.kind for event in events]  # type: ignore[union-attr]
    assert kinds == [BookEventKind.SNAPSHOT] + [BookEventKind.DELTA] * 49
    ids = [event.last_seq for event in events]  # type: ignore[union-attr]
    assert ids == list(range(20254869, 20254919))
    snapshot = events[0]
    assert (int((snapshot.sides == BID).sum()), int((snapshot.sides == ASK).sum())) == (500, 500)  # type: ignore[union-attr]


def test_bybit_dropped_delta_is_a_gap_at_that_message_and_stays_stale(xrp: Recording) -> None:
    deltas = delta_indices(xrp, XRPUSDT)
    records = list(xrp.records)
    del records[deltas[10]]
    book = _book(xrp, records)
    assert (book["gaps"], book["resyncs"], book["updates"]) == (1, 1, 10)
    assert (book["best_bid"], book["best_ask"]) == (None, None)  # no later snapshot: stale


def test_bybit_swapped_deltas_are_a_gap_at_the_first_of_them(xrp: Recording) -> None:
    deltas = delta_indices(xrp, XRPUSDT)
    records = list(xrp.records)
    a, b = deltas[20], deltas[21]
    records[a], records[b] = records[b], records[a]
    book = _book(xrp, records)
    assert (book["gaps"], book["resyncs"], book["updates"]) == (1, 1, 20)
    assert (book["best_bid"], book["best_ask"]) == (None, None)


def _snapshot_frame(book: L2Book, update_id: int) -> bytes:
    """A ``orderbook.500`` snapshot frame of ``book`` (what Bybit re-sends after a problem)."""
    bid_prices, bid_sizes, ask_prices, ask_sizes = book.top(500)
    side = lambda prices, sizes: [  # noqa: E731
        [to_text(int(p), 4), to_text(int(q), 0)] for p, q in zip(prices, sizes, strict=True)
    ]
    data = {"s": "XRPUSDT", "b": side(bid_prices, bid_sizes), "a": side(ask_prices, ask_sizes)}
    message = {"topic": "orderbook.500.XRPUSDT", "type": "snapshot", "ts": 1, "cts": 1}
    return json.dumps({**message, "data": {**data, "u": update_id, "seq": 1}}).encode()


def test_bybit_gap_recovers_on_the_next_snapshot(xrp: Recording) -> None:
    deltas = delta_indices(xrp, XRPUSDT)
    records = list(xrp.records)
    # the venue's book at u 20254910 (delta 40), as a re-sent snapshot after that delta
    at_40 = replay_records(xrp, records[: deltas[40] + 1]).books[XRPUSDT].sync.book
    resent = attrs.evolve(records[0], payload=_snapshot_frame(at_40, 20254910))
    records.insert(deltas[40] + 1, resent)
    del records[deltas[10]]
    report = replay_records(xrp, records).books[XRPUSDT]
    book = report.as_json()
    assert (book["gaps"], book["resyncs"], book["snapshots"], book["crossed"]) == (1, 1, 2, 0)
    assert book["updates"] == 10 + 8  # before the hole, then u 20254911..20254918
    assert (book["best_bid"], book["best_ask"]) == ("1.9537", "1.9538")
    clean = replay_records(xrp).books[XRPUSDT].sync.book
    assert [a.tolist() for a in report.sync.book.top(500)] == [a.tolist() for a in clean.top(500)]


def test_bybit_delta_with_update_id_one_is_a_restart_and_resyncs(xrp: Recording) -> None:
    deltas = delta_indices(xrp, XRPUSDT)
    records = list(xrp.records)[: deltas[30] + 1]  # the restart last: its own gap, not the next's
    record = records[deltas[30]]
    records[deltas[30]] = attrs.evolve(
        record, payload=re.sub(rb'"u":\d+', b'"u":1', record.payload)
    )
    book = _book(xrp, records)
    assert (book["gaps"], book["resyncs"], book["updates"]) == (1, 1, 30)
    assert book["best_bid"] is None


def test_bybit_changed_size_is_not_detectable_without_a_checksum(xrp: Recording) -> None:
    # Bybit v5 books have no checksum and the recording has no BBO stream: a changed size
    # is applied silently. Pinned so that the limitation stays visible (docs/venues/bybit.md).
    records = list(xrp.records)
    last = records[-1]
    size = list(re.finditer(rb',"(\d*[1-9]\d*)"\]', last.payload))[-1]
    changed = last.payload[: size.end(1) - 1] + b"7" + last.payload[size.end(1) :]
    if changed == last.payload:
        changed = last.payload[: size.end(1) - 1] + b"8" + last.payload[size.end(1) :]
    records[-1] = attrs.evolve(last, payload=changed)
    clean = replay_records(xrp).books[XRPUSDT].sync.book
    dirty_report = replay_records(xrp, records).books[XRPUSDT]
    counters = dirty_report.sync.counters
    assert (counters.gaps, counters.resyncs, counters.checksum_failed) == (0, 0, 0)
    dirty = dirty_report.sync.book
    differing = [
        side
        for side in (BID, ASK)
        if clean.levels(side)[0].tolist() == dirty.levels(side)[0].tolist()
        and clean.levels(side)[1].tolist() != dirty.levels(side)[1].tolist()
    ]
    assert len(differing) == 1  # same prices, one size differs: a wrong book, served as fresh
    assert dirty_report.sync.fresh_book() is dirty


def test_bybit_documentation_snapshot_and_delta_parse_to_their_values(shared_data: Path) -> None:
    btc = parse_instruments(_spot_vector(shared_data)).instruments
    symbols = SymbolMap.of("bybit", btc)
    vectors = shared_data / "vectors/bybit"
    snapshot = parsing.parse_book_message(
        (vectors / "orderbook_snapshot.json").read_bytes(), symbols
    )
    assert (snapshot.kind, snapshot.symbol, snapshot.last_seq) == (
        BookEventKind.SNAPSHOT,
        "BTC/USDT",
        18521288,
    )
    assert snapshot.sides.tolist() == [0, 0, 1, 1]
    assert snapshot.prices.tolist() == [164935, 164930, 166110, 166120]  # 1 decimal
    assert snapshot.sizes.tolist() == [6000, 100000, 29000, 213000]  # 6 decimals
    assert snapshot.ts_event_ns == 1672304484976 * 1_000_000  # cts
    delta = parsing.parse_book_message((vectors / "orderbook_delta.json").read_bytes(), symbols)
    assert (delta.kind, delta.first_seq, delta.last_seq) == (
        BookEventKind.DELTA,
        177400507,
        177400507,
    )
    assert delta.sides.tolist() == [0] * 5 + [1] * 7
    assert delta.prices.tolist()[:5] == [302472, 302454, 302421, 302403, 302400]
    assert delta.sizes.tolist()[:5] == [30028000, 224000, 1593000, 1305000, 0]
    assert delta.prices.tolist()[5:] == [302487, 302493, 302495, 302496, 302519, 302522, 302525]
    assert delta.sizes.tolist()[5:] == [0, 892000, 1778000, 0, 2947000, 659000, 4591000]


def test_bybit_documentation_full_depth_delta_parses(shared_data: Path) -> None:
    mnt = Instrument.from_text(
        venue="bybit", native_symbol="MNTUSDT", base="MNT", quote="USDT",
        tick_size="0.0001", lot_size="0.01",
    )  # fmt: skip
    frame = (shared_data / "vectors/bybit/full_orderbook_delta.json").read_bytes()
    event = parsing.parse_book_message(frame, SymbolMap.of("bybit", [mnt]))
    assert (event.kind, event.last_seq) == (BookEventKind.DELTA, 278547)
    assert event.sides.tolist() == [0] * 5
    assert event.prices.tolist() == [4758, 4757, 4755, 4753, 4752]
    assert event.sizes.tolist() == [234247, 173535, 95238, 52268, 38721]


def test_bybit_documentation_rest_orderbook_is_a_snapshot(shared_data: Path) -> None:
    btc = Instrument.from_text(
        venue="bybit", native_symbol="BTCUSDT", base="BTC", quote="USDT",
        tick_size="0.01", lot_size="0.000001",
    )  # fmt: skip
    body = (shared_data / "vectors/bybit/rest_orderbook_response.json").read_bytes()
    feed = BybitBookFeed(SymbolMap.of("bybit", [btc]))
    url = "https://api.bybit.com/v5/market/orderbook?category=spot&symbol=BTCUSDT&limit=1"
    (event,) = feed.parse_rest(url, body, 0)
    assert (event.kind, event.last_seq) == (BookEventKind.SNAPSHOT, 230704)
    assert event.sides.tolist() == [0, 1]
    assert event.prices.tolist() == [6548547, 6555770]
    assert event.sizes.tolist() == [47081829, 16606555]
    assert feed.parse_rest("https://api.bybit.com/v5/market/tickers", body, 0) == []


def test_bybit_scanner_and_validating_path_agree_on_every_recorded_message(
    xrp: Recording,
) -> None:
    symbols = SymbolMap.of("bybit", xrp.instruments)
    checked = 0
    for record in xrp.records:
        fast = parsing.parse_book_message(record.payload, symbols)
        slow = parsing._validated_book_message(record.payload, symbols, 0)
        assert (fast.kind, fast.first_seq, fast.last_seq, fast.symbol, fast.ts_event_ns) == (
            slow.kind, slow.first_seq, slow.last_seq, slow.symbol, slow.ts_event_ns,
        )  # fmt: skip
        assert fast.sides.tolist() == slow.sides.tolist()
        assert fast.prices.tolist() == slow.prices.tolist()
        assert fast.sizes.tolist() == slow.sizes.tolist()
        checked += 1
    assert checked == 50


def test_bybit_delta_fast_path_matches_the_validating_path(xrp: Recording) -> None:
    feed = BybitBookFeed(SymbolMap.of("bybit", xrp.instruments))
    symbols = feed.symbols
    levels = LevelBuffer(16)
    checked = 0
    for received, record in enumerate(xrp.records, start=1_000):  # a receive time per frame
        scanned = feed.parse_delta_into(record.payload, received, 0, levels)
        slow = parsing._validated_book_message(record.payload, symbols, received)
        if slow.kind is BookEventKind.SNAPSHOT:
            assert scanned is None
            continue
        assert scanned is not None
        symbol, seq = scanned
        assert (symbol, seq.last_seq, seq.ts_event_ns, seq.ts_recv_ns) == (
            XRPUSDT, slow.last_seq, slow.ts_event_ns, slow.ts_recv_ns,
        )  # fmt: skip
        assert [a.tolist() for a in levels.arrays()] == [
            slow.sides.tolist(), slow.prices.tolist(), slow.sizes.tolist(),
        ]  # fmt: skip
        checked += 1
    assert checked == 49


def test_bybit_feed_ignores_acks_pongs_and_unknown_symbols(
    shared_data: Path, xrp: Recording
) -> None:
    feed = BybitBookFeed(SymbolMap.of("bybit", xrp.instruments))
    vectors = shared_data / "vectors/bybit"
    for name in ("ws_subscribe_response_spot.json", "ws_pong_spot.json"):
        assert feed.parse_ws((vectors / name).read_bytes(), 0) == []
    other = xrp.records[1].payload.replace(b"XRPUSDT", b"NOSUCH")
    assert feed.parse_ws(other, 0) == []
    trade = b'{"topic":"publicTrade.XRPUSDT","type":"snapshot","ts":1,"data":[]}'
    assert feed.parse_ws(trade, 0) == []


def test_bybit_top_of_book_stream_is_a_quote(xrp: Recording) -> None:
    feed = BybitBookFeed(SymbolMap.of("bybit", xrp.instruments))
    frame = (
        b'{"topic":"orderbook.1.XRPUSDT","type":"snapshot","ts":1733011200691,'
        b'"data":{"s":"XRPUSDT","b":[["1.9531","6203"]],"a":[["1.9532","10"]],'
        b'"u":5,"seq":7},"cts":1733011200690}'
    )
    (quote,) = feed.parse_ws(frame, 0)
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        19531, 6203, 19532, 10,
    )  # fmt: skip
    assert quote.update_id == 0  # depth 1 counts its own u (module docstring)


def test_bybit_replay_command_reports_the_recording(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "BYBIT.0"
    body = json.dumps(_xrp_instruments_response(shared_data))
    url = "https://api.bybit.com/v5/market/instruments-info?category=spot"
    capture.write_text(f"{url} -> 1733011200.0: {body}\n")
    argv = [str(shared_data / RECORDING), "--venue", "bybit", "--json"]
    assert run_replay([*argv, "--instruments", str(capture)]) == 0
    book = json.loads(capsys.readouterr().out)["books"][XRPUSDT]
    assert (book["updates"], book["snapshots"], book["gaps"]) == (49, 1, 0)
    assert (book["best_bid"], book["best_ask"]) == ("1.9537", "1.9538")
