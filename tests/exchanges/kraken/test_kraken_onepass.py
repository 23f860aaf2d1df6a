"""Kraken's one-pass v1 reader (krakenpath.scan_v1_book, the delta path's reader) agrees with the
validating parser on every frame it accepts and accepts the wire's own shape; the delta path's
per-book checksum cache (TopCache) gives the Python rule's verdict on every update of random
books; the cache's CRC-32 (and its chaining of a text by shift and raw CRC) is zlib's."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.errors import FeedError
from arbcore.exchanges.kraken import parsing
from arbcore.exchanges.kraken.data import KrakenBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import replay
from arbcore.marketdata.records import Record
from arbcore.model import BookEvent, BookEventKind, Instrument
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer
from arbcore_ext.deltapath import APPLIED, DECLINED, VERIFY
from arbcore_ext.fixedpoint import to_raw
from arbcore_ext.krakenpath import crc32, crc32_append, scan_v1_book
from tests.exchanges.kraken.test_kraken_market_data import _parse_ws_only

PAIR = "XMR/USD"
INSTRUMENT = Instrument.from_text(
    venue="kraken", native_symbol=PAIR, base="XMR", quote="USD", tick_size="0.01",
    lot_size="0.00000001",
)  # fmt: skip


@given(data=st.binary(max_size=300), start=st.integers(0, 2**32 - 1))
def test_kraken_cache_crc32_is_zlibs(data: bytes, start: int) -> None:
    assert crc32(data) == zlib.crc32(data)
    assert crc32(data, start) == zlib.crc32(data, start)


@given(data=st.binary(max_size=100), start=st.integers(0, 2**32 - 1))
def test_kraken_cache_chains_a_text_as_zlib_continues_it(data: bytes, start: int) -> None:
    # lengths 0-64 take the shift tables, longer texts are hashed: both are zlib's
    assert crc32_append(data, start) == zlib.crc32(data, start)


# -- the reader against the validating parser -----------------------------------------------------

_DIGITS = st.text("0123456789", min_size=1, max_size=12)


@st.composite
def _decimal(draw: st.DrawFn) -> str:
    """Decimal text as venues send it and a little beyond: long fractions, zeros past the
    scale, leading zeros, a bare integer, and now and then something that is not a decimal."""
    whole = draw(_DIGITS)
    fraction = draw(st.one_of(st.none(), _DIGITS, _DIGITS.map(lambda d: d + "0" * 9)))
    text = whole if fraction is None else f"{whole}.{fraction}"
    return draw(st.sampled_from([text, text, text, "1.", ".5", "1e3", "-1", "", "1.2.3"]))


@st.composite
def _level(draw: st.DrawFn) -> list[Any]:
    level: list[Any] = [draw(_decimal()), draw(_decimal()), "1618678135.078658"]
    extra: list[Any] = draw(st.sampled_from([[], [], ["r"], ["r", "x"], [7]]))
    return level + extra if draw(st.booleans()) else level[: draw(st.integers(1, 3))]


@st.composite
def _book_frame(draw: st.DrawFn) -> bytes:
    """A v1 book frame: an update or a snapshot in the wire's compact form, sometimes bent
    (keys out of order or twice, an unknown key, a checksum on a snapshot, spaces, numbers)."""
    snapshot = draw(st.booleans())
    keys = ["as", "bs"] if snapshot else ["a", "b"]
    present = draw(st.sampled_from([keys, keys[:1], keys[1:], keys[::-1], [], keys + keys[:1]]))
    maps: list[list[tuple[str, Any]]] = [[]]
    for key in present:
        maps[-1].append((key, draw(st.lists(_level(), max_size=4))))
        if draw(st.booleans()):
            maps.append([])
    if (not snapshot or draw(st.integers(0, 9)) == 0) and draw(st.integers(0, 5)):
        checksum = draw(st.sampled_from([str(draw(st.integers(0, 2**32))), "", "12a", 5]))
        maps[-1].append(("c", checksum))
    if draw(st.integers(0, 15)) == 0:
        maps[-1].append((draw(st.sampled_from(["x", "A", "as", "c"])), []))
    texts = []
    for fields in maps:
        empty_too: bool = draw(st.booleans())  # an empty map now and then
        if fields or empty_too:
            pairs = (f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}" for k, v in fields)
            texts.append("{" + ",".join(pairs) + "}")
    body = ",".join(texts)
    frame = f'[{draw(st.sampled_from(["336", "0", "07"]))},{body},"book-1000","{PAIR}"]'
    if draw(st.integers(0, 15)) == 0:
        frame = frame.replace(",", ", ", 1)
    return frame.encode()


def _validated(frame: bytes) -> Any:
    try:
        event = parsing.validated_v1_book(frame, INSTRUMENT)
    except (FeedError, ValueError):  # MalformedMessage, DecimalFormatError: what replay counts
        return None
    arrays = (event.sides.tolist(), event.prices.tolist(), event.sizes.tolist())
    return event.kind, event.checksum, arrays


@given(frame=_book_frame())
def test_kraken_one_pass_reader_reads_what_the_validating_parser_reads(frame: bytes) -> None:
    levels = LevelBuffer(2)  # smaller than most frames: the reader grows it
    scanned = scan_v1_book(frame, INSTRUMENT.price_decimals, INSTRUMENT.size_decimals, levels)
    expected = _validated(frame)
    if scanned is None:
        return  # declined: the validating path reads it (or rejects it)
    assert expected is not None, frame  # nothing the validating parser rejects is read
    snapshot, checksum = scanned
    arrays = tuple(array.tolist() for array in levels.arrays())
    kind = BookEventKind.SNAPSHOT if snapshot else BookEventKind.DELTA
    assert (kind, checksum, arrays) == expected
    assert parsing.parse_v1_book(frame, INSTRUMENT).checksum == checksum


@given(
    asks=st.lists(st.tuples(st.integers(1, 10**9), st.integers(0, 10**12)), max_size=5),
    bids=st.lists(st.tuples(st.integers(1, 10**9), st.integers(0, 10**12)), max_size=5),
    flags=st.booleans(),
)
def test_kraken_one_pass_reader_takes_the_wire_shape(
    asks: list[tuple[int, int]], bids: list[tuple[int, int]], flags: bool
) -> None:
    # the shape Kraken sends (compact, asks then bids, 3 or 4 strings a level) is never declined
    def side(levels: list[tuple[int, int]]) -> list[list[str]]:
        rows = [[f"{_text(p, 2)}000", _text(q, 8), "1618678135.078658"] for p, q in levels]
        return [[*row, "r"] for row in rows] if flags else rows

    fields = {"a": side(asks), "b": side(bids), "c": "974947235"}
    if not asks:
        del fields["a"]
    frame = json.dumps([336, fields, "book-10", PAIR], separators=(",", ":")).encode()
    levels = LevelBuffer()
    scanned = scan_v1_book(frame, INSTRUMENT.price_decimals, INSTRUMENT.size_decimals, levels)
    assert scanned == (False, 974947235)
    assert levels.arrays()[1].tolist() == [p for p, _ in asks] + [p for p, _ in bids]
    assert levels.arrays()[2].tolist() == [q for _, q in asks] + [q for _, q in bids]


@given(
    whole=st.integers(0, 9_999_999),
    fraction=st.text("0123456789", min_size=1, max_size=17),
    decimals=st.integers(0, 11),
)
def test_kraken_one_pass_reader_takes_long_fractions(
    whole: int, fraction: str, decimals: int
) -> None:
    # up to 16 fraction digits are read in the fast reader, the rest by the exact one: any
    # price the validating parser takes is taken, at the same value (9 places are common)
    price = f"{whole}.{fraction}"
    frame = f'[1,{{"a":[["{price}","1.5","1"]]}},"book-10","{PAIR}"]'.encode()
    try:
        expected = to_raw(price, decimals)
    except ValueError:  # digits beyond the scale or out of range: the validating path's error
        expected = None
    levels = LevelBuffer()
    scanned = scan_v1_book(frame, decimals, 8, levels)
    if expected is None:
        assert scanned is None
    else:
        assert scanned == (False, None), price
        assert levels.arrays()[1].tolist() == [expected]
        assert levels.arrays()[2].tolist() == [150_000_000]


@given(digits=st.text("0123456789", min_size=1, max_size=20))
def test_kraken_one_pass_reader_reads_the_checksum_digits(digits: str) -> None:
    # 1-15 digits are read a word at a time, longer ones a byte at a time (at most 18)
    frame = f'[1,{{"a":[["1.5","1.5","1"]],"c":"{digits}"}},"book-10","{PAIR}"]'.encode()
    scanned = scan_v1_book(frame, 2, 8, LevelBuffer())
    assert scanned == (None if len(digits) > 18 else (False, int(digits)))


def _tail_by_split(frame: bytes) -> tuple[str, str] | None:
    """The frame's last two strings by splitting it (what ``_v1_tail`` finds from the end)."""
    parts = frame.rstrip().rsplit(b'"', 4)
    if len(parts) != 5 or parts[4].strip() != b"]" or parts[2].strip() != b",":
        return None
    try:
        return parts[1].decode("ascii"), parts[3].decode("ascii")
    except UnicodeDecodeError:
        return None


