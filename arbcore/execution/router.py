"""Send an opportunity's legs, follow them, and repair a trade whose legs did not match.

Every leg goes out at the same time as an IOC limit order at the opportunity's (slippage-
widened) limit. Each step is written to the audit trail before the next happens: the order
request before it is sent, the venue's reply (or error) when it comes, then the trade's net
position and realised PnL. Risk hears of every order sent and finished.

When the legs of a two-venue trade fill unevenly (one rejected, one partly filled) the trade
holds an unhedged position. :class:`ExecutionConfig.leg_failure` decides what happens:

- ``retry``: send the missing quantity on the short leg once more, at a limit worse by
  ``retry_worse_bps`` (bounded: one retry, never beyond that limit);
- ``unwind``: trade the excess back at market on the venue that over-filled;
- ``hold``: keep the position and raise an alert (the operator decides).

Whatever runs, the net position afterwards is computed from what actually filled and recorded.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Mapping

import attrs

from arbcore.config.schema import ExecutionConfig
from arbcore.errors import ArbcoreError, ExchangeError
from arbcore.exchanges.trading import (
    OrderRequest,
    VenueTrading,
    new_client_order_id,
    prepare_order,
)
from arbcore.model import (
    USD_ASSETS,
    Instrument,
    Opportunity,
    OpportunityLeg,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from arbcore.risk.engine import RiskEngine
from arbcore.storage.audit import AuditTrail, RecordKind
from arbcore_ext.profit import limit_price

__all__ = ["LegResult", "Router", "TradeResult", "TradeStatus"]

logger = logging.getLogger(__name__)


class TradeStatus(enum.Enum):
    COMPLETE = "complete"  # every leg filled alike (possibly nothing at all)
    REPAIRED = "repaired"  # legs differed; the policy brought the net position back to flat
    UNHEDGED = "unhedged"  # legs differed and a position remains (hold, or a repair fell short)


@attrs.frozen(kw_only=True)
class LegResult:
    leg: OpportunityLeg
    order: OrderRequest
    reply: Order | None
    error: str | None = None

    @property
    def filled_raw(self) -> int:
        return self.reply.filled_raw if self.reply is not None else 0


@attrs.frozen(kw_only=True)
class TradeResult:
    trace_id: str
    opportunity: Opportunity
    legs: tuple[LegResult, ...]
    repairs: tuple[LegResult, ...]
    status: TradeStatus
    net_base: float  # base bought minus base sold, after repairs (0 when hedged)
    realized_quote: float  # two-leg trades: proceeds minus costs and fees, in the quote asset
    flows: Mapping[str, float]  # every asset's net change from this trade, fees included
    realized_usd: float | None  # the flows valued in USD (None when a price was unknown)


InstrumentOf = Callable[[str, str], Instrument]  # (venue, symbol) -> Instrument


class Router:
    """Executes opportunities on venue clients (shadow or live: the same code)."""

    def __init__(
        self,
        venues: Mapping[str, VenueTrading],
        instrument_of: InstrumentOf,
        policy: ExecutionConfig,
        *,
        audit: AuditTrail | None = None,
        risk: RiskEngine | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        alert: Callable[[str], None] | None = None,
        usd: Callable[[str], float | None] | None = None,
        new_order_id: Callable[[], str] = new_client_order_id,
    ) -> None:
        self.venues = venues
        self.new_order_id = new_order_id
        self.usd = usd or _dollar_only
        self.instrument_of = instrument_of
        self.policy = policy
        self.audit = audit
        self.risk = risk
        self._clock_ns = clock_ns
        self._alert = alert or (lambda message: logger.error("ALERT: %s", message))
        self.leg_failures = 0
        self.unhedged = 0

    async def execute(self, opportunity: Opportunity, trace_id: str) -> TradeResult:
        orders = [self._order(leg, trace_id) for leg in opportunity.legs]
        results = await asyncio.gather(
            *(self._send(leg, order, trace_id) for leg, order in zip(opportunity.legs, orders,
                                                                        strict=True))
        )  # fmt: skip
        repairs: list[LegResult] = []
        if len(results) == 2 and _imbalance(results) != 0:
            self.leg_failures += 1
            repairs = await self._repair(results, trace_id)
        imbalance = _imbalance([*results, *repairs]) if len(results) == 2 else 0.0
        if imbalance:
            self.unhedged += 1
            status = TradeStatus.UNHEDGED
            self._alert(f"trade {trace_id} is unhedged by {imbalance:+.8f} "
                        f"{opportunity.legs[0].symbol.split('/')[0]}")  # fmt: skip
        else:
            status = TradeStatus.REPAIRED if repairs else TradeStatus.COMPLETE
        flows = _flows([*results, *repairs], self.instrument_of)
        realized = flows.get(opportunity.legs[0].symbol.partition("/")[2], 0.0)
        values = [amount * price if (price := self.usd(asset)) is not None else None
                  for asset, amount in flows.items()]  # fmt: skip
        realized_usd = None if None in values else sum(v for v in values if v is not None)
        result = TradeResult(trace_id=trace_id, opportunity=opportunity, legs=tuple(results),
                             repairs=tuple(repairs), status=status, net_base=imbalance,
                             realized_quote=realized, flows=flows,
                             realized_usd=realized_usd)  # fmt: skip
        self._record(RecordKind.POSITION, {"trade": trace_id, "status": status.value,
                                           "net_base": imbalance}, trace_id)  # fmt: skip
        if status is not TradeStatus.UNHEDGED:
            pnl = {"trade": trace_id, "flows": flows, "realized_usd": realized_usd or 0.0,
                   "valued": realized_usd is not None}  # fmt: skip
            self._record(RecordKind.PNL, pnl, trace_id)
            if self.risk is not None and realized_usd is not None:
                self.risk.on_realized_pnl(realized_usd)  # the daily-loss limit counts it
        return result

    # -- sending ----------------------------------------------------------------------------------

    def _order(self, leg: OpportunityLeg, trace_id: str, *, size_raw: int | None = None,
               price_raw: int | None = None, market: bool = False,
               side: OrderSide | None = None) -> OrderRequest:  # fmt: skip
        instrument = self.instrument_of(leg.venue, leg.symbol)
        return prepare_order(
            instrument,
            side or leg.side,
            size_raw if size_raw is not None else leg.size_raw,
            price_raw=None if market else (price_raw or leg.price_raw),
            type=OrderType.MARKET if market else OrderType.LIMIT,
            time_in_force=TimeInForce.IOC,
            client_order_id=self._order_id(leg.venue),
        )

    def _order_id(self, venue: str) -> str:
        """The venue's own id format when it has one (Kraken: 18 characters, Bitfinex: an
        integer), else the router's (deterministic in a backtest)."""
        make = getattr(self.venues[venue], "new_client_order_id", None)
        return str(make()) if callable(make) else self.new_order_id()

    async def _send(self, leg: OpportunityLeg, order: OrderRequest, trace_id: str) -> LegResult:
        venue = self.venues[leg.venue]
        self._record(RecordKind.ORDER_REQUEST, _requested(order, leg.venue, self._clock_ns()),
                     trace_id, leg.venue, leg.symbol)  # fmt: skip
        if self.risk is not None:
            self.risk.on_order_sent()
        try:
            reply = await venue.place_order(order)
        except ExchangeError as error:
            logger.warning("%s %s leg refused: %s", leg.venue, leg.symbol, error)
            self._record(RecordKind.VENUE_REPLY, {"client_order_id": order.client_order_id,
                                                  "error": type(error).__name__,
                                                  "message": str(error)},
                         trace_id, leg.venue, leg.symbol)  # fmt: skip
            return LegResult(leg=leg, order=order, reply=None, error=str(error))
        finally:
            if self.risk is not None:
                self.risk.on_order_done()
        self._record(RecordKind.VENUE_REPLY, reply, trace_id, leg.venue, leg.symbol)
        return LegResult(leg=leg, order=order, reply=reply)

    # -- repairing --------------------------------------------------------------------------------

    async def _repair(self, results: list[LegResult], trace_id: str) -> list[LegResult]:
        excess = _imbalance(results)  # > 0: bought more than sold
        buy, sell = sorted(results, key=lambda r: r.leg.side is not OrderSide.BUY)
        policy = self.policy.leg_failure
        logger.warning("trade %s legs differ by %+.8f base: policy %s", trace_id, excess, policy)
        if policy == "hold":
            return []
        if policy == "retry":  # the short leg once more, at a bounded worse limit
            short = sell if excess > 0 else buy
            worse = limit_price(short.order.price_raw or short.leg.price_raw,
                                short.leg.side is OrderSide.BUY,
                                self.policy.retry_worse_bps)  # fmt: skip
            leg = short.leg
            order = self._repair_order(leg, trace_id, abs(excess), price_raw=worse)
        else:  # unwind: the excess back at market, on the venue that over-filled
            over = buy if excess > 0 else sell
            back = OrderSide.SELL if over.leg.side is OrderSide.BUY else OrderSide.BUY
            leg = attrs.evolve(over.leg, side=back)
            order = self._repair_order(leg, trace_id, abs(excess), market=True)
        return [] if order is None else [await self._send(leg, order, trace_id)]

    def _repair_order(
        self, leg: OpportunityLeg, trace_id: str, base_qty: float, *,
        price_raw: int | None = None, market: bool = False,
    ) -> OrderRequest | None:  # fmt: skip
        instrument = self.instrument_of(leg.venue, leg.symbol)
        size_raw = round(base_qty * 10**instrument.size_decimals)
        try:
            return self._order(leg, trace_id, size_raw=size_raw, price_raw=price_raw,
                               market=market)  # fmt: skip
        except ArbcoreError as error:  # below the venue's minimums: nothing can be sent
            self._alert(f"trade {trace_id}: repair not possible: {error}")
            return None

    def _record(self, kind: RecordKind, payload: object, trace_id: str, venue: str = "",
                symbol: str = "") -> None:  # fmt: skip
        if self.audit is not None:
            self.audit.append(kind, payload, ts_ns=self._clock_ns(), trace_id=trace_id,
                              venue=venue, symbol=symbol)  # fmt: skip


