"""Gate.io spot trading over REST (APIv4): orders, balances and fees; Gate's states and errors
-> arbcore's.

Pure functions do the protocol and are pinned to the documentation's examples:
:func:`order_request`, :func:`parse_order`, :func:`order_status`, :func:`check`,
:func:`parse_balances`, :func:`parse_fees`. :class:`GateioExecution` composes them over an
:class:`~arbcore.exchanges.rest.SignedRest` (server clock, clock resync, placement at most
once); replies are read with :mod:`arbcore.exchanges.replies`.

Gate specifics that shape the code:

- Success is a bare JSON body (HTTP 200, 201 for a new order); any error is a non-2xx status
  with ``{"label": ..., "message": ...}``. Throttling is HTTP 429.
- Signed paths include ``/api/v4``, so trading requests carry full paths and the client is
  rooted at the host (a base URL ending in ``/api/v4`` is accepted and trimmed).
- The client order id travels in ``text`` as ``t-<id>`` (at most 28 characters after ``t-``)
  and comes back there; Gate does not refuse a repeated ``text``, so a placement whose outcome
  is unknown is looked up before it is sent again (``SignedRest.place``).
- An order can be addressed by ``t-<id>`` only while it is open; a finished one by its order id.
  The client remembers the order ids it placed and otherwise searches the recent finished
  orders for the ``text``.
- Market buys are sized in the quote asset: give ``price_raw`` (the worst acceptable price);
  market orders are IOC.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Unpack
from urllib.parse import urlsplit, urlunsplit

import httpx

from arbcore.errors import (
    ExchangeError,
    ExchangeNotAvailable,
    InvalidOrder,
    MalformedMessage,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.execution_base import ExecutionOptions, ExecutionSpec, RestExecution
from arbcore.exchanges.gateio import auth, constants, providers
from arbcore.exchanges.replies import (
    error_class,
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
    "GateioExecution",
    "check",
    "client_text",
    "order_request",
    "order_status",
    "parse_balances",
    "parse_fees",
    "parse_order",
    "parse_orders",
    "parse_server_time",
]

VENUE = constants.VENUE
_CLIENT_ORDER_ID = re.compile(constants.CLIENT_ORDER_ID_PATTERN)
_GET_HEADERS = (("Accept", "application/json"),)
_JSON_HEADERS = (JSON_CONTENT, *_GET_HEADERS)
#: ``time_in_force`` <-> TimeInForce (poc: post-only). An unfilled FOK ends ``cancelled`` with
#: ``finish_as`` fok ("not filled immediately because FOK"): EXPIRED.
_VENUE_TIME_IN_FORCE = {
    "gtc": TimeInForce.GTC,
    "ioc": TimeInForce.IOC,
    "poc": TimeInForce.POST_ONLY,
    "fok": TimeInForce.FOK,
}
_TIME_IN_FORCE = {tif: name for name, tif in _VENUE_TIME_IN_FORCE.items()}
_KNOWN_IDS = 10_000  # client order id -> order id entries remembered


def client_text(client_order_id: str) -> str:
    """The ``text`` that carries a client order id: ``t-`` + the id (InvalidOrder if unfit)."""
    if not _CLIENT_ORDER_ID.fullmatch(client_order_id):
        raise InvalidOrder(
            f"client order id {client_order_id!r}: Gate takes 1-28 of letters, digits, _ . -",
            venue=VENUE,
        )
    return constants.CLIENT_ORDER_ID_PREFIX + client_order_id


def order_request(order: OrderRequest, *, account: str = constants.DEFAULT_ACCOUNT) -> HttpRequest:
    """``POST /api/v4/spot/orders`` for an order, fields in the docs' example order.

    Limit orders carry ``time_in_force`` gtc, ioc, fok or poc (post-only). Market orders are ioc;
    a market buy's ``amount`` is quote (see ``quote_amount``), a market sell's base.
    """
    instrument = order.instrument
    fields: dict[str, str] = {
        "text": client_text(order.client_order_id),
        "currency_pair": instrument.native_symbol,
        "type": order.type.value,
        "account": account,
        "side": order.side.value,
    }
    if order.type is OrderType.MARKET:
        if order.time_in_force is TimeInForce.POST_ONLY:
            raise InvalidOrder(f"{order.symbol}: a market order cannot be post-only", venue=VENUE)
        if order.side is OrderSide.BUY:
            fields["amount"] = decimal_text(quote_amount(order), instrument.price_decimals)
        else:
            fields["amount"] = decimal_text(order.size_raw, instrument.size_decimals)
        fields["time_in_force"] = "ioc"
    else:
        if order.price_raw is None:
            raise InvalidOrder(f"{order.symbol}: a limit order needs a price", venue=VENUE)
        fields["amount"] = decimal_text(order.size_raw, instrument.size_decimals)
        fields["price"] = decimal_text(order.price_raw, instrument.price_decimals)
        fields["time_in_force"] = _TIME_IN_FORCE[order.time_in_force]
    return HttpRequest(
        method="POST",
        path=constants.ORDERS_PATH,
        body=compact_json(fields),
        headers=_JSON_HEADERS,
        is_order=True,
    )


def order_status(status: str, finish_as: str | None = None, *, filled_raw: int = 0) -> OrderStatus:
    """Gate's ``status`` and ``finish_as`` as an OrderStatus (constants.ORDER_STATUSES, FINISH_AS).

    A finished order's ``finish_as`` says why it ended (filled, cancelled, ioc, poc, ...); an
    open order with a fill is partially filled.
    """
    base = constants.ORDER_STATUSES.get(status)
    if base is None:
        raise MalformedMessage(f"unknown order status {status!r}", venue=VENUE)
    if base is OrderStatus.OPEN:
        return OrderStatus.PARTIALLY_FILLED if filled_raw > 0 else OrderStatus.OPEN
    if finish_as is None or finish_as == "open":
        return base
    reason = constants.FINISH_AS.get(finish_as)
    if reason is None:
        raise MalformedMessage(f"unknown finish_as {finish_as!r}", venue=VENUE)
    return reason


def _created_ns(entry: Mapping[str, Any]) -> int:
    millis = entry.get("create_time_ms")
    if isinstance(millis, int) and not isinstance(millis, bool):
        return millis * 1_000_000
    seconds = entry.get("create_time")
    return int(seconds) * 1_000_000_000 if isinstance(seconds, str) and seconds.isdigit() else 0


def parse_order(body: Any, instrument: Instrument) -> Order:
    """A Gate spot order (create, get, cancel, list replies) -> Order, exact.

    Filled size is ``filled_amount`` when present, else ``amount - left``. A market buy's
    ``amount`` is quote value, so its size is what it filled (``filled_amount``).
    """
    if not isinstance(body, Mapping):
        raise MalformedMessage("order is not a JSON object", venue=VENUE)
    pair = text_of(body, "currency_pair", VENUE)
    if pair.upper() != instrument.native_symbol.upper():
        raise MalformedMessage(f"order is for {pair}, not {instrument.native_symbol}", venue=VENUE)
    side_text, type_text = text_of(body, "side", VENUE), text_of(body, "type", VENUE)
    if side_text not in ("buy", "sell") or type_text not in ("limit", "market"):
        raise MalformedMessage(f"unknown side or type {side_text!r}/{type_text!r}", venue=VENUE)
    side, order_type = OrderSide(side_text), OrderType(type_text)
    decimals = instrument.size_decimals
    market_buy = order_type is OrderType.MARKET and side is OrderSide.BUY
    amount = raw_decimal(body.get("amount"), decimals, "amount", VENUE)
    if "filled_amount" in body or market_buy:
        filled = raw_decimal(body.get("filled_amount"), decimals, "filled_amount", VENUE)
    else:
        filled = amount - raw_decimal(body.get("left"), decimals, "left", VENUE)
    size = filled if market_buy else amount
    price = 0
    if order_type is OrderType.LIMIT:
        price = raw_decimal(body.get("price"), instrument.price_decimals, "price", VENUE)
    tif_text = body.get("time_in_force", "gtc")
    if tif_text not in _VENUE_TIME_IN_FORCE:
        raise MalformedMessage(f"unknown time_in_force {tif_text!r}", venue=VENUE)
    text = body.get("text")
    prefix = constants.CLIENT_ORDER_ID_PREFIX
    finish_as = body.get("finish_as")
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=text[len(prefix) :]
        if isinstance(text, str) and text.startswith(prefix)
        else "",
        side=side,
        type=order_type,
        price_raw=price,
        size_raw=size,
        time_in_force=_VENUE_TIME_IN_FORCE[tif_text],
        status=order_status(
            text_of(body, "status", VENUE),
            finish_as if isinstance(finish_as, str) else None,
            filled_raw=filled,
        ),
        filled_raw=filled,
        venue_order_id=text_of(body, "id", VENUE),
        ts_created_ns=_created_ns(body),
    )


def parse_orders(body: Any, symbols: SymbolMap) -> list[Order]:
    """A list of orders, or ``/spot/open_orders``' per-pair groups -> Orders (unknown pairs
    skipped)."""
    if not isinstance(body, list):
        raise MalformedMessage("orders reply is not a JSON array", venue=VENUE)
    entries: list[Any] = []
    for item in body:
        grouped = item.get("orders") if isinstance(item, Mapping) else None
        entries.extend(grouped if isinstance(grouped, list) else [item])
    return orders_on_known_symbols(entries, symbols, parse_order, venue=VENUE,
                                   symbol_key="currency_pair")  # fmt: skip


def parse_balances(body: Any) -> list[Balance]:
    """``GET /spot/accounts`` -> one Balance per currency held (``available``, ``locked``)."""
    if not isinstance(body, list):
        raise MalformedMessage("accounts reply is not a JSON array", venue=VENUE)
    balances = []
    for entry in body:
        if not isinstance(entry, Mapping):
            raise MalformedMessage("account entry is not a JSON object", venue=VENUE)
        free = float(text_of(entry, "available", VENUE))
        locked = float(text_of(entry, "locked", VENUE))
        if free or locked:
            asset = text_of(entry, "currency", VENUE).upper()
            balances.append(Balance(venue=VENUE, asset=asset, free=free, locked=locked))
    return balances


def parse_fees(body: Any) -> tuple[float, float]:
    """``GET /spot/fee`` -> (maker, taker) fractions."""
    if not isinstance(body, Mapping):
        raise MalformedMessage("fee reply is not a JSON object", venue=VENUE)
    return float(text_of(body, "maker_fee", VENUE)), float(text_of(body, "taker_fee", VENUE))


def parse_server_time(body: Any) -> int:
    """``GET /spot/time`` -> the server's time in ms."""
    value = body.get("server_time") if isinstance(body, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessage(f"server_time must be an integer, was {value!r}", venue=VENUE)
    return value


def _retry_after(headers: httpx.Headers, now_ms: int | None) -> float | None:
    """Retry-After, else the window's reset time (ms since the epoch) from now."""
    seconds = retry_after_s(headers)
    reset = headers.get(constants.RATE_LIMIT_RESET_HEADER)
    if seconds is not None or reset is None:
        return seconds
    try:
        reset_ms = int(reset)
    except ValueError:
        return None
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return max(0.0, (reset_ms - now) / 1000)


def check(response: httpx.Response, *, now_ms: int | None = None) -> ExchangeError | None:
    """The venue's verdict on any reply: its ExchangeError, or None for a success (2xx).

    Errors are non-2xx with ``{"label", "message"}`` (constants.ERROR_LABELS); without a label
    the status decides: 429 throttled, 5xx unavailable, 401/403 refused keys.
    """
    status = response.status_code
    if status < 300:
        return None
    where = request_line(response)
    payload = json_or_none(response)
    label = payload.get("label") if isinstance(payload, Mapping) else None
    if isinstance(label, str) and label:
        message = str(payload.get("message") or payload.get("detail") or label)
        cls = error_class(constants.ERROR_LABELS.get(label, "ExchangeError"))
        if status == 429:
            cls = RateLimitExceeded
        if status >= 500 and cls is ExchangeError:
            cls = ExchangeNotAvailable
    else:
        label, message = None, response.reason_phrase or "refused"
        cls = status_error_class(status)
    text = scrub(f"{where} was refused: {message}", response, headers=auth.AUTH_HEADERS)
    return venue_error(cls, text, venue=VENUE, http_status=status, venue_code=label,
                       retry_after=_retry_after(response.headers, now_ms))  # fmt: skip


def is_clock_error(error: ExchangeError) -> bool:
    """A request refused for its Timestamp: resynchronising the clock fixes it."""
    return error.venue_code == constants.CLOCK_ERROR_LABEL


def _host_root(base_url: str) -> str:
    """The base URL without a trailing ``/api/v4`` (signed paths carry it themselves)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    if path.endswith(constants.API_PREFIX):
        path = path[: -len(constants.API_PREFIX)]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class GateioExecution(RestExecution):
    """Gate.io spot trading over REST (:class:`RestExecution`).

    ``base_url`` is the host, with or without ``/api/v4``. ``account`` is sent with each order
    (``spot``; unified accounts use ``unified``). Gate refuses timestamps more than 60 s off; a
    refusal for that resynchronises and retries once. A NetworkError from :meth:`place_order`
    means the outcome is unknown: :meth:`fetch_order` by the client order id before placing it
    again.
    """

    spec = ExecutionSpec(
        venue=VENUE,
        base_url=constants.REST_HOST_URL,
        check=check,
        rate_limits=constants.RATE_LIMITS,
        sign=auth.sign,
        instruments_request=HttpRequest(
            method="GET", path=constants.SIGNED_INSTRUMENTS_PATH, headers=_GET_HEADERS
        ),
        parse_instruments=providers.parse_instruments,
        time_request=HttpRequest(
            method="GET", path=constants.SERVER_TIME_PATH, headers=_GET_HEADERS
        ),
        server_time_ms=parse_server_time,
        is_clock_error=is_clock_error,
    )

    def __init__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        *,
        account: str = constants.DEFAULT_ACCOUNT,
        **options: Unpack[ExecutionOptions],
    ) -> None:
        self.account = account
        self._order_ids: OrderedDict[str, str] = OrderedDict()
        super().__init__(credentials, instruments, **options)

    def _root_url(self, base_url: str) -> str:
        return _host_root(base_url)

    def _repr_fields(self) -> Mapping[str, object]:
        return {"account": self.account}

    def _remember(self, order: Order) -> Order:
        if order.client_order_id and order.venue_order_id:
            self._order_ids[order.client_order_id] = order.venue_order_id
            self._order_ids.move_to_end(order.client_order_id)
            while len(self._order_ids) > _KNOWN_IDS:
                self._order_ids.popitem(last=False)
        return order

    def _by_order_path(
        self, method: str, instrument: Instrument, client_order_id: str
    ) -> HttpRequest:
        """By order id when this client placed it (works after it finished), else by text."""
        known = self._order_ids.get(client_order_id)
        return HttpRequest(
            method=method,
            path=constants.ORDER_PATH.format(order_id=known or client_text(client_order_id)),
            params=[("currency_pair", instrument.native_symbol)],
            headers=_GET_HEADERS,
        )

    async def _order_request(self, order: OrderRequest) -> HttpRequest:
        return order_request(order, account=self.account)

    def _accept(self, body: Any, order: OrderRequest) -> Order:
        if isinstance(body, Mapping) and "status" not in body:  # action_mode ACK: id, text
            venue_order_id = text_of(body, "id", VENUE)
            placed = accepted_order(order, venue_order_id, market_is_ioc=True,
                                    ts_created_ns=self._now_ns())  # fmt: skip
        else:
            placed = parse_order(body, order.instrument)
        return self._remember(placed)

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """Cancel; the reply is the order. One that already finished is returned as it ended."""
        request = self._by_order_path("DELETE", instrument, client_order_id)
        try:
            return self._remember(parse_order(await self.rest.send(request), instrument))
        except InvalidOrder as error:
            if error.venue_code not in constants.FINISHED_LABELS:
                raise
        except OrderNotFound:
            pass  # addressed by text after it finished: look among the finished orders
        return await self.fetch_order(instrument, client_order_id)

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """The order by client order id: directly while open or when this client placed it,
        else among the pair's 100 most recent finished orders."""
        request = self._by_order_path("GET", instrument, client_order_id)
        try:
            return self._remember(parse_order(await self.rest.send(request), instrument))
        except OrderNotFound:
            pass
        text = client_text(client_order_id)
        finished = await self._list_orders(instrument, "finished")
        for order in finished:
            if order.client_order_id and client_text(order.client_order_id) == text:
                return self._remember(order)
        raise OrderNotFound(
            f"{instrument.symbol}: no order with client order id {client_order_id!r}",
            venue=VENUE,
            venue_code="ORDER_NOT_FOUND",
        )

    async def _list_orders(self, instrument: Instrument, status: str) -> list[Order]:
        request = HttpRequest(
            method="GET",
            path=constants.ORDERS_PATH,
            params=[
                ("currency_pair", instrument.native_symbol),
                ("status", status),
                ("limit", str(constants.ORDERS_PAGE_LIMIT)),
            ],
            headers=_GET_HEADERS,
        )
        return parse_orders(await self.rest.send(request), SymbolMap.of(VENUE, [instrument]))

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        """Open orders of one pair (up to 100), or of every pair (``/spot/open_orders``)."""
        if instrument is not None:
            return await self._list_orders(instrument, "open")
        request = HttpRequest(method="GET", path=constants.OPEN_ORDERS_PATH, headers=_GET_HEADERS)
        return parse_orders(await self.rest.send(request), self.symbols)

    async def fetch_balances(self) -> list[Balance]:
        request = HttpRequest(method="GET", path=constants.ACCOUNTS_PATH, headers=_GET_HEADERS)
        return parse_balances(await self.rest.send(request))

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        request = HttpRequest(
            method="GET",
            path=constants.FEE_PATH,
            params=[("currency_pair", instrument.native_symbol)],
            headers=_GET_HEADERS,
        )
        return parse_fees(await self.rest.send(request))
