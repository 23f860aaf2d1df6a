"""Binance spot orders over signed REST: pure builders and parsers, and the client over them.

Pure functions, pinned to the documentation's examples: :func:`order_request` (and the other
request builders), :func:`parse_order`, :func:`check`, :func:`parse_balances`,
:func:`parse_fees`. :class:`BinanceExecution` composes them over
:class:`~arbcore.exchanges.rest.SignedRest` and fills in
:class:`~arbcore.exchanges.trading.VenueTrading`.

Binance deduplicates ``newClientOrderId`` among *open* orders only: once an order has filled,
the same id is accepted again. A blind resend after a timeout could therefore double an order
that filled at once, so placements go through :meth:`~arbcore.exchanges.rest.SignedRest.place`,
which looks the order up by its client id before every resend.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    InvalidOrder,
    MalformedMessage,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.binance import auth, constants
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.exchanges.execution_base import ExecutionSpec, RecvWindowExecution
from arbcore.exchanges.replies import (
    amount_of,
    code_in,
    decimal_of,
    int_of,
    json_or_none,
    raw_decimal,
    request_line,
    retry_after_s,
    scrub,
    status_error_class,
    text_of,
    venue_error,
)
from arbcore.exchanges.rest import (
    find_order,
    settle_missing,
)
from arbcore.exchanges.trading import (
    OrderRequest,
    accepted_order,
    check_client_order_id,
    decimal_text,
    orders_on_known_symbols,
)
from arbcore.model import Balance, Instrument, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore.net.ratelimit import BudgetSpec

if TYPE_CHECKING:
    from arbcore.exchanges.trading import VenueTrading

__all__ = [
    "BinanceExecution",
    "account_request",
    "budgets_from_rate_limits",
    "cancel_request",
    "check",
    "commission_request",
    "is_duplicate",
    "open_orders_request",
    "order_request",
    "order_status",
    "parse_balances",
    "parse_fees",
    "parse_order",
    "parse_server_time",
    "query_request",
]

VENUE = constants.VENUE
_SECRET_HEADERS = (constants.API_KEY_HEADER,)
_SECRET_PARAMS = (constants.SIGNATURE_PARAM,)


def order_request(order: OrderRequest) -> HttpRequest:
    """``POST /api/v3/order``: LIMIT with timeInForce GTC/IOC/FOK, LIMIT_MAKER for post-only,
    or MARKET in base quantity; ``newClientOrderId`` is the order's id, echoed back as
    ``clientOrderId``."""
    instrument = order.instrument
    check_client_order_id(order.client_order_id, constants.CLIENT_ORDER_ID_PATTERN, VENUE)
    params = [("symbol", instrument.native_symbol), ("side", order.side.value.upper())]
    if order.type is OrderType.MARKET:
        if order.time_in_force is TimeInForce.POST_ONLY:
            raise InvalidOrder(f"{order.symbol}: a market order cannot be post-only", venue=VENUE)
        params.append(("type", "MARKET"))
    elif order.time_in_force is TimeInForce.POST_ONLY:
        params.append(("type", constants.POST_ONLY_TYPE))
    else:
        params += [("type", "LIMIT"), ("timeInForce", order.time_in_force.value.upper())]
    params.append(("quantity", decimal_text(order.size_raw, instrument.size_decimals)))
    if order.type is OrderType.LIMIT:
        if order.price_raw is None:
            raise InvalidOrder(f"{order.symbol}: a limit order needs a price", venue=VENUE)
        params.append(("price", decimal_text(order.price_raw, instrument.price_decimals)))
    params += [
        ("newClientOrderId", order.client_order_id),
        ("newOrderRespType", constants.ORDER_RESPONSE_TYPE),
    ]
    return HttpRequest(method="POST", path=constants.ORDER_PATH, params=params,
                       weight=constants.WEIGHT_ORDER, is_order=True)  # fmt: skip


def cancel_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    """``DELETE /api/v3/order`` by ``origClientOrderId`` (cancels do not count as orders)."""
    params = [("symbol", instrument.native_symbol), ("origClientOrderId", client_order_id)]
    return HttpRequest(method="DELETE", path=constants.ORDER_PATH, params=params,
                       weight=constants.WEIGHT_CANCEL)  # fmt: skip


def query_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    """``GET /api/v3/order`` by ``origClientOrderId``."""
    params = [("symbol", instrument.native_symbol), ("origClientOrderId", client_order_id)]
    return HttpRequest(method="GET", path=constants.ORDER_PATH, params=params,
                       weight=constants.WEIGHT_QUERY_ORDER)  # fmt: skip


def open_orders_request(instrument: Instrument | None = None) -> HttpRequest:
    """``GET /api/v3/openOrders``, for one symbol (weight 6) or all (weight 80)."""
    if instrument is None:
        return HttpRequest(method="GET", path=constants.OPEN_ORDERS_PATH,
                           weight=constants.WEIGHT_OPEN_ORDERS_ALL)  # fmt: skip
    return HttpRequest(method="GET", path=constants.OPEN_ORDERS_PATH,
                       params=[("symbol", instrument.native_symbol)],
                       weight=constants.WEIGHT_OPEN_ORDERS_SYMBOL)  # fmt: skip


def account_request() -> HttpRequest:
    """``GET /api/v3/account``, non-zero balances only."""
    return HttpRequest(method="GET", path=constants.ACCOUNT_PATH,
                       params=[("omitZeroBalances", "true")],
                       weight=constants.WEIGHT_ACCOUNT)  # fmt: skip


def commission_request(instrument: Instrument) -> HttpRequest:
    """``GET /api/v3/account/commission`` for one symbol: the account's own rates."""
    return HttpRequest(method="GET", path=constants.COMMISSION_PATH,
                       params=[("symbol", instrument.native_symbol)],
                       weight=constants.WEIGHT_COMMISSION)  # fmt: skip


