"""A simulated KuCoin spot venue: its REST API and market-data WebSocket, as Starlette routes.

Public: ``/api/v1/timestamp``, ``/api/v1/symbols`` and ``/api/v2/symbols``, the level-2
snapshots ``/api/v1/market/orderbook/level2_20`` and ``level2_100``, and
``POST /api/v1/bullet-public`` (a token and this server's WebSocket as the instance server).
Signed (``KC-API-KEY``, ``-SIGN``, ``-TIMESTAMP``, ``-PASSPHRASE``, ``-KEY-VERSION``; checked by
``arbcore.exchanges.kucoin.auth``): the full snapshot ``/api/v3/market/orderbook/level2``, the
HF orders ``/api/v1/hf/orders`` (POST), ``/hf/orders/client-order/{clientOid}`` and
``/hf/orders/{orderId}`` (GET, DELETE), ``/hf/orders/active`` and ``/active/symbols``,
``/api/v1/accounts``, ``/api/v1/trade-fees``, ``/api/v1/base-fee``. Refusals are KuCoin's
envelope and codes: 400001-400005 and 400009 (HTTP 401) for the headers, timestamp, key,
passphrase and signature; 200004 insufficient balance (HTTP 200); 400100 parameter errors
(HTTP 400), whose message says which (``order_not_exist_or_not_allow_to_cancel``, ``order not
exist.``, ``validation.createOrder.clientOidDuplicated``, ...); 429000 (HTTP 429,
``gw-ratelimit-reset``) and 500000 (HTTP 500) when those faults strike.

WebSocket (``/?token=...&connectId=...``): ``{"type":"welcome"}`` first (a bad token gets error
401 and the close), then ``subscribe``/``unsubscribe`` of ``/market/level2:<symbols>`` and
``/market/ticker:<symbols>`` (up to 100 symbols a topic, 300 topics a connection; ``ack`` when
``response`` is true), ``ping`` answered with ``pong``; a connection silent for ``pingInterval
+ pingTimeout`` is closed.

Sequences are KuCoin's, one per changed level and per symbol: every level a step changes takes
the next one, an l2update spans ``sequenceStart..sequenceEnd`` and each row carries the
sequence of its own change. A REST snapshot first stamps the changes not yet published, so its
``sequence`` is exactly the state it shows, and the next l2update straddles it as on KuCoin
(rows at or below the snapshot's sequence, rows above it).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.kucoin import auth
from arbcore.exchanges.kucoin.constants import (
    MAX_CLIENT_ORDER_ID,
    MAX_CLOCK_SKEW_S,
    MAX_SYMBOLS_PER_TOPIC,
    MAX_TOPICS_PER_CONNECTION,
    PUBLIC_POOL_PER_30S,
)
from arbcore.model import Instrument, OrderSide, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore.sim.config import AccountConfig
from arbcore.sim.engine import BookChange, MatchingEngine, Rejection, SimOrder
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import Fault, FaultConfig, FaultInjector
from arbcore.sim.protocol import (
    BadDecimal,
    Refusal,
    RestGuard,
    order_faults,
    place_or_void,
    rate_text,
    read_decimal,
    serve_socket,
)
from arbcore.sim.stream import StreamHub, Subscriber
from arbcore.sim.venues.kucoin import shapes
from arbcore_ext.book import ASK, BID

__all__ = ["FIRST_SEQUENCE", "KuCoinServer"]

#: where every symbol's sequence starts: beyond 32 bits, as KuCoin's are (14610502970)
FIRST_SEQUENCE: Final = 10_000_000_000
#: the instance server's keepalive (vectors/kucoin/bullet_public_response.json)
PING_INTERVAL_MS: Final = 18_000
PING_TIMEOUT_MS: Final = 10_000
_DEPTHS: Final = {"level2_20": 20, "level2_100": 100}
_MAX_FEE_SYMBOLS: Final = 10
_CLIENT_ID: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CLIENT_ORDER_ID}}}")
_TOPICS: Final = (shapes.LEVEL2_TOPIC, shapes.TICKER_TOPIC)
#: the engine's refusals in KuCoin's words: code, message, HTTP status
_REJECTIONS: Final[dict[Rejection, tuple[str, str, int]]] = {
    Rejection.PRICE_FILTER: ("400100", "Price increment invalid.", 400),
    Rejection.LOT_SIZE: ("400100", "Order size increment invalid.", 400),
    Rejection.MIN_NOTIONAL: ("400100", "Order funds below the minimum requirement.", 400),
    Rejection.INSUFFICIENT_FUNDS: ("200004", "Balance insufficient!", 200),
}
_BELOW_MINIMUM: Final = "Order size below the minimum requirement."
_NOT_EXIST: Final = "order not exist."
_NOT_CANCELLABLE: Final = "order_not_exist_or_not_allow_to_cancel"
_DUPLICATE: Final = "validation.createOrder.clientOidDuplicated"
_PASSPHRASE: Final = auth.PASSPHRASE_HEADER.lower()


def _refuse(code: str, message: str, status: int = 400) -> Refusal:
    return Refusal(JSONResponse(shapes.error(code, message), status_code=status))


def _invalid(message: str = "Invalid Parameter.") -> Refusal:
    return _refuse("400100", message)


def _ok(data: object, **extra: object) -> Response:
    return JSONResponse(shapes.ok(data, **extra))


def _rate_limited(config: FaultConfig) -> Response:
    headers = {"gw-ratelimit-limit": str(PUBLIC_POOL_PER_30S), "gw-ratelimit-remaining": "0",
               "gw-ratelimit-reset": str(config.retry_after_s * 1000)}  # fmt: skip
    return JSONResponse(shapes.error("429000", "Too Many Requests"), 429, headers)


def _server_error() -> Response:
    return JSONResponse(shapes.error("500000", "Internal Server Error"), 500)


class _Signed:
    """A signed request that passed KuCoin's checks: its account, query and body."""

    def __init__(self, account: AccountConfig, query: dict[str, str], body: str) -> None:
        self.account = account
        self.query = query
        self.body = body


