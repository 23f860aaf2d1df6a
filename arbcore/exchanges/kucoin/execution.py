"""KuCoin spot trading over REST (the HF order endpoints): pure builders and parsers, composed
by KuCoinExecution.

Every reply goes through :func:`check` first: success is ``code`` ``"200000"``; refusals come
with HTTP 200, 400 or 429 and a code, and KuCoin's catch-all ``400100`` is told apart by its
message (insufficient balance, order not found, duplicated clientOid). Prices and sizes are
read exactly, never as floats.

Like OKX, KuCoin refuses a repeated clientOid only while the first order is active, so a
placement whose outcome is unknown is looked up by clientOid before it is sent again. The
plumbing for that (signing at server time, clock resync, placement at most once) is every
venue's and lives once, in :mod:`arbcore.exchanges.rest`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Unpack

import httpx

from arbcore.errors import ExchangeError, InvalidOrder, MalformedMessage
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.execution_base import ExecutionOptions, ExecutionSpec, RestExecution
from arbcore.exchanges.kucoin import auth
from arbcore.exchanges.kucoin.constants import (
    ACCOUNTS_PATH,
    CLIENT_ORDER_PATH,
    CLOCK_SKEW_CODES,
    DUPLICATE_ORDER_MARKER,
    ERROR_CODES,
    INSTRUMENTS_PATH,
    KEY_VERSION,
    MAX_CLIENT_ORDER_ID,
    OK_CODE,
    OPEN_ORDER_SYMBOLS_PATH,
    OPEN_ORDERS_PATH,
    ORDER_PATH,
    ORDER_STATES,
    PARAMETER_ERROR_CODE,
    PARAMETER_ERROR_MEANINGS,
    RATE_LIMIT_RESET_HEADER,
    RATE_LIMIT_WAITS_S,
    RATE_LIMITS,
    REST_BASE_URL,
    TIME_PATH,
    TRADE_ACCOUNT_TYPE,
    TRADE_FEES_PATH,
    VENUE,
    WEIGHT_ACCOUNTS,
    WEIGHT_CANCEL,
    WEIGHT_OPEN_ORDERS,
    WEIGHT_ORDER,
    WEIGHT_PLACE,
    WEIGHT_SYMBOLS,
    WEIGHT_TIME,
    WEIGHT_TRADE_FEES,
)
from arbcore.exchanges.kucoin.providers import parse_instruments
from arbcore.exchanges.replies import (
    amount_of,
    code_in,
    json_or_none,
    list_of,
    mapping_of,
    raw_decimal,
    retry_after_s,
    status_error,
    status_error_class,
    text_of,
    venue_error,
)
from arbcore.exchanges.rest import JSON_CONTENT, compact_json
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import (
    OrderRequest,
    accepted_order,
    decimal_text,
    own_instrument,
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
    "KuCoinExecution",
    "balances_request",
    "cancel_request",
    "check",
    "fees_request",
    "open_orders_request",
    "order_from_entry",
    "order_lookup_request",
    "order_request",
    "order_status",
    "parse_ack",
    "parse_balances",
    "parse_fees",
    "parse_order",
    "parse_server_time",
]

_CLIENT_ID_EXTRA = frozenset("_-")


# --- replies and errors --------------------------------------------------------------------------


def check(response: httpx.Response) -> ExchangeError | None:
    """KuCoin's verdict on a reply: None for ``code`` 200000, else the matching ExchangeError."""
    body = json_or_none(response)
    status = response.status_code
    if not isinstance(body, Mapping) or "code" not in body:
        if status < 400:
            return ExchangeError(
                "the reply is not a KuCoin JSON envelope", venue=VENUE, http_status=status
            )
        return status_error(response, VENUE, retry_after_default=_reset_wait(response, None))
    code = str(body["code"])
    if code == OK_CODE:
        return None
    message = str(body.get("msg") or "request refused")
    cls = _error_class(code, message) or status_error_class(status)
    return venue_error(
        cls,
        message,
        venue=VENUE,
        http_status=status,
        venue_code=code,
        retry_after=retry_after_s(response.headers, _reset_wait(response, code)),
    )


def _error_class(code: str, message: str) -> type[ExchangeError] | None:
    if code == PARAMETER_ERROR_CODE:
        meaning = message.lower().replace("_", " ")
        for marker, cls in PARAMETER_ERROR_MEANINGS:
            if marker in meaning:
                return cls
    return ERROR_CODES.get(code)


