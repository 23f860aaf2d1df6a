"""KuCoin's one-pass l2update reader (``arbcore_ext.kucoinpath``) against what it replaces.

``KucoinPath`` must read an l2update exactly as the validating parser and the generic DeltaPath
of the same configuration read it (same symbol, sequences, time, levels) and accept nothing the
generic path declined; KuCoin's tickers, found in one pass by the QuotePath, must read as the
validating ticker parser reads them.
"""

from __future__ import annotations

import json
from functools import cache

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.exchanges.kucoin import parsing
from arbcore.exchanges.kucoin.data import KucoinBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import delta_routes
from arbcore.model import Instrument, Quote
from arbcore.testing import fuzz
from arbcore_ext.book import ASK, BID
from arbcore_ext.deltapath import DECLINED, SCANNED, DeltaPath
from arbcore_ext.fixedpoint import to_text
from arbcore_ext.framepath import QUOTED, BboCheck
from arbcore_ext.kucoinpath import KucoinPath

VENUE = "kucoin"
BTC = Instrument.from_text(
    venue=VENUE, native_symbol="BTC-USDT", base="BTC", quote="USDT", tick_size="0.1",
    lot_size="0.00000001",
)  # fmt: skip
ETH = Instrument.from_text(
    venue=VENUE, native_symbol="ETH-BTC", base="ETH", quote="BTC", tick_size="0.00001",
    lot_size="0.0000001",
)  # fmt: skip
#: the recorded shape: data first, the envelope after it, no time
DELTA = (
    b'{"data":{"sequenceStart":1613277183875,"symbol":"BTC-USDT","changes":{"asks":[["244.3",'
    b'"150","1613277183875"],["0","0","1613277183875"]],"bids":[["243.1","0.5",'
    b'"1613277183875"]]},"sequenceEnd":1613277183875},"subject":"trade.l2update",'
    b'"topic":"/market/level2:BTC-USDT","type":"message"}'
)
TICKER = (
    b'{"data":{"sequence":"1612844051653","bestAsk":"0.00028","size":"0.01745248",'
    b'"bestBidSize":"3.70422021","price":"0.00028","time":1619378326323,'
    b'"bestAskSize":"14.04274325","bestBid":"0.00027"},"subject":"trade.ticker",'
    b'"topic":"/market/ticker:ETH-BTC","type":"message"}'
)


@cache
def _feed() -> KucoinBookFeed:
    feed = KucoinBookFeed(SymbolMap.of(VENUE, [BTC, ETH]))
    for symbol, instrument in feed.symbols.by_symbol.items():
        feed.quote_path.attach(symbol, BboCheck(feed.new_sync(instrument).core))
    return feed


@cache
def _generic() -> DeltaPath:
    """The generic DeltaPath of the same configuration (the feed's reader before KucoinPath)."""
    return DeltaPath(delta_routes(_feed().symbols), **parsing.LEVEL2_PATH_CONFIG)


def _read(path: DeltaPath, frame: bytes) -> tuple[object, ...] | None:
    """What a path reads from a frame (None: declined)."""
    if path.scan(frame, 5) != SCANNED:
        return None
    levels = tuple(array.tolist() for array in path.levels.arrays())
    return path.symbol, path.first_seq, path.last_seq, path.ts_event_ns, path.ts_recv_ns, levels


def _validated(frame: bytes) -> tuple[object, ...]:
    """What the validating parser reads, in ``_read``'s form."""
    event = parsing._validated_level2_update(frame, _feed().symbols, 5)
    levels = (event.sides.tolist(), event.prices.tolist(), event.sizes.tolist())
    return event.symbol, event.first_seq, event.last_seq, event.ts_event_ns, 5, levels


def test_the_feed_reads_l2updates_with_kucoinpath() -> None:
    assert isinstance(_feed().delta_path, KucoinPath)
    assert _read(_feed().delta_path, DELTA) == (
        "BTC/USDT", 1613277183875, 1613277183875, 0, 5,
        ([ASK, BID], [2443, 2431], [150 * 10**11, 5 * 10**10]),
    )  # fmt: skip


