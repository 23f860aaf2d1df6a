"""HTX's compiled path (arbcore_ext.htxpath): gunzip in C, numbers read exactly as the validating
path reads them (exponents, half-even rounding), depth.step0 snapshots applied exactly as
BookSync applies a snapshot event, and everything it cannot take left to parse_ws."""

from __future__ import annotations

import gzip
import json
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.errors import MalformedMessage
from arbcore.exchanges.htx import parsing
from arbcore.exchanges.htx.data import HTXBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, VenueFeed, replay
from arbcore.marketdata.records import Record
from arbcore.model import BookEvent, Instrument
from arbcore.testing.conformance import Recording, load_recording
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.deltapath import APPLIED, CROSSED, DECLINED

INT64_MAX = 2**63 - 1


def _btc() -> SymbolMap:
    btc = Instrument.from_text(
        venue="htx", native_symbol="btcusdt", base="BTC", quote="USDT",
        tick_size="0.01", lot_size="0.00000001",
    )  # fmt: skip
    return SymbolMap.of("htx", [btc])


def _step0(bids: str, asks: str, version: int, ts: int = 1) -> bytes:
    """A compact btcusdt depth.step0 frame (gzip), level arrays given as JSON text."""
    return gzip.compress(
        b'{"ch":"market.btcusdt.depth.step0","ts":%d,"tick":{"bids":%s,"asks":%s,'
        b'"version":%d,"ts":%d}}' % (ts, bids.encode(), asks.encode(), version, ts - 1)
    )


def _mbp(asks: str, seq: int = 5, prev: int = 4) -> bytes:
    return gzip.compress(
        b'{"ch":"market.btcusdt.mbp.150","ts":1,"tick":{"seqNum":%d,"prevSeqNum":%d,"bids":[],'
        b'"asks":%s}}' % (seq, prev, asks.encode())
    )


def _validated(frame: bytes, symbols: SymbolMap) -> Any:
    """The validating path's (sides, prices, sizes), or the error type it raises."""
    text = parsing.decompress(frame)
    channel = parsing.book_channel(text)
    assert channel is not None
    instrument = symbols.get(channel[0])
    assert instrument is not None
    try:
        event = parsing.validated_book(text, channel, instrument)
    except (MalformedMessage, ValueError) as exc:
        return type(exc)
    return event.sides.tolist(), event.prices.tolist(), event.sizes.tolist(), event.last_seq


# -- numbers --------------------------------------------------------------------------------------


def _render(value: Decimal, form: str) -> str:
    """A JSON number for ``value``: plain, exponent (HTX's ``2.75E-5``) or padded with zeros."""
    if form == "plain":
        return format(value, "f")
    if form == "padded":
        text = format(value, "f")
        return text + ("000" if "." in text else ".000")
    return format(value, "E").replace("E+", "E" if form == "E" else "e+")


