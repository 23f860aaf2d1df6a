"""L2Book behaviour on hand-built books: layout edges, argument errors, depth walks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.errors import BookError, DecimalFormatError

LAYOUTS = [None, 0, 256, 4096]


def arrays(*values: list[int], dtype: type = np.int64) -> list[np.ndarray]:
    return [np.array(v, dtype=dtype) for v in values]


def deltas(book: L2Book, levels: list[tuple[int, int, int]]) -> None:
    book.apply_deltas(
        np.array([s for s, _, _ in levels], dtype=np.int8),
        np.array([p for _, p, _ in levels], dtype=np.int64),
        np.array([q for _, _, q in levels], dtype=np.int64),
    )


@pytest.fixture(params=LAYOUTS, ids=["adaptive", "flat", "w256", "w4096"])
def book(request: pytest.FixtureRequest) -> L2Book:
    result = L2Book(2, 8, window_ticks=request.param)
    result.apply_snapshot(
        *arrays([6173763, 6173762, 6173700, 5000000], [100, 200, 300, 400]),
        *arrays([6173764, 6173800, 6300000], [10, 20, 30]),
    )
    return result


def test_book_snapshot_best_prices_and_depth(book: L2Book) -> None:
    assert book.bbo() == (6173763, 6173764)
    assert (book.best_bid_size(), book.best_ask_size()) == (100, 10)
    assert book.best_bid_float() == pytest.approx(61737.63)
    assert (book.depth(BID), book.depth(ASK)) == (4, 3)
    prices, sizes = book.levels(BID)
    assert prices.tolist() == [6173763, 6173762, 6173700, 5000000]
    assert sizes.tolist() == [100, 200, 300, 400]
    assert not book.is_crossed()


def test_book_delete_best_falls_back_to_next_level_even_far_away(book: L2Book) -> None:
    deltas(book, [(BID, 6173763, 0), (BID, 6173762, 0), (BID, 6173700, 0)])
    assert book.best_bid() == 5000000  # ~1.2M ticks below: from the overflow
    deltas(book, [(BID, 5000000, 0)])
    assert book.best_bid() is None
    assert book.best_bid_size() is None
    deltas(book, [(BID, 6200000, 5)])  # a new touch far above the old window
    assert book.bbo() == (6200000, 6173764)
    assert book.is_crossed()


def test_book_delete_absent_level_is_counted_noop(book: L2Book) -> None:
    before = book.levels(BID)[0].tolist()
    deltas(book, [(BID, 6170000, 0), (ASK, 1, 0)])
    assert book.levels(BID)[0].tolist() == before
    stats = book.stats
    assert stats["bid"]["absent_deletes"] == 1
    assert stats["ask"]["absent_deletes"] == 1


def test_book_ask_touch_moving_up_and_down_keeps_order(book: L2Book) -> None:
    deltas(book, [(ASK, 6173764, 0), (ASK, 6173800, 0)])
    assert book.best_ask() == 6300000
    deltas(book, [(ASK, 6000001, 7)])  # below the bids: crossed, but stored as given
    assert book.levels(ASK)[0].tolist() == [6000001, 6300000]
    assert book.is_crossed()


def test_book_set_level_accepts_text_and_raw(book: L2Book) -> None:
    book.set_level(BID, "61737.64000000", "0.00000500")
    book.set_level(ASK, b"61737.65", 7)
    assert book.best_bid() == 6173764
    assert book.best_bid_size() == 500
    assert book.levels(ASK, 2)[0].tolist() == [6173764, 6173765]
    with pytest.raises(DecimalFormatError, match=r"61737\.641"):
        book.set_level(BID, "61737.641", 1)


@pytest.mark.parametrize(
    ("side", "price", "size", "message"),
    [
        (2, 100, 1, "side"),
        (BID, 0, 1, "positive"),
        (ASK, -5, 1, "positive"),
        (BID, 100, -1, "sizes"),
    ],
)
def test_book_set_level_bad_arguments_raise(
    book: L2Book, side: int, price: int, size: int, message: str
) -> None:
    with pytest.raises(BookError, match=message):
        book.set_level(side, price, size)


def test_book_bad_batch_changes_nothing(book: L2Book) -> None:
    before = book.top(10)
    with pytest.raises(BookError, match="positive"):
        deltas(book, [(BID, 6173765, 1), (ASK, 0, 1)])
    after = book.top(10)
    assert all(a.tolist() == b.tolist() for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([(BID, 6173765, 1), (BID, 100, -1), (ASK, 0, 1)], "sizes"),
        ([(ASK, 6173766, 0), (ASK, -3, 1), (BID, 100, -1)], "positive"),
        ([(BID, 6173765, 1), (-1, 100, 1), (ASK, 0, 1)], "side"),
        ([(ASK, 6173766, 1)] * 40 + [(2, 100, 1)], "side"),
        ([(BID, 6173765, 1), (BID, 100, -1)], "sizes"),
        ([(BID, 6173765, 1), (ASK, 0, 1)], "positive"),
    ],
)
def test_book_bad_batch_reports_its_first_bad_level(
    book: L2Book, levels: list[tuple[int, int, int]], message: str
) -> None:
    """The batch is checked as a whole before anything applies; the error names the first bad
    level's fault, wherever the bad levels are."""
    before = book.top(10)
    with pytest.raises(BookError, match=message):
        deltas(book, levels)
    assert all(a.tolist() == b.tolist() for a, b in zip(before, book.top(10), strict=True))


