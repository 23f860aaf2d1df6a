"""Bybit v5 spot orders over signed REST: pure builders and parsers, and the client over them.

Pure functions, pinned to the documentation's examples: :func:`order_request` (and the other
request builders), :func:`parse_order`, :func:`check`, :func:`parse_balances`,
:func:`parse_fees`. :class:`BybitExecution` composes them over
:class:`~arbcore.exchanges.rest.SignedRest` (clock sync, signed sends, placement that never
doubles an order).

Bybit answers almost every error with HTTP 200 and a non-zero ``retCode``; placement and
cancel replies are acknowledgements (ids only): the order's state is read back by
``orderLinkId``. Spot market orders are sized in the base coin (``marketUnit=baseCoin``, for
the unified trading account) because a market buy defaults to a quote-coin amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx

from arbcore.errors import (
    ExchangeError,
    InvalidOrder,
    MalformedMessage,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.bybit import auth, constants
from arbcore.exchanges.bybit.providers import parse_instruments
from arbcore.exchanges.execution_base import ExecutionSpec, RecvWindowExecution
from arbcore.exchanges.replies import (
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
    JSON_CONTENT,
    compact_json,
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

if TYPE_CHECKING:
    from arbcore.exchanges.trading import VenueTrading

__all__ = [
    "BybitExecution",
    "balances_request",
    "cancel_request",
    "check",
    "fee_request",
    "is_duplicate",
    "open_orders_request",
    "order_request",
    "order_status",
    "parse_balances",
    "parse_fees",
    "parse_order",
    "parse_server_time",
    "query_request",
    "result_of",
]

VENUE = constants.VENUE
_SECRET_HEADERS = (constants.API_KEY_HEADER, constants.SIGN_HEADER)
_TIME_IN_FORCE_TEXT = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
                       TimeInForce.POST_ONLY: "PostOnly"}  # fmt: skip


def result_of(payload: Any) -> Mapping[str, Any]:
    """The ``result`` object of a successful ``{"retCode": 0, "result": {...}}`` envelope."""
    if not isinstance(payload, Mapping) or payload.get("retCode") != constants.OK_CODE:
        raise MalformedMessage("the reply is not a successful Bybit envelope", venue=VENUE)
    result = payload.get("result")
    if not isinstance(result, Mapping):
        raise MalformedMessage("the reply has no result object", venue=VENUE)
    return result


def order_request(order: OrderRequest) -> HttpRequest:
    """``POST /v5/order/create``: Limit with GTC/IOC/FOK/PostOnly, or Market (always IOC) sized in
    the base coin; ``orderLinkId`` is the order's id, echoed back and unique at Bybit."""
    instrument = order.instrument
    check_client_order_id(order.client_order_id, constants.CLIENT_ORDER_ID_PATTERN, VENUE)
    fields: dict[str, object] = {
        "category": constants.SPOT_CATEGORY,
        "symbol": instrument.native_symbol,
        "side": order.side.value.capitalize(),
        "orderType": "Limit" if order.type is OrderType.LIMIT else "Market",
        "qty": decimal_text(order.size_raw, instrument.size_decimals),
    }
    if order.type is OrderType.LIMIT:
        if order.price_raw is None:
            raise InvalidOrder(f"{order.symbol}: a limit order needs a price", venue=VENUE)
        fields["price"] = decimal_text(order.price_raw, instrument.price_decimals)
        fields["timeInForce"] = _TIME_IN_FORCE_TEXT[order.time_in_force]
    else:
        if order.time_in_force is TimeInForce.POST_ONLY:
            raise InvalidOrder(f"{order.symbol}: a market order cannot be post-only", venue=VENUE)
        fields["marketUnit"] = constants.MARKET_UNIT_BASE
        fields["timeInForce"] = "IOC"
    fields.update(orderLinkId=order.client_order_id, isLeverage=0, orderFilter="Order")
    return HttpRequest(method="POST", path=constants.ORDER_CREATE_PATH, body=compact_json(fields),
                       headers=[JSON_CONTENT], is_order=True)  # fmt: skip


def cancel_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    """``POST /v5/order/cancel`` by ``orderLinkId`` (counts against the order budget)."""
    fields = {"category": constants.SPOT_CATEGORY, "symbol": instrument.native_symbol,
              "orderLinkId": client_order_id}  # fmt: skip
    return HttpRequest(method="POST", path=constants.ORDER_CANCEL_PATH, body=compact_json(fields),
                       headers=[JSON_CONTENT], is_order=True)  # fmt: skip


