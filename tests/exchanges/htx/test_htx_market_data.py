"""HTX spot market data: the real depth.step0 capture replays exactly; the mbp chain is pinned to
the documentation vectors and to an mbp session derived from the real capture; corruptions are
caught (mbp) or outlived (step0: every message is a snapshot)."""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import attrs
import pytest

from arbcore.cli_replay import run_replay
from arbcore.errors import MalformedMessage
from arbcore.exchanges.htx import parsing
from arbcore.exchanges.htx.data import HTXBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, VenueFeed, replay
from arbcore.marketdata.records import Record
from arbcore.marketdata.sync import BookSync
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.testing import htx_mbp
from arbcore.testing.conformance import Recording, load_recording
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.jsonscan import ScanError

pytestmark = pytest.mark.recording

# SOURCES.md: 292 depth.step0 snapshots over 10 symbols, zero deltas
SNAPSHOTS = {
    "BOR/USDT": 27, "DOGE/ETH": 30, "FIL3S/USDT": 31, "NEST/ETH": 29, "OMG/BTC": 31,
    "PROPY/ETH": 25, "TRIO/ETH": 26, "XVG/ETH": 31, "YFI/HUSD": 31, "ZEN/ETH": 31,
}  # fmt: skip
YFI = "YFI/HUSD"


@pytest.fixture(scope="module")
def huobi(shared_data: Path) -> Recording:
    return load_recording("htx", [shared_data / "real/htx/HUOBI.ws.44.0"])


def _run(recording: Recording, records: Sequence[Record]) -> tuple[ReplayReport, HTXBookFeed]:
    feed = HTXBookFeed(SymbolMap.of("htx", recording.instruments))
    return replay(records, feed), feed


def _book(report: ReplayReport, symbol: str) -> tuple[list[int], ...]:
    return tuple(array.tolist() for array in report.books[symbol].sync.book.top(400))


def _depth_indices(recording: Recording, native: str) -> list[int]:
    channel = f'"market.{native}.depth.step0"'.encode()
    return [
        index
        for index, record in enumerate(recording.records)
        if record.kind == "ws" and channel in parsing.decompress(record.payload)[:64]
    ]


# -- the real capture ----------------------------------------------------------------------------


def test_htx_step0_capture_replays_every_snapshot(huobi: Recording) -> None:
    report, feed = _run(huobi, huobi.records)
    document = report.as_json()
    assert (document["messages"], document["book_events"], document["malformed"]) == (362, 292, 0)
    books = document["books"]
    assert {symbol: book["snapshots"] for symbol, book in books.items()} == SNAPSHOTS
    assert all(
        (book["updates"], book["gaps"], book["resyncs"], book["crossed"]) == (0, 0, 0, 0)
        for book in books.values()
    )
    assert (books[YFI]["best_bid"], books[YFI]["best_ask"]) == ("49988.88", "50171.26")
    assert (books["TRIO/ETH"]["best_bid"], books["TRIO/ETH"]["best_ask"]) == (
        "0.0000009121",
        "0.0000009200",
    )
    assert feed.stale_snapshots == 0  # every version newer than the last, per symbol


def test_htx_capture_frames_are_what_sources_md_counts(huobi: Recording) -> None:
    kinds: Counter[str] = Counter()
    feed = HTXBookFeed(SymbolMap.of("htx", huobi.instruments))
    pongs = []
    events = 0
    for record in huobi.records:
        if record.kind == "sent":
            kinds["sent"] += 1
        if record.kind != "ws":
            continue
        events += len(feed.parse_ws(record.payload, record.ts_ns, record.connection))
        text = parsing.decompress(record.payload)
        if parsing.ping_of(text) is not None:
            kinds["ping"] += 1
            pongs.append(parsing.pong_for(record.payload))
        elif parsing.book_channel(text) is not None:
            kinds["depth"] += 1
        elif b'"subbed"' in text:
            kinds["ack"] += 1
        elif b".trade.detail" in text[:64]:
            kinds["trade"] += 1
    assert events == 292  # only the depth snapshots carry events
    assert feed.pings == {0: 1618678098643}  # the last ping, for the live client to answer
    assert kinds == {"depth": 292, "trade": 44, "ack": 20, "ping": 6, "sent": 26}
    # the client's recorded replies are exactly the pongs pong_for builds
    sent = [r.payload.decode() for r in huobi.records if r.kind == "sent" and b"pong" in r.payload]
    assert pongs == sent


