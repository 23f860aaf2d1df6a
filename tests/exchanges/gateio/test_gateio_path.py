"""Gate.io's compiled readers (``arbcore_ext.gatepath``) against what they replace.

``GatePath`` must read a plain delta exactly as the generic DeltaPath configured for Gate did
(same fields, same levels) and accept nothing that one declined; ``read_order_book`` exactly what
the validating REST parser reads; ``snapshot_pair`` exactly what ``parse_qs`` reads; the feed's
``no_book`` filter only frames ``parse_ws`` returns nothing for.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.exchanges import wire
from arbcore.exchanges.gateio import parsing
from arbcore.exchanges.gateio.constants import ACK_EVENTS, NO_BOOK_CHANNELS
from arbcore.exchanges.gateio.data import GateioBookFeed, snapshot_pair
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import delta_routes, replay
from arbcore.model import BookEvent, BookEventKind
from arbcore.testing import fuzz
from arbcore.testing.conformance import Recording, load_venue_recording
from arbcore_ext.book import ASK, BID
from arbcore_ext.deltapath import DECLINED, SCANNED, DeltaPath, Route
from arbcore_ext.gatepath import GatePath, read_order_book
from arbcore_ext.slotted import Maker

VENUE = "gateio"
DELTA = (
    b'{"time":1,"time_ms":2,"channel":"spot.order_book_update","event":"update","result":{'
    b'"t":1619093562998,"e":"depthUpdate","E":1619093562,"s":"OMG_USDT","U":7,"u":9,'
    b'"b":[["7.9","1.5"],["7.8","0"]],"a":[["8.1","2"]]}}'
)


@pytest.fixture(scope="module")
def recording(shared_data: Path) -> Recording:
    return load_venue_recording(VENUE, shared_data)


@cache
def _feed() -> GateioBookFeed:
    recording = fuzz.venue_recording(VENUE)
    return GateioBookFeed(SymbolMap.of(VENUE, recording.instruments if recording else []))


@cache
def _generic() -> DeltaPath:
    """The generic DeltaPath as Gate's feed configured it before GatePath."""
    return DeltaPath(
        delta_routes(_feed().symbols), anchor=parsing._UPDATE_HEAD, window=parsing._HEAD_WINDOW,
        reject=b'"full"', symbol_key=b"s", first_key=b"U", last_key=b"u", time_key=b"t",
        time_required=True, time_unit_ns=1_000_000, level_keys=((b"b", BID), (b"a", ASK)),
    )  # fmt: skip


def _read(path: DeltaPath, frame: bytes) -> tuple[object, ...] | None:
    """What a path reads from a frame (None: declined)."""
    if path.scan(frame, 5) != SCANNED:
        return None
    levels = tuple(array.tolist() for array in path.levels.arrays())
    return path.symbol, path.first_seq, path.last_seq, path.ts_event_ns, path.ts_recv_ns, levels


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE)


def test_gatepath_reads_every_recorded_delta_as_the_generic_path(recording: Recording) -> None:
    feed = recording.feed()
    assert isinstance(feed, GateioBookFeed)
    assert isinstance(feed.delta_path, GatePath)
    read = 0
    for record in recording.records:
        if record.kind != "ws":
            continue
        mine = _read(feed.delta_path, record.payload)
        assert mine == _read(_generic(), record.payload)
        read += mine is not None
    assert read == 172


@given(frame=fuzz.mutated_frames(_frames))
@example(frame=DELTA)
def test_gatepath_accepts_nothing_the_generic_path_declines(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    mine = _read(_feed().delta_path, frame)
    if mine is not None:
        assert mine == _read(_generic(), frame)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"t":1619093562998,', b'"t":1619093562998,"full":true,'),  # a snapshot
        (b'"e":"depthUpdate",', b'"l":"100","x":1,'),  # a key Gate does not send
        (b'"U":7,', b'"U":7,"U":7,'),  # a key twice
        (b'"s":"OMG_USDT",', b""),  # no pair
        # the pair after the levels (read with the pair's scales: it must come first)
        (
            b'"s":"OMG_USDT","U":7,"u":9,"b":[["7.9","1.5"],["7.8","0"]],"a":[["8.1","2"]]',
            b'"U":7,"u":9,"b":[["7.9","1.5"],["7.8","0"]],"a":[["8.1","2"]],"s":"OMG_USDT"',
        ),
        (b'"b":[["7.9","1.5"],["7.8","0"]],"a":[["8.1","2"]]', b'"a":[],"b":[]'),  # a before b
        (b'"u":9,', b'"u": 9,'),  # a space
        (b'"e":"depthUpdate"', b'"e":"depth\\u0055pdate"'),  # an escape
        (b"]}}", b']},"x":1}'),  # something after the result
        (b'"t":1619093562998,', b""),  # no time
        (b'"OMG_USDT"', b'"NOT_LISTED"'),  # a pair the feed does not keep
    ],
)
def test_gatepath_declines_every_other_shape(old: bytes, new: bytes) -> None:
    feed = _feed()
    if feed.symbols.get("OMG_USDT") is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    assert _read(feed.delta_path, DELTA) is not None
    frame = DELTA.replace(old, new)
    assert frame != DELTA
    assert feed.delta_path.scan(frame, 0) == DECLINED, frame


