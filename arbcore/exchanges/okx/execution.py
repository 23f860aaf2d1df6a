"""OKX spot trading over REST: pure request builders and reply parsers, composed by OKXExecution.

Every reply goes through :func:`check` first: OKX answers most refusals with HTTP 200 and a
non-zero ``code`` (``"1"`` for a failed order, whose reason is the entry's ``sCode``/``sMsg``).
Prices and sizes are read exactly (``to_raw`` at the instrument's decimals), never as floats.

A placement is never blindly resent. OKX deduplicates ``clOrdId`` only among *pending* orders,
so resending an IOC that already filled would trade twice; when a placement's outcome is
unknown (timeout, 5xx, throttled) the order is looked up by its client id first and sent again
only when OKX has no such order (:func:`place_reconciled`).

The first part of this module (up to ``OKX``) is venue-neutral plumbing that KuCoin's
execution imports too, so it exists once; it belongs in ``arbcore/exchanges/trading.py``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from arbcore.errors import (
    AuthenticationError,
    DecimalFormatError,
    ExchangeError,
    ExchangeNotAvailable,
    InvalidOrder,
    MalformedMessage,
    NetworkError,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.credentials import Credentials
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
    WEIGHT_BALANCE,
    WEIGHT_INSTRUMENTS,
    WEIGHT_ORDER,
    WEIGHT_TIME,
    WEIGHT_TRADE_FEE,
)
from arbcore.exchanges.okx.providers import parse_instruments
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest
from arbcore.model import (
    Balance,
    Instrument,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
)
from arbcore.net.http import HttpClient, HttpRequest
from arbcore.net.ratelimit import BudgetSpec, RateLimiter
from arbcore_ext.fixedpoint import to_raw, to_text

__all__ = [
    "JSON_CONTENT",
    "OKXExecution",
    "ServerClock",
    "SignedRest",
    "balances_request",
    "cancel_request",
    "check",
    "compact_json",
    "decode_body",
    "exact_raw",
    "fees_request",
    "first_attempt_only",
    "instruments_request",
    "list_of",
    "mapping_of",
    "open_orders_request",
    "order_from_entry",
    "order_lookup_request",
    "order_request",
    "parse_ack",
    "parse_balances",
    "parse_fees",
    "parse_order",
    "parse_server_time",
    "place_reconciled",
    "retry_after_s",
    "status_class",
    "symbol_map",
    "text_of",
    "time_request",
    "venue_error",
    "venue_http",
    "wire_decimal",
]

logger = logging.getLogger(__name__)

JSON_CONTENT = ("Content-Type", "application/json")

# --- Venue-neutral plumbing (shared with kucoin/execution.py) -----------------------------------


def decode_body(response: httpx.Response) -> Any:
    """The reply's JSON, numbers with a fraction kept as text (never floats); None if not JSON."""
    try:
        return json.loads(response.content, parse_float=str)
    except ValueError:
        return None


def compact_json(fields: Mapping[str, object]) -> str:
    """The body text as sent and signed: no spaces, keys in the given order."""
    return json.dumps(fields, separators=(",", ":"))


def retry_after_s(headers: Mapping[str, str], default: float | None) -> float | None:
    """Seconds from a ``Retry-After`` header, else the venue's documented wait."""
    value = headers.get("retry-after")
    try:
        return default if value is None else max(0.0, float(value))
    except ValueError:
        return default


def status_class(status: int) -> type[ExchangeError]:
    """The error an HTTP status means when the body names no known venue code.

    504 leaves the outcome unknown (a proxy gave up; the venue may have acted): NetworkError.
    """
    if status in (401, 403):
        return AuthenticationError
    if status in (418, 429):
        return RateLimitExceeded
    if status == 504:
        return NetworkError
    if status >= 500:
        return ExchangeNotAvailable
    return ExchangeError


def venue_error(
    cls: type[ExchangeError],
    message: str,
    *,
    venue: str,
    response: httpx.Response,
    code: str | None,
    retry_after_default: float | None = None,
) -> ExchangeError:
    """One ExchangeError carrying the venue, HTTP status, code and (when throttled) retry_after."""
    status = response.status_code
    if issubclass(cls, RateLimitExceeded):
        retry = retry_after_s(response.headers, retry_after_default)
        return cls(message, retry_after=retry, venue=venue, http_status=status, venue_code=code)
    return cls(message, venue=venue, http_status=status, venue_code=code)


