"""L2Book against the plain-Python reference book under random snapshots, deltas and truncations.

After every step both books must agree on every level, the best prices, the depth and a depth
walk. The configurations cover the adaptive window, small fixed windows (so the window re-centres
and spills into the overflow often) and the flat layout, with and without max_depth.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.reference.book import L2Book as ReferenceBook

sizes = st.integers(min_value=0, max_value=5).map(lambda q: q * 1000)  # 0 deletes
offsets = st.one_of(
    st.integers(min_value=0, max_value=40),  # near the touch
    st.integers(min_value=0, max_value=6000),  # deep: beyond a 256/1024-tick window
)


class BookComparison(RuleBasedStateMachine):
    @initialize(
        window=st.sampled_from([None, 0, 256, 1024]),
        max_depth=st.sampled_from([0, 0, 3, 40]),
        mid=st.integers(min_value=10_000, max_value=5_000_000),
    )
    def setup(self, window: int | None, max_depth: int, mid: int) -> None:
        self.book = L2Book(2, 3, max_depth=max_depth, window_ticks=window)
        self.reference = ReferenceBook(2, 3, max_depth=max_depth)
        self.mid = mid

    def _price(self, side: int, offset: int) -> int:
        return max(1, self.mid - offset) if side == BID else self.mid + 1 + offset

    @rule(drift=st.integers(min_value=-3000, max_value=3000))
    def move_mid(self, drift: int) -> None:
        self.mid = max(7000, self.mid + drift)

    @rule(
        bids=st.lists(st.tuples(offsets, sizes), max_size=30),
        asks=st.lists(st.tuples(offsets, sizes), max_size=30),
    )
    def snapshot(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        arrays = []
        for side, levels in ((BID, bids), (ASK, asks)):
            arrays.append(np.array([self._price(side, o) for o, _ in levels], dtype=np.int64))
            arrays.append(np.array([q for _, q in levels], dtype=np.int64))
        self.book.apply_snapshot(*arrays)
        self.reference.apply_snapshot(*arrays)

    @rule(levels=st.lists(st.tuples(st.sampled_from([BID, ASK]), offsets, sizes), max_size=25))
    def deltas(self, levels: list[tuple[int, int, int]]) -> None:
        sides = np.array([s for s, _, _ in levels], dtype=np.int8)
        prices = np.array([self._price(s, o) for s, o, _ in levels], dtype=np.int64)
        quantities = np.array([q for _, _, q in levels], dtype=np.int64)
        self.book.apply_deltas(sides, prices, quantities)
        self.reference.apply_deltas(sides, prices, quantities)

    @rule(side=st.sampled_from([BID, ASK]), offset=offsets, size=sizes)
    def one_level(self, side: int, offset: int, size: int) -> None:
        price = self._price(side, offset)
        self.book.set_level(side, price, size)
        self.reference.set_level(side, price, size)

    @precondition(lambda self: self.reference.depth(BID) + self.reference.depth(ASK) > 0)
    @rule(side=st.sampled_from([BID, ASK]), data=st.data())
    def delete_best_levels(self, side: int, data: st.DataObject) -> None:
        prices, _ = self.reference.levels(side, 5)
        for price in prices[: data.draw(st.integers(0, len(prices)))]:
            self.book.set_level(side, int(price), 0)
            self.reference.set_level(side, int(price), 0)

    @rule(n=st.integers(min_value=0, max_value=30))
    def truncate(self, n: int) -> None:
        self.book.truncate(n)
        self.reference.truncate(n)

    @rule()
    def clear(self) -> None:
        self.book.clear()
        self.reference.clear()

    @invariant()
    def same_book(self) -> None:
        assert self.book.bbo() == self.reference.bbo()
        assert self.book.best_bid_size() == _best_size(self.reference, BID)
        assert self.book.is_crossed() == self.reference.is_crossed()
        for side in (BID, ASK):
            assert self.book.depth(side) == self.reference.depth(side)
            prices, quantities = self.book.levels(side)
            ref_prices, ref_quantities = self.reference.levels(side)
            assert prices.tolist() == ref_prices.tolist()
            assert quantities.tolist() == ref_quantities.tolist()

    @invariant()
    def same_depth_walks(self) -> None:
        for side in (BID, ASK):
            for qty in (1, 2500, 40_000):
                fill = self.book.cost_to_fill(side, qty)
                ref = self.reference.cost_to_fill(side, qty)
                assert (fill.filled, fill.worst_price, fill.levels) == (
                    ref.filled,
                    ref.worst_price,
                    ref.levels,
                )
                assert fill.notional == pytest.approx(ref.notional, rel=1e-9)


def _best_size(book: ReferenceBook, side: int) -> int | None:
    _, quantities = book.levels(side, 1)
    return int(quantities[0]) if len(quantities) else None


TestBookComparison = BookComparison.TestCase