def _decimals(text: str) -> int:
    exponent = Decimal(text).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(-exponent, 0)


def _finest_size(record: Record) -> int:
    """The most decimals any size of a recorded book message has (its exponent applied)."""
    message = htx_mbp.texts(record)
    body = message.get("tick") or message["data"]
    return max((_decimals(pair[1]) for side in ("bids", "asks") for pair in body[side]), default=0)


def test_htx_scanner_and_validating_path_agree_on_every_recorded_book_message(
    huobi: Recording,
) -> None:
    symbols = SymbolMap.of("htx", huobi.instruments)
    exact = rounded = declined = 0
    for record in huobi.records:
        if record.kind != "ws":
            continue
        text = parsing.decompress(record.payload)
        channel = parsing.book_channel(text)
        if channel is None:
            continue
        instrument = symbols.get(channel[0])
        assert instrument is not None
        slow = parsing.validated_book(text, channel, instrument)
        finest = _finest_size(record)
        try:
            fast = parsing.scan_book(text, channel, instrument)
        except ScanError:
            # no finer scale holds every size of the message: only the validating path rounds
            # it, and it really has a size finer than the book's 8 decimals
            assert finest > 8
            declined += 1
            continue
        assert (fast.kind, fast.first_seq, fast.last_seq, fast.prev_seq, fast.ts_event_ns) == (
            slow.kind, slow.first_seq, slow.last_seq, slow.prev_seq, slow.ts_event_ns,
        )  # fmt: skip
        assert fast.sides.tolist() == slow.sides.tolist()
        assert fast.prices.tolist() == slow.prices.tolist()
        assert fast.sizes.tolist() == slow.sizes.tolist()
        if finest > 8:
            rounded += 1  # scanned at a finer scale and rounded half-even in integers
        else:
            exact += 1
    # 119 messages have a size finer than 8 decimals; 74 of them fit a finer int64 scale
    assert (exact, rounded, declined) == (173, 74, 45)


def test_htx_replay_command_prints_the_report(shared_data: Path) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = run_replay(
            [str(shared_data / "real/htx/HUOBI.ws.44.0"), "--venue", "htx", "--json"]
        )
    assert status == 0
    document = json.loads(out.getvalue())
    assert (document["venue"], document["messages"], document["book_events"]) == ("htx", 362, 292)
    assert {symbol: book["snapshots"] for symbol, book in document["books"].items()} == SNAPSHOTS


# -- step0 corruptions: each message is a whole book, so the next one repairs any damage -----------


def test_htx_swapped_step0_snapshots_never_roll_the_book_back(huobi: Recording) -> None:
    reference, _ = _run(huobi, huobi.records)
    indices = _depth_indices(huobi, "yfihusd")
    records = list(huobi.records)
    a, b = indices[10], indices[11]
    records[a], records[b] = records[b], records[a]
    report, feed = _run(huobi, records)
    assert feed.stale_snapshots == 1  # the older version, arriving second, was dropped
    book = report.as_json()["books"][YFI]
    assert (book["snapshots"], book["gaps"], book["resyncs"]) == (30, 0, 0)
    assert _book(report, YFI) == _book(reference, YFI)


def test_htx_dropped_step0_snapshot_leaves_the_final_book_exact(huobi: Recording) -> None:
    reference, _ = _run(huobi, huobi.records)
    records = list(huobi.records)
    del records[_depth_indices(huobi, "yfihusd")[15]]
    report, _ = _run(huobi, records)
    assert report.as_json()["books"][YFI]["snapshots"] == 30
    assert _book(report, YFI) == _book(reference, YFI)


def _with_size(record: Record, size: str) -> Record:
    """The record with its first bid's size replaced (re-gzipped, as the venue sends it)."""
    message = htx_mbp.texts(record)
    message["tick"]["bids"][0][1] = htx_mbp.Number(size)
    return attrs.evolve(record, payload=htx_mbp.frame(message))


