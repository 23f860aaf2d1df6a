"""HTX spot trading over REST: orders, balances and fees; HTX's states and errors -> arbcore's.

Pure functions do the protocol and are pinned to the documentation's examples:
:func:`order_request` (an :class:`~arbcore.exchanges.trading.OrderRequest` -> the signed-to-be
placement), :func:`parse_order`, :func:`order_status`, :func:`check` (every reply -> its
:class:`~arbcore.errors.ExchangeError` or None), :func:`parse_balances`, :func:`parse_fees`.
:class:`HtxExecution` composes them over :class:`~arbcore.exchanges.rest.SignedRest`.

HTX specifics that shape the code:

- Errors mostly arrive with HTTP 200: ``{"status":"error","err-code":...,"err-msg":...}``, and
  the v2 endpoints' ``{"code": 1003, "message": ...}``.
- ``client-order-id`` is echoed (order detail, open orders) but no longer checked for
  uniqueness, so a placement whose outcome is unknown is looked up by its client order id
  before it is sent again (:meth:`~arbcore.exchanges.rest.SignedRest.place`), never blindly
  resent.
- Placement answers only the order id; the state comes from ``getClientOrder``. A cancel only
  submits the request: :meth:`HtxExecution.cancel_order` reads the order back, which may still
  say ``canceling`` (open) until the venue confirms.
- Market buys are sized in the quote asset: give ``price_raw`` (the worst acceptable price)
  and the amount sent is price x size.
- Every order belongs to an ``account-id`` (the spot account), fetched once from the venue
  unless given.
- The key and the signature travel in the URL: ``arbcore.net.http`` keeps query strings out of
  httpx's log lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Unpack
from urllib.parse import urlsplit

import httpx

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeNotAvailable,
    InvalidOrder,
    MalformedMessage,
    OrderNotFound,
)
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.execution_base import ExecutionOptions, ExecutionSpec, RestExecution
from arbcore.exchanges.htx import auth, constants, providers
from arbcore.exchanges.replies import (
    error_class,
    int_of,
    json_or_none,
    raw_decimal,
    request_line,
    retry_after_s,
    scrub,
    status_error,
    text_of,
    venue_error,
)
from arbcore.exchanges.rest import (
    JSON_CONTENT,
    compact_json,
)
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import (
    OrderRequest,
    accepted_order,
    decimal_text,
    orders_on_known_symbols,
    quote_amount,
)
from arbcore.model import (
    Balance,
    Instrument,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from arbcore.net.http import HttpRequest

__all__ = [
    "HtxExecution",
    "check",
    "is_clock_error",
    "order_request",
    "order_status",
    "parse_account_id",
    "parse_balances",
    "parse_fees",
    "parse_open_orders",
    "parse_order",
    "parse_server_time",
]

VENUE = constants.VENUE

# --- HTX: the pure protocol -------------------------------------------------------------------

_CLIENT_ORDER_ID = re.compile(constants.CLIENT_ORDER_ID_PATTERN)
_SECRET_PARAMS = (auth.KEY_PARAM, auth.SIGNATURE_PARAM)

#: The part of ``type`` after the side -> (order type, time in force). Stop orders (not sent by
#: arbcore) read as what they become once triggered. An unfilled FOK ends ``canceled`` with
#: ``canceled-source`` fok: EXPIRED (constants.CANCELED_SOURCES).
_KINDS: Mapping[str, tuple[OrderType, TimeInForce]] = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "limit-maker": (OrderType.LIMIT, TimeInForce.POST_ONLY),
    "market": (OrderType.MARKET, TimeInForce.IOC),
    "limit-fok": (OrderType.LIMIT, TimeInForce.FOK),
    "stop-limit": (OrderType.LIMIT, TimeInForce.GTC),
    "stop-limit-fok": (OrderType.LIMIT, TimeInForce.FOK),
}
_LIMIT_KINDS = {
    TimeInForce.GTC: "limit",
    TimeInForce.IOC: "ioc",
    TimeInForce.POST_ONLY: "limit-maker",
    TimeInForce.FOK: "limit-fok",
}


def order_request(order: OrderRequest, *, account_id: str) -> HttpRequest:
    """``POST /v1/order/orders/place`` for an order, fields in the docs' example order.

    Limit GTC is ``buy-limit``, IOC ``buy-ioc``, FOK ``buy-limit-fok``, post-only
    ``buy-limit-maker``; market orders are ``buy-market`` (amount in the quote asset, see
    :func:`quote_amount`) or ``sell-market`` (amount in the base asset).
    """
    instrument = order.instrument
    if not _CLIENT_ORDER_ID.fullmatch(order.client_order_id):
        raise InvalidOrder(
            f"client order id {order.client_order_id!r}: HTX takes 1-64 letters, digits, _ or -",
            venue=VENUE,
        )
    fields: dict[str, str] = {"account-id": account_id}
    if order.type is OrderType.MARKET:
        if order.time_in_force is TimeInForce.POST_ONLY:
            raise InvalidOrder(f"{order.symbol}: a market order cannot be post-only", venue=VENUE)
        if order.side is OrderSide.BUY:
            fields["amount"] = decimal_text(quote_amount(order), instrument.price_decimals)
        else:
            fields["amount"] = decimal_text(order.size_raw, instrument.size_decimals)
        kind = "market"
    else:
        if order.price_raw is None:
            raise InvalidOrder(f"{order.symbol}: a limit order needs a price", venue=VENUE)
        fields["amount"] = decimal_text(order.size_raw, instrument.size_decimals)
        fields["price"] = decimal_text(order.price_raw, instrument.price_decimals)
        kind = _LIMIT_KINDS[order.time_in_force]
    fields["source"] = constants.ORDER_SOURCE
    fields["symbol"] = instrument.native_symbol
    fields["type"] = f"{order.side.value}-{kind}"
    fields["client-order-id"] = order.client_order_id
    return HttpRequest(
        method="POST",
        path=constants.PLACE_ORDER_PATH,
        body=compact_json(fields),
        headers=(JSON_CONTENT,),
        is_order=True,
    )


def order_status(
    state: str, *, filled_raw: int = 0, canceled_source: str | None = None
) -> OrderStatus:
    """An HTX order ``state`` as an OrderStatus (constants.ORDER_STATES).

    An open state with a fill is partially filled; a cancel the venue made by the order's own
    rule (``canceled-source`` ioc, fok, market, limit_maker) is expired or rejected.
    """
    status = constants.ORDER_STATES.get(state)
    if status is None:
        raise MalformedMessage(f"unknown order state {state!r}", venue=VENUE)
    if status is OrderStatus.OPEN and filled_raw > 0:
        return OrderStatus.PARTIALLY_FILLED
    if status is OrderStatus.CANCELED and canceled_source:
        return constants.CANCELED_SOURCES.get(canceled_source, status)
    return status


def _data(body: Any, what: str) -> Any:
    """The ``data`` of a successful v1 envelope ``{"status":"ok","data":...}``."""
    if not isinstance(body, Mapping) or body.get("status") != constants.OK_STATUS:
        raise MalformedMessage(f"{what}: not a successful HTX reply", venue=VENUE)
    return body.get("data")


def parse_order(body: Any, instrument: Instrument) -> Order:
    """An order detail (``getClientOrder``, ``openOrders`` entry; enveloped or not) -> Order.

    Filled size is ``field-amount`` (order detail) or ``filled-amount`` (open orders). A
    market buy's ``amount`` is quote value, so its size is what it filled. Exact: prices and
    sizes come from HTX's 18-decimal text, whose padding zeros are dropped, never rounded.
    """
    entry = body.get("data") if isinstance(body, Mapping) and "state" not in body else body
    if not isinstance(entry, Mapping):
        raise MalformedMessage("order detail is not a JSON object", venue=VENUE)
    native = text_of(entry, "symbol", VENUE)
    if native.lower() != instrument.native_symbol.lower():
        raise MalformedMessage(
            f"order is for {native}, not {instrument.native_symbol}", venue=VENUE
        )
    side_text, _, kind = text_of(entry, "type", VENUE).partition("-")
    if side_text not in ("buy", "sell") or kind not in _KINDS:
        raise MalformedMessage(f"unknown order type {entry.get('type')!r}", venue=VENUE)
    side = OrderSide(side_text)
    order_type, time_in_force = _KINDS[kind]
    filled_key = "field-amount" if "field-amount" in entry else "filled-amount"
    filled = raw_decimal(entry.get(filled_key, "0"), instrument.size_decimals, filled_key, VENUE)
    price = 0  # a market order has none
    if order_type is OrderType.LIMIT:
        price = raw_decimal(entry.get("price"), instrument.price_decimals, "price", VENUE)
    if order_type is OrderType.MARKET and side is OrderSide.BUY:
        size = filled  # its amount is quote value
    else:
        size = raw_decimal(entry.get("amount"), instrument.size_decimals, "amount", VENUE)
    source = entry.get("canceled-source")
    client_order_id = entry.get("client-order-id")
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=client_order_id if isinstance(client_order_id, str) else "",
        side=side,
        type=order_type,
        price_raw=price,
        size_raw=size,
        time_in_force=time_in_force,
        status=order_status(
            text_of(entry, "state", VENUE),
            filled_raw=filled,
            canceled_source=source if isinstance(source, str) else None,
        ),
        filled_raw=filled,
        venue_order_id=str(int_of(entry.get("id"), "id", VENUE)),
        ts_created_ns=int_of(entry.get("created-at", 0), "created-at", VENUE) * 1_000_000,
    )


def parse_open_orders(body: Any, symbols: SymbolMap) -> list[Order]:
    """``GET /v1/order/openOrders`` -> Orders (entries for symbols not in the map are skipped)."""
    return orders_on_known_symbols(_data(body, "open orders"), symbols, parse_order, venue=VENUE)


def parse_account_id(body: Any) -> str:
    """The working spot account's id from ``GET /v1/account/accounts``."""
    entries = _data(body, "accounts")
    for entry in entries if isinstance(entries, list) else ():
        if (
            isinstance(entry, Mapping)
            and entry.get("type") == constants.SPOT_ACCOUNT_TYPE
            and entry.get("state") == "working"
        ):
            return str(int_of(entry.get("id"), "id", VENUE))
    raise AuthenticationError(
        "this API key has no working spot account; enable spot trading for it", venue=VENUE
    )