def query_request(
    instrument: Instrument, client_order_id: str, *, history: bool = False
) -> HttpRequest:
    """The order by ``orderLinkId``: ``/v5/order/realtime`` (open and the last 500 closed)
    or ``/v5/order/history``."""
    path = constants.ORDER_HISTORY_PATH if history else constants.ORDER_REALTIME_PATH
    params = [("category", constants.SPOT_CATEGORY), ("symbol", instrument.native_symbol),
              ("orderLinkId", client_order_id)]  # fmt: skip
    return HttpRequest(method="GET", path=path, params=params)


def open_orders_request(
    instrument: Instrument | None = None, cursor: str | None = None
) -> HttpRequest:
    """One page of ``GET /v5/order/realtime`` (open orders only, the default ``openOnly=0``).

    ``nextPageCursor`` arrives percent-encoded; it is decoded here so that the query string
    sent (and signed) carries it encoded once, as received.
    """
    params = [("category", constants.SPOT_CATEGORY)]
    if instrument is not None:
        params.append(("symbol", instrument.native_symbol))
    params.append(("limit", str(constants.PAGE_LIMIT)))
    if cursor:
        params.append(("cursor", unquote(cursor)))
    return HttpRequest(method="GET", path=constants.ORDER_REALTIME_PATH, params=params)


def balances_request() -> HttpRequest:
    """``GET /v5/account/wallet-balance`` of the unified account (non-zero coins)."""
    return HttpRequest(method="GET", path=constants.WALLET_BALANCE_PATH,
                       params=[("accountType", constants.ACCOUNT_TYPE)])  # fmt: skip


def fee_request(instrument: Instrument) -> HttpRequest:
    """``GET /v5/account/fee-rate`` for one spot symbol: the account's own rates."""
    return HttpRequest(method="GET", path=constants.FEE_RATE_PATH,
                       params=[("category", constants.SPOT_CATEGORY),
                               ("symbol", instrument.native_symbol)])  # fmt: skip


def order_status(text: str) -> OrderStatus:
    """Bybit's ``orderStatus`` as arbcore's (constants.ORDER_STATUS)."""
    try:
        return constants.ORDER_STATUS[text]
    except KeyError:
        raise MalformedMessage(f"unknown order status {text!r}", venue=VENUE) from None


def parse_order(body: Any, instrument: Instrument, *, request: OrderRequest | None = None) -> Order:
    """One order object (an entry of ``result.list``, or a placement's ``result``) as an Order.

    A placement's result holds only ``orderId`` and ``orderLinkId``: ``request`` (the order it
    answers) supplies the rest, and the order is open (accepted; Bybit confirms asynchronously).
    An order cancelled for want of a full fill (``rejectReason`` EC_CancelForNoFullFill: a FOK)
    is EXPIRED.
    """
    if not isinstance(body, Mapping):
        raise MalformedMessage("an order is not a JSON object", venue=VENUE)
    symbol = body.get("symbol", instrument.native_symbol)
    if not isinstance(symbol, str) or symbol.upper() != instrument.native_symbol.upper():
        raise MalformedMessage(f"order on {symbol}, expected {instrument.native_symbol}",
                               venue=VENUE)  # fmt: skip
    client_order_id = text_of(body, "orderLinkId", VENUE, required=False)
    venue_order_id = text_of(body, "orderId", VENUE)
    stamp = body.get("createdTime", "0")
    ts_created_ns = int_of(stamp, "createdTime", VENUE) * 1_000_000
    if "orderStatus" not in body:
        if request is None:
            raise MalformedMessage(f"order {client_order_id}: the reply carries no state; pass "
                                   "the request it answers", venue=VENUE)  # fmt: skip
        return accepted_order(request, venue_order_id, echoed=client_order_id,
                              ts_created_ns=ts_created_ns)  # fmt: skip
    try:
        order_type = constants.ORDER_TYPES[text_of(body, "orderType", VENUE)]
        time_in_force = constants.TIME_IN_FORCE[text_of(body, "timeInForce", VENUE)]
        side = OrderSide(text_of(body, "side", VENUE).lower())
    except (KeyError, ValueError) as exc:
        raise MalformedMessage(f"order {client_order_id}: unknown {exc}", venue=VENUE) from None
    if order_type is OrderType.MARKET and body.get("marketUnit") == constants.MARKET_UNIT_QUOTE:
        raise MalformedMessage(
            f"order {client_order_id}: a market order sized in the quote coin has no base size",
            venue=VENUE,
        )
    status = order_status(text_of(body, "orderStatus", VENUE))
    if status is OrderStatus.CANCELED and body.get("rejectReason") == constants.NO_FULL_FILL_REJECT:
        status = OrderStatus.EXPIRED
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=client_order_id,
        side=side,
        type=order_type,
        price_raw=raw_decimal(
            body.get("price"), instrument.price_decimals, "price", VENUE, empty_is_zero=True
        ),
        size_raw=raw_decimal(body.get("qty"), instrument.size_decimals, "qty", VENUE),
        time_in_force=time_in_force,
        status=status,
        filled_raw=raw_decimal(
            body.get("cumExecQty"),
            instrument.size_decimals,
            "cumExecQty",
            VENUE,
            empty_is_zero=True,
        ),
        venue_order_id=venue_order_id,
        ts_created_ns=ts_created_ns,
    )


