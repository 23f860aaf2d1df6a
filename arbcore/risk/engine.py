"""Pre-trade risk: every proposed trade is checked against the limits before an order exists.

One :class:`RiskEngine` per process holds the trading state (ACTIVE, REDUCING, HALTED), the
exposure it has been told about (positions per venue and asset, open orders, recent order
times, realised PnL today) and :class:`~arbcore.config.schema.RiskLimits`. :meth:`RiskEngine.check`
returns a :class:`RiskDecision` naming the rule and the numbers whenever it refuses; the caller
records it in the audit trail. Limits trip *above* their threshold: a trade that lands exactly
on a limit is allowed, one unit over is refused.

Why the engine keeps its own view rather than asking the venues: the check runs on the hot path
for every opportunity, so it must be a few reads (of C arrays: :class:`RiskEngine.exposure`,
a ``riskcore.Exposure``), and the execution layer already reports every order and fill to it.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import attrs

from arbcore.config.schema import RiskLimits
from arbcore.model import USD_ASSETS, Opportunity
from arbcore_ext.riskcore import Exposure, first_breach, leg_tuples
from arbcore_ext.slotted import Maker

__all__ = [
    "LegTuple",
    "ProposedLeg",
    "ProposedTrade",
    "RiskDecision",
    "RiskEngine",
    "TradingState",
    "leg_tuples",
    "proposed_trade",
]

logger = logging.getLogger(__name__)


class TradingState(enum.Enum):
    ACTIVE = "active"  # trade normally
    REDUCING = "reducing"  # only trades that shrink exposure (a stop-loss tripped)
    HALTED = "halted"  # no new orders at all (kill switch, daily loss)


@attrs.frozen(kw_only=True)
class ProposedLeg:
    """One order a trade would place, valued in USD by the strategy that proposes it."""

    venue: str
    base: str
    quote: str
    buy: bool
    base_qty: float  # in base units
    notional_usd: float
    book_age_ms: float  # age of the book the price came from

    def as_tuple(self) -> LegTuple:
        return (self.venue, self.base, self.quote, self.buy, self.base_qty, self.notional_usd,
                self.book_age_ms)  # fmt: skip


#: A leg as :meth:`RiskEngine.check_legs` reads it: the fields of :class:`ProposedLeg` in order
#: (the hot path builds these tuples, not objects).
LegTuple = tuple[str, str, str, bool, float, float, float]


@attrs.frozen(kw_only=True)
class ProposedTrade:
    legs: tuple[ProposedLeg, ...]
    expected_profit_usd: float
    trace_id: str = ""


@attrs.frozen(kw_only=True)
class RiskDecision:
    """Approved, or refused by ``rule`` because ``value`` would exceed ``limit``."""

    approved: bool
    rule: str | None = None
    value: float | None = None
    limit: float | None = None
    detail: str = ""
    trace_id: str = ""


APPROVED = RiskDecision(approved=True)
_new_decision = Maker(RiskDecision)  # (see arbcore_ext.slotted)


def proposed_trade(
    opportunity: Opportunity,
    usd: Callable[[str], float | None],
    *,
    book_age_ms: Callable[[str, str], float] = lambda venue, symbol: 0.0,
    trace_id: str = "",
) -> ProposedTrade:
    """What risk checks for an opportunity: each leg valued in USD, with its book's age."""
    fields = ("venue", "base", "quote", "buy", "base_qty", "notional_usd", "book_age_ms")
    legs = tuple(ProposedLeg(**dict(zip(fields, leg, strict=True)))  # type: ignore[arg-type]
                 for leg in leg_tuples(opportunity, usd, book_age_ms))  # fmt: skip
    return ProposedTrade(legs=legs, expected_profit_usd=opportunity.expected_profit_usd or 0.0,
                         trace_id=trace_id)  # fmt: skip


Breach = tuple[str, float, float, str]  # (rule, value, limit, what the value is)