def test_gatepath_skips_the_documented_level_count(recording: Recording) -> None:
    frame = DELTA.replace(b'"e":"depthUpdate",', b'"l":"100","e":"depthUpdate",')
    assert _read(_feed().delta_path, frame) == _read(_generic(), frame) is not None


def test_gatepath_refuses_other_keys() -> None:
    with pytest.raises(ValueError, match="Gate's keys"):
        GatePath([], anchor=b"x", symbol_key=b"sym", first_key=b"U", last_key=b"u",
                 time_key=b"t", level_keys=((b"b", BID), (b"a", ASK)))  # fmt: skip


BOOK = b'{"id":42,"current":5,"update":1623898993121,"asks":[["1.52","1.151"],["1.53","1.218"]],'
BOOK_BIDS = b'"bids":[["1.17","201.863"],["1.16","725.464"]]'


def _book(body: bytes) -> tuple[object, ...] | None:
    read = read_order_book(body, 8, 10)
    if read is None:
        return None
    book_id, update, arrays = read
    return book_id, update, tuple(array.tolist() for array in arrays)


def test_read_order_book_puts_the_bids_first_in_either_order() -> None:
    asks_first = _book(BOOK + BOOK_BIDS + b"}")
    bids_first = _book(BOOK.replace(b'"asks"', BOOK_BIDS + b',"asks"')[:-1] + b"}")
    assert asks_first == bids_first == (
        42, 1623898993121,
        ([BID, BID, ASK, ASK], [117000000, 116000000, 152000000, 153000000],
         [2018630000000, 7254640000000, 11510000000, 12180000000]),
    )  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        BOOK + BOOK_BIDS,  # unterminated
        BOOK + BOOK_BIDS + b"} ",  # something after the object
        BOOK[:-1] + b"}",  # no bids
        BOOK + BOOK_BIDS + b',"bids":[]}',  # bids twice
        BOOK + BOOK_BIDS + b',"x":1}',  # a key Gate does not send
        b'{"current":5,"id":42,' + BOOK[8:] + BOOK_BIDS + b"}",  # id not first
        b" " + BOOK + BOOK_BIDS + b"}",  # a space
        b"",
    ],
)
def test_read_order_book_declines_every_other_shape(body: bytes) -> None:
    assert _book(BOOK + BOOK_BIDS + b"}") is not None
    assert _book(body) is None


def test_read_order_book_output_is_not_overwritten_by_the_next_read() -> None:
    first = read_order_book(BOOK + BOOK_BIDS + b"}", 8, 10)
    assert first is not None
    read_order_book(BOOK.replace(b"1.52", b"9.99") + BOOK_BIDS + b"}", 8, 10)
    assert first[2][1].tolist() == [117000000, 116000000, 152000000, 153000000]


_URL_TEXT = st.text(alphabet="abc_=&?#%+;/: \tAB12", max_size=30)


@given(prefix=_URL_TEXT, pair=_URL_TEXT, rest=_URL_TEXT)
@example(prefix="https://api.gateio.ws/api/v4/spot/order_book?", pair="HAI_ETH",
         rest="&limit=100&with_id=true")  # fmt: skip
@example(prefix="https://x/y?currency_pair=&", pair="A", rest="")
def test_snapshot_pair_reads_what_parse_qs_reads(prefix: str, pair: str, rest: str) -> None:
    url = f"{prefix}currency_pair={pair}{rest}"
    assert snapshot_pair(url) == parse_qs(urlparse(url).query).get("currency_pair", [""])[0]


def test_no_book_filter_sets_aside_only_frames_parse_ws_ignores(recording: Recording) -> None:
    feed = recording.feed()
    assert isinstance(feed, GateioBookFeed)
    matched = set()
    for record in recording.records:
        if record.kind == "ws" and feed.no_book.matches(record.payload):
            assert feed.parse_ws(record.payload, 0, 0) == []
            message = json.loads(record.payload)
            matched.add((message["channel"], message["event"]))
    channels = {channel for channel, event in matched if event not in ACK_EVENTS}
    assert channels == {"spot.tickers", "spot.trades", "spot.candlesticks"}
    assert set(NO_BOOK_CHANNELS) >= channels
    assert ("spot.order_book_update", "subscribe") in matched  # the book channel's acks
    pong = b'{"time":1,"channel":"spot.pong","event":"","error":null,"result":null}'
    assert feed.no_book.matches(pong)
    assert feed.parse_ws(pong, 0, 0) == []


