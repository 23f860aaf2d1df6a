"""A simulated Bybit v5 spot venue: its REST API and public spot WebSocket, as Starlette routes.

Public REST: ``/v5/market/time``, ``/v5/market/instruments-info`` (``category=spot``),
``/v5/market/orderbook`` (the 1000-level stream's book at its ``u``). Signed
(``X-BAPI-API-KEY``, ``-TIMESTAMP``, ``-RECV-WINDOW``, ``-SIGN``, checked by
``arbcore.exchanges.bybit.auth.verify``): ``/v5/order/create``, ``/v5/order/cancel``,
``/v5/order/realtime``, ``/v5/order/history``, ``/v5/account/wallet-balance``,
``/v5/account/fee-rate``. Answers are Bybit's envelope, errors with HTTP 200 and a
``retCode`` (an unknown API key: HTTP 401): 10001 parameters, 10002 timestamp outside the
receive window, 10003 API key, 10004 signature, 170131 insufficient balance, 170136 / 170137 /
170140 / 170134 quantity, precision, value and price rules, 170121 symbol, 170141 a reused
``orderLinkId``, 170213 an order that is not there (or not open, for a cancel); 10006 with
``X-Bapi-Limit-Reset-Timestamp`` and 10016 when those faults strike, 10000 for a placement
whose answer was lost.

WebSocket ``/v5/public/spot``: ``subscribe``/``unsubscribe`` ops (at most 10 args), topics
``orderbook.{1,50,200,1000}.<symbol>``: a ``snapshot`` after the ack, then ``delta``s whose
``u`` counts that topic's messages (+1 each) and whose ``seq`` is the engine's update id;
``orderbook.1`` sends snapshots only, again after 3 s without change. ``{"op":"ping"}`` is
answered with the spot pong; a connection silent both ways for 10 minutes is closed.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from arbcore.exchanges.bybit import auth, constants
from arbcore.exchanges.credentials import Credentials
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
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
    order_faults,
    place_or_void,
    read_decimal,
    serve_socket,
)
from arbcore.sim.stream import Outgoing, StreamHub, Subscriber
from arbcore.sim.venues.bybit import shapes
from arbcore_ext.book import ASK, BID

__all__ = ["BybitServer"]

WS_PATH: Final = "/v5/public/spot"
#: the spot depths Bybit serves; depth 1 is snapshot-only (protocols notes 3.1)
DEPTHS: Final = (1, 50, 200, 1000)
#: the depth whose ``u`` the REST book carries, and how deep that book may be asked
REST_DEPTH: Final = 1000
#: ``orderbook.1`` is sent again, same ``u``, after this long without change
TOP_REPEAT_NS: Final = 3 * 10**9
#: a connection without a frame either way for this long is cut (protocols notes 3.8)
IDLE_TIMEOUT_S: Final = float(constants.IDLE_CUTOFF_S)
_AHEAD_MS: Final = 1000  # how far ahead of the server a timestamp may be
_LINK_ID: Final = re.compile(constants.CLIENT_ORDER_ID_PATTERN)
_TIME_IN_FORCE: Final = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
                         "PostOnly": TimeInForce.POST_ONLY}  # fmt: skip
_ORDER_TYPES: Final = {"Limit": OrderType.LIMIT, "Market": OrderType.MARKET}
_PAGE: Final = (20, 50)  # default and largest ``limit`` of an order list
_CURSOR: Final = re.compile(r"^page_args=(\d+)&$")
_REJECTIONS: Final = {
    Rejection.INSUFFICIENT_FUNDS: (170131, "Insufficient balance."),
    Rejection.PRICE_FILTER: (170134, "Order price decimal too long."),
    Rejection.MIN_NOTIONAL: (170140, "Order value exceeded lower limit."),
}
_TOO_PRECISE: Final = (170137, "Order volume decimal too long.")
_BELOW_MINIMUM: Final = (170136, "Order quantity lower than the minimum.")
_UNKNOWN_SYMBOL: Final = (170121, "Invalid symbol.")
_NO_ORDER: Final = (170213, "Order does not exist.")


class _Topic:
    """One ``orderbook.<depth>.<symbol>`` stream: its published view and its ``u``."""

    def __init__(self, depth: int) -> None:
        self.view = DepthView(depth)
        self.update_id = 0


class BybitServer:
    """One simulated Bybit venue: the ASGI app and its publisher (module docstring)."""

    ws_path = WS_PATH

    def __init__(self, venue: SimVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.hub = StreamHub(venue.name, faults)
        self.topics = {symbol: {depth: _Topic(depth) for depth in DEPTHS}
                       for symbol in venue.engines}  # fmt: skip
        #: every order placed here, per account: (symbol, order id), oldest first
        self._placed: dict[str, list[tuple[str, int]]] = {}
        self._post_only_cancelled: set[int] = set()  # see protocol.place_or_void
        self._anonymous: set[int] = set()  # placed without an orderLinkId
        self._cancelled_by_user: set[int] = set()
        guard = RestGuard(venue.name, faults, self._rate_limited, self._unavailable, _banned)
        get, post = ["GET"], ["POST"]
        routes: list[Route | WebSocketRoute] = [
            guard.route(constants.TIME_PATH, self._time, get),
            guard.route(constants.INSTRUMENTS_PATH, self._instruments, get),
            guard.route(constants.ORDERBOOK_PATH, self._orderbook, get),
            guard.route(constants.ORDER_CREATE_PATH, self._create, post, placing="POST"),
            guard.route(constants.ORDER_CANCEL_PATH, self._cancel, post),
            guard.route(constants.ORDER_REALTIME_PATH, self._realtime, get),
            guard.route(constants.ORDER_HISTORY_PATH, self._history, get),
            guard.route(constants.WALLET_BALANCE_PATH, self._wallet, get),
            guard.route(constants.FEE_RATE_PATH, self._fee_rate, get),
            WebSocketRoute(WS_PATH, self._stream),
        ]
        self.app = Starlette(routes=routes)

    # -- publishing -------------------------------------------------------------------------------

    def publish(self) -> None:
        """Every topic's delta where its depth changed (``orderbook.1``: its snapshot)."""
        now_ns = self.venue.clock()
        ts_ms = now_ns // 1_000_000
        changed = {instrument.symbol for instrument, _ in self.venue.drain()}
        for symbol, topics in self.topics.items():
            engine = self.venue.engines[symbol]
            for depth, topic in topics.items():
                levels = topic.view.update(engine) if symbol in changed else []
                if levels:
                    topic.update_id += 1
                elif depth != 1 or now_ns - topic.view.sent_ns < TOP_REPEAT_NS:
                    continue
                name = _topic_name(depth, engine.instrument)
                if depth == 1:
                    self.hub.publish(name, self._snapshot(topic, engine.instrument, ts_ms))
                else:
                    bids = [(p, s) for side, p, s in levels if side == BID]
                    asks = [(p, s) for side, p, s in levels if side == ASK]
                    text = shapes.book_message(
                        name, "delta", engine.instrument, bids, asks,
                        update_id=topic.update_id, seq=topic.view.seq, ts_ms=ts_ms,
                    )  # fmt: skip
                    self.hub.publish(name, text, is_delta=True)
                topic.view.sent_ns = now_ns

    @staticmethod
    def _snapshot(topic: _Topic, instrument: Instrument, ts_ms: int) -> str:
        """The topic's book as last published, at its ``u``."""
        name = _topic_name(topic.view.depth, instrument)
        bids, asks = topic.view.levels(BID), topic.view.levels(ASK)
        return shapes.book_message(name, "snapshot", instrument, bids, asks,
                                   update_id=topic.update_id, seq=topic.view.seq,
                                   ts_ms=ts_ms)  # fmt: skip

    # -- WebSocket --------------------------------------------------------------------------------

    async def _stream(self, websocket: WebSocket) -> None:
        conn_id = str(uuid.uuid4())
        await serve_socket(
            self.hub, websocket, lambda subscriber, text: self.answer(subscriber, text, conn_id),
            idle_timeout_s=IDLE_TIMEOUT_S,
        )  # fmt: skip

    def answer(self, subscriber: Subscriber, text: str, conn_id: str = "") -> None:
        """What Bybit does with a client's frame: ``ping`` is ponged; a (un)subscribe is acked
        once (or refused whole), each subscribed topic's snapshot queued behind the ack."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            message = {}
        op, request_id = str(message.get("op") or ""), message.get("req_id")
        request_id = None if request_id is None else str(request_id)
        if op == "ping":
            self.hub.reply(subscriber, shapes.op_answer(op, conn_id, request_id))
            return
        args = message.get("args")
        problem = None
        if op not in ("subscribe", "unsubscribe"):
            problem = f"error:handler not found,op:{op}"
        elif not isinstance(args, list) or not args:
            problem = "error:args is empty"
        elif len(args) > constants.MAX_SUBSCRIBE_ARGS:
            problem = f"error:args size >{constants.MAX_SUBSCRIBE_ARGS}"
        topics: list[tuple[str, _Topic, Instrument]] = []
        for arg in args if problem is None and isinstance(args, list) else []:
            found = self._topic(arg)
            if found is None:
                problem = f"Invalid topic :[{arg}]"
                break
            topics.append((str(arg), *found))
        if problem is not None:
            self.hub.reply(subscriber, shapes.op_answer(op, conn_id, request_id, success=False,
                                                        msg=problem))  # fmt: skip
            return
        self.hub.reply(subscriber, shapes.op_answer(op, conn_id, request_id))
        ts_ms = self.venue.clock() // 1_000_000
        for name, topic, instrument in topics:
            if op == "unsubscribe":
                subscriber.streams.discard(name)
                continue
            subscriber.streams.add(name)
            subscriber.queue.put_nowait(Outgoing(self._snapshot(topic, instrument, ts_ms), name))

    def _topic(self, arg: object) -> tuple[_Topic, Instrument] | None:
        """The stream of an ``orderbook.<depth>.<SYMBOL>`` arg (symbols are upper case)."""
        parts = arg.split(".") if isinstance(arg, str) else []
        if len(parts) != 3 or parts[0] != constants.BOOK_TOPIC or not parts[1].isdigit():
            return None
        engine = self.venue.engine(parts[2])
        if engine is None or engine.instrument.native_symbol != parts[2]:
            return None
        topic = self.topics[engine.instrument.symbol].get(int(parts[1]))
        return None if topic is None else (topic, engine.instrument)

    # -- REST: public -----------------------------------------------------------------------------

    async def _time(self, request: Request) -> Response:
        return self._ok(shapes.server_time(self.venue.clock()))

    async def _instruments(self, request: Request) -> Response:
        category = request.query_params.get("category")
        if category not in ("spot", "linear", "inverse", "option"):
            raise self._refuse(10001, "Illegal category")
        instruments = list(self.venue.instruments) if category == "spot" else []
        symbol = request.query_params.get("symbol")
        if symbol:
            instruments = [i for i in instruments if i.native_symbol == symbol]
        entries = [shapes.instrument_entry(i) for i in instruments]
        return self._ok({"category": category, "list": entries})

    async def _orderbook(self, request: Request) -> Response:
        params = request.query_params
        if params.get("category") != "spot":
            raise self._refuse(10001, "Illegal category")
        engine = self._engine(params.get("symbol"), (10001, "The requested symbol is invalid."))
        limit = params.get("limit") or "1"
        if not limit.isdigit() or not 1 <= int(limit) <= REST_DEPTH:
            raise self._refuse(10001, "The number of limit is invalid.")
        topic = self.topics[engine.instrument.symbol][REST_DEPTH]
        depth = int(limit)
        result = shapes.rest_orderbook(
            engine.instrument, topic.view.levels(BID, depth), topic.view.levels(ASK, depth),
            update_id=topic.update_id, seq=topic.view.seq, ts_ms=self._now_ms(),
        )  # fmt: skip
        return self._ok(result)

    # -- REST: signed -----------------------------------------------------------------------------

    async def _signed(self, request: Request) -> tuple[AccountConfig, dict[str, Any]]:
        """Bybit's checks of a signed request, the signature by ``bybit.auth.verify``; the
        account and the parameters (the JSON body of a POST, else the query)."""
        headers = request.headers
        account = self.venue.account(headers.get(constants.API_KEY_HEADER, ""))
        if account is None:
            raise self._refuse(10003, "API key is invalid.", 401)
        query = parse_qsl(request.url.query, keep_blank_values=True)
        body = (await request.body()).decode()
        received = HttpRequest(
            method=request.method, path=request.url.path, params=query, body=body,
            headers=[(name, value) for name, value in headers.items() if name.startswith("x-bapi")],
        )  # fmt: skip
        if not auth.verify(received, Credentials(account.api_key, account.secret)):
            raise self._refuse(10004, "error sign! please check your signature generation "
                                      "algorithm")  # fmt: skip
        stamp = int(headers[constants.TIMESTAMP_HEADER])
        window = int(headers.get(constants.RECV_WINDOW_HEADER) or constants.RECV_WINDOW_MS)
        now = self._now_ms()
        if not now - window <= stamp < now + _AHEAD_MS:
            raise self._refuse(10002, "invalid request, please check your server timestamp or "
                                      f"recv_window param. req_timestamp[{stamp}],"
                                      f"server_timestamp[{now}],recv_window[{window}]")  # fmt: skip
        if request.method != "POST":
            return account, dict(query)
        try:
            fields = json.loads(body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise self._refuse(10001, "request body is not a JSON object")
        return account, fields

    async def _create(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        self._spot_only(fields)
        engine = self._engine(_text(fields, "symbol"), _UNKNOWN_SYMBOL)
        instrument = engine.instrument
        side = {"Buy": OrderSide.BUY, "Sell": OrderSide.SELL}.get(_text(fields, "side"))
        if side is None:
            raise self._refuse(170117, "Invalid side.")
        order_type = _ORDER_TYPES.get(_text(fields, "orderType"))
        if order_type is None:
            raise self._refuse(170116, "Invalid orderType.")
        time_in_force = _TIME_IN_FORCE.get(_text(fields, "timeInForce") or "GTC")
        if time_in_force is None:
            raise self._refuse(170115, "Invalid timeInForce.")
        if order_type is OrderType.MARKET:
            time_in_force = TimeInForce.IOC  # "Market order will always use IOC"
        unit = _text(fields, "marketUnit") or ("quoteCoin" if side is OrderSide.BUY else "")
        if order_type is OrderType.MARKET and unit not in ("baseCoin", ""):
            # sized in the quote coin (the default of a market buy): not simulated
            raise self._refuse(170130, "Data sent for parameter 'marketUnit' is not valid.")
        if str(fields.get("isLeverage", 0)) != "0":
            raise self._refuse(10001, "isLeverage: spot margin trading is not simulated")
        link_id = _text(fields, "orderLinkId") or None
        if link_id is not None and not _LINK_ID.match(link_id):
            raise self._refuse(10001, "params error: orderLinkId is invalid")
        size = read_decimal(fields.get("qty"), instrument.size_decimals)
        if size is BadDecimal.MALFORMED:
            raise self._refuse(170130, "Data sent for parameter 'qty' is not valid.")
        if size is BadDecimal.TOO_PRECISE:
            raise self._refuse(*_TOO_PRECISE)
        price = None
        if order_type is OrderType.LIMIT:
            read = read_decimal(fields.get("price"), instrument.price_decimals)
            if read is BadDecimal.MALFORMED:
                raise self._refuse(170130, "Data sent for parameter 'price' is not valid.")
            if read is BadDecimal.TOO_PRECISE:
                raise self._refuse(*_REJECTIONS[Rejection.PRICE_FILTER])
            price = read
        name = self.venue.name
        if self.faults.strikes(Fault.REJECT, name):
            raise self._refuse(170210, "New order rejected. (injected fault)")
        struck = order_faults(self.faults, name, instrument, size)
        placement, voided = place_or_void(
            engine, account.name, side, order_type, size, price_raw=price,
            time_in_force=time_in_force, client_order_id=link_id,
            fill_limit_raw=struck.fill_limit_raw, hold_ns=struck.hold_ns,
        )  # fmt: skip
        if placement.duplicate:
            raise self._refuse(170141, "Duplicate clientOrderId.")
        order = placement.order
        if order is None:
            assert placement.rejection is not None
            raise self._refuse(*_REJECTIONS.get(placement.rejection, _BELOW_MINIMUM))
        self._placed.setdefault(account.name, []).append((instrument.symbol, order.order_id))
        if voided:
            self._post_only_cancelled.add(order.order_id)
        if link_id is None:
            self._anonymous.add(order.order_id)
        if self.faults.strikes(Fault.SERVER_ERROR, name):  # accepted, but the answer is lost
            raise self._refuse(10000, "Server Timeout")
        return self._ok({"orderId": str(order.order_id), "orderLinkId": self._link_id(order)})

    async def _cancel(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        self._spot_only(fields)
        engine = self._engine(_text(fields, "symbol"), _UNKNOWN_SYMBOL)
        known = self._find(engine, account, fields)
        order = None if known is None else engine.cancel(account.name, order_id=known.order_id)
        if order is None:
            raise self._refuse(*_NO_ORDER)
        self._cancelled_by_user.add(order.order_id)
        return self._ok({"orderId": str(order.order_id), "orderLinkId": self._link_id(order)})

    async def _realtime(self, request: Request) -> Response:
        """Open orders; with an id, that order whatever its state (Bybit keeps recent ones)."""
        account, fields = await self._signed(request)
        return self._orders(account, fields, live=True)

    async def _history(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        return self._orders(account, fields, live=False)

    def _orders(self, account: AccountConfig, fields: dict[str, Any], *, live: bool) -> Response:
        self._spot_only(fields)
        symbol = fields.get("symbol")
        engines = ([self._engine(symbol, _UNKNOWN_SYMBOL)] if symbol
                   else list(self.venue.engines.values()))  # fmt: skip
        by_id = bool(fields.get("orderId") or fields.get("orderLinkId"))
        found: list[tuple[MatchingEngine, SimOrder]] = []
        if by_id:
            found = [(e, o) for e in engines if (o := self._find(e, account, fields)) is not None]
            if not live:
                found = [(e, o) for e, o in found if o.status.is_final]
        elif live:
            found = [(e, o) for e in engines for o in e.open_orders(account.name)]
        else:
            wanted = {e.instrument.symbol: e for e in engines}
            for placed_symbol, order_id in self._placed.get(account.name, []):
                engine = wanted.get(placed_symbol)
                order = None if engine is None else engine.order(account.name, order_id=order_id)
                if engine is not None and order is not None and order.status.is_final:
                    found.append((engine, order))
        found.sort(key=lambda pair: pair[1].order_id, reverse=True)  # newest first
        limit = str(fields.get("limit") or _PAGE[0])
        if not limit.isdigit() or not 1 <= int(limit) <= _PAGE[1]:
            raise self._refuse(10001, "params error: limit is invalid")
        start = 0
        if fields.get("cursor"):
            cursor = _CURSOR.match(str(fields["cursor"]))
            if cursor is None:
                raise self._refuse(10001, "params error: cursor is invalid")
            start = int(cursor.group(1))
        page = found[start : start + int(limit)]
        more = start + int(limit) < len(found)
        next_cursor = quote(f"page_args={start + int(limit)}&", safe="") if more else ""
        entries = [self._entry(engine, order) for engine, order in page]
        return self._ok({"list": entries, "nextPageCursor": next_cursor, "category": "spot"})

    async def _wallet(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        if fields.get("accountType") != constants.ACCOUNT_TYPE:
            raise self._refuse(10001, "accountType only support UNIFIED.")
        wanted = {coin for coin in str(fields.get("coin") or "").split(",") if coin}
        held = [b for b in self.venue.ledger.balances(account.name)
                if (b.free or b.locked) and (not wanted or b.asset in wanted)]  # fmt: skip
        return self._ok(shapes.wallet_balance(held))

    async def _fee_rate(self, request: Request) -> Response:
        _, fields = await self._signed(request)
        self._spot_only(fields)
        symbol = fields.get("symbol")
        engines = ([self._engine(symbol, _UNKNOWN_SYMBOL)] if symbol
                   else list(self.venue.engines.values()))  # fmt: skip
        rates = [(e.instrument, e.maker_fee, e.taker_fee) for e in engines]
        return self._ok(shapes.fee_rates(rates))

    # -- helpers ----------------------------------------------------------------------------------

    def _engine(self, native: object, refusal: tuple[int, str]) -> MatchingEngine:
        engine = self.venue.engine(native) if isinstance(native, str) and native else None
        if engine is None or engine.instrument.native_symbol != native:
            raise self._refuse(*refusal)
        return engine

    @staticmethod
    def _find(
        engine: MatchingEngine, account: AccountConfig, fields: Mapping[str, Any]
    ) -> SimOrder | None:
        """The account's order by ``orderId`` or else ``orderLinkId``."""
        order_id, link_id = fields.get("orderId"), fields.get("orderLinkId")
        if order_id:
            digits = str(order_id)
            return engine.order(account.name, order_id=int(digits)) if digits.isdigit() else None
        if link_id:
            return engine.order(account.name, client_order_id=str(link_id))
        return None

    def _link_id(self, order: SimOrder) -> str:
        return "" if order.order_id in self._anonymous else order.client_order_id

    def _entry(self, engine: MatchingEngine, order: SimOrder) -> dict[str, Any]:
        instrument = engine.instrument
        decimals = {asset: self.venue.ledger.decimals(asset)
                    for asset in (instrument.base, instrument.quote)}  # fmt: skip
        cancel_type = "CancelByUser" if order.order_id in self._cancelled_by_user else "UNKNOWN"
        if order.order_id in self._post_only_cancelled:
            reason = shapes.POST_ONLY_REJECT
        elif order.time_in_force is TimeInForce.FOK and order.status is OrderStatus.EXPIRED:
            reason = shapes.NO_FULL_FILL_REJECT
        else:
            reason = "EC_NoError"
        return shapes.order_entry(instrument, order, decimals, link_id=self._link_id(order),
                                  cancel_type=cancel_type, reject_reason=reason)  # fmt: skip

    def _spot_only(self, fields: Mapping[str, Any]) -> None:
        if fields.get("category") != constants.SPOT_CATEGORY:
            raise self._refuse(10001, "params error: only category spot is simulated")

    def _ok(self, result: object) -> Response:
        return JSONResponse(shapes.envelope(result, self._now_ms()))

    def _refuse(self, code: int, message: str, status: int = 200) -> Refusal:
        """A refused request: Bybit's envelope with the ``retCode``, an empty ``result``."""
        body = shapes.envelope({}, self._now_ms(), code, message)
        return Refusal(JSONResponse(body, status_code=status))

    def _rate_limited(self, config: FaultConfig) -> Response:
        """The per-UID limit: 10006, and when it resets in X-Bapi-Limit-Reset-Timestamp."""
        now = self._now_ms()
        reset = str(now + config.retry_after_s * 1000)
        headers = {"X-Bapi-Limit": "20", "X-Bapi-Limit-Status": "0",
                   constants.LIMIT_RESET_HEADER: reset}  # fmt: skip
        body = shapes.envelope({}, now, 10006, "Too many visits. Exceeded the API Rate Limit.")
        return JSONResponse(body, headers=headers)

    def _unavailable(self) -> Response:
        return JSONResponse(shapes.envelope({}, self._now_ms(), 10016, "Internal server error."))

    def _now_ms(self) -> int:
        return self.venue.clock() // 1_000_000


def _banned(config: FaultConfig) -> Response:
    """Bybit's IP ban after the IP limit was broken: HTTP 403, "access too frequent"."""
    return Response("403 Forbidden: access too frequent", status_code=403,
                    media_type="text/plain")  # fmt: skip


def _topic_name(depth: int, instrument: Instrument) -> str:
    return f"{constants.BOOK_TOPIC}.{depth}.{instrument.native_symbol}"


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    return "" if value is None else str(value)