def _reset_wait(response: httpx.Response, code: str | None) -> float | None:
    """``gw-ratelimit-reset`` (ms until the pool resets), else the wait the docs give the code."""
    reset = response.headers.get(RATE_LIMIT_RESET_HEADER)
    if reset is not None and reset.isdigit():
        return int(reset) / 1000.0
    return None if code is None else RATE_LIMIT_WAITS_S.get(code)


def is_duplicate(error: ExchangeError) -> bool:
    """KuCoin's "clientOid duplicated": an earlier attempt of this placement is active."""
    return str(error.venue_code) == PARAMETER_ERROR_CODE and DUPLICATE_ORDER_MARKER in str(
        error
    ).lower().replace("_", " ")


# --- requests ------------------------------------------------------------------------------------


def _client_id(client_order_id: str) -> str:
    allowed = all(c.isascii() and (c.isalnum() or c in _CLIENT_ID_EXTRA) for c in client_order_id)
    if not client_order_id or not allowed:
        raise InvalidOrder(
            f"client order id {client_order_id!r} must be letters, digits, _ or -", venue=VENUE
        )
    if len(client_order_id) > MAX_CLIENT_ORDER_ID:
        raise InvalidOrder(
            f"client order id {client_order_id!r} is longer than {MAX_CLIENT_ORDER_ID}", venue=VENUE
        )
    return client_order_id


def _own(instrument: Instrument) -> Instrument:
    return own_instrument(instrument, VENUE)


def order_request(order: OrderRequest) -> HttpRequest:
    """POST /api/v1/hf/orders for a prepared order (clientOid = client order id).

    A limit order is GTC unless it says ``timeInForce`` ``"IOC"`` or ``"FOK"`` (the HF order's
    GTC/GTT/IOC/FOK) or ``postOnly:true``; a market order counts ``size`` in the base asset.
    """
    instrument = _own(order.instrument)
    fields: dict[str, object] = {
        "type": order.type.value,
        "symbol": instrument.native_symbol,
        "side": order.side.value,
    }
    if order.type is OrderType.LIMIT:
        if order.price_raw is None:
            raise InvalidOrder(f"{instrument.symbol}: a limit order needs a price", venue=VENUE)
        fields["price"] = decimal_text(order.price_raw, instrument.price_decimals)
    fields["size"] = decimal_text(order.size_raw, instrument.size_decimals)
    fields["clientOid"] = _client_id(order.client_order_id)
    if order.type is OrderType.LIMIT and order.time_in_force.is_immediate:
        fields["timeInForce"] = order.time_in_force.value.upper()  # IOC, FOK
    elif order.type is OrderType.LIMIT and order.time_in_force is TimeInForce.POST_ONLY:
        fields["postOnly"] = True
    return HttpRequest(
        method="POST",
        path=ORDER_PATH,
        body=compact_json(fields),
        headers=(JSON_CONTENT,),
        weight=WEIGHT_PLACE,
        is_order=True,
    )


def _client_order_path(client_order_id: str) -> str:
    return CLIENT_ORDER_PATH.format(client_oid=_client_id(client_order_id))


def order_lookup_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    """GET /api/v1/hf/orders/client-order/{clientOid}?symbol= (done orders for 3 days)."""
    return HttpRequest(
        method="GET",
        path=_client_order_path(client_order_id),
        params=(("symbol", _own(instrument).native_symbol),),
        weight=WEIGHT_ORDER,
    )


def cancel_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    return HttpRequest(
        method="DELETE",
        path=_client_order_path(client_order_id),
        params=(("symbol", _own(instrument).native_symbol),),
        weight=WEIGHT_CANCEL,
        is_order=True,
    )


def open_orders_request(instrument: Instrument) -> HttpRequest:
    return HttpRequest(
        method="GET",
        path=OPEN_ORDERS_PATH,
        params=(("symbol", _own(instrument).native_symbol),),
        weight=WEIGHT_OPEN_ORDERS,
    )


def open_order_symbols_request() -> HttpRequest:
    return HttpRequest(method="GET", path=OPEN_ORDER_SYMBOLS_PATH, weight=WEIGHT_OPEN_ORDERS)


def balances_request() -> HttpRequest:
    return HttpRequest(
        method="GET",
        path=ACCOUNTS_PATH,
        params=(("type", TRADE_ACCOUNT_TYPE),),
        weight=WEIGHT_ACCOUNTS,
    )