class KuCoinServer:
    """One simulated KuCoin venue: the ASGI app and its publisher (module docstring)."""

    ws_path = "/"

    def __init__(self, venue: SimVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.hub = StreamHub(venue.name, faults)
        #: the instance server's keepalive, as bullet-public states it (tests shorten it)
        self.ping_interval_ms = PING_INTERVAL_MS
        self.ping_timeout_ms = PING_TIMEOUT_MS
        self.tokens: set[str] = set()
        self._sequences = {i.symbol: FIRST_SEQUENCE for i in venue.instruments}
        self._published = dict(self._sequences)
        self._unsent: dict[str, dict[tuple[int, int], tuple[int, int]]] = {}
        self._tops: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
        self._last_trades: dict[str, tuple[int, int]] = {}
        guard = RestGuard(venue.name, faults, _rate_limited, _server_error)
        get, get_delete = ["GET"], ["GET", "DELETE"]
        routes: list[Route | WebSocketRoute] = [
            guard.route("/api/v1/timestamp", self._timestamp, get),
            guard.route("/api/v1/symbols", self._symbols, get),
            guard.route("/api/v2/symbols", self._symbols, get),
            guard.route("/api/v1/market/orderbook/{depth}", self._depth, get),
            guard.route("/api/v3/market/orderbook/level2", self._full_depth, get),
            guard.route("/api/v1/bullet-public", self._bullet, ["POST"]),
            guard.route("/api/v1/hf/orders", self._place, ["POST"], placing="POST"),
            guard.route("/api/v1/hf/orders/active", self._active, get),
            guard.route("/api/v1/hf/orders/active/symbols", self._active_symbols, get),
            guard.route("/api/v1/hf/orders/client-order/{client_oid}", self._order, get_delete),
            guard.route("/api/v1/hf/orders/{order_id}", self._order, get_delete),
            guard.route("/api/v1/accounts", self._accounts, get),
            guard.route("/api/v1/trade-fees", self._trade_fees, get),
            guard.route("/api/v1/base-fee", self._base_fee, get),
            WebSocketRoute("/", self._socket),
        ]
        self.app = Starlette(routes=routes)

    # -- publishing -------------------------------------------------------------------------------

    def sequence(self, symbol: str) -> int:
        """The last sequence a market's changes have taken."""
        return self._sequences[symbol]

    def publish(self) -> None:
        """An l2update for every market that changed (or has changes a snapshot stamped), and
        a ticker where the best bid or ask moved."""
        now_ms = self._now_ms()
        for instrument, change in self.venue.drain():
            self._stamp(instrument, change)
        unsent, self._unsent = self._unsent, {}
        for symbol, levels in unsent.items():
            engine = self.venue.engines[symbol]
            instrument = engine.instrument
            rows = sorted(((side, price, size, seq) for (side, price), (size, seq)
                           in levels.items()), key=lambda row: row[3])  # fmt: skip
            start, end = self._published[symbol] + 1, self._sequences[symbol]
            self._published[symbol] = end
            native = instrument.native_symbol
            update = shapes.level2_update(instrument, rows, start, end, now_ms)
            self.hub.publish(f"{shapes.LEVEL2_TOPIC}:{native}", update, is_delta=True)
            bids, asks = engine.levels(BID, 1), engine.levels(ASK, 1)
            if not (bids and asks) or self._tops.get(symbol) == (bids[0], asks[0]):
                continue
            self._tops[symbol] = (bids[0], asks[0])
            last = self._last_trades.get(symbol, (bids[0][0], 0))
            ticker = shapes.ticker(instrument, end, bids[0], asks[0], last, now_ms)
            self.hub.publish(f"{shapes.TICKER_TOPIC}:{native}", ticker)

    def _stamp(self, instrument: Instrument, change: BookChange | None) -> None:
        """Give each changed level the next sequence of its market (published next)."""
        if change is None:
            return
        symbol = instrument.symbol
        levels = self._unsent.setdefault(symbol, {})
        sequence = self._sequences[symbol]
        for side, price, size in change.levels:
            sequence += 1
            levels[side, price] = (size, sequence)  # a level once, at its last change
        self._sequences[symbol] = sequence

    # -- WebSocket --------------------------------------------------------------------------------

    async def _socket(self, websocket: WebSocket) -> None:
        connect_id = websocket.query_params.get("connectId") or uuid.uuid4().hex
        if websocket.query_params.get("token") not in self.tokens:
            await websocket.accept()
            await websocket.send_text(shapes.ws_error(connect_id, 401, "token is invalid"))
            await websocket.close(code=1008)
            return
        idle_s = (self.ping_interval_ms + self.ping_timeout_ms) / 1000.0
        await serve_socket(self.hub, websocket, self._command, idle_timeout_s=idle_s,
                           greeting=(shapes.ws_welcome(connect_id),))  # fmt: skip

    def _command(self, subscriber: Subscriber, text: str) -> None:
        """Answer ping, subscribe and unsubscribe as KuCoin does (errors as its error frames)."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.hub.reply(subscriber, shapes.ws_error("", 415, "command type is invalid"))
            return
        kind, request_id = message.get("type"), message.get("id", "")
        if kind == "ping":
            self.hub.reply(subscriber, shapes.ws_pong(request_id))
        elif kind in ("subscribe", "unsubscribe"):
            problem = self._subscription(subscriber, kind, message.get("topic"))
            if problem is not None:
                self.hub.reply(subscriber, shapes.ws_error(request_id, *problem))
            elif message.get("response") is True:
                self.hub.reply(subscriber, shapes.ws_ack(request_id))
        else:
            self.hub.reply(subscriber, shapes.ws_error(request_id, 415, "command type is invalid"))

    def _subscription(
        self, subscriber: Subscriber, kind: str, topic: object
    ) -> tuple[int, str] | None:
        """Change the connection's topics; ``(code, reason)`` when KuCoin would refuse."""
        if not isinstance(topic, str) or not topic:
            return 406, "topic is required"
        prefix, _, listed = topic.partition(":")
        natives = [native for native in listed.split(",") if native]
        if prefix not in _TOPICS or not natives:
            return 404, f"topic {topic} is not found"
        if len(natives) > MAX_SYMBOLS_PER_TOPIC:
            return 509, "exceed max subscription count limitation of 100 per time"
        streams = set()
        for native in natives:
            engine = self.venue.engine(native)
            if engine is None or engine.instrument.native_symbol != native:
                return 404, f"topic {prefix}:{native} is not found"
            streams.add(f"{prefix}:{native}")
        if kind == "unsubscribe":
            subscriber.streams.difference_update(streams)
        elif len(subscriber.streams | streams) > MAX_TOPICS_PER_CONNECTION:
            return 509, "exceed max subscription count limitation of 300 per session"
        else:
            subscriber.streams.update(streams)
        return None

    # -- REST: public -----------------------------------------------------------------------------

    async def _timestamp(self, request: Request) -> Response:
        return _ok(self._now_ms(), msg="success")

    async def _symbols(self, request: Request) -> Response:
        return _ok([shapes.symbol_entry(i) for i in self.venue.instruments])

    async def _depth(self, request: Request) -> Response:
        depth = _DEPTHS.get(request.path_params["depth"])
        if depth is None:
            return JSONResponse(shapes.error("404000", "Url Not Found"), 404)
        return self._snapshot(request.query_params.get("symbol"), depth)

    async def _full_depth(self, request: Request) -> Response:
        signed = await self._signed(request)
        return self._snapshot(signed.query.get("symbol"), None)

    def _snapshot(self, native: str | None, depth: int | None) -> Response:
        engine = self._engine(native)
        instrument = engine.instrument
        self._stamp(instrument, engine.drain())
        body = shapes.level2_snapshot(
            instrument,
            self._sequences[instrument.symbol],
            self._now_ms(),
            engine.levels(BID, depth),
            engine.levels(ASK, depth),
        )
        return JSONResponse(body)

    async def _bullet(self, request: Request) -> Response:
        token = secrets.token_urlsafe(96)
        self.tokens.add(token)
        endpoint = f"ws://{request.url.netloc}{self.ws_path}"
        return JSONResponse(
            shapes.bullet(token, endpoint, self.ping_interval_ms, self.ping_timeout_ms)
        )

    # -- REST: signed -----------------------------------------------------------------------------

    async def _signed(self, request: Request) -> _Signed:
        """KuCoin's gateway checks, in order; the signature by ``kucoin.auth.verify``, the same
        code that signs arbcore's requests."""
        values = [request.headers.get(name) for name in auth.AUTH_HEADERS]
        key, _, stamp, _, version = values
        if not all(values) or key is None or stamp is None or version is None:
            raise _refuse("400001", "Any of KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, "
                                    "KC-API-PASSPHRASE is missing in your request header.",
                          401)  # fmt: skip
        account = self.venue.account(key)
        if account is None:
            raise _refuse("400003", "KC-API-KEY does not exist.", 401)
        if version not in ("1", "2", "3"):
            raise _refuse("400009", "Invalid KC-API-KEY-VERSION.", 401)
        if not stamp.isdigit() or abs(int(stamp) - self._now_ms()) > MAX_CLOCK_SKEW_S * 1000:
            raise _refuse("400002", "Invalid KC-API-TIMESTAMP.", 401)
        if not account.passphrase:
            raise _refuse("400004", "Invalid KC-API-PASSPHRASE.", 401)
        credentials = Credentials(account.api_key, account.secret, account.passphrase)
        query = parse_qsl(request.scope.get("query_string", b"").decode(), keep_blank_values=True)
        body = (await request.body()).decode()
        received = HttpRequest(method=request.method, path=request.url.path, params=query,
                               body=body, headers=tuple(request.headers.items()))  # fmt: skip
        if not auth.verify(received, credentials):
            # a wrong secret fails the signature; a right signature, the passphrase alone
            expected = auth.signed_passphrase(credentials, version)
            others = [(k, v) for k, v in received.headers if k.lower() != _PASSPHRASE]
            signature_only = attrs.evolve(
                received, headers=(*others, (auth.PASSPHRASE_HEADER, expected))
            )
            if auth.verify(signature_only, credentials):
                raise _refuse("400004", "Invalid KC-API-PASSPHRASE.", 401)
            raise _refuse("400005", "Invalid KC-API-SIGN.", 401)
        return _Signed(account, dict(query), body)

    async def _place(self, request: Request) -> Response:
        """``POST /api/v1/hf/orders``: limit (GTC, IOC, post-only) and market orders by size."""
        signed = await self._signed(request)
        if "application/json" not in request.headers.get("content-type", ""):
            raise _refuse("415000", "Unsupported Media Type", 415)
        try:
            fields = json.loads(signed.body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise _invalid()
        engine = self._engine(_text(fields, "symbol"))
        instrument = engine.instrument
        side = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}.get(_text(fields, "side") or "")
        kind = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}.get(
            _text(fields, "type") or ""
        )
        if side is None or kind is None:
            raise _invalid("side and type must be buy or sell, limit or market")
        if fields.get("funds") is not None:
            raise _invalid("funds: the simulator takes market orders by size only")
        size = _amount(fields, "size", instrument.size_decimals, "Order size increment invalid.")
        if size < instrument.min_qty:
            raise _invalid(_BELOW_MINIMUM)
        price = None
        time_in_force = TimeInForce.GTC
        if kind is OrderType.LIMIT:
            price = _amount(fields, "price", instrument.price_decimals, "Price increment invalid.")
            time_in_force = _time_in_force(fields)
        client_id = _text(fields, "clientOid")
        if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
            raise _invalid("clientOid: letters, digits, _ and -, at most 40")
        name = self.venue.name
        if self.faults.strikes(Fault.REJECT, name):
            raise _invalid("Order rejected by the venue (injected fault).")
        struck = order_faults(self.faults, name, instrument, size)
        placement, _ = place_or_void(
            engine, signed.account.name, side, kind, size, price_raw=price,
            time_in_force=time_in_force, client_order_id=client_id,
            fill_limit_raw=struck.fill_limit_raw, hold_ns=struck.hold_ns,
        )  # fmt: skip
        order = placement.order
        if order is None:
            assert placement.rejection is not None
            raise _refuse(*_REJECTIONS[placement.rejection])
        if placement.duplicate and not order.status.is_final:
            raise _invalid(_DUPLICATE)
        if self.faults.strikes(Fault.SERVER_ERROR, name):
            return _server_error()  # accepted, but the answer is lost: status unknown
        if placement.trades:
            last = placement.trades[-1]
            self._last_trades[instrument.symbol] = (last.price_raw, last.size_raw)
        return _ok({"orderId": shapes.order_id(order), "clientOid": order.client_order_id})

    async def _order(self, request: Request) -> Response:
        """One order by clientOid or orderId: GET reads it, DELETE cancels it."""
        signed = await self._signed(request)
        engine = self._engine(signed.query.get("symbol"))
        name = signed.account.name
        client_id = request.path_params.get("client_oid")
        order_id = None if client_id is not None else _engine_id(request.path_params["order_id"])
        if request.method == "GET":
            order = engine.order(name, order_id=order_id, client_order_id=client_id)
            if order is None or (client_id is None and order_id is None):
                raise _invalid(_NOT_EXIST)
            return _ok(self._detail(engine, order))
        cancelled = None
        if client_id is not None or order_id is not None:
            cancelled = engine.cancel(name, order_id=order_id, client_order_id=client_id)
        if cancelled is None:
            raise _invalid(_NOT_CANCELLABLE)
        if client_id is not None:
            return _ok({"clientOid": client_id})
        return _ok({"orderId": shapes.order_id(cancelled)})

    async def _active(self, request: Request) -> Response:
        signed = await self._signed(request)
        engine = self._engine(signed.query.get("symbol"))
        orders = engine.open_orders(signed.account.name)
        return _ok([self._detail(engine, order) for order in reversed(orders)])

    async def _active_symbols(self, request: Request) -> Response:
        signed = await self._signed(request)
        symbols = [engine.instrument.native_symbol for engine in self.venue.engines.values()
                   if engine.open_orders(signed.account.name)]  # fmt: skip
        return _ok({"symbols": symbols})

    async def _accounts(self, request: Request) -> Response:
        """Trade accounts only (the simulator has no main or margin accounts)."""
        signed = await self._signed(request)
        name = signed.account.name
        balances = self.venue.ledger.balances(name)
        wanted = signed.query.get("currency")
        if signed.query.get("type", "trade") != "trade":
            balances = []
        elif wanted:
            balances = [b for b in balances if b.asset == wanted]
        ids = {b.asset: _account_id(name, b.asset) for b in balances}
        return _ok(shapes.accounts(ids, balances))

    async def _trade_fees(self, request: Request) -> Response:
        signed = await self._signed(request)
        natives = [n for n in (signed.query.get("symbols") or "").split(",") if n]
        if not natives or len(natives) > _MAX_FEE_SYMBOLS:
            raise _invalid(f"symbols: between 1 and {_MAX_FEE_SYMBOLS}")
        engines = [self._engine(native) for native in natives]
        return _ok([shapes.trade_fee(e.instrument.native_symbol, e.maker_fee, e.taker_fee)
                    for e in engines])  # fmt: skip

    async def _base_fee(self, request: Request) -> Response:
        await self._signed(request)
        engine = next(iter(self.venue.engines.values()))
        return _ok({"takerFeeRate": rate_text(engine.taker_fee),
                    "makerFeeRate": rate_text(engine.maker_fee)})  # fmt: skip

    # -- helpers ----------------------------------------------------------------------------------

    def _engine(self, native: str | None) -> MatchingEngine:
        engine = self.venue.engine(native) if native else None
        if engine is None or engine.instrument.native_symbol != native:
            raise _invalid(f"symbol {native!r} not exists" if native else "symbol is required")
        return engine

    def _detail(self, engine: MatchingEngine, order: SimOrder) -> dict[str, Any]:
        assets: Iterable[str] = (engine.instrument.base, engine.instrument.quote)
        decimals = {asset: self.venue.ledger.decimals(asset) for asset in assets}
        return shapes.order_detail(engine.instrument, order, decimals)

    def _now_ms(self) -> int:
        return self.venue.clock() // 1_000_000


