"""The compiled frame path (arbcore_ext.framepath): the BBO check against the dict it replaced,
quote readers and no-book filters against the venues' parse_frame, replay against the Python
path."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.exchanges.binance import parsing as binance
from arbcore.exchanges.binance.data import BinanceBookFeed
from arbcore.exchanges.kucoin import parsing as kucoin
from arbcore.exchanges.kucoin.data import KucoinBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import replay
from arbcore.model import Instrument, Quote
from arbcore.testing.conformance import load_venue_recording
from arbcore_ext import deltapath
from arbcore_ext.book import L2Book
from arbcore_ext.deltapath import BookCounters, SyncCore
from arbcore_ext.framepath import QUOTED, BboCheck, KindFilter

BTC = Instrument.from_text(
    venue="binance", native_symbol="BTCUSDT", base="BTC", quote="USDT", tick_size="0.01",
    lot_size="0.00001",
)  # fmt: skip
SNX = Instrument.from_text(
    venue="kucoin", native_symbol="SNX-BTC", base="SNX", quote="BTC", tick_size="0.00000001",
    lot_size="0.0001",
)  # fmt: skip


def test_statuses_follow_deltapath() -> None:
    # the loop reads DeltaPath's statuses from deltapath.pxd; QUOTED must not collide with one
    names = ("APPLIED", "DECLINED", "SKIPPED", "UNROUTED", "DEFER", "VERIFY", "SCANNED", "CROSSED")
    statuses = {getattr(deltapath, name) for name in names}
    assert len(statuses) == len(names)
    assert QUOTED not in statuses


# -- BboCheck against the dict-based check it replaced ---------------------------------------------


class DictCheck:
    """The replay's BBO check before arbcore_ext.framepath (pending quotes in a dict)."""

    def __init__(self, core: SyncCore) -> None:
        self.core, self.matches, self.mismatches = core, 0, 0
        self.pending: dict[int, tuple[int, ...]] = {}

    def compare(self, values: tuple[int, ...]) -> None:
        book = self.core.book
        shown = (book.best_bid(), book.best_bid_size(), book.best_ask(), book.best_ask_size())
        if shown == values:
            self.matches += 1
        else:
            self.mismatches += 1

    def on_quote(self, update_id: int, *values: int) -> None:
        if not update_id or not self.core.synced:
            return
        if update_id == self.core.book_id:
            self.compare(values)
        elif update_id > self.core.book_id:
            self.pending[update_id] = values

    def after_update(self) -> None:
        if not self.pending:
            return
        book_id = self.core.book_id
        values = self.pending.pop(book_id, None)
        if values is not None and self.core.synced:
            self.compare(values)
        for stale in [update for update in self.pending if update < book_id]:
            del self.pending[stale]


def _core() -> SyncCore:
    return SyncCore(L2Book(2, 0), BookCounters())


def _top(core: SyncCore, bid: int, bid_size: int, ask: int, ask_size: int) -> None:
    """The book's whole content: one bid and one ask."""
    core.book.apply_snapshot(*(np.array([value], dtype=np.int64)
                               for value in (bid, bid_size, ask, ask_size)))  # fmt: skip


# few values, so that quotes often match the book (and a wrong quote kept shows)
_levels = st.tuples(st.integers(1, 2), st.just(1), st.integers(4, 5), st.just(1))
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("quote"), st.integers(0, 5), _levels),
        st.tuples(st.just("update"), st.integers(0, 5), _levels),  # book id and top -> after
        st.tuples(st.just("unsync"), st.integers(0, 5), _levels),
    ),
    max_size=60,
)


@given(_steps)
def test_bbo_check_counts_exactly_as_the_dict_did(
    steps: list[tuple[str, int, tuple[int, int, int, int]]],
) -> None:
    core = _core()
    core.synced = True
    check, reference = BboCheck(core), DictCheck(core)
    for action, number, (bid, bid_size, ask, ask_size) in steps:
        if action == "quote":
            check.on_quote(number, bid, bid_size, ask, ask_size)
            reference.on_quote(number, bid, bid_size, ask, ask_size)
        elif action == "update":
            core.synced = True
            _top(core, bid, bid_size, ask, ask_size)
            core.book_id = number
            check.after_update()
            reference.after_update()
        else:
            core.synced = not core.synced
            core.book_id = number
        assert (check.matches, check.mismatches) == (reference.matches, reference.mismatches)
        # the ones still ahead of the book (both drop passed ones on the next update)
        waiting = sorted((update, *values) for update, values in reference.pending.items()
                         if update > core.book_id)  # fmt: skip
        assert [row for row in check.waiting if row[0] > core.book_id] == waiting