def test_htx_changed_step0_size_is_repaired_by_the_next_snapshot(huobi: Recording) -> None:
    indices = _depth_indices(huobi, "yfihusd")
    at = indices[20]
    records = list(huobi.records)
    records[at] = _with_size(records[at], "7.5")
    # up to the changed snapshot: the book shows the changed size (HTX has no checksum)
    clean, _ = _run(huobi, huobi.records[: at + 1])
    broken, _ = _run(huobi, records[: at + 1])
    clean_sizes, broken_sizes = _book(clean, YFI)[1], _book(broken, YFI)[1]
    assert broken_sizes[0] == 750_000_000 != clean_sizes[0]
    assert broken_sizes[1:] == clean_sizes[1:]
    # the next snapshot replaces the whole book
    clean, _ = _run(huobi, huobi.records[: indices[21] + 1])
    repaired, _ = _run(huobi, records[: indices[21] + 1])
    assert _book(repaired, YFI) == _book(clean, YFI)


# -- an mbp session derived from the real capture: consecutive step0 images as mbp diffs ---------


@pytest.fixture(scope="module")
def mbp_session(huobi: Recording) -> list[Record]:
    return htx_mbp.mbp_session(huobi)


def _mbp_indices(records: Sequence[Record], native: str) -> list[int]:
    channel = f'"market.{native}.mbp.150"'.encode()
    return [
        index
        for index, record in enumerate(records)
        if b'"ch"' in (text := parsing.decompress(record.payload))[:8] and channel in text[:64]
    ]


def test_htx_mbp_session_chains_to_the_same_books_as_step0(
    huobi: Recording, mbp_session: list[Record]
) -> None:
    reference, _ = _run(huobi, huobi.records)
    report, _ = _run(huobi, mbp_session)
    books = report.as_json()["books"]
    # per symbol: n images -> n - 1 deltas; delta 1 is in the req snapshot (skipped)
    assert {symbol: book["updates"] for symbol, book in books.items()} == {
        symbol: count - 2 for symbol, count in SNAPSHOTS.items()
    }
    assert all(
        (book["snapshots"], book["gaps"], book["resyncs"]) == (1, 0, 0) for book in books.values()
    )
    assert report.malformed == 0
    for symbol in SNAPSHOTS:
        assert _book(report, symbol) == _book(reference, symbol), symbol


def test_htx_mbp_dropped_delta_is_a_gap_at_that_message_and_resyncs(
    huobi: Recording, mbp_session: list[Record]
) -> None:
    records = list(mbp_session)
    deltas = _mbp_indices(records, "yfihusd")
    del records[deltas[10]]  # delta 11 (delta 1 is in the req snapshot)
    report = _run(huobi, records)[0]
    book = report.as_json()["books"][YFI]
    assert (book["gaps"], book["resyncs"]) == (1, 1)
    assert book["updates"] == 9  # deltas 2 (from the cache) to 10
    assert report.books[YFI].sync.book_id == htx_mbp.mbp_seq(
        10
    )  # delta 12 did not name it: the gap
    assert (book["best_bid"], book["best_ask"]) == (None, None)  # stale until a new req reply


def test_htx_mbp_swapped_deltas_are_a_gap(huobi: Recording, mbp_session: list[Record]) -> None:
    records = list(mbp_session)
    deltas = _mbp_indices(records, "yfihusd")
    a, b = deltas[20], deltas[21]
    records[a], records[b] = records[b], records[a]
    report = _run(huobi, records)[0]
    book = report.as_json()["books"][YFI]
    assert (book["gaps"], book["resyncs"], book["updates"]) == (1, 1, 19)  # deltas 2 to 20
    assert report.books[YFI].sync.book_id == htx_mbp.mbp_seq(
        20
    )  # delta 22, arriving first, is the gap
    assert book["best_bid"] is None


def test_htx_mbp_changed_size_is_not_detectable_without_a_checksum(
    huobi: Recording, mbp_session: list[Record]
) -> None:
    # HTX spot publishes no book checksum: a changed size keeps the chain intact. Recorded here
    # so nobody believes otherwise; the cross-venue quality monitor is the only other check.
    records = list(mbp_session)
    at = next(
        i for i in _mbp_indices(records, "yfihusd")[5:] if htx_mbp.texts(records[i])["tick"]["bids"]
    )
    records[at] = _with_size(records[at], "7.5")
    book = _run(huobi, records)[0].as_json()["books"][YFI]
    assert (book["gaps"], book["resyncs"]) == (0, 0)


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