@pytest.mark.parametrize(
    ("sides", "prices", "sizes", "message"),
    [
        (np.array([0], dtype=np.int64), np.array([1], dtype=np.int64), np.array([1]), "int8"),
        (np.array([0], dtype=np.int8), np.array([1.0]), np.array([1], dtype=np.int64), "int64"),
        ([0], np.array([1], dtype=np.int64), np.array([1], dtype=np.int64), "numpy"),
        (
            np.array([0, 0], dtype=np.int8),
            np.array([1], dtype=np.int64),
            np.array([1], dtype=np.int64),
            "same length",
        ),
        (
            np.array([0], dtype=np.int8),
            np.array([[1]], dtype=np.int64),
            np.array([1], dtype=np.int64),
            "one-dimensional",
        ),
        (
            np.array([0, 0], dtype=np.int8),
            np.arange(4, dtype=np.int64)[::2],
            np.array([1, 1], dtype=np.int64),
            "contiguous",
        ),
    ],
)
def test_book_apply_deltas_rejects_wrong_arrays(
    sides: Any, prices: Any, sizes: Any, message: str
) -> None:
    with pytest.raises(BookError, match=message):
        L2Book(2, 8).apply_deltas(sides, prices, sizes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"price_decimals": 19, "size_decimals": 8}, "between 0 and 18"),
        ({"price_decimals": 2, "size_decimals": 8, "max_depth": -1}, "max_depth"),
        ({"price_decimals": 2, "size_decimals": 8, "window_ticks": 1000}, "power of two"),
        ({"price_decimals": 2, "size_decimals": 8, "window_ticks": 128}, "power of two"),
    ],
)
def test_book_bad_construction_raises(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(BookError, match=message):
        L2Book(**kwargs)


def test_book_max_depth_keeps_best_levels() -> None:
    book = L2Book(2, 8, max_depth=3)
    deltas(book, [(BID, p, 1) for p in (100, 105, 103, 101, 104)])
    assert book.levels(BID)[0].tolist() == [105, 104, 103]
    deltas(book, [(BID, 99, 1)])  # worse than all kept: dropped at once
    assert book.levels(BID)[0].tolist() == [105, 104, 103]


def test_book_truncate_and_clear(book: L2Book) -> None:
    book.truncate(2)
    assert book.levels(BID)[0].tolist() == [6173763, 6173762]
    assert book.levels(ASK)[0].tolist() == [6173764, 6173800]
    book.truncate(0)
    assert (book.depth(BID), book.depth(ASK)) == (0, 0)
    deltas(book, [(BID, 100, 1)])
    book.clear()
    assert book.bbo() == (None, None)


def test_book_top_returns_best_n_each_side(book: L2Book) -> None:
    bid_prices, bid_sizes, ask_prices, ask_sizes = book.top(2)
    assert bid_prices.tolist() == [6173763, 6173762]
    assert bid_sizes.tolist() == [100, 200]
    assert ask_prices.tolist() == [6173764, 6173800]
    assert ask_sizes.tolist() == [10, 20]
    assert bid_prices.dtype == np.int64


def test_book_cost_to_fill_walks_levels(book: L2Book) -> None:
    # buy 25 raw units: 10 @ 61737.64 + 15 @ 61738.00
    filled, notional, worst, used = book.cost_to_fill(ASK, 25)
    assert (filled, worst, used) == (25, 6173800, 2)
    assert notional == pytest.approx((10 * 61737.64 + 15 * 61738.00) * 1e-8)
    # more than the side holds: all 60 units, three levels
    everything = book.cost_to_fill(ASK, 10**6)
    assert (everything.filled, everything.worst_price, everything.levels) == (60, 6300000, 3)
    assert tuple(book.cost_to_fill(ASK, 0)) == (0, 0.0, None, 0)
    assert book.cost_to_fill(ASK, 0).worst_price is None


def test_book_qty_for_notional_stops_inside_a_level(book: L2Book) -> None:
    budget = (10 * 61737.64 + 5 * 61738.00) * 1e-8
    qty, spent, worst, used = book.qty_for_notional(ASK, budget)
    assert (qty, worst, used) == (15, 6173800, 2)
    assert spent == pytest.approx(budget)


def test_book_window_adapts_to_instrument_price() -> None:
    btc = L2Book(2, 8)
    btc.apply_snapshot(*arrays([6173763], [1]), *arrays([6173764], [1]))
    eth = L2Book(2, 8)
    eth.apply_snapshot(*arrays([258410], [1]), *arrays([258411], [1]))
    # next power of two of 0.003 * mid / (7/8) ticks: 21,167 -> 32,768 and 886 -> 1,024
    assert btc.widths == (32768, 32768)
    assert eth.widths == (1024, 1024)
    # 8 bytes of size + 1 bit per tick per side
    assert eth.nbytes >= 2 * (1024 * 8 + 1024 // 8)


def test_book_flat_layout_has_no_window() -> None:
    flat = L2Book(2, 8, window_ticks=0)
    deltas(flat, [(BID, 100, 1), (ASK, 101, 1)])
    assert flat.widths == (0, 0)
    assert flat.bbo() == (100, 101)