def test_bbo_check_compares_at_the_update_the_quote_names() -> None:
    core = _core()
    check = BboCheck(core)
    check.on_quote(5, 100, 1, 105, 2)  # not in sync: ignored
    core.synced, core.book_id = True, 4
    _top(core, 100, 1, 105, 2)
    check.on_quote(6, 100, 1, 105, 2)  # ahead of the book: waits
    check.on_quote(6, 100, 1, 106, 2)  # the same update again: the later quote counts
    check.on_quote(4, 100, 1, 105, 2)  # at the book: a match now
    check.on_quote(2**70, 1, 1, 1, 1)  # beyond any book id: never compared
    assert (check.matches, check.mismatches, check.waiting) == (1, 0, [(6, 100, 1, 106, 2)])
    core.book_id = 6
    check.after_update()
    assert (check.matches, check.mismatches, check.waiting) == (1, 1, [])


# -- quote readers and no-book filters against parse_frame -----------------------------------------


def _feeds() -> tuple[BinanceBookFeed, KucoinBookFeed]:
    return BinanceBookFeed(SymbolMap.of("binance", [BTC])), KucoinBookFeed(
        SymbolMap.of("kucoin", [SNX])
    )


BOOK_TICKER = (
    b'{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT",'
    b'"b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}'
)
TRADE = (
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT",'
    b'"t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true}}'
)
TICKER = (
    b'{"data":{"sequence":"1612844051653","bestAsk":"0.00028717","size":"0.01745248",'
    b'"bestBidSize":"3.70422021","price":"0.00028676","time":1619378326323,'
    b'"bestAskSize":"14.04274325","bestBid":"0.00028678"},"subject":"trade.ticker",'
    b'"topic":"/market/ticker:SNX-BTC","type":"message"}'
)
MATCH = (
    b'{"data":{"symbol":"SNX-BTC","sequence":"1612701563869","side":"buy","size":"81.8814",'
    b'"price":"0.0000001117","time":"1619378327739050725","type":"match"},'
    b'"subject":"trade.l3match","topic":"/market/match:SNX-BTC","type":"message"}'
)
ACK = b'{"id":"1","type":"ack"}'


def _parsed(venue: str, feed: BinanceBookFeed | KucoinBookFeed, frame: bytes) -> object:
    parse = binance.parse_frame if venue == "binance" else kucoin.parse_frame
    try:
        return parse(frame, feed.symbols)
    except ValueError as exc:  # FeedError and DecimalFormatError are ValueErrors
        return exc


def _agrees(venue: str, feed: BinanceBookFeed | KucoinBookFeed, frame: bytes) -> None:
    """What the compiled readers take, parse_frame reads the same way."""
    parsed = _parsed(venue, feed, frame)
    if feed.no_book.matches(frame):
        assert parsed == []
    if feed.quote_path.read(frame) == QUOTED:
        assert isinstance(parsed, list)
        assert len(parsed) == 1
        quote = parsed[0]
        assert isinstance(quote, Quote)
        values = (quote.update_id, quote.bid_price, quote.bid_size, quote.ask_price,
                  quote.ask_size)  # fmt: skip
        assert feed.quote_path.last_quote == values


def _attached(feed: BinanceBookFeed | KucoinBookFeed) -> None:
    for symbol in feed.symbols.by_symbol:
        instrument = feed.symbols.by_symbol[symbol]
        feed.quote_path.attach(symbol, BboCheck(feed.new_sync(instrument).core))