def _outcome(report: ReplayReport, feed: HTXBookFeed) -> dict[str, Any]:
    """Everything a replay leaves: totals, the feed's own state, and per book its counters,
    sequence and all levels."""
    books = {symbol: _book_state(book.sync) for symbol, book in report.books.items()}
    totals = (report.messages, report.book_events, report.malformed)
    return {"totals": totals, "feed": (feed.stale_snapshots, feed.pings), "books": books}


@pytest.mark.parametrize("session", ["step0", "mbp", "mbp dropped", "mbp swapped"])
def test_htx_fast_path_replays_exactly_like_parse_ws(
    huobi: Recording, mbp_session: list[Record], session: str
) -> None:
    records = list(huobi.records if session == "step0" else mbp_session)
    deltas = _mbp_indices(records, "yfihusd")
    if session == "mbp dropped":
        del records[deltas[10]]
    elif session == "mbp swapped":
        records[deltas[20]], records[deltas[21]] = records[deltas[21]], records[deltas[20]]
    fast_feed = HTXBookFeed(SymbolMap.of("htx", huobi.instruments))
    slow_feed = HTXBookFeed(SymbolMap.of("htx", huobi.instruments))
    fast = replay(records, fast_feed)
    slow = replay(records, _parse_ws_only(slow_feed))
    assert _outcome(fast, fast_feed) == _outcome(slow, slow_feed)
    updates = sum(book.sync.counters.updates for book in fast.books.values())
    assert updates == {"step0": 0, "mbp": 272, "mbp dropped": 252, "mbp swapped": 262}[session]


def test_htx_fast_delta_path_reads_every_mbp_delta_as_parse_ws(
    huobi: Recording, mbp_session: list[Record]
) -> None:
    feed = HTXBookFeed(SymbolMap.of("htx", huobi.instruments))
    levels = LevelBuffer(8)  # smaller than most deltas: the scanner grows it
    exact = rounded = declined = 0
    for record in mbp_session:
        result = feed.parse_delta_into(record.payload, 0, 0, levels)
        (event,) = feed.parse_ws(record.payload, 0, 0)
        assert isinstance(event, BookEvent)
        if event.kind is BookEventKind.SNAPSHOT:  # the req replies
            assert result is None
            continue
        if result is None:
            declined += 1
            continue
        symbol, seq = result
        assert (symbol, seq.first_seq, seq.last_seq, seq.prev_seq, seq.ts_event_ns) == (
            event.symbol, event.first_seq, event.last_seq, event.prev_seq, event.ts_event_ns,
        )  # fmt: skip
        assert [array.tolist() for array in levels.arrays()] == [
            event.sides.tolist(), event.prices.tolist(), event.sizes.tolist(),
        ]  # fmt: skip
        if _finest_size(record) > 8:
            rounded += 1
        else:
            exact += 1
    # 282 deltas, all read by the compiled path; 33 have a size finer than 8 decimals, rounded
    assert (exact, rounded, declined) == (249, 33, 0)


def _book_event(events: Sequence[BookEvent | Quote]) -> BookEvent:
    """The one event parse_ws read from a book message."""
    (event,) = events
    assert isinstance(event, BookEvent)
    return event


def _gz(message: dict[str, Any]) -> bytes:
    """A message as HTX sends it: compact JSON, gzip."""
    return gzip.compress(json.dumps(message, separators=(",", ":")).encode())


def test_htx_fast_delta_path_leaves_other_frames_to_parse_ws(huobi: Recording) -> None:
    feed = HTXBookFeed(SymbolMap.of("htx", huobi.instruments))
    levels = LevelBuffer()
    for record in huobi.records:  # step0 snapshots, trades, acks and pings
        if record.kind == "ws":
            assert feed.parse_delta_into(record.payload, 0, 0, levels) is None
    delta = {"ch": "market.btcusdt.mbp.5", "ts": 7,
             "tick": {"seqNum": 2, "prevSeqNum": 1, "asks": [[645.14, 26.75]]}}  # fmt: skip
    feed = HTXBookFeed(_btc())
    assert feed.parse_delta_into(_gz(delta), 0, 0, levels) is not None
    declined = [
        _gz({"ts": 7, **delta}),  # ch not first
        _gz(dict(delta, ch="market.nosuch.mbp.5")),
        _gz(dict(delta, ch="market.btcusdt.mbp.refresh.5")),
        _gz(dict(delta, tick={"seqNum": 2, "asks": []})),  # no prevSeqNum
        _gz(delta)[:-4] + bytes(4),  # a broken gzip trailer (crc, length)
    ]
    for frame in declined:
        assert feed.parse_delta_into(frame, 0, 0, levels) is None, frame
    with pytest.raises(MalformedMessage, match="gzip"):
        feed.parse_ws(declined[-1], 0)


