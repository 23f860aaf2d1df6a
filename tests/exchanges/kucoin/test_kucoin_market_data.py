"""KuCoin market data: the real recording replays exactly; corruptions are caught; the fast
delta path replays exactly like parse_ws."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbcore.cli_replay import run_replay
from arbcore.exchanges.kucoin import parsing
from arbcore.exchanges.kucoin.data import KucoinBookFeed, book_instrument
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import BookReport, ReplayReport, VenueFeed, replay
from arbcore.marketdata.records import Record
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.testing import fuzz
from arbcore.testing.conformance import Recording, delta_indices, load_recording, replay_records
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.fixedpoint import to_text

pytestmark = pytest.mark.recording

BSV = "BSV/USDT"  # native BCHSV-USDT
BSV_SNAPSHOT_SEQ = 1613277183892
FILES = ("real/kucoin/KUCOIN.http.0.0", "real/kucoin/KUCOIN.ws.1.0")
BTC = Instrument.from_text(
    venue="kucoin", native_symbol="BTC-USDT", base="BTC", quote="USDT",
    tick_size="0.1", lot_size="0.00000001",
)  # fmt: skip


@pytest.fixture(scope="module")
def recording(shared_data: Path) -> Recording:
    return load_recording("kucoin", [shared_data / name for name in FILES])


def _vector(shared_data: Path, name: str) -> bytes:
    return json.dumps(json.loads((shared_data / "vectors/kucoin" / name).read_text())).encode()


def test_kucoin_recording_syncs_every_snapshot_with_zero_gaps(recording: Recording) -> None:
    report = replay_records(recording).as_json()
    books = report["books"]
    # SOURCES.md: applicable updates per symbol after its REST snapshot, zero gaps
    assert {symbol: book["updates"] for symbol, book in books.items()} == {
        "ANKR/BTC": 243, "BSV/USDT": 2342, "CAPP/BTC": 92, "COV/BTC": 48, "DAPPT/BTC": 162,
        "EQZ/BTC": 40, "FET/BTC": 218, "NRG/BTC": 60, "SNX/BTC": 600,
    }  # fmt: skip
    for book in books.values():
        assert (book["snapshots"], book["gaps"], book["resyncs"], book["crossed"]) == (1, 0, 0, 0)
        assert book["bbo_mismatches"] == 0
    # every ticker whose sequence is a book state the feed passed through matches the book
    assert sum(book["bbo_matches"] for book in books.values()) == 798
    assert books[BSV]["bbo_matches"] == 266
    assert (books[BSV]["best_bid"], books[BSV]["best_ask"]) == ("243.216", "243.457")
    assert (report["messages"], report["malformed"]) == (4730, 0)


def test_kucoin_dropped_delta_is_a_gap_at_that_message_and_resyncs(recording: Recording) -> None:
    records = list(recording.records)
    dropped = delta_indices(recording, BSV)[100]
    (event,) = recording.feed().parse_ws(records[dropped].payload, 0, 0)
    del records[dropped]
    book = replay_records(recording, records).as_json()["books"][BSV]
    assert (book["gaps"], book["resyncs"]) == (1, 1)
    # every sequence after the snapshot's up to the hole applied, one per message
    assert book["updates"] == event.first_seq - 1 - BSV_SNAPSHOT_SEQ == 134
    assert (book["best_bid"], book["best_ask"]) == (None, None)  # no later snapshot: stale


def test_kucoin_swapped_deltas_are_a_gap_and_resync(recording: Recording) -> None:
    records = list(recording.records)
    deltas = delta_indices(recording, BSV)
    a, b = deltas[200], deltas[201]
    records[a], records[b] = records[b], records[a]
    book = replay_records(recording, records).as_json()["books"][BSV]
    assert (book["gaps"], book["resyncs"], book["best_bid"]) == (1, 1, None)


def test_kucoin_changed_size_is_caught_by_the_ticker_cross_check(recording: Recording) -> None:
    # KuCoin spot has no checksum: a changed size at the touch shows against trade.ticker
    feed = recording.feed()
    tickers: dict[int, Quote] = {}
    for record in recording.records:
        if b"trade.ticker" in record.payload:
            (quote,) = feed.parse_ws(record.payload, 0, 0)
            if quote.symbol == BSV:
                tickers[quote.update_id] = quote
    records = list(recording.records)
    instrument = feed.symbols.by_symbol[BSV]
    for index in delta_indices(recording, BSV):
        (event,) = feed.parse_ws(records[index].payload, 0, 0)
        quote = tickers.get(event.last_seq)
        if (
            event.last_seq <= BSV_SNAPSHOT_SEQ
            or quote is None
            or list(event.prices) != [quote.bid_price]
            or not event.sizes[0]
        ):
            continue
        message = json.loads(records[index].payload)
        message["data"]["changes"]["bids"][0][1] = instrument.size_text(int(event.sizes[0]) + 1)
        payload = json.dumps(message, separators=(",", ":")).encode()
        records[index] = attrs.evolve(records[index], payload=payload)
        break
    else:
        pytest.fail("no l2update sets the best bid at a ticker's sequence")
    book = replay_records(recording, records).as_json()["books"][BSV]
    assert (book["bbo_mismatches"], book["gaps"]) == (1, 0)


def test_kucoin_documentation_update_parses_to_its_values(shared_data: Path) -> None:
    symbols = SymbolMap.of("kucoin", [BTC])
    event = parsing.parse_level2_update(_vector(shared_data, "level2_update.json"), symbols)
    assert (event.kind, event.first_seq, event.last_seq) == (
        BookEventKind.DELTA, 14701689783, 14701689783,
    )  # fmt: skip
    assert (event.sides.tolist(), event.prices.tolist()) == ([ASK], [679933])
    assert event.sizes.tolist() == [121427407]
    assert event.ts_event_ns == 1729816425625 * 1_000_000


def test_kucoin_documentation_legacy_update_keeps_each_rows_sequence(shared_data: Path) -> None:
    frame = _vector(shared_data, "level2_update_legacy.json")
    event = parsing.parse_level2_update(frame, SymbolMap.of("kucoin", [BTC]))
    assert (event.first_seq, event.last_seq) == (14103844, 14103847)
    assert event.sides.tolist() == [ASK, ASK, BID]
    assert event.prices.tolist() == [189060, 189073, 188919]
    assert event.sizes.tolist() == [331000, 58751503, 15688000]
    assert event.row_seqs is not None
    assert event.row_seqs.tolist() == [14103845, 14103844, 14103847]


def test_kucoin_first_update_after_a_snapshot_applies_only_newer_rows(shared_data: Path) -> None:
    # protocol notes 4.2 step 5: rows whose own sequence <= the book's are already in it
    feed = KucoinBookFeed(SymbolMap.of("kucoin", [BTC]))
    instrument = feed.symbols.by_symbol["BTC/USDT"]
    sync = feed.new_sync(instrument)
    one = 10**instrument.size_decimals
    snapshot = BookEvent(
        venue="kucoin", symbol="BTC/USDT", kind=BookEventKind.SNAPSHOT,
        sides=[BID, ASK, ASK], prices=[188000, 189060, 189073], sizes=[one, 7 * one, 5 * one],
        first_seq=14103845, last_seq=14103845,
    )  # fmt: skip
    sync.on_event(snapshot)
    (event,) = feed.parse_ws(_vector(shared_data, "level2_update_legacy.json"), 0, 0)
    assert sync.on_event(event)
    bid_prices, bid_sizes = sync.book.levels(BID)
    ask_prices, ask_sizes = sync.book.levels(ASK)
    assert (bid_prices.tolist(), bid_sizes.tolist()) == (
        [188919, 188000],
        [15688 * one // 10**5, one],
    )
    # the two ask rows (sequences ...844 and ...845) were in the snapshot: left as it had them
    assert (ask_prices.tolist(), ask_sizes.tolist()) == ([189060, 189073], [7 * one, 5 * one])
    assert (sync.book_id, sync.counters.updates) == (14103847, 1)


def test_kucoin_documentation_rest_snapshot_parses_to_its_values(shared_data: Path) -> None:
    body = _vector(shared_data, "rest_orderbook_level2_response.json")
    url = "https://api.kucoin.com/api/v3/market/orderbook/level2?symbol=BTC-USDT"
    feed = KucoinBookFeed(SymbolMap.of("kucoin", [BTC]))
    (event,) = feed.parse_rest(url, body, 0)
    size_decimals = feed.symbols.by_symbol["BTC/USDT"].size_decimals
    assert (event.kind, event.last_seq) == (BookEventKind.SNAPSHOT, 14610502970)
    assert event.sides.tolist() == [BID, BID, ASK, ASK]
    assert event.prices.tolist() == [669764, 669763, 669765, 669768]
    assert [to_text(size, size_decimals) for size in event.sizes.tolist()] == [
        "0.69109872000", "0.14377000000", "0.05408199000", "0.00050000000",
    ]  # fmt: skip


def test_kucoin_recorded_ticker_parses_to_its_values(recording: Recording) -> None:
    feed = recording.feed()
    frame = next(r.payload for r in recording.records if b"/market/ticker:BCHSV-USDT" in r.payload)
    (quote,) = feed.parse_ws(frame, 0, 0)
    instrument = feed.symbols.by_symbol[BSV]
    assert (quote.symbol, quote.update_id) == (BSV, 1613277183873)
    assert instrument.price_text(quote.bid_price) == "242.654"
    assert instrument.price_text(quote.ask_price) == "242.951"
    assert instrument.size_text(quote.bid_size) == "0.68148185000"
    assert instrument.size_text(quote.ask_size) == "4.51280965000"


def test_kucoin_book_sizes_are_finer_than_the_lot(recording: Recording) -> None:
    listed = {i.symbol: i for i in recording.instruments}
    assert (listed[BSV].size_decimals, book_instrument(listed[BSV]).size_decimals) == (8, 11)
    assert book_instrument(listed["CAPP/BTC"]).size_decimals == 8  # lot 0.01, sizes 2287.04744145
    assert book_instrument(listed[BSV]).lot_size == 1000  # 0.00000001 at 11 decimals


def test_kucoin_scanner_and_validating_path_agree_on_every_recorded_update(
    recording: Recording,
) -> None:
    symbols = recording.feed().symbols
    checked = 0
    for record in recording.records:
        if b"trade.l2update" not in record.payload:
            continue
        fast = parsing.parse_level2_update(record.payload, symbols)
        slow = parsing._validated_level2_update(record.payload, symbols, 0)
        assert (fast.first_seq, fast.last_seq, fast.symbol, fast.ts_event_ns) == (
            slow.first_seq, slow.last_seq, slow.symbol, slow.ts_event_ns,
        )  # fmt: skip
        assert fast.sides.tolist() == slow.sides.tolist()
        assert fast.prices.tolist() == slow.prices.tolist()
        assert fast.sizes.tolist() == slow.sizes.tolist()
        checked += 1
    assert checked == 3853


def test_kucoin_scanners_read_every_recorded_ticker_and_snapshot_as_the_validating_path(
    recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = recording.feed()
    symbols = feed.symbols
    references = []
    for record in recording.records:
        if record.kind == "rest":
            instrument = symbols.get(str(record.url).rpartition("symbol=")[2])
            assert instrument is not None
            slow = parsing._validated_level2_snapshot(record.payload, instrument, 0)
            references.append((record, instrument, fuzz.event_key(slow)))
        elif b'"trade.ticker"' in record.payload:
            references.append((record, None, parsing._validated_ticker(record.payload, symbols, 0)))

    def refuse(*args: object) -> None:
        raise AssertionError("the scanner fell back to the validating path")

    monkeypatch.setattr(parsing, "_validated_level2_snapshot", refuse)
    monkeypatch.setattr(parsing, "_validated_ticker", refuse)
    for record, instrument, expected in references:
        if instrument is not None:
            snapshot = parsing.parse_level2_snapshot(record.payload, instrument)
            assert fuzz.event_key(snapshot) == expected
        else:
            assert parsing.parse_ticker(record.payload, symbols) == expected
    assert (sum(i is not None for _, i, _ in references), len(references)) == (9, 9 + 830)


def test_kucoin_feed_ignores_control_frames_and_unknown_symbols(recording: Recording) -> None:
    feed = recording.feed()
    assert feed.parse_ws(b'{"id":"NSkIrWGB1s","type":"welcome"}', 0, 0) == []
    assert feed.parse_ws(b'{"id":"1","type":"ack"}', 0, 0) == []
    other = (
        b'{"data":{"sequenceStart":1,"symbol":"NO-SUCH","changes":{"asks":[],"bids":[]},'
        b'"sequenceEnd":1},"subject":"trade.l2update","topic":"/market/level2:NO-SUCH",'
        b'"type":"message"}'
    )
    assert feed.parse_ws(other, 0, 0) == []
    assert feed.parse_rest("https://api.kucoin.com/api/v1/symbols", b"{}", 0) == []


def test_kucoin_price_zero_rows_only_advance_the_sequence(recording: Recording) -> None:
    feed = recording.feed()
    frame = next(r.payload for r in recording.records if b'[["0","0",' in r.payload)
    (event,) = feed.parse_ws(frame, 0, 0)
    assert (len(event.prices), event.first_seq == event.last_seq) == (0, True)
    assert np.array_equal(
        event.prices, parsing._validated_level2_update(frame, feed.symbols, 0).prices
    )


def test_kucoin_replay_command_reports_the_recording(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*(str(shared_data / name) for name in FILES), "--venue", "kucoin", "--json"]
    assert run_replay(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["messages"], report["book_events"], report["malformed"]) == (4730, 3862, 0)
    assert report["books"][BSV]["updates"] == 2342


# -- the fast delta path (parse_delta_into) -------------------------------------------------------

SNAPSHOT_URL = "https://api.kucoin.com/api/v3/market/orderbook/level2?symbol=BTC-USDT"


@pytest.fixture
def _quiet_resyncs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="arbcore.marketdata.sync")


def _parse_ws_only(feed: VenueFeed) -> VenueFeed:
    """The feed without its fast path: replay then reads every frame with parse_ws."""
    return cast(VenueFeed, SimpleNamespace(
        venue=feed.venue, symbols=feed.symbols, parse_ws=feed.parse_ws,
        parse_rest=feed.parse_rest, new_sync=feed.new_sync,
    ))  # fmt: skip


def _book_outcome(book: BookReport) -> tuple[Any, ...]:
    sync = book.sync
    levels = [array.tolist() for side in (BID, ASK) for array in sync.book.levels(side)]
    return (
        sync.counters.as_dict(),
        sync.book_id,
        sync.in_sync,
        book.bbo_matches,
        book.bbo_mismatches,
        levels,
    )


def _outcome(report: ReplayReport) -> dict[str, Any]:
    """Everything a replay leaves: totals, and per book its counters, sequence, ticker
    cross-checks and all levels."""
    books = {symbol: _book_outcome(book) for symbol, book in report.books.items()}
    return {"totals": (report.messages, report.book_events, report.malformed), "books": books}


def _replayed(records: list[Record], feed: VenueFeed) -> dict[str, Any] | type[BaseException]:
    """:func:`_outcome` of a replay, or the type of the documented error that stopped it."""
    try:
        return _outcome(replay(records, feed))
    except fuzz.DOCUMENTED_ERRORS as exc:
        return type(exc)


def _btc_feed() -> KucoinBookFeed:
    return KucoinBookFeed(SymbolMap.of("kucoin", [BTC]))


def _compact(shared_data: Path, name: str) -> bytes:
    """A documentation vector in the wire's own compact form."""
    message = json.loads((shared_data / "vectors/kucoin" / name).read_text())
    return json.dumps(message, separators=(",", ":")).encode()