def test_readers_take_the_usual_frames() -> None:
    binance_feed, kucoin_feed = _feeds()
    _attached(binance_feed)
    _attached(kucoin_feed)
    assert binance_feed.quote_path.read(BOOK_TICKER) == QUOTED
    assert binance_feed.quote_path.last_quote == (50093239212, 6183763, 378826, 6183764, 154698)
    assert kucoin_feed.quote_path.read(TICKER) == QUOTED
    assert kucoin_feed.quote_path.last_symbol == "SNX/BTC"
    assert binance_feed.no_book.matches(TRADE)
    assert not binance_feed.no_book.matches(BOOK_TICKER)
    assert kucoin_feed.no_book.matches(MATCH)
    assert kucoin_feed.no_book.matches(ACK)
    assert not kucoin_feed.no_book.matches(TICKER)
    for venue, feed, frame in (("binance", binance_feed, BOOK_TICKER),
                               ("kucoin", kucoin_feed, TICKER)):  # fmt: skip
        _agrees(venue, feed, frame)
    # a symbol whose book is not attached is declined (replay starts its book in Python)
    binance_feed.quote_path.attach(BTC.symbol, None)
    assert binance_feed.quote_path.read(BOOK_TICKER) == deltapath.DECLINED


#: an edit at an offset: bytes that change how a frame reads (quotes, escapes, digits, keys)
_TEXTS = [b'"', b"\\", b".", b"0", b"9", b"e", b":", b",", b"-", b"", b"\xc3", b"E5", b" ",
          b'"e":"x",', b'"b":"1",', b'"A" :']  # fmt: skip
_MUTATION = st.tuples(st.integers(0, 300), st.sampled_from(_TEXTS))
_SAMPLES = [("binance", BOOK_TICKER), ("binance", TRADE), ("kucoin", TICKER), ("kucoin", MATCH),
            ("kucoin", ACK)]  # fmt: skip

Edit = tuple[tuple[int, bytes], bool]


@given(st.sampled_from(_SAMPLES), st.lists(st.tuples(_MUTATION, st.booleans()), max_size=3))
def test_readers_agree_with_parse_frame_on_mutated_frames(
    sample: tuple[str, bytes], edits: list[Edit]
) -> None:
    venue, frame = sample
    for (at, text), insert in edits:
        at %= len(frame) + 1
        frame = frame[:at] + text + frame[at + (0 if insert else 1) :]
    binance_feed, kucoin_feed = _feeds()
    feed = binance_feed if venue == "binance" else kucoin_feed
    _attached(feed)
    _agrees(venue, feed, frame)


def test_kind_filter_none_means_absent() -> None:
    assert KindFilter(b"subject", [None]).matches(ACK)
    assert not KindFilter(b"subject", [None]).matches(MATCH)
    assert not KindFilter(b"e", [b"trade"]).matches(b'{"e":"trade\\u0020"}')


# -- replay: the compiled loop against the Python path ---------------------------------------------


class Hiding:
    """A feed without some of its optional compiled paths (replay reads them with getattr)."""

    def __init__(self, feed: object, *hidden: str) -> None:
        self._feed, self._hidden = feed, hidden

    def __getattr__(self, name: str) -> object:
        if name in self._hidden:
            raise AttributeError(name)
        return getattr(self._feed, name)


@pytest.mark.recording
@pytest.mark.parametrize("venue", ["binance", "kucoin"])
def test_replay_equals_the_python_path(shared_data: Path, venue: str) -> None:
    recording = load_venue_recording(venue, shared_data)
    compiled = replay(recording.records, recording.feed())
    assert sum(book.bbo_matches for book in compiled.books.values()) > 0
    # quotes and ignored frames through parse_ws, from an iterator (the loop takes any)
    feed = Hiding(recording.feed(), "quote_path", "no_book")
    reference = replay(iter(recording.records), feed)  # type: ignore[arg-type]
    result, expected = compiled.as_json(), reference.as_json()
    for key in ("elapsed_s", "messages_per_s"):
        result.pop(key), expected.pop(key)
    assert result == expected


@pytest.mark.recording
def test_replay_reads_records_of_any_class(shared_data: Path) -> None:
    # the loop reads attrs Records from their slots; any other object by its attributes
    recording = load_venue_recording("binance", shared_data)
    fields = ("kind", "payload", "ts_ns", "connection", "url", "source")
    plain = [
        SimpleNamespace(**{name: getattr(r, name) for name in fields}) for r in recording.records
    ]
    slots = replay(recording.records, recording.feed()).as_json()
    attributes = replay(plain, recording.feed()).as_json()  # type: ignore[arg-type]
    for report in (slots, attributes):
        report.pop("elapsed_s"), report.pop("messages_per_s")
    assert slots == attributes
    assert slots["messages"] == 41_249


# -- DeltaPath's key search (each key's first value) against the parsers ---------------------