@given(
    price=st.integers(1, 10**12),
    mantissa=st.integers(0, 10**19 - 1),
    exponent=st.integers(-40, 12),
    forms=st.tuples(*[st.sampled_from(["plain", "padded", "E", "e+"])] * 2),
)
@example(price=275, mantissa=126936964043, exponent=-4, forms=("E", "E"))  # FIL3S's sizes
@example(price=1, mantissa=123456785, exponent=-9, forms=("plain", "plain"))  # a tie: even
@example(price=1, mantissa=123456795, exponent=-9, forms=("plain", "plain"))  # a tie: up
@example(price=1, mantissa=5, exponent=-9, forms=("E", "E"))  # 5E-9 -> 0
def test_htx_path_reads_numbers_exactly_as_the_validating_path(
    price: int, mantissa: int, exponent: int, forms: tuple[str, str]
) -> None:
    symbols = _btc()
    price_text = _render(Decimal(price).scaleb(-2), forms[0])
    size = Decimal(mantissa).scaleb(exponent)
    size_text = _render(size, forms[1])
    frame = _mbp(f"[[{price_text},{size_text}]]")
    levels = LevelBuffer(4)
    read = HTXBookFeed(symbols).parse_delta_into(frame, 0, 0, levels)
    with localcontext() as context:
        context.prec = 60
        expected = int(size.scaleb(8).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    if expected > INT64_MAX:
        assert read is None  # no int64 holds it: the validating path decides
        return
    assert read is not None, (price_text, size_text)
    assert [array.tolist() for array in levels.arrays()] == [[ASK], [price], [expected]]
    assert _validated(frame, symbols)[:3] == ([ASK], [price], [expected])


@pytest.mark.parametrize(
    "level",
    [
        "[-1.5,1]", "[1.5,-1]", "[1.505,1]", "[01.5,1]", "[1.5,1.]", "[.5,1]", "[1.5,1e]",
        "[1.5,1E+401]", "[1.5,1,7]", "[1.5, 1]", '["1.5","1"]', "[1.5,12345678901234567891]",
        "[1.5,1234567890123.1234567]", "[1.5,1e18]",
    ],
)  # fmt: skip
def test_htx_path_leaves_levels_it_does_not_read_to_parse_ws(level: str) -> None:
    # signs, digits past the price scale, non-JSON numbers, extra elements, whitespace, strings,
    # more than 19 significant digits, results past int64: parse_ws reads them as it always did
    symbols = _btc()
    frame = _mbp(f"[{level}]")
    assert HTXBookFeed(symbols).parse_delta_into(frame, 0, 0, LevelBuffer()) is None
    text = parsing.decompress(frame)
    channel = parsing.book_channel(text)
    assert channel is not None
    btc = symbols.by_symbol["BTC/USDT"]

    def outcome(parse: Any) -> Any:
        try:
            (event,) = parse()
        except (MalformedMessage, ValueError) as exc:
            return type(exc)
        return event.sides.tolist(), event.prices.tolist(), event.sizes.tolist()

    reference = outcome(lambda: [parsing.parse_book(text, channel, btc)])
    assert outcome(lambda: HTXBookFeed(symbols).parse_ws(frame, 0)) == reference


# -- the recorded snapshots -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def huobi(shared_data: Path) -> Recording:
    return load_recording("htx", [shared_data / "real/htx/HUOBI.ws.44.0"])


@pytest.mark.recording
def test_htx_path_reads_every_recorded_snapshot_as_the_validating_path(huobi: Recording) -> None:
    symbols = SymbolMap.of("htx", huobi.instruments)
    path = HTXBookFeed(symbols).delta_path
    read = 0
    for record in huobi.records:
        if record.kind != "ws" or b"depth.step0" not in parsing.decompress(record.payload)[:48]:
            continue
        snapshot = path.snapshot_of(record.payload)
        assert snapshot is not None
        sides, prices, sizes = (array.tolist() for array in path.levels.arrays())
        assert (sides, prices, sizes, snapshot[1]) == _validated(record.payload, symbols)
        read += 1
    assert read == 292  # every one, exponents and sizes finer than 8 decimals included


def _parse_ws_only(feed: HTXBookFeed) -> VenueFeed:
    return cast(VenueFeed, SimpleNamespace(
        venue=feed.venue, symbols=feed.symbols, parse_ws=feed.parse_ws,
        parse_rest=feed.parse_rest, new_sync=feed.new_sync,
    ))  # fmt: skip


def _outcome(report: ReplayReport, feed: HTXBookFeed) -> Any:
    books = {
        symbol: (
            book.sync.counters.as_dict(), book.sync.book_id, book.sync.in_sync,
            [array.tolist() for side in (BID, ASK) for array in book.sync.book.levels(side)],
            book.sync.book.snapshots, book.sync.updated_at_ns,
        )
        for symbol, book in report.books.items()
    }  # fmt: skip
    return report.as_json() | {"elapsed_s": 0, "messages_per_s": 0}, books, feed.stale_snapshots


def _records(frames: list[bytes], connections: list[int] | None = None) -> list[Record]:
    return [
        Record("ws", 1000 + index, frame, connection=(connections or [0] * len(frames))[index])
        for index, frame in enumerate(frames)
    ]


def test_htx_path_applies_snapshots_exactly_like_parse_ws() -> None:
    frames = [
        _step0("[[100.5,1],[100.4,2]]", "[[100.6,3]]", 10),  # no book yet: parse_ws
        _step0("[[100.5,1.5],[99,2E-8]]", "[[100.7,3],[101,0]]", 11),  # applied in C
        _step0("[[100.5,7]]", "[[100.6,7]]", 9),  # older: dropped (stale), counted by parse_ws
        _step0("[[100.5,7]]", "[[100.6,7]]", 9),  # on another connection: not stale there
        _step0("[[100.5,7]]", "[[100.6,7]]", 11),  # the same version again: kept
        _step0("[[100.9,1]]", "[[100.6,1]]", 12),  # crossed: the BookSync resyncs
        _step0("[[100.5,1]]", "[[100.6,1]]", 13),  # not in sync: parse_ws, which resyncs
        _step0("[[100.5,1]]", "[[0,1]]", 14),  # a zero price: parse_ws raises (malformed)
        _step0("[[100.4,2]]", "[[100.8,2]]", 15),  # applied in C again
        _step0("[]", "[]", 16),  # an empty book
    ]
    records = _records(frames, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    fast_feed, slow_feed = HTXBookFeed(_btc()), HTXBookFeed(_btc())
    fast = _outcome(replay(records, fast_feed), fast_feed)
    assert fast == _outcome(replay(records, _parse_ws_only(slow_feed)), slow_feed)
    document, books, stale = fast
    counters = books["BTC/USDT"][0]
    assert (document["book_events"], document["malformed"], stale) == (8, 1, 1)
    assert (counters["snapshots"], counters["crossed"], counters["resyncs"]) == (8, 1, 1)
    assert books["BTC/USDT"][1:3] == (16, True)
    # which of them the path applied itself
    feed = HTXBookFeed(_btc())
    path = feed.delta_path
    assert path.apply(frames[0], 1) == DECLINED  # no book attached
    sync = feed.new_sync(_btc().by_symbol["BTC/USDT"])
    path.attach("BTC/USDT", sync.core, sync)
    assert path.apply(frames[0], 1) == DECLINED  # attached, waiting for its first snapshot
    (event,) = feed.parse_ws(frames[0], 1)
    assert isinstance(event, BookEvent)
    assert sync.on_event(event)
    assert path.apply(frames[1], 2) == APPLIED
    assert sync.book.top(5)[0].tolist() == [10050, 9900]  # bids: 2E-8 is kept, ask 101 (0) not
    assert (sync.book_id, sync.updated_at_ns, sync.counters.snapshots) == (11, 2, 2)
    assert path.apply(frames[2], 3) == DECLINED  # stale: left to parse_ws to count
    assert path.apply(frames[5], 4) == CROSSED


def test_htx_path_inflates_large_and_declines_broken_frames() -> None:
    feed = HTXBookFeed(_btc())
    path = feed.delta_path
    bids = ",".join(f"[{1000 + i}.25,{i + 1}.125]" for i in range(6000))  # ~120 KB of text
    frame = _step0(f"[{bids}]", "[]", 7)
    assert path.text_of(frame) == parsing.decompress(frame)
    snapshot = path.snapshot_of(frame)
    assert snapshot == ("BTC/USDT", 7, 1)
    assert len(path.levels) == 6000
    assert path.levels.arrays()[2][-1] == 600012500000
    broken = frame[:-8] + bytes(8)  # the gzip trailer (crc, length) zeroed
    assert path.text_of(broken) is None
    assert path.apply(broken) == DECLINED
    with pytest.raises(MalformedMessage, match="gzip"):
        feed.parse_ws(broken, 0)
    plain = json.dumps({"ping": 5}).encode()
    assert path.text_of(plain) is plain
    assert feed.parse_ws(plain, 0, 3) == []
    assert feed.pings == {3: 5}
