"""Price a cross-venue trade: buy where it is cheap, sell where it is rich, after fees.

Two venues' BTC/USDT books (built here by hand; in a bot they come from the feeds) and the
size that maximises profit after both taker fees, capped by what each venue's balance allows.

Run: python examples/cross_venue_quote.py
"""

from __future__ import annotations

import numpy as np

from arbcore import ASK, BID, L2Book, price_cross, to_raw


def book_from_text(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> L2Book:
    book = L2Book(price_decimals=2, size_decimals=8)
    for side, levels in ((BID, bids), (ASK, asks)):
        book.replace_side(
            side,
            np.array([to_raw(price, 2) for price, _ in levels], dtype=np.int64),
            np.array([to_raw(size, 8) for _, size in levels], dtype=np.int64),
        )
    return book


def main() -> None:
    venue_a = book_from_text(
        bids=[("61730.00", "1.2")], asks=[("61737.64", "0.40"), ("61738.10", "0.75")]
    )
    venue_b = book_from_text(
        bids=[("61890.00", "0.30"), ("61860.55", "0.50"), ("61700.00", "2.0")],
        asks=[("61895.00", "1.0")],
    )
    quote = price_cross(
        venue_a,
        venue_b,
        buy_fee=0.001,
        sell_fee=0.001,
        max_quote=40_000.0,
        lot=0.00001,
        min_notional=5.0,
        buy_slippage_bps=2.0,
        sell_slippage_bps=2.0,
    )
    buy_limit, sell_limit = quote.buy_limit / 100, quote.sell_limit / 100
    print(f"buy {quote.size:.5f} BTC on A at {quote.buy_vwap:,.2f} (limit {buy_limit:.2f})")
    print(f"sell on B at {quote.sell_vwap:,.2f} (limit {sell_limit:.2f})")
    print(f"net profit {quote.net_profit:.2f} USDT; at the limits {quote.limit_profit:.2f}")


if __name__ == "__main__":
    main()