DEPTH = (
    b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,'
    b'"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"]],'
    b'"a":[["61837.64000000","1.54698000"],["61839.85000000","0.00000000"]]}}'
)
L2UPDATE = (
    b'{"data":{"sequenceStart":1613277183893,"symbol":"SNX-BTC","changes":{"asks":[],'
    b'"bids":[["0.00028678","5","1613277183893"]]},"sequenceEnd":1613277183893,'
    b'"time":1619378326673},"subject":"trade.l2update","topic":"/market/level2:SNX-BTC",'
    b'"type":"message"}'
)
_DELTA_TEXTS = [*_TEXTS, b'"asks":[["1","1","1"]],', b'"U":1,', b'"b" :[],', b'"time": 5,']


@given(st.sampled_from([("binance", DEPTH), ("kucoin", L2UPDATE)]),
       st.lists(st.tuples(st.integers(0, 300), st.sampled_from(_DELTA_TEXTS), st.booleans()),
                max_size=3))  # fmt: skip
def test_delta_path_reads_what_parse_frame_reads(
    sample: tuple[str, bytes], edits: list[tuple[int, bytes, bool]]
) -> None:
    venue, frame = sample
    for at, text, insert in edits:
        if insert:  # insertions at a key's start (after a comma), where they keep the shape
            commas = [i + 1 for i, byte in enumerate(frame) if byte == ord(",")]
            at = commas[at % len(commas)]
        at %= len(frame) + 1
        frame = frame[:at] + text + frame[at + (0 if insert else 1) :]
    binance_feed, kucoin_feed = _feeds()
    feed = binance_feed if venue == "binance" else kucoin_feed
    if feed.delta_path.scan(frame) != deltapath.SCANNED or _ambiguous(frame):
        return  # no one reading to compare with: the path takes each key's first value (below)
    parsed = _parsed(venue, feed, frame)
    if not isinstance(parsed, list) or len(parsed) != 1:
        return  # the path's anchor test is looser than parse_frame's dispatch (e.g. "e":"x")
    event = parsed[0]
    path = feed.delta_path
    sides, prices, sizes = (array.tolist() for array in path.levels.arrays())
    assert (path.first_seq, path.last_seq, path.ts_event_ns) == (
        event.first_seq, event.last_seq, event.ts_event_ns,
    )  # fmt: skip
    assert (sides, prices, sizes) == (event.sides.tolist(), event.prices.tolist(),
                                      event.sizes.tolist())  # fmt: skip


def _ambiguous(frame: bytes) -> bool:
    """Whether ``frame`` is not JSON, or names a key twice, in one object or in two (the
    readers differ on which one counts; the venues' frames use each key once)."""
    seen: set[str] = set()
    repeated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        for key, _ in items:
            repeated = repeated or key in seen
            seen.add(key)
        return dict(items)

    try:
        json.loads(frame, object_pairs_hook=pairs)
    except ValueError:
        return True
    return repeated


def test_delta_path_takes_each_keys_first_value() -> None:
    binance_feed, _ = _feeds()
    path = binance_feed.delta_path
    repeated = DEPTH[:-2] + b',"U":7,"u":8}}'  # later copies of U and u: the first ones count
    spaced = DEPTH.replace(b'"U":', b'"U" : ').replace(b'"b":', b'"b":\n')  # find_value_c reads
    for frame in (repeated, spaced):
        assert path.scan(frame) == deltapath.SCANNED
        assert (path.first_seq, path.last_seq) == (50093239189, 50093239202)
        assert path.levels.count == 3


def test_kind_filter_objects_only_never_searches_an_array() -> None:
    heartbeat = b'{"event":"heartbeat"}'
    # an array frame that happens to hold the key and a kind (Kraken v1 carries book data in
    # arrays): a plain filter finds the key inside; objects_only does not look
    array = b'[1,{"event":"heartbeat"},"book-10","XBT/USD"]'
    plain = KindFilter(b"event", [b"heartbeat"])
    objects = KindFilter(b"event", [b"heartbeat"], objects_only=True)
    assert plain.matches(array)
    assert not objects.matches(array)
    assert plain.matches(heartbeat)
    assert objects.matches(heartbeat)
    assert not objects.matches(b"")
    assert not objects.matches(b' {"event":"heartbeat"}')
    assert not KindFilter(b"event", [None], objects_only=True).matches(b"[1,2]")
