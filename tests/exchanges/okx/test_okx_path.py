"""OKX's compiled books path (``arbcore_ext.okxpath``) against the Python definitions it replaces.

``OKXSeqRule`` stays the definition of OKX's continuity, the scanner and the validating parser
the definition of a push's contents, ``parse_frame`` the definition of what a frame yields: the
path must apply exactly what the rule applies, read exactly what the parsers read and set aside
only frames ``parse_frame`` returns nothing for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.exchanges.okx import parsing
from arbcore.exchanges.okx.data import OKXBookFeed, OKXSeqRule
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.sync import BookSync, Continuity, SeqView, register_compiled_rule
from arbcore.model import BookEvent, Instrument
from arbcore_ext.book import LevelBuffer
from arbcore_ext.deltapath import (
    APPLIED,
    CROSSED,
    DECLINED,
    DEFER,
    RULE_PREV,
    SKIPPED,
    VERIFY,
    rule_verdict,
)
from arbcore_ext.jsonscan import ScanError, scan_levels
from arbcore_ext.okxpath import okx_verdict, read_levels

BTC = Instrument.from_text(
    venue="okx", native_symbol="BTC-USDT", base="BTC", quote="USDT",
    tick_size="0.1", lot_size="0.00000001",
)  # fmt: skip
INT64 = st.integers(-(2**63), 2**63 - 1)
VERDICTS = [Continuity.APPLY, Continuity.SKIP, Continuity.GAP]
EVENT_FIELDS = ("symbol", "kind", "first_seq", "last_seq", "prev_seq", "checksum", "ts_event_ns")


def _push(action: str, prev: int | None, seq: int | None, bids: list[str], **extra: Any) -> bytes:
    """A books push in OKX's compact shape (``prev``/``seq`` None: the key is left out)."""
    entry: dict[str, Any] = {
        "asks": [["8477", "1", "0", "1"]],
        "bids": [[price, "2", "0", "1"] for price in bids],
        "ts": "1597026383085",
        "checksum": 0,
    }
    if prev is not None:
        entry["prevSeqId"] = prev
    if seq is not None:
        entry["seqId"] = seq
    entry.update(extra)
    message = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action, "data": [entry]}
    return json.dumps(message, separators=(",", ":")).encode()


def _synced(feed: OKXBookFeed, book_id: int) -> BookSync:
    """A BTC-USDT book loaded from a pushed snapshot at ``book_id``, attached to the path."""
    sync = feed.new_sync(BTC)
    (snapshot,) = feed.parse_ws(_push("snapshot", -1, book_id, ["8460"]), 0)
    assert isinstance(snapshot, BookEvent)
    assert sync.on_event(snapshot)
    feed.delta_path.attach(BTC.symbol, sync.core, sync)
    return sync


# -- the sequence rule ---------------------------------------------------------------------------


@given(book_id=INT64, last=INT64, prev=st.none() | INT64)
@example(book_id=10, last=15, prev=10)  # chains
@example(book_id=15, last=15, prev=15)  # keep-alive
@example(book_id=15, last=3, prev=15)  # reset after maintenance
@example(book_id=105, last=110, prev=100)  # straddles a REST snapshot
@example(book_id=105, last=105, prev=100)  # already in it
@example(book_id=10, last=20, prev=15)  # a gap
@example(book_id=0, last=0, prev=None)  # a 2022 push: no seqId at all
def test_compiled_okx_rule_is_okx_seq_rule(book_id: int, last: int, prev: int | None) -> None:
    event = SeqView(first_seq=last, last_seq=last, prev_seq=prev)
    assert VERDICTS[okx_verdict(book_id, last, prev)] is OKXSeqRule().check(book_id, event)


@given(book_id=st.integers(0, 40), seq=st.none() | st.integers(0, 40),
       prev=st.none() | st.integers(-1, 40))  # fmt: skip
@example(book_id=10, seq=15, prev=10)
@example(book_id=10, seq=None, prev=None)
@example(book_id=10, seq=3, prev=10)
@example(book_id=10, seq=12, prev=8)
@example(book_id=10, seq=10, prev=8)
@example(book_id=10, seq=20, prev=15)
def test_path_applies_exactly_what_okx_seq_rule_applies(
    book_id: int, seq: int | None, prev: int | None
) -> None:
    """In C, on a synced book: the rule's APPLY is applied, SKIP counted, GAP handed back with
    the frame's own fields (the BookSync then counts the gap and resyncs)."""
    feed = OKXBookFeed(SymbolMap.of("okx", [BTC]))
    sync = _synced(feed, book_id)
    path = feed.delta_path
    expected = OKXSeqRule().check(book_id, SeqView(first_seq=seq or 0, last_seq=seq or 0,
                                                   prev_seq=prev))  # fmt: skip
    status = path.apply(_push("update", prev, seq, ["8461"]), 7)
    assert path.prev_seq == prev  # whatever the path did, it reports the frame's own field
    if expected is Continuity.APPLY:
        assert status == APPLIED
        assert (sync.counters.updates, sync.book_id, sync.book.best_bid()) == (1, seq or 0, 84610)
        assert sync.updated_at_ns == 7
    elif expected is Continuity.SKIP:
        assert (status, sync.counters.skipped, sync.counters.updates) == (SKIPPED, 1, 0)
    else:
        assert status == DEFER
        assert not sync.on_path(path, status)
        assert (sync.counters.gaps, sync.counters.resyncs, sync.in_sync) == (1, 1, False)


