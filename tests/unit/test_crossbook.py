"""The compiled touch test (arbcore_ext.crossbook) against the strategy's Python test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.strategies.cross_exchange import top_cross
from arbcore_ext.book import L2Book
from arbcore_ext.crossbook import CrossBook, RouteSpec

Top = tuple[int | None, int | None] | None  # None: the market's touch is unknown


def _reference(routes: list[RouteSpec], by_market: list[list[int]], tops: list[Top],
               market: int, min_bps: float) -> tuple[tuple[int, ...], int]:  # fmt: skip
    """The routes of ``market`` that cross, and how many were tested, in plain Python."""
    found, tested = [], 0
    for route_id in by_market[market]:
        buy, sell, ask_factor, bid_factor, ask_unit, always = routes[route_id]
        other = sell if buy == market else buy
        if tops[other] is None:
            continue
        tested += 1
        ask, bid = (tops[buy] or (None, None))[1], (tops[sell] or (None, None))[0]
        if ask is None or bid is None:
            continue
        if always or top_cross(ask, bid, ask_factor, bid_factor, ask_unit, min_bps) is not None:
            found.append(route_id)
    return tuple(found), tested


def _world(n: int, fees: list[float], decimals: list[int], always: list[bool]
           ) -> tuple[list[RouteSpec], list[list[int]]]:  # fmt: skip
    """Every ordered pair of ``n`` markets as a route, listed on both of its markets."""
    routes: list[RouteSpec] = []
    by_market: list[list[int]] = [[] for _ in range(n)]
    for buy in range(n):
        for sell in range(n):
            if buy == sell:
                continue
            routes.append((buy, sell, (1 + fees[buy]) / 10 ** decimals[buy],
                           (1 - fees[sell]) / 10 ** decimals[sell], 1 / 10 ** decimals[buy],
                           always[len(routes) % len(always)]))  # fmt: skip
            by_market[buy].append(len(routes) - 1)
            by_market[sell].append(len(routes) - 1)
    return routes, by_market


prices = st.one_of(st.none(), st.integers(9_900, 10_100))  # near each other: crosses and ties


@given(
    n=st.integers(2, 5),
    fees=st.lists(st.sampled_from([0.0, 0.0002, 0.001, 0.0026]), min_size=5, max_size=5),
    decimals=st.lists(st.integers(0, 3), min_size=5, max_size=5),
    always=st.lists(st.booleans(), min_size=1, max_size=3),
    min_bps=st.sampled_from([0.0, 0.5, 2.0, 25.0]),
    tops=st.lists(st.one_of(st.none(), st.tuples(prices, prices)), min_size=5, max_size=5),
)
def test_the_kernel_finds_exactly_the_routes_the_python_test_finds(
    n: int, fees: list[float], decimals: list[int], always: list[bool], min_bps: float,
    tops: list[Top],
) -> None:  # fmt: skip
    routes, by_market = _world(n, fees, decimals, always)
    kernel = CrossBook(n, routes, by_market, min_bps)
    for market, top in enumerate(tops[:n]):
        if top is not None:
            kernel.set_top(market, *top)
    tested = 0
    for market in range(n):
        expected, count = _reference(routes, by_market, tops[:n], market, min_bps)
        assert kernel.crossing(market) == expected
        tested += count
    assert kernel.checked == tested


def _book(bid: int, ask: int) -> L2Book:
    book = L2Book(2, 4)
    book.apply_snapshot(*(np.array([v], dtype=np.int64) for v in (bid, 10_000, ask, 10_000)))
    return book


def test_update_reads_the_touch_from_the_book_and_forget_stops_testing() -> None:
    routes, by_market = _world(2, [0.001, 0.001], [2, 2], [False])  # route 0: buy 0, sell 1
    kernel = CrossBook(2, routes, by_market, 1.0)
    assert kernel.update(0, _book(9_990, 10_000)) == ()  # market 1 unknown: nothing tested
    assert kernel.checked == 0
    assert not kernel.known(1)
    kernel.load(1, _book(10_050, 10_100))  # bids 100.50 over a 100.00 ask: 30 bps after fees
    assert kernel.known(1)
    assert kernel.update(0, _book(9_990, 10_000)) == (0,)
    assert kernel.update(0, _book(9_990, 10_040)) == ()  # 100.40 ask: 0.1 % - 0.2 % fees < 0
    assert kernel.checked == 4
    kernel.set_top(0, None, 10_000)  # no bids on market 0: only route 0 can cross
    assert kernel.crossing(1) == (0,)
    kernel.forget(0)
    assert kernel.crossing(1) == ()


def test_more_crossings_than_the_stack_buffer_are_all_returned() -> None:
    n = 34  # market 0 is on 66 routes, more than the kernel's 64-slot buffer
    routes, by_market = _world(n, [0.0] * n, [2] * n, [True])
    kernel = CrossBook(n, routes, by_market, 0.0)
    for market in range(n):
        kernel.set_top(market, 9_990, 10_000)
    # "always" routes come back whenever both sides have a price, however many, in order
    assert kernel.crossing(0) == tuple(by_market[0])
    assert len(by_market[0]) == 66


def test_bad_input_is_refused_with_a_clear_error() -> None:
    routes, by_market = _world(2, [0.0, 0.0], [2, 2], [False])
    with pytest.raises(ValueError, match="expected 3"):
        CrossBook(3, routes, by_market, 0.0)
    with pytest.raises(ValueError, match="out of range or equal"):
        CrossBook(2, [(0, 0, 1.0, 1.0, 1.0, False)], [[0], []], 0.0)
    with pytest.raises(ValueError, match="does not trade it"):
        CrossBook(3, [(0, 1, 1.0, 1.0, 1.0, False)], [[0], [0], [0]], 0.0)
    kernel = CrossBook(2, routes, by_market, 0.0)
    with pytest.raises(IndexError, match="out of range"):
        kernel.crossing(2)
    with pytest.raises(ValueError, match="negative"):
        kernel.set_top(0, -1, 5)