@pytest.mark.usefixtures("_quiet_resyncs")
@pytest.mark.parametrize("corruption", ["none", "dropped", "swapped"])
def test_kucoin_fast_path_replays_exactly_like_parse_ws(
    recording: Recording, corruption: str
) -> None:
    records = list(recording.records)
    deltas = delta_indices(recording, BSV)
    if corruption == "dropped":
        del records[deltas[100]]
    elif corruption == "swapped":
        a, b = deltas[200], deltas[201]
        records[a], records[b] = records[b], records[a]
    fast = replay(records, recording.feed())
    assert _outcome(fast) == _outcome(replay(records, _parse_ws_only(recording.feed())))
    counters = [book.sync.counters for book in fast.books.values()]
    assert sum(c.gaps for c in counters) == (0 if corruption == "none" else 1)
    if corruption == "none":
        assert sum(c.updates for c in counters) == 3805  # SOURCES.md's per-symbol sum
        assert sum(book.bbo_matches for book in fast.books.values()) == 798


def test_kucoin_fast_delta_path_reads_every_update_as_parse_ws(recording: Recording) -> None:
    feed = recording.feed()
    assert isinstance(feed, KucoinBookFeed)
    levels = LevelBuffer(8)
    scanned = emptied = 0
    for record in recording.records:
        if record.kind != "ws":
            continue
        result = feed.parse_delta_into(record.payload, 0, 0, levels)
        events = feed.parse_ws(record.payload, 0, 0)
        if result is None:
            assert not any(isinstance(event, BookEvent) for event in events)
            continue
        (event,) = events
        assert isinstance(event, parsing.KucoinDelta)
        assert event.row_seqs is None  # one sequence: nothing for the sync to trim
        symbol, seq = result
        assert (symbol, seq.first_seq, seq.last_seq, seq.prev_seq, seq.checksum) == (
            event.symbol, event.first_seq, event.last_seq, None, None,
        )  # fmt: skip
        assert seq.ts_event_ns == event.ts_event_ns
        assert [array.tolist() for array in levels.arrays()] == [
            event.sides.tolist(), event.prices.tolist(), event.sizes.tolist(),
        ]  # fmt: skip
        scanned += 1
        emptied += not len(levels)
    assert scanned == 3853  # every recorded l2update: each has sequenceStart == sequenceEnd
    assert emptied == 1355  # a lone price-0 row: the update only advances the sequence