def test_documented_seq_id_walk_through_is_applied_in_c(shared_data: Path) -> None:
    """Snapshot 10, then normal, keep-alive (no levels), reset (seqId < prevSeqId), normal."""
    vector = json.loads((shared_data / "vectors/okx/seqid_sequence_example.json").read_text())
    snapshot, *updates = vector["messages"]
    feed = OKXBookFeed(SymbolMap.of("okx", [BTC]))
    sync = _synced(feed, snapshot["seqId"])
    for message in updates:
        bids = [] if message["prevSeqId"] == message["seqId"] else ["8461"]
        frame = _push("update", message["prevSeqId"], message["seqId"], bids)
        assert feed.delta_path.apply(frame) == APPLIED
    assert (sync.book_id, sync.counters.updates, sync.counters.gaps) == (5, 4, 0)


@given(book_id=INT64, last=INT64, prev=st.none() | INT64)
@example(book_id=105, last=110, prev=100)  # straddles: OKX applies, PrevRule does not
@example(book_id=0, last=0, prev=None)  # no prevSeqId: OKX applies, PrevRule does not
def test_the_registered_compiled_rule_agrees_with_okx_where_it_decides(
    book_id: int, last: int, prev: int | None
) -> None:
    """OKXSeqRule is registered as RULE_PREV: sound only if every APPLY or SKIP of the compiled
    rule is OKXSeqRule's verdict too (the rest goes back to Python)."""
    compiled = VERDICTS[rule_verdict(RULE_PREV, book_id, last, last, prev)]
    if compiled is not Continuity.GAP:
        event = SeqView(first_seq=last, last_seq=last, prev_seq=prev)
        assert compiled is OKXSeqRule().check(book_id, event)


def test_okx_books_are_decided_by_the_compiled_rule() -> None:
    sync = OKXBookFeed(SymbolMap.of("okx", [BTC])).new_sync(BTC)
    assert sync.core.rule == RULE_PREV


class _StricterRule(OKXSeqRule):
    """A subclass: not the registered type, so decided in Python."""


def test_only_a_compiled_rule_can_be_registered() -> None:
    with pytest.raises(ValueError, match="not a compiled rule"):
        register_compiled_rule(_StricterRule, 99)


def test_a_book_without_the_compiled_rule_is_left_to_python() -> None:
    feed = OKXBookFeed(SymbolMap.of("okx", [BTC]))
    sync = _synced(feed, 10)
    sync.rule = _StricterRule()  # the setter: a rule object not compiled in C
    assert feed.delta_path.apply(_push("update", None, None, ["8461"])) == DEFER
    assert sync.counters.updates == 0


def test_a_checksum_is_verified_in_c() -> None:
    feed = OKXBookFeed(SymbolMap.of("okx", [BTC]))
    sync = _synced(feed, 10)
    sync.book.set_level(0, 84610, 2 * 10**8)
    right = parsing.book_checksum(sync.book)
    sync.book.set_level(0, 84610, 0)
    assert feed.delta_path.apply(_push("update", 10, 11, ["8461"], checksum=right)) == APPLIED
    assert (sync.counters.checksum_ok, sync.counters.checksum_failed) == (1, 0)
    status = feed.delta_path.apply(_push("update", 11, 12, ["8462"], checksum=right))
    assert status == VERIFY  # wrong: Python computes it again, counts and resyncs
    sync.on_path(feed.delta_path, status)
    assert (sync.counters.checksum_failed, sync.in_sync) == (1, False)


def test_a_crossed_book_is_handed_back() -> None:
    feed = OKXBookFeed(SymbolMap.of("okx", [BTC]))
    sync = _synced(feed, 10)
    assert feed.delta_path.apply(_push("update", 10, 11, ["8478"])) == VERIFY
    sync.book.set_level(0, 84780, 0)
    sync.book.set_level(0, 84790, 2 * 10**8)
    right = parsing.book_checksum(sync.book)
    sync.book.set_level(0, 84790, 0)
    status = feed.delta_path.apply(_push("update", 11, 12, ["8479"], checksum=right))
    assert status == CROSSED  # its checksum passed in C; the BookSync resyncs
    assert not sync.on_path(feed.delta_path, status)
    assert (sync.counters.crossed, sync.in_sync) == (1, False)


