"""OKX spot trading over REST: pure request builders and reply parsers, composed by OKXExecution.

Every reply goes through :func:`check` first: OKX answers most refusals with HTTP 200 and a
non-zero ``code`` (``"1"`` for a failed order, whose reason is the entry's ``sCode``/``sMsg``).
Prices and sizes are read exactly (``to_raw`` at the instrument's decimals), never as floats.

A placement is never blindly resent. OKX deduplicates ``clOrdId`` only among *pending* orders,
so resending an IOC that already filled would trade twice; when a placement's outcome is
unknown (timeout, 5xx, throttled) the order is looked up by its client id first and sent again
only when OKX has no such order (:meth:`~arbcore.exchanges.rest.SignedRest.place`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Unpack

import httpx

from arbcore.errors import ExchangeError, InvalidOrder, MalformedMessage
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.execution_base import ExecutionOptions, ExecutionSpec, RestExecution
from arbcore.exchanges.okx import auth
from arbcore.exchanges.okx.constants import (
    BALANCE_PATH,
    BASE_CCY,
    CANCEL_ORDER_PATH,
    CASH_MODE,
    CLOCK_SKEW_CODES,
    DEMO_HEADER,
    DUPLICATE_ORDER_CODES,
    ERROR_CODES,
    FOK_CANCEL_SOURCE,
    INSTRUMENTS_PATH,
    MAX_CLIENT_ORDER_ID,
    OK_CODE,
    OPEN_ORDERS_PAGE,
    OPEN_ORDERS_PATH,
    ORDER_PATH,
    ORDER_STATES,
    ORDER_TYPES,
    QUOTE_CCY,
    RATE_LIMIT_WINDOW_S,
    RATE_LIMITS,
    REST_BASE_URL,
    SPOT_INST_TYPE,
    TIME_PATH,
    TRADE_FEE_PATH,
    VENUE,
)
from arbcore.exchanges.okx.providers import parse_instruments
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
    orders_on_known_symbols,
    own_instrument,
)
from arbcore.model import Balance, Instrument, Order, OrderSide, OrderStatus, OrderType
from arbcore.net.http import HttpRequest

__all__ = [
    "OKXExecution",
    "balances_request",
    "cancel_request",
    "check",
    "fees_request",
    "instruments_request",
    "open_orders_request",
    "order_from_entry",
    "order_lookup_request",
    "order_request",
    "parse_ack",
    "parse_balances",
    "parse_fees",
    "parse_order",
    "parse_server_time",
    "time_request",
]


# --- OKX -----------------------------------------------------------------------------------------


def check(response: httpx.Response) -> ExchangeError | None:
    """OKX's verdict on a reply: None for success, else the matching ExchangeError.

    ``code`` ``"0"`` is success; ``"1"``/``"2"`` (operation failed / partly failed) carry the
    reason in the first failed entry's ``sCode``/``sMsg``; any other code is the reason itself.
    Unknown codes fall back on the HTTP status.
    """
    body = json_or_none(response)
    status = response.status_code
    if not isinstance(body, Mapping) or "code" not in body:
        if status < 400:
            return ExchangeError(
                "the reply is not an OKX JSON envelope", venue=VENUE, http_status=status
            )
        return status_error(response, VENUE, retry_after_default=RATE_LIMIT_WINDOW_S)
    code = str(body["code"])
    if code == OK_CODE:
        return None
    message = str(body.get("msg") or "")
    if code in ("1", "2"):
        failed = _first_failed(body.get("data"))
        if failed is not None:
            code = str(failed.get("sCode"))
            sub = failed.get("subCode")
            message = str(failed.get("sMsg") or message) + (f" (subCode {sub})" if sub else "")
    cls = ERROR_CODES.get(code) or status_error_class(status)
    return venue_error(
        cls,
        message or "request refused",
        venue=VENUE,
        http_status=status,
        venue_code=code,
        retry_after=retry_after_s(response.headers, RATE_LIMIT_WINDOW_S),
    )


def _first_failed(data: object) -> Mapping[str, Any] | None:
    if not isinstance(data, list):
        return None
    for entry in data:
        if isinstance(entry, Mapping) and str(entry.get("sCode", OK_CODE)) != OK_CODE:
            return entry
    return None


def _client_id(client_order_id: str) -> str:
    if not (client_order_id.isascii() and client_order_id.isalnum()):
        raise InvalidOrder(
            f"client order id {client_order_id!r} must be letters and digits", venue=VENUE
        )
    if len(client_order_id) > MAX_CLIENT_ORDER_ID:
        raise InvalidOrder(
            f"client order id {client_order_id!r} is longer than {MAX_CLIENT_ORDER_ID}", venue=VENUE
        )
    return client_order_id


def _own(instrument: Instrument) -> Instrument:
    return own_instrument(instrument, VENUE)


def order_request(order: OrderRequest) -> HttpRequest:
    """POST /api/v5/trade/order for a prepared order (cash spot; clOrdId = client order id).

    Limit GTC/IOC/FOK/post-only are ordType limit/ioc/fok/post_only with ``px``; a market
    order counts ``sz`` in the base asset (``tgtCcy:"base_ccy"``) and is refused whole rather
    than shrunk when the balance falls short (``banAmend:true``).
    """
    instrument = _own(order.instrument)
    fields: dict[str, object] = {
        "instId": instrument.native_symbol,
        "tdMode": CASH_MODE,
        "clOrdId": _client_id(order.client_order_id),
        "side": order.side.value,
    }
    size = decimal_text(order.size_raw, instrument.size_decimals)
    if order.type is OrderType.MARKET:
        fields.update(ordType="market", sz=size, tgtCcy=BASE_CCY, banAmend=True)
    else:
        if order.price_raw is None:
            raise InvalidOrder(f"{instrument.symbol}: a limit order needs a price", venue=VENUE)
        fields.update(
            ordType=_LIMIT_TYPES[order.time_in_force],
            px=decimal_text(order.price_raw, instrument.price_decimals),
            sz=size,
        )
    return HttpRequest(
        method="POST",
        path=ORDER_PATH,
        body=compact_json(fields),
        headers=(JSON_CONTENT,),
        is_order=True,
        instrument=instrument.native_symbol,
    )


_LIMIT_TYPES = {tif: name for name, (kind, tif) in ORDER_TYPES.items() if kind is OrderType.LIMIT}


def order_lookup_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    """GET /api/v5/trade/order by clOrdId (the latest order with that id)."""
    params = (("instId", _own(instrument).native_symbol), ("clOrdId", client_order_id))
    return HttpRequest(method="GET", path=ORDER_PATH, params=params,
                       instrument=instrument.native_symbol)  # fmt: skip


def cancel_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    body = {"instId": _own(instrument).native_symbol, "clOrdId": client_order_id}
    return HttpRequest(
        method="POST",
        path=CANCEL_ORDER_PATH,
        body=compact_json(body),
        headers=(JSON_CONTENT,),
        is_order=True,
        instrument=instrument.native_symbol,
    )


def open_orders_request(instrument: Instrument | None, after: str | None = None) -> HttpRequest:
    params = [("instType", SPOT_INST_TYPE)]
    if instrument is not None:
        params.append(("instId", _own(instrument).native_symbol))
    if after:
        params.append(("after", after))
    return HttpRequest(method="GET", path=OPEN_ORDERS_PATH, params=params)


def balances_request() -> HttpRequest:
    return HttpRequest(method="GET", path=BALANCE_PATH)


def fees_request(instrument: Instrument) -> HttpRequest:
    params = (("instType", SPOT_INST_TYPE), ("instId", _own(instrument).native_symbol))
    return HttpRequest(method="GET", path=TRADE_FEE_PATH, params=params)


def time_request() -> HttpRequest:
    return HttpRequest(method="GET", path=TIME_PATH)


def instruments_request() -> HttpRequest:
    return HttpRequest(method="GET", path=INSTRUMENTS_PATH)


def _data(body: Any, what: str) -> list[Any]:
    return list_of(mapping_of(body, what, VENUE).get("data"), f"{what} data", VENUE)


def _first(body: Any, what: str) -> Mapping[str, Any]:
    data = _data(body, what)
    if not data:
        raise MalformedMessage(f"{what} has no data entry", venue=VENUE)
    return mapping_of(data[0], f"{what} entry", VENUE)


def _ms_to_ns(text: str) -> int:
    return int(text) * 1_000_000 if text.isdigit() else 0


def parse_ack(body: Any, order: OrderRequest) -> Order:
    """The placement reply (``ordId``, echoed ``clOrdId``): the order as accepted, OPEN.

    Acceptance is not execution: an IOC or market order may already be done; fetch_order tells.
    """
    entry = _first(body, "placement reply")
    return accepted_order(
        order,
        text_of(entry, "ordId", VENUE),
        echoed=text_of(entry, "clOrdId", VENUE, required=False),
        ts_created_ns=_ms_to_ns(text_of(entry, "ts", VENUE, required=False)),
    )


def parse_order(body: Any, instrument: Instrument) -> Order:
    """A GET /api/v5/trade/order reply (``data[0]``) as an Order."""
    return order_from_entry(_first(body, "order reply"), instrument)


def order_from_entry(entry: Mapping[str, Any], instrument: Instrument) -> Order:
    """One order object (order details, pending orders) as an Order, prices and sizes exact.

    A FOK that could not fill whole reads ``canceled`` with ``cancelSource`` 13: EXPIRED here
    (ended by its type's rule, as Binance says of an unfilled FOK).

    A market order counted in the quote asset (``tgtCcy:"quote_ccy"``, OKX's default for market
    buys, never sent by arbcore) has no base size: its size is what filled.
    """
    native = text_of(entry, "instId", VENUE)
    if native != instrument.native_symbol:
        raise MalformedMessage(f"order of {native} read as {instrument.native_symbol}", venue=VENUE)
    state = text_of(entry, "state", VENUE)
    kind = text_of(entry, "ordType", VENUE)
    if state not in ORDER_STATES:
        raise MalformedMessage(f"unknown order state {state!r}", venue=VENUE)
    if kind not in ORDER_TYPES:
        raise MalformedMessage(f"unknown ordType {kind!r}", venue=VENUE)
    order_type, time_in_force = ORDER_TYPES[kind]
    side = text_of(entry, "side", VENUE)
    if side not in ("buy", "sell"):
        raise MalformedMessage(f"unknown side {side!r}", venue=VENUE)
    size_decimals, price_decimals = instrument.size_decimals, instrument.price_decimals
    filled = raw_decimal(text_of(entry, "accFillSz", VENUE, required=False), size_decimals,
                         "accFillSz", VENUE, empty_is_zero=True)  # fmt: skip
    price = text_of(entry, "px", VENUE, required=False)
    quote_sized = order_type is OrderType.MARKET and entry.get("tgtCcy") == QUOTE_CCY
    killed = state == "canceled" and entry.get("cancelSource") == FOK_CANCEL_SOURCE
    size = (
        filled
        if quote_sized
        else raw_decimal(text_of(entry, "sz", VENUE), size_decimals, "sz", VENUE)
    )
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=text_of(entry, "clOrdId", VENUE, required=False),
        side=OrderSide(side),
        type=order_type,
        price_raw=raw_decimal(price, price_decimals, "px", VENUE, empty_is_zero=True),
        size_raw=size,
        time_in_force=time_in_force,
        status=OrderStatus.EXPIRED if killed else ORDER_STATES[state],
        filled_raw=filled,
        venue_order_id=text_of(entry, "ordId", VENUE),
        ts_created_ns=_ms_to_ns(text_of(entry, "cTime", VENUE, required=False)),
        filled_quote=amount_of(entry, "avgPx", VENUE) * filled / 10**size_decimals,
    )


def parse_balances(body: Any) -> list[Balance]:
    """GET /api/v5/account/balance: per currency, ``availBal`` free and ``frozenBal`` locked."""
    details = list_of(_first(body, "balance reply").get("details"), "balance details", VENUE)
    balances = []
    for item in details:
        entry = mapping_of(item, "balance detail", VENUE)
        balances.append(
            Balance(
                venue=VENUE,
                asset=text_of(entry, "ccy", VENUE),
                free=amount_of(entry, "availBal", VENUE),
                locked=amount_of(entry, "frozenBal", VENUE),
            )
        )
    return balances


def parse_fees(body: Any) -> tuple[float, float]:
    """GET /api/v5/account/trade-fee: ``(maker, taker)`` paid, as positive fractions.

    OKX reports commission as negative (``"-0.0008"``) and rebates as positive. The fee group
    of the requested instId comes first; the deprecated top-level fields are the fallback.
    """
    entry = _first(body, "trade-fee reply")
    groups = entry.get("feeGroup")
    source = entry
    if isinstance(groups, list) and groups and isinstance(groups[0], Mapping):
        source = groups[0]
    return -amount_of(source, "maker", VENUE), -amount_of(source, "taker", VENUE)


def parse_server_time(body: Any) -> int:
    """GET /api/v5/public/time: the server's time in ms."""
    text = text_of(_first(body, "time reply"), "ts", VENUE)
    if not text.isdigit():
        raise MalformedMessage(f"server time {text!r} is not milliseconds", venue=VENUE)
    return int(text)


def _sign(request: HttpRequest, credentials: Credentials, *, demo: bool = False,
          **stamp: Any) -> HttpRequest:  # fmt: skip
    """:func:`auth.sign`, with the demo-trading header when trading on demo."""
    signed = auth.sign(request, credentials, **stamp)
    return signed.with_headers(DEMO_HEADER) if demo else signed


class OKXExecution(RestExecution):
    """OKX spot orders, balances and fees over REST (:class:`RestExecution`).

    ``demo=True`` adds the demo-trading header. A 50102 timestamp refusal resyncs the clock by
    itself. OKX acknowledges a placement with ids only: a resting order comes back OPEN, an IOC
    or market order is read back until final; a cancel is read back too (sCode 0 only means the
    request was accepted; an order already filled or canceled, 51400, comes back as it is).
    """

    spec = ExecutionSpec(
        venue=VENUE,
        base_url=REST_BASE_URL,
        check=check,
        rate_limits=RATE_LIMITS,
        sign=_sign,
        order_request=order_request,
        accept=parse_ack,
        instruments_request=instruments_request(),
        parse_instruments=parse_instruments,
        is_duplicate=code_in(DUPLICATE_ORDER_CODES),
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
        demo: bool = False,
        **options: Unpack[ExecutionOptions],
    ) -> None:
        auth.passphrase_of(credentials)  # no passphrase: fail here, not at the first order
        self.demo = demo
        super().__init__(credentials, instruments, **options)

    def _repr_fields(self) -> Mapping[str, object]:
        return {"demo": self.demo}

    def _auth_options(self) -> Mapping[str, object]:
        return {"demo": self.demo}

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        body = await self.rest.send(order_lookup_request(instrument, client_order_id))
        return parse_order(body, instrument)

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        """Every live or partially filled spot order (pages of 100, newest first)."""
        orders: list[Order] = []
        after: str | None = None
        while True:
            page = _data(
                await self.rest.send(open_orders_request(instrument, after)), "pending orders"
            )
            orders += orders_on_known_symbols(page, self.symbols, order_from_entry, venue=VENUE,
                                              symbol_key="instId")  # fmt: skip
            if len(page) < OPEN_ORDERS_PAGE:
                return orders
            after = text_of(mapping_of(page[-1], "pending order", VENUE), "ordId", VENUE)

    async def fetch_balances(self) -> list[Balance]:
        return parse_balances(await self.rest.send(balances_request()))

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        return parse_fees(await self.rest.send(fees_request(instrument)))