def test_kucoin_fast_delta_path_leaves_other_shapes_to_parse_ws(
    shared_data: Path, recording: Recording
) -> None:
    feed = _btc_feed()
    levels = LevelBuffer()
    update = _compact(shared_data, "level2_update.json")
    ticker = next(r.payload for r in recording.records if b"trade.ticker" in r.payload)
    declined = [
        _compact(shared_data, "level2_update_legacy.json"),  # rows of several sequences
        update.replace(b'"BTC-USDT"', b'"ETH-USDT"'),  # a symbol the feed does not keep
        update.replace(b'"trade.l2update"', b'"trade.l3match"'),
        update.replace(b'"67993.3"', b'"67993.3x"'),  # not in the strict shape
        update.replace(b'"sequenceStart"', b'"sequenceBegin"'),
        ticker,
        b'{"id":"1","type":"ack"}',
    ]
    for frame in declined:
        assert feed.parse_delta_into(frame, 0, 0, levels) is None, frame
    result = feed.parse_delta_into(update, 0, 0, levels)
    assert result is not None
    symbol, seq = result
    assert (symbol, seq.first_seq, seq.last_seq) == ("BTC/USDT", 14701689783, 14701689783)
    assert seq.ts_event_ns == 1729816425625 * 1_000_000
    assert [array.tolist() for array in levels.arrays()] == [[ASK], [679933], [121427407000]]


