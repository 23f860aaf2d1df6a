"""Risk: every limit trips exactly at its threshold; HALTED stops new orders at once."""

from __future__ import annotations

import pytest

from arbcore.config.schema import RiskLimits
from arbcore.risk import ProposedLeg, ProposedTrade, RiskEngine, TradingState

PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "USDT": 1.0}
LOOSE = {"max_position_usd": 1e9, "max_exposure_per_exchange_usd": 1e9,
         "max_open_orders": 1_000, "max_orders_per_s": 1_000.0}  # fmt: skip


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def _engine(**limits: float) -> RiskEngine:
    return RiskEngine(RiskLimits(**{**LOOSE, **limits}), price_usd=PRICES.get, clock=Clock())  # type: ignore[arg-type]


def _buy(base_qty: float, base: str = "BTC", *, age_ms: float = 1.0, legs: int = 1,
         venue: str = "binance") -> ProposedTrade:  # fmt: skip
    leg = ProposedLeg(venue=venue, base=base, quote="USDT", buy=True, base_qty=base_qty,
                      notional_usd=base_qty * PRICES[base], book_age_ms=age_ms)  # fmt: skip
    return ProposedTrade(legs=(leg,) * legs, expected_profit_usd=1.0, trace_id="t1")


def _at_and_over(rule: str) -> tuple[RiskEngine, ProposedTrade, ProposedTrade]:
    """An engine, a trade that lands exactly on ``rule``'s limit, and one just over it."""
    if rule == "book_freshness":
        return (
            _engine(min_book_freshness_ms=500),
            _buy(0.01, age_ms=500),
            _buy(0.01, age_ms=500.001),
        )
    if rule == "max_open_orders":
        engine = _engine(max_open_orders=4)
        engine.open_orders = 2
        return engine, _buy(0.01, legs=2), _buy(0.01, legs=3)
    if rule == "max_orders_per_s":
        engine = _engine(max_orders_per_s=4)
        engine.on_order_sent()
        engine.on_order_sent()
        return engine, _buy(0.01, legs=2), _buy(0.01, legs=3)
    if rule == "max_position_usd":  # 0.25 BTC at 40,000 = 10,000 USD exactly
        return _engine(max_position_usd=10_000), _buy(0.25), _buy(0.2500001)
    if rule == "max_exposure_per_exchange_usd":  # 7,500 in BTC + 7,500 USDT owed = 15,000
        return _engine(max_exposure_per_exchange_usd=15_000), _buy(0.1875), _buy(0.1875001)
    if rule == "max_correlation_risk":  # holding ETH, buying BTC: correlation 0.8 at a 0.8 limit
        engine = _engine(max_correlation_risk=0.8)
        engine.correlations = {("BTC", "ETH"): 0.8}
        engine.on_position("binance", "ETH", 1.0)
        return engine, _buy(0.01), _buy(0.01, base="BTC", venue="okx")
    raise AssertionError(rule)


RULES = ["book_freshness", "max_open_orders", "max_orders_per_s", "max_position_usd",
         "max_exposure_per_exchange_usd", "max_correlation_risk"]  # fmt: skip


@pytest.mark.parametrize("rule", RULES)
def test_each_limit_allows_its_threshold_and_refuses_just_above(rule: str) -> None:
    engine, at_limit, over_limit = _at_and_over(rule)
    assert engine.check(at_limit).approved
    if rule == "max_correlation_risk":  # the same holdings, a hair more correlated
        engine.correlations = {("BTC", "ETH"): 0.8000001}
    decision = engine.check(over_limit)
    assert not decision.approved
    assert decision.rule == rule
    assert decision.value is not None
    assert decision.limit is not None
    assert decision.value > decision.limit
    assert decision.trace_id == "t1"
    assert engine.refusals[rule] == 1


def test_the_daily_loss_limit_halts_exactly_when_reached() -> None:
    engine = _engine(max_daily_loss_usd=500)
    engine.on_realized_pnl(-499.5)
    assert engine.state.value == "active"
    engine.on_realized_pnl(-0.5)
    assert engine.state is TradingState.HALTED
    assert engine.check(_buy(0.01)).rule == "trading_halted"


def test_a_stop_loss_reduces_and_then_only_shrinking_trades_pass() -> None:
    engine = _engine(stop_loss_pct=2.0)
    price_before = PRICES["BTC"]
    try:
        engine.on_position("binance", "BTC", 0.5, average_cost_usd=40_000.0)
        PRICES["BTC"] = 39_200.01  # 1.99997 % below cost
        engine.on_position("binance", "BTC", 0.5)
        assert engine.state_reason == ""  # still active
        PRICES["BTC"] = 39_200.0  # exactly 2 % below cost
        engine.on_position("binance", "BTC", 0.5)
        assert engine.state is TradingState.REDUCING
        assert engine.check(_buy(0.01)).rule == "reducing_only"
        sell = ProposedLeg(venue="binance", base="BTC", quote="USDT", buy=False, base_qty=0.1,
                           notional_usd=3_920.0, book_age_ms=1.0)  # fmt: skip
        assert engine.check(ProposedTrade(legs=(sell,), expected_profit_usd=0.0)).approved
    finally:
        PRICES["BTC"] = price_before


def test_the_kill_switch_stops_the_very_next_order() -> None:
    states: list[TradingState] = []
    engine = RiskEngine(RiskLimits(), price_usd=PRICES.get,
                        on_state=lambda state, reason: states.append(state))  # fmt: skip
    assert engine.check(_buy(0.01)).approved
    engine.kill("operator pressed stop")
    decision = engine.check(_buy(0.01))
    assert (decision.approved, decision.rule, decision.detail) == (
        False, "trading_halted", "operator pressed stop")  # fmt: skip
    engine.resume()
    assert engine.check(_buy(0.01)).approved
    assert states == [TradingState.HALTED, TradingState.ACTIVE]
