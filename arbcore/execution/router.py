"""Send an opportunity's legs, follow them, and repair a trade whose legs did not match.

Every leg goes out at the same time as an IOC limit order at the opportunity's (slippage-
widened) limit. Each step is written to the audit trail before the next happens: the order
request before it is sent, the venue's reply (or error) when it comes, the fill the reply
reports, then the trade's net position and realised PnL. Risk hears of every order sent and
finished.

When the legs fill unevenly (one refused, one partly filled) the trade holds a position it did
not mean to hold, a cross-exchange trade and a triangular one alike. :class:`ExecutionConfig`
``leg_failure`` decides what happens:

- ``retry``: each short leg's missing quantity once more, at a limit worse by
  ``retry_worse_bps`` (bounded: one retry, never beyond that limit);
- ``unwind``: every asset the trade left open is traded back at market to the asset the trade
  is counted in (the quote of a cross-exchange trade, the start asset of a cycle), so the
  holdings return to where they were within a lot; the cost lands in that asset;
- ``hold``: keep the position and raise an alert (the operator decides).

Whatever runs, the net position afterwards is computed from what actually filled, with fees in
the asset received (as the simulator, the shadow venue, Binance and OKX charge them), and
recorded: ``flows`` per asset, ``open_position`` for what stays unhedged.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence

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
    Fill,
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
from arbcore.storage.audit import AuditTrail, RecordKind, by_reference
from arbcore_ext.profit import limit_price
from arbcore_ext.slotted import Maker

__all__ = ["LegResult", "Router", "TradeResult", "TradeStatus"]

logger = logging.getLogger(__name__)

_EPSILON = 1e-9  # float noise in amounts built from exact raw integers


class TradeStatus(enum.Enum):
    COMPLETE = "complete"  # every leg filled as sent (or none filled at all)
    REPAIRED = "repaired"  # legs differed; the policy hedged the trade or brought it back flat
    UNHEDGED = "unhedged"  # legs differed and a position remains (hold, or a repair fell short)


@attrs.frozen(kw_only=True)
class LegResult:
    leg: OpportunityLeg
    order: OrderRequest
    reply: Order | None
    error: str | None = None
    retry_of: int | None = None  # a retry: the index of the leg whose missing part it sends

    @property
    def filled_raw(self) -> int:
        return self.reply.filled_raw if self.reply is not None else 0

    @property
    def filled_quote(self) -> float:
        """The quote amount of what filled: the venue's figure, else filled x the order price."""
        reply = self.reply
        if reply is None or not reply.filled_raw:
            return 0.0
        instrument = self.order.instrument
        return reply.filled_quote or (
            reply.price_raw
            * reply.filled_raw
            / 10 ** (instrument.price_decimals + instrument.size_decimals)
        )


@attrs.frozen(kw_only=True)
class TradeResult:
    trace_id: str
    opportunity: Opportunity
    legs: tuple[LegResult, ...]
    repairs: tuple[LegResult, ...]
    status: TradeStatus
    net_base: float  # the first leg's base left open (0 unless UNHEDGED)
    open_position: Mapping[str, float]  # every asset left open, fees included (empty if hedged)
    realized_quote: float  # the flows valued in the opportunity's asset at the trade's own prices
    flows: Mapping[str, float]  # every asset's net change from this trade, fees included
    realized_usd: float | None  # the flows valued in USD (None when a price was unknown)


#: the trade's objects made as their classes make them, without attrs' Python __init__ (all
#: fields, in field order: see arbcore_ext.slotted)
_new_order, _new_fill = Maker(Order), Maker(Fill)
_new_leg_result, _new_trade_result = Maker(LegResult), Maker(TradeResult)
#: the enum members a trade reads (a member read from its class costs ~10x a global's read)
_BUY, _SELL = OrderSide.BUY, OrderSide.SELL
_LIMIT, _MARKET, _IOC, _OPEN = OrderType.LIMIT, OrderType.MARKET, TimeInForce.IOC, OrderStatus.OPEN
_COMPLETE, _REPAIRED, _UNHEDGED = TradeStatus.COMPLETE, TradeStatus.REPAIRED, TradeStatus.UNHEDGED
_ORDER_REQUEST, _VENUE_REPLY, _FILL = (RecordKind.ORDER_REQUEST, RecordKind.VENUE_REPLY,
                                       RecordKind.FILL)  # fmt: skip
_POSITION, _PNL = RecordKind.POSITION, RecordKind.PNL
_STATUS_TEXT = {status: status.value for status in TradeStatus}
#: the audit trail keeps these by reference (decided now, not at the first trade)
by_reference(Order)
by_reference(Fill)