@pytest.mark.parametrize("path", ["fast", "parse_ws"])
def test_kucoin_straddling_update_applies_only_newer_rows_on_either_path(
    shared_data: Path, path: str
) -> None:
    # the legacy example (sequences 14103844..847) after a snapshot at 14103845: the fast path
    # declines it (its rows carry their own sequences) and the sync trims the two older asks
    body = {"code": "200000", "data": {
        "sequence": "14103845", "time": 1, "bids": [["18800", "1"]],
        "asks": [["18906", "7"], ["18907.3", "5"]],
    }}  # fmt: skip
    older = _compact(shared_data, "level2_update.json").replace(b"14701689783", b"14103840")
    records = [
        Record("ws", 1, older),  # buffered until the snapshot, which already holds it
        Record("rest", 2, json.dumps(body).encode(), url=SNAPSHOT_URL),
        Record("ws", 3, _compact(shared_data, "level2_update_legacy.json")),
    ]
    feed = _btc_feed()
    report = replay(records, feed if path == "fast" else _parse_ws_only(feed))
    sync = report.books["BTC/USDT"].sync
    one = 10**sync.book.size_decimals
    assert (sync.book_id, sync.counters.updates, sync.counters.skipped) == (14103847, 1, 1)
    assert [array.tolist() for array in sync.book.levels(BID)] == [
        [188919, 188000], [15688 * one // 10**5, one],
    ]  # fmt: skip
    assert [array.tolist() for array in sync.book.levels(ASK)] == [
        [189060, 189073], [7 * one, 5 * one],
    ]  # fmt: skip


@pytest.mark.parametrize("zero", ["0", "0.0", "00", "0.000000000", "+0", "0e3", "0.0E-2"])
def test_kucoin_price_zero_rows_in_any_form_are_dropped_by_both_paths(
    shared_data: Path, zero: str
) -> None:
    message = json.loads((shared_data / "vectors/kucoin/level2_update.json").read_text())
    sequence = str(message["data"]["sequenceEnd"])
    message["data"]["changes"]["bids"] = [[zero, "0", sequence], ["67990.1", "2", sequence]]
    message["data"]["changes"]["asks"].insert(0, [zero, "1.5", sequence])
    frame = json.dumps(message, separators=(",", ":")).encode()
    feed = _btc_feed()
    levels = LevelBuffer()
    result = feed.parse_delta_into(frame, 0, 0, levels)
    assert result is not None
    slow = parsing._validated_level2_update(frame, feed.symbols, 0)
    (event,) = feed.parse_ws(frame, 0, 0)
    assert isinstance(event, BookEvent)
    expected = [[ASK, BID], [679933, 679901], [121427407000, 2 * 10**11]]  # sizes at 11 places
    for sides, prices, sizes in (levels.arrays(), (slow.sides, slow.prices, slow.sizes),
                                 (event.sides, event.prices, event.sizes)):  # fmt: skip
        assert [sides.tolist(), prices.tolist(), sizes.tolist()] == expected


def _recording_head() -> list[Record]:
    """The REST snapshots and the first 700 frames of the recording (~570 l2updates)."""
    recording = fuzz.venue_recording("kucoin")
    if recording is None:
        return []
    return [r for r in recording.records if r.kind in ("ws", "rest")][:709]


@st.composite
def _mutated_session(draw: st.DrawFn) -> list[Record]:
    records = _recording_head()
    if not records:
        return []
    at = draw(st.integers(0, len(records) - 1))
    records[at] = attrs.evolve(records[at], payload=fuzz.mutate(records[at].payload, draw))
    return records


@pytest.mark.usefixtures("_quiet_resyncs")
@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(records=_mutated_session())
def test_kucoin_fast_path_replays_mutated_sessions_like_parse_ws(records: list[Record]) -> None:
    # one frame or snapshot mutated anywhere: replay with the fast path and with parse_ws
    # alone ends with the same counters, sequences, ticker checks and books (or the same error)
    if not records:
        pytest.skip("the real recordings (../shared/data) are absent")
    recording = fuzz.venue_recording("kucoin")
    assert recording is not None
    fast = _replayed(records, recording.feed())
    assert fast == _replayed(records, _parse_ws_only(recording.feed()))
