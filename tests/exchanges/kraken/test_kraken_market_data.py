"""Kraken spot market data: the recorded v1 book-1000 session replays with every checksum passing;
corruptions fail the checksum at the message that carries them; documentation vectors parse; the
fast delta path replays exactly like parse_ws."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbcore.cli_replay import run_replay
from arbcore.exchanges.kraken import parsing
from arbcore.exchanges.kraken.data import KrakenBookFeed
from arbcore.exchanges.kraken.parsing import BookFormat
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import BookReport, ReplayReport, VenueFeed, replay
from arbcore.marketdata.records import Record
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.testing import fuzz
from arbcore.testing.conformance import (
    Recording,
    change_one_size,
    delta_indices,
    load_recording,
    replay_records,
)
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer
from arbcore_ext.deltapath import DECLINED, SCANNED

pytestmark = pytest.mark.recording

XMR = "XMR/USD"
FILES = ("KRAKEN.ws.48.0", "KRAKEN.ws.49.0", "KRAKEN.ws.50.0")
# SOURCES.md: 4,269 book updates in 30.5 s, every one checksummed; per pair as replayed
UPDATES = {
    "ADA/BTC": 347, "BTC/CHF": 289, "ETH/CHF": 317, "GRT/ETH": 20, "KSM/BTC": 335,
    "OCEAN/BTC": 148, "OMG/USD": 573, "SC/EUR": 818, "WAVES/EUR": 576, "XMR/USD": 846,
}  # fmt: skip


@pytest.fixture(scope="module")
def session(shared_data: Path) -> Recording:
    return load_recording("kraken", [shared_data / "real/kraken" / name for name in FILES])


@pytest.fixture(scope="module")
def book_only(shared_data: Path) -> Recording:
    return load_recording("kraken", [shared_data / "real/kraken/KRAKEN.ws.50.0"])


def _vector(shared_data: Path, name: str) -> Any:
    return json.loads((shared_data / "vectors/kraken" / name).read_text())


def _instrument(native: str, tick: str, lot: str = "0.00000001") -> Instrument:
    base, quote = native.split("/")
    return Instrument.from_text(
        venue="kraken", native_symbol=native, base=base, quote=quote, tick_size=tick, lot_size=lot
    )


def test_kraken_books_use_the_flat_layout(session: Recording) -> None:
    report = replay_records(session)
    assert report.books
    for book in report.books.values():
        assert book.sync.book.widths == (0, 0)


def test_kraken_session_replays_with_every_checksum_passing(session: Recording) -> None:
    report = replay_records(session).as_json()
    books = report["books"]
    assert (report["messages"], report["malformed"]) == (4430, 0)
    assert report["book_events"] == 10 + 4269  # 10 snapshots, 4,269 updates
    assert {symbol: book["updates"] for symbol, book in books.items()} == UPDATES
    assert sum(book["checksum_ok"] for book in books.values()) == 4269
    for book in books.values():
        assert book["checksum_ok"] == book["updates"]
        assert (book["snapshots"], book["gaps"], book["resyncs"]) == (1, 0, 0)
        assert (book["checksum_failed"], book["crossed"]) == (0, 0)
    assert (books[XMR]["best_bid"], books[XMR]["best_ask"]) == ("353.64", "354.48")
    assert (books["BTC/CHF"]["best_bid"], books["BTC/CHF"]["best_ask"]) == ("56060.3", "56194.2")


def test_kraken_dropped_delta_fails_the_next_checksum_and_resyncs(book_only: Recording) -> None:
    deltas = delta_indices(book_only, XMR)
    records = list(book_only.records)
    del records[deltas[100]]  # a change at the touch: the next update's checksum shows it
    book = replay_records(book_only, records).as_json()["books"][XMR]
    assert (book["checksum_ok"], book["checksum_failed"], book["resyncs"]) == (100, 1, 1)
    assert book["updates"] == 101  # the 100 before the hole, then the one that failed
    assert book["best_bid"] is None
    assert book["best_ask"] is None


def test_kraken_dropped_deep_delta_is_invisible_to_the_top_10_checksum(
    book_only: Recording,
) -> None:
    # delta 101 changes the ask at 364.64, far below the top 10: Kraken's checksum cannot see it
    deltas = delta_indices(book_only, XMR)
    records = list(book_only.records)
    del records[deltas[101]]
    book = replay_records(book_only, records).as_json()["books"][XMR]
    assert (book["checksum_ok"], book["checksum_failed"], book["resyncs"]) == (845, 0, 0)


def test_kraken_changed_size_fails_the_checksum_at_that_message(book_only: Recording) -> None:
    deltas = delta_indices(book_only, XMR)
    records = list(book_only.records)
    # matches: price, size, timestamp of the first level; change the size 1.40000000
    records[deltas[100]] = change_one_size(records[deltas[100]], lambda found: found[1])
    assert b'"1.40000001"' in records[deltas[100]].payload
    book = replay_records(book_only, records).as_json()["books"][XMR]
    assert (book["checksum_ok"], book["checksum_failed"], book["resyncs"]) == (100, 1, 1)
    assert book["updates"] == 101
    assert book["best_bid"] is None


def test_kraken_swapped_deltas_fail_the_checksum_at_the_first(book_only: Recording) -> None:
    deltas = delta_indices(book_only, XMR)
    records = list(book_only.records)
    a, b = deltas[200], deltas[201]
    records[a], records[b] = records[b], records[a]
    book = replay_records(book_only, records).as_json()["books"][XMR]
    assert (book["checksum_ok"], book["checksum_failed"], book["resyncs"]) == (200, 1, 1)
    assert book["best_bid"] is None


def test_kraken_scanner_and_validating_path_agree_on_every_recorded_book_frame(
    session: Recording,
) -> None:
    symbols = SymbolMap.of("kraken", session.instruments)
    checked = {BookEventKind.SNAPSHOT: 0, BookEventKind.DELTA: 0}
    for record in session.records:
        if record.kind != "ws" or not record.payload.startswith(b"["):
            continue
        if b'"book-1000",' not in record.payload:
            continue
        pair = record.payload.rstrip().rsplit(b'"', 4)[3].decode()
        instrument = symbols.get(pair)
        assert instrument is not None
        fast = parsing.parse_v1_book(record.payload, instrument)
        slow = parsing.validated_v1_book(record.payload, instrument)
        assert (fast.kind, fast.symbol, fast.checksum) == (slow.kind, slow.symbol, slow.checksum)
        assert fast.sides.tolist() == slow.sides.tolist()
        assert fast.prices.tolist() == slow.prices.tolist()
        assert fast.sizes.tolist() == slow.sizes.tolist()
        checked[fast.kind] += 1
    assert checked == {BookEventKind.SNAPSHOT: 10, BookEventKind.DELTA: 4269}


def test_kraken_snapshot_format_is_the_wire_text_not_pair_decimals(session: Recording) -> None:
    # XBT/CHF has pair_decimals 1 but sends "56218.30000": the checksum uses the wire's places
    feed = KrakenBookFeed(SymbolMap.of("kraken", session.instruments))
    for record in session.records:
        if record.kind == "ws":
            feed.parse_ws(record.payload, 0)
    formats = feed._formats
    assert formats["BTC/CHF"] == BookFormat(1000, 5, 8)
    assert formats["XMR/USD"] == BookFormat(1000, 8, 8)
    assert formats["ADA/BTC"] == BookFormat(1000, 9, 8)


def test_kraken_replay_command_prints_the_counts(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(shared_data / "real/kraken" / name) for name in FILES]
    assert run_replay([*files, "--venue", "kraken", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["messages"] == 4430
    assert sum(book["checksum_ok"] for book in document["books"].values()) == 4269
    assert sum(book["checksum_failed"] for book in document["books"].values()) == 0


def test_kraken_documentation_v1_snapshot_parses_to_its_values(shared_data: Path) -> None:
    vector = _vector(shared_data, "ws_v1_book_snapshot.json")
    frame = vector["message_raw"].encode()
    xbt = _instrument("XBT/USD", "0.1")
    (event,) = parsing.parse_frame(frame, SymbolMap.of("kraken", [xbt]))
    assert isinstance(event, BookEvent)
    assert (event.kind, event.symbol, event.checksum) == (BookEventKind.SNAPSHOT, "XBT/USD", None)
    message = vector["message"]
    asks, bids = message[1]["as"], message[1]["bs"]
    assert event.sides.tolist() == [ASK] * len(asks) + [BID] * len(bids)
    assert event.prices.tolist() == [round(float(level[0]) * 10) for level in asks + bids]
    assert event.sizes.tolist() == [int(level[1].replace(".", "")) for level in asks + bids]
    assert event.prices.tolist()[:2] == [52908, 52909]  # 5290.80000, 5290.90000 at 1 decimal
    assert parsing.book_format(frame, xbt) == BookFormat(10, 5, 8)


def test_kraken_documentation_v1_update_parses_to_its_values(shared_data: Path) -> None:
    message = _vector(shared_data, "ws_v1_book_update_with_checksum.json")["message"]
    frame = json.dumps(message).encode()
    btc = _instrument("BTC/USD", "0.00001")
    (event,) = parsing.parse_frame(frame, SymbolMap.of("kraken", [btc]))
    assert isinstance(event, BookEvent)
    assert (event.kind, event.checksum) == (BookEventKind.DELTA, 974947235)
    assert event.sides.tolist() == [ASK, ASK, BID, BID]
    assert event.prices.tolist() == [5120, 5275, 4765, 4940]
    assert event.sizes.tolist() == [500] * 4
    slow = parsing.validated_v1_book(frame, btc)
    assert (slow.prices.tolist(), slow.checksum) == (event.prices.tolist(), event.checksum)


def test_kraken_documentation_checksum_example_reproduces(shared_data: Path) -> None:
    (case,) = _vector(shared_data, "book_checksum.json")["cases"]
    book = L2Book(5, 8)
    book.set_level(ASK, "0.05", "1")  # replaced by the snapshot below
    for side, key in ((ASK, "asks"), (BID, "bids")):
        for price, size, *_ in case["book"][key]:
            book.set_level(side, price, size)
    book.set_level(ASK, "0.05", "0")
    fmt = BookFormat(10, 5, 8)
    assert parsing.checksum_text(book, fmt) == case["expected_checksum_input"]
    assert parsing.book_checksum(book, fmt) == case["expected_checksum"] == 974947235


def test_kraken_checksum_truncates_to_the_subscribed_depth() -> None:
    # a level beyond depth 10 (never deleted by Kraken) must not come back into the top 10
    book = L2Book(1, 8)
    for i in range(11):
        book.set_level(ASK, f"{100 + i}.0", "1")
        book.set_level(BID, f"{99 - i}.0", "1")
    fmt = BookFormat(10, 1, 8)
    parsing.book_checksum(book, fmt)
    assert (book.depth(ASK), book.depth(BID)) == (10, 10)


def test_kraken_documentation_v2_snapshot_and_update_pass_their_checksums(
    shared_data: Path,
) -> None:
    matic = _instrument("MATIC/USD", "0.0001")
    feed = KrakenBookFeed(SymbolMap.of("kraken", [matic]))
    acks = _vector(shared_data, "ws_v2_subscribe_book.json")["ack_examples"]
    assert feed.parse_ws(json.dumps(acks[1]).encode(), 0) == []  # depth 10 for MATIC/USD
    snapshot = _vector(shared_data, "ws_v2_book_snapshot.json")["message"]
    update = _vector(shared_data, "ws_v2_book_update.json")["message"]
    (first,) = feed.parse_ws(json.dumps(snapshot).encode(), 0)
    (second,) = feed.parse_ws(json.dumps(update).encode(), 0)
    assert isinstance(first, BookEvent)
    assert isinstance(second, BookEvent)
    assert (first.kind, first.checksum) == (BookEventKind.SNAPSHOT, 2439117997)
    assert (second.kind, second.checksum) == (BookEventKind.DELTA, 2114181697)
    bids = first.sides == BID
    assert first.prices[bids].tolist()[:2] == [5666, 5665]
    assert first.sizes[bids].tolist()[6] == 1809715470000  # 18097.1547: JSON number, exact
    assert first.prices[~bids].tolist()[0] == 5668
    assert (second.sides.tolist(), second.prices.tolist()) == ([BID], [5657])
    assert second.sizes.tolist() == [109839475580]
    sync = feed.new_sync(matic)
    assert sync.on_event(first)
    assert sync.on_event(second)
    assert (sync.counters.checksum_ok, sync.counters.checksum_failed) == (2, 0)


def test_kraken_ticker_is_a_quote_without_update_id(session: Recording) -> None:
    feed = KrakenBookFeed(SymbolMap.of("kraken", session.instruments))
    frame = (
        b'[996,{"a":["355.24000000",27,"27.19106411"],"b":["354.32000000",6,"6.87748868"],'
        b'"c":["355.23000000","1.20454360"]},"ticker","XMR/USD"]'
    )
    (quote,) = feed.parse_ws(frame, 5)
    assert quote == Quote(
        venue="kraken", symbol=XMR, bid_price=35432, bid_size=687748868,
        ask_price=35524, ask_size=2719106411, update_id=0, ts_recv_ns=5,
    )  # fmt: skip


def test_kraken_feed_ignores_events_trades_and_unknown_pairs(session: Recording) -> None:
    feed = KrakenBookFeed(SymbolMap.of("kraken", session.instruments))
    assert feed.parse_ws(b'{"event":"heartbeat"}', 0) == []
    trade = b'[993,[["354.11","0.89594024","1618678142.557535","s","l",""]],"trade","XMR/USD"]'
    assert feed.parse_ws(trade, 0) == []
    other = b'[1,{"a":[["1.0","1.0","1.0"]],"c":"1"},"book-10","NO/SUCH"]'
    assert feed.parse_ws(other, 0) == []
    assert feed.parse_rest("https://api.kraken.com/0/public/Depth?pair=XBTUSD", b"{}", 0) == []


def test_kraken_no_book_filter_sets_aside_only_frames_parse_ws_ignores(session: Recording) -> None:
    """What the replay loop sets aside unread (heartbeats, status, pong) parse_ws reads as
    nothing; subscription acks (a v2 ack sets a depth) and book frames are never matched."""
    feed = KrakenBookFeed(SymbolMap.of("kraken", session.instruments))
    no_book = parsing.no_book_filter()
    frames = [r.payload for r in session.records if r.kind == "ws"]
    matched = [frame for frame in frames if no_book.matches(frame)]
    assert len(matched) == 95  # the recording: 92 heartbeats, 3 systemStatus
    for frame in matched:
        assert feed.parse_ws(frame, 0) == []
    assert feed.delta_path.arrivals == 0
    assert no_book.matches(b'{"event":"pong","reqid":7}')
    for kept in (
        b'{"event":"subscriptionStatus","channelName":"book-10","pair":"XBT/USD"}',
        b'{"method":"subscribe","result":{"channel":"book","depth":25,"symbol":"BTC/USD"}}',
        b'[1,{"a":[["1.0","1.0","1.0"]],"c":"1"},"book-10","XBT/USD"]',
        *(frame for frame in frames if b'"as"' in frame),
    ):
        assert not no_book.matches(kept), kept[:80]


def test_kraken_update_path_finds_every_pair_and_depth(session: Recording) -> None:
    """The path's tail table (64 slots for hundreds of tails: collisions on every pass) always
    answers the pair the frame names, whatever order the tails come in."""
    symbols = SymbolMap.of("kraken", session.instruments)
    path = parsing.update_path(symbols)
    tails = list(parsing.v1_book_tails(symbols).items())
    assert len(tails) > 64
    for order in (tails, tails[::-1], tails[::7] + tails):
        for tail, instrument in order:
            frame = b'[1,{"a":[["1","1","1"]],"c":"1"},' + tail
            assert path.scan(frame) == SCANNED, frame
            assert path.symbol == instrument.symbol
    unknown = b'[1,{"a":[["1","1","1"]],"c":"1"},"book-10","NO/SUCH"]'
    assert path.scan(unknown) == DECLINED


# -- the fast delta path (parse_delta_into) -------------------------------------------------------


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
    return (sync.counters.as_dict(), sync.book_id, sync.in_sync, levels)


def _outcome(report: ReplayReport) -> dict[str, Any]:
    """Everything a replay leaves: totals, and per book its counters, sequence and all levels."""
    books = {symbol: _book_outcome(book) for symbol, book in report.books.items()}
    return {"totals": (report.messages, report.book_events, report.malformed), "books": books}


def _replayed(records: list[Record], feed: VenueFeed) -> dict[str, Any] | type[BaseException]:
    """:func:`_outcome` of a replay, or the type of the documented error that stopped it."""
    try:
        return _outcome(replay(records, feed))
    except fuzz.DOCUMENTED_ERRORS as exc:
        return type(exc)


@pytest.mark.usefixtures("_quiet_resyncs")
@pytest.mark.parametrize("corruption", ["none", "dropped", "changed", "swapped"])
def test_kraken_fast_path_replays_exactly_like_parse_ws(
    session: Recording, corruption: str
) -> None:
    records = list(session.records)
    deltas = delta_indices(session, XMR)
    if corruption == "dropped":
        del records[deltas[100]]
    elif corruption == "changed":
        records[deltas[100]] = change_one_size(records[deltas[100]], lambda found: found[1])
    elif corruption == "swapped":
        a, b = deltas[200], deltas[201]
        records[a], records[b] = records[b], records[a]
    fast = replay(records, session.feed())
    assert _outcome(fast) == _outcome(replay(records, _parse_ws_only(session.feed())))
    counters = [book.sync.counters for book in fast.books.values()]
    failed = sum(c.checksum_failed for c in counters)
    assert failed == (0 if corruption == "none" else 1)
    if corruption == "none":  # every update checksummed on the fast path too
        assert sum(c.checksum_ok for c in counters) == sum(c.updates for c in counters) == 4269


def test_kraken_fast_delta_path_reads_every_update_as_parse_ws(session: Recording) -> None:
    fast_feed, slow_feed = session.feed(), session.feed()
    assert isinstance(fast_feed, KrakenBookFeed)
    levels = LevelBuffer(8)  # smaller than some updates: the scanner grows it
    scanned = 0
    for record in session.records:
        if record.kind != "ws":
            continue
        events = slow_feed.parse_ws(record.payload, 0, record.connection)
        result = fast_feed.parse_delta_into(record.payload, 0, record.connection, levels)
        if result is None:  # as replay does: the frame goes to parse_ws (numbers, formats)
            fast_feed.parse_ws(record.payload, 0, record.connection)
            assert not any(
                isinstance(event, BookEvent) and event.kind is BookEventKind.DELTA
                for event in events
            )
            continue
        (event,) = events
        assert isinstance(event, BookEvent)
        symbol, seq = result
        assert (symbol, seq.first_seq, seq.last_seq, seq.prev_seq, seq.checksum) == (
            event.symbol, event.first_seq, event.last_seq, None, event.checksum,
        )  # fmt: skip
        assert seq.checksum is not None
        assert [array.tolist() for array in levels.arrays()] == [
            event.sides.tolist(), event.prices.tolist(), event.sizes.tolist(),
        ]  # fmt: skip
        scanned += 1
    assert scanned == 4269  # every recorded update


def test_kraken_fast_delta_path_leaves_snapshots_v2_and_other_shapes_to_parse_ws(
    shared_data: Path,
) -> None:
    btc, xbt = _instrument("BTC/USD", "0.00001"), _instrument("XBT/USD", "0.1")
    matic = _instrument("MATIC/USD", "0.0001")
    feed = KrakenBookFeed(SymbolMap.of("kraken", [btc, xbt, matic]))
    levels = LevelBuffer()
    message = _vector(shared_data, "ws_v1_book_update_with_checksum.json")["message"]
    compact = json.dumps(message, separators=(",", ":")).encode()  # the wire's own form
    declined = [
        _vector(shared_data, "ws_v1_book_snapshot.json")["message_raw"].encode(),
        json.dumps(_vector(shared_data, "ws_v2_book_update.json")["message"]).encode(),
        json.dumps(message).encode(),  # spaces between the strings: parse_ws reads it
        compact.replace(b'"book-1000"', b'"book-7"'),  # a depth Kraken does not offer
        compact.replace(b'"book-1000"', b'"ticker"'),
        compact.replace(b'"BTC/USD"', b'"ETH/USD"'),  # a pair the feed does not keep
        compact.replace(b'"0.05120"', b'"0.0512x"'),  # not in the strict shape
        compact.replace(b'"a":', b'"as":'),  # an "as" array makes it a snapshot
        b'{"event":"heartbeat"}',
    ]
    for frame in declined:
        assert feed.parse_delta_into(frame, 0, 0, levels) is None, frame
    result = feed.parse_delta_into(compact, 0, 0, levels)
    assert result is not None
    symbol, seq = result
    # nothing declined took an arrival number
    assert (symbol, seq.first_seq, seq.last_seq, seq.checksum) == ("BTC/USD", 1, 1, 974947235)
    assert [array.tolist() for array in levels.arrays()] == [
        [ASK, ASK, BID, BID], [5120, 5275, 4765, 4940], [500] * 4,
    ]  # fmt: skip


@pytest.mark.parametrize("path", ["fast", "parse_ws"])
def test_kraken_update_that_arrived_before_its_snapshot_is_skipped(
    book_only: Recording, path: str
) -> None:
    # numbered by arrival, the update read (and buffered) before the snapshot is older than
    # it, so the book skips it; the next update applies and passes its checksum
    xmr = [r for r in book_only.records if r.payload.endswith(b'"book-1000","XMR/USD"]')]
    snapshot, first_update, early = xmr[0], xmr[1], xmr[50]
    feed = book_only.feed()
    report = replay([early, snapshot, first_update], feed if path == "fast" else
                    _parse_ws_only(feed))  # fmt: skip
    counters = report.books[XMR].sync.counters
    assert (counters.skipped, counters.updates, counters.snapshots) == (1, 1, 1)
    assert (counters.checksum_ok, counters.checksum_failed) == (1, 0)


def _session_head() -> list[Record]:
    """The book connection's first 600 frames: every snapshot and ~580 updates."""
    recording = fuzz.venue_recording("kraken")
    if recording is None:
        return []
    return [r for r in recording.records if b"book-1000" in r.payload][:600]


@st.composite
def _mutated_session(draw: st.DrawFn) -> list[Record]:
    records = _session_head()
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
def test_kraken_fast_path_replays_mutated_sessions_like_parse_ws(records: list[Record]) -> None:
    # one frame of the session mutated anywhere: replay with the fast path and with parse_ws
    # alone ends with the same counters, sequence numbers and books (or the same error)
    if not records:
        pytest.skip("the real recordings (../shared/data) are absent")
    recording = fuzz.venue_recording("kraken")
    assert recording is not None
    fast = _replayed(records, recording.feed())
    assert fast == _replayed(records, _parse_ws_only(recording.feed()))
