"""A simulated Kraken spot venue: its REST API and WebSocket v1, as Starlette routes.

Public REST: ``/0/public/Time``, ``/0/public/AssetPairs`` (``pair=`` by altname, canonical
name or wsname), ``/0/public/Depth`` (``count`` 1..500; no sequence id, as on Kraken).
Private: form-encoded POSTs to ``/0/private/<Method>`` with ``nonce`` first, ``API-Key`` and
``API-Sign`` checked by ``arbcore.exchanges.kraken.auth.verify`` and nonces required to
increase per key: ``AddOrder``, ``CancelOrder``, ``OpenOrders``, ``ClosedOrders``,
``QueryOrders``, ``BalanceEx``, ``TradeVolume``. Every answer is ``{"error", "result"}``, HTTP
200 even for refusals (``EAPI:Invalid key|signature|nonce``, ``EOrder:Insufficient funds``,
``EOrder:Order minimum not met``, ``EOrder:Cost minimum not met``, ``EOrder:Post only order``,
``EOrder:Unknown order``, ``EQuery:Unknown asset pair``, ``EGeneral:Invalid arguments:<field>``);
``EAPI:Rate limit exceeded``, ``EService:Unavailable`` (503) and ``EGeneral:Internal error``
(500, a placement whose order stands) when those faults strike.

WebSocket v1 at ``/``: ``systemStatus`` on connect; ``subscribe``/``unsubscribe`` of ``book``
(depth 10, 25, 100, 500, 1000) answered by a ``subscriptionStatus`` per pair with its
``channelID``; a snapshot (``as``/``bs``) follows, then updates (``a``/``b``, CRC32 ``c`` of
the top 10) at every step that changed the subscribed depth. As on Kraken, a level pushed below
the depth is not deleted on the wire (the client truncates) and a level that rises into it is
sent again flagged ``"r"``. ``ping`` is answered ``pong``; a subscribed connection without
data for a second gets ``{"event":"heartbeat"}``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import weakref
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.kraken import auth, constants
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
    read_decimal,
    serve_socket,
)
from arbcore.sim.stream import Outgoing, StreamHub, Subscriber
from arbcore.sim.venues.kraken import shapes
from arbcore_ext.book import ASK, BID

__all__ = ["KrakenServer", "private_key"]

WS_PATH: Final = "/"
HEARTBEAT_NS: Final = int(constants.HEARTBEAT_INTERVAL_S * 1e9)
REST_DEPTH_MAX: Final = 500
REST_DEPTH_DEFAULT: Final = 100
CLOSED_PAGE: Final = 50
_FIRST_CHANNEL_ID: Final = 10001
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")
_INVALID_KEY: Final = "EAPI:Invalid key"
_INVALID_SIGNATURE: Final = "EAPI:Invalid signature"
_INVALID_NONCE: Final = "EAPI:Invalid nonce"
_UNKNOWN_PAIR: Final = "EQuery:Unknown asset pair"
_UNKNOWN_ORDER: Final = "EOrder:Unknown order"
_ORDER_TYPES: Final = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}
_KNOWN_FLAGS: Final = frozenset({"post", "fcib", "fciq", "nompp"})
#: why a finished order ended, as ``reason`` says
_USER_CANCEL: Final = "User requested"
_IOC_REST: Final = "Insufficient liquidity"


def private_key(account: AccountConfig) -> str:
    """The account's Kraken private key: Kraken's secrets are Base64, so the simulator's is the
    Base64 of the account's secret (the default account: ``YXJiY29yZS1zaW0tc2VjcmV0``)."""
    return base64.b64encode(account.secret.encode()).decode()


