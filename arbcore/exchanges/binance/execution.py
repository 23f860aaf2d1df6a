"""Binance spot orders over signed REST: pure builders and parsers, and the client over them.

Pure functions, pinned to the documentation's examples: :func:`order_request` (and the other
request builders), :func:`parse_order`, :func:`check`, :func:`parse_balances`,
:func:`parse_fees`. :class:`BinanceExecution` composes them over an
:class:`~arbcore.net.http.HttpClient` and fills in :class:`~arbcore.exchanges.trading.VenueTrading`.

The first part of this module is venue-neutral (:class:`ServerClock`, :class:`SignedRest`,
parsing and redaction helpers). Bybit imports it from here so neither venue copies it; it is
meant to move to ``arbcore/exchanges/trading.py``.

Binance deduplicates ``newClientOrderId`` among *open* orders only: once an order has filled,
the same id is accepted again. A blind resend after a timeout could therefore double an order
that filled at once, so :meth:`SignedRest.place` looks the order up by its client id before
every resend.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

import httpx

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeNotAvailable,
    InvalidOrder,
    MalformedMessage,
    NetworkError,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.binance import auth, constants
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest
from arbcore.model import (
    Balance,
    Instrument,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.net.ratelimit import BudgetSpec, RateLimiter
from arbcore_ext.fixedpoint import to_raw, to_text

if TYPE_CHECKING:
    from arbcore.exchanges.trading import VenueTrading

__all__ = [
    "BinanceExecution",
    "RequestSigner",
    "ServerClock",
    "SignedRest",
    "account_request",
    "acknowledged_order",
    "budgets_from_rate_limits",
    "cancel_request",
    "check",
    "check_client_order_id",
    "commission_request",
    "decimal_of",
    "decimal_text",
    "describe",
    "int_of",
    "is_duplicate",
    "json_of",
    "open_orders_request",
    "order_request",
    "order_status",
    "parse_balances",
    "parse_fees",
    "parse_open_orders",
    "parse_order",
    "parse_server_time",
    "query_request",
    "raw_decimal",
    "received_request",
    "redact",
    "retry_after_s",
    "settle_missing",
    "status_error_kind",
    "symbol_map",
    "text_of",
    "venue_error",
]

logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# Venue-neutral helpers (shared with Bybit; proposed for arbcore/exchanges/trading.py)
# ----------------------------------------------------------------------------------------------

Signer = Callable[[HttpRequest], HttpRequest]
OrderLookup = Callable[[], Awaitable[Order | None]]


class RequestSigner(Protocol):
    """A venue's ``sign`` (the :class:`VenueTrading` method)."""

    def __call__(
        self,
        request: HttpRequest,
        credentials: Credentials,
        *,
        timestamp_ms: int | None = None,
        nonce: str | None = None,
    ) -> HttpRequest: ...


class ServerClock:
    """Local time plus the measured offset to the venue's clock, in ms.

    Venues reject a timestamp more than 1 s ahead of their clock or older than the receive
    window, so a drifting host clock is corrected from the venue's time endpoint instead of
    trusted. The local clock is injected (seconds, like ``time.time``) so tests are exact.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.offset_ms = 0
        self.synced = False

    def local_ms(self) -> int:
        return int(self._clock() * 1000)

    def now_ms(self) -> int:
        """The venue's time as best known: what a signed request's timestamp is."""
        return self.local_ms() + self.offset_ms

    def observe(self, server_ms: int, sent_ms: int, received_ms: int) -> int:
        """Take the venue's time, read between ``sent_ms`` and ``received_ms`` (local), as
        the midpoint of the round trip; returns the new offset."""
        self.offset_ms = server_ms - (sent_ms + received_ms) // 2
        self.synced = True
        return self.offset_ms


def symbol_map(venue: str, instruments: SymbolMap | Iterable[Instrument]) -> SymbolMap:
    """The venue's instruments by native symbol, from a SymbolMap or any instruments."""
    if isinstance(instruments, SymbolMap):
        return instruments
    return SymbolMap.of(venue, instruments)


def json_of(response: httpx.Response, venue: str) -> Any:
    """The reply's JSON; decimals stay text (``parse_float=str``), never a float."""
    try:
        return json.loads(response.content, parse_float=str)
    except ValueError as exc:
        raise MalformedMessage(f"{describe(response)}: the reply is not JSON", venue=venue) from exc


