"""The matching engine's order semantics, hand-picked: each case says what a venue must do."""

from __future__ import annotations

import pytest

from arbcore.errors import InsufficientFunds
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import FEES, HOUSE, Ledger, asset_decimals
from arbcore.sim.engine import MatchingEngine, Rejection, fee_amount, fee_rate
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

# prices and sizes held finer than the tick and the lot, so off-grid orders can be expressed
BTC_USDT = Instrument(
    venue="sim", symbol="BTC/USDT", native_symbol="BTCUSDT", base="BTC", quote="USDT",
    price_decimals=4, size_decimals=8, tick_size=100, lot_size=1000, min_qty=1000,
    min_notional=50_000, maker_fee=0.001, taker_fee=0.002,
)  # fmt: skip
BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET


def price(text: str) -> int:
    return to_raw(text, BTC_USDT.price_decimals)


def size(text: str) -> int:
    return to_raw(text, BTC_USDT.size_decimals)


@pytest.fixture
def engine() -> MatchingEngine:
    ledger = Ledger("sim", asset_decimals([BTC_USDT]))
    ledger.deposit_text("alice", "USDT", "100000")
    ledger.deposit_text("alice", "BTC", "2")
    ledger.deposit_text("bob", "USDT", "100000")
    ledger.deposit_text("bob", "BTC", "2")
    return MatchingEngine(BTC_USDT, ledger, clock=lambda: 1_000_000)


def asks(engine: MatchingEngine, *levels: tuple[str, str]) -> None:
    engine.set_house_levels({(ASK, price(p)): size(s) for p, s in levels})


def test_engine_limit_buy_walks_asks_in_price_then_time_order(engine: MatchingEngine) -> None:
    engine.place("bob", SELL, LIMIT, size("0.1"), price_raw=price("100.02"))
    asks(engine, ("100.01", "0.1"), ("100.02", "0.1"))  # the house joins 100.02 behind bob
    placed = engine.place("alice", BUY, LIMIT, size("0.25"), price_raw=price("100.02"))
    assert placed.order is not None
    assert [(t.price_raw, t.size_raw, t.maker_account) for t in placed.trades] == [
        (price("100.01"), size("0.1"), HOUSE),
        (price("100.02"), size("0.1"), "bob"),
        (price("100.02"), size("0.05"), HOUSE),
    ]
    assert placed.order.status is OrderStatus.FILLED
    assert engine.levels(ASK) == [(price("100.02"), size("0.05"))]


def test_engine_gtc_remainder_rests_as_partially_filled(engine: MatchingEngine) -> None:
    asks(engine, ("100.00", "0.1"))
    placed = engine.place("alice", BUY, LIMIT, size("0.3"), price_raw=price("100.00"))
    assert placed.order is not None
    assert placed.order.status is OrderStatus.PARTIALLY_FILLED
    assert placed.order.filled_raw == size("0.1")
    assert engine.levels(BID) == [(price("100.00"), size("0.2"))]
    assert engine.levels(ASK) == []


def test_engine_ioc_remainder_expires_and_unlocks(engine: MatchingEngine) -> None:
    asks(engine, ("100.00", "0.1"))
    placed = engine.place("alice", BUY, LIMIT, size("0.3"), price_raw=price("100.00"),
                          time_in_force=TimeInForce.IOC)  # fmt: skip
    assert placed.order is not None
    assert placed.order.status is OrderStatus.EXPIRED
    assert placed.order.filled_raw == size("0.1")
    assert engine.levels(BID) == []
    assert engine.ledger.balance("alice", "USDT").locked == 0


