"""A simulated Gate.io spot venue (APIv4): its REST API and WebSocket, as Starlette routes.

Public: ``/api/v4/spot/time``, ``/spot/currency_pairs`` (and ``/{pair}``), ``/spot/order_book``
(``id`` with ``with_id=true``: the engine's update id, so REST and stream line up by Gate's
U/u rule). Signed (``KEY``, ``Timestamp``, ``SIGN``; checked by
``arbcore.exchanges.gateio.auth``): ``/spot/orders`` (POST places, HTTP 201; GET lists by
``status`` open or finished), ``/spot/orders/{order_id}`` (GET, DELETE; the id, or ``t-<text>``
while the order is open), ``/spot/open_orders``, ``/spot/accounts``, ``/spot/fee``. Refusals are
Gate's ``{"label","message"}``: MISSING_REQUIRED_HEADER, INVALID_KEY, REQUEST_EXPIRED (more than
60 s off), INVALID_SIGNATURE (HTTP 401); BALANCE_NOT_ENOUGH, AMOUNT_TOO_LITTLE,
INVALID_PRECISION, POC_FILL_IMMEDIATELY, INVALID_PARAM_VALUE, MISSING_REQUIRED_PARAM,
INVALID_CURRENCY_PAIR, ORDER_CLOSED / ORDER_CANCELLED (HTTP 400); ORDER_NOT_FOUND (404);
TOO_MANY_REQUESTS (429, ``X-Gate-RateLimit-Reset-Timestamp``) and SERVER_ERROR (500) when those
faults strike.

WebSocket ``/ws/v4/``: ``subscribe``/``unsubscribe`` of ``spot.order_book_update`` (payload
``[pair, "100ms" | "20ms"]``: every change of the step, ``U``/``u`` the engine's update ids),
``spot.obu`` (``ob.<pair>.50`` or ``.400``: a ``full`` snapshot of that depth first, then
increments ``U..u`` of the levels within it), ``spot.book_ticker``; ``spot.ping`` answered with
``spot.pong``. Gate's own keepalive is the WebSocket ping the server sends.

As on Gate, ``text`` (the client's order id) is not unique: a repeated one places another
order, so a client must look a placement up before resending it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.gateio import auth
from arbcore.exchanges.gateio.constants import (
    CLIENT_ORDER_ID_PATTERN,
    CLIENT_ORDER_ID_PREFIX,
    MAX_CLOCK_SKEW_S,
    OBU_CHANNEL,
    OBU_STREAM,
    ORDER_BOOK_UPDATE_CHANNEL,
    PING_CHANNEL,
    PUBLIC_REQUESTS_PER_10S,
)
from arbcore.model import OrderSide, OrderStatus, OrderType, TimeInForce
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
    read_decimal,
    serve_socket,
)
from arbcore.sim.stream import StreamHub, Subscriber
from arbcore.sim.venues.gateio import shapes
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import round_to_step

__all__ = ["GateioServer"]

API: Final = "/api/v4/spot"
_INTERVALS: Final = ("100ms", "20ms")
_OBU_DEPTHS: Final = (50, 400)
_BOOK_LIMIT: Final = (10, 100)  # default, maximum
_LIST_LIMIT: Final = (100, 1000)
_TEXT: Final = re.compile(re.escape(CLIENT_ORDER_ID_PREFIX) + CLIENT_ORDER_ID_PATTERN)
_DEFAULT_TEXT: Final = "apiv4"
_ACTION_MODES: Final = ("ACK", "RESULT", "FULL")
_TIME_IN_FORCE: Final = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK,
                         "poc": TimeInForce.POST_ONLY}  # fmt: skip
_REJECTIONS: Final = {
    Rejection.PRICE_FILTER: ("INVALID_PRECISION", "Invalid price precision"),
    Rejection.LOT_SIZE: ("AMOUNT_TOO_LITTLE", "Your order size is too small"),
    Rejection.MIN_NOTIONAL: ("AMOUNT_TOO_LITTLE", "Your order total is too small"),
    Rejection.INSUFFICIENT_FUNDS: ("BALANCE_NOT_ENOUGH", "Not enough balance"),
    Rejection.WOULD_TAKE: ("POC_FILL_IMMEDIATELY",
                           "Order would match and take immediately so it's cancelled"),
}  # fmt: skip
_FIRST_USER_ID: Final = 10001


def _refuse(label: str, message: str, status: int = 400) -> Refusal:
    return Refusal(JSONResponse(shapes.error(label, message), status_code=status))


def _invalid(name: str, value: object) -> Refusal:
    return _refuse("INVALID_PARAM_VALUE", f"Invalid parameter `{name}` with value: {value}")


def _missing(name: str) -> Refusal:
    return _refuse("MISSING_REQUIRED_PARAM", f"Missing required parameter: {name}")


def _server_error() -> Response:
    return JSONResponse(shapes.error("SERVER_ERROR", "Internal server error"), 500)


class _Signed:
    """A signed request that passed Gate's checks: its account, query and body."""

    def __init__(self, account: AccountConfig, query: dict[str, str], body: str) -> None:
        self.account = account
        self.query = query
        self.body = body

    def pair(self) -> str:
        pair = self.query.get("currency_pair")
        if not pair:
            raise _missing("currency_pair")
        return pair


