"""OKX spot market data: the 2022 recording replays with every checksum; corruptions are caught."""

from __future__ import annotations

import itertools
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from arbcore.cli_replay import run_replay
from arbcore.exchanges.okx import parsing
from arbcore.exchanges.okx.data import OKXBookFeed, OKXSeqRule
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, Continuity, SeqView
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.testing.conformance import (
    Recording,
    change_one_size,
    delta_indices,
    load_recording,
    replay_records,
)
from arbcore.testing.instruments import load_rest_body
from arbcore_ext.book import L2Book, LevelBuffer
from arbcore_ext.deltapath import APPLIED, DECLINED

pytestmark = pytest.mark.recording

BTCUSDT = "BTC/USDT"
VECTOR_BTC = Instrument.from_text(
    venue="okx", native_symbol="BTC-USDT", base="BTC", quote="USDT",
    tick_size="0.01", lot_size="0.00000001",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _quiet_resync_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="arbcore.marketdata.sync")


@pytest.fixture(scope="module")
def okx(shared_data: Path) -> Recording:
    return load_recording("okx", [shared_data / "real/okx/OKX.ws.1.0"])


def _derivative(folder: Path, inst_type: str, inst_id: str) -> Instrument:
    """A futures/swap contract as an instrument (only to check its books' checksums)."""
    body = load_rest_body(folder / "OKX.0", f"instType={inst_type}")
    (entry,) = [item for item in body["data"] if item["instId"] == inst_id]
    base, quote = entry["uly"].split("-")
    return Instrument.from_text(
        venue="okx", native_symbol=inst_id, base=base, quote=quote,
        tick_size=entry["tickSz"], lot_size=entry["lotSz"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def okx_all_books(shared_data: Path) -> Recording:
    """The same recording with the future and the swap listed too: all 290 books pushes."""
    folder = shared_data / "real/okx"
    extra = [
        _derivative(folder, "FUTURES", "BTC-USD-220527"),
        _derivative(folder, "SWAP", "UNI-USD-SWAP"),
    ]
    return load_recording("okx", [folder / "OKX.ws.1.0"], instruments=extra)


def _vector(shared_data: Path, name: str) -> Any:
    return json.loads((shared_data / "vectors/okx" / name).read_text())


def _frame(message: Any) -> bytes:
    return json.dumps(message, indent=2).encode()


# -- the recording ---------------------------------------------------------------------------------


def test_okx_recording_replays_spot_book_with_every_checksum(okx: Recording) -> None:
    report = replay_records(okx).as_json()
    # the capture's books are BTC-USDT, UNI-USD-SWAP and BTC-USD-220527; only BTC-USDT is spot
    assert list(report["books"]) == [BTCUSDT]
    assert (report["messages"], report["book_events"], report["malformed"]) == (410, 98, 0)
    book = report["books"][BTCUSDT]
    # SOURCES.md: BTC-USDT's share of the 290 pushes is 1 snapshot + 97 updates, all checksums ok
    assert (book["snapshots"], book["updates"], book["gaps"], book["resyncs"]) == (1, 97, 0, 0)
    assert (book["checksum_ok"], book["checksum_failed"], book["crossed"]) == (98, 0, 0)
    assert (book["best_bid"], book["best_ask"]) == ("30236.1", "30236.2")


def test_okx_all_290_books_pushes_pass_the_checksum(okx_all_books: Recording) -> None:
    books = replay_records(okx_all_books).as_json()["books"]
    counts = {s: (b["snapshots"], b["updates"], b["checksum_ok"]) for s, b in books.items()}
    assert counts == {"BTC/USD": (1, 98, 99), "BTC/USDT": (1, 97, 98), "UNI/USD": (1, 92, 93)}
    assert sum(book["checksum_ok"] for book in books.values()) == 290  # SOURCES.md: 290/290
    assert all(book["checksum_failed"] == book["gaps"] == 0 for book in books.values())


def test_okx_feed_ignores_non_spot_trades_tickers_and_acks(okx: Recording) -> None:
    feed = okx.feed()
    by_channel: dict[str, list[int]] = {}
    for record in okx.records:
        if record.kind != "ws":
            continue
        channel = parsing.string_at(record.payload, b"channel") or "?"
        if b'"event"' in record.payload:
            channel = "ack"
        events = feed.parse_ws(record.payload, record.ts_ns, record.connection)
        by_channel.setdefault(channel, []).append(len(events))
    # SOURCES.md: 410 received messages, 290 of them books pushes
    assert {channel: len(found) for channel, found in by_channel.items()} == {
        "ack": 18, "books": 290, "trades": 74, "tickers": 28,
    }  # fmt: skip
    # tickers carry no update id to pin them to a book state: no quotes from them
    assert sum(by_channel["books"]) == 98
    assert sum(by_channel["trades"]) == sum(by_channel["tickers"]) == sum(by_channel["ack"]) == 0


# -- corrupted copies ------------------------------------------------------------------------------


def _book(recording: Recording, records: list[Any]) -> dict[str, Any]:
    book: dict[str, Any] = replay_records(recording, records).as_json()["books"][BTCUSDT]
    return book


def test_okx_dropped_update_fails_the_checksum_at_the_next_update(okx: Recording) -> None:
    deltas = delta_indices(okx, BTCUSDT)
    records = list(okx.records)
    del records[deltas[40]]
    following = deltas[41] - 1  # its position once the dropped one is gone
    assert _book(okx, records[:following])["checksum_failed"] == 0
    assert _book(okx, records[: following + 1])["checksum_failed"] == 1
    book = _book(okx, records)
    assert (book["checksum_failed"], book["gaps"], book["resyncs"]) == (1, 0, 1)
    assert book["updates"] == 41  # 40 before the hole, then the one that failed
    assert book["best_bid"] is None  # no second snapshot in the file: the book stays stale


def test_okx_every_dropped_update_is_caught_at_the_next_one(okx: Recording) -> None:
    deltas = delta_indices(okx, BTCUSDT)
    assert len(deltas) == 97
    caught = 0
    for dropped, following in itertools.pairwise(deltas):
        records = [r for i, r in enumerate(okx.records[: following + 1]) if i != dropped]
        caught += _book(okx, records)["checksum_failed"]
    assert caught == 96  # every one but the last, which has no next update to fail


def test_okx_swapped_updates_fail_the_checksum_at_the_first(okx: Recording) -> None:
    deltas = delta_indices(okx, BTCUSDT)
    records = list(okx.records)
    a, b = deltas[60], deltas[61]
    records[a], records[b] = records[b], records[a]
    assert _book(okx, records[:a])["checksum_failed"] == 0
    assert _book(okx, records[: a + 1])["checksum_failed"] == 1
    book = _book(okx, records)
    assert (book["checksum_failed"], book["resyncs"], book["best_bid"]) == (1, 1, None)


_SIZE_TAIL = re.compile(rb',"0","\d+"\]')  # a size is followed by the deprecated "0" and a count


def _first_size(found: list[re.Match[bytes]]) -> re.Match[bytes]:
    return next(m for m in found if _SIZE_TAIL.match(m.string, m.end()))


def test_okx_changed_size_fails_the_checksum_at_that_update(okx: Recording) -> None:
    deltas = delta_indices(okx, BTCUSDT)
    records = list(okx.records)
    at = deltas[30]
    records[at] = change_one_size(records[at], _first_size)
    assert records[at].payload != okx.records[at].payload
    assert _book(okx, records[:at])["checksum_failed"] == 0
    assert _book(okx, records[: at + 1])["checksum_failed"] == 1
    book = _book(okx, records)
    assert (book["checksum_failed"], book["resyncs"], book["best_bid"]) == (1, 1, None)


# -- scanner against the validating path -----------------------------------------------------------


def test_okx_scanner_and_validating_path_agree_on_every_books_push(
    okx_all_books: Recording,
) -> None:
    symbols = SymbolMap.of("okx", okx_all_books.instruments)
    checked = 0
    for record in okx_all_books.records:
        if b'"channel":"books"' not in record.payload or b'"action"' not in record.payload:
            continue
        fast = parsing.parse_book(record.payload, symbols)
        slow = parsing._validated_book(record.payload, symbols, 0)
        fields = ("symbol", "kind", "first_seq", "last_seq", "prev_seq", "checksum", "ts_event_ns")
        assert [getattr(fast, f) for f in fields] == [getattr(slow, f) for f in fields]
        assert fast.sides.tolist() == slow.sides.tolist()
        assert fast.prices.tolist() == slow.prices.tolist()
        assert fast.sizes.tolist() == slow.sizes.tolist()
        assert fast.checksum is not None  # 2022: a checksum on every push, no seqId yet
        assert fast.prev_seq is None
        checked += 1
    assert checked == 290


def test_okx_fast_delta_path_matches_parse_ws(okx: Recording) -> None:
    feed = OKXBookFeed(SymbolMap.of("okx", okx.instruments))
    levels = LevelBuffer(256)
    scanned = 0
    for record in okx.records:
        result = feed.parse_delta_into(record.payload, 0, 0, levels)
        if result is None:
            continue
        symbol, seq = result
        (event,) = feed.parse_ws(record.payload, 0, 0)
        assert isinstance(event, BookEvent)
        assert event.kind is BookEventKind.DELTA
        assert (symbol, seq.checksum, seq.prev_seq) == (event.symbol, event.checksum, None)
        assert levels.arrays()[1].tolist() == event.prices.tolist()
        scanned += 1
    assert scanned == 97


def test_okx_replay_command_prints_the_report(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = shared_data / "real/okx/OKX.ws.1.0"
    assert run_replay([str(recording), "--venue", "okx", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["venue"] == "okx"
    book = document["books"][BTCUSDT]
    assert (book["updates"], book["checksum_ok"], book["checksum_failed"]) == (97, 98, 0)


# -- documentation vectors -------------------------------------------------------------------------


def test_okx_documentation_snapshot_and_update_parse_to_their_values(shared_data: Path) -> None:
    symbols = SymbolMap.of("okx", [VECTOR_BTC])
    snapshot = parsing.parse_book(_frame(_vector(shared_data, "books_snapshot.json")), symbols)
    update = parsing.parse_book(_frame(_vector(shared_data, "books_update.json")), symbols)
    assert (snapshot.kind, snapshot.last_seq, snapshot.prev_seq) == (
        BookEventKind.SNAPSHOT, 123456, -1,
    )  # fmt: skip
    assert (update.kind, update.last_seq, update.prev_seq) == (BookEventKind.DELTA, 123457, 123456)
    for event in (snapshot, update):
        assert event.checksum is None  # "checksum": 0 since the deprecation means absent
        assert event.ts_event_ns == 1597026383085 * 1_000_000
        assert event.sides.tolist() == [1] * 8 + [0] * 8  # asks first, as sent
        assert event.prices.tolist()[:2] == [847698, 847700]  # "8476.98", "8477"
        assert event.sizes.tolist()[:2] == [415 * 10**8, 7 * 10**8]
        assert event.prices.tolist()[8:] == [
            847697, 847555, 847554, 847530, 844732, 844702, 844683, 844600,
        ]  # fmt: skip


def test_okx_pre_deprecation_snapshot_keeps_its_illustrative_checksum(shared_data: Path) -> None:
    frame = _frame(_vector(shared_data, "books_snapshot_pre_deprecation.json"))
    event = parsing.parse_book(frame, SymbolMap.of("okx", [VECTOR_BTC]))
    assert event.checksum == -855196043
    sync = BookSync("okx", BTCUSDT, new_book(VECTOR_BTC), OKXSeqRule(),
                    checksum=parsing.book_checksum)  # fmt: skip
    sync.on_event(event)
    # the docs' sample value is not the CRC of the sample book (exchanges-a.md 2.3): refused
    assert (sync.counters.checksum_failed, sync.in_sync) == (1, False)


@pytest.mark.parametrize("case", [0, 1, 2])
def test_okx_checksum_matches_the_documented_check_string(shared_data: Path, case: int) -> None:
    vector = _vector(shared_data, "checksum_vectors.json")["cases"][case]
    book = L2Book(2, 0)
    for side, key in ((0, "bids"), (1, "asks")):
        for level in vector[key]:
            book.set_level(side, level[0], level[1])
    expected = vector.get("check_string_from_docs") or vector["check_string"]
    assert parsing.checksum_text(book) == expected
    assert parsing.book_checksum(book) == vector["crc32_signed_int32"]


def test_okx_documentation_books5_push_is_a_quote_at_its_seq_id(shared_data: Path) -> None:
    bch = Instrument.from_text(
        venue="okx", native_symbol="BCH-USDT-SWAP", base="BCH", quote="USDT",
        tick_size="0.01", lot_size="1",
    )  # fmt: skip
    frame = _frame(_vector(shared_data, "books5_push.json"))
    (quote,) = OKXBookFeed(SymbolMap.of("okx", [bch])).parse_ws(frame, 7)
    assert isinstance(quote, Quote)
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        11105, 57745, 11106, 55154,
    )  # fmt: skip
    assert (quote.update_id, quote.ts_event_ns, quote.ts_recv_ns) == (
        363996337, 1670324386802 * 1_000_000, 7,
    )  # fmt: skip


def _seq(prev: int | None, seq: int) -> SeqView:
    return SeqView(first_seq=seq, last_seq=seq, prev_seq=prev)


def test_okx_rule_follows_the_documented_seq_id_walk_through(shared_data: Path) -> None:
    messages = _vector(shared_data, "seqid_sequence_example.json")["messages"]
    rule = OKXSeqRule()
    book_id = messages[0]["seqId"]  # the snapshot
    for message in messages[1:]:  # normal, keep-alive, reset (seqId < prevSeqId), normal
        assert rule.check(book_id, _seq(message["prevSeqId"], message["seqId"])) is Continuity.APPLY
        book_id = message["seqId"]
    assert book_id == 5
    assert rule.check(15, _seq(10, 15)) is Continuity.SKIP  # already applied
    assert rule.check(10, _seq(15, 20)) is Continuity.GAP  # 10 -> 15 missing
    assert rule.check(0, _seq(None, 0)) is Continuity.APPLY  # pre-seqId push: checksum decides


def _push(action: str, prev: int, seq: int, bids: list[list[str]]) -> bytes:
    entry = {"asks": [["8477", "1", "0", "1"]], "bids": [[*level, "0", "1"] for level in bids],
             "ts": "1", "checksum": 0, "prevSeqId": prev, "seqId": seq}  # fmt: skip
    message = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action, "data": [entry]}
    return json.dumps(message, separators=(",", ":")).encode()


def test_okx_rest_snapshot_aligns_buffered_updates_by_seq_id(shared_data: Path) -> None:
    feed = OKXBookFeed(SymbolMap.of("okx", [VECTOR_BTC]))
    url = "https://www.okx.com/api/v5/market/books?instId=BTC-USDT&sz=400"
    documented = _frame(_vector(shared_data, "rest_books_response.json"))
    assert feed.parse_rest(url, documented) == []  # no seqId: it cannot be aligned
    sync = feed.new_sync(VECTOR_BTC)
    for prev, seq, bid in ((90, 100, "8470"), (100, 110, "8471"), (110, 120, "8472")):
        for event in feed.parse_ws(_push("update", prev, seq, [[bid, "2"]]), 0):
            assert isinstance(event, BookEvent)
            sync.on_event(event)
    body = json.loads(documented)
    body["data"][0].update(asks=[["8477", "1", "0", "1"]], bids=[["8460", "1", "0", "1"]],
                           seqId=105)  # fmt: skip
    (snapshot,) = feed.parse_rest(url, json.dumps(body).encode())
    sync.on_event(snapshot)
    # 100 <= 105: skipped; 100 <= 105 < 110: the first kept; then the chain
    assert (sync.counters.skipped, sync.counters.updates, sync.counters.gaps) == (1, 2, 0)
    assert (sync.book_id, sync.book.best_bid()) == (120, 847200)
    gap = feed.parse_ws(_push("update", 125, 130, [["8473", "1"]]), 0)[0]
    assert isinstance(gap, BookEvent)
    sync.on_event(gap)
    assert (sync.counters.gaps, sync.counters.resyncs, sync.fresh_book()) == (1, 1, None)


def test_okx_feed_ignores_pong_errors_and_unknown_instruments() -> None:
    feed = OKXBookFeed(SymbolMap.of("okx", [VECTOR_BTC]))
    assert feed.parse_ws(b"pong", 0) == []
    error = b'{"id":"1512","event":"error","code":"60012","msg":"Invalid request"}'
    assert feed.parse_ws(error, 0) == []
    other = _push("update", 1, 2, []).replace(b"BTC-USDT", b"ETH-USDT")
    assert feed.parse_ws(other, 0) == []
    assert feed.parse_rest("https://www.okx.com/api/v5/public/time", b"{}") == []


# -- the compiled path (arbcore_ext.okxpath) on the recording --------------------------------------


def test_okx_path_reads_every_push_as_the_validating_parser(okx_all_books: Recording) -> None:
    symbols = SymbolMap.of("okx", okx_all_books.instruments)
    path = OKXBookFeed(symbols).delta_path
    fields = ("symbol", "kind", "first_seq", "last_seq", "prev_seq", "checksum", "ts_event_ns")
    read = 0
    for record in okx_all_books.records:
        if b'"action"' not in record.payload or b'"event"' in record.payload:
            continue
        push = path.push_of(record.payload)
        assert push is not None
        fast = parsing.push_event(push, path.levels, 3)
        slow = parsing._validated_book(record.payload, symbols, 3)
        assert [getattr(fast, f) for f in fields] == [getattr(slow, f) for f in fields]
        for name in ("sides", "prices", "sizes"):
            assert getattr(fast, name).tolist() == getattr(slow, name).tolist()
        read += 1
    assert read == 290


def test_okx_recorded_updates_are_applied_in_c_with_every_checksum(okx: Recording) -> None:
    feed = OKXBookFeed(SymbolMap.of("okx", okx.instruments))
    path = feed.delta_path
    sync = None
    statuses = []
    for record in okx.records:
        if record.kind != "ws" or b'"instId":"BTC-USDT"},"action"' not in record.payload:
            continue
        status = path.apply(record.payload, record.ts_ns)
        if status == DECLINED:  # the snapshot: the BookSync loads it from parse_ws
            (snapshot,) = feed.parse_ws(record.payload, record.ts_ns)
            assert isinstance(snapshot, BookEvent)
            sync = feed.new_sync(feed.symbols.by_symbol[snapshot.symbol])
            assert sync.on_event(snapshot)
            path.attach(snapshot.symbol, sync.core, sync)
        else:
            statuses.append(status)
    assert sync is not None
    assert statuses == [APPLIED] * 97
    counters = sync.counters
    assert (counters.updates, counters.checksum_ok, counters.snapshots) == (97, 98, 1)


_CRAFTED = [
    b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}',
    b'{"arg":{"channel":"books","instId":"NOPE-USDT"},"action":"update","data":[]}',
    b'{"arg":{"channel":"bbo-tbt","instId":"NOPE-USDT"},"data":[]}',
    b'{"arg":{"channel":"tickers","instId":"BTC-USDT"},"event":"x"}',
    b'{"arg":{"channel":"books","instId":"eth-usdt"},"action":"update","data":[]}',
    b'{"arg":{"channel":"b\xc3\xb6oks","instId":"BTC-USDT"},"data":[]}',
    b'{"arg":{"channel":"books","instId":"B\xc3\xb6-USDT"},"data":[]}',
    b'{"arg":{"channel":"books","instId":"btc-usdt"},"action":"update","data":[{"asks":[],'
    b'"bids":[["8461","2","0","1"]],"ts":"1","checksum":0}]}',
    b'{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}',
    b"pong",
]


def _outcome(parse: Any, frame: bytes) -> Any:
    try:
        events = parse(frame)
    except Exception as exc:  # the outcome compared is the error's type
        return type(exc)
    fields = ("symbol", "kind", "last_seq", "prev_seq", "checksum")
    return [(type(e), *(getattr(e, f, None) for f in fields)) for e in events]


def test_okx_parse_ws_yields_what_parse_frame_yields(okx: Recording) -> None:
    """The path sets aside (``ignores``) only frames ``parse_frame`` yields nothing for, and
    the pushes it reads give the events ``parse_frame`` gives."""
    symbols = SymbolMap.of("okx", okx.instruments)
    feed = OKXBookFeed(symbols)
    frames = [r.payload for r in okx.records if r.kind == "ws"] + _CRAFTED
    ignored = 0
    for frame in frames:
        expected = _outcome(lambda f: parsing.parse_frame(f, symbols, 0), frame)
        assert _outcome(lambda f: feed.parse_ws(f, 0, 0), frame) == expected, frame
        if feed.delta_path.ignores(frame):
            assert expected == []
            ignored += 1
    # the recording: 192 pushes of the future and the swap, 74 trades, 28 tickers; crafted: 4
    assert ignored == 192 + 74 + 28 + 4
