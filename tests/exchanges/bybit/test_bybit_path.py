"""Bybit's compiled book path (``arbcore_ext.bybitpath``) against the Python definitions it
replaces.

``BybitRule`` stays the definition of Bybit's continuity and the validating parser the
definition of a message's contents: the path must apply exactly what the rule applies, read
exactly what the validating parser reads, and leave every other frame to ``parse_ws``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.errors import MalformedMessage
from arbcore.exchanges.bybit import parsing
from arbcore.exchanges.bybit.data import BybitBookFeed, BybitRule
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import replay
from arbcore.marketdata.sync import BookSync, Continuity, SeqView
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.testing import fuzz
from arbcore.testing.conformance import VENUE_EXTRA_INSTRUMENTS
from arbcore_ext.deltapath import APPLIED, DECLINED, DEFER, RULE_RANGE, SKIPPED, rule_verdict

XRP = Instrument.from_text(
    venue="bybit", native_symbol="XRPUSDT", base="XRP", quote="USDT",
    tick_size="0.0001", lot_size="1",
)  # fmt: skip
BTC = Instrument.from_text(
    venue="bybit", native_symbol="BTCUSDT", base="BTC", quote="USDT",
    tick_size="0.1", lot_size="0.000001",
)  # fmt: skip
SYMBOLS = SymbolMap.of("bybit", [XRP, BTC])
INT64 = st.integers(-(2**63), 2**63 - 1)
VERDICTS = [Continuity.APPLY, Continuity.SKIP, Continuity.GAP]


def _message(
    kind: str = "delta",
    u: Any = 11,
    bids: list[list[Any]] | None = None,
    asks: list[list[Any]] | None = None,
    *,
    depth: str = "50",
    symbol: str = "XRPUSDT",
    data_symbol: str | None = None,
    ts_first: bool = False,
    seq: int | None = 7,
    cts: Any = 1733011200589,
    ts: Any = 1733011200591,
) -> bytes:
    """A book message in Bybit's compact shape (``seq`` None: the key is left out)."""
    head: dict[str, Any] = {"topic": f"orderbook.{depth}.{symbol}"}
    head.update({"ts": ts, "type": kind} if ts_first else {"type": kind, "ts": ts})
    data: dict[str, Any] = {
        "s": symbol if data_symbol is None else data_symbol,
        "b": [["1.9531", "6203"]] if bids is None else bids,
        "a": [["1.9532", "10"]] if asks is None else asks,
        "u": u,
    }
    if seq is not None:
        data["seq"] = seq
    message = {**head, "data": data, "cts": cts}
    return json.dumps(message, separators=(",", ":")).encode()


def _path_event(feed: BybitBookFeed, frame: bytes) -> BookEvent | None:
    """What the feed's path reads from ``frame`` (None: declined, ``parse_ws`` reads it)."""
    message = feed.delta_path.push_of(frame)
    return None if message is None else parsing.path_event(message, feed.delta_path.levels)


def _synced(feed: BybitBookFeed, book_id: int) -> BookSync:
    """An XRPUSDT book loaded from a pushed snapshot at ``book_id``, attached to the path."""
    sync = feed.new_sync(XRP)
    (snapshot,) = feed.parse_ws(_message("snapshot", book_id, asks=[["1.9540", "10"]]), 0)
    assert isinstance(snapshot, BookEvent)
    assert sync.on_event(snapshot)
    feed.delta_path.attach(XRP.symbol, sync.core, sync)
    return sync


# -- the sequence rule ---------------------------------------------------------------------------


@given(book_id=INT64, u=INT64)
@example(book_id=0, u=1)  # a restart on an empty book: the compiled rule would apply it
@example(book_id=5, u=1)  # a restart: the compiled rule would skip it
@example(book_id=5, u=6)
@example(book_id=5, u=5)
@example(book_id=5, u=7)
def test_the_compiled_range_rule_is_bybit_rule_but_for_a_restart(book_id: int, u: int) -> None:
    """BybitRule is registered as RULE_RANGE (first = last = u): the same verdict for every
    ``u`` but 1, which the path hands back (next test)."""
    compiled = VERDICTS[rule_verdict(RULE_RANGE, book_id, u, u)]
    expected = BybitRule().check(book_id, SeqView(first_seq=u, last_seq=u))
    assert (compiled is expected) is (u != 1 or book_id < 0)


