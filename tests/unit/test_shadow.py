"""The shadow venue fills like a taker on the real book, later by its latency, never changing it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import numpy as np
import pytest

from arbcore.errors import InsufficientFunds, OrderNotFound
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import prepare_order
from arbcore.execution import ShadowVenue
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore_ext.book import ASK, L2Book

BTC = Instrument.from_text(venue="binance", native_symbol="BTCUSDT", base="BTC", quote="USDT",
                           tick_size="0.01", lot_size="0.001", min_qty="0.001",
                           min_notional="5", taker_fee=0.001)  # fmt: skip


IOC = TimeInForce.IOC


def _book() -> L2Book:
    book = L2Book(2, 3)  # asks 100.00 x 1, 101.00 x 2, 103.00 x 5; bids 99.00 x 3, 98.00 x 4
    bids = np.array([9_900, 9_800]), np.array([3_000, 4_000])
    asks = np.array([10_000, 10_100, 10_300]), np.array([1_000, 2_000, 5_000])
    book.apply_snapshot(*bids, *asks)
    return book


def _venue(
    book: L2Book, sleep: Callable[[float], object] | None = None, **kw: float
) -> ShadowVenue:
    async def no_wait(_: float) -> None:
        return None

    return ShadowVenue("binance", SymbolMap.of("binance", [BTC]), lambda symbol: book,
                       {"USDT": 1_000.0, "BTC": 2.0}, sleep=sleep or no_wait, **kw)  # type: ignore[arg-type]  # fmt: skip


T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_an_ioc_buy_walks_depth_to_its_limit_and_leaves_the_book_alone() -> None:
    book = _book()
    before = book.top(5)
    venue = _venue(book)
    order = prepare_order(
        BTC, OrderSide.BUY, 4_000, price_raw=10_100, time_in_force=TimeInForce.IOC
    )
    placed = _run(venue.place_order(order))
    assert (placed.status, placed.filled_raw) == (OrderStatus.EXPIRED, 3_000)  # 1 + 2 below 101
    (fill,) = venue.fills
    assert fill.size_raw == 3_000
    assert fill.price_raw == (10_000 * 1_000 + 10_100 * 2_000) // 3_000
    assert fill.fee == pytest.approx(3.0 * 0.001)
    assert fill.fee_asset == "BTC"
    assert venue.balances["USDT"] == pytest.approx(1_000.0 - 302.0)
    assert venue.balances["BTC"] == pytest.approx(2.0 + 3.0 * 0.999)
    assert all(np.array_equal(a, b) for a, b in zip(before, book.top(5), strict=True))


def test_a_market_sell_fills_fully_with_the_fee_in_quote() -> None:
    venue = _venue(_book())
    order = prepare_order(BTC, OrderSide.SELL, 2_000, type=OrderType.MARKET)
    placed = _run(venue.place_order(order))
    assert (placed.status, placed.filled_raw) == (OrderStatus.FILLED, 2_000)
    assert venue.balances["USDT"] == pytest.approx(1_000.0 + 198.0 * 0.999)


def test_the_book_that_fills_is_the_one_latency_later() -> None:
    book = _book()

    async def market_moves_meanwhile(seconds: float) -> None:
        assert seconds == 0.05
        book.set_level(ASK, 10_000, 0)  # the best ask is taken by someone else first

    venue = _venue(book, sleep=market_moves_meanwhile, latency_s=0.05)
    order = prepare_order(
        BTC, OrderSide.BUY, 1_000, price_raw=10_100, time_in_force=TimeInForce.IOC
    )
    _run(venue.place_order(order))
    assert venue.fills[0].price_raw == 10_100


def test_post_only_that_would_cross_is_rejected_and_one_that_rests_stays_open() -> None:
    venue = _venue(_book())
    crossing = prepare_order(BTC, OrderSide.BUY, 1_000, price_raw=10_000,
                             time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
    assert _run(venue.place_order(crossing)).status is OrderStatus.REJECTED
    resting = prepare_order(BTC, OrderSide.BUY, 1_000, price_raw=9_950,
                            time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
    assert _run(venue.place_order(resting)).status is OrderStatus.OPEN
    assert [o.client_order_id for o in _run(venue.fetch_open_orders())] == [resting.client_order_id]
    assert _run(venue.cancel_order(BTC, resting.client_order_id)).status is OrderStatus.CANCELED
    assert venue.fills == []


def test_a_retried_placement_returns_the_same_order() -> None:
    venue = _venue(_book())
    order = prepare_order(
        BTC, OrderSide.BUY, 1_000, price_raw=10_000, time_in_force=TimeInForce.IOC
    )
    first = _run(venue.place_order(order))
    again = _run(venue.place_order(order))
    assert first == again
    assert len(venue.fills) == 1


def test_insufficient_funds_and_unknown_orders_are_the_venue_errors() -> None:
    venue = _venue(_book())
    with pytest.raises(InsufficientFunds, match="USDT"):
        _run(venue.place_order(prepare_order(BTC, OrderSide.BUY, 20_000, price_raw=10_300)))
    with pytest.raises(InsufficientFunds, match="BTC"):
        _run(venue.place_order(prepare_order(BTC, OrderSide.SELL, 3_000, price_raw=9_900)))
    with pytest.raises(OrderNotFound):
        _run(venue.fetch_order(BTC, "nope"))


def test_a_missing_book_rejects_rather_than_guessing() -> None:
    venue = ShadowVenue("binance", SymbolMap.of("binance", [BTC]), lambda symbol: None,
                        {"USDT": 1_000.0})  # fmt: skip
    order = prepare_order(BTC, OrderSide.BUY, 1_000, price_raw=10_000)

    async def main() -> OrderStatus:
        venue.latency_s = 0.0
        return (await venue.place_order(order)).status

    assert _run(main()) is OrderStatus.REJECTED


def test_a_fok_fills_whole_or_expires_with_nothing_traded() -> None:
    venue = _venue(_book())
    short = prepare_order(BTC, OrderSide.BUY, 4_000, price_raw=10_100,
                          time_in_force=TimeInForce.FOK)  # fmt: skip  # 3 BTC up to 101
    killed = _run(venue.place_order(short))
    assert (killed.status, killed.filled_raw) == (OrderStatus.EXPIRED, 0)
    assert (venue.fills, venue.balances) == ([], {"USDT": 1_000.0, "BTC": 2.0})
    whole = prepare_order(BTC, OrderSide.BUY, 3_000, price_raw=10_100,
                          time_in_force=TimeInForce.FOK)  # fmt: skip
    filled = _run(venue.place_order(whole))
    assert (filled.status, filled.filled_raw) == (OrderStatus.FILLED, 3_000)
    assert venue.balances["USDT"] == pytest.approx(1_000.0 - 302.0)


def test_an_order_walking_past_the_first_levels_read_fills_as_the_whole_walk() -> None:
    """The walk reads FIRST_LEVELS levels, and the book again to WALK_LEVELS only when the order
    walks past them: twelve levels of 0.1 taken, as a walk over all of them takes them."""
    book = L2Book(2, 3)
    asks = np.arange(10_000, 10_012), np.full(12, 100)
    book.apply_snapshot(np.array([9_900]), np.array([1_000]), *asks)
    venue = _venue(book)
    order = prepare_order(BTC, OrderSide.BUY, 1_200, price_raw=10_020, time_in_force=IOC)
    placed = _run(venue.place_order(order))
    assert (placed.status, placed.filled_raw) == (OrderStatus.FILLED, 1_200)
    assert placed.filled_quote == pytest.approx(sum(range(10_000, 10_012)) / 1_000)
    (fill,) = venue.fills
    assert fill.price_raw == sum(range(10_000, 10_012)) * 100 // 1_200
