"""A simulated Binance spot venue: its REST API and market-data WebSocket, as Starlette routes.

Public: ``/api/v3/ping``, ``/time``, ``/exchangeInfo``, ``/depth`` (``lastUpdateId`` is the
engine's update id, so REST and stream line up by Binance's U/u rule). Signed (``X-MBX-APIKEY``,
``timestamp``, ``recvWindow``, ``signature``, checked by ``arbcore.exchanges.binance.auth``):
``/api/v3/order`` (POST, GET, DELETE), ``/api/v3/openOrders``, ``/api/v3/account``. Errors are
Binance's JSON and codes: -1121 unknown symbol, -1102 missing parameter, -1013 filter failures,
-2010 refused orders (insufficient balance, post-only that would take), -2011 / -2013 unknown
orders, -1022 bad signature, -1021 timestamp outside recvWindow, -2014 / -2015 API key; HTTP 429
with Retry-After (-1003) and 503 (-1000) when those faults strike. Binance's ban rule: a request
that arrives while a 429's Retry-After is still running bans the IP (HTTP 418, -1003, Retry-After
``ban_s``), and every request until the ban ends gets 418 with the time left (BAN bans at once).

WebSocket: the combined endpoint ``/stream`` (frames wrapped as ``{"stream","data"}``,
``?streams=a/b`` or SUBSCRIBE) and the raw ``/ws/<stream>``; streams ``<symbol>@depth@100ms``,
``<symbol>@depth`` (both at the simulator's step) and ``<symbol>@bookTicker``. Binance's
keepalive (a ping every 20 s, a pong due within a minute) is the server's WebSocket ping.

Deviation, on purpose: a placement repeating an account's ``newClientOrderId`` returns the
existing order (Binance answers -2010 "Duplicate order sent."), so a retried placement can
never make a second order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from arbcore.errors import DecimalFormatError, ExchangeError
from arbcore.exchanges.binance import auth
from arbcore.exchanges.binance.constants import (
    API_KEY_HEADER,
    CLIENT_ORDER_ID_PATTERN,
    DEPTH_STREAM,
    MAX_RECV_WINDOW_MS,
    RECV_WINDOW_MS,
    SIGNATURE_PARAM,
    TICKER_STREAM,
)
from arbcore.exchanges.credentials import Credentials
from arbcore.model import OrderSide, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore.sim.config import AccountConfig
from arbcore.sim.engine import MatchingEngine, Placement, Rejection, SimOrder
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import Fault, FaultConfig, FaultInjector
from arbcore.sim.protocol import order_faults
from arbcore.sim.stream import Outgoing, StreamHub, Subscriber
from arbcore.sim.venues.binance import shapes
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import rescale, to_raw

__all__ = ["BinanceServer"]

_SLOW_DEPTH_STREAM: Final = "{symbol}@depth"
_AHEAD_MS: Final = 1000  # how far ahead of the server a timestamp may be
_MICROSECONDS: Final = 10**14  # a timestamp this large is in microseconds
_CLIENT_ID: Final = re.compile(CLIENT_ORDER_ID_PATTERN)
_DEPTH_LIMIT: Final = (100, 5000)  # default, maximum
_REJECTIONS: Final = {
    Rejection.PRICE_FILTER: (-1013, "Filter failure: PRICE_FILTER"),
    Rejection.LOT_SIZE: (-1013, "Filter failure: LOT_SIZE"),
    Rejection.MIN_NOTIONAL: (-1013, "Filter failure: NOTIONAL"),
    Rejection.INSUFFICIENT_FUNDS: (-2010, "Account has insufficient balance for requested action."),
    Rejection.WOULD_TAKE: (-2010, "Order would immediately match and take."),
}
_TOO_MANY: Final = (
    "Too many requests; current limit of IP is 6000 requests per minute. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)
_BANNED: Final = (
    "Way too much request weight used; IP banned until {until_ms}. "
    "Please use WebSocket Streams for live updates to avoid bans."
)
_NS: Final = 1_000_000_000
_TYPES: Final = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "LIMIT_MAKER": OrderType.LIMIT,
}
_TIME_IN_FORCE: Final = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}

Handler = Callable[[Request], Awaitable[Response]]


class _Refused(ExchangeError):
    """Binance's answer to a request it refuses; turned into its JSON before leaving the app."""

    def __init__(self, code: int, message: str, status: int) -> None:
        super().__init__(message, venue="binance", http_status=status, venue_code=code)
        self.code = code
        self.message = message
        self.status = status