_TAIL_PIECES = [b'"', b",", b" , ", b"]", b" ]", b"] ", b"\n", b"book-10", b"XBT/USD", b"\xc3", b""]


@given(
    head=st.sampled_from([b"", b'[1,{"a":[]},', b'"']),
    pieces=st.lists(st.sampled_from(_TAIL_PIECES), max_size=6),
    shaped=st.lists(st.sampled_from(_TAIL_PIECES), min_size=4, max_size=4),
)
def test_kraken_tail_is_found_from_the_end_as_a_split_finds_it(
    head: bytes, pieces: list[bytes], shaped: list[bytes]
) -> None:
    # random bytes, and the tail's shape ("name" sep "pair" end) with random parts
    for frame in (head + b"".join(pieces), head + b'"%s"%s"%s"%s' % tuple(shaped)):
        assert parsing._v1_tail(frame) == _tail_by_split(frame)


@pytest.mark.parametrize(
    "frame",
    [
        b'[1,{"b":[["1.0","1.0","1"]]},{"a":[["2.0","1.0","1"]]},"book-10","XMR/USD"]',  # b, a
        b'[1,{"a":[["1.0","1.0","1"]]},{"a":[["2.0","1.0","1"]]},"book-10","XMR/USD"]',  # twice
        b'[1,{"a":[["1.0","1.0","1"]],"x":1},"book-10","XMR/USD"]',  # an unknown key
        b'[1,{"as":[["1.0","1.0","1"]],"c":"5"},"book-10","XMR/USD"]',  # checksum, snapshot
        b'[1,{"a":[["1.0","1.0"]]},"book-10","XMR/USD"]',  # two elements
        b'[1,{"a":[["1.0","1.0","1","r","x"]]},"book-10","XMR/USD"]',  # five
        b'[1,{"a":[["1.0","1.0","1\\u0031"]]},"book-10","XMR/USD"]',  # an escape
        b'[1,{"a":[["1.0","1.0","1"]]},"book-10", "XMR/USD"]',  # a space
        b'[1,{"c":"5"},"book-10","XMR/USD"]',  # no levels
    ],
)
def test_kraken_one_pass_reader_declines_what_it_might_read_differently(frame: bytes) -> None:
    assert scan_v1_book(frame, 2, 8, LevelBuffer()) is None
    # the delta path declines it too, before numbering it
    path = parsing.update_path(SymbolMap.of("kraken", [INSTRUMENT]))
    assert path.scan(frame) == DECLINED
    assert path.arrivals == 0


