"""Twin of ``arbcore_ext.profit``: the same walk in exact rationals."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

from arbcore_ext.reference.book import ASK, BID, L2Book

ReferenceBook = L2Book
INT64_MAX = 2**63 - 1


class CrossQuote(NamedTuple):
    size_units: int
    size_decimals: int
    buy_vwap: float
    sell_vwap: float
    gross_profit: float
    net_profit: float
    buy_levels: int
    sell_levels: int
    buy_limit: int
    sell_limit: int


def limit_price(price_raw: int, is_buy: bool, slippage_bps: float = 0.0) -> int:
    """Twin of ``profit.limit_price``: widen by whole raw units, never past the allowance."""
    allowance = math.floor(price_raw * slippage_bps / 10000.0)
    return price_raw + allowance if is_buy else price_raw - allowance


def _units(book: ReferenceBook, side: int, scale: int) -> list[tuple[Fraction, int, int]]:
    """(price in quote units, raw price, size in units at 10**-scale), best first."""
    factor = 10 ** (scale - book.size_decimals)
    prices, sizes = book.levels(side)
    return [
        (Fraction(int(p), 10**book.price_decimals), int(p), int(q) * factor)
        for p, q in zip(prices, sizes, strict=True)
    ]


def price_cross(
    buy_book: ReferenceBook,
    sell_book: ReferenceBook,
    buy_fee: float,
    sell_fee: float,
    max_base: float = math.inf,
    max_quote: float = math.inf,
    lot: float = 0.0,
    min_notional: float = 0.0,
    buy_slippage_bps: float = 0.0,
    sell_slippage_bps: float = 0.0,
) -> CrossQuote:
    """Twin of ``profit.price_cross`` in exact rationals: take units while they earn."""
    scale = max(buy_book.size_decimals, sell_book.size_decimals)
    lot_units = max(1, round(lot * 10**scale))
    unbounded = math.isinf(max_base) or max_base * 10**scale >= 9.2e18
    max_units = INT64_MAX if unbounded else math.floor(max_base * 10**scale + 1e-9)
    bf, sf = Fraction(buy_fee), Fraction(sell_fee)
    asks = _units(buy_book, ASK, scale)
    bids = _units(sell_book, BID, scale)

    def walk(
        limit: int, stop_at_margin: bool = True
    ) -> tuple[int, Fraction, Fraction, int, int, int, int]:
        size, buy, sell = 0, Fraction(0), Fraction(0)
        used_a: set[int] = set()
        used_b: set[int] = set()
        i = j = 0
        left_a = asks[0][2] if asks else 0
        left_b = bids[0][2] if bids else 0
        while i < len(asks) and j < len(bids) and size < limit:
            a, b = asks[i][0], bids[j][0]
            # decided in floats exactly as the kernel does, so both stop at the same level
            bid_f = bids[j][1] * 10.0**-sell_book.price_decimals
            ask_f = asks[i][1] * 10.0**-buy_book.price_decimals
            if stop_at_margin and bid_f * (1.0 - sell_fee) - ask_f * (1.0 + buy_fee) <= 0.0:
                break
            q = min(left_a, left_b, limit - size)
            budget = Fraction(max_quote) * 10**scale if not math.isinf(max_quote) else None
            if budget is not None:
                q = min(q, math.floor((budget - buy * (1 + bf)) / (a * (1 + bf))))
            if q <= 0:
                break
            size += q
            buy += a * q
            sell += b * q
            used_a.add(i)
            used_b.add(j)
            left_a -= q
            left_b -= q
            if left_a == 0:
                i += 1
                left_a = asks[i][2] if i < len(asks) else 0
            if left_b == 0:
                j += 1
                left_b = bids[j][2] if j < len(bids) else 0
        worst_a = asks[max(used_a)][1] if used_a else 0
        worst_b = bids[max(used_b)][1] if used_b else 0
        return int(size), buy, sell, len(used_a), len(used_b), worst_a, worst_b

    def net(buy: Fraction, sell: Fraction) -> Fraction:
        return sell * (1 - sf) - buy * (1 + bf)

    size, buy, sell, la, lb, wa, wb = walk(max_units)
    rounded = size - size % lot_units
    if rounded != size:
        up = walk(rounded + lot_units, stop_at_margin=False)
        size, buy, sell, la, lb, wa, wb = walk(rounded)
        if up[0] == rounded + lot_units and net(up[1], up[2]) > net(buy, sell):
            size, buy, sell, la, lb, wa, wb = up
    unit = Fraction(1, 10**scale)
    if size <= 0 or buy * unit < Fraction(min_notional) or sell * unit < Fraction(min_notional):
        return CrossQuote(0, scale, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0)
    return CrossQuote(
        size_units=size,
        size_decimals=scale,
        buy_vwap=float(buy / size),
        sell_vwap=float(sell / size),
        gross_profit=float((sell - buy) * unit),
        net_profit=float((sell * (1 - sf) - buy * (1 + bf)) * unit),
        buy_levels=la,
        sell_levels=lb,
        buy_limit=limit_price(wa, True, buy_slippage_bps),
        sell_limit=limit_price(wb, False, sell_slippage_bps),
    )
