"""The orchestrator: one trade per piece of liquidity, no double spending, cool-off, ranking."""

from __future__ import annotations

from collections import Counter, defaultdict

from arbcore.model import Opportunity, OpportunityLeg, OrderSide
from arbcore.strategies.orchestrator import Orchestrator, key, markets_of


class Clock:
    now = 0

    def __call__(self) -> int:
        return self.now


def _opportunity(buy: str = "a", sell: str = "b", size: float = 1.0, profit: float = 1.0,
                 symbol: str = "BTC/USDT") -> Opportunity:  # fmt: skip
    legs = (OpportunityLeg(venue=buy, symbol=symbol, side=OrderSide.BUY, price=100.0, size=size),
            OpportunityLeg(venue=sell, symbol=symbol, side=OrderSide.SELL, price=101.0,
                           size=size))  # fmt: skip
    return Opportunity(kind="cross_exchange", venue=f"{buy}->{sell}", legs=legs, rate=1.01,
                       profit_bps=10.0, size=size, expected_profit=profit, detected_at_ns=0,
                       asset="USDT", expected_profit_usd=profit)  # fmt: skip


BALANCES = {("a", "USDT"): 150.0, ("b", "BTC"): 5.0, ("c", "USDT"): 1e6, ("c", "BTC"): 5.0}


def _orchestrator(clock: Clock) -> Orchestrator:
    def balance(venue: str, asset: str) -> float:
        return BALANCES.get((venue, asset), 0.0)

    return Orchestrator(cool_off_ms=250, clock_ns=clock, balance_of=balance)


def test_liquidity_in_flight_is_not_offered_twice_and_is_freed_after() -> None:
    clock = Clock()
    orchestrator = _orchestrator(clock)
    ticket = orchestrator.admit(_opportunity())
    assert ticket is not None
    assert orchestrator.admit(_opportunity(buy="c", sell="b")) is None  # b's market is busy
    assert orchestrator.refused["liquidity_in_use"] == 1
    orchestrator.finish(ticket)
    clock.now += 1
    assert orchestrator.admit(_opportunity(buy="c", sell="b")) is not None


def test_balances_are_reserved_so_two_trades_never_spend_the_same_money() -> None:
    clock = Clock()
    orchestrator = _orchestrator(clock)
    first = orchestrator.admit(_opportunity(size=1.0, symbol="BTC/USDT"))  # 100 of a's 150 USDT
    assert first is not None
    assert orchestrator.available("a", "USDT") == 50.0
    other = _opportunity(size=0.6, symbol="SOL/USDT")
    assert orchestrator.admit(other) is None
    assert orchestrator.refused["balance_reserved"] == 1
    orchestrator.finish(first)
    assert orchestrator.available("a", "USDT") == 150.0


def test_the_same_opportunity_waits_out_its_cool_off() -> None:
    clock = Clock()
    orchestrator = _orchestrator(clock)
    ticket = orchestrator.admit(_opportunity())
    assert ticket is not None
    orchestrator.finish(ticket)
    clock.now += 249_000_000
    assert orchestrator.admit(_opportunity()) is None
    assert orchestrator.refused["cool_off"] == 1
    clock.now += 1_000_000
    assert orchestrator.admit(_opportunity()) is not None


def test_ranking_puts_the_most_expected_usd_first() -> None:
    orchestrator = _orchestrator(Clock())
    ranked = orchestrator.rank([_opportunity(profit=1.0), _opportunity(profit=3.0),
                                _opportunity(profit=2.0)])  # fmt: skip
    assert [o.expected_profit for o in ranked] == [3.0, 2.0, 1.0]


def test_a_strategys_pre_check_refuses_as_admit_would_and_counts_in_its_tally() -> None:
    clock = Clock()
    orchestrator = _orchestrator(clock)
    counts, per_venue = Counter[str](), defaultdict[tuple[str, str], int](int)
    check = orchestrator.pre_check(("cross_exchange", counts, per_venue))
    legs = (("a", "BTC/USDT", OrderSide.BUY), ("b", "BTC/USDT", OrderSide.SELL))
    opportunity_key, markets = key("cross_exchange", "a->b", legs), markets_of(legs)
    assert not check(opportunity_key, markets)  # nothing taken yet
    ticket = orchestrator.admit(_opportunity())
    assert ticket is not None
    assert check(opportunity_key, markets)  # cooling off now
    assert orchestrator.refused["cool_off"] == 1
    assert orchestrator.offered == 2
    assert counts == {"cross_exchange": 1}
    assert per_venue == {("cross_exchange", "a->b"): 1}
    other = (("c", "BTC/USDT", OrderSide.BUY), ("b", "BTC/USDT", OrderSide.SELL))
    assert check(key("cross_exchange", "c->b", other), markets_of(other))  # b's market busy
    assert orchestrator.refused["liquidity_in_use"] == 1
    assert per_venue[("cross_exchange", "c->b")] == 1
    assert counts["cross_exchange"] == 2
    assert orchestrator.blocked(opportunity_key, markets)  # the plain check: counts its own only
    assert orchestrator.refused["cool_off"] == 2
    assert counts["cross_exchange"] == 2


def test_a_second_admit_of_the_same_legs_reserves_its_own_amounts() -> None:
    clock = Clock()
    orchestrator = _orchestrator(clock)
    first = orchestrator.admit(_opportunity(size=0.5))  # 50 of a's USDT, 0.5 of b's BTC
    assert first is not None
    orchestrator.finish(first)
    clock.now += 10**9  # past the cool-off: the same signature, planned once, priced anew
    second = orchestrator.admit(_opportunity(size=1.2))
    assert second is not None
    assert second.reserved == (("a", "USDT", 120.0), ("b", "BTC", 1.2))
    assert orchestrator.available("a", "USDT") == 30.0
    assert orchestrator.available("b", "BTC") == 3.8