def orders_page(result: Mapping[str, Any]) -> tuple[list[Any], str]:
    """``(result.list, nextPageCursor)`` of an order list ("" when it is the last page)."""
    entries = result.get("list")
    if not isinstance(entries, list):
        raise MalformedMessage("result.list is not a JSON array", venue=VENUE)
    cursor = result.get("nextPageCursor") or ""
    if not isinstance(cursor, str):
        raise MalformedMessage("nextPageCursor must be a string", venue=VENUE)
    return entries, cursor


def parse_balances(result: Mapping[str, Any]) -> list[Balance]:
    """Wallet-balance ``result`` as Balances: locked is ``locked`` (held by open spot orders),
    free is the wallet balance less it (never below zero)."""
    accounts = result.get("list")
    if not isinstance(accounts, list):
        raise MalformedMessage("result.list is not a JSON array", venue=VENUE)
    balances = []
    for account in accounts:
        coins = account.get("coin") if isinstance(account, Mapping) else None
        if not isinstance(coins, list):
            raise MalformedMessage("an account has no coin array", venue=VENUE)
        for coin in coins:
            if not isinstance(coin, Mapping):
                raise MalformedMessage("a coin is not a JSON object", venue=VENUE)
            wallet = decimal_of(coin.get("walletBalance"), "walletBalance", VENUE)
            locked = decimal_of(coin.get("locked", "0"), "locked", VENUE)
            balances.append(Balance(venue=VENUE, asset=text_of(coin, "coin", VENUE),
                                    free=float(max(wallet - locked, Decimal(0))),
                                    locked=float(locked)))  # fmt: skip
    return balances


def parse_fees(result: Mapping[str, Any], instrument: Instrument) -> tuple[float, float]:
    """``(maker, taker)`` of the instrument from a fee-rate ``result``."""
    entries = result.get("list")
    if not isinstance(entries, list):
        raise MalformedMessage("result.list is not a JSON array", venue=VENUE)
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("symbol") == instrument.native_symbol:
            maker = decimal_of(entry.get("makerFeeRate"), "makerFeeRate", VENUE)
            taker = decimal_of(entry.get("takerFeeRate"), "takerFeeRate", VENUE)
            return float(maker), float(taker)
    raise MalformedMessage(f"no fee rate for {instrument.native_symbol}", venue=VENUE)


def parse_server_time(payload: Any) -> int:
    """``GET /v5/market/time``: the server time in ms, from ``timeNano``."""
    result = result_of(payload)
    if "timeNano" in result:
        return int_of(result["timeNano"], "timeNano", VENUE) // 1_000_000
    return int_of(result.get("timeSecond"), "timeSecond", VENUE) * 1000