def test_kucoinpath_reads_every_recorded_update_as_the_generic_path() -> None:
    recording = fuzz.venue_recording(VENUE)
    if recording is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = recording.feed()
    assert isinstance(feed, KucoinBookFeed)
    generic = DeltaPath(delta_routes(feed.symbols), **parsing.LEVEL2_PATH_CONFIG)
    read = 0
    for record in recording.records:
        if record.kind == "ws":
            mine = _read(feed.delta_path, record.payload)
            assert mine == _read(generic, record.payload)
            read += mine is not None
    assert read == 3853  # every recorded l2update


_DATA_KEYS = ("sequenceStart", "symbol", "changes", "sequenceEnd", "time")
_TOP_KEYS = ("data", "subject", "topic", "type")


def _rows(draw: st.DrawFn, decimals: tuple[int, int], sequence: int) -> list[list[str]]:
    """Level rows at the instrument's scales (some with price 0: sequence-only rows)."""
    price = st.integers(0, 10**9).map(lambda raw: to_text(raw, decimals[0]))
    size = st.integers(0, 10**12).map(lambda raw: to_text(raw, decimals[1]))
    return [[p, q, str(sequence)] for p, q in draw(st.lists(st.tuples(price, size), max_size=4))]


@st.composite
def _updates(draw: st.DrawFn) -> bytes:
    """Single-sequence l2updates in any key order, with or without ``time``, each sequence a
    number or a string."""
    instrument = draw(st.sampled_from(sorted(_feed().symbols.by_native.values(), key=str)))
    sequence = draw(st.integers(0, 2**62))
    scales = (instrument.price_decimals, instrument.size_decimals)
    data = {
        "sequenceStart": draw(st.sampled_from([sequence, str(sequence)])),
        "symbol": instrument.native_symbol,
        "changes": {"asks": _rows(draw, scales, sequence), "bids": _rows(draw, scales, sequence)},
        "sequenceEnd": draw(st.sampled_from([sequence, str(sequence)])),
        "time": draw(st.integers(0, (2**63 - 1) // 1_000_000)),  # ms an int64 holds in ns
    }
    keys = draw(st.permutations(_DATA_KEYS).map(list))
    if draw(st.booleans()):
        keys.remove("time")
    top = {
        "data": {key: data[key] for key in keys},
        "subject": "trade.l2update",
        "topic": f"/market/level2:{instrument.native_symbol}",
        "type": "message",
    }
    order = draw(st.permutations(_TOP_KEYS))
    return json.dumps({key: top[key] for key in order}, separators=(",", ":")).encode()


@given(frame=_updates())
@example(frame=DELTA)
def test_kucoinpath_reads_updates_as_the_validating_parser(frame: bytes) -> None:
    mine = _read(_feed().delta_path, frame)
    changes_first = frame.index(b'"changes"') < frame.index(b'"symbol"')
    # the generic path finds the first "symbol" key after data: the same one
    assert mine == _validated(frame) == _read(_generic(), frame), changes_first


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE)


@given(frame=fuzz.mutated_frames(_frames))
@example(frame=DELTA)
def test_kucoinpath_accepts_nothing_the_generic_path_declines(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    mine = _read(_recorded_feed().delta_path, frame)
    if mine is not None:
        assert mine == _read(_recorded_generic(), frame)


@cache
def _recorded_feed() -> KucoinBookFeed:
    recording = fuzz.venue_recording(VENUE)
    assert recording is not None
    return KucoinBookFeed(SymbolMap.of(VENUE, recording.instruments))


@cache
def _recorded_generic() -> DeltaPath:
    return DeltaPath(delta_routes(_recorded_feed().symbols), **parsing.LEVEL2_PATH_CONFIG)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"sequenceEnd":1613277183875', b'"sequenceEnd":1613277183876'),  # several sequences
        (b'"sequenceEnd":1613277183875', b'"sequenceEnd":16132771838750'),  # the start, longer
        (b'"type":"message"', b'"type":"message","x":1'),  # a top-level key KuCoin does not send
        (b'"symbol":"BTC-USDT",', b'"symbol":"BTC-USDT","x":1,'),  # a data key it does not send
        (b'"sequenceStart":1613277183875,', b'"sequenceStart":1,"sequenceStart":1,'),  # twice
        (b'"symbol":"BTC-USDT",', b""),  # no symbol
        (b'"sequenceEnd":1613277183875', b'"sequenceEnd":"x"'),  # not an integer
        (b'"trade.l2update"', b'"trade.l3match"'),  # another subject
        (b'"subject":"trade.l2update",', b""),  # no subject
        (b'"sequenceEnd":1613277183875}', b'"sequenceEnd": 1613277183875}'),  # a space
        (b'"type":"message"', b'"type":"mess\\u0061ge"'),  # an escape
        (b'"message"}', b'"message"} '),  # something after the object
        # bids before asks
        (
            b'"asks":[["244.3","150","1613277183875"],["0","0","1613277183875"]],"bids"',
            b'"bids":[],"asks"',
        ),
        (b'"BTC-USDT","changes"', b'"XRP-USDT","changes"'),  # a symbol the feed does not keep
        (b'"244.3"', b'"244.35"'),  # finer than the tick: the validating parser's error
        (b'{"asks":', b'{"asks":7,"x":'),  # changes in another shape
        (b'},"sequenceEnd', b',"sequenceEnd'),  # changes left open
        # a time no int64 holds in ns (the validating parser reads it)
        (b'"sequenceEnd":1613277183875}', b'"sequenceEnd":1613277183875,"time":9223372036855}'),
    ],
)
def test_kucoinpath_declines_every_other_shape(old: bytes, new: bytes) -> None:
    assert _read(_feed().delta_path, DELTA) is not None
    frame = DELTA.replace(old, new)
    assert frame != DELTA
    assert _feed().delta_path.scan(frame, 0) == DECLINED, frame