def order_status(text: str) -> OrderStatus:
    """Binance's order status as arbcore's (constants.ORDER_STATUS)."""
    try:
        return constants.ORDER_STATUS[text]
    except KeyError:
        raise MalformedMessage(f"unknown order status {text!r}", venue=VENUE) from None


def parse_order(body: Any, instrument: Instrument, *, request: OrderRequest | None = None) -> Order:
    """An order reply (placement ACK/RESULT/FULL, query, cancel, open orders) as an Order.

    A cancel reply's ``clientOrderId`` is the cancel's own id; the order's is then
    ``origClientOrderId``. An ACK carries no state: ``request`` (the order it answers)
    supplies side, type, price and size, and the status is OPEN (accepted).
    """
    if not isinstance(body, Mapping):
        raise MalformedMessage("an order reply is not a JSON object", venue=VENUE)
    symbol = text_of(body, "symbol", VENUE)
    if symbol.upper() != instrument.native_symbol.upper():
        raise MalformedMessage(
            f"order on {symbol}, expected {instrument.native_symbol}", venue=VENUE
        )
    client_order_id = body.get("origClientOrderId") or text_of(body, "clientOrderId", VENUE)
    if not isinstance(client_order_id, str):
        raise MalformedMessage("origClientOrderId must be a string", venue=VENUE)
    venue_order_id = str(int_of(body.get("orderId"), "orderId", VENUE))
    stamp = next((body[key] for key in ("time", "transactTime", "workingTime") if key in body), 0)
    ts_created_ns = int_of(stamp, "order time", VENUE) * 1_000_000
    if "status" not in body:
        if request is None:
            raise MalformedMessage(f"order {client_order_id}: the reply carries no state; pass "
                                   "the request it answers", venue=VENUE)  # fmt: skip
        return accepted_order(request, venue_order_id, echoed=client_order_id,
                              ts_created_ns=ts_created_ns)  # fmt: skip
    venue_type = text_of(body, "type", VENUE)
    try:
        order_type = constants.ORDER_TYPES[venue_type]
        time_in_force = (
            TimeInForce.POST_ONLY
            if venue_type == constants.POST_ONLY_TYPE
            else constants.TIME_IN_FORCE[text_of(body, "timeInForce", VENUE)]
        )
        side = OrderSide(text_of(body, "side", VENUE).lower())
    except (KeyError, ValueError) as exc:
        raise MalformedMessage(f"order {client_order_id}: unknown {exc}", venue=VENUE) from None
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=client_order_id,
        side=side,
        type=order_type,
        price_raw=raw_decimal(body.get("price"), instrument.price_decimals, "price", VENUE),
        size_raw=raw_decimal(body.get("origQty"), instrument.size_decimals, "origQty", VENUE),
        time_in_force=time_in_force,
        status=order_status(text_of(body, "status", VENUE)),
        filled_raw=raw_decimal(
            body.get("executedQty"), instrument.size_decimals, "executedQty", VENUE
        ),
        venue_order_id=venue_order_id,
        ts_created_ns=ts_created_ns,
        # negative on orders older than the field: unknown
        filled_quote=max(amount_of(body, "cummulativeQuoteQty", VENUE), 0.0),
    )