InstrumentOf = Callable[[str, str], Instrument]  # (venue, symbol) -> Instrument
#: told of each audit row right after it is appended: (kind, payload, seq, ts_ns, trace_id,
#: venue, symbol): the engine puts it on the ``trades`` stream
OnRecord = Callable[[RecordKind, object, int, int, str, str, str], None]


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
        on_record: OnRecord | None = None,
    ) -> None:
        self.venues = venues
        self.on_record = on_record
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
        #: venue -> (its client, the client's own order-id maker or None), see _order_id
        self._id_makers: dict[str, tuple[VenueTrading, Callable[[], object] | None]] = {}

    async def execute(self, opportunity: Opportunity, trace_id: str) -> TradeResult:
        orders = [self._order(leg) for leg in opportunity.legs]
        results = list(await asyncio.gather(
            *(self._send(leg, order, trace_id) for leg, order in zip(opportunity.legs, orders,
                                                                        strict=True))
        ))  # fmt: skip
        repairs: list[LegResult] = []
        matched = _matched(results, repairs)
        if not matched:
            self.leg_failures += 1
            repairs = await self._repair(opportunity, results, trace_id)
        done = [*results, *repairs]
        flows = _flows(done)
        open_position = ({} if matched or _matched(results, repairs)
                         else self._open(opportunity, results, flows))  # fmt: skip
        if open_position:
            self.unhedged += 1
            status = _UNHEDGED
            held = ", ".join(f"{amount:+.8f} {asset}" for asset, amount in open_position.items())
            self._alert(f"trade {trace_id} is unhedged: {held}")
        else:
            status = _COMPLETE if matched else _REPAIRED
        values = [amount * price if (price := self.usd(asset)) is not None else None
                  for asset, amount in flows.items()]  # fmt: skip
        realized_usd = None if None in values else sum(v for v in values if v is not None)
        base = self.instrument_of(opportunity.legs[0].venue, opportunity.legs[0].symbol).base
        net_base = open_position.get(base, 0.0)
        asset = _asset_of(opportunity)
        realized_quote = self._value(flows, asset, done)
        # TradeResult(trace_id, opportunity, legs, repairs, status, net_base, open_position,
        # realized_quote, flows, realized_usd)
        result = _new_trade_result(trace_id, opportunity, tuple(results), tuple(repairs), status,
                                   net_base, open_position, realized_quote, flows,
                                   realized_usd)  # fmt: skip
        # The position and PnL rows: their own dicts (copies of the result's), handed to the
        # trail, which makes their JSON later (in the loop's idle moments); a value JSON has
        # no form for (NaN, infinity: never from real fills) takes the snapshotting append,
        # which raises now.
        finite = _finite(flows, open_position, net_base, realized_usd or 0.0, realized_quote)
        flows_row = dict(flows) if finite else flows
        self._record(_POSITION, {"trade": trace_id, "status": _STATUS_TEXT[status],
                                           "net_base": net_base, "flows": flows_row,
                                           "open": dict(open_position) if finite
                                           else open_position}, trace_id,
                     handed_over=finite)  # fmt: skip
        if status is not _UNHEDGED:
            pnl = {"trade": trace_id, "flows": flows_row, "realized_usd": realized_usd or 0.0,
                   "realized": realized_quote, "asset": asset,
                   "valued": realized_usd is not None}  # fmt: skip
            self._record(_PNL, pnl, trace_id, handed_over=finite)
            if self.risk is not None and realized_usd is not None:
                self.risk.on_realized_pnl(realized_usd)  # the daily-loss limit counts it
        return result

    # -- sending ----------------------------------------------------------------------------------

    def _order(self, leg: OpportunityLeg, *, size_raw: int | None = None,
               price_raw: int | None = None, market: bool = False) -> OrderRequest:  # fmt: skip
        instrument = self.instrument_of(leg.venue, leg.symbol)
        return prepare_order(
            instrument,
            leg.side,
            size_raw if size_raw is not None else leg.size_raw,
            price_raw=price_raw or leg.price_raw or None,
            type=_MARKET if market else _LIMIT,
            time_in_force=_IOC,
            client_order_id=self._order_id(leg.venue),
        )

    def _order_id(self, venue: str) -> str:
        """The venue's own id format when it has one (Kraken: 18 characters, Bitfinex: an
        integer), else the router's (deterministic in a backtest)."""
        client = self.venues[venue]
        known = self._id_makers.get(venue)
        if known is None or known[0] is not client:  # (looked up once per venue client)
            make = getattr(client, "new_client_order_id", None)
            known = self._id_makers[venue] = (client, make if callable(make) else None)
        make = known[1]
        return str(make()) if make is not None else self.new_order_id()

    async def _send(self, leg: OpportunityLeg, order: OrderRequest, trace_id: str,
                    retry_of: int | None = None) -> LegResult:  # fmt: skip
        name, symbol, risk = leg.venue, leg.symbol, self.risk
        venue = self.venues[name]
        self._record(_ORDER_REQUEST, _requested(order, name, self._clock_ns()), trace_id, name,
                     symbol)  # fmt: skip
        if risk is not None:
            risk.on_order_sent()
        try:
            reply = await venue.place_order(order)
        except ExchangeError as error:
            logger.warning("%s %s leg refused: %s", name, symbol, error)
            self._record(_VENUE_REPLY, {"client_order_id": order.client_order_id,
                                        "error": type(error).__name__, "message": str(error)},
                         trace_id, name, symbol)  # fmt: skip
            return _new_leg_result(leg, order, None, str(error), retry_of)
        finally:
            if risk is not None:
                risk.on_order_done()
        self._record(_VENUE_REPLY, reply, trace_id, name, symbol)
        result = _new_leg_result(leg, order, reply, None, retry_of)
        if reply.filled_raw:
            self._record(_FILL, self._fill(result, reply), trace_id, name, symbol)
        return result

    def _fill(self, result: LegResult, reply: Order) -> Fill:
        """The fill a reply reports (REST replies give an order's totals: one fill per order,
        its average price, the fee as modelled, in the asset received)."""
        instrument = result.order.instrument
        quote = result.filled_quote
        base = reply.filled_raw / 10**instrument.size_decimals
        buy = reply.side is _BUY
        # Fill(venue, symbol, client_order_id, trade_id, side, price_raw, size_raw, fee,
        # fee_asset, ts_event_ns)
        return _new_fill(reply.venue, reply.symbol, reply.client_order_id,
                         f"order-{reply.venue_order_id or reply.client_order_id}", reply.side,
                         round(quote / base * 10**instrument.price_decimals), reply.filled_raw,
                         (base if buy else quote) * instrument.taker_fee,
                         instrument.base if buy else instrument.quote,
                         self._clock_ns())  # fmt: skip

    # -- repairing --------------------------------------------------------------------------------

    async def _repair(
        self, opportunity: Opportunity, results: list[LegResult], trace_id: str
    ) -> list[LegResult]:
        policy = self.policy.leg_failure
        filled = ", ".join(f"{r.leg.side.value} {r.leg.symbol} {r.filled_raw}/{r.order.size_raw}"
                           for r in results)  # fmt: skip
        logger.warning("trade %s legs differ (%s): policy %s", trace_id, filled, policy)
        if policy == "hold":
            return []
        if policy == "retry":
            planned = self._retries(results)
        else:
            planned = self._unwinds(opportunity, results)
        sent = []
        for leg, build, retry_of in planned:
            try:
                order = build()
            except ArbcoreError as error:  # below the venue's minimums: nothing can be sent
                self._alert(f"trade {trace_id}: repair on {leg.venue} {leg.symbol} not possible: "
                            f"{error}")  # fmt: skip
                continue
            sent.append(self._send(leg, order, trace_id, retry_of))
        return list(await asyncio.gather(*sent))

    def _retries(self, results: list[LegResult]) -> list[_Planned]:
        """Each short leg's missing quantity, once, at a limit ``retry_worse_bps`` worse."""
        planned: list[_Planned] = []
        for index, result in enumerate(results):
            missing = result.order.size_raw - result.filled_raw
            if missing <= 0:
                continue
            leg = result.leg
            worse = limit_price(result.order.price_raw or leg.price_raw,
                                leg.side is OrderSide.BUY, self.policy.retry_worse_bps)  # fmt: skip
            planned.append((leg, _bind(self._order, leg, size_raw=missing, price_raw=worse),
                            index))  # fmt: skip
        return planned

    def _unwinds(self, opportunity: Opportunity, results: list[LegResult]) -> list[_Planned]:
        """A market order per open asset, back to the trade's asset, on the market (of the
        trade's legs) pairing the two that filled the most: the venue that over-filled."""
        flows = _flows(results)
        planned: list[_Planned] = []
        exposed = _exposed(opportunity, results)
        for asset in exposed:
            amount = flows.get(asset, 0.0)
            markets = [r for r in results if _pairs_with(r.order.instrument, asset, exposed)]
            if abs(amount) <= _EPSILON or not markets:
                continue
            where = max(markets, key=lambda r: r.filled_raw / 10**r.order.instrument.size_decimals)
            if abs(amount) <= _dust(where, asset) * (1 + 1e-9):
                continue  # less than the market can trade: not open (see _open), nothing to send
            side, size_raw = _unwind_size(where, asset, amount)
            leg = attrs.evolve(where.leg, side=side)
            bound = _worst_price(where, side, self.policy.retry_worse_bps)
            planned.append((leg, _bind(self._order, leg, size_raw=size_raw, price_raw=bound,
                                       market=True), None))  # fmt: skip
        return planned

    def _open(self, opportunity: Opportunity, results: list[LegResult],
              flows: Mapping[str, float]) -> dict[str, float]:  # fmt: skip
        """The assets the trade leaves open beyond dust (a lot, or the venue's minimum: what
        could not be traded back anyway)."""
        exposed = _exposed(opportunity, results)
        held = {}
        for asset in exposed:
            amount = flows.get(asset, 0.0)
            markets = [r for r in results if _pairs_with(r.order.instrument, asset, exposed)]
            dust = max((_dust(r, asset) for r in markets), default=0.0)
            if abs(amount) > dust * (1 + 1e-9) + _EPSILON:
                held[asset] = amount
        return held

    def _value(self, flows: Mapping[str, float], asset: str, done: Sequence[LegResult]) -> float:
        """The flows in ``asset``: other assets at this trade's own average fill price against
        it (how the strategies price fees taken in them), else through their USD prices."""
        total = 0.0
        for held, amount in flows.items():
            if held == asset:
                total += amount
                continue
            price = _fill_price(done, held, asset)
            if price is None:
                mine, theirs = self.usd(held), self.usd(asset)
                price = mine / theirs if mine is not None and theirs else None
            if price is not None:
                total += amount * price
        return total

    def _record(self, kind: RecordKind, payload: object, trace_id: str, venue: str = "",
                symbol: str = "", *, handed_over: bool = False) -> None:  # fmt: skip
        """Append a row (``handed_over``: see :meth:`AuditTrail.append`) and tell on_record."""
        if self.audit is not None:
            ts_ns = self._clock_ns()
            seq = self.audit.append(kind, payload, ts_ns=ts_ns, trace_id=trace_id, venue=venue,
                                    symbol=symbol, handed_over=handed_over)  # fmt: skip
            if self.on_record is not None:
                self.on_record(kind, payload, seq, ts_ns, trace_id, venue, symbol)


