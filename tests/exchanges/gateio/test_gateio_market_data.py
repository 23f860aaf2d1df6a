"""Gate.io market data: the real recording replays exactly; corruptions are caught."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from arbcore.cli_replay import run_replay
from arbcore.exchanges.gateio import parsing
from arbcore.exchanges.gateio.data import GateioBookFeed, book_instrument
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, VenueFeed, replay
from arbcore.marketdata.sync import BookSync
from arbcore.model import BookEvent, BookEventKind, Instrument
from arbcore.testing import fuzz
from arbcore.testing.conformance import (
    Recording,
    change_one_size,
    delta_indices,
    load_recording,
    replay_records,
)
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.fixedpoint import to_raw

pytestmark = pytest.mark.recording

OMG = "OMG/USDT"
FILES = ("real/gateio/GATEIO.http.0.0", "real/gateio/GATEIO.ws.1.0")
BTC_USDT = Instrument.from_text(
    venue="gateio", native_symbol="BTC_USDT", base="BTC", quote="USDT",
    tick_size="0.01", lot_size="0.0001",
)  # fmt: skip


@pytest.fixture(scope="module")
def recording(shared_data: Path) -> Recording:
    return load_recording("gateio", [shared_data / name for name in FILES])


def _vector(shared_data: Path, name: str) -> Any:
    return json.loads((shared_data / "vectors/gateio" / name).read_text())


def _frame(message: Any) -> bytes:
    return json.dumps(message).encode()


def _btc_feed() -> GateioBookFeed:
    return GateioBookFeed(SymbolMap.of("gateio", [BTC_USDT]))


def test_gateio_recording_syncs_every_pair_with_zero_gaps(recording: Recording) -> None:
    report = replay_records(recording).as_json()
    books = report["books"]
    # SOURCES.md: 8 pairs have updates after their snapshot, all gap-free; INK_USDT and
    # BTC_USDC had none newer than their snapshot
    assert {symbol: book["updates"] for symbol, book in books.items()} == {
        "BTC/USDC": 0, "DIS/USDT": 17, "FAST/USDT": 20, "HAI/ETH": 5, "INK/USDT": 0,
        "NANO/USDT": 4, "NEO/BTC": 36, "OMG/USDT": 50, "QTUM3S/USDT": 16, "ZKS/ETH": 11,
    }  # fmt: skip
    for book in books.values():
        assert (book["snapshots"], book["gaps"], book["resyncs"], book["crossed"]) == (1, 0, 0, 0)
    assert (books[OMG]["best_bid"], books[OMG]["best_ask"]) == ("7.89900000", "7.92700000")
    assert (report["messages"], report["book_events"], report["malformed"]) == (249, 182, 0)


def test_gateio_dropped_delta_is_a_gap_at_that_message_and_resyncs(recording: Recording) -> None:
    records = list(recording.records)
    deltas = delta_indices(recording, OMG)
    del records[deltas[10]]
    book = replay_records(recording, records).as_json()["books"][OMG]
    assert (book["gaps"], book["resyncs"]) == (1, 1)
    # the first diff (U = u = the snapshot id) was in the snapshot; diffs 1..9 applied
    assert book["updates"] == 9
    assert (book["best_bid"], book["best_ask"]) == (None, None)  # no later snapshot: stale


def test_gateio_swapped_deltas_are_a_gap_and_resync(recording: Recording) -> None:
    records = list(recording.records)
    deltas = delta_indices(recording, OMG)
    a, b = deltas[20], deltas[21]
    records[a], records[b] = records[b], records[a]
    book = replay_records(recording, records).as_json()["books"][OMG]
    assert (book["gaps"], book["resyncs"], book["updates"], book["best_bid"]) == (1, 1, 19, None)


def test_gateio_changed_size_is_invisible_to_the_protocol(recording: Recording) -> None:
    # Gate spot books have no checksum and spot.tickers carry no sizes or update id: a changed
    # size cannot be detected from the stream. Pinned so the limitation stays visible.
    records = list(recording.records)
    index = delta_indices(recording, OMG)[10]
    records[index] = change_one_size(records[index])
    clean = replay_records(recording).as_json()["books"][OMG]
    book = replay_records(recording, records).as_json()["books"][OMG]
    assert (book["gaps"], book["resyncs"], book["updates"]) == (0, 0, clean["updates"])


def test_gateio_documentation_legacy_full_update_is_a_snapshot(shared_data: Path) -> None:
    frame = _frame(_vector(shared_data, "ws_order_book_update.json")["notification"])
    event = parsing.parse_book_update(frame, _btc_feed().symbols)
    scale = 10**8  # book scale: BOOK_PRICE_MIN_DECIMALS
    assert (event.kind, event.first_seq, event.last_seq) == (
        BookEventKind.SNAPSHOT, 48776301, 48776306,
    )  # fmt: skip
    assert event.sides.tolist() == [BID, BID, ASK]
    assert event.prices.tolist() == [
        1913774 * scale // 100,
        1908837 * scale // 100,
        1913775 * scale // 100,
    ]
    assert event.sizes.tolist() == [to_raw("0.0001", 10), 0, to_raw("0.6135", 10)]
    assert event.ts_event_ns == 1606294781123 * 1_000_000


def test_gateio_documentation_rest_snapshot_parses_to_its_values(shared_data: Path) -> None:
    body = _frame(_vector(shared_data, "rest_order_book.json")["response"])
    url = (
        "https://api.gateio.ws/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true"
    )
    (event,) = _btc_feed().parse_rest(url, body, 0)
    assert (event.kind, event.last_seq) == (BookEventKind.SNAPSHOT, 123456)
    assert event.sides.tolist() == [BID, BID, ASK, ASK]
    assert event.prices.tolist() == [to_raw(p, 8) for p in ("1.17", "1.16", "1.52", "1.53")]
    assert event.sizes.tolist() == [to_raw(s, 10) for s in ("201.863", "725.464", "1.151", "1.218")]
    assert event.ts_event_ns == 1623898993121 * 1_000_000


def test_gateio_documentation_obu_snapshot_then_increment_syncs(shared_data: Path) -> None:
    vector = _vector(shared_data, "ws_obu_v2.json")
    feed = _btc_feed()
    (full,) = feed.parse_ws(_frame(vector["full_snapshot"]), 0, 0)
    (increment,) = feed.parse_ws(_frame(vector["incremental"]), 0, 0)
    assert (full.kind, full.first_seq, full.last_seq) == (
        BookEventKind.SNAPSHOT, 73777715168, 73777715168,
    )  # fmt: skip
    assert (increment.kind, increment.first_seq, increment.last_seq) == (
        BookEventKind.DELTA, 73777715169, 73777715212,
    )  # fmt: skip
    assert increment.sizes.tolist() == [to_raw(s, 10) for s in ("10343", "509392", "0", "0")]
    assert feed.parse_ws(_frame(vector["subscribe_ack"]), 0, 0) == []
    sync = feed.new_sync(feed.symbols.by_symbol["BTC/USDT"])
    assert sync.on_event(full)
    assert sync.on_event(increment)  # U == snapshot u + 1: continuous
    assert (sync.book.best_bid(), sync.book.best_ask()) == (to_raw("104027.1", 8), None)
    assert sync.book.best_bid_size() == to_raw("509392", 10)


def test_gateio_book_scales_are_finer_than_the_pair_list(recording: Recording) -> None:
    listed = {i.symbol: i for i in recording.instruments}
    zks = book_instrument(listed["ZKS/ETH"])
    # ZKS_ETH: precision 6 in the list, 8-decimal prices in the book; sizes to 10 decimals
    assert (listed["ZKS/ETH"].price_decimals, zks.price_decimals, zks.size_decimals) == (6, 8, 10)
    assert zks.tick_size == 100  # 0.000001 at 8 decimals


def test_gateio_scanner_and_validating_path_agree_on_every_recorded_update(
    recording: Recording,
) -> None:
    symbols = recording.feed().symbols
    checked = 0
    for record in recording.records:
        if b'"spot.order_book_update","event":"update"' not in record.payload:
            continue
        fast = parsing.parse_book_update(record.payload, symbols)
        slow = parsing._validated_book_update(record.payload, symbols, 0)
        assert (fast.kind, fast.first_seq, fast.last_seq, fast.symbol, fast.ts_event_ns) == (
            slow.kind, slow.first_seq, slow.last_seq, slow.symbol, slow.ts_event_ns,
        )  # fmt: skip
        assert fast.sides.tolist() == slow.sides.tolist()
        assert fast.prices.tolist() == slow.prices.tolist()
        assert fast.sizes.tolist() == slow.sizes.tolist()
        checked += 1
    assert checked == 172


def test_gateio_rest_snapshot_scanner_agrees_with_the_validating_path(
    recording: Recording, shared_data: Path
) -> None:
    symbols = recording.feed().symbols
    bodies = [record for record in recording.records if record.kind == "rest"]
    vector = _vector(shared_data, "rest_order_book.json")["response"]
    btc = _btc_feed().symbols.by_symbol["BTC/USDT"]
    cases = [(record.payload, symbols.get(_pair(record.url))) for record in bodies]
    cases.append((json.dumps(vector, separators=(",", ":")).encode(), btc))
    for body, instrument in cases:
        assert instrument is not None
        fast = parsing._scan_order_book(body, instrument, 7)
        slow = parsing._validated_order_book(body, instrument, 7)
        assert fast is not None  # read by the one-pass reader, not the fallback
        assert fuzz.event_key(fast) == fuzz.event_key(slow)
        assert len(fast.prices) > 0
    assert len(cases) == 11


def _pair(url: str | None) -> str:
    assert url is not None
    return url.split("currency_pair=")[1].split("&")[0]


def test_gateio_feed_ignores_acks_tickers_and_unknown_pairs(recording: Recording) -> None:
    feed = recording.feed()
    ack = (
        b'{"time":1619093532,"channel":"spot.order_book_update","event":"subscribe",'
        b'"result":{"status":"success"}}'
    )
    assert feed.parse_ws(ack, 0, 0) == []
    ticker = next(
        r.payload for r in recording.records if b'"spot.tickers","event":"update"' in r.payload
    )
    assert feed.parse_ws(ticker, 0, 0) == []
    other = (
        b'{"time":1,"channel":"spot.order_book_update","event":"update","result":{"t":1,'
        b'"s":"NO_SUCH","U":1,"u":2,"b":[],"a":[]}}'
    )
    assert feed.parse_ws(other, 0, 0) == []
    assert feed.parse_rest("https://api.gateio.ws/api/v4/spot/currency_pairs", b"[]", 0) == []


def test_gateio_replay_command_reports_the_recording(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*(str(shared_data / name) for name in FILES), "--venue", "gateio", "--json"]
    assert run_replay(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["messages"], report["book_events"], report["malformed"]) == (249, 182, 0)
    assert report["books"][OMG]["updates"] == 50


# -- the fast delta path (parse_delta_into) -------------------------------------------------------


def _parse_ws_only(feed: VenueFeed) -> VenueFeed:
    """The feed without its fast path: replay then reads every frame with parse_ws."""
    return cast(VenueFeed, SimpleNamespace(
        venue=feed.venue, symbols=feed.symbols, parse_ws=feed.parse_ws,
        parse_rest=feed.parse_rest, new_sync=feed.new_sync,
    ))  # fmt: skip


def _book_state(sync: BookSync) -> tuple[Any, ...]:
    levels = [array.tolist() for side in (BID, ASK) for array in sync.book.levels(side)]
    return sync.counters.as_dict(), sync.book_id, sync.in_sync, levels


def _outcome(report: ReplayReport) -> dict[str, Any]:
    """Everything a replay leaves: totals, and per book its counters, sequence and all levels."""
    books = {symbol: _book_state(book.sync) for symbol, book in report.books.items()}
    return {"totals": (report.messages, report.book_events, report.malformed), "books": books}


@pytest.mark.parametrize("corruption", ["none", "dropped", "swapped"])
def test_gateio_fast_path_replays_exactly_like_parse_ws(
    recording: Recording, corruption: str
) -> None:
    records = list(recording.records)
    deltas = delta_indices(recording, OMG)
    if corruption == "dropped":
        del records[deltas[10]]
    elif corruption == "swapped":
        a, b = deltas[20], deltas[21]
        records[a], records[b] = records[b], records[a]
    fast = replay(records, recording.feed())
    slow = replay(records, _parse_ws_only(recording.feed()))
    assert _outcome(fast) == _outcome(slow)
    assert sum(book.sync.counters.updates for book in fast.books.values()) > 100
    gaps = sum(book.sync.counters.gaps for book in fast.books.values())
    assert gaps == (0 if corruption == "none" else 1)


def test_gateio_fast_delta_path_reads_every_update_as_parse_ws(recording: Recording) -> None:
    feed = recording.feed()
    assert isinstance(feed, GateioBookFeed)
    levels = LevelBuffer(8)  # smaller than most updates: the scanner grows it
    scanned = 0
    for record in recording.records:
        if record.kind != "ws":
            continue
        result = feed.parse_delta_into(record.payload, 0, 0, levels)
        events = feed.parse_ws(record.payload, 0, 0)
        if result is None:
            assert not any(event.kind is BookEventKind.DELTA for event in events)
            continue
        (event,) = events
        assert isinstance(event, BookEvent)
        symbol, seq = result
        assert (symbol, seq.first_seq, seq.last_seq, seq.prev_seq, seq.ts_event_ns) == (
            event.symbol, event.first_seq, event.last_seq, None, event.ts_event_ns,
        )  # fmt: skip
        assert [array.tolist() for array in levels.arrays()] == [
            event.sides.tolist(), event.prices.tolist(), event.sizes.tolist(),
        ]  # fmt: skip
        scanned += 1
    assert scanned == 172  # every recorded spot.order_book_update


def test_gateio_fast_delta_path_leaves_snapshots_and_other_shapes_to_parse_ws(
    shared_data: Path,
) -> None:
    feed = _btc_feed()
    levels = LevelBuffer()
    full = _vector(shared_data, "ws_order_book_update.json")["notification"]
    increment = dict(full, result={k: v for k, v in full["result"].items() if k != "full"})
    compact = json.dumps(increment, separators=(",", ":")).encode()
    assert feed.parse_delta_into(compact, 0, 0, levels) is not None  # the plain delta
    declined = [
        json.dumps(full, separators=(",", ":")).encode(),  # full: true is a snapshot
        json.dumps(increment).encode(),  # not Gate's compact form
        compact.replace(b'"U":', b'"V":'),  # no U
        compact.replace(b'"BTC_USDT"', b'"ETH_USDT"'),  # a pair the feed does not keep
        _frame(_vector(shared_data, "ws_obu_v2.json")["incremental"]),  # spot.obu
    ]
    for frame in declined:
        assert feed.parse_delta_into(frame, 0, 0, levels) is None, frame