def fees_request(instrument: Instrument) -> HttpRequest:
    return HttpRequest(
        method="GET",
        path=TRADE_FEES_PATH,
        params=(("symbols", _own(instrument).native_symbol),),
        weight=WEIGHT_TRADE_FEES,
    )


def time_request() -> HttpRequest:
    return HttpRequest(method="GET", path=TIME_PATH, weight=WEIGHT_TIME)


def instruments_request() -> HttpRequest:
    return HttpRequest(method="GET", path=INSTRUMENTS_PATH, weight=WEIGHT_SYMBOLS)


# --- parsers -------------------------------------------------------------------------------------


def _data(body: Any, what: str) -> Any:
    return mapping_of(body, what, VENUE).get("data")


def parse_ack(body: Any, order: OrderRequest) -> Order:
    """The placement reply (``orderId``, echoed ``clientOid``): the order as accepted, OPEN.

    Acceptance is not execution: an IOC or market order may already be done; fetch_order tells.
    """
    data = mapping_of(_data(body, "placement reply"), "placement data", VENUE)
    return accepted_order(order, text_of(data, "orderId", VENUE),
                          echoed=text_of(data, "clientOid", VENUE, required=False))  # fmt: skip


def parse_order(body: Any, instrument: Instrument) -> Order:
    """A GET order-by-clientOid reply (``data`` is the order) as an Order."""
    return order_from_entry(mapping_of(_data(body, "order reply"), "order", VENUE), instrument)


def order_status(active: bool, size_raw: int, filled_raw: int) -> OrderStatus:
    """The state an HF order is in, from ``active`` and how much of its size filled."""
    fill = "none" if filled_raw == 0 else "full" if filled_raw >= size_raw else "partial"
    return ORDER_STATES[(active, fill)]


def order_from_entry(entry: Mapping[str, Any], instrument: Instrument) -> Order:
    """One HF order object (order details, active orders) as an Order, exact.

    A market order sized by ``funds`` (never sent by arbcore) has no base size: its size is
    what filled.
    """
    native = text_of(entry, "symbol", VENUE)
    if native != instrument.native_symbol:
        raise MalformedMessage(f"order of {native} read as {instrument.native_symbol}", venue=VENUE)
    kind, side = text_of(entry, "type", VENUE), text_of(entry, "side", VENUE)
    if kind not in ("limit", "market"):
        raise MalformedMessage(f"unknown order type {kind!r}", venue=VENUE)
    if side not in ("buy", "sell"):
        raise MalformedMessage(f"unknown side {side!r}", venue=VENUE)
    active = entry.get("active")
    if not isinstance(active, bool):
        raise MalformedMessage(f"field 'active' must be true or false, was {active!r}", venue=VENUE)
    order_type = OrderType(kind)
    size_decimals = instrument.size_decimals
    filled = raw_decimal(text_of(entry, "dealSize", VENUE), size_decimals, "dealSize", VENUE)
    size = raw_decimal(text_of(entry, "size", VENUE, required=False), size_decimals, "size",
                       VENUE, empty_is_zero=True)  # fmt: skip
    if order_type is OrderType.MARKET and size == 0:
        size = filled
    created = entry.get("createdAt")
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=text_of(entry, "clientOid", VENUE, required=False),
        side=OrderSide(side),
        type=order_type,
        price_raw=raw_decimal(
            text_of(entry, "price", VENUE, required=False),
            instrument.price_decimals,
            "price",
            VENUE,
            empty_is_zero=True,
        ),
        size_raw=size,
        time_in_force=_time_in_force(entry, order_type),
        status=order_status(active, size, filled),
        filled_raw=filled,
        venue_order_id=text_of(entry, "id", VENUE),
        ts_created_ns=created * 1_000_000 if isinstance(created, int) else 0,
    )