def parse_balances(body: Any) -> list[Balance]:
    """``GET /v1/account/accounts/{id}/balance`` -> one Balance per currency held.

    HTX lists a currency once per balance type: ``trade`` is free, ``frozen`` and ``lock`` are
    locked (loans and interest are not holdings). Currencies with nothing are left out.
    """
    data = _data(body, "balance")
    entries = data.get("list") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise MalformedMessage("balance: data.list is not a list", venue=VENUE)
    free: dict[str, float] = {}
    locked: dict[str, float] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise MalformedMessage("balance entry is not a JSON object", venue=VENUE)
        kind = entry.get("type")
        target = free if kind == "trade" else locked if kind in ("frozen", "lock") else None
        if target is None:
            continue
        asset = text_of(entry, "currency", VENUE).upper()
        target[asset] = target.get(asset, 0.0) + float(text_of(entry, "balance", VENUE))
    return [
        Balance(venue=VENUE, asset=asset, free=free.get(asset, 0.0), locked=locked.get(asset, 0.0))
        for asset in sorted(free.keys() | locked.keys())
        if free.get(asset, 0.0) or locked.get(asset, 0.0)
    ]


def parse_fees(body: Any, native_symbol: str) -> tuple[float, float]:
    """``GET /v2/reference/transact-fee-rate`` -> (maker, taker) fractions for one symbol.

    The ``actual*`` rates (after deductions) when present, else the base rates; a negative
    maker rate is a rebate.
    """
    if not isinstance(body, Mapping) or body.get("code") != constants.V2_OK_CODE:
        raise MalformedMessage("fee rate: not a successful HTX v2 reply", venue=VENUE)
    for entry in body.get("data") or ():
        if isinstance(entry, Mapping) and str(entry.get("symbol")).lower() == native_symbol.lower():
            maker = entry.get("actualMakerRate") or text_of(entry, "makerFeeRate", VENUE)
            taker = entry.get("actualTakerRate") or text_of(entry, "takerFeeRate", VENUE)
            return float(maker), float(taker)
    raise MalformedMessage(f"fee rate: no entry for {native_symbol}", venue=VENUE)


