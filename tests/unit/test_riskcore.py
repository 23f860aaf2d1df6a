"""The compiled risk check (``arbcore_ext.riskcore.first_breach``) against the Python reference.

``RiskEngine._first_breach`` is the reference; the compiled check must return the same breach,
the same numbers (bit for bit, the same types) and leave the same side effects (the check's
price reads, the order-time window) for any positions, prices, limits and legs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arbcore.config.schema import RiskLimits
from arbcore.model import Opportunity, OpportunityLeg, OrderSide
from arbcore.risk import RiskEngine, TradingState
from arbcore.risk.engine import Breach, LegTuple
from arbcore_ext.riskcore import BookAges, Exposure, first_breach, leg_tuples
from arbcore_ext.usdprices import UsdPrices

VENUES = ("binance", "okx", "kraken")
ASSETS = ("BTC", "ETH", "SOL", "USDT", "USDC", "XYZ")  # XYZ: no price (valued 0)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 150.0, "USDT": 1.0, "USDC": 1.0001}

quantities = st.floats(-20.0, 20.0, allow_nan=False)
reports = st.lists(st.tuples(st.sampled_from(VENUES), st.sampled_from(ASSETS), quantities),
                   max_size=20)  # fmt: skip
leg = st.tuples(
    st.sampled_from(VENUES),
    st.sampled_from(ASSETS),
    st.sampled_from(ASSETS),
    st.booleans(),
    st.floats(0.0, 10.0),
    st.floats(0.0, 60_000.0),
    st.one_of(st.floats(0.0, 500.0), st.integers(0, 500)),
)
limits = st.builds(
    RiskLimits,
    max_position_usd=st.floats(1.0, 100_000.0),
    max_exposure_per_exchange_usd=st.floats(1.0, 200_000.0),
    max_open_orders=st.integers(3, 12),
    max_orders_per_s=st.floats(3.0, 12.0),
    min_book_freshness_ms=st.floats(100.0, 1_000.0),
) | st.builds(  # only the USD limits can trip: every check reaches the position and venue rules
    RiskLimits,
    max_position_usd=st.floats(1.0, 1e6),
    max_exposure_per_exchange_usd=st.floats(1.0, 1e6),
    max_open_orders=st.just(100),
    max_orders_per_s=st.just(100.0),
    min_book_freshness_ms=st.just(1e9),
)


def _engine(risk_limits: RiskLimits, held: list[tuple[str, str, float]], open_orders: int,
            sent: int, reads: list[str] | None = None) -> RiskEngine:  # fmt: skip
    """An engine with these positions and orders; ``reads``: every price it asks for."""
    now = [100.0]
    asked = reads if reads is not None else []

    def price_usd(asset: str) -> float | None:
        asked.append(asset)
        return PRICES.get(asset)

    engine = RiskEngine(risk_limits, price_usd=price_usd, clock=lambda: now[0])
    for venue, asset, quantity in held:
        engine.on_position(venue, asset, quantity)
    now[0] = 99.5  # half of these orders leave the 1 s window by the check
    for i in range(sent):
        if i == sent // 2:
            now[0] = 100.5
        engine.on_order_sent()
    engine.open_orders = open_orders
    return engine


@given(limits, reports, st.lists(leg, max_size=4), st.integers(0, 6), st.integers(0, 6))
@example(  # a venue short 1 BTC covers half: 40k USD held after as before, over a 30k limit
    RiskLimits(max_position_usd=1e6, max_exposure_per_exchange_usd=30_000.0),
    [("okx", "BTC", -1.0)], [("okx", "BTC", "USDT", True, 0.5, 20_000.0, 1.0)], 0, 0,
)  # fmt: skip
def test_the_compiled_check_equals_the_python_reference(
    risk_limits: RiskLimits, held: list[tuple[str, str, float]], legs: list[LegTuple],
    open_orders: int, sent: int,
) -> None:  # fmt: skip
    python_reads: list[str] = []
    compiled_reads: list[str] = []
    python = _engine(risk_limits, held, open_orders, sent, python_reads)
    compiled = _engine(risk_limits, held, open_orders, sent, compiled_reads)
    del python_reads[:], compiled_reads[:]  # (the stop-loss rule's reads while set up)
    expected = python._first_breach(tuple(legs))
    found = first_breach(compiled, tuple(legs))
    assert repr(found) == repr(expected)  # same rule, same numbers to the bit, same types
    assert compiled_reads == python_reads  # the same prices read, once each, in the same order
    assert compiled.exposure.order_times == python.exposure.order_times


@given(limits, reports, st.lists(leg, max_size=4), st.integers(0, 6), st.integers(0, 6))
def test_the_compiled_check_equals_the_reference_on_the_engines_usd_prices(
    risk_limits: RiskLimits, held: list[tuple[str, str, float]], legs: list[LegTuple],
    open_orders: int, sent: int,
) -> None:  # fmt: skip
    """With the engine's compiled USD prices (its dollar assets are 1.0 without a call, the
    others its cache's), the same verdict and numbers as the Python reference."""
    python, compiled = (_engine(risk_limits, held, open_orders, sent) for _ in range(2))
    for engine in (python, compiled):
        cache = {a: p for a, p in PRICES.items() if a not in ("USDT", "USDC")}
        usd = UsdPrices(frozenset({"USDT", "USDC"}), ("USDT",), cache, {}, {})
        engine.exposure.price_usd = engine._prices._price_usd = usd
    expected = python._first_breach(tuple(legs))
    found = first_breach(compiled, tuple(legs))
    assert repr(found) == repr(expected)