def _refuse(code: int, message: str, status: int = 400) -> _Refused:
    return _Refused(code, message, status)


def _missing(name: str) -> _Refused:
    return _refuse(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _answer(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


class _Signed:
    """A signed request that passed the checks: its account and merged parameters."""

    def __init__(self, account: AccountConfig, params: dict[str, str]) -> None:
        self.account = account
        self.params = params

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise _missing(name)
        return value


class BinanceServer:
    """One simulated Binance venue: the ASGI app and its publisher (module docstring)."""

    ws_path = "/stream"

    def __init__(self, venue: SimVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.hub = StreamHub(venue.name, faults)
        self._tickers: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
        self._uids: dict[str, int] = {}
        #: venue clock (ns) until which the last 429's Retry-After runs, and the IP ban's end
        self.throttled_until_ns = 0
        self.banned_until_ns = 0
        routes: list[Route | WebSocketRoute] = [
            self._route("/api/v3/ping", self._ping, ["GET"]),
            self._route("/api/v3/time", self._time, ["GET"]),
            self._route("/api/v3/exchangeInfo", self._exchange_info, ["GET"]),
            self._route("/api/v3/depth", self._depth, ["GET"]),
            self._route("/api/v3/order", self._order, ["POST", "GET", "DELETE"]),
            self._route("/api/v3/openOrders", self._open_orders, ["GET"]),
            self._route("/api/v3/account", self._account, ["GET"]),
            WebSocketRoute("/stream", self._stream),
            WebSocketRoute("/ws", self._stream),
            WebSocketRoute("/ws/{streams:path}", self._stream),
        ]
        self.app = Starlette(routes=routes)

    # -- publishing -------------------------------------------------------------------------------

    def publish(self) -> None:
        """Book deltas of every market that changed, and bookTickers where the top moved."""
        now_ms = self.venue.clock() // 1_000_000
        for instrument, change in self.venue.drain():
            lower = instrument.native_symbol.lower()
            payload = shapes.depth_update(instrument, change, now_ms)
            for template in (DEPTH_STREAM, _SLOW_DEPTH_STREAM):
                self.hub.publish(template.format(symbol=lower), payload, is_delta=True)
            engine = self.venue.engines[instrument.symbol]
            bids, asks = engine.levels(BID, 1), engine.levels(ASK, 1)
            if not (bids and asks) or self._tickers.get(instrument.symbol) == (bids[0], asks[0]):
                continue
            self._tickers[instrument.symbol] = (bids[0], asks[0])
            ticker = shapes.book_ticker(instrument, change.last_id, bids[0], asks[0])
            self.hub.publish(TICKER_STREAM.format(symbol=lower), ticker)

    # -- WebSocket --------------------------------------------------------------------------------

    @staticmethod
    def wire(frame: Outgoing, *, combined: bool) -> str:
        """A frame as sent: wrapped as ``{"stream","data"}`` on the combined endpoint."""
        if combined and frame.stream is not None:
            return f'{{"stream":"{frame.stream}","data":{frame.text}}}'
        return frame.text

    async def _stream(self, websocket: WebSocket) -> None:
        path = websocket.url.path
        combined = path.startswith("/stream")
        named = websocket.query_params.get("streams", "") if combined else path[len("/ws/") :]
        await websocket.accept()
        subscriber = self.hub.join()
        subscriber.streams.update(name for name in named.split("/") if name)

        async def send(frame: Outgoing) -> None:
            try:
                await websocket.send_text(self.wire(frame, combined=combined))
            except Exception as exc:  # the client went away mid-send
                raise ConnectionError(str(exc)) from exc

        async def close() -> None:
            with contextlib.suppress(Exception):
                await websocket.close(code=1001)

        pump = asyncio.create_task(self.hub.pump(subscriber, send, close))
        try:
            async for text in websocket.iter_text():
                self.hub.reply(subscriber, self._control(subscriber, text))
        finally:
            self.hub.leave(subscriber)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await pump

    @staticmethod
    def _control(subscriber: Subscriber, text: str) -> str:
        """Answer SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS as Binance does."""
        try:
            message = json.loads(text)
        except ValueError as exc:
            return shapes.compact({"error": {"code": 3, "msg": f"Invalid JSON: {exc}"}, "id": None})
        if not isinstance(message, dict):
            message = {}
        method, request_id = message.get("method"), message.get("id")
        params = message.get("params") or []
        if method == "SUBSCRIBE":
            subscriber.streams.update(str(name) for name in params)
        elif method == "UNSUBSCRIBE":
            subscriber.streams.difference_update(str(name) for name in params)
        elif method == "LIST_SUBSCRIPTIONS":
            return shapes.compact({"result": sorted(subscriber.streams), "id": request_id})
        else:
            error = {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}
            return shapes.compact({"error": error, "id": request_id})
        return shapes.compact({"result": None, "id": request_id})

    # -- REST: the shared guard -------------------------------------------------------------------

    def _route(self, path: str, handler: Handler, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            name, faults = self.venue.name, self.faults
            config = faults.config(name)
            if faults.strikes(Fault.LATENCY, name):
                await asyncio.sleep(config.rest_latency_ms / 1000.0)
            banned = self._ban(config)
            if banned is not None:
                return banned
            if faults.strikes(Fault.RATE_LIMIT, name):
                self.throttled_until_ns = self.venue.clock() + config.retry_after_s * _NS
                headers = {"Retry-After": str(config.retry_after_s)}
                return _answer(shapes.error(-1003, _TOO_MANY), 429, headers)
            placing = request.method == "POST" and path == "/api/v3/order"
            if not placing and faults.strikes(Fault.SERVER_ERROR, name):
                return _server_error()
            try:
                return await handler(request)
            except _Refused as refused:
                return _answer(shapes.error(refused.code, refused.message), refused.status)

        return Route(path, endpoint, methods=methods)

    def _ban(self, config: FaultConfig) -> Response | None:
        """The 418 answer while the IP is banned (or becomes banned now: the BAN fault, or a
        request inside a 429's Retry-After), else None."""
        now = self.venue.clock()
        if now >= self.banned_until_ns and (
            now < self.throttled_until_ns or self.faults.strikes(Fault.BAN, self.venue.name)
        ):
            self.banned_until_ns = now + config.ban_s * _NS
            self.throttled_until_ns = 0
        if now >= self.banned_until_ns:
            return None
        left_s = -(-(self.banned_until_ns - now) // _NS)  # whole seconds, rounded up
        message = _BANNED.format(until_ms=self.banned_until_ns // 1_000_000)
        return _answer(shapes.error(-1003, message), 418, {"Retry-After": str(left_s)})

    # -- REST: public -----------------------------------------------------------------------------

    async def _ping(self, request: Request) -> Response:
        return _answer({})

    async def _time(self, request: Request) -> Response:
        return _answer({"serverTime": self._now_ms()})

    async def _exchange_info(self, request: Request) -> Response:
        wanted = request.query_params.get("symbol")
        names = [wanted] if wanted else None
        if "symbols" in request.query_params:
            try:
                names = [str(name) for name in json.loads(request.query_params["symbols"])]
            except ValueError:
                raise _refuse(-1100, "Illegal characters found in parameter 'symbols'.") from None
        instruments = list(self.venue.instruments)
        if names is not None:
            instruments = [self._engine(name).instrument for name in names]
        return _answer(shapes.exchange_info(instruments, self._now_ms()))

    async def _depth(self, request: Request) -> Response:
        engine = self._engine(request.query_params.get("symbol"))
        limit = _int(request.query_params.get("limit"), "limit", _DEPTH_LIMIT[0])
        if not 1 <= limit <= _DEPTH_LIMIT[1]:
            raise _refuse(-1100, "Illegal characters found in parameter 'limit'.")
        body = shapes.depth_snapshot(
            engine.instrument,
            engine.update_id,
            engine.levels(BID, limit),
            engine.levels(ASK, limit),
        )
        return _answer(body)

    # -- REST: signed -----------------------------------------------------------------------------

    async def _signed(self, request: Request) -> _Signed:
        """The checks Binance makes on a signed request, in its order; the signature by
        ``arbcore.exchanges.binance.auth.verify``, the same code that signs arbcore's requests."""
        api_key = request.headers.get(API_KEY_HEADER)
        if not api_key:
            raise _refuse(-2014, "API-key format invalid.", 401)
        account = self.venue.account(api_key)
        if account is None:
            raise _refuse(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        query = parse_qsl(request.scope.get("query_string", b"").decode(), keep_blank_values=True)
        body = (await request.body()).decode()
        params = dict(query)
        params.update(parse_qsl(body, keep_blank_values=True))
        signed = _Signed(account, params)
        signed.require(SIGNATURE_PARAM)
        timestamp = _int(signed.require("timestamp"), "timestamp")
        window = _int(signed.get("recvWindow"), "recvWindow", RECV_WINDOW_MS)
        if window > MAX_RECV_WINDOW_MS:
            raise _refuse(-1131, "recvWindow must be less than 60000")
        received = HttpRequest(method=request.method, path=request.url.path, params=query,
                               body=body, headers=((API_KEY_HEADER, api_key),))  # fmt: skip
        if not auth.verify(received, Credentials(account.api_key, account.secret)):
            raise _refuse(-1022, "Signature for this request is not valid.")
        if not _in_window(timestamp, window, self._now_ms()):
            raise _refuse(-1021, "Timestamp for this request is outside of the recvWindow.")
        return signed

    async def _order(self, request: Request) -> Response:
        signed = await self._signed(request)
        engine = self._engine(signed.get("symbol"))
        if request.method == "POST":
            return self._place(signed, engine)
        order_id = _int(signed.get("orderId"), "orderId", 0) or None
        client_id = signed.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise _refuse(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, "
                                 "but both were empty/null!")  # fmt: skip
        name, quote_decimals = signed.account.name, self._decimals(engine.instrument.quote)
        if request.method == "GET":
            order = engine.order(name, order_id=order_id, client_order_id=client_id)
            if order is None:
                raise _refuse(-2013, "Order does not exist.")
            return _answer(shapes.order_query(engine.instrument, order, quote_decimals))
        order = engine.cancel(name, order_id=order_id, client_order_id=client_id)
        if order is None:
            raise _refuse(-2011, "Unknown order sent.")
        cancel_id = signed.get("newClientOrderId") or f"cancel{order.order_id}"
        return _answer(shapes.order_cancel(engine.instrument, order, cancel_id, quote_decimals))

    def _place(self, signed: _Signed, engine: MatchingEngine) -> Response:
        instrument = engine.instrument
        side = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}.get(signed.require("side"))
        if side is None:
            raise _refuse(-1117, "Invalid side.")
        type_name = signed.require("type")
        order_type = _TYPES.get(type_name)
        if order_type is None:
            raise _refuse(-1116, "Invalid orderType.")
        time_in_force = TimeInForce.GTC
        if type_name == "LIMIT_MAKER":
            time_in_force = TimeInForce.POST_ONLY
        elif type_name == "LIMIT":
            found = _TIME_IN_FORCE.get(signed.require("timeInForce"))
            if found is None:
                raise _refuse(-1115, "Invalid timeInForce.")
            time_in_force = found
        quantity = signed.require("quantity")
        size = _decimal(quantity, "quantity", instrument.size_decimals, "LOT_SIZE")
        price = None
        if order_type is OrderType.LIMIT:
            price = _decimal(
                signed.require("price"), "price", instrument.price_decimals, "PRICE_FILTER"
            )
        client_id = signed.get("newClientOrderId")
        if client_id is not None and not _CLIENT_ID.match(client_id):
            raise _refuse(-1100, "Illegal characters found in parameter 'newClientOrderId'; "
                                 "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")  # fmt: skip
        default_shape = "FULL" if type_name in ("LIMIT", "MARKET") else "ACK"
        shape = signed.get("newOrderRespType") or default_shape
        if shape not in ("ACK", "RESULT", "FULL"):
            raise _refuse(-1100, "Illegal characters found in parameter 'newOrderRespType'.")
        name = self.venue.name
        if self.faults.strikes(Fault.REJECT, name):
            raise _refuse(-2010, "Order rejected by the venue (injected fault).")
        struck = order_faults(self.faults, name, instrument, size)
        placement = engine.place(
            signed.account.name, side, order_type, size, price_raw=price,
            time_in_force=time_in_force, client_order_id=client_id,
            fill_limit_raw=struck.fill_limit_raw, hold_ns=struck.hold_ns,
        )  # fmt: skip
        order = _accepted(placement)
        if self.faults.strikes(Fault.SERVER_ERROR, name):
            return _server_error()  # accepted, but the answer is lost: status unknown
        trades = placement.trades
        if placement.duplicate:
            trades = tuple(t for t in order.trades if t.taker_order_id == order.order_id)
        decimals = {asset: self._decimals(asset) for asset in (instrument.base, instrument.quote)}
        return _answer(shapes.order_placed(instrument, order, trades, shape, decimals))

    async def _open_orders(self, request: Request) -> Response:
        signed = await self._signed(request)
        symbol = signed.get("symbol")
        engines = [self._engine(symbol)] if symbol else list(self.venue.engines.values())
        body = [
            shapes.order_query(engine.instrument, order, self._decimals(engine.instrument.quote))
            for engine in engines
            for order in engine.open_orders(signed.account.name)
        ]
        return _answer(body)

    async def _account(self, request: Request) -> Response:
        signed = await self._signed(request)
        name = signed.account.name
        uid = self._uids.setdefault(name, len(self._uids) + 1)
        engine = next(iter(self.venue.engines.values()))
        balances = self.venue.ledger.balances(name)
        body = shapes.account(balances, engine.maker_fee, engine.taker_fee, self._now_ms(), uid)
        return _answer(body)

    # -- helpers ----------------------------------------------------------------------------------

    def _engine(self, native: str | None) -> MatchingEngine:
        if not native:
            raise _missing("symbol")
        engine = self.venue.engine(native)
        if engine is None:
            raise _refuse(-1121, "Invalid symbol.")
        return engine

    def _decimals(self, asset: str) -> int:
        return self.venue.ledger.decimals(asset)

    def _now_ms(self) -> int:
        return self.venue.clock() // 1_000_000


def _in_window(timestamp: int, recv_window_ms: int, server_ms: int) -> bool:
    """Binance's rule: ``timestamp < server + 1000`` and ``server - timestamp <= recvWindow``;
    a timestamp of microseconds (16 digits) is read as such."""
    stamp_ms = timestamp / 1000 if timestamp >= _MICROSECONDS else timestamp
    return stamp_ms < server_ms + _AHEAD_MS and server_ms - stamp_ms <= recv_window_ms


def _server_error() -> Response:
    message = "An unknown error occurred while processing the request."
    return _answer(shapes.error(-1000, message), 503)


def _accepted(placement: Placement) -> SimOrder:
    """The placed order, or the Binance error the engine's refusal maps to."""
    if placement.order is not None:
        return placement.order
    assert placement.rejection is not None
    code, message = _REJECTIONS[placement.rejection]
    raise _refuse(code, message)


def _int(text: str | None, name: str, default: int | None = None) -> int:
    if text is None or text == "":
        if default is None:
            raise _missing(name)
        return default
    try:
        return int(text)
    except ValueError:
        raise _refuse(-1100, f"Illegal characters found in parameter '{name}'.") from None


def _decimal(text: str, name: str, decimals: int, rule: str) -> int:
    """A quantity or price: eight decimal places are accepted (Binance's precision), and one
    off the instrument's grid is a filter failure (``rule``), as on Binance."""
    places = max(shapes.BASE_ASSET_PRECISION, decimals)
    try:
        raw = to_raw(text, places)
    except DecimalFormatError as exc:
        if "more decimal places" in exc.reason:
            raise _refuse(-1111, f"Parameter '{name}' has too much precision.") from None
        raise _refuse(
            -1100,
            f"Illegal characters found in parameter '{name}'; "
            "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ) from None
    try:
        return rescale(raw, places, decimals)
    except DecimalFormatError:
        raise _refuse(-1013, f"Filter failure: {rule}") from None