def _requested(order: OrderRequest, venue: str, ts_ns: int) -> Order:
    return Order(venue=venue, symbol=order.symbol, client_order_id=order.client_order_id,
                 side=order.side, type=order.type, price_raw=order.price_raw or 0,
                 size_raw=order.size_raw, time_in_force=order.time_in_force,
                 status=OrderStatus.OPEN, ts_created_ns=ts_ns)  # fmt: skip


def _base(result: LegResult) -> float:
    decimals = result.order.instrument.size_decimals
    sign = 1.0 if result.order.side is OrderSide.BUY else -1.0
    return sign * result.filled_raw / 10.0**decimals


def _imbalance(results: list[LegResult]) -> float:
    total = sum(_base(r) for r in results)
    return 0.0 if abs(total) < 1e-12 else total


def _flows(results: list[LegResult], instrument_of: InstrumentOf) -> dict[str, float]:
    """Each asset's net change: base and quote of every fill, taker fee charged in quote."""
    flows: dict[str, float] = {}
    for result in results:
        reply = result.reply
        if reply is None or not reply.filled_raw:
            continue
        instrument = instrument_of(result.leg.venue, result.leg.symbol)
        base = reply.filled_raw / 10**instrument.size_decimals
        quote = reply.filled_quote or (
            reply.price_raw
            * reply.filled_raw
            / 10 ** (instrument.price_decimals + instrument.size_decimals)
        )
        sign = 1.0 if reply.side is OrderSide.BUY else -1.0
        flows[instrument.base] = flows.get(instrument.base, 0.0) + sign * base
        fee = quote * instrument.taker_fee
        flows[instrument.quote] = flows.get(instrument.quote, 0.0) - sign * quote - fee
    return flows


def _dollar_only(asset: str) -> float | None:
    return 1.0 if asset in USD_ASSETS else None