#: per step: an order sent this many ms after the last one, or (None) the window read 1 s back
WINDOW_STEPS = st.lists(st.one_of(st.integers(0, 400), st.none()), max_size=120)


@given(WINDOW_STEPS)
@example([0] * 5 + [400] * 3 + [None] + [0] * 20 + [None])  # the ring grows from a later head
@example([0, 250, 250, 250, 250, None])  # an order exactly 1 s old has left the window
def test_the_order_window_keeps_what_a_deque_keeps(steps: list[int | None]) -> None:
    """The order-rate window (a ring in C, which both checks read) against the deque it
    replaced: orders older than the horizon forgotten, oldest first, through the ring's growth
    and wrap-around."""
    exposure = Exposure(RiskLimits(), lambda asset: None, lambda: 0.0)
    reference: deque[float] = deque()
    now = 0.0
    for step in steps:
        if step is None:
            horizon = now - 1.0
            while reference and reference[0] <= horizon:
                reference.popleft()
            assert exposure.orders_since(horizon) == len(reference)
        else:
            now += step / 1_000
            exposure.order_sent(now)
            reference.append(now)
        assert exposure.order_times == list(reference)


def test_check_legs_takes_the_compiled_check_only_while_active_without_correlations() -> None:
    engine = _engine(RiskLimits(max_position_usd=1_000.0), [], 0, 0)
    legs: tuple[LegTuple, ...] = (("okx", "BTC", "USDT", True, 1.0, 40_000.0, 1.0),)
    calls: list[str] = []
    reference = engine._first_breach

    def spied(legs: Sequence[LegTuple]) -> Breach | None:
        calls.append("python")
        return reference(legs)

    engine._first_breach = spied  # type: ignore[method-assign]
    refused = engine.check_legs(legs, "t")
    assert (refused.rule, refused.value, refused.detail) == (
        "max_position_usd", 40_000.0, "BTC on okx")  # fmt: skip
    assert calls == []
    engine.set_state(TradingState.REDUCING, "stop loss")
    engine.check_legs(legs, "t")
    assert calls == ["python"]
    engine.resume()
    engine.correlations = {("BTC", "ETH"): 0.9}
    engine.check_legs(legs, "t")
    assert calls == ["python", "python"]


def test_many_legs_take_the_python_path_and_bad_legs_are_refused_clearly() -> None:
    engine = _engine(RiskLimits(max_open_orders=100, max_orders_per_s=100.0), [], 0, 0)
    legs = tuple(("okx", "SOL", "USDT", i % 2 == 0, 1.0, 150.0, 1.0) for i in range(17))
    assert first_breach(engine, legs) == engine._first_breach(legs) is None
    with pytest.raises(TypeError, match="LegTuple"):
        first_breach(engine, [("okx", "BTC")])  # type: ignore[list-item]


def _reference_legs(opportunity: Opportunity, usd: Callable[[str], float | None],
                    book_age_ms: Callable[[str, str], float]) -> tuple[LegTuple, ...]:  # fmt: skip
    """The Python ``leg_tuples`` the compiled one replaced."""
    legs = []
    for one in opportunity.legs:
        base, _, quote = one.symbol.partition("/")
        legs.append((one.venue, base, quote, one.side is OrderSide.BUY, one.size,
                     one.price * one.size * (usd(quote) or 0.0),
                     book_age_ms(one.venue, one.symbol)))  # fmt: skip
    return tuple(legs)


opportunity_legs = st.lists(st.builds(
    OpportunityLeg, venue=st.sampled_from(VENUES),
    symbol=st.sampled_from(("BTC/USDT", "ETH/BTC", "SOL/XYZ", "USDC/USDT")),
    side=st.sampled_from(OrderSide), price=st.floats(0.0, 1e5), size=st.floats(0.0, 100.0),
), max_size=3)  # fmt: skip


updates = st.dictionaries(st.sampled_from(VENUES), st.dictionaries(
    st.sampled_from(("BTC/USDT", "ETH/BTC", "SOL/XYZ")), st.integers(0, 10**12)))  # fmt: skip


@given(opportunity_legs, st.integers(0, 10**12), updates)
def test_leg_tuples_and_book_ages_equal_the_python_reference(
    legs: list[OpportunityLeg], now: int, updated: dict[str, dict[str, int]]
) -> None:  # fmt: skip
    opportunity = Opportunity(kind="k", venue="v", legs=tuple(legs), rate=1.0, profit_bps=1.0,
                              size=1.0, expected_profit=1.0, detected_at_ns=0)  # fmt: skip

    def ages(venue: str, symbol: str) -> float:
        return (now - updated.get(venue, {}).get(symbol, now)) / 1e6

    found = leg_tuples(opportunity, PRICES.get, BookAges(now, updated))
    assert repr(found) == repr(_reference_legs(opportunity, PRICES.get, ages))
    assert leg_tuples(opportunity, PRICES.get) == tuple(
        (*leg[:6], 0.0) for leg in _reference_legs(opportunity, PRICES.get, ages))  # fmt: skip
