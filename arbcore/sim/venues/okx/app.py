"""A simulated OKX spot venue (API v5): its REST API and public WebSocket, as Starlette routes.

Public REST: ``/api/v5/public/time``, ``/public/instruments`` (``instType=SPOT``),
``/market/books`` (the published 400-level book at its ``seqId``). Signed (``OK-ACCESS-KEY``,
``-SIGN``, ``-TIMESTAMP``, ``-PASSPHRASE``, checked by ``arbcore.exchanges.okx.auth.verify``):
``/api/v5/trade/order`` (POST places, GET reads by ``ordId``/``clOrdId``),
``/trade/cancel-order``, ``/trade/orders-pending``, ``/account/balance``,
``/account/trade-fee``. Answers are OKX's envelope: a refused order is ``code "1"`` with its
``sCode`` (51008 insufficient balance, 51121 lot size, 51020 minimum, 51016 duplicate
clOrdId, 51001 unknown instrument), a refused request its own code (50014/51000 parameters,
50111/50105/50113/50102 key, passphrase, signature, timestamp), 51400 a cancel of an order
that is not open, 51603 a lookup of none; 50011 (HTTP 429) and 50001 (503) when those faults
strike, 50004 for a placement whose answer was lost. Signed requests are held to OKX's own
limits per account (``okx.constants.RATE_LIMITS``: each endpoint's, the order endpoints per
instrument): past them, 50011 with HTTP 429.

WebSocket ``/ws/v5/public``: ``subscribe``/``unsubscribe`` ops acked per arg, channels
``books`` (a ``snapshot`` push after the ack, then ``update`` pushes chained by
``prevSeqId``/``seqId``, the engine's update ids, with the CRC32 checksum of the best 25
levels; an empty update with ``prevSeqId == seqId`` after 60 s without change), ``books5`` and
``bbo-tbt`` (the top at the same ``seqId``). The text ``ping`` is answered ``pong``; a
connection silent both ways for 30 s is closed.
"""

from __future__ import annotations

import calendar
import hmac
import json
import re
import secrets
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
from arbcore.exchanges.okx import auth
from arbcore.exchanges.okx.constants import (
    BALANCE_PATH,
    CANCEL_ORDER_PATH,
    MAX_CLOCK_SKEW_S,
    OPEN_ORDERS_PAGE,
    OPEN_ORDERS_PATH,
    ORDER_PATH,
    RATE_LIMITS,
    TIME_PATH,
    TRADE_FEE_PATH,
)
from arbcore.model import Instrument, OrderSide, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore.net.ratelimit import RateLimiter
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
    order_faults,
    place_or_void,
    read_decimal,
    serve_socket,
)
from arbcore.sim.stream import Outgoing, StreamHub, Subscriber
from arbcore.sim.venues.okx import shapes
from arbcore_ext.book import ASK, BID

__all__ = ["OKXServer"]

WS_PATH: Final = "/ws/v5/public"
#: depth of the ``books`` channel, and the top channels with theirs
BOOK_DEPTH: Final = 400
TOP_DEPTHS: Final = {"books5": 5, "bbo-tbt": 1}
#: an unchanged book gets an empty update this often (protocols notes 2.2)
KEEPALIVE_NS: Final = 60 * 10**9
#: OKX closes a connection without a push or a message for 30 s (protocols notes 2.8)
IDLE_TIMEOUT_S: Final = 30.0
_SKEW_MS: Final = int(MAX_CLOCK_SKEW_S * 1000)
_TIMESTAMP: Final = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
_CLIENT_ID: Final = re.compile(r"^[A-Za-z0-9]{1,32}$")
_ORDER_TYPES: Final = {
    "market": (OrderType.MARKET, TimeInForce.IOC),
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "post_only": (OrderType.LIMIT, TimeInForce.POST_ONLY),
    "fok": (OrderType.LIMIT, TimeInForce.FOK),
}
_OTHER_INST_TYPES: Final = frozenset({"MARGIN", "SWAP", "FUTURES", "OPTION"})
_REQUIRED_HEADERS: Final = (
    (auth.KEY_HEADER, "50103"),
    (auth.PASSPHRASE_HEADER, "50104"),
    (auth.SIGN_HEADER, "50106"),
    (auth.TIMESTAMP_HEADER, "50107"),
)
_UNKNOWN_INSTRUMENT: Final = ("51001", "Instrument ID does not exist.")
_LOT_SIZE: Final = ("51121", "Order quantity must be a multiple of the lot size.")
_NOT_CANCELLABLE: Final = (
    "51400",
    "Order cancellation failed as the order has been filled, canceled or does not exist.",
)
_INJECTED_REJECT: Final = ("51006", "Order price is not within the price limit (injected fault)")
_ALL_FAILED: Final = "All operations failed"
_ORDER_ENDPOINTS: Final = frozenset({f"POST {ORDER_PATH}", f"POST {CANCEL_ORDER_PATH}"})