#: a repair to send: its leg, how to build its order (may raise), the leg it retries
_Planned = tuple[OpportunityLeg, Callable[[], OrderRequest], int | None]


def _bind(make: Callable[..., OrderRequest], leg: OpportunityLeg, **options: object
          ) -> Callable[[], OrderRequest]:  # fmt: skip
    return lambda: make(leg, **options)


def _requested(order: OrderRequest, venue: str, ts_ns: int) -> Order:
    # Order(venue, symbol, client_order_id, side, type, price_raw, size_raw, time_in_force,
    # status, filled_raw, venue_order_id, ts_created_ns, filled_quote)
    return _new_order(venue, order.instrument.symbol, order.client_order_id, order.side,
                      order.type, order.price_raw or 0, order.size_raw, order.time_in_force,
                      _OPEN, 0, None, ts_ns, 0.0)  # fmt: skip


def _finite(flows: Mapping[str, float], held: Mapping[str, float], *values: float) -> bool:
    """Whether every amount is a finite number (what JSON can hold)."""
    return (
        all(map(math.isfinite, flows.values()))
        and all(map(math.isfinite, held.values()))
        and all(map(math.isfinite, values))
    )


def _asset_of(opportunity: Opportunity) -> str:
    """What the trade is counted in: the opportunity's asset, else its first leg's quote."""
    return opportunity.asset or opportunity.legs[0].symbol.partition("/")[2]


