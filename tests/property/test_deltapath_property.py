"""The compiled sequence rules of the one-call delta path against the rule objects.

``arbcore.marketdata.sync``'s rules (RangeRule, ArrivalRule, PrevRule) are the one definition of
each venue's continuity; ``arbcore_ext.deltapath`` applies them in C. Both must give the same
verdict on every int64 input, and a whole stream of random ranges must leave a book in the same
state either way. The Bitfinex frame reader (``ChannelPath``) must read exactly what the Python
rule it replaced (``PLAIN_FRAME`` + ``append_level``) read, with the same sequence bookkeeping.
"""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.exchanges.bitfinex.parsing import PLAIN_FRAME
from arbcore.marketdata.sync import ArrivalRule, BookSync, Continuity, PrevRule, RangeRule, SeqView
from arbcore.model import Instrument
from arbcore_ext.bitfinexpath import ChannelPath, ChannelState
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer
from arbcore_ext.deltapath import (
    DECLINED,
    RULE_ARRIVAL,
    RULE_PREV,
    SCANNED,
    SKIPPED,
    DeltaPath,
    Route,
    anchor_offset,
    range_verdict,
    rule_verdict,
)
from arbcore_ext.fixedpoint import to_raw

INT64 = st.integers(-(2**63), 2**63 - 1)
_INSTRUMENT = Instrument.from_text(
    venue="bitfinex", native_symbol="tA", base="A", quote="B", tick_size="0.01", lot_size="0.001"
)
VERDICTS = [Continuity.APPLY, Continuity.SKIP, Continuity.GAP]


@given(book_id=INT64, first=INT64, last=INT64)
@example(book_id=2**63 - 1, first=-(2**63), last=2**63 - 1)  # no overflow at the edges
@example(book_id=-(2**63), first=2**63 - 1, last=2**63 - 1)
@example(book_id=10, first=11, last=11)
@example(book_id=10, first=12, last=12)
def test_compiled_range_rule_is_range_rule(book_id: int, first: int, last: int) -> None:
    expected = RangeRule().check(book_id, SeqView(first_seq=first, last_seq=last))
    assert VERDICTS[range_verdict(book_id, first, last)] is expected


def _path() -> DeltaPath:
    return DeltaPath(
        [Route(b"X", "X/Y", 0, 0)], anchor=b'"depthUpdate"', symbol_key=b"s", first_key=b"U",
        last_key=b"u", level_keys=((b"b", BID), (b"a", ASK)),
    )  # fmt: skip


ranges = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 4)), min_size=1, max_size=25)


@given(start=st.integers(0, 20), ranges=ranges, prices=st.lists(st.integers(1, 60), min_size=25,
       max_size=25))  # fmt: skip
def test_path_and_rule_object_leave_the_same_book(
    start: int, ranges: list[tuple[int, int]], prices: list[int]
) -> None:
    """Random ranges (overlapping, repeated, with gaps) through the C path and through
    ``BookSync.on_levels`` (the Python rule) give the same counters, id, state and levels."""
    fast_path = _path()
    books = []
    for use_path in (True, False):
        sync = BookSync("v", "X/Y", L2Book(0, 0), RangeRule())
        sync.on_event(_snapshot(start))
        fast_path.attach("X/Y", sync.core, sync)
        for (first, span), price in zip(ranges, prices, strict=False):
            side, level = (BID, price) if price <= 30 else (ASK, price + 40)
            frame = json.dumps({"e": "depthUpdate", "s": "X", "U": first, "u": first + span,
                                "b": [[str(level), "1"]] if side == BID else [],
                                "a": [[str(level), "1"]] if side == ASK else []},
                               separators=(",", ":")).encode()  # fmt: skip
            if use_path:
                status = fast_path.apply(frame)
                assert status != DECLINED
                if status not in (0, SKIPPED):
                    sync.on_path(fast_path, status)
                if sync.state.value == "waiting_snapshot":
                    sync.on_event(_snapshot(first + span))
            else:
                buffer = LevelBuffer(4)
                buffer.append(side, level, 1)
                sync.on_levels(SeqView(first_seq=first, last_seq=first + span), buffer, "X/Y")
                if sync.state.value == "waiting_snapshot":
                    sync.on_event(_snapshot(first + span))
        book = [a.tolist() for side in (BID, ASK) for a in sync.book.levels(side)]
        books.append((sync.counters.as_dict(), sync.book_id, sync.in_sync, book))
    assert books[0] == books[1]


def _snapshot(last: int):  # type: ignore[no-untyped-def]
    import numpy as np

    from arbcore.model import BookEvent, BookEventKind

    return BookEvent(venue="v", symbol="X/Y", kind=BookEventKind.SNAPSHOT,
                     sides=np.array([BID, ASK], dtype=np.int8),
                     prices=np.array([1, 200], dtype=np.int64),
                     sizes=np.array([1, 1], dtype=np.int64), first_seq=last,
                     last_seq=last)  # fmt: skip


# -- the other compiled rules (ArrivalRule, PrevRule) -------------------------------------------


@given(book_id=INT64, last=INT64, prev=st.none() | INT64)
@example(book_id=5, last=6, prev=5)  # continues
@example(book_id=5, last=5, prev=4)  # a repeat: skip
@example(book_id=5, last=9, prev=None)  # no predecessor: gap
@example(book_id=2**63 - 1, last=-(2**63), prev=2**63 - 1)
def test_compiled_arrival_and_prev_rules_are_the_rule_objects(
    book_id: int, last: int, prev: int | None
) -> None:
    event = SeqView(first_seq=last, last_seq=last, prev_seq=prev)
    assert VERDICTS[rule_verdict(RULE_ARRIVAL, book_id, last, last, prev)] is (
        ArrivalRule().check(book_id, event)
    )
    assert VERDICTS[rule_verdict(RULE_PREV, book_id, last, last, prev)] is (
        PrevRule().check(book_id, event)
    )


