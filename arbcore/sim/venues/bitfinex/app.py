"""A simulated Bitfinex v2 spot venue: its REST API and public WebSocket, as Starlette routes.

Public REST: ``/v2/platform/status``, ``/v2/conf/<keys>`` (``pub:list:pair:exchange``,
``pub:info:pair``, ``pub:list:currency``; several keys comma-separated), ``/v2/book/<symbol>/P0``
(``len`` 1, 25 or 100; no sequence id, as on Bitfinex). Authenticated: POSTs with a JSON body,
``bfx-apikey``, ``bfx-nonce`` and ``bfx-signature`` checked by
``arbcore.exchanges.bitfinex.auth.verify``, nonces increasing per key: ``/v2/auth/w/order/submit``
(``EXCHANGE LIMIT``/``IOC``/``MARKET``, flag 4096 post-only, an integer ``cid``), ``.../cancel``
(by ``id``, or ``cid`` with its UTC ``cid_date``), ``/v2/auth/r/orders(/<symbol>)`` and
``.../hist``, ``/v2/auth/r/wallets``, ``/v2/auth/r/summary``. Refusals are ``["error", CODE,
"text"]`` with HTTP 500: 10100 ``apikey: invalid`` (key or signature), 10114 ``nonce: small``,
10020 ``<field>: invalid``, 10001 ``Invalid order: not enough exchange balance for ...`` /
``minimum size for ...`` / ``Order not found.``; ``{"error":"ERR_RATE_LIMIT"}`` (HTTP 429) and
11000 (not ready) when those faults strike. As on Bitfinex a repeated ``cid`` is not refused:
it places another order (arbcore's client looks a placement up before it sends it again).

WebSocket ``/ws/2``: ``info`` on connect, ``conf`` (flags kept per connection: SEQ_ALL 65536
numbers every array frame of the connection, OB_CHECKSUM 131072 sends ``[chanId,"cs",crc]``
after the updates of each change), ``subscribe`` to ``book`` (P0, F0, len 1/25/100/250) answered
``subscribed`` with a new ``chanId`` and the snapshot, then one ``[chanId,[price,count,amount]]``
per changed level at each step (levels leaving the top ``len`` deleted), ``unsubscribe`` by
``chanId``, ``[chanId,"hb"]`` for a channel idle 15 s, ``ping``/``pong``;
:meth:`BitfinexServer.announce` sends the info codes 20051/20060/20061.
"""

from __future__ import annotations

import datetime
import itertools
import json
import secrets
import uuid
import weakref
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from arbcore.exchanges.bitfinex import auth, constants
from arbcore.exchanges.credentials import Credentials
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
    order_faults,
    place_or_void,
    read_decimal,
    serve_socket,
)
from arbcore.sim.stream import Outgoing, StreamHub, Subscriber
from arbcore.sim.venues.bitfinex import shapes
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import round_to_step

__all__ = ["BitfinexServer"]

WS_PATH: Final = "/ws/2"
HEARTBEAT_NS: Final = int(constants.HEARTBEAT_INTERVAL_S * 1e9)
BOOK_LENGTHS: Final = tuple(int(length) for length in constants.BOOK_LENGTHS)
DEFAULT_LENGTH: Final = 25
REST_LENGTHS: Final = (1, 25, 100)
HISTORY_DEFAULT: Final = 25
HISTORY_MAX: Final = 2500
#: Bitfinex's order ids are large integers; the simulator's count from here
FIRST_ORDER_ID: Final = 120_000_000_001
FIRST_CHANNEL_ID: Final = 17_082
#: what the API takes: amounts and prices with at most 8 decimals
WIRE_DECIMALS: Final = 8
INFO_TEXTS: Final = {
    constants.INFO_RECONNECT: "Stopping. Please try to reconnect",
    constants.INFO_MAINTENANCE_START: "Maintenance start",
    constants.INFO_MAINTENANCE_END: "Maintenance end",
}
_ORDER_TYPES: Final = {
    "EXCHANGE LIMIT": (OrderType.LIMIT, TimeInForce.GTC),
    "EXCHANGE IOC": (OrderType.LIMIT, TimeInForce.IOC),
    "EXCHANGE FOK": (OrderType.LIMIT, TimeInForce.FOK),
    "EXCHANGE MARKET": (OrderType.MARKET, TimeInForce.IOC),
}
_ERROR_STATUS: Final = 500
_INVALID_KEY: Final = (10100, "apikey: invalid")
_ORDER_NOT_FOUND: Final = (10001, "Order not found.")
_CONF_KEYS: Final = ("pub:list:pair:exchange", "pub:info:pair", "pub:list:currency")