def test_engine_post_only_that_would_cross_is_rejected_and_nothing_exists(
    engine: MatchingEngine,
) -> None:
    asks(engine, ("100.00", "0.1"))
    placed = engine.place("alice", BUY, LIMIT, size("0.1"), price_raw=price("100.00"),
                          time_in_force=TimeInForce.POST_ONLY, client_order_id="p1")  # fmt: skip
    assert placed.rejection is Rejection.WOULD_TAKE
    assert placed.order is None
    assert engine.order("alice", client_order_id="p1") is None
    assert engine.ledger.balance("alice", "USDT").locked == 0
    resting = engine.place("alice", BUY, LIMIT, size("0.1"), price_raw=price("99.99"),
                           time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
    assert resting.order is not None
    assert resting.order.status is OrderStatus.OPEN
    assert resting.trades == ()


def test_engine_market_order_takes_what_there_is_and_expires_the_rest(
    engine: MatchingEngine,
) -> None:
    asks(engine, ("100.00", "0.1"), ("101.00", "0.1"))
    placed = engine.place("alice", BUY, MARKET, size("0.5"))
    assert placed.order is not None
    assert placed.order.status is OrderStatus.EXPIRED
    assert placed.order.filled_raw == size("0.2")
    spent = engine.quote_amount(price("100.00"), size("0.1"))
    spent += engine.quote_amount(price("101.00"), size("0.1"))
    assert placed.order.quote_raw == spent  # 20.1 USDT, exact at the ledger's USDT decimals
    assert engine.ledger.balance("alice", "USDT").locked == 0


def test_engine_client_order_id_dedup_returns_the_existing_order(engine: MatchingEngine) -> None:
    asks(engine, ("100.00", "0.1"))
    first = engine.place("alice", BUY, LIMIT, size("0.1"), price_raw=price("100.00"),
                         client_order_id="retry-me")  # fmt: skip
    again = engine.place("alice", BUY, LIMIT, size("0.1"), price_raw=price("100.00"),
                         client_order_id="retry-me")  # fmt: skip
    assert first.order is not None
    assert again.order is not None
    assert again.duplicate
    assert again.order.order_id == first.order.order_id
    assert again.trades == ()
    assert len(first.order.trades) == 1
    assert engine.ledger.balance("alice", "BTC").free == size("2") + size("0.1") - fee_amount(
        size("0.1"), fee_rate(0.002)
    )
    other = engine.place("bob", BUY, LIMIT, size("0.1"), price_raw=price("90.00"),
                         client_order_id="retry-me")  # fmt: skip
    assert other.order is not None
    assert not other.duplicate


def test_engine_self_trade_expires_the_resting_order(engine: MatchingEngine) -> None:
    mine = engine.place("alice", SELL, LIMIT, size("0.1"), price_raw=price("100.00"))
    bobs = engine.place("bob", SELL, LIMIT, size("0.1"), price_raw=price("100.00"))
    taker = engine.place("alice", BUY, LIMIT, size("0.1"), price_raw=price("100.00"))
    assert mine.order is not None
    assert bobs.order is not None
    assert taker.order is not None
    assert [t.maker_account for t in taker.trades] == ["bob"]
    expired = engine.order("alice", order_id=mine.order.order_id)
    assert expired is not None
    assert expired.status is OrderStatus.EXPIRED
    assert engine.ledger.balance("alice", "BTC").locked == 0


@pytest.mark.parametrize(
    ("side", "quantity", "limit", "rejection"),
    [
        (BUY, "0.000015", "100.00", Rejection.LOT_SIZE),  # off the lot grid
        (BUY, "0", "100.00", Rejection.LOT_SIZE),
        (BUY, "0.1", "100.005", Rejection.PRICE_FILTER),  # off the tick grid
        (BUY, "0.01", "100.00", Rejection.MIN_NOTIONAL),  # 1 USDT < 5
        (SELL, "10", "100.00", Rejection.INSUFFICIENT_FUNDS),  # alice holds 2 BTC
        (BUY, "1001", "100.00", Rejection.INSUFFICIENT_FUNDS),  # 100,100 USDT > 100,000
    ],
)
def test_engine_refuses_orders_that_break_the_rules(
    engine: MatchingEngine, side: OrderSide, quantity: str, limit: str, rejection: Rejection
) -> None:
    placed = engine.place("alice", side, LIMIT, size(quantity), price_raw=price(limit))
    assert placed.rejection is rejection
    assert placed.order is None
    assert placed.reason


def test_ledger_lock_refuses_more_than_is_free() -> None:
    ledger = Ledger("sim", {"USDT": 2})
    ledger.deposit_text("alice", "USDT", "1.50")
    with pytest.raises(InsufficientFunds):
        ledger.lock("alice", "USDT", 151)
    ledger.lock("alice", "USDT", 150)
    assert ledger.balance("alice", "USDT").locked_text == "1.50"


def test_engine_fees_go_to_the_fee_account_rounded_up(engine: MatchingEngine) -> None:
    engine.place("bob", SELL, LIMIT, size("0.07777"), price_raw=price("100.01"))
    taker = engine.place("alice", BUY, LIMIT, size("0.07777"), price_raw=price("100.01"))
    assert taker.order is not None
    trade = taker.trades[0]
    base = engine.base_amount(size("0.07777"))
    quote = engine.quote_amount(price("100.01"), size("0.07777"))
    assert trade.taker_fee_raw == -(-base * 2 // 1000)  # buyer pays in BTC, 0.2 %
    assert trade.maker_fee_raw == -(-quote // 1000)  # seller pays in USDT, 0.1 %
    assert engine.ledger.balance(FEES, "BTC").free == trade.taker_fee_raw
    assert engine.ledger.balance(FEES, "USDT").free == trade.maker_fee_raw


def test_engine_update_ids_span_each_drained_batch(engine: MatchingEngine) -> None:
    asks(engine, ("100.00", "0.1"))
    engine.place("alice", BUY, LIMIT, size("0.1"), price_raw=price("99.00"))
    first = engine.drain()
    assert first is not None
    assert (first.first_id, first.last_id) == (1, 2)
    assert engine.drain() is None
    engine.place("alice", BUY, LIMIT, size("0.1"), price_raw=price("100.00"))  # takes the ask
    second = engine.drain()
    assert second is not None
    assert (second.first_id, second.last_id) == (3, 3)
    assert second.levels == ((ASK, price("100.00"), 0),)


def test_engine_house_levels_trade_through_resting_orders(engine: MatchingEngine) -> None:
    resting = engine.place("alice", BUY, LIMIT, size("0.1"), price_raw=price("100.00"))
    trades = engine.set_house_levels({(ASK, price("99.50")): size("0.3")})
    assert [(t.price_raw, t.maker_account, t.taker_account) for t in trades] == [
        (price("100.00"), "alice", HOUSE)
    ]
    assert resting.order is not None
    filled = engine.order("alice", order_id=resting.order.order_id)
    assert filled is not None
    assert filled.status is OrderStatus.FILLED
    assert engine.levels(ASK) == [(price("99.50"), size("0.2"))]


def test_engine_fok_that_can_fill_fills_whole_across_levels(engine: MatchingEngine) -> None:
    asks(engine, ("100.00", "0.1"), ("100.01", "0.2"))
    placed = engine.place("alice", BUY, LIMIT, size("0.25"), price_raw=price("100.01"),
                          time_in_force=TimeInForce.FOK)  # fmt: skip
    assert placed.order is not None
    assert (placed.order.status, placed.order.filled_raw) == (OrderStatus.FILLED, size("0.25"))
    assert [t.price_raw for t in placed.trades] == [price("100.00"), price("100.01")]
    assert engine.levels(ASK) == [(price("100.01"), size("0.05"))]
    assert engine.levels(BID) == []  # never rests
    assert engine.ledger.balance("alice", "USDT").locked == 0  # the price improvement returned


def test_engine_fok_that_cannot_fill_whole_expires_untouched(engine: MatchingEngine) -> None:
    asks(engine, ("100.00", "0.1"), ("100.02", "0.5"))  # 0.1 within the limit: not enough
    mine = engine.place("alice", SELL, LIMIT, size("0.1"), price_raw=price("100.00"))
    assert mine.order is not None
    before = {a: engine.ledger.balance("alice", a) for a in ("BTC", "USDT")}
    levels = engine.levels(ASK)
    placed = engine.place("alice", BUY, LIMIT, size("0.2"), price_raw=price("100.01"),
                          time_in_force=TimeInForce.FOK, client_order_id="k1")  # fmt: skip
    assert placed.order is not None
    assert (placed.order.status, placed.order.filled_raw) == (OrderStatus.EXPIRED, 0)
    assert placed.trades == ()
    assert {a: engine.ledger.balance("alice", a) for a in ("BTC", "USDT")} == before
    assert engine.levels(ASK) == levels  # its own resting ask was not expired either
    resting = engine.order("alice", order_id=mine.order.order_id)
    assert resting is not None
    assert resting.status is OrderStatus.OPEN
    assert engine.order("alice", client_order_id="k1") == placed.order  # it exists, expired


def test_engine_fok_under_the_partial_fill_cap_expires_whole(engine: MatchingEngine) -> None:
    asks(engine, ("100.00", "1"))
    capped = engine.place("alice", BUY, LIMIT, size("0.2"), price_raw=price("100.00"),
                          time_in_force=TimeInForce.FOK, fill_limit_raw=size("0.1"))  # fmt: skip
    assert capped.order is not None
    assert (capped.order.status, capped.order.filled_raw) == (OrderStatus.EXPIRED, 0)
    assert engine.levels(ASK) == [(price("100.00"), size("1"))]
    within = engine.place("alice", BUY, LIMIT, size("0.2"), price_raw=price("100.00"),
                          time_in_force=TimeInForce.FOK, fill_limit_raw=size("0.2"))  # fmt: skip
    assert within.order is not None
    assert within.order.status is OrderStatus.FILLED


def test_engine_fok_with_more_than_it_can_pay_is_refused(engine: MatchingEngine) -> None:
    asks(engine, ("100.00", "0.1"))  # it would be killed, but the venue checks funds first
    placed = engine.place("alice", SELL, LIMIT, size("3"), price_raw=price("100.00"),
                          time_in_force=TimeInForce.FOK)  # fmt: skip
    assert placed.rejection is Rejection.INSUFFICIENT_FUNDS
    assert placed.order is None