def check(response: httpx.Response) -> ExchangeError | None:
    """Bybit's verdict on a reply: None for a success, else the matching ExchangeError.

    Errors normally come with HTTP 200 and a non-zero ``retCode``. HTTP 403 is the IP ban
    that follows breaking the 600 requests/5 s IP limit (usually 30 minutes); 429 is system
    protection; a 5xx means the venue is unavailable and the outcome unknown.
    """
    status = response.status_code
    payload = json_or_none(response)
    code = payload.get("retCode") if isinstance(payload, Mapping) else None
    coded = isinstance(code, int) and not isinstance(code, bool) and code != constants.OK_CODE
    if status < 400 and not coded:
        return None
    msg = str(payload.get("retMsg") or "") if coded and isinstance(payload, Mapping) else ""
    retry_after = retry_after_s(response.headers)
    if status == 403:
        kind: type[ExchangeError] = RateLimitExceeded
        msg = "the IP rate limit was broken and the IP is banned (usually 30 minutes)"
        retry_after = constants.IP_BAN_S
    elif coded and isinstance(code, int) and status not in (418, 429):
        kind = constants.ERROR_CODES.get(code, ExchangeError)
        if kind is RateLimitExceeded:
            retry_after = _limit_reset_s(response, payload)
    else:
        kind = status_error_class(status)
    text = scrub(msg or response.reason_phrase or "request failed", response,
                 headers=_SECRET_HEADERS)  # fmt: skip
    return venue_error(kind, f"{request_line(response)}: {text}", venue=VENUE, http_status=status,
                       venue_code=code if coded else None, retry_after=retry_after)  # fmt: skip


def _limit_reset_s(response: httpx.Response, payload: Any) -> float | None:
    """Seconds until the per-UID limit resets: the reset header (ms) less the reply's own
    server ``time`` (ms), so no local clock is involved."""
    reset = response.headers.get(constants.LIMIT_RESET_HEADER, "")
    now = payload.get("time") if isinstance(payload, Mapping) else None
    if not reset.isdigit() or not isinstance(now, int):
        return retry_after_s(response.headers)
    return max(0.0, (int(reset) - now) / 1000)


def is_duplicate(error: ExchangeError) -> bool:
    """The placement was refused because its ``orderLinkId`` is already in use."""
    return error.venue_code in constants.DUPLICATE_ORDER_CODES


def _accept(payload: Any, order: OrderRequest) -> Order:
    return parse_order(result_of(payload), order.instrument, request=order)


class BybitExecution(RecvWindowExecution):
    """Bybit v5 spot trading over signed REST (:class:`RestExecution`), unified account.

    A 10002 timestamp refusal resyncs with ``/v5/market/time`` and resends; a cancel is read
    back (Bybit acknowledges it before it is done).
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
            method="GET",
            path=constants.INSTRUMENTS_PATH,
            params=[("category", constants.SPOT_CATEGORY)],
        ),
        parse_instruments=parse_instruments,
        is_duplicate=is_duplicate,
        cancel_request=cancel_request,
        time_request=HttpRequest(method="GET", path=constants.TIME_PATH),
        server_time_ms=parse_server_time,
        is_clock_error=code_in((constants.TIMESTAMP_ERROR_CODE,)),
        recv_window_ms=constants.RECV_WINDOW_MS,
    )

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """By ``orderLinkId``: realtime (open and recent), then history."""
        for history in (False, True):
            request = query_request(instrument, client_order_id, history=history)
            entries, _ = orders_page(result_of(await self.rest.send(request)))
            for entry in entries:
                if isinstance(entry, Mapping) and entry.get("orderLinkId") == client_order_id:
                    return parse_order(entry, instrument)
        raise OrderNotFound(f"no order {client_order_id} on {instrument.native_symbol}",
                            venue=VENUE)  # fmt: skip

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        """Every open spot order (following ``nextPageCursor``)."""
        orders: list[Order] = []
        cursor: str | None = None
        for _ in range(constants.MAX_PAGES):
            result = result_of(await self.rest.send(open_orders_request(instrument, cursor)))
            entries, cursor = orders_page(result)
            orders += orders_on_known_symbols(entries, self.symbols, parse_order, venue=VENUE)
            if not cursor or not entries:
                return orders
        raise MalformedMessage(f"open orders run past {constants.MAX_PAGES} pages", venue=VENUE)

    async def fetch_balances(self) -> list[Balance]:
        return parse_balances(result_of(await self.rest.send(balances_request())))

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        return parse_fees(result_of(await self.rest.send(fee_request(instrument))), instrument)


if TYPE_CHECKING:  # mypy proves the class fills the shared contract

    def _is_venue_trading(execution: BybitExecution) -> VenueTrading:
        return execution