def _exposed(opportunity: Opportunity, results: Sequence[LegResult]) -> tuple[str, ...]:
    """The assets a hedged trade leaves unchanged (but for fees): a cross-exchange trade's base
    (all legs share it), else every asset of the legs but the one the trade is counted in."""
    instruments = [r.order.instrument for r in results]
    counted = _asset_of(opportunity)
    if len({i.base for i in instruments}) == 1:
        return tuple(i for i in (instruments[0].base,) if i != counted)
    assets = dict.fromkeys(a for i in instruments for a in (i.base, i.quote))
    return tuple(a for a in assets if a != counted)


def _pairs_with(instrument: Instrument, asset: str, exposed: Sequence[str]) -> bool:
    """Whether the market trades ``asset`` against an asset that is not itself left open."""
    if asset == instrument.base:
        return instrument.quote not in exposed
    return asset == instrument.quote and instrument.base not in exposed


def _base(result: LegResult) -> float:
    return result.filled_raw / 10.0**result.order.instrument.size_decimals


def _matched(results: Sequence[LegResult], repairs: Sequence[LegResult]) -> bool:
    """Every leg (with its retry) filled as sent, or nothing filled; two legs: as much base
    bought as sold (both partly filled alike is hedged too)."""
    filled = [r.filled_raw for r in results]
    for repair in repairs:
        if repair.retry_of is not None:
            filled[repair.retry_of] += repair.filled_raw
    if not any(filled) or all(f == r.order.size_raw for f, r in zip(filled, results, strict=True)):
        return True
    if len(results) != 2:
        return False
    net = sum((1.0 if r.order.side is _BUY else -1.0) * f
              / 10.0**r.order.instrument.size_decimals
              for f, r in zip(filled, results, strict=True))  # fmt: skip
    return abs(net) <= _EPSILON