_IMMEDIATE: Mapping[object, TimeInForce] = {"IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


def _time_in_force(entry: Mapping[str, Any], order_type: OrderType) -> TimeInForce:
    """postOnly wins; IOC and FOK as they are; GTC and GTT (which rests too): GTC. An unfilled
    FOK reads done with nothing dealt: CANCELED, as KuCoin says (``cancelExist``)."""
    if order_type is OrderType.MARKET:
        return TimeInForce.GTC
    if entry.get("postOnly") is True:
        return TimeInForce.POST_ONLY
    return _IMMEDIATE.get(entry.get("timeInForce"), TimeInForce.GTC)


def parse_open_order_symbols(body: Any) -> list[str]:
    data = mapping_of(_data(body, "active symbols reply"), "active symbols", VENUE)
    return [str(s) for s in list_of(data.get("symbols"), "symbols", VENUE)]


def parse_balances(body: Any) -> list[Balance]:
    """GET /api/v1/accounts?type=trade: per currency, ``available`` free and ``holds`` locked."""
    balances = []
    for item in list_of(_data(body, "accounts reply"), "accounts", VENUE):
        entry = mapping_of(item, "account", VENUE)
        if entry.get("type", TRADE_ACCOUNT_TYPE) != TRADE_ACCOUNT_TYPE:
            continue
        balances.append(
            Balance(
                venue=VENUE,
                asset=text_of(entry, "currency", VENUE),
                free=amount_of(entry, "available", VENUE),
                locked=amount_of(entry, "holds", VENUE),
            )
        )
    return balances


def parse_fees(body: Any, native_symbol: str | None = None) -> tuple[float, float]:
    """``(maker, taker)`` paid, as fractions: GET /api/v1/trade-fees (one entry per symbol) or
    GET /api/v1/base-fee (the account's base rates, one object)."""
    data = _data(body, "fee reply")
    if isinstance(data, list):
        entries = [mapping_of(item, "fee entry", VENUE) for item in data]
        matching = [e for e in entries if native_symbol in (None, e.get("symbol"))]
        if not matching:
            raise MalformedMessage(f"fee reply has no entry for {native_symbol}", venue=VENUE)
        data = matching[0]
    entry = mapping_of(data, "fee data", VENUE)
    return amount_of(entry, "makerFeeRate", VENUE), amount_of(entry, "takerFeeRate", VENUE)


def parse_server_time(body: Any) -> int:
    """GET /api/v1/timestamp: the server's time in ms (a JSON integer)."""
    data = _data(body, "time reply")
    if isinstance(data, bool) or not isinstance(data, int):
        raise MalformedMessage(f"server time {data!r} is not milliseconds", venue=VENUE)
    return data


# --- the client ----------------------------------------------------------------------------------


class KuCoinExecution(RestExecution):
    """KuCoin spot orders, balances and fees over REST (:class:`RestExecution`).

    ``key_version`` is the API key's version (3 for keys made today). KuCoin allows 5 s of
    clock skew; a 400002 refusal resyncs the clock by itself. KuCoin acknowledges a placement
    with ids only, and HF cancels are processed asynchronously: both are read back (an order
    already filled or canceled, "not exist or not allow to cancel", comes back as it is).
    """

    spec = ExecutionSpec(
        venue=VENUE,
        base_url=REST_BASE_URL,
        check=check,
        rate_limits=RATE_LIMITS,
        sign=auth.sign,
        order_request=order_request,
        accept=parse_ack,
        instruments_request=instruments_request(),
        parse_instruments=parse_instruments,
        is_duplicate=is_duplicate,
        cancel_request=cancel_request,
        time_request=time_request(),
        server_time_ms=parse_server_time,
        is_clock_error=code_in(CLOCK_SKEW_CODES),
    )

    def __init__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        *,
        key_version: str = KEY_VERSION,
        **options: Unpack[ExecutionOptions],
    ) -> None:
        auth.signed_passphrase(credentials, key_version)  # no passphrase: fail here
        self.key_version = key_version
        super().__init__(credentials, instruments, **options)

    def _repr_fields(self) -> Mapping[str, object]:
        return {"key_version": self.key_version}

    def _auth_options(self) -> Mapping[str, object]:
        return {"key_version": self.key_version}

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        body = await self.rest.send(order_lookup_request(instrument, client_order_id))
        return parse_order(body, instrument)

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        """Active orders of one instrument, or of every known symbol KuCoin says has some."""
        if instrument is None:
            natives = parse_open_order_symbols(await self.rest.send(open_order_symbols_request()))
            known = [i for i in map(self.symbols.get, natives) if i is not None]
        else:
            known = [instrument]
        orders: list[Order] = []
        for item in known:
            body = await self.rest.send(open_orders_request(item))
            for entry in list_of(_data(body, "active orders reply"), "active orders", VENUE):
                orders.append(order_from_entry(mapping_of(entry, "active order", VENUE), item))
        return orders

    async def fetch_balances(self) -> list[Balance]:
        return parse_balances(await self.rest.send(balances_request()))

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        body = await self.rest.send(fees_request(instrument))
        return parse_fees(body, instrument.native_symbol)