def _answer(body: object, status: int = 200) -> Response:
    return Response(shapes.dumps(body), status, media_type="application/json")


def _refuse(code: int, text: str) -> Refusal:
    return Refusal(_answer(shapes.error(code, text), _ERROR_STATUS))


def _invalid(field: str) -> Refusal:
    return _refuse(10020, f"{field}: invalid")


def _rate_limited(config: FaultConfig) -> Response:
    """The documented throttle answer; Bitfinex sends no Retry-After (the IP is blocked 60 s)."""
    return _answer({"error": "ERR_RATE_LIMIT"}, 429)


def _not_ready() -> Response:
    return _answer(shapes.error(11000, "ready: invalid"), _ERROR_STATUS)


class _Channel:
    """One symbol's ``book`` at one ``len``, as last published (the same on every connection)."""

    def __init__(self, instrument: Instrument, length: int) -> None:
        self.instrument = instrument
        self.length = length
        self.view = DepthView(length)
        self.stream = f"book:{instrument.native_symbol}:{length}"


@attrs.define
class _Subscription:
    chan_id: int
    channel: _Channel
    last_ns: int


@attrs.define
class _Connection:
    """What Bitfinex keeps per connection: its flags, sequence and channels."""

    flags: int = 0
    seq: int = 0
    by_id: dict[int, _Subscription] = attrs.Factory(dict)
    by_stream: dict[str, _Subscription] = attrs.Factory(dict)


@attrs.define
class _Placed:
    """What Bitfinex says of an order beyond the engine."""

    symbol: str
    engine_id: int
    cid: int | None
    flags: int
    voided: bool  # a post-only order cancelled because it would have taken


