"""A simulated HTX (Huobi) spot venue: its REST API and market WebSocket, as Starlette routes.

Public REST: ``/v1/common/timestamp``, ``/v1/common/symbols`` and
``/v1/settings/common/market-symbols``, ``/market/depth`` (``type=step0``, ``tick.version`` the
engine's update id). Signed (Signature V2 in the URL, checked by
``arbcore.exchanges.htx.auth.verify`` against the ``Host`` addressed): ``/v1/account/accounts``,
``/v1/account/accounts/{id}/balance``, ``/v1/order/orders/place``,
``/v1/order/orders/submitCancelClientOrder``, ``/v1/order/orders/getClientOrder``,
``/v1/order/openOrders``, ``/v2/reference/transact-fee-rate``. Refusals are HTX's v1 envelope
with its ``err-code`` (``api-signature-not-valid``, ``order-accountbalance-error``, the
precision and minimum errors, ``base-record-invalid``; ``510`` (HTTP 429) and
``base-system-error`` (500) when those faults strike).

WebSocket ``/feed`` (and ``/ws``): every frame gzip-compressed; ``sub``/``unsub`` of
``market.<sym>.mbp.<5|20|150|400>`` acked ``subbed``/``unsubbed``; pushes chained by
``prevSeqNum``/``seqNum`` (the engine's update ids; 150 and 400 levels every step, both sides,
even when empty; 5 and 20 only the changed sides, only on change); ``req`` of 5, 20 or 150
levels answers the image at its ``seqNum``. The server sends ``{"ping": ts}`` every 5 s.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.htx import auth, constants
from arbcore.model import Instrument, OrderSide, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore.sim.config import AccountConfig
from arbcore.sim.engine import MatchingEngine, Rejection, SimOrder
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import Fault, FaultConfig, FaultInjector
from arbcore.sim.protocol import (
    BadDecimal,
    DepthView,
    Refusal,
    RestGuard,
    listening,
    market_buy_size,
    order_faults,
    place_or_void,
    read_decimal,
    serve_socket,
    shortest,
)
from arbcore.sim.stream import Outgoing, StreamHub, Subscriber
from arbcore.sim.venues.htx import shapes
from arbcore_ext.book import ASK, BID

__all__ = ["HTXServer"]

WS_PATH: Final = "/feed"
PING_INTERVAL_NS: Final = int(constants.PING_INTERVAL_S * 1e9)
#: the 150/400-level channels send every 100 ms (each step here), changed or not
ALWAYS_SENT: Final = frozenset({150, 400})
REST_DEPTHS: Final = (5, 10, 20)
REST_FULL_DEPTH: Final = 150
_TOPIC: Final = re.compile(r"^market\.([a-z0-9]+)\.mbp\.(\d+)$")
_CLIENT_ID: Final = re.compile(constants.CLIENT_ORDER_ID_PATTERN)
_FIRST_ACCOUNT_ID: Final = 10_000_001
_BALANCE_ROUTE: Final = constants.BALANCE_PATH.replace("{account_id}", "{account_id:int}")
_KINDS: Final = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "limit-maker": (OrderType.LIMIT, TimeInForce.POST_ONLY),
    "limit-fok": (OrderType.LIMIT, TimeInForce.FOK),
    "market": (OrderType.MARKET, TimeInForce.IOC),
}
#: submitCancelClientOrder's ``data`` for an order already final, by state
_FINAL_CODES: Final = {"partial-canceled": 5, "filled": 6, "canceled": 7}
_SIGNATURE: Final = "api-signature-not-valid"
_BAD_KEY: Final = "Signature not valid: Incorrect Access key [Access key错误]"
_BAD_TIME: Final = "Signature not valid: Invalid submission time or incorrect time format"
_BAD_SIGNATURE: Final = "Signature not valid: Verification failure [校验失败]"


def _answer(body: object) -> Response:
    return JSONResponse(body)


def _refuse(code: str, message: str, status: int = 200) -> Refusal:
    """HTX answers most refusals with HTTP 200 and the error envelope."""
    return Refusal(JSONResponse(shapes.error(code, message), status_code=status))


def _missing(name: str) -> Refusal:
    return _refuse("validation-constraints-required", f"Field is missing: {name}.")


def _rate_limited(config: FaultConfig) -> Response:
    expire_ms = int(time.time() * 1000) + config.retry_after_s * 1000
    return JSONResponse(shapes.error("510", "You request too often"), status_code=429,
                        headers={"X-HB-RateLimit-Requests-Remain": "0",
                                 "X-HB-RateLimit-Requests-Expire": str(expire_ms)})  # fmt: skip


def _server_error() -> Response:
    return JSONResponse(shapes.error("base-system-error", "System busy, please try again later"),
                        status_code=500)  # fmt: skip


class HTXServer:
    """One simulated HTX venue: the ASGI app and its publisher (module docstring)."""

    ws_path = WS_PATH

    def __init__(self, venue: SimVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.hub = StreamHub(venue.name, faults)
        self.views = {(symbol, levels): DepthView(levels)
                      for symbol in venue.engines for levels in constants.MBP_LEVELS}  # fmt: skip
        self._last_ping_ns = 0
        self._account_ids: dict[str, int] = {}
        self._quote_amounts: dict[tuple[str, int], str] = {}  # market buys: the quote given
        self._voided: set[tuple[str, int]] = set()  # limit-maker orders that would have taken
        self._anonymous: set[tuple[str, int]] = set()  # placed without a client-order-id
        guard = RestGuard(venue.name, faults, _rate_limited, _server_error)
        get = ["GET"]
        routes: list[Route | WebSocketRoute] = [
            guard.route(constants.SERVER_TIME_PATH, self._time, get),
            guard.route(constants.INSTRUMENTS_PATH, self._symbols, get),
            guard.route(constants.MARKET_SYMBOLS_PATH, self._symbols, get),
            guard.route("/market/depth", self._depth, get),
            guard.route(constants.ACCOUNTS_PATH, self._accounts, get),
            guard.route(_BALANCE_ROUTE, self._balance, get),
            guard.route(constants.PLACE_ORDER_PATH, self._place, ["POST"], placing="POST"),
            guard.route(constants.CANCEL_BY_CLIENT_ID_PATH, self._cancel, ["POST"]),
            guard.route(constants.ORDER_BY_CLIENT_ID_PATH, self._order, get),
            guard.route(constants.OPEN_ORDERS_PATH, self._open_orders, get),
            guard.route(constants.FEE_RATE_PATH, self._fees, get),
            WebSocketRoute(WS_PATH, self._socket),
            WebSocketRoute("/ws", self._socket),
        ]
        self.app = Starlette(routes=routes)

    # -- publishing -------------------------------------------------------------------------------

    def publish(self) -> None:
        """An mbp push per market and level count (module docstring), and the keepalive."""
        now_ns = self.venue.clock()
        ts_ms = now_ns // 1_000_000
        changed = {instrument.symbol for instrument, _ in self.venue.drain()}
        for (symbol, levels), view in self.views.items():
            prev = view.seq
            changes = view.update(self.venue.engines[symbol]) if symbol in changed else []
            instrument = self.venue.engines[symbol].instrument
            channel = constants.MBP_CHANNEL.format(symbol=instrument.native_symbol, levels=levels)
            if not (changes or levels in ALWAYS_SENT) or not listening(self.hub, channel):
                continue
            bids = [(p, s) for side, p, s in changes if side == BID]
            asks = [(p, s) for side, p, s in changes if side == ASK]
            whole = levels in ALWAYS_SENT
            text = shapes.mbp_delta(
                channel, instrument, ts_ms=ts_ms, seq=view.seq, prev_seq=prev,
                bids=bids if bids or whole else None, asks=asks if asks or whole else None,
            )  # fmt: skip
            self.hub.publish(channel, text, is_delta=True)
        if now_ns - self._last_ping_ns >= PING_INTERVAL_NS:
            self._last_ping_ns = now_ns
            for subscriber in self.hub.subscribers:
                self.hub.reply(subscriber, shapes.ping(ts_ms))

    # -- WebSocket --------------------------------------------------------------------------------

    async def _socket(self, websocket: WebSocket) -> None:
        await serve_socket(self.hub, websocket, self.answer, render=_gzip)

    def answer(self, subscriber: Subscriber, text: str) -> None:
        """What HTX does with a client's frame: ``sub``/``unsub`` acked per topic, ``req``
        answered with the image, a ``pong`` taken, anything else refused ``bad-request``."""
        ts_ms = self._now_ms()
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.hub.reply(subscriber, shapes.ws_error(None, "bad-request", "invalid json", ts_ms))
            return
        request_id = message.get("id")
        request_id = request_id if isinstance(request_id, str) else None
        if "pong" in message:
            return
        for op in ("sub", "unsub", "req"):
            if op in message:
                topics = message[op] if isinstance(message[op], list) else [message[op]]
                for topic in topics:
                    self._topic(subscriber, op, request_id, topic, ts_ms)
                return
        self.hub.reply(subscriber, shapes.ws_error(request_id, "bad-request",
                                                   "unsupported request", ts_ms))  # fmt: skip

    def _topic(self, subscriber: Subscriber, op: str, request_id: str | None, topic: object,
               ts_ms: int) -> None:  # fmt: skip
        found = _TOPIC.match(topic) if isinstance(topic, str) else None
        engine = self.venue.engine(found.group(1)) if found else None
        levels = int(found.group(2)) if found else 0
        allowed = constants.MBP_REQ_LEVELS if op == "req" else constants.MBP_LEVELS
        if found is None or engine is None or levels not in allowed:
            error = shapes.ws_error(request_id, "bad-request", f"invalid topic {topic}", ts_ms)
            self.hub.reply(subscriber, error)
            return
        assert isinstance(topic, str)
        rid = request_id or ""
        if op == "req":
            view = self.views[engine.instrument.symbol, levels]
            reply = shapes.mbp_reply(rid, topic, engine.instrument, view.seq,
                                     view.levels(BID), view.levels(ASK))  # fmt: skip
            self.hub.reply(subscriber, reply)
        elif op == "sub":
            subscriber.streams.add(topic)
            self.hub.reply(subscriber, shapes.sub_ack(rid, "subbed", topic, ts_ms))
        else:
            subscriber.streams.discard(topic)
            self.hub.reply(subscriber, shapes.sub_ack(rid, "unsubbed", topic, ts_ms))

    # -- REST: public -----------------------------------------------------------------------------

    async def _time(self, request: Request) -> Response:
        return _answer(shapes.envelope(self._now_ms()))

    async def _symbols(self, request: Request) -> Response:
        short = request.url.path == constants.MARKET_SYMBOLS_PATH
        wanted = {s for s in request.query_params.get("symbols", "").split(",") if s}
        entries = [shapes.symbol_entry(i, short=short) for i in self.venue.instruments
                   if not wanted or i.native_symbol in wanted]  # fmt: skip
        return _answer(shapes.envelope(entries))

    async def _depth(self, request: Request) -> Response:
        params = request.query_params
        native = params.get("symbol")
        engine = self.venue.engine(native) if native else None
        if engine is None:
            raise _refuse("invalid-parameter", "invalid symbol")
        step = params.get("type")
        if step != constants.DEPTH_STEP:
            raise _refuse("invalid-parameter", f"invalid type: {step}")
        depth_text = params.get("depth")
        if depth_text is not None and depth_text not in {str(d) for d in REST_DEPTHS}:
            raise _refuse("invalid-parameter", f"invalid depth: {depth_text}")
        depth = int(depth_text) if depth_text else REST_FULL_DEPTH
        channel = constants.DEPTH_CHANNEL.format(symbol=engine.instrument.native_symbol,
                                                 step=step)  # fmt: skip
        text = shapes.depth(engine.instrument, channel, self._now_ms(), engine.update_id,
                            engine.levels(BID, depth), engine.levels(ASK, depth))  # fmt: skip
        return Response(text, media_type="application/json")

    # -- REST: signed -----------------------------------------------------------------------------

    async def _signed(self, request: Request) -> tuple[AccountConfig, dict[str, str], str]:
        """HTX's checks of a signed request (key, time, signature by ``htx.auth.verify`` at
        the host addressed); the account, the URL parameters and the body."""
        params = parse_qsl(request.url.query, keep_blank_values=True)
        body = (await request.body()).decode()
        received = HttpRequest(method=request.method, path=request.url.path, params=params,
                               body=body)  # fmt: skip
        fields = dict(params)
        account = self.venue.account(fields.get(auth.KEY_PARAM, ""))
        if account is None:
            raise _refuse(_SIGNATURE, _BAD_KEY)
        stamp_ms = auth.signed_timestamp_ms(received)
        if stamp_ms is None or abs(stamp_ms - self._now_ms()) > constants.MAX_CLOCK_SKEW_S * 1000:
            raise _refuse(_SIGNATURE, _BAD_TIME)
        if (fields.get(auth.METHOD_PARAM), fields.get(auth.VERSION_PARAM)) != (
            constants.SIGNATURE_METHOD, constants.SIGNATURE_VERSION
        ):  # fmt: skip
            raise _refuse(_SIGNATURE, _BAD_SIGNATURE)
        host = request.headers.get("host", "")
        if not auth.verify(received, Credentials(account.api_key, account.secret), host=host):
            raise _refuse(_SIGNATURE, _BAD_SIGNATURE)
        return account, fields, body

    async def _accounts(self, request: Request) -> Response:
        account, _, _ = await self._signed(request)
        entry = {"id": self._account_id(account), "type": constants.SPOT_ACCOUNT_TYPE,
                 "subtype": "", "state": "working"}  # fmt: skip
        return _answer(shapes.envelope([entry]))

    async def _balance(self, request: Request) -> Response:
        account, _, _ = await self._signed(request)
        account_id = self._check_account(account, request.path_params["account_id"])
        held = [b for b in self.venue.ledger.balances(account.name) if b.free or b.locked]
        return _answer(shapes.balance(account_id, held))

    async def _place(self, request: Request) -> Response:
        account, _, body = await self._signed(request)
        try:
            fields = json.loads(body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise _refuse("invalid-parameter", "request body is not a JSON object")
        self._check_account(account, _require(fields, "account-id"))
        engine = self.venue.engine(_require(fields, "symbol"))
        if engine is None:
            raise _refuse("base-symbol-error", "The symbol is invalid")
        instrument = engine.instrument
        typed = shapes.side_of(_require(fields, "type"))
        if typed is None or typed[1] not in _KINDS:
            raise _refuse("order-type-invalid", f"the order type {fields['type']} is invalid")
        side, kind = typed[0], _KINDS[typed[1]]
        order_type, time_in_force = kind
        client_id = fields.get("client-order-id") or None
        if client_id is not None and not (isinstance(client_id, str)
                                          and _CLIENT_ID.fullmatch(client_id)):  # fmt: skip
            raise _refuse("invalid-client-order-id", f"invalid client-order-id: {client_id}")
        market_buy = order_type is OrderType.MARKET and side is OrderSide.BUY
        amount_decimals = instrument.price_decimals if market_buy else instrument.size_decimals
        amount = read_decimal(_require(fields, "amount"), amount_decimals)
        if isinstance(amount, BadDecimal):
            raise _refuse("order-orderamount-precision-error", "amount precision error")
        price: int | None = None
        if order_type is OrderType.LIMIT:
            read = read_decimal(_require(fields, "price"), instrument.price_decimals)
            if isinstance(read, BadDecimal):
                raise _refuse("order-orderprice-precision-error", "price precision error")
            price = read
        size = self._market_buy_size(account, engine, amount) if market_buy else amount
        name = self.venue.name
        if self.faults.strikes(Fault.REJECT, name):
            raise _refuse("order-disabled", "Trading is disabled (injected fault)")
        struck = order_faults(self.faults, name, instrument, size)
        placement, voided = place_or_void(
            engine, account.name, side, order_type, size, price_raw=price,
            time_in_force=time_in_force, client_order_id=client_id,
            fill_limit_raw=struck.fill_limit_raw, hold_ns=struck.hold_ns,
        )  # fmt: skip
        order = placement.order
        if order is None:
            assert placement.rejection is not None
            raise _refuse(*_rejection(placement.rejection, instrument, order_type, size))
        key = (instrument.symbol, order.order_id)
        if not placement.duplicate:
            if voided:
                self._voided.add(key)
            if client_id is None:
                self._anonymous.add(key)
            if market_buy:
                self._quote_amounts[key] = str(fields["amount"])
        if self.faults.strikes(Fault.SERVER_ERROR, name):  # accepted, but the answer is lost
            return _server_error()
        return _answer(shapes.envelope(str(order.order_id)))

    def _market_buy_size(self, account: AccountConfig, engine: MatchingEngine, quote: int) -> int:
        """The base a ``buy-market`` of ``quote`` takes: HTX sizes them in the quote asset."""
        instrument = engine.instrument
        if quote < instrument.min_notional:
            raise _refuse(*_rejection(Rejection.MIN_NOTIONAL, instrument, OrderType.MARKET, 0))
        held = self.venue.ledger.balance(account.name, instrument.quote)
        if held.free < quote * 10 ** (held.decimals - instrument.price_decimals):
            raise _refuse(*_rejection(Rejection.INSUFFICIENT_FUNDS, instrument, OrderType.MARKET,
                                      0))  # fmt: skip
        size = market_buy_size(engine, quote)
        if size < max(instrument.min_qty, instrument.lot_size):
            raise _refuse("order-marketorder-amount-min-error", "market order amount too small")
        return size

    async def _cancel(self, request: Request) -> Response:
        account, _, body = await self._signed(request)
        try:
            fields = json.loads(body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise _refuse("invalid-parameter", "request body is not a JSON object")
        found = self._find(account, _require(fields, "client-order-id"))
        if found is None:
            return _answer(shapes.envelope(0))
        engine, order = found
        if order.status.is_final:
            state = self._detail(engine, order, account)["state"]
            return _answer(shapes.envelope(_FINAL_CODES.get(state, -1)))
        engine.cancel(account.name, order_id=order.order_id)
        return _answer(shapes.envelope(_FINAL_CODES["canceled"]))

    async def _order(self, request: Request) -> Response:
        account, fields, _ = await self._signed(request)
        found = self._find(account, fields.get("clientOrderId") or "")
        if found is None:
            raise _refuse("base-record-invalid", "record invalid")
        return _answer(shapes.envelope(self._detail(*found, account)))

    async def _open_orders(self, request: Request) -> Response:
        account, fields, _ = await self._signed(request)
        self._check_account(account, fields.get("account-id", ""))
        native = fields.get("symbol")
        engine = self.venue.engine(native) if native else None
        if native and engine is None:
            raise _refuse("base-symbol-error", "The symbol is invalid")
        size = fields.get("size") or "100"
        if not size.isdigit() or not 1 <= int(size) <= constants.OPEN_ORDERS_PAGE_SIZE:
            raise _refuse("invalid-parameter", f"invalid size: {size}")
        engines = [engine] if engine is not None else list(self.venue.engines.values())
        found = [(order, e) for e in engines for order in e.open_orders(account.name)]
        found.sort(key=lambda pair: pair[0].ts_created_ns, reverse=True)
        data = [self._detail(e, order, account, listed=True) for order, e in found[: int(size)]]
        return _answer(shapes.envelope(data))

    async def _fees(self, request: Request) -> Response:
        _, fields, _ = await self._signed(request)
        natives = [s for s in fields.get("symbols", "").split(",") if s]
        engines = [self.venue.engine(native) for native in natives]
        if not natives or len(natives) > 10 or None in engines:
            return _answer({"code": 2002, "message": "invalid symbols", "success": False})
        return _answer(shapes.fee_rates((e.instrument.native_symbol, e.maker_fee, e.taker_fee)
                                        for e in engines if e is not None))  # fmt: skip

    # -- helpers ----------------------------------------------------------------------------------

    def _account_id(self, account: AccountConfig) -> int:
        return self._account_ids.setdefault(account.name,
                                            _FIRST_ACCOUNT_ID + len(self._account_ids))  # fmt: skip

    def _check_account(self, account: AccountConfig, given: object) -> int:
        account_id = self._account_id(account)
        if str(given) != str(account_id):
            raise _refuse("account-account-id-inexistent", f"account id {given} does not exist")
        return account_id

    def _find(self, account: AccountConfig, client_id: str) -> tuple[MatchingEngine,
                                                                     SimOrder] | None:  # fmt: skip
        """The account's newest order with this client order id, on any market."""
        found = [(engine, order) for engine in self.venue.engines.values()
                 if client_id and (order := engine.order(account.name,
                                                         client_order_id=client_id))]  # fmt: skip
        return max(found, key=lambda pair: pair[1].ts_created_ns, default=None)

    def _detail(self, engine: MatchingEngine, order: SimOrder, account: AccountConfig,
                *, listed: bool = False) -> dict[str, Any]:  # fmt: skip
        instrument = engine.instrument
        key = (instrument.symbol, order.order_id)
        decimals = {asset: self.venue.ledger.decimals(asset)
                    for asset in (instrument.base, instrument.quote)}  # fmt: skip
        return shapes.order_detail(
            instrument, order, account_id=self._account_id(account),
            client_order_id="" if key in self._anonymous else order.client_order_id,
            quote_amount=self._quote_amounts.get(key), decimals=decimals,
            voided=key in self._voided, listed=listed,
        )  # fmt: skip

    def _now_ms(self) -> int:
        return self.venue.clock() // 1_000_000


def _gzip(frame: Outgoing) -> bytes:
    return shapes.gzipped(frame.text)


def _require(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None or value == "":
        raise _missing(name)
    return str(value)


def _rejection(
    rejection: Rejection, instrument: Instrument, order_type: OrderType, size: int
) -> tuple[str, str]:
    """HTX's ``err-code`` and ``err-msg`` for an order the engine refused."""
    if rejection is Rejection.INSUFFICIENT_FUNDS:
        return "order-accountbalance-error", "account balance insufficient error"
    if rejection is Rejection.PRICE_FILTER:
        return "order-orderprice-precision-error", "order price precision error"
    if rejection is Rejection.MIN_NOTIONAL:
        minimum = shortest(instrument.min_notional, instrument.price_decimals)
        return "order-value-min-error", f"Order total cannot be lower than: `{minimum}`"
    if rejection is Rejection.LOT_SIZE and size % instrument.lot_size:
        return "order-orderamount-precision-error", "order amount precision error"
    if order_type is OrderType.MARKET:
        return "order-marketorder-amount-min-error", "market order amount too small"
    return "order-limitorder-amount-min-error", "limit order amount too small"