def test_htx_declined_frame_is_decompressed_once(
    huobi: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the path inflates each frame in C; parse_ws takes what it declined from the path's text
    calls: list[bytes] = []
    decompress = parsing.decompress

    def counting(frame: bytes) -> bytes:
        calls.append(frame)
        return decompress(frame)

    monkeypatch.setattr(parsing, "decompress", counting)
    messages = [record for record in huobi.records if record.kind == "ws"]
    feed = HTXBookFeed(SymbolMap.of("htx", huobi.instruments))
    report = replay(messages, feed)
    assert (report.messages, report.book_events, report.malformed) == (362, 292, 0)
    assert calls == []
    frame = messages[-1].payload
    text = feed.delta_path.text_of(frame)
    assert text == decompress(frame)
    assert feed.delta_path.text_of(frame) is text  # the same object: not inflated again


def _mbp_delta(sizes: Sequence[str]) -> bytes:
    """A compact btcusdt ``mbp.150`` delta (gzip) whose asks have these size texts."""
    asks = ",".join(f"[{650 + i}.5,{size}]" for i, size in enumerate(sizes))
    return gzip.compress(
        b'{"ch":"market.btcusdt.mbp.150","ts":1,"tick":{"seqNum":5,"prevSeqNum":4,"bids":[],'
        b'"asks":[' + asks.encode() + b"]}}"
    )


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        # ties go to the even neighbour; anything past the tie goes up
        (["0.123456785", "0.123456795", "0.123456785000001", "0.123456784999"],
         [12345678, 12345680, 12345679, 12345678]),
        # exponents, and sizes only 15 decimals hold
        (["1.2345678500E-1", "26.75597395914065", "9.5E-9", "5E-9", "1.5E-8"],
         [12345678, 2675597396, 1, 0, 2]),
        # up to 922 million with 9 or 10 decimals: the 10-decimal scale
        (["123456789.123456785", "1.2846957872793565E7", "922337203.0000000050"],
         [12345678912345678, 1284695787279356, 92233720300000000]),
    ],
)  # fmt: skip
def test_htx_fast_path_rounds_fine_sizes_half_even_like_the_validating_path(
    sizes: list[str], expected: list[int]
) -> None:
    symbols = _btc()
    frame = _mbp_delta(sizes)
    levels = LevelBuffer()
    assert HTXBookFeed(symbols).parse_delta_into(frame, 0, 0, levels) is not None
    text = parsing.decompress(frame)
    channel = parsing.book_channel(text)
    assert channel is not None
    slow = parsing.validated_book(text, channel, symbols.by_symbol["BTC/USDT"])
    assert levels.arrays()[2].tolist() == slow.sizes.tolist() == expected


@pytest.mark.parametrize(
    ("size", "read"),
    [("123456789.12345678901", False), ("0.12345678901234567", True), ("1E-401", False)],
)
def test_htx_fast_path_declines_sizes_past_19_digits_to_parse_ws(size: str, read: bool) -> None:
    # 20 significant digits (as in FIL3S/USDT) or an exponent past 400: the compiled path
    # leaves the delta to parse_ws, which rounds the text; 17 digits it rounds itself
    frame = _mbp_delta([size])
    levels = LevelBuffer()
    assert (HTXBookFeed(_btc()).parse_delta_into(frame, 0, 0, levels) is not None) is read
    event = _book_event(HTXBookFeed(_btc()).parse_ws(frame, 0))
    expected = [int((Decimal(size) * 10**8).to_integral_value())]
    assert event.sizes.tolist() == expected
    if read:
        assert levels.arrays()[2].tolist() == expected


# -- the documentation vectors --------------------------------------------------------------------


def _btc(size_step: str = "0.00000001") -> SymbolMap:
    btc = Instrument.from_text(
        venue="htx", native_symbol="btcusdt", base="BTC", quote="USDT",
        tick_size="0.01", lot_size=size_step,
    )  # fmt: skip
    zec = Instrument.from_text(
        venue="htx", native_symbol="zecusdt", base="ZEC", quote="USDT",
        tick_size="0.01", lot_size=size_step,
    )  # fmt: skip
    return SymbolMap.of("htx", [btc, zec])