def test_rows_in_other_shapes_read_as_the_scanner_reads_them() -> None:
    # two-element rows, bare numbers, a fourth element, spaces: not KuCoin's rows, read (the
    # whole array) by scan_levels_c
    for old, new in ((b',"1613277183875"]', b"]"), (b'["243.1","0.5"', b'[243.1,0.5'),
                     (b'"0.5","1613277183875"]', b'"0.5","1613277183875",7]'),
                     (b'"bids":[["243.1"', b'"bids": [ ["243.1"')):  # fmt: skip
        frame = DELTA.replace(old, new)
        assert frame != DELTA
        assert _read(_feed().delta_path, frame) == _read(_generic(), frame) is not None


def test_kucoinpath_refuses_other_configurations() -> None:
    config = dict(parsing.LEVEL2_PATH_CONFIG, single_seq=False)
    with pytest.raises(ValueError, match="KuCoin's l2update configuration"):
        KucoinPath([], **config)


def _ticker_values(frame: bytes) -> tuple[int, ...] | None:
    """What the feed's QuotePath reads from a ticker (None: declined)."""
    path = _feed().quote_path
    return path.last_quote if path.read(frame) == QUOTED else None


def _validated_ticker(frame: bytes) -> tuple[int, ...]:
    quote = parsing._validated_ticker(frame, _feed().symbols, 0)
    assert isinstance(quote, Quote)
    return quote.update_id, quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size


@pytest.mark.parametrize(
    "frame",
    [
        TICKER,
        # a key's text before data: found again from data on
        TICKER.replace(b'{"data"', b'{"bestBid":"9","sequence":"1","data"'),
        # whitespace next to a key: the searches that skip it
        TICKER.replace(b'"bestAsk":', b'"bestAsk" : '),
        # the envelope first
        b'{"type":"message","topic":"/market/ticker:ETH-BTC","subject":"trade.ticker",'
        + TICKER[1 : TICKER.index(b',"subject"')]
        + b"}",
    ],
)
def test_tickers_read_in_one_pass_as_the_validating_parser(frame: bytes) -> None:
    assert _ticker_values(frame) == _validated_ticker(frame)


def test_tickers_without_a_value_or_subject_are_declined() -> None:
    assert _ticker_values(TICKER) is not None
    assert _ticker_values(TICKER.replace(b'"bestBidSize"', b'"bestBidSise"')) is None
    assert _ticker_values(TICKER.replace(b'"subject":"trade.ticker",', b"")) is None
    assert _ticker_values(TICKER.replace(b'"subject"', b'"subjects"')) is None
