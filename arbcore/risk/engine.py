"""Pre-trade risk: every proposed trade is checked against the limits before an order exists.

One :class:`RiskEngine` per process holds the trading state (ACTIVE, REDUCING, HALTED), the
exposure it has been told about (positions per venue and asset, open orders, recent order
times, realised PnL today) and :class:`~arbcore.config.schema.RiskLimits`. :meth:`RiskEngine.check`
returns a :class:`RiskDecision` naming the rule and the numbers whenever it refuses; the caller
records it in the audit trail. Limits trip *above* their threshold: a trade that lands exactly
on a limit is allowed, one unit over is refused.

Why the engine keeps its own view rather than asking the venues: the check runs on the hot path
for every opportunity, so it must be a few dictionary reads, and the execution layer already
reports every order and fill to it.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping

import attrs

from arbcore.config.schema import RiskLimits
from arbcore.model import USD_ASSETS, Opportunity, OrderSide

__all__ = [
    "ProposedLeg",
    "ProposedTrade",
    "RiskDecision",
    "RiskEngine",
    "TradingState",
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


def proposed_trade(
    opportunity: Opportunity,
    usd: Callable[[str], float | None],
    *,
    book_age_ms: Callable[[str, str], float] = lambda venue, symbol: 0.0,
    trace_id: str = "",
) -> ProposedTrade:
    """What risk checks for an opportunity: each leg valued in USD, with its book's age."""
    legs = []
    for leg in opportunity.legs:
        base, _, quote = leg.symbol.partition("/")
        legs.append(ProposedLeg(venue=leg.venue, base=base, quote=quote,
                                buy=leg.side is OrderSide.BUY, base_qty=leg.size,
                                notional_usd=leg.price * leg.size * (usd(quote) or 0.0),
                                book_age_ms=book_age_ms(leg.venue, leg.symbol)))  # fmt: skip
    return ProposedTrade(legs=tuple(legs), expected_profit_usd=opportunity.expected_profit_usd
                         or 0.0, trace_id=trace_id)  # fmt: skip