@given(book_id=st.integers(0, 40), u=st.integers(0, 40))
@example(book_id=10, u=11)  # the next: applied
@example(book_id=10, u=10)  # already in the book: skipped
@example(book_id=10, u=12)  # a gap
@example(book_id=10, u=1)  # a restart: a gap by BybitRule (RangeRule would skip it)
@example(book_id=0, u=1)  # a restart right after a snapshot at 0 (RangeRule would apply it)
def test_path_applies_exactly_what_bybit_rule_applies(book_id: int, u: int) -> None:
    """In C, on a synced book: the rule's APPLY is applied, SKIP counted, anything else handed
    back (the BookSync then counts the gap and resyncs)."""
    feed = BybitBookFeed(SYMBOLS)
    sync = _synced(feed, book_id)
    path = feed.delta_path
    expected = BybitRule().check(book_id, SeqView(first_seq=u, last_seq=u))
    status = path.apply(_message("delta", u, bids=[["1.9533", "5"]], asks=[]), 7)
    if status == DEFER:  # the BookSync decides: a gap, then a resync
        assert not sync.on_path(path, status)
    counters = sync.counters
    outcomes = {
        Continuity.APPLY: (APPLIED, 1, 0, 0, True, u, 19533, 7),
        Continuity.SKIP: (SKIPPED, 0, 1, 0, True, book_id, 19531, 0),
        Continuity.GAP: (DEFER, 0, 0, 1, False, book_id, None, 0),
    }
    got = (status, counters.updates, counters.skipped, counters.gaps, sync.in_sync,
           sync.book_id, sync.book.best_bid(), sync.updated_at_ns)  # fmt: skip
    assert got == outcomes[expected]


def test_bybit_books_are_decided_by_the_compiled_rule() -> None:
    assert BybitBookFeed(SYMBOLS).new_sync(XRP).core.rule == RULE_RANGE


# -- what the path reads ---------------------------------------------------------------------------

DIGITS = st.text("0123456789", min_size=1, max_size=10)
ODD_DECIMALS = ["0", "0.0", "00", "01", "1e3", "1E-2", "-1", "+1", ".5", "1.", "", " 1",
                "1.95310", "1.95311", "0.0001", "99999999999999999999", "1\u00e9"]  # fmt: skip
FRACTIONS = st.just("") | DIGITS.map(lambda digits: "." + digits)
DECIMALS = st.builds(str.__add__, DIGITS, FRACTIONS) | st.sampled_from(ODD_DECIMALS)
VALUES = DECIMALS | st.integers(0, 10**6) | st.just(1.5) | st.none()
LEVELS = st.lists(st.tuples(DECIMALS, DECIMALS).map(list) | st.lists(VALUES, max_size=3),
                  max_size=6)  # fmt: skip
PLAIN_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


def _strict(u: Any, cts: Any, levels: list[list[Any]]) -> bool:
    """Whether a message's values are all in the path's strict shape: plain JSON integers of at
    most 18 digits, ``[px, sz]`` levels of plain quoted decimals."""
    integers = all(type(v) is int and 0 <= v < 10**18 for v in (u, cts))
    return integers and all(
        len(level) == 2 and all(isinstance(v, str) and PLAIN_DECIMAL.fullmatch(v) for v in level)
        for level in levels
    )


SEQUENCE_IDS = st.integers(0, 2**63 - 1) | st.sampled_from(["12", -1, 1.0, None, 10**19])