def parse_balances(body: Any) -> list[Balance]:
    """``GET /api/v3/account`` ``balances`` as Balances (free and locked per asset)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("balances"), list):
        raise MalformedMessage("the account reply has no balances array", venue=VENUE)
    balances = []
    for entry in body["balances"]:
        if not isinstance(entry, Mapping):
            raise MalformedMessage("a balance is not a JSON object", venue=VENUE)
        balances.append(
            Balance(
                venue=VENUE,
                asset=text_of(entry, "asset", VENUE),
                free=float(decimal_of(entry.get("free"), "free", VENUE)),
                locked=float(decimal_of(entry.get("locked"), "locked", VENUE)),
            )
        )
    return balances


def parse_fees(body: Any, instrument: Instrument) -> tuple[float, float]:
    """``(maker, taker)`` from ``GET /api/v3/account/commission``.

    Per commission_faq.md a trade pays, in each of standard, tax and special commission, the
    role's rate plus the side's (buyer or seller). Without the side, the larger side rate is
    added, so the figure never understates the cost; the BNB discount is conditional (paying
    in BNB with enough BNB held) and is not applied.
    """
    if not isinstance(body, Mapping):
        raise MalformedMessage("the commission reply is not a JSON object", venue=VENUE)
    symbol = text_of(body, "symbol", VENUE)
    if symbol.upper() != instrument.native_symbol.upper():
        raise MalformedMessage(f"commission for {symbol}, expected {instrument.native_symbol}",
                               venue=VENUE)  # fmt: skip
    maker = taker = Decimal(0)
    for kind in ("standardCommission", "taxCommission", "specialCommission"):
        rates = body.get(kind)
        if rates is None and kind != "standardCommission":
            continue  # specialCommission is recent; older replies lack it
        if not isinstance(rates, Mapping):
            raise MalformedMessage(f"{kind} must be an object, was {rates!r}", venue=VENUE)
        side = max(
            decimal_of(rates.get(key), f"{kind}.{key}", VENUE) for key in ("buyer", "seller")
        )
        maker += decimal_of(rates.get("maker"), f"{kind}.maker", VENUE) + side
        taker += decimal_of(rates.get("taker"), f"{kind}.taker", VENUE) + side
    return float(maker), float(taker)


def parse_server_time(body: Any) -> int:
    """``GET /api/v3/time``: ``serverTime`` in ms."""
    if not isinstance(body, Mapping):
        raise MalformedMessage("the time reply is not a JSON object", venue=VENUE)
    return int_of(body.get("serverTime"), "serverTime", VENUE)


def budgets_from_rate_limits(rate_limits: Any) -> tuple[BudgetSpec, ...]:
    """exchangeInfo's ``rateLimits`` (the venue's current budgets) as BudgetSpecs."""
    if not isinstance(rate_limits, list):
        raise MalformedMessage("rateLimits is not a JSON array", venue=VENUE)
    specs = []
    for item in rate_limits:
        if not isinstance(item, Mapping):
            raise MalformedMessage("a rate limit is not a JSON object", venue=VENUE)
        kind = text_of(item, "rateLimitType", VENUE)
        interval = text_of(item, "interval", VENUE)
        count = int_of(item.get("intervalNum"), "intervalNum", VENUE)
        known = kind in constants.RATE_LIMIT_UNITS and interval in constants.RATE_LIMIT_INTERVAL_S
        if not known:
            raise MalformedMessage(f"unknown rate limit {kind} per {interval}", venue=VENUE)
        specs.append(
            BudgetSpec(
                f"{kind} {count}{interval[0].lower()}",
                int_of(item.get("limit"), "limit", VENUE),
                constants.RATE_LIMIT_INTERVAL_S[interval] * count,
                constants.RATE_LIMIT_UNITS[kind],
            )
        )
    return tuple(specs)


def check(response: httpx.Response) -> ExchangeError | None:
    """Binance's verdict on a reply: None for a success, else the matching ExchangeError.

    Errors are ``{"code": <negative>, "msg": ...}`` with a 4xx/5xx status; 429 and 418 (IP
    ban) carry ``Retry-After``; 403 is the WAF; a 5xx means the outcome is unknown.
    """
    status = response.status_code
    code, msg = _error_body(response)
    if status < 400 and code is None:
        return None
    kind = status_error_class(status)
    if code is not None and kind is not RateLimitExceeded:
        kind = _coded_error_kind(code, msg)
    elif status == 403 and code is None:
        kind = AuthenticationError
        msg = "refused by the venue's web application firewall (WAF)"
    text = scrub(msg or response.reason_phrase or "request failed", response,
                 headers=_SECRET_HEADERS, params=_SECRET_PARAMS)  # fmt: skip
    return venue_error(kind, f"{request_line(response)}: {text}", venue=VENUE,
                       http_status=status, venue_code=code,
                       retry_after=retry_after_s(response.headers))  # fmt: skip


def _error_body(response: httpx.Response) -> tuple[int | None, str]:
    """``(code, msg)`` of an error body; ``(None, "")`` when the body is not one (success
    bodies never carry a negative ``code``)."""
    payload = json_or_none(response)
    code = payload.get("code") if isinstance(payload, Mapping) else None
    if not isinstance(code, int) or isinstance(code, bool) or code >= 0:
        return None, ""
    return code, str(payload.get("msg") or "")


def _coded_error_kind(code: int, msg: str) -> type[ExchangeError]:
    by_message = constants.ERROR_MESSAGES.get(msg) if code in (-1010, -2010, -2011) else None
    if by_message is not None:
        return by_message
    if code in constants.ERROR_CODES:
        return constants.ERROR_CODES[code]
    return InvalidOrder if code in constants.REQUEST_ERROR_CODES else ExchangeError


def is_duplicate(error: ExchangeError) -> bool:
    """The placement was refused because its client order id is in use (by the same order)."""
    return error.venue_code == -2010 and constants.DUPLICATE_ORDER_MESSAGE in str(error)


# ----------------------------------------------------------------------------------------------
# The client


def _accept(body: Any, order: OrderRequest) -> Order:
    return parse_order(body, order.instrument, request=order)


class BinanceExecution(RecvWindowExecution):
    """Binance spot trading over signed REST (:class:`RestExecution`).

    A ``-1021`` timestamp refusal resyncs with ``GET /api/v3/time`` and resends by itself; the
    placement reply is the order (FULL response), so an IOC is final at once.
    """

    spec = ExecutionSpec(
        venue=VENUE,
        base_url=constants.REST_BASE_URL,
        check=check,
        rate_limits=constants.RATE_LIMITS,
        sign=auth.sign,
        order_request=order_request,
        accept=_accept,
        instruments_request=HttpRequest(
            method="GET", path=constants.INSTRUMENTS_PATH, weight=constants.WEIGHT_EXCHANGE_INFO
        ),
        parse_instruments=parse_instruments,
        is_duplicate=is_duplicate,
        time_request=HttpRequest(
            method="GET", path=constants.TIME_PATH, weight=constants.WEIGHT_TIME
        ),
        server_time_ms=parse_server_time,
        is_clock_error=code_in((constants.TIMESTAMP_ERROR_CODE,)),
        recv_window_ms=constants.RECV_WINDOW_MS,
        max_recv_window_ms=constants.MAX_RECV_WINDOW_MS,
    )

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """Cancel (the reply is the order); one already filled or gone comes back final."""
        try:
            body = await self.rest.send(cancel_request(instrument, client_order_id))
        except OrderNotFound as error:
            return await settle_missing(error, lambda: find_order(self, instrument,
                                                                  client_order_id))  # fmt: skip
        return parse_order(body, instrument)

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        return parse_order(await self.rest.send(query_request(instrument, client_order_id)),
                           instrument)  # fmt: skip

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        body = await self.rest.send(open_orders_request(instrument))
        return orders_on_known_symbols(body, self.symbols, parse_order, venue=VENUE)

    async def fetch_balances(self) -> list[Balance]:
        return parse_balances(await self.rest.send(account_request()))

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        return parse_fees(await self.rest.send(commission_request(instrument)), instrument)


if TYPE_CHECKING:  # mypy proves the class fills the shared contract

    def _is_venue_trading(execution: BinanceExecution) -> VenueTrading:
        return execution