class RiskEngine:
    """Limits, trading state and the exposure view they are checked against."""

    def __init__(
        self,
        limits: RiskLimits,
        *,
        price_usd: Callable[[str], float | None],
        clock: Callable[[], float] = time.monotonic,
        on_state: Callable[[TradingState, str], None] | None = None,
    ) -> None:
        self.limits = limits
        self._price_usd = price_usd
        self._clock = clock
        self._on_state = on_state
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self.positions: dict[tuple[str, str], float] = {}  # (venue, asset) -> quantity
        self.cost_basis_usd: dict[str, float] = {}  # asset -> average cost
        self.open_orders = 0
        self.daily_pnl_usd = 0.0
        self._order_times: deque[float] = deque()
        self.refusals: Counter[str] = Counter()
        self.correlations: Mapping[tuple[str, str], float] = {}

    # -- state ------------------------------------------------------------------------------------

    def set_state(self, state: TradingState, reason: str) -> None:
        if state is self.state:
            return
        logger.warning("trading state %s -> %s: %s", self.state.value, state.value, reason)
        self.state, self.state_reason = state, reason
        if self._on_state is not None:
            self._on_state(state, reason)

    def kill(self, reason: str = "kill switch") -> None:
        """HALTED now: no order passes :meth:`check` until :meth:`resume`."""
        self.set_state(TradingState.HALTED, reason)

    def resume(self, reason: str = "resumed by the operator") -> None:
        self.set_state(TradingState.ACTIVE, reason)

    # -- what execution reports -------------------------------------------------------------------

    def on_order_sent(self) -> None:
        self.open_orders += 1
        self._order_times.append(self._clock())

    def on_order_done(self) -> None:
        self.open_orders = max(0, self.open_orders - 1)

    def on_position(self, venue: str, asset: str, quantity: float,
                    average_cost_usd: float | None = None) -> None:  # fmt: skip
        self.positions[(venue, asset)] = quantity
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
        decision = self._check(trade)
        if not decision.approved:
            self.refusals[decision.rule or ""] += 1
        return decision

    def _check(self, trade: ProposedTrade) -> RiskDecision:
        breach = self._first_breach(trade)
        if breach is None:
            return attrs.evolve(APPROVED, trace_id=trade.trace_id)
        rule, value, limit, detail = breach
        return RiskDecision(approved=False, rule=rule, value=value, limit=limit, detail=detail,
                            trace_id=trade.trace_id)  # fmt: skip

    def _first_breach(self, trade: ProposedTrade) -> tuple[str, float, float, str] | None:
        """``(rule, value, limit, what the value is)`` of the first limit broken, or None.

        Size limits only refuse trades that make things worse: a trade that shrinks a position
        already over its limit is allowed (it is how the engine gets back under).
        """
        limits = self.limits
        if self.state is TradingState.HALTED:
            return ("trading_halted", 1.0, 0.0, self.state_reason)
        after = self._positions_after(trade)
        gross_now, gross_after = self._gross_usd(self.positions), self._gross_usd(after)
        if self.state is TradingState.REDUCING and gross_after > gross_now:
            return ("reducing_only", gross_after, gross_now, self.state_reason)
        oldest = max((leg.book_age_ms for leg in trade.legs), default=0.0)
        if oldest > limits.min_book_freshness_ms:
            return ("book_freshness", oldest, limits.min_book_freshness_ms, "oldest book (ms)")
        opened = self.open_orders + len(trade.legs)
        if opened > limits.max_open_orders:
            return ("max_open_orders", opened, limits.max_open_orders, "open orders with legs")
        rate = self._orders_last_second() + len(trade.legs)
        if rate > limits.max_orders_per_s:
            return ("max_orders_per_s", rate, limits.max_orders_per_s, "orders in the last 1 s")
        for (venue, asset), quantity in after.items():
            value = abs(quantity) * self._usd(asset)
            if value > limits.max_position_usd and value > self._held_usd(venue, asset):
                return ("max_position_usd", value, limits.max_position_usd, f"{asset} on {venue}")
        for venue in sorted({leg.venue for leg in trade.legs}):
            value = self._venue_usd(after, venue)
            if value > limits.max_exposure_per_exchange_usd and value > self._venue_usd(
                self.positions, venue
            ):
                return ("max_exposure_per_exchange_usd", value,
                        limits.max_exposure_per_exchange_usd, f"held on {venue}")  # fmt: skip
        correlation = self._correlation_risk(after)
        if correlation > limits.max_correlation_risk and correlation > self._correlation_risk(
            self.positions
        ):
            return ("max_correlation_risk", correlation, limits.max_correlation_risk,
                    "exposure-weighted correlation of held assets")  # fmt: skip
        return None

    # -- internals --------------------------------------------------------------------------------

    def _usd(self, asset: str) -> float:
        price = self._price_usd(asset)
        return price if price is not None and math.isfinite(price) else 0.0

    def _held_usd(self, venue: str, asset: str) -> float:
        return abs(self.positions.get((venue, asset), 0.0)) * self._usd(asset)

    def _venue_usd(self, positions: Mapping[tuple[str, str], float], venue: str) -> float:
        return sum(abs(q) * self._usd(a) for (v, a), q in positions.items() if v == venue)

    def _gross_usd(self, positions: Mapping[tuple[str, str], float]) -> float:
        """Market exposure: everything held but cash-like assets, in USD."""
        return sum(abs(q) * self._usd(a) for (_, a), q in positions.items() if a not in STABLE)

    def _positions_after(self, trade: ProposedTrade) -> dict[tuple[str, str], float]:
        after = dict(self.positions)
        for leg in trade.legs:
            sign = 1.0 if leg.buy else -1.0
            quote_qty = leg.notional_usd / max(self._usd(leg.quote), 1e-12)
            after[(leg.venue, leg.base)] = (
                after.get((leg.venue, leg.base), 0.0) + sign * leg.base_qty
            )
            after[(leg.venue, leg.quote)] = (
                after.get((leg.venue, leg.quote), 0.0) - sign * quote_qty
            )
        return after

    def _orders_last_second(self) -> int:
        horizon = self._clock() - 1.0
        while self._order_times and self._order_times[0] <= horizon:
            self._order_times.popleft()
        return len(self._order_times)

    def _correlation_risk(self, positions: Mapping[tuple[str, str], float]) -> float:
        """Exposure-weighted mean pairwise correlation of the (non-stable) assets held.

        0 when fewer than two correlated assets are held or no correlations are known.
        """
        exposure: dict[str, float] = {}
        for (_, asset), quantity in positions.items():
            if asset in STABLE:
                continue
            exposure[asset] = exposure.get(asset, 0.0) + abs(quantity) * self._usd(asset)
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
        held = sum(q for (_, a), q in self.positions.items() if a == asset)
        if not cost or price is None or held == 0:
            return
        loss_pct = (cost - price) / cost * 100 * (1 if held > 0 else -1)
        if loss_pct >= self.limits.stop_loss_pct and self.state is TradingState.ACTIVE:
            self.set_state(TradingState.REDUCING,
                           f"{asset} is {loss_pct:.2f}% below its cost, stop loss at "
                           f"{self.limits.stop_loss_pct:.2f}%")  # fmt: skip


#: Assets treated as cash for correlation (their exposure is not market risk).
STABLE = USD_ASSETS | {"EUR"}