@given(
    kind=st.sampled_from(["delta", "snapshot", "update"]),
    u=SEQUENCE_IDS,
    bids=LEVELS,
    asks=LEVELS,
    depth=st.sampled_from(["50", "1", "500", "full", "1000", "5.0"]),
    symbol=st.sampled_from(["XRPUSDT", "BTCUSDT", "xrpusdt", "NOSUCH"]),
    other_symbol=st.booleans(),
    ts_first=st.booleans(),
    seq=st.none() | st.integers(0, 2**40),
    cts=st.sampled_from([0, 1, 1733011200589, -5, "17", 2**62, None]),
)
@example(
    kind="delta",
    u=11,
    bids=[["1.9531", "6203"]],
    asks=[],
    depth="50",
    symbol="XRPUSDT",
    other_symbol=False,
    ts_first=False,
    seq=7,
    cts=0,
)  # cts 0: the event time is ts
@example(
    kind="snapshot",
    u=11,
    bids=[["1.9531", "6203"]],
    asks=[],
    depth="500",
    symbol="XRPUSDT",
    other_symbol=True,
    ts_first=True,
    seq=None,
    cts=5,
)  # data.s differs
def test_path_reads_exactly_what_the_validating_parser_reads(
    kind: str, u: Any, bids: list[list[Any]], asks: list[list[Any]], depth: str, symbol: str,
    other_symbol: bool, ts_first: bool, seq: int | None, cts: Any,
) -> None:  # fmt: skip
    """A message the path reads is one the validating parser reads the same (every event
    field); a message in the strict shape with plain values is read by the path."""
    frame = _message(kind, u, bids, asks, depth=depth, symbol=symbol, ts_first=ts_first,
                     seq=seq, cts=cts, data_symbol="BTCUSDT" if other_symbol else None)  # fmt: skip
    feed = BybitBookFeed(SYMBOLS)
    read = _path_event(feed, frame)
    reference = fuzz.outcome(lambda f: parsing._validated_book_message(f, SYMBOLS, 0), frame)
    if read is not None:
        assert fuzz.event_key(read) == reference, frame
    elif isinstance(reference, tuple):  # declined: only what the strict shape leaves out
        plain = depth != "1" and symbol in ("XRPUSDT", "BTCUSDT") and cts != 0
        assert not plain or not _strict(u, cts, bids + asks), frame
    if isinstance(reference, tuple) and depth != "1" and SYMBOLS.get(symbol) is not None:
        assert fuzz.outcome(lambda f: feed.parse_ws(f, 0)[0], frame) == reference, frame


@pytest.mark.recording
def test_every_recorded_message_is_read_by_the_path() -> None:
    recording = fuzz.venue_recording("bybit")
    if recording is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = BybitBookFeed(SymbolMap.of("bybit", recording.instruments))
    kinds = []
    for record in recording.records:
        read = _path_event(feed, record.payload)
        assert read is not None
        reference = parsing._validated_book_message(record.payload, feed.symbols, 0)
        assert fuzz.event_key(read) == fuzz.event_key(reference)
        kinds.append(read.kind)
    assert kinds == [BookEventKind.SNAPSHOT] + [BookEventKind.DELTA] * 49


@pytest.mark.recording
def test_replay_applies_the_recorded_deltas_in_c() -> None:
    """Only the snapshot comes back to Python: the 49 deltas are applied by the path."""
    recording = fuzz.venue_recording("bybit")
    if recording is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = recording.feed()
    parsed: list[bytes] = []
    parse_ws = feed.parse_ws

    def counting(frame: bytes, ts_recv_ns: int, connection: int = 0) -> Any:
        parsed.append(frame)
        return parse_ws(frame, ts_recv_ns, connection)

    feed.parse_ws = counting  # type: ignore[method-assign]
    report = replay([r for r in recording.records if r.kind == "ws"], feed)
    assert parsed == [recording.records[0].payload]
    book = report.as_json()["books"]["XRP/USDT"]
    assert (book["updates"], book["snapshots"], book["gaps"]) == (49, 1, 0)


def test_the_top_of_book_topic_is_left_to_parse_ws() -> None:
    feed = BybitBookFeed(SYMBOLS)
    frame = _message("snapshot", 5, depth="1")
    assert feed.delta_path.apply(frame) == DECLINED
    assert feed.delta_path.push_of(frame) is None
    (quote,) = feed.parse_ws(frame, 0)
    assert isinstance(quote, Quote)
    assert (quote.bid_price, quote.ask_price, quote.update_id) == (19531, 19532, 0)


def test_a_mismatched_data_symbol_reaches_the_validating_parser() -> None:
    feed = BybitBookFeed(SYMBOLS)
    frame = _message(data_symbol="BTCUSDT")
    assert feed.delta_path.apply(frame) == DECLINED
    with pytest.raises(MalformedMessage, match="not the topic's symbol"):
        feed.parse_ws(frame, 0)


def test_the_conformance_instruments_take_the_path() -> None:
    """The fuzz tests' instruments (the recording's XRPUSDT) are routed by the path."""
    feed = BybitBookFeed(SymbolMap.of("bybit", VENUE_EXTRA_INSTRUMENTS["bybit"]))
    assert feed.delta_path.push_of(_message()) is not None