def decimal_text(raw: int, decimals: int) -> str:
    """The shortest exact text of a raw value ("0.1", "15600"): what the venues' own request
    examples send, and never more decimals than the instrument allows."""
    text = to_text(raw, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def raw_decimal(
    value: object, decimals: int, what: str, venue: str, *, empty_is_zero: bool = False
) -> int:
    """A venue decimal string as a raw int at ``decimals``, exact (padding zeros are fine)."""
    if empty_is_zero and value == "":
        return 0
    if not isinstance(value, str):
        raise MalformedMessage(f"{what} must be a decimal string, was {value!r}", venue=venue)
    try:
        return to_raw(value, decimals)
    except ValueError as exc:
        raise MalformedMessage(f"{what} {value!r}: {exc}", venue=venue) from exc


def text_of(body: Mapping[str, Any], key: str, venue: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise MalformedMessage(f"field {key!r} must be a string, was {value!r}", venue=venue)
    return value


def int_of(value: object, what: str, venue: str) -> int:
    """An integer sent as a JSON number or as decimal digits (Bybit's timestamps)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise MalformedMessage(f"{what} must be an integer, was {value!r}", venue=venue)


def decimal_of(value: object, what: str, venue: str) -> Decimal:
    """A rate or balance as an exact Decimal (floats are made from it only at the end)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise MalformedMessage(f"{what} must be a decimal, was {value!r}", venue=venue)
    try:
        number = Decimal(value) if value != "" else Decimal(0)
    except InvalidOperation as exc:
        raise MalformedMessage(f"{what} {value!r} is not a decimal", venue=venue) from exc
    if not number.is_finite():
        raise MalformedMessage(f"{what} {value!r} is not a finite decimal", venue=venue)
    return number


def check_client_order_id(client_order_id: str, pattern: str, venue: str) -> None:
    """Refuse an id the venue would not accept (and so could not echo or deduplicate)."""
    if re.fullmatch(pattern, client_order_id) is None:
        raise InvalidOrder(
            f"client order id {client_order_id!r} does not match {pattern}", venue=venue
        )


def retry_after_s(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds, when present and numeric."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def describe(response: httpx.Response) -> str:
    """``METHOD /path`` of the request a reply answers: never its query string."""
    try:
        request = response.request
    except RuntimeError:  # a reply built without its request (tests)
        return "reply"
    return f"{request.method} {request.url.path}"


def redact(
    text: str,
    response: httpx.Response,
    *,
    headers: Collection[str] = (),
    params: Collection[str] = (),
) -> str:
    """``text`` with any value of the request's secret headers and parameters cut out: a
    venue message that echoes the request must not carry its key or signature onward."""
    try:
        request = response.request
    except RuntimeError:
        return text
    secrets = [request.headers.get(name, "") for name in headers]
    pairs = list(request.url.params.multi_items())
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        pairs += parse_qsl(request.content.decode(errors="replace"))
    secrets += [value for key, value in pairs if key in params]
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, "<redacted>")
    return text


def venue_error(
    kind: type[ExchangeError],
    message: str,
    *,
    venue: str,
    http_status: int | None,
    venue_code: int | str | None,
    retry_after: float | None = None,
) -> ExchangeError:
    """One error of the tree; only RateLimitExceeded takes ``retry_after``."""
    if issubclass(kind, RateLimitExceeded):
        return kind(message, retry_after=retry_after, venue=venue, http_status=http_status,
                    venue_code=venue_code)  # fmt: skip
    return kind(message, venue=venue, http_status=http_status, venue_code=venue_code)


def status_error_kind(status: int) -> type[ExchangeError]:
    """The error an HTTP status means when the body says nothing more."""
    if status in (418, 429):
        return RateLimitExceeded
    if status >= 500:
        return ExchangeNotAvailable
    if status == 401:
        return AuthenticationError
    return ExchangeError


def received_request(request: httpx.Request) -> HttpRequest:
    """The :class:`HttpRequest` a server received, for :func:`verify` on its side (the local
    simulator, the tests). Parameters are decoded; ``query`` re-encodes them as sent."""
    query = request.url.query.decode("ascii")
    return HttpRequest(
        method=request.method,
        path=request.url.path,
        params=parse_qsl(query, keep_blank_values=True),
        body=request.content.decode(),
        headers=list(request.headers.items()),
    )


def parse_open_orders(
    entries: object,
    symbols: SymbolMap,
    parse: Callable[[Mapping[str, Any], Instrument], Order],
    *,
    venue: str,
    symbol_key: str = "symbol",
) -> list[Order]:
    """Every order of a list; orders on symbols the client does not know are skipped and
    counted in a warning (they cannot be read exactly without the instrument's decimals)."""
    if not isinstance(entries, list):
        raise MalformedMessage("the open orders are not a JSON array", venue=venue)
    orders: list[Order] = []
    unknown = 0
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise MalformedMessage("an open order is not a JSON object", venue=venue)
        instrument = symbols.get(str(entry.get(symbol_key, "")))
        if instrument is None:
            unknown += 1
            continue
        orders.append(parse(entry, instrument))
    if unknown:
        logger.warning("%s: %d open orders on symbols this client does not know were skipped",
                       venue, unknown)  # fmt: skip
    return orders


def acknowledged_order(
    venue: str,
    client_order_id: str,
    venue_order_id: str,
    ts_created_ns: int,
    instrument: Instrument,
    request: OrderRequest | None,
) -> Order:
    """The Order a bare acknowledgement (ids only) stands for: the request it answers, open.

    Binance's ACK and Bybit's placement reply carry no state; the request supplies side,
    type, price and size, and must be the order the venue echoed.
    """
    if request is None:
        raise MalformedMessage(
            f"order {client_order_id}: the reply carries no state; pass the request it answers",
            venue=venue,
        )
    if request.client_order_id != client_order_id:
        raise MalformedMessage(
            f"the reply is for order {client_order_id}, not {request.client_order_id}",
            venue=venue,
        )
    return Order(
        venue=venue,
        symbol=instrument.symbol,
        client_order_id=client_order_id,
        side=request.side,
        type=request.type,
        price_raw=request.price_raw or 0,
        size_raw=request.size_raw,
        time_in_force=request.time_in_force,
        status=OrderStatus.OPEN,
        venue_order_id=venue_order_id,
        ts_created_ns=ts_created_ns,
    )


class _ResendRefused(Exception):
    """HttpClient wanted to resend a placement blindly; the order is looked up first."""


class _SignOnce:
    """A signer for exactly one attempt: HttpClient's retry calls it again, and is stopped."""

    def __init__(self, sign: Signer) -> None:
        self._sign = sign
        self._used = False

    def __call__(self, request: HttpRequest) -> HttpRequest:
        if self._used:
            raise _ResendRefused
        self._used = True
        return self._sign(request)


class SignedRest:
    """What every signed-REST venue client does the same way.

    Each attempt is signed afresh with the venue-synced clock; a timestamp rejection resyncs
    the clock from the venue's time endpoint and resends once; replies are decoded as JSON
    with exact decimals; and :meth:`place` never sends an order twice (see there).
    """

    def __init__(
        self,
        http: HttpClient,
        credentials: Credentials,
        sign: RequestSigner,
        *,
        clock: ServerClock,
        time_request: HttpRequest,
        server_time_ms: Callable[[Any], int],
        timestamp_errors: Collection[int | str],
    ) -> None:
        self.http = http
        self.clock = clock
        self._credentials = credentials
        self._sign = sign
        self._time_request = time_request
        self._server_time_ms = server_time_ms
        self._timestamp_errors = frozenset(timestamp_errors)

    def __repr__(self) -> str:
        return f"SignedRest(venue={self.venue!r}, clock_offset_ms={self.clock.offset_ms})"

    @property
    def venue(self) -> str:
        return self.http.venue

    def sign_now(self, request: HttpRequest) -> HttpRequest:
        return self._sign(request, self._credentials, timestamp_ms=self.clock.now_ms())

    async def sync_time(self) -> int:
        """Measure the offset to the venue's clock; returns it in ms."""
        sent = self.clock.local_ms()
        response = await self.http.send(self._time_request)
        received = self.clock.local_ms()
        server = self._server_time_ms(json_of(response, self.venue))
        offset = self.clock.observe(server, sent, received)
        logger.info("%s: clock offset to the venue is %+d ms", self.venue, offset)
        return offset

    async def public(self, request: HttpRequest) -> Any:
        return json_of(await self.http.send(request), self.venue)

    async def signed(self, request: HttpRequest) -> Any:
        return json_of(await self._send_signed(request, lambda: self.sign_now), self.venue)

    async def _send_signed(
        self, request: HttpRequest, signer: Callable[[], Signer]
    ) -> httpx.Response:
        try:
            return await self.http.send(request, signer())
        except AuthenticationError as error:
            if error.venue_code not in self._timestamp_errors:
                raise
            logger.warning("%s %s: timestamp rejected; resyncing with the venue's clock",
                           self.venue, request.path)  # fmt: skip
            await self.sync_time()
            return await self.http.send(request, signer())

    async def place(
        self,
        request: HttpRequest,
        client_order_id: str,
        *,
        parse: Callable[[Any], Order],
        find: OrderLookup,
        is_duplicate: Callable[[ExchangeError], bool],
    ) -> Order:
        """Send a placement so that it can never create two orders.

        A failure whose outcome is unknown (timeout, 5xx, throttling: what HttpClient would
        retry) is followed by a lookup by client order id; only when the venue has no such
        order is the same request (same client id, new signature) sent again, after the
        HttpClient's backoff. A duplicate-id refusal also resolves to the existing order.
        """
        attempts = max(1, self.http.retry.attempts)
        for attempt in range(attempts):
            if attempt:
                found = await self._find_after_failure(find, client_order_id)
                if found is not None:
                    return found
                logger.info("%s: order %s is not at the venue; sending it again",
                            self.venue, client_order_id)  # fmt: skip
            try:
                response = await self._send_signed(request, lambda: _SignOnce(self.sign_now))
            except _ResendRefused:
                continue
            except ExchangeError as error:
                found = await find() if is_duplicate(error) else None
                if found is None:
                    raise
                return found
            return parse(json_of(response, self.venue))
        found = await self._find_after_failure(find, client_order_id)
        if found is not None:
            return found
        raise NetworkError(
            f"order {client_order_id}: {attempts} attempts failed and the venue has no order "
            "with that id, so it was not placed",
            venue=self.venue,
        )

    async def _find_after_failure(self, find: OrderLookup, client_order_id: str) -> Order | None:
        try:
            return await find()
        except ExchangeError as error:
            raise NetworkError(
                f"order {client_order_id}: outcome unknown, and looking it up failed "
                f"({type(error).__name__}); query it before sending it again",
                venue=self.venue,
            ) from error


async def settle_missing(error: OrderNotFound, find: OrderLookup) -> Order:
    """An order the venue would not cancel because it is no longer open: its final state
    (filled, cancelled, expired), or the original error when the venue has no such order."""
    found = await find()
    if found is None:
        raise error
    return found


# ----------------------------------------------------------------------------------------------
# Binance: pure request builders and parsers
# ----------------------------------------------------------------------------------------------

VENUE = constants.VENUE
_SECRET_HEADERS = (constants.API_KEY_HEADER,)
_SECRET_PARAMS = (constants.SIGNATURE_PARAM,)


def order_request(order: OrderRequest) -> HttpRequest:
    """``POST /api/v3/order``: LIMIT with GTC/IOC, LIMIT_MAKER for post-only, or MARKET in
    base quantity; ``newClientOrderId`` is the order's id, echoed back as ``clientOrderId``."""
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
        return acknowledged_order(
            VENUE, client_order_id, venue_order_id, ts_created_ns, instrument, request
        )
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
    kind = status_error_kind(status)
    if code is not None and kind is not RateLimitExceeded:
        kind = _coded_error_kind(code, msg)
    elif status == 403 and code is None:
        kind = AuthenticationError
        msg = "refused by the venue's web application firewall (WAF)"
    text = redact(msg or response.reason_phrase or "request failed", response,
                  headers=_SECRET_HEADERS, params=_SECRET_PARAMS)  # fmt: skip
    return venue_error(kind, f"{describe(response)}: {text}", venue=VENUE, http_status=status,
                       venue_code=code, retry_after=retry_after_s(response))  # fmt: skip


def _error_body(response: httpx.Response) -> tuple[int | None, str]:
    """``(code, msg)`` of an error body; ``(None, "")`` when the body is not one (success
    bodies never carry a negative ``code``)."""
    try:
        payload = json.loads(response.content, parse_float=str)
    except ValueError:
        return None, ""
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
# ----------------------------------------------------------------------------------------------


class BinanceExecution:
    """Binance spot trading over signed REST (:class:`VenueTrading`).

    Build with an :class:`HttpClient`, or with ``base_url`` (and an httpx transport for
    tests and the simulator): the client then gets :func:`check` and a rate limiter with the
    documented budgets. Call :meth:`sync_time` once at start; a ``-1021`` timestamp refusal
    resyncs and resends by itself.
    """

    venue: str = VENUE

    def __init__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        *,
        http: HttpClient | None = None,
        base_url: str = constants.REST_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        rate_limits: Iterable[BudgetSpec] = constants.RATE_LIMITS,
        recv_window_ms: int = constants.RECV_WINDOW_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < recv_window_ms <= constants.MAX_RECV_WINDOW_MS:
            raise ValueError(f"recv_window_ms must be in 1..{constants.MAX_RECV_WINDOW_MS}")
        self.symbols = symbol_map(VENUE, instruments)
        self.recv_window_ms = recv_window_ms
        self._owns_http = http is None
        self.http = http or HttpClient(VENUE, base_url, check=check, retry=retry,
                                       limiter=RateLimiter(tuple(rate_limits)),
                                       transport=transport)  # fmt: skip
        self.clock = ServerClock(clock)
        time_request = HttpRequest(method="GET", path=constants.TIME_PATH,
                                   weight=constants.WEIGHT_TIME)  # fmt: skip
        self.rest = SignedRest(self.http, credentials, self.sign, clock=self.clock,
                               time_request=time_request, server_time_ms=parse_server_time,
                               timestamp_errors=(constants.TIMESTAMP_ERROR_CODE,))  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"BinanceExecution(instruments={len(self.symbols)}, "
            f"recv_window_ms={self.recv_window_ms}, clock_offset_ms={self.clock.offset_ms})"
        )

    def sign(
        self,
        request: HttpRequest,
        credentials: Credentials,
        *,
        timestamp_ms: int | None = None,
        nonce: str | None = None,
    ) -> HttpRequest:
        """:func:`auth.sign` at the venue-synced time and this client's receive window."""
        stamp = self.clock.now_ms() if timestamp_ms is None else timestamp_ms
        return auth.sign(request, credentials, timestamp_ms=stamp, nonce=nonce,
                         recv_window_ms=self.recv_window_ms)  # fmt: skip

    async def sync_time(self) -> int:
        """Measure the offset to Binance's clock (``GET /api/v3/time``); returns it in ms."""
        return await self.rest.sync_time()

    async def place_order(self, order: OrderRequest) -> Order:
        instrument = order.instrument
        return await self.rest.place(
            order_request(order),
            order.client_order_id,
            parse=lambda body: parse_order(body, instrument, request=order),
            find=lambda: self._find(instrument, order.client_order_id),
            is_duplicate=is_duplicate,
        )

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """Cancel; an order already filled or gone comes back in its final state."""
        try:
            body = await self.rest.signed(cancel_request(instrument, client_order_id))
        except OrderNotFound as error:
            return await settle_missing(error, lambda: self._find(instrument, client_order_id))
        return parse_order(body, instrument)

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        return parse_order(await self.rest.signed(query_request(instrument, client_order_id)),
                           instrument)  # fmt: skip

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        body = await self.rest.signed(open_orders_request(instrument))
        return parse_open_orders(body, self.symbols, parse_order, venue=VENUE)

    async def fetch_balances(self) -> list[Balance]:
        return parse_balances(await self.rest.signed(account_request()))

    async def fetch_instruments(self) -> list[Instrument]:
        """The trading spot instruments (providers.parse_instruments); also refreshes the
        symbol map this client reads orders with."""
        request = HttpRequest(method="GET", path=constants.INSTRUMENTS_PATH,
                              weight=constants.WEIGHT_EXCHANGE_INFO)  # fmt: skip
        instruments = list(parse_instruments(await self.rest.public(request)).instruments)
        self.symbols = SymbolMap.of(VENUE, instruments)
        return instruments

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        return parse_fees(await self.rest.signed(commission_request(instrument)), instrument)

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._owns_http:
            await self.http.aclose()

    async def _find(self, instrument: Instrument, client_order_id: str) -> Order | None:
        try:
            return await self.fetch_order(instrument, client_order_id)
        except OrderNotFound:
            return None


if TYPE_CHECKING:  # mypy proves the class fills the shared contract

    def _is_venue_trading(execution: BinanceExecution) -> VenueTrading:
        return execution