def parse_server_time(body: Any) -> int:
    """``GET /v1/common/timestamp`` -> the server's time in ms."""
    value = _data(body, "server time")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessage(f"server time must be an integer, was {value!r}", venue=VENUE)
    return value


def check(response: httpx.Response) -> ExchangeError | None:
    """The venue's verdict on any reply: its ExchangeError, or None for a success.

    HTX reports most errors with HTTP 200 in the body (v1 ``err-code``, v2 ``code``); the
    tables are constants.ERROR_CODES and V2_ERROR_CODES. Without such a body the HTTP status
    decides: 429 throttled (with Retry-After), 5xx unavailable, 401/403 refused keys.
    """
    status = response.status_code
    where = request_line(response)
    payload = json_or_none(response)
    if isinstance(payload, Mapping):
        error = _envelope_error(payload, response, where)
        if error is not None or status < 400:
            return error
    generic = status_error(response, VENUE)
    if generic is not None:
        return generic
    if payload is None:
        return ExchangeNotAvailable(f"{where}: the reply is not JSON", venue=VENUE,
                                    http_status=status)  # fmt: skip
    return None


def _envelope_error(
    payload: Mapping[str, Any], response: httpx.Response, where: str
) -> ExchangeError | None:
    if payload.get("status") == "error":
        code = str(payload.get("err-code"))
        message = str(payload.get("err-msg") or "refused")
        cls = error_class(constants.ERROR_CODES.get(code, "ExchangeError"))
    elif isinstance(payload.get("code"), int) and payload["code"] != constants.V2_OK_CODE:
        code = str(payload["code"])
        message = str(payload.get("message") or "refused")
        cls = error_class(constants.V2_ERROR_CODES.get(payload["code"], "ExchangeError"))
    else:
        return None
    text = scrub(f"{where} was refused: {message}", response, params=_SECRET_PARAMS)
    return venue_error(cls, text, venue=VENUE, http_status=response.status_code,
                       venue_code=code, retry_after=retry_after_s(response.headers))  # fmt: skip


