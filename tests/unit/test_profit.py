"""price_cross on hand-worked books, with the arithmetic written out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arbcore_ext.book import L2Book
from arbcore_ext.errors import BookError
from arbcore_ext.profit import limit_price, price_cross

ONE = 10**8  # 1 BTC at 8 size decimals


def book(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], size_decimals: int = 8
) -> L2Book:
    result = L2Book(2, size_decimals)
    result.apply_snapshot(
        np.array([p for p, _ in bids], dtype=np.int64),
        np.array([q for _, q in bids], dtype=np.int64),
        np.array([p for p, _ in asks], dtype=np.int64),
        np.array([q for _, q in asks], dtype=np.int64),
    )
    return result


@pytest.fixture
def venues() -> tuple[L2Book, L2Book]:
    # venue A asks 100.00 x 1 and 100.10 x 2; venue B bids 100.50 x 1.5 and 100.20 x 1
    cheap = book(bids=[(9990, ONE)], asks=[(10000, ONE), (10010, 2 * ONE)])
    rich = book(bids=[(10050, 3 * ONE // 2), (10020, ONE)], asks=[(10100, ONE)])
    return cheap, rich


def test_price_cross_hand_worked_stops_where_margin_turns_negative(venues) -> None:
    cheap, rich = venues
    quote = price_cross(cheap, rich, 0.001, 0.001)
    # unit margins after 0.1 % fees on both legs:
    #   100.00 -> 100.50: 100.50*0.999 - 100.00*1.001 = 0.2995 > 0   take 1.0
    #   100.10 -> 100.50: 100.3995 - 100.2001        = 0.1994 > 0   take 0.5 (B's level ends)
    #   100.10 -> 100.20: 100.0998 - 100.2001        < 0            stop
    assert quote.size == pytest.approx(1.5)
    assert quote.size_units == 150_000_000
    # bought 1 @ 100.00 + 0.5 @ 100.10 = 150.05; sold 1.5 @ 100.50 = 150.75
    assert quote.buy_vwap == pytest.approx(150.05 / 1.5)
    assert quote.sell_vwap == pytest.approx(100.50)
    assert quote.gross_profit == pytest.approx(0.70)
    # 150.75 * 0.999 - 150.05 * 1.001 = 150.59925 - 150.20005
    assert quote.net_profit == pytest.approx(0.3992)
    assert (quote.buy_levels, quote.sell_levels) == (2, 1)
    assert (quote.buy_limit, quote.sell_limit) == (10010, 10050)


def test_price_cross_without_fees_takes_every_crossing_unit(venues) -> None:
    cheap, rich = venues
    quote = price_cross(cheap, rich, 0.0, 0.0)
    # 1 @ 100.00->100.50, 0.5 @ 100.10->100.50, 1 @ 100.10->100.20: size 2.5
    assert quote.size == pytest.approx(2.5)
    assert quote.net_profit == pytest.approx(0.50 + 0.20 + 0.10)
    assert (quote.buy_levels, quote.sell_levels) == (2, 2)


def test_price_cross_caps_by_base_quote_and_lot(venues) -> None:
    cheap, rich = venues
    assert price_cross(cheap, rich, 0.001, 0.001, max_base=0.3).size == pytest.approx(0.3)
    # 50.05 quote buys 0.5 at 100.00 * 1.001 = 100.10 a unit
    assert price_cross(cheap, rich, 0.001, 0.001, max_quote=50.05).size == pytest.approx(0.5)
    # whole lots of 0.4 either side of the 1.5 optimum: 1.2 earns 0.2995 + 0.2 * 0.1994 = 0.33938;
    # 1.6 earns 0.3992 and then loses 0.1 * 0.1003 on its last tenth: 0.38917, so 1.6 wins
    lotted = price_cross(cheap, rich, 0.001, 0.001, lot=0.4)
    assert lotted.size == pytest.approx(1.6)
    assert lotted.net_profit == pytest.approx(0.38917)
    assert lotted.sell_levels == 2
    # capped at 1.5 the next lot is out of reach, so 1.2 it is
    capped = price_cross(cheap, rich, 0.001, 0.001, lot=0.4, max_base=1.5)
    assert capped.size == pytest.approx(1.2)
    assert capped.net_profit == pytest.approx(0.33938)


def test_price_cross_below_min_notional_is_zero(venues) -> None:
    cheap, rich = venues
    quote = price_cross(cheap, rich, 0.001, 0.001, min_notional=200.0)
    assert quote.size == 0.0
    assert not quote
    assert quote.net_profit == 0.0


def test_price_cross_no_cross_after_fees_is_zero() -> None:
    a = book(bids=[(9990, ONE)], asks=[(10000, ONE)])
    b = book(bids=[(10015, ONE)], asks=[(10100, ONE)])
    # 100.15 * 0.999 = 100.04985 < 100.00 * 1.001 = 100.1
    assert price_cross(a, b, 0.001, 0.001).size_units == 0
    assert price_cross(a, b, 0.0, 0.0).size == pytest.approx(1.0)


def test_price_cross_mixed_size_decimals_use_the_finer_scale() -> None:
    a = book(bids=[(9990, 10)], asks=[(10000, 12345)], size_decimals=4)  # 1.2345
    b = book(bids=[(10100, 10**8)], asks=[(10200, 10**8)], size_decimals=8)  # 1.0
    quote = price_cross(a, b, 0.0, 0.0)
    assert quote.size_decimals == 8
    assert quote.size_units == 10**8


def test_price_cross_slippage_widens_limits_and_prices_the_worst_case(venues) -> None:
    cheap, rich = venues
    quote = price_cross(cheap, rich, 0.001, 0.001, buy_slippage_bps=10, sell_slippage_bps=10)
    assert quote.buy_limit == 10010 + 10  # 100.10 + 10 bps = 100.2001 -> whole ticks: 100.20
    assert quote.sell_limit == 10050 - 10  # 100.50 - 10 bps = 100.3995 -> 100.40
    assert quote.limit_profit == pytest.approx(1.5 * (100.40 * 0.999 - 100.20 * 1.001))


def test_limit_price_never_exceeds_allowance() -> None:
    assert limit_price(6173763, True, 2.5) == 6173763 + 1543  # 1543.44 -> 1543 ticks
    assert limit_price(6173763, False, 2.5) == 6173763 - 1543
    assert limit_price(100, True, 0.0) == 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"buy_fee": -0.1}, "fees"),
        ({"sell_fee": 1.0}, "fees"),
        ({"max_base": -1.0}, "max_base"),
        ({"max_quote": math.nan}, "max_quote"),
        ({"lot": 0.123456789}, "lot"),
        ({"buy_slippage_bps": -1.0}, "slippage"),
    ],
)
def test_price_cross_bad_arguments_raise_book_error(venues, kwargs, message) -> None:
    cheap, rich = venues
    arguments = {"buy_fee": 0.001, "sell_fee": 0.001, **kwargs}
    with pytest.raises(BookError, match=message):
        price_cross(cheap, rich, **arguments)
