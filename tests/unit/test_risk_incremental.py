"""Risk keeps its exposure incrementally: it must always equal a from-scratch recomputation.

After any sequence of reported positions (fills and trades as execution reports them), the
per-venue and per-asset aggregates equal what the positions give, and every check decides what
the rules decide when recomputed over every position (the pre-incremental algorithm, kept
here as the oracle).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from arbcore.config.schema import RiskLimits
from arbcore.risk import ProposedLeg, ProposedTrade, RiskEngine, TradingState
from arbcore.risk.engine import CORRELATION_EPS, STABLE

PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 150.0, "USDT": 1.0, "USDC": 1.0}
VENUES = ("binance", "okx", "kraken")
ASSETS = tuple(PRICES)
LIMITS = RiskLimits(max_position_usd=20_000, max_exposure_per_exchange_usd=50_000,
                    max_correlation_risk=0.5, max_open_orders=1_000,
                    max_orders_per_s=1_000)  # fmt: skip
CORRELATIONS = {("BTC", "ETH"): 0.9, ("ETH", "SOL"): 0.6, ("BTC", "SOL"): 0.2}

positions = st.lists(
    st.tuples(
        st.sampled_from(VENUES),
        st.sampled_from(ASSETS),
        st.floats(-20.0, 20.0, allow_nan=False).map(lambda q: round(q, 4)),
    ),
    max_size=30,
)
legs = st.lists(
    st.tuples(
        st.sampled_from(VENUES),
        st.sampled_from(("BTC", "ETH", "SOL")),
        st.sampled_from(("USDT", "USDC")),
        st.booleans(),
        st.floats(0.0001, 10.0).map(lambda q: round(q, 4)),
    ),
    min_size=1,
    max_size=3,
)


def _usd(asset: str) -> float:
    return PRICES[asset]


def _oracle(engine: RiskEngine, trade: ProposedTrade) -> str | None:
    """The rule the old, recompute-everything check refused by (state ACTIVE), or None."""
    limits, held = engine.limits, dict(engine.positions)
    after = dict(held)
    for leg in trade.legs:
        sign = 1.0 if leg.buy else -1.0
        after[(leg.venue, leg.base)] = after.get((leg.venue, leg.base), 0.0) + sign * leg.base_qty
        after[(leg.venue, leg.quote)] = (after.get((leg.venue, leg.quote), 0.0)
                                         - sign * leg.notional_usd / _usd(leg.quote))  # fmt: skip
    for (venue, asset), quantity in after.items():
        value = abs(quantity) * _usd(asset)
        if value > limits.max_position_usd and value > abs(held.get((venue, asset), 0.0)) * _usd(
            asset
        ):
            return "max_position_usd"

    def venue_usd(book: Mapping[tuple[str, str], float], venue: str) -> float:
        return sum(abs(q) * _usd(a) for (v, a), q in book.items() if v == venue)

    for venue in sorted({leg.venue for leg in trade.legs}):
        value = venue_usd(after, venue)
        if value > limits.max_exposure_per_exchange_usd and value > venue_usd(held, venue):
            return "max_exposure_per_exchange_usd"

    def correlation(book: Mapping[tuple[str, str], float]) -> float:
        exposure: dict[str, float] = {}
        for (_, asset), quantity in book.items():
            if asset not in STABLE:
                exposure[asset] = exposure.get(asset, 0.0) + abs(quantity) * _usd(asset)
        assets = sorted(a for a, v in exposure.items() if v > 0)
        weighted = total = 0.0
        for i, first in enumerate(assets):
            for second in assets[i + 1 :]:
                rho = CORRELATIONS.get((first, second), CORRELATIONS.get((second, first)))
                if rho is not None:
                    weighted += exposure[first] * exposure[second] * rho
                    total += exposure[first] * exposure[second]
        return weighted / total if total else 0.0

    value = correlation(after)
    if value > limits.max_correlation_risk and value > correlation(held) + CORRELATION_EPS:
        return "max_correlation_risk"
    return None


def _engine(reports: list[tuple[str, str, float]]) -> RiskEngine:
    engine = RiskEngine(LIMITS, price_usd=_usd, clock=lambda: 0.0)
    engine.correlations = CORRELATIONS
    for venue, asset, quantity in reports:
        engine.on_position(venue, asset, quantity)
    return engine


@given(positions)
def test_the_aggregates_equal_a_recomputation_after_any_reports(
    reports: list[tuple[str, str, float]],
) -> None:
    engine = _engine(reports)
    held = dict(engine.positions)
    assert held == {(v, a): q for v, a, q in reports} | held  # the last report of each wins
    for venue in VENUES:
        assert engine._by_venue.get(venue, {}) == {a: q for (v, a), q in held.items() if v == venue}
        assert engine._venue_usd(venue) == sum(
            abs(q) * _usd(a) for (v, a), q in held.items() if v == venue
        )
    for asset in ASSETS:
        mine = [(v, q) for (v, a), q in held.items() if a == asset]
        assert engine._by_asset.get(asset, {}) == dict(mine)
        assert engine._net.get(asset, 0.0) == sum(q for _, q in mine)
        assert engine._gross_qty.get(asset, 0.0) == sum(abs(q) for _, q in mine)


@given(positions, legs)
def test_every_check_decides_what_a_full_recomputation_decides(
    reports: list[tuple[str, str, float]], trade_legs: list[tuple[str, str, str, bool, float]]
) -> None:
    engine = _engine(reports)
    if engine.state is not TradingState.ACTIVE:  # no cost basis is reported: never REDUCING
        raise AssertionError(engine.state_reason)
    trade = ProposedTrade(legs=tuple(
        ProposedLeg(venue=v, base=b, quote=q, buy=buy, base_qty=qty,
                    notional_usd=qty * _usd(b), book_age_ms=1.0)
        for v, b, q, buy, qty in trade_legs), expected_profit_usd=1.0)  # fmt: skip
    decision = engine.check(trade)
    assert decision.rule == _oracle(engine, trade)
    assert decision.approved is (decision.rule is None)
    if decision.value is not None and decision.limit is not None and not decision.approved:
        assert decision.value > decision.limit
        assert math.isfinite(decision.value)
