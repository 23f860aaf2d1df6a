"""KuCoin market data: the real recording replays exactly; corruptions are caught."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import pytest

from arbcore.cli_replay import run_replay
from arbcore.exchanges.kucoin import parsing
from arbcore.exchanges.kucoin.data import KucoinBookFeed, book_instrument
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.testing.conformance import Recording, delta_indices, load_recording, replay_records
from arbcore_ext.book import ASK, BID
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