# -- ChannelPath (Bitfinex's plain frames) against the regular expression it replaces -----------

_NUMBER = st.from_regex(rb"\A-?(0|[1-9][0-9]{0,7})(\.[0-9]{1,10})?\Z")
_UINT = st.from_regex(rb"\A(0|[1-9][0-9]{0,20})\Z")
_JUNK = st.sampled_from([b"", b" ", b"00", b"1e5", b"-", b".5", b"+1", b'"hb"', b"[]", b"x"])


@st.composite
def _channel_frames(draw: st.DrawFn) -> bytes:
    """Frames of the plain shape with random numbers, some with one piece swapped for junk."""
    chan = draw(st.sampled_from([b"5", b"7", b"05", b"50"]))
    if draw(st.booleans()):
        body = b"[" + b",".join([draw(_NUMBER), draw(_UINT), draw(_NUMBER)]) + b"]"
    else:
        body = b'"cs",' + draw(_NUMBER)
    parts = [chan, body] + ([draw(_UINT)] if draw(st.booleans()) else [])
    if draw(st.integers(0, 3)) == 0:
        parts[draw(st.integers(0, len(parts) - 1))] = draw(_JUNK)
    return b"[" + b",".join(parts) + b"]"


def _reference_read(frame: bytes, state: ChannelState, books: dict[bytes, tuple[int, int]]):  # type: ignore[no-untyped-def]
    """What the Python fast path read (``PLAIN_FRAME`` + ``append_level``): None to decline,
    else (levels, number, prev, checksum); the state is counted only when it reads."""
    match = PLAIN_FRAME.fullmatch(frame)
    if match is None:
        return None
    chan, price, count, amount, checksum, number = match.groups()
    seq = None if number is None else int(number)
    if chan not in books or (seq is not None and seq >= 2**63) or not state.continues(seq):
        return None
    if checksum is not None and abs(int(checksum)) >= 2**63:
        return None
    price_decimals, size_decimals = books[chan]
    levels: list[tuple[int, int, int]] = []
    if price is not None:
        try:
            raw = to_raw(amount, size_decimals, allow_negative=True)
            if raw == 0:
                return None
            levels.append((BID if raw > 0 else ASK, to_raw(price, price_decimals),
                           0 if count == b"0" else abs(raw)))  # fmt: skip
        except ValueError:
            return None
    first, prev = state.count_frame(seq, chan)
    return levels, first, prev, None if checksum is None else int(checksum)


@given(frames=st.lists(_channel_frames(), min_size=1, max_size=12))
@example(frames=[b"[5,[1.5,1,-2],1]", b"[5,[1.5,0,-2],2]", b'[5,"cs",-7,3]', b"[5,[1,1,1],9]"])
def test_channel_path_reads_what_the_plain_frame_rule_reads(frames: list[bytes]) -> None:
    """Every frame, through the compiled reader and through the Python rule on twin states: the
    same verdict, levels, sequence, predecessor and checksum, and the same state after it."""
    path = ChannelPath([Route(b"tA", "A/B", 2, 3)])
    compiled = path.state(0)
    reference = ChannelState()
    for state in (compiled, reference):
        state.add_book(b"5", _INSTRUMENT)
    for frame in frames:
        expected = _reference_read(frame, reference, {b"5": (2, 3)})
        status = path.scan(frame)
        if expected is None:
            assert status == DECLINED, frame
        else:
            assert status == SCANNED, frame
            sides, prices, sizes = (a.tolist() for a in path.levels.arrays())
            got = list(zip(sides, prices, sizes, strict=True))
            assert (got, path.first_seq, path.prev_seq, path.checksum) == expected, frame
        assert (compiled.last_seq, compiled.counter, compiled.book_last) == (
            reference.last_seq, reference.counter, reference.book_last
        )  # fmt: skip


@given(
    frame=st.binary(max_size=80),
    anchor=st.sampled_from([b'"depthUpdate"', b"ab", b"a", b"aba", b'"e":"x"']),
    inserts=st.lists(st.integers(0, 80), max_size=3),
    limit=st.integers(-2, 100),
)
@example(frame=b'{"stream":"btcusdt@depth","data":{"e":', anchor=b'"depthUpdate"', inserts=[38],
         limit=108)  # fmt: skip
@example(frame=b"", anchor=b'"depthUpdate"', inserts=[], limit=5)  # shorter than the anchor
@example(frame=b"xxaba", anchor=b"aba", inserts=[], limit=4)  # the only match ends past limit
def test_anchor_search_finds_the_first_occurrence(
    frame: bytes, anchor: bytes, inserts: list[int], limit: int
) -> None:
    """The delta path's anchor search (memchr on the anchor's middle byte, then memcmp) finds
    what ``bytes.find`` finds within the first ``limit`` bytes, overlapping partial matches
    and an anchor cut by the limit included."""
    for at in sorted(inserts, reverse=True):
        frame = frame[:at] + anchor + frame[at:]
    bounded = max(0, min(limit, len(frame)))
    assert anchor_offset(frame, anchor, limit) == frame[:bounded].find(anchor)
