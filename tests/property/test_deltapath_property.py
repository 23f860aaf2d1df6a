"""The compiled sequence rule of the one-call delta path against the rule object.

``arbcore.marketdata.sync.RangeRule`` is the one definition of Binance/Gate/KuCoin continuity;
``arbcore_ext.deltapath`` applies it in C. Both must give the same verdict on every int64 input,
and a whole stream of random ranges must leave a book in the same state either way.
"""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.marketdata.sync import BookSync, Continuity, RangeRule, SeqView
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer
from arbcore_ext.deltapath import DECLINED, SKIPPED, DeltaPath, Route, range_verdict

INT64 = st.integers(-(2**63), 2**63 - 1)
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