def _answer(body: object, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def _refuse(*errors: str) -> Refusal:
    """Kraken refuses with HTTP 200 and its error strings."""
    return Refusal(_answer(shapes.failure(*errors)))


def _invalid(field: str) -> Refusal:
    return _refuse(f"EGeneral:Invalid arguments:{field}")


def _rate_limited(config: FaultConfig) -> Response:
    return _answer(shapes.failure("EAPI:Rate limit exceeded"))


def _unavailable() -> Response:
    return _answer(shapes.failure("EService:Unavailable"), 503)


class _Channel:
    """One pair's ``book-<depth>`` as last published (the same on every connection)."""

    def __init__(self, channel_id: int, instrument: Instrument, depth: int) -> None:
        self.id = channel_id
        self.depth = depth
        self.view = DepthView(depth)
        self.stream = f"book-{depth}:{instrument.native_symbol}"


class KrakenServer:
    """One simulated Kraken venue: the ASGI app and its publisher (module docstring)."""

    ws_path = WS_PATH

    def __init__(self, venue: SimVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.hub = StreamHub(venue.name, faults)
        ids = itertools.count(_FIRST_CHANNEL_ID)
        self.channels = {
            (i.symbol, depth): _Channel(next(ids), i, depth)
            for i in venue.instruments
            for depth in constants.BOOK_DEPTHS
        }
        self._pairs: dict[str, Instrument] = {}
        for i in venue.instruments:
            for name in (i.native_symbol, i.native_symbol.replace("/", ""), shapes.pair_key(i)):
                self._pairs[name] = i
        self._index = {i.symbol: at for at, i in enumerate(venue.instruments)}
        self._txids: dict[str, tuple[str, int]] = {}  # txid -> (symbol, order id)
        self._placed: list[tuple[str, str, int]] = []  # (account, symbol, order id), in order
        self._userrefs: dict[tuple[str, int], int] = {}
        self._anonymous: set[tuple[str, int]] = set()  # placed without a cl_ord_id
        self._cancelled: set[tuple[str, int]] = set()  # cancelled by the client
        self._nonces: dict[str, int] = {}
        self._last_data: weakref.WeakKeyDictionary[Subscriber, int] = weakref.WeakKeyDictionary()
        guard = RestGuard(venue.name, faults, _rate_limited, _unavailable)
        private = ["POST"]
        routes: list[Route | WebSocketRoute] = [
            guard.route("/0/public/Time", self._time, ["GET"]),
            guard.route(constants.INSTRUMENTS_PATH, self._asset_pairs, ["GET"]),
            guard.route("/0/public/Depth", self._depth, ["GET"]),
            guard.route(constants.ADD_ORDER_PATH, self._add_order, private, placing="POST"),
            guard.route(constants.CANCEL_ORDER_PATH, self._cancel, private),
            guard.route(constants.OPEN_ORDERS_PATH, self._open_orders, private),
            guard.route(constants.CLOSED_ORDERS_PATH, self._closed_orders, private),
            guard.route(constants.QUERY_ORDERS_PATH, self._query_orders, private),
            guard.route(constants.BALANCE_PATH, self._balances, private),
            guard.route(constants.TRADE_VOLUME_PATH, self._trade_volume, private),
            WebSocketRoute(WS_PATH, self._socket),
        ]
        self.app = Starlette(routes=routes)

    # -- publishing -------------------------------------------------------------------------------

    def publish(self) -> None:
        """An update per subscribed ``book-<depth>`` that changed, then the heartbeats."""
        now_ns = self.venue.clock()
        changed = {instrument.symbol: change for instrument, change in self.venue.drain()}
        for (symbol, _), channel in self.channels.items():
            change = changed.get(symbol)
            if change is None:
                continue
            engine = self.venue.engines[symbol]
            before = [{p for p, _ in channel.view.levels(side)} for side in (BID, ASK)]
            levels = channel.view.update(engine)
            if not levels or not listening(self.hub, channel.stream):
                continue
            touched = {(side, price) for side, price, _ in change.levels}
            present = [{p for p, _ in engine.levels(side)} for side in (BID, ASK)]
            rows: list[list[shapes.Row]] = [[], []]
            for side, price, size in levels:
                if size == 0 and price in present[side]:
                    continue  # pushed below the depth: Kraken sends nothing, the client truncates
                risen = size > 0 and price not in before[side] and (side, price) not in touched
                rows[side].append((price, size, risen))
            if not (rows[BID] or rows[ASK]):
                continue
            text = shapes.book_update(
                channel.id, engine.instrument, channel.depth, rows[BID], rows[ASK],
                self._checksum(engine.instrument, channel), now_ns,
            )  # fmt: skip
            self.hub.publish(channel.stream, text, is_delta=True)
            self._touch(channel.stream, now_ns)
        for subscriber in self.hub.subscribers:
            if subscriber.streams and now_ns - self._last_data.get(subscriber, 0) >= HEARTBEAT_NS:
                self.hub.reply(subscriber, shapes.event("heartbeat"))
                self._last_data[subscriber] = now_ns

    def _checksum(self, instrument: Instrument, channel: _Channel) -> int:
        """The top 10's CRC32; its complement when the CHECKSUM fault strikes."""
        depth = constants.CHECKSUM_LEVELS
        value = shapes.checksum(instrument, channel.view.levels(BID, depth),
                                channel.view.levels(ASK, depth))  # fmt: skip
        if self.faults.strikes(Fault.CHECKSUM, self.venue.name):
            return value ^ 0xFFFFFFFF
        return value

    def _touch(self, stream: str, now_ns: int) -> None:
        for subscriber in self.hub.subscribers:
            if stream in subscriber.streams:
                self._last_data[subscriber] = now_ns

    # -- WebSocket --------------------------------------------------------------------------------

    async def _socket(self, websocket: WebSocket) -> None:
        status = shapes.event("systemStatus", connectionID=int(secrets.token_hex(7), 16),
                              status="online", version="1.9.5")  # fmt: skip
        await serve_socket(self.hub, websocket, self.answer, greeting=[status])

    def answer(self, subscriber: Subscriber, text: str) -> None:
        """What Kraken does with a client's frame: ``ping`` -> ``pong``; (un)subscribe of
        ``book`` -> a ``subscriptionStatus`` per pair (a snapshot behind a subscribe)."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.hub.reply(subscriber, shapes.event("error", errorMessage="Malformed request"))
            return
        name, reqid = message.get("event"), message.get("reqid")
        if name == "ping":
            self.hub.reply(subscriber, shapes.event("pong", reqid))
        elif name in ("subscribe", "unsubscribe"):
            self._subscription(subscriber, name, message, reqid)
        else:
            self.hub.reply(subscriber, shapes.event("error", reqid,
                                                    errorMessage="Unsupported event"))  # fmt: skip

    def _subscription(
        self, subscriber: Subscriber, op: str, message: dict[str, Any], reqid: object
    ) -> None:
        pairs, subscription = message.get("pair"), message.get("subscription")
        if not isinstance(subscription, dict):
            malformed = "Subscription field must be an Object"
            self.hub.reply(subscriber, shapes.event("error", reqid, errorMessage=malformed))
            return
        if not (isinstance(pairs, list) and pairs and all(isinstance(p, str) for p in pairs)):
            self.hub.reply(
                subscriber, shapes.event("error", reqid, errorMessage="Pair field must be an array")
            )
            return
        depth = subscription.get("depth", constants.DEFAULT_BOOK_DEPTH)
        stated = {"depth": depth, "name": subscription.get("name")}
        for pair in pairs:
            instrument = self.venue.symbols.by_native.get(pair)
            channel = None if instrument is None else self.channels.get((instrument.symbol, depth))
            if stated["name"] != constants.BOOK_CHANNEL:
                problem: str | None = "Subscription name invalid"
            elif isinstance(depth, bool) or depth not in constants.BOOK_DEPTHS:
                problem = "Subscription depth not supported"
            elif channel is None:
                problem = f"Currency pair not supported {pair}"
            elif op == "subscribe" and channel.stream in subscriber.streams:
                problem = "Already subscribed"
            elif op == "unsubscribe" and channel.stream not in subscriber.streams:
                problem = "Subscription Not Found"
            else:
                problem = None
            if problem is not None or channel is None or instrument is None:
                self.hub.reply(subscriber, shapes.event(
                    "subscriptionStatus", reqid, errorMessage=problem, pair=pair,
                    status="error", subscription=stated))  # fmt: skip
                continue
            done = "subscribed" if op == "subscribe" else "unsubscribed"
            self.hub.reply(subscriber, shapes.event(
                "subscriptionStatus", reqid, channelID=channel.id,
                channelName=f"book-{depth}", pair=pair, status=done, subscription=stated,
            ))  # fmt: skip
            if op == "unsubscribe":
                subscriber.streams.discard(channel.stream)
                continue
            subscriber.streams.add(channel.stream)
            now_ns = self.venue.clock()
            snapshot = shapes.book_snapshot(channel.id, instrument, depth,
                                            channel.view.levels(BID), channel.view.levels(ASK),
                                            now_ns)  # fmt: skip
            subscriber.queue.put_nowait(Outgoing(snapshot, channel.stream))
            self._last_data[subscriber] = now_ns

    # -- REST: public -----------------------------------------------------------------------------

    async def _time(self, request: Request) -> Response:
        return _answer(shapes.server_time(self.venue.clock()))

    async def _asset_pairs(self, request: Request) -> Response:
        wanted = [name for name in request.query_params.get("pair", "").split(",") if name]
        instruments = [self._pair(name) for name in wanted] or list(self.venue.instruments)
        return _answer(shapes.envelope({
            shapes.pair_key(i): shapes.asset_pair(i, self._cost_decimals(i)) for i in instruments
        }))  # fmt: skip

    async def _depth(self, request: Request) -> Response:
        params = request.query_params
        instrument = self._pair(params.get("pair") or "")
        count_text = params.get("count", str(REST_DEPTH_DEFAULT))
        if not count_text.isdigit() or not 1 <= int(count_text) <= REST_DEPTH_MAX:
            raise _invalid("count")
        engine = self.venue.engines[instrument.symbol]
        count = int(count_text)
        return _answer(shapes.depth(instrument, engine.levels(BID, count),
                                    engine.levels(ASK, count), self.venue.clock()))  # fmt: skip

    # -- REST: private ----------------------------------------------------------------------------

    async def _signed(self, request: Request) -> tuple[AccountConfig, dict[str, str]]:
        """Kraken's checks of a private call: key, nonce, API-Sign (``kraken.auth.verify``),
        the nonce above the key's last; the account and the form's fields."""
        body = (await request.body()).decode()
        headers = request.headers
        account = self.venue.account(headers.get(auth.KEY_HEADER, ""))
        if account is None:
            raise _refuse(_INVALID_KEY)
        fields = dict(parse_qsl(body, keep_blank_values=True))
        nonce = fields.get(auth.NONCE_PARAM, "")
        if not nonce.isdigit():
            raise _refuse(_INVALID_NONCE)
        received = HttpRequest(
            method=request.method, path=request.url.path, body=body,
            headers=[(name, headers[name]) for name in auth.AUTH_HEADERS if name in headers],
        )  # fmt: skip
        if not auth.verify(received, Credentials(account.api_key, private_key(account))):
            raise _refuse(_INVALID_SIGNATURE)
        if int(nonce) <= self._nonces.get(account.api_key, 0):
            raise _refuse(_INVALID_NONCE)
        self._nonces[account.api_key] = int(nonce)
        return account, fields

    async def _add_order(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        instrument = self._pair(_require(fields, "pair"))
        side = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}.get(_require(fields, "type"))
        if side is None:
            raise _invalid("type")
        order_type = _ORDER_TYPES.get(_require(fields, "ordertype"))
        if order_type is None:
            raise _invalid("ordertype")
        size = read_decimal(_require(fields, "volume"), instrument.size_decimals)
        if isinstance(size, BadDecimal):
            raise _invalid("volume")
        price: int | None = None
        if order_type is OrderType.LIMIT:
            read = read_decimal(_require(fields, "price"), instrument.price_decimals)
            if isinstance(read, BadDecimal):
                raise _invalid("price")
            price = read
        time_in_force = _time_in_force(fields, order_type)
        client_id = fields.get("cl_ord_id") or None
        if client_id is not None and not _valid_client_id(client_id):
            raise _invalid("cl_ord_id")
        userref = fields.get("userref", "0")
        if client_id is not None and "userref" in fields:
            raise _invalid("cl_ord_id and userref")
        if not re.fullmatch(r"-?\d{1,10}", userref):
            raise _invalid("userref")
        descr = shapes.description(instrument, side, order_type, size, price)
        if fields.get("validate") in ("true", "1"):
            return _answer(shapes.envelope({"descr": {"order": descr["order"]}}))
        engine = self.venue.engines[instrument.symbol]
        if client_id is not None:
            known = engine.order(account.name, client_order_id=client_id)
            if known is not None and not known.status.is_final:
                raise _invalid("cl_ord_id already in use")
        name = self.venue.name
        if self.faults.strikes(Fault.REJECT, name):
            raise _refuse("EOrder:Orders limit exceeded")
        struck = order_faults(self.faults, name, instrument, size)
        placement = engine.place(
            account.name, side, order_type, size, price_raw=price, time_in_force=time_in_force,
            client_order_id=client_id, fill_limit_raw=struck.fill_limit_raw,
            hold_ns=struck.hold_ns,
        )  # fmt: skip
        order = placement.order
        if order is None:
            assert placement.rejection is not None
            raise _refuse(_rejection(placement.rejection, instrument, size))
        key = (instrument.symbol, order.order_id)
        txid = shapes.txid(self._index[instrument.symbol], order.order_id)
        if not placement.duplicate:
            self._txids[txid] = key
            self._placed.append((account.name, *key))
            self._userrefs[key] = int(userref)
            if client_id is None:
                self._anonymous.add(key)
        if self.faults.strikes(Fault.SERVER_ERROR, name):  # accepted, but the answer is lost
            return _answer(shapes.failure("EGeneral:Internal error"), 500)
        return _answer(shapes.envelope({"descr": {"order": descr["order"]}, "txid": [txid]}))

    async def _cancel(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        given = fields.get("txid") or fields.get("cl_ord_id")
        if not given:
            raise _invalid("txid")
        found = self._by_txid(account, given) or self._by_client_id(account, given)
        if found is None or found[1].status.is_final:
            raise _refuse(_UNKNOWN_ORDER)
        engine, order = found
        engine.cancel(account.name, order_id=order.order_id)
        self._cancelled.add((engine.instrument.symbol, order.order_id))
        return _answer(shapes.envelope({"count": 1}))

    async def _open_orders(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        found = {txid: info for txid, order, info in self._orders(account, fields)
                 if not order.status.is_final}  # fmt: skip
        return _answer(shapes.envelope({"open": found}))

    async def _closed_orders(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        closed = [(txid, info) for txid, order, info in self._orders(account, fields)
                  if order.status.is_final]  # fmt: skip
        offset = fields.get("ofs", "0")
        if not offset.isdigit():
            raise _invalid("ofs")
        page = closed[int(offset) : int(offset) + CLOSED_PAGE]
        return _answer(shapes.envelope({"closed": dict(page), "count": len(closed)}))

    async def _query_orders(self, request: Request) -> Response:
        account, fields = await self._signed(request)
        txids = [t for t in _require(fields, "txid").split(",") if t]
        result = {}
        for txid in txids:
            found = self._by_txid(account, txid)
            if found is None:
                raise _refuse("EOrder:Invalid order")
            result[txid] = self._info(account, *found)
        return _answer(shapes.envelope(result))

    async def _balances(self, request: Request) -> Response:
        account, _ = await self._signed(request)
        held = [b for b in self.venue.ledger.balances(account.name) if b.free or b.locked]
        return _answer(shapes.balances(held))

    async def _trade_volume(self, request: Request) -> Response:
        _, fields = await self._signed(request)
        names = [name for name in fields.get("pair", "").split(",") if name]
        engines = [self.venue.engines[self._pair(name).symbol] for name in names]
        return _answer(shapes.trade_volume((e.instrument, e.maker_fee, e.taker_fee)
                                           for e in engines))  # fmt: skip

    # -- helpers ----------------------------------------------------------------------------------

    def _pair(self, name: str) -> Instrument:
        instrument = self._pairs.get(name)
        if instrument is None:
            raise _refuse(_UNKNOWN_PAIR)
        return instrument

    def _cost_decimals(self, instrument: Instrument) -> int:
        return self.venue.ledger.decimals(instrument.quote)

    def _by_txid(self, account: AccountConfig, txid: str) -> tuple[MatchingEngine,
                                                                    SimOrder] | None:  # fmt: skip
        key = self._txids.get(txid)
        if key is None:
            return None
        engine = self.venue.engines[key[0]]
        order = engine.order(account.name, order_id=key[1])
        return None if order is None else (engine, order)

    def _by_client_id(self, account: AccountConfig, client_id: str) -> tuple[
            MatchingEngine, SimOrder] | None:  # fmt: skip
        """The account's newest order with this ``cl_ord_id`` (placed here), on any pair."""
        for name, symbol, order_id in reversed(self._placed):
            engine = self.venue.engines[symbol]
            order = engine.order(account.name, order_id=order_id) if name == account.name else None
            if order is not None and order.client_order_id == client_id and (
                symbol, order_id) not in self._anonymous:  # fmt: skip
                return engine, order
        return None

    def _orders(
        self, account: AccountConfig, fields: Mapping[str, str]
    ) -> list[tuple[str, SimOrder, dict[str, Any]]]:
        """The account's orders placed here, newest first, filtered by ``cl_ord_id`` and
        ``userref`` when given: (txid, order, its order-info entry)."""
        client_id, userref = fields.get("cl_ord_id"), fields.get("userref")
        found = []
        for name, symbol, order_id in reversed(self._placed):
            if name != account.name:
                continue
            key = (symbol, order_id)
            engine = self.venue.engines[symbol]
            order = engine.order(account.name, order_id=order_id)
            if order is None:
                continue
            if client_id is not None and (key in self._anonymous
                                          or order.client_order_id != client_id):  # fmt: skip
                continue
            if userref is not None and str(self._userrefs.get(key, 0)) != userref:
                continue
            txid = shapes.txid(self._index[symbol], order_id)
            found.append((txid, order, self._info(account, engine, order)))
        return found

    def _info(self, account: AccountConfig, engine: MatchingEngine,
              order: SimOrder) -> dict[str, Any]:  # fmt: skip
        instrument = engine.instrument
        key = (instrument.symbol, order.order_id)
        decimals = {asset: self.venue.ledger.decimals(asset)
                    for asset in (instrument.base, instrument.quote)}  # fmt: skip
        reason = None
        if key in self._cancelled:
            reason = _USER_CANCEL
        elif order.status.is_final and order.filled_raw < order.size_raw:
            reason = _IOC_REST
        return shapes.order_info(
            instrument, order, decimals, userref=self._userrefs.get(key, 0),
            client_order_id=None if key in self._anonymous else order.client_order_id,
            reason=reason,
        )  # fmt: skip


def _require(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise _invalid(name)
    return value


def _valid_client_id(client_id: str) -> bool:
    """A UUID, or free ASCII text of at most 18 characters (Kraken's ``cl_ord_id`` rule)."""
    if _UUID.fullmatch(client_id):
        return True
    return (len(client_id) <= constants.CLIENT_ORDER_ID_MAX_TEXT and client_id.isascii()
            and client_id.isprintable())  # fmt: skip


def _time_in_force(fields: Mapping[str, str], order_type: OrderType) -> TimeInForce:
    """``timeinforce`` GTC (default) or IOC, and ``oflags=post``; GTD is not simulated."""
    flags = {flag for flag in fields.get("oflags", "").split(",") if flag}
    if flags - _KNOWN_FLAGS:
        raise _invalid("oflags")
    given = fields.get("timeinforce", "GTC")
    if given not in ("GTC", "IOC"):
        raise _invalid("timeinforce")
    if "post" in flags:
        if order_type is OrderType.MARKET or given == "IOC":
            raise _invalid("oflags")
        return TimeInForce.POST_ONLY
    if order_type is OrderType.MARKET or given == "IOC":
        return TimeInForce.IOC
    return TimeInForce.GTC


def _rejection(rejection: Rejection, instrument: Instrument, size: int) -> str:
    """Kraken's error string for an order the engine refused."""
    if rejection is Rejection.INSUFFICIENT_FUNDS:
        return "EOrder:Insufficient funds"
    if rejection is Rejection.WOULD_TAKE:
        return "EOrder:Post only order"
    if rejection is Rejection.PRICE_FILTER:
        return "EGeneral:Invalid arguments:price"
    if rejection is Rejection.MIN_NOTIONAL:
        return "EOrder:Cost minimum not met"
    if size <= 0 or size % instrument.lot_size:
        return "EGeneral:Invalid arguments:volume"
    return "EOrder:Order minimum not met"