def _text(fields: dict[str, Any], key: str) -> str | None:
    """A string (or integer) field as text; None when absent or empty."""
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def _amount(fields: dict[str, Any], key: str, decimals: int, off_grid: str) -> int:
    """A price or size, exact: more places than the increment has is off its grid."""
    raw = read_decimal(_text(fields, key), decimals)
    if raw is BadDecimal.TOO_PRECISE:
        raise _invalid(off_grid)
    if isinstance(raw, BadDecimal) or raw <= 0:
        raise _invalid(f"{key} is invalid" if key in fields else f"{key} is required")
    return raw


def _time_in_force(fields: dict[str, Any]) -> TimeInForce:
    """GTC (the default), IOC, FOK, or post-only (``postOnly`` true, GTC only)."""
    name = _text(fields, "timeInForce") or "GTC"
    if name not in ("GTC", "IOC", "FOK"):
        raise _invalid(f"timeInForce {name}: the simulator takes GTC, IOC and FOK")
    if fields.get("postOnly") is True:
        if name != "GTC":
            raise _invalid("postOnly is invalid when timeInForce is IOC or FOK")
        return TimeInForce.POST_ONLY
    return TimeInForce.GTC if name == "GTC" else TimeInForce(name.lower())


def _engine_id(text: str) -> int | None:
    """The engine's order id inside a KuCoin order id (:func:`shapes.order_id`)."""
    if len(text) != 24:
        return None
    try:
        return int(text[8:], 16)
    except ValueError:
        return None


def _account_id(account: str, asset: str) -> str:
    """A stable 24-hex account id per account and currency."""
    return hashlib.sha256(f"{account}/{asset}".encode()).hexdigest()[:24]