def test_books_use_the_flat_layout_not_a_megabyte_window(recording: Recording) -> None:
    report = replay(recording.records, recording.feed())
    assert len(report.books) == 10
    for book in report.books.values():
        assert book.sync.book.widths == (0, 0)
        assert book.sync.book.nbytes < 64 * 1024


@pytest.mark.parametrize("channel", [b"spot.order_book_update", b"spot.obu", b"spot.tickers"])
@pytest.mark.parametrize("event", [b"subscribe", b"unsubscribe", b"update", b"all"])
def test_no_book_filter_sets_acks_aside_and_never_an_update(channel: bytes, event: bytes) -> None:
    feed = _feed()
    frame = (b'{"time":1,"channel":"' + channel + b'","event":"' + event
             + b'","result":{"status":"success"}}')  # fmt: skip
    is_ack = event in (b"subscribe", b"unsubscribe")
    assert feed.no_book.matches(frame) == (is_ack or channel == b"spot.tickers")
    if feed.no_book.matches(frame):
        assert feed.parse_ws(frame, 0, 0) == []
    assert not feed.no_book.matches(DELTA)  # a delta reaches its reader whatever else matches


def test_snapshot_events_are_what_the_constructor_builds(recording: Recording) -> None:
    feed = recording.feed()
    assert isinstance(feed, GateioBookFeed)
    assert parsing._EVENT_FIELDS_SET  # the one-call build is in use
    bodies = [record for record in recording.records if record.kind == "rest"]
    assert len(bodies) == 10
    for record in bodies:
        assert record.url is not None
        instrument = feed.symbols.get(snapshot_pair(record.url))
        assert instrument is not None
        event = parsing.parse_order_book_snapshot(record.payload, instrument, 7)
        read = read_order_book(record.payload, instrument.price_decimals,
                               instrument.size_decimals)  # fmt: skip
        assert read is not None
        built = wire.book_event(
            VENUE, instrument.symbol, BookEventKind.SNAPSHOT, read[2], first_seq=read[0],
            last_seq=read[0], ts_event_ns=read[1] * 1_000_000, ts_recv_ns=7,
        )  # fmt: skip
        assert type(event) is BookEvent
        for field in parsing._EVENT_FIELDS:
            mine, theirs = getattr(event, field), getattr(built, field)
            if field in ("sides", "prices", "sizes"):
                assert mine.dtype == theirs.dtype
                assert mine.flags.c_contiguous
                assert mine.tolist() == theirs.tolist()
            else:
                assert mine == theirs
                assert type(mine) is type(theirs)


def test_the_snapshot_maker_takes_book_events_only_trusted_and_whole() -> None:
    with pytest.raises(TypeError, match="converter"):
        Maker(BookEvent)  # converters and a length check: only a caller that is sure may skip
    with pytest.raises(TypeError, match="takes 12 values"):
        parsing._new_event("gateio")
    assert parsing._EVENT_FIELDS_SET


def test_gatepath_finds_every_route_of_a_large_table() -> None:
    natives = [f"P{i}_USDT".encode() for i in range(300)] + [b"A", b"AB", b"ABC"]
    path = GatePath(
        [Route(native, native.decode(), 8, 8) for native in natives], anchor=parsing._UPDATE_HEAD,
        window=parsing._HEAD_WINDOW, symbol_key=b"s", first_key=b"U", last_key=b"u",
        time_key=b"t", time_required=True, time_unit_ns=1_000_000,
        level_keys=((b"b", BID), (b"a", ASK)),
    )  # fmt: skip
    for native in natives:
        frame = DELTA.replace(b'"OMG_USDT"', b'"' + native + b'"')
        assert path.scan(frame, 5) == SCANNED
        assert path.symbol == native.decode()
    for unknown in (b"OMG_USDT", b"P300_USDT", b"", b"ABCD", b"P1_USD"):
        assert path.scan(DELTA.replace(b'"OMG_USDT"', b'"' + unknown + b'"'), 5) == DECLINED


def test_gatepath_refuses_a_one_byte_anchor() -> None:
    with pytest.raises(ValueError, match="two bytes"):
        GatePath([], anchor=b"{", symbol_key=b"s", first_key=b"U", last_key=b"u",
                 time_key=b"t", level_keys=((b"b", BID), (b"a", ASK)))  # fmt: skip