# -- the checksum cache against the Python rule ---------------------------------------------------


def _frame(fields: dict[str, Any]) -> bytes:
    return json.dumps([336, fields, "book-10", PAIR], separators=(",", ":")).encode()


def _text(raw: int, decimals: int) -> str:
    """``raw`` at ``decimals`` places as the wire writes it (no float anywhere)."""
    whole, fraction = divmod(raw, 10**decimals)
    return f"{whole}.{fraction:0{decimals}d}"


def _rows(levels: list[tuple[int, int]], zeros: int = 0) -> list[list[str]]:
    """Wire rows; ``zeros`` more price places than the pair's 2 (Kraken writes 8 for many)."""
    return [[_text(p, 2) + "0" * zeros, _text(q, 8), "1618678135.078658"] for p, q in levels]


_PRICES = st.integers(9_985, 10_016)  # a narrow band: updates hit the top 10, its edge and below


@st.composite
def _session(draw: st.DrawFn) -> tuple[list[Record], int, bool]:
    """A snapshot and random updates of one book-10 pair, each with the checksum the Python
    rule gives the reference book after it: the records, how many updates come before the
    one whose checksum is wrong (all of them when none is), and whether one is."""
    book = L2Book(INSTRUMENT.price_decimals, INSTRUMENT.size_decimals)
    zeros = draw(st.sampled_from([0, 6]))  # more price places on the wire than the pair's
    asks = draw(st.lists(st.tuples(st.integers(10_001, 10_016), st.integers(1, 10**9)),
                         min_size=draw(st.sampled_from([0, 9, 12])), max_size=14,
                         unique_by=lambda level: level[0]))  # fmt: skip
    bids = draw(st.lists(st.tuples(st.integers(9_985, 10_000), st.integers(1, 10**9)),
                         min_size=draw(st.sampled_from([0, 9, 12])), max_size=14,
                         unique_by=lambda level: level[0]))  # fmt: skip
    # the snapshot's first level fixes the checksum's places (an empty one: the pair's)
    fmt = parsing.BookFormat(10, 2 + zeros if asks or bids else 2, 8)
    records = [Record("ws", 1, _frame({"as": _rows(asks, zeros), "bs": _rows(bids, zeros)}))]
    for side, levels in ((ASK, asks), (BID, bids)):
        for price, size in levels:
            book.set_level(side, price, size)
    wrong = draw(st.integers(-1, 30))
    for n in range(draw(st.integers(1, 30))):
        sizes = st.sampled_from([0, 0, 1, 5 * 10**8, 123456789])
        changes = draw(st.lists(st.tuples(st.sampled_from([ASK, BID]), _PRICES, sizes),
                                min_size=1, max_size=3, unique_by=lambda c: c[:2]))  # fmt: skip
        fields: dict[str, Any] = {}
        for key, side in (("a", ASK), ("b", BID)):
            mine = [(p, q) for s, p, q in changes if s == side]
            if mine:
                fields[key] = _rows(mine, zeros)
                for price, size in mine:
                    book.set_level(side, price, size)
        if book.is_crossed():
            return records, n, False  # the venue never sends a crossed book
        checksum = parsing.book_checksum(book, fmt)
        fields["c"] = str(checksum ^ 1 if n == wrong else checksum)
        records.append(Record("ws", 2 + n, _frame(fields)))
        if n == wrong:
            return records, n, True
    return records, len(records) - 1, False