def _answer(body: object, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def _refuse(code: str, message: str, status: int = 200) -> Refusal:
    """A refused request: OKX's envelope with the code at the top."""
    return Refusal(_answer(shapes.envelope([], code, message), status))


def _empty(name: str) -> Refusal:
    return _refuse("50014", f"Parameter {name} can not be empty.", 400)


def _bad(name: str) -> Refusal:
    return _refuse("51000", f"Parameter {name} error", 400)


class _Book:
    """One market's published views: the ``books`` depth and the top channels."""

    def __init__(self) -> None:
        self.full = DepthView(BOOK_DEPTH)
        self.tops = {channel: DepthView(depth) for channel, depth in TOP_DEPTHS.items()}


class OKXServer:
    """One simulated OKX venue: the ASGI app and its publisher (module docstring)."""

    ws_path = WS_PATH

    def __init__(self, venue: SimVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.hub = StreamHub(venue.name, faults)
        self.books = {symbol: _Book() for symbol in venue.engines}
        self._post_only_cancelled: set[int] = set()  # order ids: see protocol.place_or_void
        self._anonymous: set[int] = set()  # order ids placed without a clOrdId
        self._limits: dict[str, RateLimiter] = {}  # per API key: OKX counts per User ID
        guard = RestGuard(venue.name, faults, _rate_limited, _unavailable)
        routes: list[Route | WebSocketRoute] = [
            guard.route(TIME_PATH, self._time, ["GET"]),
            guard.route("/api/v5/public/instruments", self._instruments, ["GET"]),
            guard.route("/api/v5/market/books", self._books, ["GET"]),
            guard.route(ORDER_PATH, self._order, ["GET", "POST"], placing="POST"),
            guard.route(CANCEL_ORDER_PATH, self._cancel, ["POST"]),
            guard.route(OPEN_ORDERS_PATH, self._pending, ["GET"]),
            guard.route(BALANCE_PATH, self._balance, ["GET"]),
            guard.route(TRADE_FEE_PATH, self._trade_fee, ["GET"]),
            WebSocketRoute(WS_PATH, self._stream),
        ]
        self.app = Starlette(routes=routes)

    # -- publishing -------------------------------------------------------------------------------

    def publish(self) -> None:
        """``books`` updates (or keep-alives) and top pushes of every market, at one ``ts``."""
        now_ns = self.venue.clock()
        ts_ms = now_ns // 1_000_000
        changed = {instrument.symbol for instrument, _ in self.venue.drain()}
        for symbol, book in self.books.items():
            engine = self.venue.engines[symbol]
            prev = book.full.seq
            levels = book.full.update(engine) if symbol in changed else []
            if not levels and now_ns - book.full.sent_ns < KEEPALIVE_NS:
                continue
            bids = [(p, s) for side, p, s in levels if side == BID]
            asks = [(p, s) for side, p, s in levels if side == ASK]
            stream = f"books:{engine.instrument.native_symbol}"
            text = shapes.books_push(
                engine.instrument, "update", bids, asks, ts_ms=ts_ms,
                checksum=self._checksum(engine.instrument, book, stream), prev_seq=prev,
                seq=book.full.seq,
            )  # fmt: skip
            self.hub.publish(stream, text, is_delta=True)
            book.full.sent_ns = now_ns
            for channel, view in book.tops.items():
                if levels and view.update(engine):
                    top = self._top(channel, engine.instrument, book, ts_ms)
                    self.hub.publish(self._top_stream(channel, engine.instrument), top)

    def _checksum(self, instrument: Instrument, book: _Book, stream: str) -> int:
        """The book's checksum; wrong when the CHECKSUM fault strikes (someone listening)."""
        depth = shapes.CHECKSUM_DEPTH
        value = shapes.checksum(instrument, book.full.levels(BID, depth),
                                book.full.levels(ASK, depth))  # fmt: skip
        if listening(self.hub, stream) and self.faults.strikes(Fault.CHECKSUM, self.venue.name):
            return ~value
        return value

    @staticmethod
    def _top_stream(channel: str, instrument: Instrument) -> str:
        return f"{channel}:{instrument.native_symbol}"

    @staticmethod
    def _top(channel: str, instrument: Instrument, book: _Book, ts_ms: int) -> str:
        view = book.tops[channel]
        return shapes.top_push(channel, instrument, view.levels(BID), view.levels(ASK),
                               ts_ms=ts_ms, seq=book.full.seq)  # fmt: skip

    # -- WebSocket --------------------------------------------------------------------------------

    async def _stream(self, websocket: WebSocket) -> None:
        conn_id = secrets.token_hex(4)
        await serve_socket(
            self.hub, websocket, lambda subscriber, text: self.answer(subscriber, text, conn_id),
            idle_timeout_s=IDLE_TIMEOUT_S,
        )  # fmt: skip

    def answer(self, subscriber: Subscriber, text: str, conn_id: str = "") -> None:
        """What OKX does with a client's frame: ``ping`` is answered ``pong``; a (un)subscribe
        op is acked per arg (a subscribe's snapshot queued right behind its ack)."""
        if text == "ping":
            self.hub.reply(subscriber, "pong")
            return
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        request_id = message.get("id") if isinstance(message, dict) else None
        request_id = request_id if isinstance(request_id, str) else None
        op = message.get("op") if isinstance(message, dict) else None
        args = message.get("args") if isinstance(message, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args:
            error = shapes.event("error", request_id, conn_id, code="60012",
                                 msg=f"Invalid request: {text}")  # fmt: skip
            self.hub.reply(subscriber, error)
            return
        wanted: list[tuple[str, MatchingEngine]] = []
        for arg in args:
            channel = arg.get("channel") if isinstance(arg, dict) else None
            native = arg.get("instId") if isinstance(arg, dict) else None
            engine = self.venue.engine(native) if isinstance(native, str) else None
            if channel not in ("books", *TOP_DEPTHS) or engine is None:
                msg = (
                    f"Wrong URL or channel:{channel},instId:{native} doesn't exist. Please use "
                    "the correct URL, channel and parameters referring to API document."
                )
                error = shapes.event("error", request_id, conn_id, code="60018", msg=msg)
                self.hub.reply(subscriber, error)
                return
            wanted.append((str(channel), engine))
        for channel, engine in wanted:
            instrument = engine.instrument
            stream = self._top_stream(channel, instrument)
            arg = {"channel": channel, "instId": instrument.native_symbol}
            self.hub.reply(subscriber, shapes.event(op, request_id, conn_id, arg=arg))
            if op == "unsubscribe":
                subscriber.streams.discard(stream)
                continue
            subscriber.streams.add(stream)
            subscriber.queue.put_nowait(Outgoing(self._snapshot(channel, engine), stream))

    def _snapshot(self, channel: str, engine: MatchingEngine) -> str:
        """What a new subscriber gets first: the book as last published, at its seqId."""
        instrument = engine.instrument
        book = self.books[instrument.symbol]
        ts_ms = self.venue.clock() // 1_000_000
        if channel != "books":
            return self._top(channel, instrument, book, ts_ms)
        bids, asks = book.full.levels(BID), book.full.levels(ASK)
        depth = shapes.CHECKSUM_DEPTH
        checksum = shapes.checksum(instrument, bids[:depth], asks[:depth])
        return shapes.books_push(instrument, "snapshot", bids, asks, ts_ms=ts_ms,
                                 checksum=checksum, prev_seq=-1, seq=book.full.seq)  # fmt: skip

    # -- REST: public -----------------------------------------------------------------------------

    async def _time(self, request: Request) -> Response:
        return _answer(shapes.envelope([{"ts": str(self._now_ms())}]))

    async def _instruments(self, request: Request) -> Response:
        kind = request.query_params.get("instType")
        if not kind:
            raise _empty("instType")
        if kind != "SPOT":
            if kind in _OTHER_INST_TYPES:
                return _answer(shapes.envelope([]))
            raise _bad("instType")
        native = request.query_params.get("instId")
        instruments = [self._engine(native).instrument] if native else self.venue.instruments
        return _answer(shapes.envelope([shapes.instrument_entry(i) for i in instruments]))

    async def _books(self, request: Request) -> Response:
        native = request.query_params.get("instId")
        if not native:
            raise _empty("instId")
        engine = self._engine(native)
        size = request.query_params.get("sz", "1")
        if not size.isdigit() or not 1 <= int(size) <= BOOK_DEPTH:
            raise _bad("sz")
        book = self.books[engine.instrument.symbol].full
        body = shapes.rest_books(engine.instrument, book.levels(BID, int(size)),
                                 book.levels(ASK, int(size)), self._now_ms(), book.seq)  # fmt: skip
        return _answer(body)

    # -- REST: signed -----------------------------------------------------------------------------

    async def _signed(self, request: Request) -> tuple[AccountConfig, dict[str, Any]]:
        """OKX's checks of a signed request, the signature by ``okx.auth.verify``; the account
        and the request's parameters (its JSON body for a POST, else its query)."""
        arrived = time.monotonic()  # the budgets count arrivals, before any await
        headers = request.headers
        for header, code in _REQUIRED_HEADERS:
            if not headers.get(header):
                raise _refuse(code, f'Request header "{header}" cannot be empty.', 401)
        stamp = _timestamp_ms(headers[auth.TIMESTAMP_HEADER])
        if stamp is None:
            raise _refuse("50112", "Invalid OK-ACCESS-TIMESTAMP", 401)
        account = self.venue.account(headers[auth.KEY_HEADER])
        if account is None:
            raise _refuse("50111", "Invalid OK-ACCESS-KEY", 401)
        passphrase = headers[auth.PASSPHRASE_HEADER].encode()
        if not account.passphrase or not hmac.compare_digest(
            passphrase, account.passphrase.encode()
        ):
            raise _refuse("50105", "Invalid OK-ACCESS-PASSPHRASE", 401)
        query = parse_qsl(request.url.query, keep_blank_values=True)
        body = (await request.body()).decode()
        received = HttpRequest(
            method=request.method, path=request.url.path, params=query, body=body,
            headers=[(name, headers[name]) for name in auth.AUTH_HEADERS],
        )  # fmt: skip
        credentials = Credentials(account.api_key, account.secret, account.passphrase)
        if not auth.verify(received, credentials):
            raise _refuse("50113", "Invalid Sign", 401)
        if abs(self._now_ms() - stamp) > _SKEW_MS:
            raise _refuse("50102", "Timestamp request expired", 401)
        fields: Any = dict(query)
        if request.method == "POST":
            try:
                fields = json.loads(body) if body else {}
            except ValueError:
                fields = None
            if not isinstance(fields, dict):
                raise _refuse("50002", "JSON syntax error", 400)
        endpoint = f"{request.method} {request.url.path}"
        self._throttle(account, endpoint, fields.get("instId"), arrived)
        return account, fields

    def _throttle(
        self, account: AccountConfig, endpoint: str, native: object, arrived: float
    ) -> None:
        """OKX's own limits (``okx.constants.RATE_LIMITS``: per endpoint, the order endpoints
        per instrument), counted per account over arrivals: 50011 past them."""
        limiter = self._limits.get(account.api_key)
        if limiter is None:
            limiter = self._limits[account.api_key] = RateLimiter(RATE_LIMITS, guard_s=0.0)
        is_order = endpoint in _ORDER_ENDPOINTS
        instrument = native if isinstance(native, str) else ""
        if limiter.try_acquire(is_order=is_order, endpoint=endpoint, instrument=instrument,
                               now=arrived):  # fmt: skip
            raise Refusal(_rate_limited(self.faults.config(self.venue.name)))

    async def _order(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        if request.method == "POST":
            return self._place(account, fields)
        engine = self._engine(_require(fields, "instId"))
        order = self._lookup(engine, account, fields)
        if order is None:
            raise _refuse("51603", "Order does not exist")
        return _answer(shapes.envelope([self._entry(engine, order)]))

    def _place(self, account: AccountConfig, fields: Mapping[str, Any]) -> Response:
        native = _require(fields, "instId")
        if _require(fields, "tdMode") != "cash":
            raise _bad("tdMode")
        side = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}.get(_require(fields, "side"))
        if side is None:
            raise _bad("side")
        kind = _ORDER_TYPES.get(_require(fields, "ordType"))
        if kind is None:
            raise _bad("ordType")
        order_type, time_in_force = kind
        size_text = _require(fields, "sz")
        price_text = None if order_type is OrderType.MARKET else _require(fields, "px")
        client_id = fields.get("clOrdId") or None
        if client_id is not None and not _CLIENT_ID.match(str(client_id)):
            raise _bad("clOrdId")
        target = fields.get("tgtCcy", _default_target(side))
        if order_type is OrderType.MARKET and target != "base_ccy":
            raise _bad("tgtCcy")  # market orders sized in the quote are not simulated
        engine = self.venue.engine(native)
        label = client_id or ""
        if engine is None:
            raise self._order_failed(label, *_UNKNOWN_INSTRUMENT)
        instrument = engine.instrument
        size = read_decimal(size_text, instrument.size_decimals)
        if size is BadDecimal.MALFORMED:
            raise _bad("sz")
        if size is BadDecimal.TOO_PRECISE:
            raise self._order_failed(label, *_LOT_SIZE)
        price = None if price_text is None else read_decimal(price_text, instrument.price_decimals)
        if isinstance(price, BadDecimal):
            raise _bad("px")
        name = self.venue.name
        if self.faults.strikes(Fault.REJECT, name):
            raise self._order_failed(label, *_INJECTED_REJECT)
        struck = order_faults(self.faults, name, instrument, size)
        placement, voided = place_or_void(
            engine, account.name, side, order_type, size, price_raw=price,
            time_in_force=time_in_force, client_order_id=client_id,
            fill_limit_raw=struck.fill_limit_raw, hold_ns=struck.hold_ns,
        )  # fmt: skip
        if placement.duplicate:
            raise self._order_failed(label, "51016", "Duplicated clOrdId")
        order = placement.order
        if order is None:
            assert placement.rejection is not None
            raise self._order_failed(label, *_rejection(placement.rejection, instrument, side,
                                                        size))  # fmt: skip
        if voided:
            self._post_only_cancelled.add(order.order_id)
        if client_id is None:
            self._anonymous.add(order.order_id)
        if self.faults.strikes(Fault.SERVER_ERROR, name):  # accepted, but the answer is lost
            message = ("API endpoint request timeout (does not mean that the request was "
                       "successful or failed, please check the request result).")  # fmt: skip
            return _answer(shapes.envelope([], "50004", message), 400)
        result = shapes.order_result(label, str(order.order_id), self._now_ms(), msg="Order placed")
        return self._timed(shapes.envelope([result]))

    async def _cancel(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        native = _require(fields, "instId")
        if not (fields.get("ordId") or fields.get("clOrdId")):
            raise _empty("ordId or clOrdId")
        label = str(fields.get("clOrdId") or "")
        engine = self.venue.engine(native)
        if engine is None:
            raise self._order_failed(label, *_UNKNOWN_INSTRUMENT)
        known = self._lookup(engine, account, fields)
        order = None if known is None else engine.cancel(account.name, order_id=known.order_id)
        if order is None:
            raise self._order_failed(label, *_NOT_CANCELLABLE)
        result = shapes.order_result(self._client_id(order), str(order.order_id), self._now_ms())
        return self._timed(shapes.envelope([result]))

    async def _pending(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        kind = fields.get("instType")
        if kind and kind != "SPOT":
            if kind in _OTHER_INST_TYPES:
                return _answer(shapes.envelope([]))
            raise _bad("instType")
        native = fields.get("instId")
        engines = [self._engine(native)] if native else list(self.venue.engines.values())
        limit = fields.get("limit") or str(OPEN_ORDERS_PAGE)
        if not limit.isdigit() or not 1 <= int(limit) <= OPEN_ORDERS_PAGE:
            raise _bad("limit")
        after = fields.get("after")
        if after is not None and not after.isdigit():
            raise _bad("after")
        found = [(order, engine) for engine in engines
                 for order in engine.open_orders(account.name)
                 if after is None or order.order_id < int(after)]  # fmt: skip
        found.sort(key=lambda pair: pair[0].order_id, reverse=True)  # newest first
        data = [self._entry(engine, order) for order, engine in found[: int(limit)]]
        return _answer(shapes.envelope(data))

    async def _balance(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        wanted = {ccy for ccy in (fields.get("ccy") or "").split(",") if ccy}
        held = [b for b in self.venue.ledger.balances(account.name)
                if (b.free or b.locked) and (not wanted or b.asset in wanted)]  # fmt: skip
        return _answer(shapes.balance(held, self._now_ms()))

    async def _trade_fee(self, request: Request) -> Response:
        _, fields = await self._signed(request)
        kind = fields.get("instType")
        if not kind:
            raise _empty("instType")
        if kind != "SPOT":
            raise _bad("instType")
        native = fields.get("instId")
        engine = self._engine(native) if native else next(iter(self.venue.engines.values()))
        return _answer(shapes.fee_rate(engine.maker_fee, engine.taker_fee, self._now_ms()))

    # -- helpers ----------------------------------------------------------------------------------

    def _engine(self, native: str | None) -> MatchingEngine:
        engine = self.venue.engine(native) if native else None
        if engine is None:
            raise _refuse(*_UNKNOWN_INSTRUMENT)
        return engine

    @staticmethod
    def _lookup(
        engine: MatchingEngine, account: AccountConfig, fields: Mapping[str, Any]
    ) -> SimOrder | None:
        """The account's order by ``ordId`` (digits) or else ``clOrdId``."""
        order_id, client_id = fields.get("ordId"), fields.get("clOrdId")
        if order_id:
            if not (isinstance(order_id, str) and order_id.isdigit()):
                return None
            return engine.order(account.name, order_id=int(order_id))
        if not client_id:
            raise _empty("ordId or clOrdId")
        return engine.order(account.name, client_order_id=str(client_id))

    def _client_id(self, order: SimOrder) -> str:
        return "" if order.order_id in self._anonymous else order.client_order_id

    def _entry(self, engine: MatchingEngine, order: SimOrder) -> dict[str, Any]:
        instrument = engine.instrument
        decimals = {asset: self.venue.ledger.decimals(asset)
                    for asset in (instrument.base, instrument.quote)}  # fmt: skip
        return shapes.order_entry(
            instrument, order, decimals, client_order_id=self._client_id(order),
            post_only_cancelled=order.order_id in self._post_only_cancelled,
        )  # fmt: skip

    def _order_failed(self, client_id: str, code: str, message: str) -> Refusal:
        """A refused order: ``code "1"``, the reason in the entry's ``sCode``/``sMsg``."""
        result = shapes.order_result(client_id, "", self._now_ms(), code, message)
        return Refusal(self._timed(shapes.envelope([result], "1", _ALL_FAILED)))

    def _timed(self, body: dict[str, Any]) -> Response:
        """An order answer, with OKX's ``inTime``/``outTime`` (microseconds)."""
        now_us = str(self.venue.clock() // 1000)
        return _answer({**body, "inTime": now_us, "outTime": now_us})

    def _now_ms(self) -> int:
        return self.venue.clock() // 1_000_000


def _require(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None or value == "":
        raise _empty(name)
    if not isinstance(value, str):
        raise _bad(name)
    return value


def _default_target(side: OrderSide) -> str:
    """OKX's default unit of a market order's ``sz``: the quote for a buy, the base for a sell."""
    return "quote_ccy" if side is OrderSide.BUY else "base_ccy"


def _rejection(
    rejection: Rejection, instrument: Instrument, side: OrderSide, size: int
) -> tuple[str, str]:
    """OKX's ``sCode`` and ``sMsg`` for an order the engine refused."""
    if rejection is Rejection.INSUFFICIENT_FUNDS:
        asset = instrument.quote if side is OrderSide.BUY else instrument.base
        return "51008", f"Order failed. Insufficient {asset} balance in account."
    if rejection is Rejection.PRICE_FILTER:
        return "51000", "Parameter px error"
    if rejection is Rejection.LOT_SIZE and size % instrument.lot_size:
        return _LOT_SIZE
    return "51020", "Your order should meet or exceed the minimum order amount."


def _timestamp_ms(text: str) -> int | None:
    """``OK-ACCESS-TIMESTAMP`` (``2020-12-08T09:08:57.715Z``) in ms; None if malformed."""
    if not _TIMESTAMP.match(text):
        return None
    try:
        parsed = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return calendar.timegm(parsed) * 1000 + int(text[20:23])


def _rate_limited(config: FaultConfig) -> Response:
    """OKX's throttle answer: HTTP 429, code 50011, no Retry-After (the client waits its own
    documented 2 s window)."""
    message = "Rate limit reached. Please refer to API documentation and throttle requests "
    return _answer(shapes.envelope([], "50011", message + "accordingly."), 429)


def _unavailable() -> Response:
    return _answer(
        shapes.envelope([], "50001", "Service temporarily unavailable. Please try again later."),
        503,
    )