def _average_price(result: LegResult) -> float | None:
    """The leg's average fill price (quote per base), else its limit; None if neither."""
    base = _base(result)
    if base and result.filled_quote:
        return result.filled_quote / base
    return result.leg.price if result.leg.price > 0 else None


def _fill_price(done: Sequence[LegResult], asset: str, against: str) -> float | None:
    """``asset`` in units of ``against`` at the first fill of a market pairing them."""
    for result in done:
        instrument = result.order.instrument
        if not result.filled_raw or {instrument.base, instrument.quote} != {asset, against}:
            continue
        price = _average_price(result)
        if price:
            return price if instrument.base == asset else 1.0 / price
    return None


def _dust(result: LegResult, asset: str) -> float:
    """The least of ``asset`` the leg's market can trade: a lot or the minimum quantity (in the
    quote: their value at the leg's price)."""
    instrument = result.order.instrument
    least = max(instrument.lot_size, instrument.min_qty) / 10.0**instrument.size_decimals
    if asset == instrument.base:
        return least
    return least * (_average_price(result) or 0.0)


def _unwind_size(result: LegResult, asset: str, amount: float) -> tuple[OrderSide, int]:
    """The side and raw size that bring ``amount`` of ``asset`` back to zero on the leg's market
    (fees in the asset received: buying back covers its fee, so holdings end within a lot)."""
    instrument = result.order.instrument
    unit, lot = 10**instrument.size_decimals, instrument.lot_size
    keep = 1.0 - instrument.taker_fee
    if asset == instrument.base:
        if amount > 0:  # sell what the account gained
            return OrderSide.SELL, _lots(amount * unit, lot, up=False)
        return OrderSide.BUY, _lots(-amount / keep * unit, lot, up=True)  # received after fee
    price = _average_price(result) or 0.0  # the asset is the quote: size through the price
    if price <= 0:
        return OrderSide.BUY, 0  # nothing to size against: prepare_order refuses it
    if amount > 0:  # spend the quote gained on the base (the counted asset)
        return OrderSide.BUY, _lots(amount / price * unit, lot, up=False)
    return OrderSide.SELL, _lots(-amount / (price * keep) * unit, lot, up=True)


def _lots(raw: float, lot: int, *, up: bool) -> int:
    """A float amount of raw units on the lot grid (exact amounts are not moved by float noise)."""
    lots = raw / lot
    return (math.ceil(lots - 1e-9) if up else math.floor(lots + 1e-9)) * lot


def _worst_price(result: LegResult, side: OrderSide, bps: float) -> int | None:
    """A market order's worst acceptable price (what venues sizing market buys in the quote
    need): the leg's own limit, widened by the retry bound."""
    reference = result.order.price_raw or result.leg.price_raw
    return limit_price(reference, side is OrderSide.BUY, bps) if reference else None


def _flows(results: Sequence[LegResult]) -> dict[str, float]:
    """Each asset's net change: base and quote of every fill, the taker fee charged in the asset
    received (base on a buy, quote on a sell)."""
    flows: dict[str, float] = {}
    for result in results:
        if not result.filled_raw:
            continue
        instrument = result.order.instrument
        base, quote = _base(result), result.filled_quote
        keep = 1.0 - instrument.taker_fee
        if result.order.side is _BUY:
            base_change, quote_change = base * keep, -quote
        else:
            base_change, quote_change = -base, quote * keep
        flows[instrument.base] = flows.get(instrument.base, 0.0) + base_change
        flows[instrument.quote] = flows.get(instrument.quote, 0.0) + quote_change
    return flows


def _dollar_only(asset: str) -> float | None:
    return 1.0 if asset in USD_ASSETS else None