class RiskEngine:
    """Limits, trading state and the exposure view they are checked against.

    The exposure view is kept per venue and per asset as execution reports positions, so a
    check costs O(legs) reads plus, for the venues a trade touches, one pass over the assets
    held there (their USD values move with prices, so they are valued at check time); nothing
    walks every position. The correlation rule, when correlations are configured, is a pass
    over the distinct assets held (pairs of them).
    """

    def __init__(
        self,
        limits: RiskLimits,
        *,
        price_usd: Callable[[str], float | None],
        clock: Callable[[], float] = time.monotonic,
        on_state: Callable[[TradingState, str], None] | None = None,
    ) -> None:
        #: the exposure the compiled check reads, in C arrays (positions, open orders, order
        #: times, limits): told every change below; the dicts here are the Python reference's
        self.exposure = Exposure(limits, price_usd, clock)
        self._price_usd = price_usd
        self._clock = clock
        self._on_state = on_state
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self._positions: dict[tuple[str, str], float] = {}  # (venue, asset) -> quantity
        self._by_venue: dict[str, dict[str, float]] = {}  # venue -> asset -> quantity
        self._by_asset: dict[str, dict[str, float]] = {}  # asset -> venue -> quantity
        self._net: dict[str, float] = {}  # asset -> quantity summed over venues
        self._gross_qty: dict[str, float] = {}  # asset -> |quantity| summed over venues
        self.cost_basis_usd: dict[str, float] = {}  # asset -> average cost
        self.daily_pnl_usd = 0.0
        self.refusals: Counter[str] = Counter()
        self._correlations: Mapping[tuple[str, str], float] = {}
        self._prices = _Prices(price_usd)  # asset -> USD, within one check

    @property
    def limits(self) -> RiskLimits:
        return self.exposure.limits

    @limits.setter
    def limits(self, limits: RiskLimits) -> None:
        self.exposure.set_limits(limits)

    @property
    def open_orders(self) -> int:
        """Orders sent and not yet done."""
        return self.exposure.open_orders

    @open_orders.setter
    def open_orders(self, count: int) -> None:
        self.exposure.open_orders = count

    @property
    def correlations(self) -> Mapping[tuple[str, str], float]:
        """(asset, asset) -> correlation, for the correlation rule (none: the rule is off)."""
        return self._correlations

    @correlations.setter
    def correlations(self, correlations: Mapping[tuple[str, str], float]) -> None:
        self._correlations = correlations
        self.exposure.fast = self.state is _ACTIVE and not correlations

    @property
    def positions(self) -> Mapping[tuple[str, str], float]:
        """(venue, asset) -> quantity, as execution reported it (read-only: use on_position)."""
        return MappingProxyType(self._positions)

    # -- state ------------------------------------------------------------------------------------

    def set_state(self, state: TradingState, reason: str) -> None:
        if state is self.state:
            return
        logger.warning("trading state %s -> %s: %s", self.state.value, state.value, reason)
        self.state, self.state_reason = state, reason
        self.exposure.fast = state is _ACTIVE and not self._correlations
        if self._on_state is not None:
            self._on_state(state, reason)

    def kill(self, reason: str = "kill switch") -> None:
        """HALTED now: no order passes :meth:`check` until :meth:`resume`."""
        self.set_state(TradingState.HALTED, reason)

    def resume(self, reason: str = "resumed by the operator") -> None:
        self.set_state(TradingState.ACTIVE, reason)

    # -- what execution reports -------------------------------------------------------------------

    def on_order_sent(self) -> None:
        exposure = self.exposure  # (open_orders is its count: no property calls)
        exposure.open_orders += 1
        exposure.order_sent(self._clock())

    def on_order_done(self) -> None:
        exposure = self.exposure
        exposure.open_orders = max(0, exposure.open_orders - 1)

    def on_position(self, venue: str, asset: str, quantity: float,
                    average_cost_usd: float | None = None) -> None:  # fmt: skip
        """``asset`` held on ``venue`` is now ``quantity``: the aggregates of that asset and
        venue follow (O(venues holding the asset))."""
        self._positions[(venue, asset)] = quantity
        self.exposure.set_position(venue, asset, quantity)
        self._by_venue.setdefault(venue, {})[asset] = quantity
        held = self._by_asset.setdefault(asset, {})
        held[venue] = quantity
        self._net[asset] = sum(held.values())
        self._gross_qty[asset] = sum(map(abs, held.values()))
        if average_cost_usd is not None:
            self.cost_basis_usd[asset] = average_cost_usd
        self._check_stop_loss(asset)

    def on_realized_pnl(self, pnl_usd: float) -> None:
        self.daily_pnl_usd += pnl_usd
        if -self.daily_pnl_usd >= self.limits.max_daily_loss_usd:
            self.set_state(TradingState.HALTED,
                           f"daily loss {-self.daily_pnl_usd:.2f} USD reached the limit "
                           f"{self.limits.max_daily_loss_usd:.2f}")  # fmt: skip

    def new_day(self) -> None:
        self.daily_pnl_usd = 0.0

    # -- the check --------------------------------------------------------------------------------

    def check(self, trade: ProposedTrade) -> RiskDecision:
        """Approve or refuse ``trade`` (the first rule it breaks, with the numbers)."""
        return self.check_legs(tuple(leg.as_tuple() for leg in trade.legs), trade.trace_id)

    def check_legs(self, legs: Sequence[LegTuple], trace_id: str = "") -> RiskDecision:
        """:meth:`check` for legs as tuples (:data:`LegTuple`): the engine's hot path (compiled
        while ACTIVE with no correlations: :func:`arbcore_ext.riskcore.first_breach`)."""
        breach = first_breach(self, legs) if self.exposure.fast else self._first_breach(legs)
        return self.verdict(breach, trace_id)

    def verdict(self, breach: Breach | None, trace_id: str = "") -> RiskDecision:
        """The decision on a check's first breach (counted when it refuses): :meth:`check_legs`'
        end, and the end of the engine's compiled decision, which finds the breach in C."""
        # RiskDecision(approved, rule, value, limit, detail, trace_id) without attrs' __init__
        if breach is None:
            return _new_decision(True, None, None, None, "", trace_id)
        rule, value, limit, detail = breach
        self.refusals[rule] += 1
        return _new_decision(False, rule, value, limit, detail, trace_id)

    def _first_breach(self, legs: Sequence[LegTuple]) -> Breach | None:
        """``(rule, value, limit, what the value is)`` of the first limit broken, or None.

        Size limits only refuse trades that make things worse: a trade that shrinks a position
        already over its limit is allowed (it is how the engine gets back under). So only the
        positions and venues the legs touch can trip them.
        """
        limits = self.limits
        if self.state is _HALTED:
            return ("trading_halted", 1.0, 0.0, self.state_reason)
        prices = self._prices
        prices.clear()  # (the check's own price reads: see _Prices)
        after = self._touched_after(legs)
        if self.state is _REDUCING:
            grows = sum((abs(q) - abs(self._positions.get(k, 0.0))) * self._usd(k[1])
                        for k, q in after.items() if k[1] not in STABLE)  # fmt: skip
            if grows > 0:
                gross_now = sum(self._gross_qty[a] * self._usd(a) for a in self._gross_qty
                                if a not in STABLE)  # fmt: skip
                return ("reducing_only", gross_now + grows, gross_now, self.state_reason)
        oldest = max([leg[6] for leg in legs]) if legs else 0.0
        if oldest > limits.min_book_freshness_ms:
            return ("book_freshness", oldest, limits.min_book_freshness_ms, "oldest book (ms)")
        opened = self.open_orders + len(legs)
        if opened > limits.max_open_orders:
            return ("max_open_orders", opened, limits.max_open_orders, "open orders with legs")
        rate = self._orders_last_second() + len(legs)
        if rate > limits.max_orders_per_s:
            return ("max_orders_per_s", rate, limits.max_orders_per_s, "orders in the last 1 s")
        for (venue, asset), quantity in after.items():
            value = abs(quantity) * prices[asset]
            if value > limits.max_position_usd and value > self._held_usd(venue, asset):
                return ("max_position_usd", value, limits.max_position_usd, f"{asset} on {venue}")
        for venue in sorted({leg[0] for leg in legs}):
            value = self._venue_usd(venue, after)
            if value > limits.max_exposure_per_exchange_usd and value > self._venue_usd(venue):
                return ("max_exposure_per_exchange_usd", value,
                        limits.max_exposure_per_exchange_usd, f"held on {venue}")  # fmt: skip
        if self.correlations:
            correlation = self._correlation_risk(after)
            # "worse than now" past rounding: one correlated pair is rho whatever the weights,
            # but w * rho / w can land an ulp either side of it
            now = self._correlation_risk({})
            if correlation > limits.max_correlation_risk and correlation > now + CORRELATION_EPS:
                return ("max_correlation_risk", correlation, limits.max_correlation_risk,
                        "exposure-weighted correlation of held assets")  # fmt: skip
        return None

    # -- internals --------------------------------------------------------------------------------

    def _usd(self, asset: str) -> float:
        """USD per unit of ``asset`` (0 when unknown), read once per check."""
        return self._prices[asset]

    def _held_usd(self, venue: str, asset: str) -> float:
        return abs(self._positions.get((venue, asset), 0.0)) * self._usd(asset)

    def _touched_after(self, legs: Sequence[LegTuple]) -> dict[tuple[str, str], float]:
        """The positions the legs change, as they would be after the trade."""
        after: dict[tuple[str, str], float] = {}
        positions, prices = self._positions, self._prices
        for venue, base, quote, buy, base_qty, notional_usd, _ in legs:
            sign = 1.0 if buy else -1.0
            quote_qty = notional_usd / max(prices[quote], 1e-12)
            held = after.get((venue, base))
            after[(venue, base)] = (positions.get((venue, base), 0.0) if held is None else held
                                    ) + sign * base_qty  # fmt: skip
            held = after.get((venue, quote))
            after[(venue, quote)] = (positions.get((venue, quote), 0.0) if held is None else held
                                     ) - sign * quote_qty  # fmt: skip
        return after

    def _venue_usd(self, venue: str, after: Mapping[tuple[str, str], float] | None = None
                   ) -> float:  # fmt: skip
        """Everything held on ``venue`` in USD, now or with ``after``'s positions in place
        (in the order the positions were first reported, new ones last)."""
        held, usd = self._by_venue.get(venue, {}), self._prices
        if not after:
            return sum([abs(q) * usd[a] for a, q in held.items()])
        values = [abs(after.get((venue, a), q)) * usd[a] for a, q in held.items()]
        values += [abs(q) * usd[a] for (v, a), q in after.items() if v == venue and a not in held]
        return sum(values)

    def _orders_last_second(self) -> int:
        return self.exposure.orders_since(self._clock() - 1.0)

    def _exposure(self, after: Mapping[tuple[str, str], float]) -> dict[str, float]:
        """USD exposure per non-stable asset, with ``after``'s positions in place."""
        exposure = {a: q for a, q in self._gross_qty.items() if a not in STABLE}
        for asset in {a for _, a in after if a not in STABLE}:
            held = self._by_asset.get(asset, {})
            moved = {v: q for (v, a), q in after.items() if a == asset}
            exposure[asset] = sum(abs(moved.pop(v, q)) for v, q in held.items()) + sum(
                abs(q) for q in moved.values()
            )
        return {asset: quantity * self._usd(asset) for asset, quantity in exposure.items()}

    def _correlation_risk(self, after: Mapping[tuple[str, str], float]) -> float:
        """Exposure-weighted mean pairwise correlation of the (non-stable) assets held.

        0 when fewer than two correlated assets are held or no correlations are known.
        """
        exposure = self._exposure(after)
        assets = sorted(a for a, v in exposure.items() if v > 0)
        weighted = total = 0.0
        for i, first in enumerate(assets):
            for second in assets[i + 1 :]:
                rho = self.correlations.get((first, second), self.correlations.get((second, first)))
                if rho is None:
                    continue
                weight = exposure[first] * exposure[second]
                weighted += weight * rho
                total += weight
        return weighted / total if total else 0.0

    def _check_stop_loss(self, asset: str) -> None:
        cost = self.cost_basis_usd.get(asset)
        price = self._price_usd(asset)
        held = self._net.get(asset, 0.0)
        if not cost or price is None or held == 0:
            return
        loss_pct = (cost - price) / cost * 100 * (1 if held > 0 else -1)
        if loss_pct >= self.limits.stop_loss_pct and self.state is TradingState.ACTIVE:
            self.set_state(TradingState.REDUCING,
                           f"{asset} is {loss_pct:.2f}% below its cost, stop loss at "
                           f"{self.limits.stop_loss_pct:.2f}%")  # fmt: skip


class _Prices(dict[str, float]):
    """USD per unit of each asset (0 when unknown), read once per check on first use: a check
    values the same few assets many times, and prices do not move inside one. A hit is a plain
    subscript (no Python call). (``riskcore.price_of`` reads it the same way in C.)"""

    __slots__ = ("_price_usd",)

    def __init__(self, price_usd: Callable[[str], float | None]) -> None:
        super().__init__()
        self._price_usd = price_usd

    def __missing__(self, asset: str) -> float:
        found = self._price_usd(asset)
        price = self[asset] = found if found is not None and math.isfinite(found) else 0.0
        return price


_ACTIVE, _HALTED, _REDUCING = TradingState.ACTIVE, TradingState.HALTED, TradingState.REDUCING

#: How much higher a trade's correlation risk must be than the current one to count as worse.
CORRELATION_EPS = 1e-12

#: Assets treated as cash for correlation (their exposure is not market risk).
STABLE = USD_ASSETS | {"EUR"}