class GateioServer:
    """One simulated Gate.io venue: the ASGI app and its publisher (module docstring)."""

    ws_path = "/ws/v4/"

    def __init__(self, venue: SimVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.hub = StreamHub(venue.name, faults)
        self._obu: dict[str, tuple[DepthView, int]] = {}  # stream -> view, last u sent
        self._tickers: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
        self._updated_ms: dict[str, int] = {}
        #: per account and market: every order placed here (ids, in order), the ids by text,
        #: and what Gate says of each beyond the engine (its text, a market buy's quote amount)
        self._placed: dict[tuple[str, str], list[int]] = {}
        self._texts: dict[tuple[str, str], dict[str, list[int]]] = {}
        self._views: dict[tuple[str, int], shapes.OrderView] = {}
        self._user_ids: dict[str, int] = {}
        guard = RestGuard(venue.name, faults, self._rate_limited, _server_error)
        get = ["GET"]
        routes: list[Route | WebSocketRoute] = [
            guard.route(f"{API}/time", self._time, get),
            guard.route(f"{API}/currency_pairs", self._pairs, get),
            guard.route(f"{API}/currency_pairs/{{pair}}", self._pairs, get),
            guard.route(f"{API}/order_book", self._order_book, get),
            guard.route(f"{API}/orders", self._orders, ["GET", "POST"], placing="POST"),
            guard.route(f"{API}/orders/{{order_id}}", self._order, ["GET", "DELETE"]),
            guard.route(f"{API}/open_orders", self._open_orders, get),
            guard.route(f"{API}/accounts", self._accounts, get),
            guard.route(f"{API}/fee", self._fee, get),
            WebSocketRoute(self.ws_path, self._socket),
            WebSocketRoute(self.ws_path.rstrip("/"), self._socket),
        ]
        self.app = Starlette(routes=routes)

    # -- publishing -------------------------------------------------------------------------------

    def publish(self) -> None:
        """An order_book_update for every market that changed, obu increments where a view's
        levels changed, and book tickers where the best bid or ask moved."""
        now_ms = self._now_ms()
        for instrument, change in self.venue.drain():
            pair = instrument.native_symbol
            self._updated_ms[instrument.symbol] = now_ms
            update = shapes.order_book_update(
                instrument, change.first_id, change.last_id, change.levels, now_ms
            )
            for interval in _INTERVALS:
                self.hub.publish(f"{ORDER_BOOK_UPDATE_CHANNEL}:{pair}:{interval}", update,
                                 is_delta=True)  # fmt: skip
            engine = self.venue.engines[instrument.symbol]
            bids, asks = engine.levels(BID, 1), engine.levels(ASK, 1)
            if not (bids and asks) or self._tickers.get(instrument.symbol) == (bids[0], asks[0]):
                continue
            self._tickers[instrument.symbol] = (bids[0], asks[0])
            ticker = shapes.book_ticker(instrument, change.last_id, bids[0], asks[0], now_ms)
            self.hub.publish(f"{shapes.BOOK_TICKER_CHANNEL}:{pair}", ticker)
        for stream, (view, sent) in self._obu.items():
            engine = self._engine(stream.split(".")[1])
            changes = view.update(engine)
            if changes:
                message = shapes.obu_update(stream, engine.instrument, sent + 1,
                                            engine.update_id, changes, now_ms)  # fmt: skip
                self._obu[stream] = (view, engine.update_id)
                self.hub.publish(f"{OBU_CHANNEL}:{stream}", message, is_delta=True)

    # -- WebSocket --------------------------------------------------------------------------------

    async def _socket(self, websocket: WebSocket) -> None:
        await serve_socket(self.hub, websocket, self.answer)

    def answer(self, subscriber: Subscriber, text: str) -> None:
        """Answer spot.ping, subscribe and unsubscribe as Gate does."""
        now_ms = self._now_ms()
        conn_id = f"{id(subscriber):016x}"[-16:]
        try:
            request = json.loads(text)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            failure = (1, "invalid request body format")
            self.hub.reply(subscriber, shapes.ws_answer({}, now_ms, conn_id, failure=failure))
            return
        channel, event = request.get("channel"), request.get("event")
        if channel == PING_CHANNEL:
            self.hub.reply(subscriber, shapes.pong(now_ms // 1000))
            return
        if event not in ("subscribe", "unsubscribe"):
            failure = (2, f"unknown event {event}")
            self.hub.reply(subscriber, shapes.ws_answer(request, now_ms, conn_id, failure=failure))
            return
        streams = self._streams(channel, request.get("payload"))
        if isinstance(streams, tuple):
            answer = shapes.ws_answer(request, now_ms, conn_id, failure=streams)
            self.hub.reply(subscriber, answer)
            return
        if event == "unsubscribe":
            subscriber.streams.difference_update(streams)
            self.hub.reply(subscriber, shapes.ws_answer(request, now_ms, conn_id))
            return
        repeated = [name for name in streams if name in subscriber.streams]
        if channel == OBU_CHANNEL and repeated:
            failure = (2, f"Alert sub {repeated[0].partition(':')[2]}")
            self.hub.reply(subscriber, shapes.ws_answer(request, now_ms, conn_id, failure=failure))
            return
        subscriber.streams.update(streams)
        self.hub.reply(subscriber, shapes.ws_answer(request, now_ms, conn_id))
        if channel == OBU_CHANNEL:
            for name in streams:
                self.hub.reply(subscriber, self._obu_snapshot(name.partition(":")[2], now_ms))

    def _streams(self, channel: object, payload: object) -> list[str] | tuple[int, str]:
        """The hub streams a subscription names, or Gate's ``(code, message)`` refusal."""
        if not isinstance(payload, list) or not payload:
            return 2, "payload is required"
        items = [str(item) for item in payload]
        if channel == ORDER_BOOK_UPDATE_CHANNEL:
            if len(items) != 2 or items[1] not in _INTERVALS:
                return 2, f"invalid payload {items}: [pair, 100ms or 20ms]"
            known = self._pair(items[0])
            if known is None:
                return 2, f"unknown currency pair {items[0]}"
            return [f"{channel}:{known}:{items[1]}"]
        if channel == shapes.BOOK_TICKER_CHANNEL:
            pairs = [self._pair(item) for item in items]
            if None in pairs:
                return 2, f"unknown currency pair in {items}"
            return [f"{channel}:{pair}" for pair in pairs]
        if channel == OBU_CHANNEL:
            streams = []
            for item in items:
                parts = item.split(".")
                pair = self._pair(parts[1]) if len(parts) == 3 else None
                depths = [str(depth) for depth in _OBU_DEPTHS]
                if parts[0] != "ob" or pair is None or parts[2] not in depths:
                    return 2, f"invalid stream {item}: ob.<pair>.50 or ob.<pair>.400"
                streams.append(f"{channel}:{OBU_STREAM.format(pair=pair, depth=parts[2])}")
            return streams
        return 2, f"unknown channel {channel}"

    def _obu_snapshot(self, stream: str, now_ms: int) -> str:
        """The full book of an obu stream as last published (its view starts here)."""
        engine = self._engine(stream.split(".")[1])
        if stream not in self._obu:
            view = DepthView(int(stream.split(".")[2]))
            view.update(engine)
            self._obu[stream] = (view, engine.update_id)
        view, sent = self._obu[stream]
        return shapes.obu_snapshot(stream, engine.instrument, sent, view.levels(BID),
                                   view.levels(ASK), now_ms)  # fmt: skip

    # -- REST: public -----------------------------------------------------------------------------

    def _rate_limited(self, config: FaultConfig) -> Response:
        reset_ms = self._now_ms() + config.retry_after_s * 1000
        headers = {"X-Gate-RateLimit-Requests-Remain": "0",
                   "X-Gate-RateLimit-Limit": str(PUBLIC_REQUESTS_PER_10S),
                   "X-Gate-RateLimit-Reset-Timestamp": str(reset_ms)}  # fmt: skip
        body = shapes.error("TOO_MANY_REQUESTS", "Request Rate limit Exceeded")
        return JSONResponse(body, 429, headers)

    async def _time(self, request: Request) -> Response:
        return JSONResponse({"server_time": self._now_ms()})

    async def _pairs(self, request: Request) -> Response:
        wanted = request.path_params.get("pair")
        if wanted is None:
            body: Any = [self._pair_entry(engine) for engine in self.venue.engines.values()]
        else:
            body = self._pair_entry(self._engine(wanted))
        return JSONResponse(body)

    async def _order_book(self, request: Request) -> Response:
        query = request.query_params
        pair = query.get("currency_pair")
        if not pair:
            raise _missing("currency_pair")
        engine = self._engine(pair)
        limit_text = query.get("limit") or str(_BOOK_LIMIT[0])
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= _BOOK_LIMIT[1]:
            raise _invalid("limit", limit_text)
        limit, now_ms = int(limit_text), self._now_ms()
        book_id = engine.update_id if query.get("with_id") == "true" else None
        updated = self._updated_ms.get(engine.instrument.symbol, now_ms)
        body = shapes.order_book(engine.instrument, book_id, now_ms, updated,
                                 engine.levels(BID, limit), engine.levels(ASK, limit))  # fmt: skip
        return JSONResponse(body)

    # -- REST: signed -----------------------------------------------------------------------------

    async def _signed(self, request: Request) -> _Signed:
        """Gate's checks of a signed request; the signature by ``gateio.auth.verify``, the same
        code that signs arbcore's requests."""
        for name in auth.AUTH_HEADERS:
            if not request.headers.get(name):
                raise _refuse("MISSING_REQUIRED_HEADER", f"Missing required header: {name}", 401)
        account = self.venue.account(request.headers[auth.KEY_HEADER])
        if account is None:
            raise _refuse("INVALID_KEY", "Invalid key provided", 401)
        query = parse_qsl(request.scope.get("query_string", b"").decode(), keep_blank_values=True)
        body = (await request.body()).decode()
        received = HttpRequest(method=request.method, path=request.url.path, params=query,
                               body=body, headers=tuple(request.headers.items()))  # fmt: skip
        stamp_ms = auth.signed_timestamp_ms(received)
        if stamp_ms is None or abs(stamp_ms - self._now_ms()) > MAX_CLOCK_SKEW_S * 1000:
            gap = "gap between request Timestamp and server time exceeds 60"
            raise _refuse("REQUEST_EXPIRED", gap, 401)
        if not auth.verify(received, Credentials(account.api_key, account.secret)):
            raise _refuse("INVALID_SIGNATURE", "Signature mismatch", 401)
        return _Signed(account, dict(query), body)

    async def _orders(self, request: Request) -> Response:
        """POST places an order; GET lists a pair's open or finished orders."""
        signed = await self._signed(request)
        if request.method == "POST":
            return self._place(signed)
        engine = self._engine(signed.pair())
        status = signed.query.get("status")
        if status not in ("open", "finished"):
            raise _missing("status") if status is None else _invalid("status", status)
        limit_text = signed.query.get("limit") or str(_LIST_LIMIT[0])
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= _LIST_LIMIT[1]:
            raise _invalid("limit", limit_text)
        name = signed.account.name
        if status == "open":
            orders = engine.open_orders(name)
        else:
            placed = self._placed.get((name, engine.instrument.symbol), [])
            found = (engine.order(name, order_id=order_id) for order_id in reversed(placed))
            orders = [order for order in found if order is not None and order.status.is_final]
        return JSONResponse([self._order_body(engine, o) for o in orders[: int(limit_text)]])

    def _place(self, signed: _Signed) -> Response:
        try:
            fields = json.loads(signed.body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise _refuse("INVALID_REQUEST_BODY", "Request body is not a valid JSON object")
        pair = _field(fields, "currency_pair")
        engine = self._engine(pair)
        instrument = engine.instrument
        text = fields.get("text", _DEFAULT_TEXT)
        if not isinstance(text, str) or (text != _DEFAULT_TEXT and not _TEXT.fullmatch(text)):
            raise _invalid("text", text)
        side_text, type_text = _field(fields, "side"), str(fields.get("type", "limit"))
        side = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}.get(side_text)
        if side is None:
            raise _invalid("side", side_text)
        kind = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}.get(type_text)
        if kind is None:
            raise _invalid("type", type_text)
        if fields.get("account", "spot") not in ("spot", "unified"):
            raise _invalid("account", fields["account"])
        if str(fields.get("iceberg", "0")) != "0":
            raise _invalid("iceberg", fields["iceberg"])
        mode = str(fields.get("action_mode", "FULL"))
        if mode not in _ACTION_MODES:
            raise _invalid("action_mode", mode)
        time_in_force = _time_in_force(fields, kind)
        market_buy = kind is OrderType.MARKET and side is OrderSide.BUY
        amount_decimals = instrument.price_decimals if market_buy else instrument.size_decimals
        amount = _decimal(fields, "amount", amount_decimals)
        price = _decimal(fields, "price", instrument.price_decimals) if kind is OrderType.LIMIT \
            else None  # fmt: skip
        size = self._market_buy_size(signed.account.name, engine, amount) if market_buy else amount
        name = self.venue.name
        if self.faults.strikes(Fault.REJECT, name):
            raise _refuse("TRADE_RESTRICTED", "Order rejected by the venue (injected fault)")
        struck = order_faults(self.faults, name, instrument, size)
        placement = engine.place(
            signed.account.name, side, kind, size, price_raw=price,
            time_in_force=time_in_force, fill_limit_raw=struck.fill_limit_raw,
            hold_ns=struck.hold_ns,
        )  # fmt: skip
        order = placement.order
        if order is None:
            assert placement.rejection is not None
            raise _refuse(*_REJECTIONS[placement.rejection])
        key = (signed.account.name, instrument.symbol)
        self._placed.setdefault(key, []).append(order.order_id)
        self._texts.setdefault(key, {}).setdefault(text, []).append(order.order_id)
        quote = str(fields["amount"]) if market_buy else None
        view = self._views[instrument.symbol, order.order_id] = shapes.OrderView(text, quote)
        if self.faults.strikes(Fault.SERVER_ERROR, name):
            return _server_error()  # accepted, but the answer is lost: status unknown
        if mode == "ACK":
            return JSONResponse(shapes.order_ack(order, view), 201)
        return JSONResponse(self._order_body(engine, order, full=mode == "FULL"), 201)

    def _market_buy_size(self, account: str, engine: MatchingEngine, quote: int) -> int:
        """The base a market buy of ``quote`` (raw at the price decimals) takes from the asks,
        on the lot grid: Gate sizes market buys in the quote asset; the engine in the base."""
        instrument = engine.instrument
        if quote < instrument.min_notional:
            raise _refuse(*_REJECTIONS[Rejection.MIN_NOTIONAL])
        held = self.venue.ledger.balance(account, instrument.quote)
        if held.free < quote * 10 ** (held.decimals - instrument.price_decimals):
            raise _refuse(*_REJECTIONS[Rejection.INSUFFICIENT_FUNDS])
        budget = quote * 10**instrument.size_decimals  # at price + size decimals
        size = 0
        for price, available in engine.levels(ASK):
            if price * available > budget:
                size += round_to_step(budget // price, instrument.lot_size, "down")
                break
            size += available
            budget -= price * available
        if size < max(instrument.min_qty, instrument.lot_size):
            raise _refuse(*_REJECTIONS[Rejection.LOT_SIZE])
        return size

    async def _order(self, request: Request) -> Response:
        """One order by its id (or ``t-<text>`` while it is open): GET reads, DELETE cancels."""
        signed = await self._signed(request)
        engine = self._engine(signed.pair())
        order = self._find(signed.account.name, engine, request.path_params["order_id"])
        if request.method == "DELETE":
            if order.status.is_final:
                closed = order.status is OrderStatus.FILLED
                raise _refuse("ORDER_CLOSED" if closed else "ORDER_CANCELLED",
                              "Order closed" if closed else "Order cancelled")  # fmt: skip
            cancelled = engine.cancel(signed.account.name, order_id=order.order_id)
            assert cancelled is not None
            order = cancelled
        return JSONResponse(self._order_body(engine, order))

    def _find(self, account: str, engine: MatchingEngine, order_id: str) -> SimOrder:
        found = None
        if order_id.startswith(CLIENT_ORDER_ID_PREFIX):
            ids = self._texts.get((account, engine.instrument.symbol), {}).get(order_id, [])
            orders = (engine.order(account, order_id=known) for known in reversed(ids))
            found = next((o for o in orders if o is not None and not o.status.is_final), None)
        elif order_id.isdigit():
            found = engine.order(account, order_id=int(order_id))
        if found is None:
            raise _refuse("ORDER_NOT_FOUND", "Order not found", 404)
        return found

    async def _open_orders(self, request: Request) -> Response:
        signed = await self._signed(request)
        groups = []
        for engine in self.venue.engines.values():
            orders = engine.open_orders(signed.account.name)
            if orders:
                bodies = [self._order_body(engine, order) for order in orders]
                pair = engine.instrument.native_symbol
                groups.append({"currency_pair": pair, "total": len(orders), "orders": bodies})
        return JSONResponse(groups)

    async def _accounts(self, request: Request) -> Response:
        signed = await self._signed(request)
        balances = self.venue.ledger.balances(signed.account.name)
        wanted = signed.query.get("currency")
        if wanted:
            balances = [b for b in balances if b.asset == wanted.upper()]
        version = sum(engine.update_id for engine in self.venue.engines.values())
        return JSONResponse(shapes.accounts(balances, version))

    async def _fee(self, request: Request) -> Response:
        signed = await self._signed(request)
        pair = signed.query.get("currency_pair")
        engine = self._engine(pair) if pair else next(iter(self.venue.engines.values()))
        name = signed.account.name
        user_id = self._user_ids.setdefault(name, _FIRST_USER_ID + len(self._user_ids))
        body = shapes.fee(engine.instrument.native_symbol, engine.maker_fee, engine.taker_fee,
                          user_id)  # fmt: skip
        return JSONResponse(body)

    # -- helpers ----------------------------------------------------------------------------------

    def _pair(self, native: str) -> str | None:
        engine = self.venue.engine(native)
        return None if engine is None else engine.instrument.native_symbol

    def _engine(self, native: str) -> MatchingEngine:
        engine = self.venue.engine(native)
        if engine is None:
            raise _refuse("INVALID_CURRENCY_PAIR", f"Invalid currency pair {native}")
        return engine

    def _pair_entry(self, engine: MatchingEngine) -> dict[str, Any]:
        return shapes.currency_pair(engine.instrument, engine.maker_fee)

    def _order_body(self, engine: MatchingEngine, order: SimOrder, *, full: bool = True
                    ) -> dict[str, Any]:  # fmt: skip
        instrument = engine.instrument
        view = self._views[instrument.symbol, order.order_id]
        assets: Iterable[str] = (instrument.base, instrument.quote)
        decimals = {asset: self.venue.ledger.decimals(asset) for asset in assets}
        return shapes.order(instrument, order, view, decimals, full=full)

    def _now_ms(self) -> int:
        return self.venue.clock() // 1_000_000


def _field(fields: dict[str, Any], key: str) -> str:
    value = fields.get(key)
    if value is None or value == "":
        raise _missing(key)
    return str(value)


def _decimal(fields: dict[str, Any], key: str, decimals: int) -> int:
    """An amount or price, exact: more places than the pair's precision is INVALID_PRECISION."""
    text = _field(fields, key)
    raw = read_decimal(text, decimals)
    if raw is BadDecimal.TOO_PRECISE:
        raise _refuse("INVALID_PRECISION", f"Invalid {key} precision")
    if isinstance(raw, BadDecimal) or raw <= 0:
        raise _invalid(key, text)
    return raw


def _time_in_force(fields: dict[str, Any], kind: OrderType) -> TimeInForce:
    """gtc (the default), ioc, fok or poc for a limit order; ioc only for a market order (a
    market fok is not simulated)."""
    name = str(fields.get("time_in_force", "ioc" if kind is OrderType.MARKET else "gtc"))
    found = _TIME_IN_FORCE.get(name)
    if found is None or (kind is OrderType.MARKET and found is not TimeInForce.IOC):
        raise _invalid("time_in_force", name)
    return found
