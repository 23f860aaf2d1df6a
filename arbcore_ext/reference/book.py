"""Twin of ``arbcore_ext.book``: a dict per side, sorted on every read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from arbcore_ext.errors import BookError

BID = 0
ASK = 1


class DepthFill(NamedTuple):
    """Twin of ``book.DepthFill``."""

    filled: int
    notional: float
    worst_price: int | None
    levels: int


class L2Book:
    """Dict-per-side L2 book with the same semantics as ``arbcore_ext.book.L2Book``."""

    def __init__(
        self,
        price_decimals: int,
        size_decimals: int,
        max_depth: int = 0,
        window_ticks: object = None,
    ) -> None:
        if not (0 <= price_decimals <= 18 and 0 <= size_decimals <= 18):
            raise BookError("price_decimals and size_decimals must be between 0 and 18")
        if max_depth < 0:
            raise BookError("max_depth must be 0 (unbounded) or positive")
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.max_depth = max_depth
        self.sides: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.absent_deletes = 0

    # writes -----------------------------------------------------------------------------------
    @staticmethod
    def _check(side: int, price: int, size: int) -> None:
        if side not in (BID, ASK):
            raise BookError("side must be BID (0) or ASK (1)")
        if price <= 0:
            raise BookError("prices must be positive raw integers")
        if size < 0:
            raise BookError("sizes must be zero (delete) or positive raw integers")

    def _set(self, side: int, price: int, size: int) -> None:
        levels = self.sides[side]
        if size == 0:
            if levels.pop(price, None) is None:
                self.absent_deletes += 1
            return
        levels[price] = size
        if self.max_depth and len(levels) > self.max_depth:
            worst = min(levels) if side == BID else max(levels)
            del levels[worst]

    def set_level(self, side: int, price: int, size: int) -> None:
        self._check(side, price, size)
        self._set(side, price, size)

    def apply_deltas(
        self, sides: Iterable[int], prices: Iterable[int], sizes: Iterable[int]
    ) -> None:
        batch = [(int(s), int(p), int(q)) for s, p, q in zip(sides, prices, sizes, strict=True)]
        for level in batch:
            self._check(*level)
        for level in batch:
            self._set(*level)

    def replace_side(self, side: int, prices: Iterable[int], sizes: Iterable[int]) -> None:
        batch = [(int(p), int(q)) for p, q in zip(prices, sizes, strict=True)]
        for price, size in batch:
            self._check(side, price, size)
        self.sides[side].clear()
        for price, size in batch:
            if size:
                self._set(side, price, size)

    def apply_snapshot(
        self,
        bid_prices: Iterable[int],
        bid_sizes: Iterable[int],
        ask_prices: Iterable[int],
        ask_sizes: Iterable[int],
    ) -> None:
        self.replace_side(BID, bid_prices, bid_sizes)
        self.replace_side(ASK, ask_prices, ask_sizes)

    def clear(self) -> None:
        self.sides[BID].clear()
        self.sides[ASK].clear()

    def truncate(self, n: int) -> None:
        if n < 0:
            raise BookError("truncate: n must be >= 0")
        for side in (BID, ASK):
            kept = self._ordered(side)[:n]
            self.sides[side].clear()
            self.sides[side].update(kept)

    # reads ------------------------------------------------------------------------------------
    def _ordered(self, side: int) -> list[tuple[int, int]]:
        return sorted(self.sides[side].items(), reverse=(side == BID))

    def best_bid(self) -> int | None:
        return max(self.sides[BID]) if self.sides[BID] else None

    def best_ask(self) -> int | None:
        return min(self.sides[ASK]) if self.sides[ASK] else None

    def bbo(self) -> tuple[int | None, int | None]:
        return self.best_bid(), self.best_ask()

    def depth(self, side: int) -> int:
        return len(self.sides[side])

    def is_crossed(self) -> bool:
        bid, ask = self.bbo()
        return bid is not None and ask is not None and bid >= ask

    def levels(self, side: int, n: int = -1) -> tuple[np.ndarray, np.ndarray]:
        ordered = self._ordered(side)
        if n >= 0:
            ordered = ordered[:n]
        prices = np.array([p for p, _ in ordered], dtype=np.int64)
        sizes = np.array([q for _, q in ordered], dtype=np.int64)
        return prices, sizes

    def top(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (*self.levels(BID, n), *self.levels(ASK, n))

    def cost_to_fill(self, side: int, qty: int) -> DepthFill:
        filled = 0
        notional_raw = 0
        worst = None
        used = 0
        for price, size in self._ordered(side):
            if filled >= qty:
                break
            take = min(size, qty - filled)
            filled += take
            notional_raw += price * take
            worst = price
            used += 1
        unit = 10.0 ** -(self.price_decimals + self.size_decimals)
        return DepthFill(filled, notional_raw * unit, worst, used)

    def qty_for_notional(self, side: int, notional: float) -> DepthFill:
        budget = notional * 10.0 ** (self.price_decimals + self.size_decimals)
        qty = 0
        spent = 0.0
        worst = None
        used = 0
        for price, size in self._ordered(side):
            take = size if price * size <= budget - spent else int((budget - spent) / price)
            take = min(take, size)
            if take <= 0:
                break
            qty += take
            spent += price * take
            worst = price
            used += 1
            if take < size:
                break
        unit = 10.0 ** -(self.price_decimals + self.size_decimals)
        return DepthFill(qty, spent * unit, worst, used)


#: The name the tests and benchmarks use beside the compiled class.
ReferenceBook = L2Book
