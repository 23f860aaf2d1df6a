"""Depth-walk benchmarks on the real BTCUSDT snapshot: cost_to_fill, qty_for_notional, price_cross.

Each row is a loop of ``CALLS`` identical calls; the per-call figure includes the loop's own cost
(see the "bare loop" row of the per-level table for its size). Every result is checked against
``arbcore_ext.reference``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from peers import Stream, bench_calls, call_loop

from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.profit import price_cross
from arbcore_ext.reference import ReferenceBook
from arbcore_ext.reference import price_cross as reference_cross

pytestmark = pytest.mark.recording

CALLS = 10_000
FEE = 0.001  # 10 bps a leg
GROUP_WALKS = "depth walks and reads (BTCUSDT snapshot)"
GROUP_CROSS = "price_cross (BTCUSDT snapshot, 20 levels a side)"


def _books(
    snapshot: tuple[np.ndarray, ...], decimals: tuple[int, int], depth: int = 0
) -> tuple[L2Book, ReferenceBook]:
    """The compiled book and its reference twin on the same snapshot, cut to ``depth`` levels."""
    book, ref = L2Book(*decimals), ReferenceBook(*decimals)
    for b in (book, ref):
        b.apply_snapshot(*snapshot)
        if depth:
            b.truncate(depth)
    return book, ref


@pytest.fixture(scope="module")
def snapshot_books(btcusdt: Stream) -> tuple[L2Book, ReferenceBook]:
    """The full BTCUSDT snapshot (1000 levels a side)."""
    return _books(btcusdt.snapshot, (btcusdt.price_decimals, btcusdt.size_decimals))


@pytest.mark.parametrize("levels", [1, 10, 100])
def test_cost_to_fill(
    benchmark: Any, snapshot_books: tuple[L2Book, ReferenceBook], levels: int
) -> None:
    """Buy exactly the size of the best ``levels`` asks."""
    book, ref = snapshot_books
    qty = int(book.levels(ASK, levels)[1].sum())
    result = bench_calls(
        benchmark,
        call_loop(book.cost_to_fill, (ASK, qty), CALLS),
        CALLS,
        group=GROUP_WALKS,
        contender=f"cost_to_fill, {levels} level{'s' * (levels > 1)}",
        target_ns=120.0 if levels == 10 else None,
    )
    filled, notional, worst, used = result
    ref_filled, ref_notional, ref_worst, ref_used = ref.cost_to_fill(ASK, qty)
    assert (filled, worst, used) == (ref_filled, ref_worst, ref_used) == (qty, worst, levels)
    assert notional == pytest.approx(ref_notional, rel=1e-12)


@pytest.mark.parametrize("read", ["bbo()", "depth(ASK)"])
def test_read_call_floor(
    benchmark: Any, snapshot_books: tuple[L2Book, ReferenceBook], read: str
) -> None:
    """Trivial reads: the floor any L2Book call pays (dispatch, argument and result objects)."""
    book, ref = snapshot_books
    if read == "bbo()":
        loop = call_loop(book.bbo, (), CALLS)
    else:
        loop = call_loop(book.depth, (ASK,), CALLS)
    result = bench_calls(
        benchmark, loop, CALLS, group=GROUP_WALKS, contender=f"{read} (call floor)"
    )
    assert result == (ref.bbo() if read == "bbo()" else ref.depth(ASK))


def test_qty_for_notional(benchmark: Any, snapshot_books: tuple[L2Book, ReferenceBook]) -> None:
    """Spend what the best 9.5 asks cost (so the walk ends half-way into level 10)."""
    book, ref = snapshot_books
    cost9, cost10 = (
        book.cost_to_fill(ASK, int(book.levels(ASK, k)[1].sum())).notional for k in (9, 10)
    )
    notional = (cost9 + cost10) / 2
    result = bench_calls(
        benchmark,
        call_loop(book.qty_for_notional, (ASK, notional), CALLS),
        CALLS,
        group=GROUP_WALKS,
        contender="qty_for_notional, 10 levels",
    )
    qty, spent, worst, used = result
    ref_qty, ref_spent, ref_worst, ref_used = ref.qty_for_notional(ASK, notional)
    assert (worst, used) == (ref_worst, ref_used)
    assert used == 10
    assert abs(qty - ref_qty) <= 1
    assert spent == pytest.approx(ref_spent, rel=1e-9)
    assert spent <= notional


@pytest.mark.parametrize("crossed", [True, False], ids=["1% apart", "no cross"])
def test_price_cross(benchmark: Any, btcusdt: Stream, crossed: bool) -> None:
    """Two 20-level books; the sell venue's prices 1% higher (every level clears 2x10 bps fees),
    or identical (nothing to trade: the early exit most calls take)."""
    decimals = (btcusdt.price_decimals, btcusdt.size_decimals)
    bp, bq, ap, aq = btcusdt.snapshot

    def shift(prices: np.ndarray) -> np.ndarray:
        return prices + prices // 100 if crossed else prices

    buy, ref_buy = _books(btcusdt.snapshot, decimals, depth=20)
    sell, ref_sell = _books((shift(bp), bq, shift(ap), aq), decimals, depth=20)
    quote = bench_calls(
        benchmark,
        call_loop(price_cross, (buy, sell, FEE, FEE), CALLS),
        CALLS,
        group=GROUP_CROSS,
        contender=f"price_cross, {'1% apart' if crossed else 'no cross'}",
        target_ns=500.0 if crossed else None,
    )
    ref = reference_cross(ref_buy, ref_sell, FEE, FEE)
    assert quote.size_units == ref.size_units
    assert (quote.buy_levels, quote.sell_levels) == (ref.buy_levels, ref.sell_levels)
    assert quote.net_profit == pytest.approx(float(ref.net_profit), rel=1e-9)
    if crossed:
        assert max(ref.buy_levels, ref.sell_levels) == 20
        assert ref.net_profit > 0
    else:
        assert ref.size_units == 0
    assert sell.depth(BID) == buy.depth(ASK) == 20