# -- what the path reads ---------------------------------------------------------------------------

_PLAIN = st.from_regex(rb"\A[0-9]{1,9}(\.[0-9]{1,10})?\Z")
_ODD = st.sampled_from(
    [b"", b"5.", b".5", b"1e3", b"-1", b"+1", b"007", b"0.000000001", b"123456789012345678901",
     b"1.50000000000", b"abc", b"1\\u0030"]
)  # fmt: skip
_VALUE = _PLAIN | _ODD


@st.composite
def _level_arrays(draw: st.DrawFn) -> bytes:
    levels = []
    for _ in range(draw(st.integers(0, 4))):
        price, size = draw(_VALUE), draw(_VALUE)
        extra = draw(st.sampled_from([b',"0","1"', b',"0","12"', b',"0"', b"", b',"0",1']))
        levels.append(b'["' + price + b'","' + size + b'"' + extra + b"]")
    return b"[" + b",".join(levels) + b"]"


@given(array=_level_arrays(), price_decimals=st.integers(0, 9), size_decimals=st.integers(0, 9))
@example(array=b'[["30243.5","1.2112","0","4"]]', price_decimals=1, size_decimals=8)
@example(array=b'[["30243.5","1.21120000000","0","4"]]', price_decimals=1, size_decimals=8)
@example(array=b'[["30243.55","1","0","4"]]', price_decimals=1, size_decimals=8)
def test_path_reads_levels_exactly_as_the_scanner(
    array: bytes, price_decimals: int, size_decimals: int
) -> None:
    """Every array the path reads, the scanner reads to the same levels; the path reads every
    array of OKX's shape whose values are plain decimals at the scales."""
    frame = b'{"asks":' + array + b"}"
    fast, reference = LevelBuffer(4), LevelBuffer(4)
    end = read_levels(frame, 8, 1, price_decimals, size_decimals, fast)
    try:
        expected = scan_levels(frame, 8, 1, price_decimals, size_decimals, reference)
    except ScanError:
        expected = -1
    if end >= 0:
        assert end == expected
        assert [a.tolist() for a in fast.arrays()] == [a.tolist() for a in reference.arrays()]
    okx_shape = re.fullmatch(rb'\[(\["[0-9.]+","[0-9.]+","0","[0-9]+"\],?)*\]', array)
    if okx_shape is not None and expected >= 0:
        assert end == expected  # the usual pushes are never left to the scanner


def test_documented_update_reads_as_the_validating_parser(shared_data: Path) -> None:
    message = json.loads((shared_data / "vectors/okx/books_update.json").read_text())
    frame = json.dumps(message, separators=(",", ":")).encode()
    symbols = SymbolMap.of("okx", [Instrument.from_text(
        venue="okx", native_symbol="BTC-USDT", base="BTC", quote="USDT", tick_size="0.01",
        lot_size="0.00000001")])  # fmt: skip
    path = OKXBookFeed(symbols).delta_path
    push = path.push_of(frame)
    assert push is not None
    assert push[1:] == (False, 123457, 123456, None, 1597026383085)  # checksum 0: absent
    event = parsing.push_event(push, path.levels)
    assert event.prices.tolist() == parsing._validated_book(frame, symbols, 0).prices.tolist()
    assert path.push_of(frame.replace(b'"update"', b'"partial"')) is None


@pytest.mark.parametrize(
    "frame",
    [
        _push("update", 1, 2, ["8461"]).replace(b'"ts"', b' "ts"'),  # whitespace
        _push("update", 1, 2, ["8461"]).replace(b'"seqId":2', b'"seqId":2,"seqId":3'),  # twice
        _push("update", 1, 2, ["8461"], extra=1),  # a key the path does not know
        _push("update", 1, 2, ["8461"]).replace(b'"ts":"1597026383085",', b""),  # no ts
        _push("update", 1, 2, ["8461"]) + b" ",  # something after the push
        _push("update", 1, 2, ["8461"]).replace(b"BTC-USDT", b"btc-usdt"),  # not the wire case
        _push("update", 1, 2, ["8461"]).replace(b'"ts":"1597026383085"', b'"ts":"-1"'),
    ],
)
def test_path_declines_any_other_shape_to_parse_ws(frame: bytes) -> None:
    feed = OKXBookFeed(SymbolMap.of("okx", [BTC]))
    _synced(feed, 1)
    assert feed.delta_path.apply(frame) == DECLINED
    assert feed.delta_path.push_of(frame) is None