@given(session=_session())
def test_kraken_checksum_cache_gives_the_python_rules_verdict(
    session: tuple[list[Record], int, bool],
) -> None:
    # every update is verified in C: APPLIED when its checksum is the Python rule's (a stale
    # cache would say VERIFY, handing it back), VERIFY for the wrong one; replay through
    # parse_ws alone ends with the same counters
    records, good, wrong = session
    feed = KrakenBookFeed(SymbolMap.of("kraken", [INSTRUMENT]))
    sync = feed.new_sync(INSTRUMENT)
    feed.delta_path.attach(INSTRUMENT.symbol, sync.core)
    (snapshot,) = feed.parse_ws(records[0].payload, 1)
    assert isinstance(snapshot, BookEvent)
    sync.on_event(snapshot)
    statuses = [feed.delta_path.apply(record.payload) for record in records[1:]]
    assert statuses == [APPLIED] * good + [VERIFY] * wrong
    assert (sync.counters.checksum_ok, sync.counters.updates) == (good, good + wrong)
    fast = replay(records, KrakenBookFeed(SymbolMap.of("kraken", [INSTRUMENT])))
    slow = replay(records, _parse_ws_only(KrakenBookFeed(SymbolMap.of("kraken", [INSTRUMENT]))))
    counters = fast.books[INSTRUMENT.symbol].sync.counters
    assert (counters.checksum_ok, counters.checksum_failed) == (good, int(wrong))
    assert counters.as_dict() == slow.books[INSTRUMENT.symbol].sync.counters.as_dict()


def test_kraken_checksum_cache_follows_the_top_10_edge() -> None:
    # 12 levels a side, truncated to 10: the 10th level changed, a level deleted from the top
    # (the 11th comes back in), one inserted above the 10th, one below it (the cache is kept)
    asks = [(10_001 + i, 100 + i) for i in range(12)]
    bids = [(10_000 - i, 100 + i) for i in range(12)]
    book = L2Book(INSTRUMENT.price_decimals, INSTRUMENT.size_decimals)
    for side, levels in ((ASK, asks), (BID, bids)):
        for price, size in levels:
            book.set_level(side, price, size)
    feed = KrakenBookFeed(SymbolMap.of("kraken", [INSTRUMENT]))
    sync = feed.new_sync(INSTRUMENT)
    feed.delta_path.attach(INSTRUMENT.symbol, sync.core)
    (snapshot,) = feed.parse_ws(_frame({"as": _rows(asks), "bs": _rows(bids)}), 1)
    assert isinstance(snapshot, BookEvent)
    sync.on_event(snapshot)
    changes = [(ASK, 10_010, 9), (ASK, 10_001, 0), (ASK, 10_020, 5), (BID, 9_991, 7),
               (BID, 9_995, 1), (BID, 9_980, 3), (ASK, 10_011, 4), (ASK, 10_009, 0)]  # fmt: skip
    for side, price, size in changes:
        book.set_level(side, price, size)
        checksum = parsing.book_checksum(book, parsing.BookFormat(10, 2, 8))
        key = "a" if side == ASK else "b"
        frame = _frame({key: _rows([(price, size)]), "c": str(checksum)})
        assert feed.delta_path.apply(frame) == APPLIED, (side, price, size)