def text_of(entry: Mapping[str, Any], key: str, venue: str, *, required: bool = True) -> str:
    """A string field; a missing or empty required one is malformed, an optional one is ``""``."""
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise MalformedMessage(f"field {key!r} is missing or empty", venue=venue)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedMessage(f"field {key!r} must be text, was {value!r}", venue=venue)
    return str(value)


def exact_raw(text: str, decimals: int, what: str, venue: str) -> int:
    """Decimal text as a raw int at ``decimals``, exactly; ``""`` (nothing yet) is 0."""
    if text == "":
        return 0
    try:
        return to_raw(text, decimals)
    except DecimalFormatError as exc:
        raise MalformedMessage(
            f"{what} {text!r} is not exact at {decimals} decimals", venue=venue
        ) from exc


def wire_decimal(raw: int, decimals: int) -> str:
    """A raw value as the shortest decimal text (``2.15``, ``2``), as venues print it."""
    text = to_text(raw, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def mapping_of(value: object, what: str, venue: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedMessage(f"{what} is not a JSON object", venue=venue)
    return value


def list_of(value: object, what: str, venue: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedMessage(f"{what} is not a JSON array", venue=venue)
    return value


def symbol_map(venue: str, instruments: SymbolMap | Iterable[Instrument]) -> SymbolMap:
    return instruments if isinstance(instruments, SymbolMap) else SymbolMap.of(venue, instruments)


def venue_http(
    venue: str,
    *,
    http: HttpClient | None,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None,
    check: Callable[[httpx.Response], ExchangeError | None],
    budgets: Iterable[BudgetSpec],
) -> HttpClient:
    """The caller's client, or one for ``base_url`` with the venue's check and documented limits."""
    if http is not None:
        return http
    limiter = RateLimiter(tuple(budgets))
    return HttpClient(venue, base_url, check=check, limiter=limiter, transport=transport)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ServerClock:
    """Local time plus the venue's offset: what signed timestamps carry.

    Venues refuse skewed timestamps (OKX 30 s, KuCoin 5 s); :meth:`update` sets the offset from
    one reading of the venue's time endpoint, taken as the midpoint of the round trip.
    """

    def __init__(self, clock_ms: Callable[[], int] | None = None) -> None:
        self.local_ms = clock_ms or _wall_ms
        self.offset_ms = 0

    def now_ms(self) -> int:
        return self.local_ms() + self.offset_ms

    def update(self, server_ms: int, sent_ms: int, received_ms: int) -> int:
        self.offset_ms = server_ms - (sent_ms + received_ms) // 2
        return self.offset_ms


class _ResendRequested(Exception):
    """The client was about to send a placement again; its first outcome is still unknown."""


def first_attempt_only(
    sign: Callable[[HttpRequest], HttpRequest],
) -> Callable[[HttpRequest], HttpRequest]:
    """A signer that refuses a second attempt, so the caller can look the order up first.

    HttpClient re-signs every retry; a placement must not be retried blindly (see module doc).
    """
    signed = False

    def once(request: HttpRequest) -> HttpRequest:
        nonlocal signed
        if signed:
            raise _ResendRequested
        signed = True
        return sign(request)

    return once


async def place_reconciled(
    *,
    send: Callable[[], Awaitable[Any]],
    lookup: Callable[[], Awaitable[Order | None]],
    accept: Callable[[Any], Order],
    is_duplicate: Callable[[ExchangeError], bool],
    attempts: int,
    venue: str,
    client_order_id: str,
) -> Order:
    """Place an order at most once: after an unanswered attempt, look it up before resending.

    ``send`` makes one attempt (its signer raises ``_ResendRequested`` instead of a blind
    retry); ``lookup`` finds the order by client id (None when the venue has none). A reply
    saying the client id already exists means an earlier attempt got through: that order wins.
    """
    for _ in range(max(1, attempts)):
        try:
            body = await send()
        except _ResendRequested:
            found = await lookup()
            if found is not None:
                return found
            logger.info(
                "%s: no order %s after an unanswered placement; sending it again",
                venue,
                client_order_id,
            )
            continue
        except ExchangeError as error:
            if not is_duplicate(error):
                raise
            found = await lookup()
            if found is None:
                raise
            return found
        return accept(body)
    raise NetworkError(
        f"placement of {client_order_id} went unanswered {attempts} times and the venue has no "
        "such order; nothing was placed, send it again later",
        venue=venue,
    )


class SignedRest:
    """One venue's HttpClient, signing at the server's time, with clock resync on a skew refusal.

    ``sign(request, timestamp_ms)`` adds the venue's auth; ``parse_time`` reads the venue's
    time reply. A refusal whose code is in ``skew_codes`` did nothing, so the clock is synced
    and the request sent once more.
    """

    def __init__(
        self,
        *,
        venue: str,
        http: HttpClient,
        sign: Callable[[HttpRequest, int], HttpRequest],
        clock: ServerClock,
        time_request: HttpRequest,
        parse_time: Callable[[Any], int],
        skew_codes: frozenset[str],
    ) -> None:
        self.venue = venue
        self.http = http
        self.clock = clock
        self._sign = sign
        self._time_request = time_request
        self._parse_time = parse_time
        self._skew_codes = skew_codes

    def _signer(self, request: HttpRequest) -> HttpRequest:
        return self._sign(request, self.clock.now_ms())

    async def send(self, request: HttpRequest, *, signed: bool = True, once: bool = False) -> Any:
        """The decoded JSON reply (``check`` has already turned refusals into errors)."""
        for resynced in (False, True):
            signer: Callable[[HttpRequest], HttpRequest] | None = None
            if signed:
                signer = first_attempt_only(self._signer) if once else self._signer
            try:
                response = await self.http.send(request, signer)
            except AuthenticationError as error:
                if resynced or not signed or str(error.venue_code) not in self._skew_codes:
                    raise
                logger.warning("%s: timestamp refused (%s); syncing the clock", self.venue, error)
                await self.sync_time()
                continue
            body = decode_body(response)
            if body is None:
                raise MalformedMessage(f"{request.path}: the reply is not JSON", venue=self.venue)
            return body
        raise AssertionError("unreachable: the second pass returns or raises")

    async def sync_time(self) -> int:
        """Read the venue's clock; the offset (ms) signatures use from now on."""
        sent = self.clock.local_ms()
        body = await self.send(self._time_request, signed=False)
        received = self.clock.local_ms()
        offset = self.clock.update(self._parse_time(body), sent, received)
        logger.info("%s: server clock offset %+d ms", self.venue, offset)
        return offset

    async def aclose(self) -> None:
        await self.http.aclose()


# --- OKX -----------------------------------------------------------------------------------------


def check(response: httpx.Response) -> ExchangeError | None:
    """OKX's verdict on a reply: None for success, else the matching ExchangeError.

    ``code`` ``"0"`` is success; ``"1"``/``"2"`` (operation failed / partly failed) carry the
    reason in the first failed entry's ``sCode``/``sMsg``; any other code is the reason itself.
    Unknown codes fall back on the HTTP status.
    """
    body = decode_body(response)
    status = response.status_code
    if not isinstance(body, Mapping) or "code" not in body:
        if status < 400:
            return ExchangeError(
                "the reply is not an OKX JSON envelope", venue=VENUE, http_status=status
            )
        return venue_error(
            status_class(status),
            f"HTTP {status} without an OKX error body",
            venue=VENUE,
            response=response,
            code=None,
            retry_after_default=RATE_LIMIT_WINDOW_S,
        )
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
    cls = ERROR_CODES.get(code) or status_class(status)
    return venue_error(
        cls,
        message or "request refused",
        venue=VENUE,
        response=response,
        code=code,
        retry_after_default=RATE_LIMIT_WINDOW_S,
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
    if instrument.venue != VENUE:
        raise InvalidOrder(f"{instrument.symbol} is a {instrument.venue} instrument", venue=VENUE)
    return instrument


def order_request(order: OrderRequest) -> HttpRequest:
    """POST /api/v5/trade/order for a prepared order (cash spot; clOrdId = client order id).

    Limit GTC/IOC/post-only are ordType limit/ioc/post_only with ``px``; a market order counts
    ``sz`` in the base asset (``tgtCcy:"base_ccy"``) and is refused whole rather than shrunk
    when the balance falls short (``banAmend:true``).
    """
    instrument = _own(order.instrument)
    fields: dict[str, object] = {
        "instId": instrument.native_symbol,
        "tdMode": CASH_MODE,
        "clOrdId": _client_id(order.client_order_id),
        "side": order.side.value,
    }
    size = wire_decimal(order.size_raw, instrument.size_decimals)
    if order.type is OrderType.MARKET:
        fields.update(ordType="market", sz=size, tgtCcy=BASE_CCY, banAmend=True)
    else:
        if order.price_raw is None:
            raise InvalidOrder(f"{instrument.symbol}: a limit order needs a price", venue=VENUE)
        fields.update(
            ordType=_LIMIT_TYPES[order.time_in_force],
            px=wire_decimal(order.price_raw, instrument.price_decimals),
            sz=size,
        )
    return HttpRequest(
        method="POST",
        path=ORDER_PATH,
        body=compact_json(fields),
        headers=(JSON_CONTENT,),
        weight=WEIGHT_ORDER,
        is_order=True,
    )


_LIMIT_TYPES = {
    tif: name
    for name, (kind, tif) in ORDER_TYPES.items()
    if kind is OrderType.LIMIT and name != "fok"
}


def order_lookup_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    """GET /api/v5/trade/order by clOrdId (the latest order with that id)."""
    params = (("instId", _own(instrument).native_symbol), ("clOrdId", client_order_id))
    return HttpRequest(method="GET", path=ORDER_PATH, params=params, weight=WEIGHT_ORDER)


def cancel_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    body = {"instId": _own(instrument).native_symbol, "clOrdId": client_order_id}
    return HttpRequest(
        method="POST",
        path=CANCEL_ORDER_PATH,
        body=compact_json(body),
        headers=(JSON_CONTENT,),
        weight=WEIGHT_ORDER,
        is_order=True,
    )


def open_orders_request(instrument: Instrument | None, after: str | None = None) -> HttpRequest:
    params = [("instType", SPOT_INST_TYPE)]
    if instrument is not None:
        params.append(("instId", _own(instrument).native_symbol))
    if after:
        params.append(("after", after))
    return HttpRequest(method="GET", path=OPEN_ORDERS_PATH, params=params, weight=WEIGHT_ORDER)


def balances_request() -> HttpRequest:
    return HttpRequest(method="GET", path=BALANCE_PATH, weight=WEIGHT_BALANCE)


def fees_request(instrument: Instrument) -> HttpRequest:
    params = (("instType", SPOT_INST_TYPE), ("instId", _own(instrument).native_symbol))
    return HttpRequest(method="GET", path=TRADE_FEE_PATH, params=params, weight=WEIGHT_TRADE_FEE)


def time_request() -> HttpRequest:
    return HttpRequest(method="GET", path=TIME_PATH, weight=WEIGHT_TIME)


def instruments_request() -> HttpRequest:
    return HttpRequest(method="GET", path=INSTRUMENTS_PATH, weight=WEIGHT_INSTRUMENTS)


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
    echoed = text_of(entry, "clOrdId", VENUE, required=False)
    if echoed != order.client_order_id:
        raise MalformedMessage(
            f"placement reply names clOrdId {echoed!r}, not {order.client_order_id!r}", venue=VENUE
        )
    return Order(
        venue=VENUE,
        symbol=order.symbol,
        client_order_id=order.client_order_id,
        side=order.side,
        type=order.type,
        price_raw=order.price_raw or 0,
        size_raw=order.size_raw,
        time_in_force=order.time_in_force,
        status=OrderStatus.OPEN,
        venue_order_id=text_of(entry, "ordId", VENUE),
        ts_created_ns=_ms_to_ns(text_of(entry, "ts", VENUE, required=False)),
    )


def parse_order(body: Any, instrument: Instrument) -> Order:
    """A GET /api/v5/trade/order reply (``data[0]``) as an Order."""
    return order_from_entry(_first(body, "order reply"), instrument)


def order_from_entry(entry: Mapping[str, Any], instrument: Instrument) -> Order:
    """One order object (order details, pending orders) as an Order, prices and sizes exact.

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
    filled = exact_raw(
        text_of(entry, "accFillSz", VENUE, required=False), size_decimals, "accFillSz", VENUE
    )
    price = text_of(entry, "px", VENUE, required=False)
    quote_sized = order_type is OrderType.MARKET and entry.get("tgtCcy") == QUOTE_CCY
    size = (
        filled
        if quote_sized
        else exact_raw(text_of(entry, "sz", VENUE), size_decimals, "sz", VENUE)
    )
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=text_of(entry, "clOrdId", VENUE, required=False),
        side=OrderSide(side),
        type=order_type,
        price_raw=exact_raw(price, price_decimals, "px", VENUE),
        size_raw=size,
        time_in_force=time_in_force,
        status=ORDER_STATES[state],
        filled_raw=filled,
        venue_order_id=text_of(entry, "ordId", VENUE),
        ts_created_ns=_ms_to_ns(text_of(entry, "cTime", VENUE, required=False)),
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
                free=_amount(entry, "availBal"),
                locked=_amount(entry, "frozenBal"),
            )
        )
    return balances


def _amount(entry: Mapping[str, Any], key: str) -> float:
    text = text_of(entry, key, VENUE, required=False)
    try:
        return float(text) if text else 0.0
    except ValueError as exc:
        raise MalformedMessage(f"{key} {text!r} is not a number", venue=VENUE) from exc


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
    return -_amount(source, "maker"), -_amount(source, "taker")


def parse_server_time(body: Any) -> int:
    """GET /api/v5/public/time: the server's time in ms."""
    text = text_of(_first(body, "time reply"), "ts", VENUE)
    if not text.isdigit():
        raise MalformedMessage(f"server time {text!r} is not milliseconds", venue=VENUE)
    return int(text)


class OKXExecution:
    """OKX spot orders, balances and fees over REST (implements ``VenueTrading``).

    Give it an ``http`` client (the simulator, tests) or a ``base_url`` and optional httpx
    ``transport``; it then builds a client with :func:`check` and OKX's documented budgets.
    ``demo=True`` adds the demo-trading header. Call :meth:`sync_time` before trading when the
    local clock may be off; a 50102 refusal resyncs it by itself.
    """

    venue = VENUE

    def __init__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        *,
        http: HttpClient | None = None,
        base_url: str = REST_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        clock_ms: Callable[[], int] | None = None,
        demo: bool = False,
    ) -> None:
        auth.passphrase_of(credentials)  # no passphrase: fail here, not at the first order
        self._credentials = credentials
        self.symbols = symbol_map(VENUE, instruments)
        self.demo = demo
        self.http = venue_http(
            VENUE,
            http=http,
            base_url=base_url,
            transport=transport,
            check=check,
            budgets=RATE_LIMITS,
        )
        self.clock = ServerClock(clock_ms)
        self.rest = SignedRest(
            venue=VENUE,
            http=self.http,
            sign=self._sign_at,
            clock=self.clock,
            time_request=time_request(),
            parse_time=parse_server_time,
            skew_codes=CLOCK_SKEW_CODES,
        )

    def __repr__(self) -> str:
        return f"OKXExecution(instruments={len(self.symbols)}, demo={self.demo})"

    def sign(
        self,
        request: HttpRequest,
        credentials: Credentials,
        *,
        timestamp_ms: int | None = None,
        nonce: str | None = None,
    ) -> HttpRequest:
        return auth.sign(request, credentials, timestamp_ms=timestamp_ms, nonce=nonce)

    def _sign_at(self, request: HttpRequest, timestamp_ms: int) -> HttpRequest:
        signed = auth.sign(request, self._credentials, timestamp_ms=timestamp_ms)
        return signed.with_headers(DEMO_HEADER) if self.demo else signed

    async def sync_time(self) -> int:
        return await self.rest.sync_time()

    async def aclose(self) -> None:
        await self.rest.aclose()

    async def place_order(self, order: OrderRequest) -> Order:
        request = order_request(order)
        instrument, client_order_id = order.instrument, order.client_order_id
        return await place_reconciled(
            send=lambda: self.rest.send(request, once=True),
            lookup=lambda: self._find(instrument, client_order_id),
            accept=lambda body: parse_ack(body, order),
            is_duplicate=lambda error: str(error.venue_code) in DUPLICATE_ORDER_CODES,
            attempts=self.http.retry.attempts,
            venue=VENUE,
            client_order_id=client_order_id,
        )

    async def _find(self, instrument: Instrument, client_order_id: str) -> Order | None:
        try:
            return await self.fetch_order(instrument, client_order_id)
        except OrderNotFound:
            return None

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """Cancel, then read the order back: OKX's sCode 0 only means the request was accepted.

        An order already filled or canceled (51400) is returned as it is, not as an error.
        """
        try:
            await self.rest.send(cancel_request(instrument, client_order_id))
        except OrderNotFound:
            order = await self.fetch_order(instrument, client_order_id)
            if not order.status.is_final:
                raise
            return order
        return await self.fetch_order(instrument, client_order_id)

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
            for item in page:
                entry = mapping_of(item, "pending order", VENUE)
                known = self.symbols.get(text_of(entry, "instId", VENUE))
                if known is not None:
                    orders.append(order_from_entry(entry, known))
            if len(page) < OPEN_ORDERS_PAGE:
                return orders
            after = text_of(mapping_of(page[-1], "pending order", VENUE), "ordId", VENUE)

    async def fetch_balances(self) -> list[Balance]:
        return parse_balances(await self.rest.send(balances_request()))

    async def fetch_instruments(self) -> list[Instrument]:
        body = await self.rest.send(instruments_request(), signed=False)
        return list(parse_instruments(body).instruments)

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        return parse_fees(await self.rest.send(fees_request(instrument)))