def _vector(shared_data: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((shared_data / "vectors/htx" / name).read_text())
    return loaded


def _parse(message: Any, symbols: SymbolMap, gzipped: bool = True) -> list[BookEvent]:
    text = message if isinstance(message, bytes) else json.dumps(message).encode()
    return parsing.parse_frame(gzip.compress(text) if gzipped else text, symbols)


def _levels(event: BookEvent, side: int) -> list[tuple[int, int]]:
    chosen = event.sides == side
    return list(zip(event.prices[chosen].tolist(), event.sizes[chosen].tolist(), strict=True))


def test_htx_documented_mbp_incrementals_parse_to_their_values(shared_data: Path) -> None:
    vector = _vector(shared_data, "ws_mbp_incremental.json")
    symbols = _btc()
    current = _parse(vector["message_5_levels_current_docs"], symbols)
    older = _parse(vector["message_5_levels_raw_older_docs"].encode(), symbols, gzipped=False)
    one_side = _parse(vector["message_150_levels_one_side"], symbols)
    for (event,) in (current, older, one_side):
        assert (event.kind, event.last_seq, event.prev_seq) == (
            BookEventKind.DELTA, 100020146795, 100020146794,
        )  # fmt: skip
        assert _levels(event, BID) == []
        # 645.14 x 26.75597395914065 (older docs: 26.755973959140651643), 8 decimals half-even
        assert _levels(event, ASK) == [(64514, 2675597396)]
        assert event.ts_event_ns == 1573199608679 * 1_000_000
    (empty,) = _parse(vector["message_150_levels_no_change"], symbols)
    assert (empty.symbol, empty.last_seq, empty.prev_seq, len(empty.prices)) == (
        "ZEC/USDT", 100772868478, 100772868476, 0,
    )  # fmt: skip


def _documented_image(event: BookEvent) -> None:
    assert (event.kind, event.first_seq, event.last_seq) == (
        BookEventKind.SNAPSHOT, 100020142010, 100020142010,
    )  # fmt: skip
    assert _levels(event, BID) == [
        (61837, 7159400000), (42333, 7772600000), (22318, 4799700000),
        (21934, 2482000000), (21034, 9446300000),
    ]  # fmt: skip
    # 14.909733438479636 rounds half-even to 14.90973344 at 8 decimals
    assert _levels(event, ASK) == [
        (65059, 1490973344), (65063, 9799600000), (65077, 9746500000),
        (65123, 8397300000), (65142, 3446500000),
    ]  # fmt: skip


def test_htx_documented_req_reply_and_refresh_are_snapshots(shared_data: Path) -> None:
    symbols = _btc()
    reply = _vector(shared_data, "ws_mbp_req_snapshot.json")[
        "response_as_documented_truncated_to_5_levels"
    ]
    refresh = _vector(shared_data, "ws_mbp_refresh.json")["update"]
    for message in (reply, refresh):
        (event,) = _parse(message, symbols)
        _documented_image(event)
    (event,) = _parse(refresh, symbols)
    assert event.ts_event_ns == 1573199608679 * 1_000_000


def test_htx_documented_chain_follows_prev_seq_num_only(shared_data: Path) -> None:
    symbols = _btc()
    feed = HTXBookFeed(symbols)
    btc = symbols.by_symbol["BTC/USDT"]
    incremental = _vector(shared_data, "ws_mbp_incremental.json")["message_150_levels_one_side"]
    reply = _vector(shared_data, "ws_mbp_req_snapshot.json")[
        "response_as_documented_truncated_to_5_levels"
    ]

    def delta(seq: int, prev: int) -> bytes:
        message = json.loads(json.dumps(incremental))
        message["tick"].update(seqNum=seq, prevSeqNum=prev)
        return gzip.compress(json.dumps(message).encode())

    sync = feed.new_sync(btc)
    # the docs' own examples do not chain (100020146794 is not the reply's 100020142010): a gap
    assert sync.on_event(_book_event(feed.parse_ws(delta(100020146795, 100020146794), 0))) is False
    assert (
        sync.on_event(_book_event(feed.parse_ws(gzip.compress(json.dumps(reply).encode()), 0)))
        is False
    )
    assert (sync.counters.gaps, sync.counters.resyncs, sync.in_sync) == (1, 1, False)
    # cached before the reply: older (skipped), the one naming the reply, a non-contiguous next
    sync = feed.new_sync(btc)
    feed = HTXBookFeed(symbols)
    for seq, prev in ((100020142010, 100020142009), (100020142012, 100020142010)):
        sync.on_event(_book_event(feed.parse_ws(delta(seq, prev), 0)))
    assert sync.on_event(_book_event(feed.parse_ws(gzip.compress(json.dumps(reply).encode()), 0)))
    assert sync.on_event(_book_event(feed.parse_ws(delta(100020142015, 100020142012), 0)))
    assert (sync.counters.skipped, sync.counters.updates, sync.counters.gaps) == (1, 2, 0)
    assert sync.book.best_ask() == 64514
    assert sync.book.best_ask_size() == 2675597396


def test_htx_documented_rest_depth_has_the_step0_shape(shared_data: Path) -> None:
    response = _vector(shared_data, "rest_depth.json")["response"]
    symbols = SymbolMap.of(
        "htx",
        [
            Instrument.from_text(
                venue="htx", native_symbol="btcusdt", base="BTC", quote="USDT",
                tick_size="0.01", lot_size="0.000001",
            )
        ],
    )  # fmt: skip
    (event,) = _parse(response, symbols, gzipped=False)
    assert (event.kind, event.last_seq) == (BookEventKind.SNAPSHOT, 136107114472)
    assert _levels(event, BID)[0] == (4979087, 779876)
    assert _levels(event, ASK)[-1] == (4979323, 43103)
    assert len(event.prices) == 10
    # the feed does not take REST depth as a snapshot: its version cannot align an mbp chain
    assert HTXBookFeed(symbols).parse_rest(None, json.dumps(response).encode(), 0) == []


def test_htx_documented_keepalive_and_acks_carry_no_events(shared_data: Path) -> None:
    synthetic = _vector(shared_data, "ws_gzip_ping_synthetic.json")
    frame = base64.b64decode(synthetic["gzip_base64"])
    keepalive = _vector(shared_data, "ws_keepalive.json")
    assert parsing.decompress(frame) == synthetic["plaintext"].encode()
    pong = parsing.pong_for(frame)
    assert pong is not None
    assert json.loads(pong) == keepalive["market_client_pong"]
    feed = HTXBookFeed(_btc())
    assert feed.parse_ws(frame, 0, 7) == []
    assert feed.pings == {7: 1492420473027}
    ack = _vector(shared_data, "ws_mbp_subscribe.json")["response"]
    assert feed.parse_ws(gzip.compress(json.dumps(ack).encode()), 0) == []
    assert parsing.pong_for(gzip.compress(json.dumps(ack).encode())) is None


def test_htx_feed_ignores_unknown_symbols_trades_and_errors() -> None:
    feed = HTXBookFeed(_btc())
    frames: Iterator[dict[str, Any]] = iter(
        [
            {"ch": "market.nosuch.mbp.5", "ts": 1, "tick": {"seqNum": 2, "prevSeqNum": 1}},
            {"ch": "market.btcusdt.trade.detail", "ts": 1, "tick": {"id": 1, "data": []}},
            {"status": "error", "err-code": "bad-request", "err-msg": "invalid topic", "id": "1"},
            {"ch": "market.btcusdt.depth.step1", "ts": 1, "tick": {"bids": [], "asks": []}},
        ]
    )
    for message in frames:
        assert feed.parse_ws(gzip.compress(json.dumps(message).encode()), 0) == []


def test_htx_feed_forgets_a_replaced_connections_sequences() -> None:
    # a live client reuses connection 0 after a reconnect, where seqNums may have restarted
    feed = HTXBookFeed(_btc())

    def reply(seq: int) -> bytes:
        data = {"seqNum": seq, "bids": [[100.0, 1.0]], "asks": [[101.0, 1.0]]}
        return gzip.compress(json.dumps({"rep": "market.btcusdt.mbp.150", "data": data}).encode())

    assert len(feed.parse_ws(reply(500), 0)) == 1
    assert feed.parse_ws(reply(400), 0) == []  # older than the newest on this connection
    assert feed.stale_snapshots == 1
    feed.forget(0)
    assert _book_event(feed.parse_ws(reply(400), 0)).last_seq == 400
