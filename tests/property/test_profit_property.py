"""price_cross against the exact reference walk and a brute-force search over every size."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore_ext import reference
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.profit import price_cross

levels = st.lists(st.tuples(st.integers(9_900, 10_100), st.integers(1, 40)), min_size=0, max_size=8)
fees = st.sampled_from([0.0, 0.0005, 0.001, 0.002])


def build(bids, asks, size_decimals):
    compiled = L2Book(2, size_decimals)
    oracle = reference.L2Book(2, size_decimals)
    arrays = [
        np.array([p for p, _ in bids], dtype=np.int64),
        np.array([q for _, q in bids], dtype=np.int64),
        np.array([p for p, _ in asks], dtype=np.int64),
        np.array([q for _, q in asks], dtype=np.int64),
    ]
    compiled.apply_snapshot(*arrays)
    oracle.apply_snapshot(*arrays)
    return compiled, oracle


def net_profit_at(size: int, asks, bids, buy_fee, sell_fee) -> Fraction | None:
    """Net profit of exactly ``size`` units bought on asks and sold on bids (None: not enough)."""

    def walk(levels_, amount):
        total, left = Fraction(0), amount
        for price, qty in levels_:
            take = min(qty, left)
            total += Fraction(price, 100) * take
            left -= take
        return None if left else total

    buy, sell = walk(asks, size), walk(bids, size)
    if buy is None or sell is None:
        return None
    return sell * (1 - Fraction(sell_fee)) - buy * (1 + Fraction(buy_fee))


@given(
    buy_side=st.tuples(levels, levels),
    sell_side=st.tuples(levels, levels),
    buy_fee=fees,
    sell_fee=fees,
    lot=st.sampled_from([0, 1, 3, 7]),
)
def test_price_cross_matches_brute_force_over_sizes(buy_side, sell_side, buy_fee, sell_fee, lot):
    buy_book, buy_ref = build(*buy_side, size_decimals=0)
    sell_book, sell_ref = build(*sell_side, size_decimals=0)
    quote = price_cross(buy_book, sell_book, buy_fee, sell_fee, lot=float(lot))
    asks = [(int(p), int(q)) for p, q in zip(*buy_ref.levels(ASK), strict=True)]
    bids = [(int(p), int(q)) for p, q in zip(*sell_ref.levels(BID), strict=True)]
    step = lot or 1
    candidates = {
        size: net_profit_at(size, asks, bids, buy_fee, sell_fee)
        for size in range(0, 8 * 40 + 1, step)
    }
    best = max(value for value in candidates.values() if value is not None)
    chosen = candidates[quote.size_units]
    assert chosen is not None
    assert float(chosen) == pytest.approx(float(best), abs=1e-9)
    assert quote.net_profit == pytest.approx(float(chosen), abs=1e-9)
    assert quote.size_units % step == 0


@given(
    buy_side=st.tuples(levels, levels),
    sell_side=st.tuples(levels, levels),
    buy_fee=fees,
    sell_fee=fees,
    buy_decimals=st.integers(0, 3),
    sell_decimals=st.integers(0, 3),
    max_base=st.one_of(st.just(float("inf")), st.integers(1, 50).map(float)),
    max_quote=st.one_of(st.just(float("inf")), st.integers(1, 5000).map(float)),
    slippage=st.sampled_from([0.0, 2.5, 10.0]),
)
def test_price_cross_agrees_with_reference(
    buy_side,
    sell_side,
    buy_fee,
    sell_fee,
    buy_decimals,
    sell_decimals,
    max_base,
    max_quote,
    slippage,
):
    buy_book, buy_ref = build(*buy_side, size_decimals=buy_decimals)
    sell_book, sell_ref = build(*sell_side, size_decimals=sell_decimals)
    kwargs = {
        "max_base": max_base,
        "max_quote": max_quote,
        "buy_slippage_bps": slippage,
        "sell_slippage_bps": slippage,
    }
    quote = price_cross(buy_book, sell_book, buy_fee, sell_fee, **kwargs)
    expected = reference.price_cross(buy_ref, sell_ref, buy_fee, sell_fee, **kwargs)
    assert quote.size_units == expected.size_units
    assert quote.size_decimals == expected.size_decimals
    assert quote.net_profit == pytest.approx(expected.net_profit, abs=1e-9)
    assert quote.gross_profit == pytest.approx(expected.gross_profit, abs=1e-9)
    if expected.size_units:
        assert quote.buy_vwap == pytest.approx(expected.buy_vwap)
        assert quote.sell_vwap == pytest.approx(expected.sell_vwap)
        assert (quote.buy_levels, quote.sell_levels) == (expected.buy_levels, expected.sell_levels)
        assert (quote.buy_limit, quote.sell_limit) == (expected.buy_limit, expected.sell_limit)
