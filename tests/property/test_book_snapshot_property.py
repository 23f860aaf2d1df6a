"""``L2Book.load_snapshot`` (flat arrays, one C pass) against ``apply_snapshot`` of the split sides.

``BookSync`` loads every snapshot with ``load_snapshot``; the reference is the four-array
``apply_snapshot(*split_sides(event))`` it replaced. On any input (unsorted, duplicate prices,
zero sizes, crossing sides, a window or depth limit, a book that already holds levels) both must
leave the same book, window and counters; on bad input both must refuse with the same reason, and
``load_snapshot`` must leave the book untouched (it validates everything first).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.marketdata.sync import split_sides
from arbcore.model import BookEvent, BookEventKind
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.errors import BookError

_LEVEL = st.tuples(
    st.sampled_from([BID, BID, ASK, ASK, 2, -1]),
    st.integers(-3, 4000),
    st.sampled_from([0, 0, 1, 7, 10**6, -1]),
)
_GOOD_LEVEL = st.tuples(st.sampled_from([BID, ASK]), st.integers(1, 4000), st.integers(0, 9))
_LEVELS = st.lists(st.one_of(_LEVEL, _GOOD_LEVEL, _GOOD_LEVEL, _GOOD_LEVEL), max_size=60)


def _arrays(levels: list[tuple[int, int, int]], base: int) -> tuple[np.ndarray, ...]:
    sides = np.array([s for s, _, _ in levels], dtype=np.int8)
    prices = np.array([p + base if p > 0 else p for _, p, _ in levels], dtype=np.int64)
    sizes = np.array([q for _, _, q in levels], dtype=np.int64)
    return sides, prices, sizes


def _event(arrays: tuple[np.ndarray, ...]) -> BookEvent:
    sides, prices, sizes = arrays
    return BookEvent(
        kind=BookEventKind.SNAPSHOT, venue="v", symbol="X", sides=sides, prices=prices, sizes=sizes
    )


def _state(book: L2Book) -> tuple[object, ...]:
    bids, asks = book.levels(BID), book.levels(ASK)
    return (
        bids[0].tolist(),
        bids[1].tolist(),
        asks[0].tolist(),
        asks[1].tolist(),
        book.widths,
        book.stats,
        book.snapshots,
        book.bbo(),
    )


def _reason(error: BookError) -> str:
    return str(error).partition(": ")[2] or str(error)


@given(
    before=_LEVELS,
    levels=_LEVELS,
    base=st.sampled_from([0, 10**5, 10**9]),
    max_depth=st.sampled_from([0, 3]),
    window=st.sampled_from([None, None, 0, 256]),
)
@example(before=[], levels=[(BID, 10, 1), (ASK, 5, 1)], base=0, max_depth=0, window=None)
@example(before=[(BID, 9, 1)], levels=[(ASK, 5, 2), (BID, 0, 1)], base=0, max_depth=0, window=None)
@example(before=[], levels=[(BID, 10, 1), (ASK, 11, -1)], base=0, max_depth=0, window=None)
@example(before=[], levels=[(2, 10, 1)], base=0, max_depth=0, window=None)
def test_load_snapshot_matches_apply_snapshot(
    before: list[tuple[int, int, int]],
    levels: list[tuple[int, int, int]],
    base: int,
    max_depth: int,
    window: int | None,
) -> None:
    ref = L2Book(2, 3, max_depth=max_depth, window_ticks=window)
    new = L2Book(2, 3, max_depth=max_depth, window_ticks=window)
    prior = _arrays([lv for lv in before if lv[0] in (BID, ASK) and lv[1] > 0 and lv[2] >= 0], base)
    ref.apply_snapshot(*split_sides(_event(prior)))
    new.load_snapshot(*prior)
    assert _state(new) == _state(ref)
    untouched = _state(new)
    arrays = _arrays(levels, base)
    bad_side = any(side not in (BID, ASK) for side, _, _ in levels)
    try:
        ref.apply_snapshot(*split_sides(_event(arrays)))
        ref_error = None
    except BookError as error:
        ref_error = _reason(error)
    if bad_side:  # split_sides files any non-BID side as an ask; load_snapshot refuses it
        with pytest.raises(BookError, match="side must be BID"):
            new.load_snapshot(*arrays)
        assert _state(new) == untouched
        return
    if ref_error is not None:
        with pytest.raises(BookError) as raised:
            new.load_snapshot(*arrays)
        assert _reason(raised.value) == ref_error
        assert _state(new) == untouched
        return
    new.load_snapshot(*arrays)
    assert _state(new) == _state(ref)
    # the internal layout must match too: the same deltas afterwards give the same book
    delta = _arrays([(BID, 1, 5), (ASK, 3999, 5), (BID, 2000, 0), (ASK, 2000, 4)], base)
    ref.apply_deltas(*delta)
    new.apply_deltas(*delta)
    assert _state(new) == _state(ref)


def test_load_snapshot_rejects_bad_arrays() -> None:
    book = L2Book(2, 3)
    sides = np.zeros(2, dtype=np.int8)
    prices = np.array([100, 101], dtype=np.int64)
    with pytest.raises(BookError, match="same length"):
        book.load_snapshot(sides, prices, np.ones(3, dtype=np.int64))
    with pytest.raises(BookError, match="dtype int64"):
        book.load_snapshot(sides, prices.astype(np.int32), np.ones(2, dtype=np.int64))
    assert book.snapshots == 0
    assert book.bbo() == (None, None)