def is_clock_error(error: ExchangeError) -> bool:
    """A signature refused for its Timestamp: resynchronising the clock fixes it."""
    return (
        isinstance(error, AuthenticationError)
        and error.venue_code == "api-signature-not-valid"
        and constants.CLOCK_ERROR_TEXT in str(error).lower()
    )


# --- the client -------------------------------------------------------------------------------


class HtxExecution(RestExecution):
    """HTX spot trading over REST (:class:`RestExecution`).

    ``host`` is the host signed into each request; it defaults to ``base_url``'s
    (``api.huobi.pro`` when ``http`` is given). ``account_id`` is the spot account's id;
    without it the first call that needs it asks the venue. HTX refuses timestamps more than
    5 minutes off; a refusal for that resynchronises and retries once. A NetworkError from
    :meth:`place_order` means the outcome is unknown: :meth:`fetch_order` by the client order
    id before placing it again.
    """

    spec = ExecutionSpec(
        venue=VENUE,
        base_url=constants.REST_BASE_URL,
        check=check,
        rate_limits=constants.RATE_LIMITS,
        sign=auth.sign,
        instruments_request=HttpRequest(method="GET", path=constants.INSTRUMENTS_PATH),
        parse_instruments=providers.parse_instruments,
        time_request=HttpRequest(method="GET", path=constants.SERVER_TIME_PATH),
        server_time_ms=parse_server_time,
        is_clock_error=is_clock_error,
    )

    def __init__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        *,
        host: str | None = None,
        account_id: str | None = None,
        **options: Unpack[ExecutionOptions],
    ) -> None:
        if options.get("http") is None:
            host = host or urlsplit(options.get("base_url") or self.spec.base_url).netloc
        self.host = (host or constants.REST_HOST).lower()
        self.account_id = account_id
        super().__init__(credentials, instruments, **options)

    def _repr_fields(self) -> Mapping[str, object]:
        return {"host": self.host, "account_id": self.account_id}

    def _auth_options(self) -> Mapping[str, object]:
        return {"host": self.host}

    async def spot_account_id(self) -> str:
        if self.account_id is None:
            request = HttpRequest(method="GET", path=constants.ACCOUNTS_PATH)
            self.account_id = parse_account_id(await self.rest.send(request))
        return self.account_id

    async def _order_request(self, order: OrderRequest) -> HttpRequest:
        return order_request(order, account_id=await self.spot_account_id())

    def _accept(self, body: Any, order: OrderRequest) -> Order:
        venue_order_id = _data(body, "order placement")
        if not isinstance(venue_order_id, str | int) or isinstance(venue_order_id, bool):
            raise MalformedMessage("order placement: data is not an order id", venue=VENUE)
        return accepted_order(order, str(venue_order_id), market_is_ioc=True,
                              ts_created_ns=self._now_ns())  # fmt: skip

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """Submit the cancel, then read the order back (it may still be ``canceling``: open).

        Cancelling an order that already finished returns it in its final state.
        """
        request = HttpRequest(
            method="POST",
            path=constants.CANCEL_BY_CLIENT_ID_PATH,
            body=compact_json({"client-order-id": client_order_id}),
            headers=(JSON_CONTENT,),
        )
        try:
            code = _data(await self.rest.send(request), "cancel")
        except InvalidOrder as error:
            if error.venue_code != "order-orderstate-error":
                raise
            return await self.fetch_order(instrument, client_order_id)  # already final
        if code in constants.CANCEL_NOT_FOUND_CODES:
            try:
                return await self.fetch_order(instrument, client_order_id)
            except OrderNotFound:
                raise OrderNotFound(
                    f"{instrument.symbol}: no order with client order id {client_order_id!r} "
                    f"to cancel (cancel code {code})",
                    venue=VENUE,
                    venue_code=str(code),
                ) from None
        return await self.fetch_order(instrument, client_order_id)

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """The order by client order id (finished orders: for 2 hours after they finish)."""
        request = HttpRequest(
            method="GET",
            path=constants.ORDER_BY_CLIENT_ID_PATH,
            params=[("clientOrderId", client_order_id)],
            weight=constants.WEIGHT_50_PER_2S,
        )
        return parse_order(await self.rest.send(request), instrument)

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        """Open orders of the spot account (one symbol, or all), up to 500."""
        params = [("account-id", await self.spot_account_id())]
        if instrument is not None:
            params.append(("symbol", instrument.native_symbol))
        params.append(("size", str(constants.OPEN_ORDERS_PAGE_SIZE)))
        request = HttpRequest(method="GET", path=constants.OPEN_ORDERS_PATH, params=params,
                              weight=constants.WEIGHT_50_PER_2S)  # fmt: skip
        symbols = self.symbols if instrument is None else SymbolMap.of(VENUE, [instrument])
        return parse_open_orders(await self.rest.send(request), symbols)

    async def fetch_balances(self) -> list[Balance]:
        path = constants.BALANCE_PATH.format(account_id=await self.spot_account_id())
        return parse_balances(await self.rest.send(HttpRequest(method="GET", path=path)))

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        request = HttpRequest(method="GET", path=constants.FEE_RATE_PATH,
                              params=[("symbols", instrument.native_symbol)],
                              weight=constants.WEIGHT_50_PER_2S)  # fmt: skip
        return parse_fees(await self.rest.send(request), instrument.native_symbol)