class BitfinexServer:
    """One simulated Bitfinex venue: the ASGI app and its publisher (module docstring)."""

    ws_path = WS_PATH

    def __init__(self, venue: SimVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.hub = StreamHub(venue.name, faults)
        self.channels = {(i.symbol, length): _Channel(i, length)
                         for i in venue.instruments for length in BOOK_LENGTHS}  # fmt: skip
        self._connections: weakref.WeakKeyDictionary[Subscriber, _Connection] = (
            weakref.WeakKeyDictionary()
        )
        self._chan_ids = itertools.count(FIRST_CHANNEL_ID)
        self._order_ids = itertools.count(FIRST_ORDER_ID)
        self._orders: dict[tuple[str, int], _Placed] = {}  # (account, order id) -> what it is
        self._nonces: dict[str, int] = {}
        guard = RestGuard(venue.name, faults, _rate_limited, _not_ready)
        post = ["POST"]
        routes: list[Route | WebSocketRoute] = [
            guard.route("/v2/platform/status", self._status, ["GET"]),
            guard.route(constants.CONF_PATH + "{keys}", self._conf, ["GET"]),
            guard.route(constants.REST_BOOK_PATH + "{symbol}/{prec}", self._book, ["GET"]),
            guard.route(constants.SUBMIT_ORDER_PATH, self._submit, post, placing="POST"),
            guard.route(constants.CANCEL_ORDER_PATH, self._cancel, post),
            guard.route(constants.ACTIVE_ORDERS_PATH, self._orders_of, post),
            guard.route(constants.ACTIVE_ORDERS_PATH + "/{symbol}", self._orders_of, post),
            guard.route(constants.ACTIVE_ORDERS_PATH + "/{symbol}/hist", self._history, post),
            guard.route(constants.WALLETS_PATH, self._wallets, post),
            guard.route(constants.SUMMARY_PATH, self._summary, post),
            WebSocketRoute(WS_PATH, self._socket),
        ]
        self.app = Starlette(routes=routes)

    # -- publishing -------------------------------------------------------------------------------

    def publish(self) -> None:
        """The changed levels of every subscribed book (removals first, so a client's book
        never crosses between two frames), a checksum behind them, then the heartbeats."""
        now_ns = self.venue.clock()
        changed = {instrument.symbol for instrument, _ in self.venue.drain()}
        for (symbol, _), channel in self.channels.items():
            if symbol not in changed:
                continue
            levels = channel.view.update(self.venue.engines[symbol])
            if not levels or not listening(self.hub, channel.stream):
                continue
            levels.sort(key=lambda level: level[2] != 0)
            checksum = self._checksum(channel)
            for subscriber, connection, subscription in self._subscribed(channel.stream):
                for side, price, size in levels:
                    frame = shapes.book_update(subscription.chan_id, channel.instrument, side,
                                               price, size)  # fmt: skip
                    self._push(subscriber, connection, frame, channel.stream, is_delta=True)
                if connection.flags & constants.FLAG_OB_CHECKSUM:
                    frame = shapes.checksum_frame(subscription.chan_id, checksum)
                    self._push(subscriber, connection, frame, channel.stream)
                subscription.last_ns = now_ns
        self._heartbeats(now_ns)

    def _heartbeats(self, now_ns: int) -> None:
        """``[chanId, "hb"]`` for every channel that sent nothing for 15 s."""
        for subscriber in list(self.hub.subscribers):
            state = self._connections.get(subscriber)
            for subscription in state.by_id.values() if state is not None else ():
                if now_ns - subscription.last_ns >= HEARTBEAT_NS:
                    assert state is not None
                    self._push(subscriber, state, shapes.heartbeat(subscription.chan_id))
                    subscription.last_ns = now_ns

    def announce(self, code: int) -> None:
        """An info event to every connection: 20051 (the server stops: reconnect), 20060 and
        20061 (maintenance starts and ends)."""
        text = shapes.dumps({"event": "info", "code": code, "msg": INFO_TEXTS[code]})
        for subscriber in list(self.hub.subscribers):
            self.hub.reply(subscriber, text)

    def _checksum(self, channel: _Channel) -> int:
        """The top 25's checksum; its complement when the CHECKSUM fault strikes."""
        depth = constants.CHECKSUM_DEPTH
        value = shapes.checksum(channel.instrument, channel.view.levels(BID, depth),
                                channel.view.levels(ASK, depth))  # fmt: skip
        if self.faults.strikes(Fault.CHECKSUM, self.venue.name):
            return ~value
        return value

    def _subscribed(self, stream: str) -> list[tuple[Subscriber, _Connection, _Subscription]]:
        found = []
        for subscriber in list(self.hub.subscribers):
            connection = self._connections.get(subscriber)
            subscription = connection.by_stream.get(stream) if connection else None
            if connection is not None and subscription is not None:
                found.append((subscriber, connection, subscription))
        return found

    @staticmethod
    def _push(
        subscriber: Subscriber,
        connection: _Connection,
        frame: list[Any],
        stream: str | None = None,
        *,
        is_delta: bool = False,
    ) -> None:
        """Queue an array frame, numbered with the connection's next sequence (SEQ_ALL) when
        it is queued: a frame the GAP fault loses leaves a hole in the numbers."""
        if connection.flags & constants.FLAG_SEQ_ALL:
            connection.seq += 1
            frame = [*frame, connection.seq]
        subscriber.queue.put_nowait(Outgoing(shapes.dumps(frame), stream, is_delta))

    # -- WebSocket --------------------------------------------------------------------------------

    async def _socket(self, websocket: WebSocket) -> None:
        info = {"event": "info", "version": 2, "serverId": str(uuid.UUID(secrets.token_hex(16))),
                "platform": {"status": 1}}  # fmt: skip
        await serve_socket(self.hub, websocket, self.answer, greeting=[shapes.dumps(info)])

    def answer(self, subscriber: Subscriber, text: str) -> None:
        """What Bitfinex does with a client's frame: ``ping``, ``conf``, ``subscribe`` (the
        snapshot queued behind its ``subscribed``), ``unsubscribe``."""
        connection = self._connections.setdefault(subscriber, _Connection())
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._event(subscriber, "error", msg="event: invalid", code=10000)
            return
        name = message.get("event")
        if name == "ping":
            self._event(subscriber, "pong", ts=self._now_ms(), cid=message.get("cid"))
        elif name == "conf":
            flags = message.get("flags")
            if isinstance(flags, bool) or not isinstance(flags, int) or flags < 0:
                self._event(subscriber, "error", msg="conf: invalid", code=10050)
                return
            connection.flags = flags
            self._event(subscriber, "conf", status="OK", flags=flags)
        elif name == "subscribe":
            self._subscribe(subscriber, connection, message)
        elif name == "unsubscribe":
            subscription = connection.by_id.pop(message.get("chanId"), None)  # type: ignore[arg-type]
            if subscription is None:
                self._event(subscriber, "error", msg="unsubscribe: invalid", code=10400)
                return
            connection.by_stream.pop(subscription.channel.stream, None)
            subscriber.streams.discard(subscription.channel.stream)
            self._event(subscriber, "unsubscribed", status="OK", chanId=subscription.chan_id)
        else:
            self._event(subscriber, "error", msg="event: invalid", code=10000)

    def _subscribe(
        self, subscriber: Subscriber, connection: _Connection, message: dict[str, Any]
    ) -> None:
        request = {key: message[key] for key in ("channel", "symbol", "prec", "freq", "len",
                                                 "subId") if key in message}  # fmt: skip
        instrument = self._listed(message.get("symbol"))
        length = str(message.get("len", DEFAULT_LENGTH))
        channel = None
        if instrument is not None and length.isdigit():
            channel = self.channels.get((instrument.symbol, int(length)))
        if message.get("channel") != constants.BOOK_CHANNEL:
            problem = (10302, "channel: unknown")
        elif instrument is None:
            problem = (10300, "symbol: invalid")
        elif message.get("prec", constants.PRECISION) != constants.PRECISION:
            problem = (10300, "prec: invalid")
        elif message.get("freq", constants.FREQUENCY) not in (constants.FREQUENCY, "F1"):
            problem = (10300, "freq: invalid")
        elif channel is None:
            problem = (10300, "len: invalid")
        elif channel.stream in connection.by_stream:
            problem = (10301, "subscribe: dup")
        elif len(connection.by_id) >= constants.MAX_SUBSCRIPTIONS:
            problem = (10305, "subscribe: limit")
        else:
            problem = None
        if problem is not None or channel is None or instrument is None:
            code, msg = problem or (10300, "subscribe: invalid")
            self._event(subscriber, "error", msg=msg, code=code, **request)
            return
        chan_id = next(self._chan_ids)
        subscription = _Subscription(chan_id, channel, self.venue.clock())
        connection.by_id[chan_id] = connection.by_stream[channel.stream] = subscription
        subscriber.streams.add(channel.stream)
        head = {"channel": constants.BOOK_CHANNEL, "chanId": chan_id,
                "symbol": instrument.native_symbol, "prec": constants.PRECISION,
                "freq": constants.FREQUENCY, "len": str(channel.length)}  # fmt: skip
        if "subId" in message:
            head["subId"] = message["subId"]
        self._event(subscriber, "subscribed", **head, pair=shapes.pair_name(instrument))
        view = channel.view
        frame = shapes.snapshot(chan_id, instrument, view.levels(BID), view.levels(ASK))
        self._push(subscriber, connection, frame, channel.stream)

    def _event(self, subscriber: Subscriber, name: str, **fields: Any) -> None:
        self.hub.reply(subscriber, shapes.dumps({"event": name, **fields}))

    # -- REST: public -----------------------------------------------------------------------------

    async def _status(self, request: Request) -> Response:
        return _answer([1])

    async def _conf(self, request: Request) -> Response:
        instruments = self.venue.instruments
        known: dict[str, list[Any]] = {
            "pub:list:pair:exchange": [shapes.pair_name(i) for i in instruments],
            "pub:info:pair": [shapes.pair_info(i) for i in instruments],
            "pub:list:currency": sorted(
                {shapes.asset_code(asset) for i in instruments for asset in (i.base, i.quote)}
            ),
        }
        keys = request.path_params["keys"].split(",")
        return _answer([known.get(key) for key in keys])

    async def _book(self, request: Request) -> Response:
        instrument = self._instrument(request.path_params["symbol"])
        if request.path_params["prec"] != constants.PRECISION:
            raise _invalid("prec")
        length = request.query_params.get("len", str(DEFAULT_LENGTH))
        if not length.isdigit() or int(length) not in REST_LENGTHS:
            raise _invalid("len")
        engine = self.venue.engines[instrument.symbol]
        depth = int(length)
        return _answer(shapes.rest_book(instrument, engine.levels(BID, depth),
                                        engine.levels(ASK, depth)))  # fmt: skip

    # -- REST: authenticated ----------------------------------------------------------------------

    async def _signed(self, request: Request) -> tuple[AccountConfig, dict[str, Any]]:
        """Bitfinex's checks of an authenticated call: the key, the signature
        (``bitfinex.auth.verify``), a nonce above the key's last; the account and the body."""
        headers = request.headers
        account = self.venue.account(headers.get(auth.KEY_HEADER, ""))
        if account is None:
            raise _refuse(*_INVALID_KEY)
        body = (await request.body()).decode()
        received = HttpRequest(
            method=request.method, path=request.url.path, body=body,
            params=parse_qsl(request.url.query, keep_blank_values=True),
            headers=[(name, headers[name]) for name in auth.AUTH_HEADERS if name in headers],
        )  # fmt: skip
        if not auth.verify(received, Credentials(account.api_key, account.secret)):
            raise _refuse(*_INVALID_KEY)
        nonce = headers.get(auth.NONCE_HEADER, "")
        if not nonce.isdigit():
            raise _refuse(10114, "nonce: invalid")
        if int(nonce) <= self._nonces.get(account.api_key, 0):
            raise _refuse(10114, "nonce: small")
        self._nonces[account.api_key] = int(nonce)
        try:
            fields = json.loads(body) if body else {}
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise _invalid("body")
        return account, fields

    async def _submit(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        kind = _ORDER_TYPES.get(fields.get("type"))  # type: ignore[arg-type]
        if kind is None:
            raise _invalid("type")
        order_type, time_in_force = kind
        instrument = self._instrument(fields.get("symbol"))
        side, size = _amount(fields.get("amount"), instrument)
        price = None if order_type is OrderType.MARKET else _price(fields.get("price"),
                                                                   instrument)  # fmt: skip
        cid = fields.get("cid")
        if cid is not None and (isinstance(cid, bool) or not isinstance(cid, int)
                                or not 0 < cid < constants.CID_LIMIT):  # fmt: skip
            raise _invalid("cid")
        flags = fields.get("flags", 0)
        if flags not in (0, constants.FLAG_POST_ONLY) or (flags and order_type is OrderType.MARKET):
            raise _invalid("flags")
        if flags:
            time_in_force = TimeInForce.POST_ONLY
        name = self.venue.name
        if self.faults.strikes(Fault.REJECT, name):
            raise _refuse(10001, "Invalid order: refused by the venue (injected fault)")
        engine = self.venue.engines[instrument.symbol]
        struck = order_faults(self.faults, name, instrument, size)
        placement, voided = place_or_void(
            engine, account.name, side, order_type, size, price_raw=price,
            time_in_force=time_in_force, client_order_id=None,
            fill_limit_raw=struck.fill_limit_raw, hold_ns=struck.hold_ns,
        )  # fmt: skip
        order = placement.order
        if order is None:
            assert placement.rejection is not None
            raise self._rejection(placement.rejection, engine, side, size, price)
        order_id = next(self._order_ids)
        placed = _Placed(instrument.symbol, order.order_id, cid, flags, voided)
        self._orders[account.name, order_id] = placed
        if self.faults.strikes(Fault.SERVER_ERROR, name):  # accepted, but the answer is lost
            return _not_ready()
        data = [self._array(engine, order, order_id, placed, as_submitted=True)]
        text = "Submitting 1 orders."
        return _answer(shapes.notification(self._now_ms(), "on-req", data, "SUCCESS", text))

    async def _cancel(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        order_id, cid = fields.get("id"), fields.get("cid")
        if order_id is not None:
            found = self._by_id(account, order_id)
        elif cid is not None:
            found = self._by_cid(account, cid, fields.get("cid_date"))
        else:
            raise _invalid("id")
        if found is None or found[2].status.is_final:
            raise _refuse(*_ORDER_NOT_FOUND)
        venue_id, placed, order = found
        engine = self.venue.engines[placed.symbol]
        engine.cancel(account.name, order_id=order.order_id)
        text = f"Submitted for cancellation; waiting for confirmation (ID: {venue_id})."
        data = self._array(engine, order, venue_id, placed)
        return _answer(shapes.notification(self._now_ms(), "oc-req", data, "SUCCESS", text))

    async def _orders_of(self, request: Request) -> Response:
        """Active orders (of one symbol), oldest first; ``id``: only these."""
        account, fields = await self._signed(request)
        symbol = request.path_params.get("symbol")
        if symbol == "hist":  # /v2/auth/r/orders/hist: every symbol's history
            return self._closed(account, fields, None)
        wanted = self._ids(fields)
        found = [(venue_id, placed, order)
                 for venue_id, placed, order in self._account_orders(account, symbol)
                 if not order.status.is_final
                 and (wanted is None or venue_id in wanted)]  # fmt: skip
        return _answer([self._array(self.venue.engines[placed.symbol], order, venue_id, placed)
                        for venue_id, placed, order in found])  # fmt: skip

    async def _history(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        return self._closed(account, fields, request.path_params["symbol"])

    def _closed(self, account: AccountConfig, fields: Mapping[str, Any],
                symbol: str | None) -> Response:  # fmt: skip
        """Closed orders (of one symbol), newest first: ``id``, ``start``/``end`` (creation,
        ms), ``limit`` (25, at most 2500)."""
        limit = fields.get("limit", HISTORY_DEFAULT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= HISTORY_MAX:
            raise _invalid("limit")
        wanted = self._ids(fields)
        start, end = fields.get("start"), fields.get("end")
        found = []
        for venue_id, placed, order in reversed(self._account_orders(account, symbol)):
            created = order.ts_created_ns // 1_000_000
            if not order.status.is_final or (wanted is not None and venue_id not in wanted):
                continue
            if (isinstance(start, int) and created < start) or (
                isinstance(end, int) and created > end
            ):
                continue
            found.append(self._array(self.venue.engines[placed.symbol], order, venue_id, placed))
        return _answer(found[:limit])

    async def _wallets(self, request: Request) -> Response:
        account, _ = await self._signed(request)
        held = [b for b in self.venue.ledger.balances(account.name) if b.free or b.locked]
        return _answer(shapes.wallets(held))

    async def _summary(self, request: Request) -> Response:
        await self._signed(request)
        engine = next(iter(self.venue.engines.values()))
        return _answer(shapes.summary(engine.maker_fee, engine.taker_fee))

    # -- helpers ----------------------------------------------------------------------------------

    def _listed(self, native: object) -> Instrument | None:
        """The instrument of a native symbol, spelled exactly (``tBTCUST``), or None."""
        instrument = self.venue.symbols.get(native) if isinstance(native, str) else None
        return instrument if instrument is not None and instrument.native_symbol == native else None

    def _instrument(self, native: object) -> Instrument:
        instrument = self._listed(native)
        if instrument is None:
            raise _invalid("symbol")
        return instrument

    def _rejection(self, rejection: Rejection, engine: MatchingEngine, side: OrderSide,
                   size: int, price: int | None) -> Refusal:  # fmt: skip
        """Bitfinex's text for an order the engine refused."""
        instrument = engine.instrument
        amount = shapes.number(size, instrument.size_decimals).text
        pair = shapes.pair_name(instrument)
        if rejection is Rejection.INSUFFICIENT_FUNDS:
            if price is None:
                price = engine.best(ASK if side is OrderSide.BUY else BID) or 0
            at = shapes.number(price, instrument.price_decimals).text
            return _refuse(10001, f"Invalid order: not enough exchange balance for {amount} "
                                  f"{pair} at {at}")  # fmt: skip
        if rejection is Rejection.LOT_SIZE:
            base, quote = shapes.asset_code(instrument.base), shapes.asset_code(instrument.quote)
            minimum = shapes.number(instrument.min_qty, instrument.size_decimals).text
            return _refuse(10001, f"Invalid order: minimum size for {base}/{quote} is {minimum}")
        return _invalid("price")

    def _account_orders(
        self, account: AccountConfig, symbol: str | None
    ) -> list[tuple[int, _Placed, SimOrder]]:
        """The account's orders placed here (of one native symbol), oldest first."""
        instrument = None if symbol is None else self._instrument(symbol)
        found = []
        for (name, venue_id), placed in self._orders.items():
            if name != account.name or (instrument and placed.symbol != instrument.symbol):
                continue
            order = self.venue.engines[placed.symbol].order(account.name,
                                                            order_id=placed.engine_id)  # fmt: skip
            if order is not None:
                found.append((venue_id, placed, order))
        return found

    def _by_id(self, account: AccountConfig, order_id: object
               ) -> tuple[int, _Placed, SimOrder] | None:  # fmt: skip
        placed = self._orders.get((account.name, order_id)) if isinstance(order_id, int) else None
        if placed is None:
            return None
        order = self.venue.engines[placed.symbol].order(account.name, order_id=placed.engine_id)
        assert isinstance(order_id, int)
        return None if order is None else (order_id, placed, order)

    def _by_cid(self, account: AccountConfig, cid: object, cid_date: object
                ) -> tuple[int, _Placed, SimOrder] | None:  # fmt: skip
        """The account's newest order with this ``cid`` created on ``cid_date`` (UTC)."""
        if not isinstance(cid_date, str):
            raise _invalid("cid_date")
        for venue_id, placed, order in reversed(self._account_orders(account, None)):
            day = datetime.datetime.fromtimestamp(order.ts_created_ns / 1e9, datetime.UTC)
            if placed.cid == cid and day.strftime("%Y-%m-%d") == cid_date:
                return venue_id, placed, order
        return None

    @staticmethod
    def _ids(fields: Mapping[str, Any]) -> set[int] | None:
        ids = fields.get("id")
        if ids is None or ids == []:  # no list, or an empty one: every order
            return None
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise _invalid("id")
        return set(ids)

    def _array(self, engine: MatchingEngine, order: SimOrder, venue_id: int, placed: _Placed,
               *, as_submitted: bool = False) -> list[Any]:  # fmt: skip
        instrument = engine.instrument
        return shapes.order_array(
            instrument, order, self.venue.ledger.decimals(instrument.quote), order_id=venue_id,
            cid=placed.cid, flags=placed.flags, voided=placed.voided, as_submitted=as_submitted,
        )  # fmt: skip

    def _now_ms(self) -> int:
        return self.venue.clock() // 1_000_000


def _amount(value: object, instrument: Instrument) -> tuple[OrderSide, int]:
    """The signed ``amount`` (decimal text): its side and size, on the market's amount grid."""
    if not isinstance(value, str):
        raise _invalid("amount")
    side = OrderSide.SELL if value.startswith("-") else OrderSide.BUY
    size = read_decimal(value.removeprefix("-"), instrument.size_decimals)
    if isinstance(size, BadDecimal) or size == 0:
        raise _invalid("amount")
    return side, size


def _price(value: object, instrument: Instrument) -> int:
    """The ``price`` as Bitfinex takes it: up to 8 decimals, truncated to 5 significant digits
    (and to the simulator's tick where that is coarser)."""
    if not isinstance(value, str):
        raise _invalid("price")
    raw = read_decimal(value, WIRE_DECIMALS)
    if isinstance(raw, BadDecimal) or raw == 0:
        raise _invalid("price")
    scale: int = 10 ** (WIRE_DECIMALS - instrument.price_decimals)
    significant: int = 10 ** max(0, len(str(raw)) - constants.PRICE_SIGNIFICANT_DIGITS)
    truncated: int = round_to_step(raw, max(significant, instrument.tick_size * scale), "down")
    if truncated == 0:
        raise _invalid("price")
    return truncated // scale
