"""The control API: REST reads and commands, WebSocket streams and the dashboard, as one
Starlette app over a :class:`~arbcore.server.target.ControlTarget` (see docs/server.md).

Security: commands (POST) need ``Authorization: Bearer <ARBCORE_API_TOKEN>``; without the
variable set they are refused, never open. Reads need the token too unless ``open_reads``. The
token is compared in constant time and never logged. A browser cannot put headers on a
WebSocket, so a stream also takes the token as the subprotocol ``arbcore.bearer.<base64url>``
(offered next to ``arbcore.v1``, which the server selects).

Streams never hold up the engine: each client reads its own bounded
:class:`~arbcore.observability.Subscription`. A ``/trades`` or ``/system`` client that falls
behind loses events, so it is dropped (closed 1013 with the reason) and reconnects;
``/market-data`` keeps only the latest top of each book and sends at most one batch per
interval, so a slow reader just skips quotes; any send that waits longer than the send timeout
(the client stopped reading) drops the client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import attrs
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from arbcore.observability import Event, Subscription
from arbcore.server.openapi import OPENAPI
from arbcore.server.target import ORDER_STATES, ControlTarget, OrderQuery

__all__ = ["MAX_BODY_BYTES", "SUBPROTOCOL", "TOKEN_ENV", "StreamLimits", "create_app"]

logger = logging.getLogger(__name__)

TOKEN_ENV = "ARBCORE_API_TOKEN"
SUBPROTOCOL = "arbcore.v1"
BEARER_PROTOCOL = "arbcore.bearer."
MAX_BODY_BYTES = 16 * 1024
MAX_REASON_CHARS = 200
CLOSE_POLICY = 1008  # the client broke the rules (close codes per RFC 6455 section 7.4.1)
CLOSE_TOO_SLOW = 1013  # "try again later": the client fell behind and was dropped


@attrs.frozen(kw_only=True)
class StreamLimits:
    """How much a stream client is allowed before it is dropped or throttled."""

    queue: int = 1_000  # events a client may be behind on /trades and /system
    send_timeout_s: float = 2.0  # a send waiting longer than this: the client stopped reading
    interval_ms: int = 250  # /market-data: default time between batches
    min_interval_ms: int = 100  # /market-data: the fastest a client may ask for
    max_message_bytes: int = 4_096  # client -> server messages


class ApiError(Exception):
    """A request refused with an HTTP status and a reason (sent as ``{"error": reason}``)."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})


@attrs.frozen
class Guard:
    """Who may do what: the token (None: unset) and whether reads are open."""

    token: str | None = attrs.field(repr=False)
    open_reads: bool

    def check(self, presented: str | None, *, write: bool) -> None:
        """Raise ApiError (401/403, with the reason) unless ``presented`` may read or write."""
        if not write and self.open_reads:
            return
        if self.token is None:
            what = "commands are" if write else "reads are (open_reads is off)"
            raise ApiError(403, f"refused: {what} disabled until {TOKEN_ENV} is set")
        challenge = {"WWW-Authenticate": 'Bearer realm="arbcore"'}
        if presented is None:
            raise ApiError(401, "missing token: send 'Authorization: Bearer <token>'", challenge)
        if not hmac.compare_digest(presented.encode(), self.token.encode()):
            raise ApiError(401, "wrong token", challenge)


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def protocol_token(subprotocols: list[str]) -> str | None:
    """The token a browser put in the ``arbcore.bearer.<base64url>`` subprotocol."""
    for offered in subprotocols:
        if offered.startswith(BEARER_PROTOCOL):
            encoded = offered[len(BEARER_PROTOCOL) :]
            try:
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
    return None


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse({"error": error.reason}, status_code=error.status, headers=error.headers)


def _reason(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "'reason' must be a non-empty string")
    if len(value) > MAX_REASON_CHARS:
        raise ApiError(422, f"'reason' is longer than {MAX_REASON_CHARS} characters")
    return value.strip()


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(422, "'path' must be a non-empty string")
    return value


async def read_json(request: Request, fields: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """A JSON object body with only ``fields`` (each checked by its function); empty: ``{}``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, f"send application/json, was {kind or 'no content type'!r}")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ApiError(422, f"body must be a JSON object, was {type(document).__name__}")
    unknown = sorted(set(document) - set(fields))
    if unknown:
        known = ", ".join(fields) or "none"
        raise ApiError(422, f"unknown field(s) {', '.join(unknown)}; known: {known}")
    return {name: fields[name](value) for name, value in document.items()}


def _query(request: HTTPConnection, allowed: frozenset[str] = frozenset()) -> dict[str, str]:
    params = request.query_params
    unknown = sorted(set(params) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise ApiError(400, f"unknown query parameter(s) {', '.join(unknown)}; known: {known}")
    repeated = sorted(key for key in set(params) if len(params.getlist(key)) > 1)
    if repeated:
        raise ApiError(400, f"query parameter(s) given twice: {', '.join(repeated)}")
    return dict(params)


def _integer(name: str, text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, was {text!r}") from None
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"{name} must be {span}, was {value}")
    return value


def _time_ns(name: str, text: str) -> int:
    """Nanoseconds since the epoch, or an ISO 8601 time (UTC when it names no zone)."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{name}: ns since the epoch or ISO 8601, was {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


ORDER_PARAMS = frozenset({"venue", "symbol", "state", "since", "until", "offset", "limit"})


def order_query(params: Mapping[str, str]) -> OrderQuery:
    """``GET /orders`` parameters -> OrderQuery (ApiError 400 naming the bad one)."""
    fields: dict[str, Any] = {name: params[name] for name in ("venue", "symbol", "state")
                              if name in params}  # fmt: skip
    for name in ("since", "until"):
        if name in params:
            fields[f"{name}_ns"] = _time_ns(name, params[name])
    if "offset" in params:
        fields["offset"] = _integer("offset", params["offset"], 0)
    if "limit" in params:
        fields["limit"] = _integer("limit", params["limit"], 1, 1_000)
    if fields.get("state", ORDER_STATES[0]) not in ORDER_STATES:
        raise ApiError(400, f"state must be one of {', '.join(ORDER_STATES)}, "
                            f"was {fields['state']!r}")  # fmt: skip
    return OrderQuery(**fields)


Handler = Callable[[Request], Awaitable[Response]]


class ControlApi:
    """The routes' handlers over one target."""

    def __init__(self, target: ControlTarget, guard: Guard, limits: StreamLimits) -> None:
        self.target = target
        self.guard = guard
        self.limits = limits

    # -- REST -------------------------------------------------------------------------------------

    def read(self, view: Callable[[Request], Awaitable[Any]]) -> Handler:
        return self._endpoint(view, write=False)

    def write(self, view: Callable[[Request], Awaitable[Any]]) -> Handler:
        return self._endpoint(view, write=True)

    def _endpoint(self, view: Callable[[Request], Awaitable[Any]], *, write: bool) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                self.guard.check(bearer(request.headers), write=write)
                result = await view(request)
            except ApiError as error:
                return _error(error)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    async def health(self, request: Request) -> Any:
        _query(request)
        return self.target.health()

    async def status(self, request: Request) -> Any:
        _query(request)
        return self.target.status()

    async def positions(self, request: Request) -> Any:
        _query(request)
        return self.target.positions()

    async def orders(self, request: Request) -> Any:
        query = order_query(_query(request, ORDER_PARAMS))
        return (await self.target.orders(query)).as_json()

    async def metrics(self, request: Request) -> Any:
        _query(request)
        return Response(self.target.metrics_text(), media_type=CONTENT_TYPE_LATEST)

    async def start(self, request: Request) -> Any:
        _query(request)
        await read_json(request, {})
        state = self.target.start_trading()
        logger.warning("trading started through the API by %s", _client(request))
        return state

    async def stop(self, request: Request) -> Any:
        _query(request)
        body = await read_json(request, {"reason": _reason})
        reason = body.get("reason", "operator request")
        state = self.target.stop_trading(reason)
        logger.warning("trading stopped through the API by %s: %s", _client(request), reason)
        return state

    async def reload(self, request: Request) -> Any:
        _query(request)
        body = await read_json(request, {"path": _path})
        outcome = await self.target.reload_config(body.get("path"))
        logger.warning("config reload through the API by %s: %s", _client(request),
                       outcome.as_json())  # fmt: skip
        if not outcome.applied:
            raise ApiError(422, f"configuration not reloaded, nothing changed: {outcome.reason}")
        return outcome.as_json()

    # -- WebSocket streams ------------------------------------------------------------------------

    async def _accept(self, websocket: WebSocket) -> bool:
        """Check the token (header or subprotocol); refuse with an HTTP status, or accept."""
        offered = list(websocket.scope.get("subprotocols", []))
        presented = bearer(websocket.headers) or protocol_token(offered)
        try:
            self.guard.check(presented, write=False)
        except ApiError as error:
            await websocket.send_denial_response(_error(error))
            return False
        await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        return True

    async def trades(self, websocket: WebSocket) -> None:
        await self._events(websocket, "trades")

    async def system(self, websocket: WebSocket) -> None:
        await self._events(websocket, "system")

    async def _events(self, websocket: WebSocket, topic: str) -> None:
        """Every event of ``topic``, in order; a client that lost one is dropped."""
        if not await self._accept(websocket):
            return
        subscription = self.target.events.subscribe([topic], maxsize=self.limits.queue)
        stream = _Stream(websocket, topic, subscription, self.limits)
        reader = asyncio.create_task(stream.read(stream.refuse_input))
        try:
            if not await stream.send(stream.frame("subscribed", {"topic": topic})):
                return
            while (event := await subscription.get()) is not None:
                if subscription.dropped:
                    await stream.drop(f"fell behind: {subscription.dropped} events lost; "
                                      "reconnect (and re-read /orders)")  # fmt: skip
                    return
                if not await stream.send(event.as_json()):
                    return
        finally:
            subscription.close()
            reader.cancel()

    async def market_data(self, websocket: WebSocket) -> None:
        """Tops of book for the subscribed symbols, at most one batch per interval."""
        try:
            params = _query(websocket, frozenset({"symbols", "interval_ms"}))
            limits = self.limits
            interval_ms = _integer("interval_ms", params.get("interval_ms",
                                                             str(limits.interval_ms)),
                                   limits.min_interval_ms, 60_000)  # fmt: skip
            wanted = self._symbols(params["symbols"].split(",")) if "symbols" in params else None
        except ApiError as error:
            await websocket.send_denial_response(_error(error))
            return
        if not await self._accept(websocket):
            return
        subscription = self.target.events.subscribe(["market-data"], maxsize=self.limits.queue)
        stream = _Stream(websocket, "market-data", subscription, self.limits)
        quotes = _Quotes(wanted)
        reader = asyncio.create_task(stream.read(lambda m: self._subscribe(stream, quotes, m)))
        loop = asyncio.get_running_loop()
        try:
            if not await stream.send(stream.frame("subscribed", quotes.describe())):
                return
            due = loop.time() + interval_ms / 1_000
            while not subscription.closed:
                try:
                    event = await asyncio.wait_for(subscription.get(), max(0.0, due - loop.time()))
                except TimeoutError:
                    event = None
                if event is not None:
                    quotes.offer(event)
                if loop.time() >= due:
                    due = loop.time() + interval_ms / 1_000
                    batch = quotes.take()
                    if batch and not await stream.send(stream.frame("quotes", {"quotes": batch})):
                        return
        finally:
            subscription.close()
            reader.cancel()

    def _symbols(self, names: list[Any]) -> frozenset[str]:
        known = self.target.symbols()
        wanted = {name.strip() for name in names if isinstance(name, str)}
        if len(wanted) != len(names) or not wanted or "" in wanted:
            raise ApiError(400, "symbols must be a non-empty list of names like BTC/USDT")
        unknown = sorted(wanted - known) if known else []
        if unknown:
            raise ApiError(400, f"unknown symbol(s) {', '.join(unknown)}; known: "
                                f"{', '.join(sorted(known))}")  # fmt: skip
        return frozenset(wanted)

    async def _subscribe(self, stream: _Stream, quotes: _Quotes, message: Any) -> None:
        """``{"subscribe": [...]}`` or ``{"unsubscribe": [...]}``; acknowledged with the set."""
        if not (isinstance(message, dict) and len(message) == 1
                and set(message) <= {"subscribe", "unsubscribe"}
                and isinstance(next(iter(message.values())), list)):  # fmt: skip
            raise ApiError(400, 'send {"subscribe": [symbols]} or {"unsubscribe": [symbols]}')
        action, names = next(iter(message.items()))
        symbols = self._symbols(names)
        quotes.change(symbols, add=action == "subscribe")
        await stream.send(stream.frame("subscribed", quotes.describe()))

    # -- pages ------------------------------------------------------------------------------------

    async def dashboard(self, request: Request) -> Response:
        page = resources.files("arbcore.server").joinpath("static", "index.html")
        return HTMLResponse(page.read_text(encoding="utf-8"))

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)


def _client(request: Request) -> str:
    client = request.client
    return f"{client.host}:{client.port}" if client else "an unknown client"


class _Quotes:
    """One /market-data client's view: the symbols it wants and the latest top per book."""

    def __init__(self, wanted: frozenset[str] | None) -> None:
        self.wanted = wanted  # None: every symbol
        self.latest: dict[tuple[str, str], dict[str, Any]] = {}

    def offer(self, event: Event) -> None:
        data = event.data
        if self.wanted is None or data.get("symbol") in self.wanted:
            self.latest[(data["venue"], data["symbol"])] = {**data, "ts_ns": event.ts_ns}

    def take(self) -> list[dict[str, Any]]:
        batch, self.latest = list(self.latest.values()), {}
        return batch

    def change(self, symbols: frozenset[str], *, add: bool) -> None:
        if add:
            self.wanted = None if self.wanted is None else self.wanted | symbols
        else:
            current = self.wanted if self.wanted is not None else frozenset()
            self.wanted = current - symbols
            self.latest = {k: v for k, v in self.latest.items() if k[1] in self.wanted}

    def describe(self) -> dict[str, Any]:
        return {"topic": "market-data",
                "symbols": None if self.wanted is None else sorted(self.wanted)}  # fmt: skip


class _Stream:
    """One accepted stream client: framed sends with a deadline, reading its messages."""

    def __init__(self, websocket: WebSocket, topic: str, subscription: Subscription,
                 limits: StreamLimits) -> None:  # fmt: skip
        self.websocket = websocket
        self.topic = topic
        self.subscription = subscription
        self.limits = limits

    def frame(self, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return Event(self.topic, kind, time.time_ns(), data).as_json()

    async def send(self, frame: Mapping[str, Any]) -> bool:
        """Send one frame; False (and the client dropped) if it cannot be sent in time."""
        try:
            await asyncio.wait_for(self.websocket.send_text(json.dumps(frame)),
                                   self.limits.send_timeout_s)  # fmt: skip
        except TimeoutError:
            await self.drop(f"too slow: a send waited over {self.limits.send_timeout_s:g} s")
            return False
        except (WebSocketDisconnect, RuntimeError, OSError):  # the client went away meanwhile
            self.subscription.close()
            return False
        return True

    async def drop(self, reason: str) -> None:
        """Close with CLOSE_TOO_SLOW and ``reason`` (bounded: the client may not read it)."""
        logger.info("%s stream: dropping %s: %s", self.topic, self.websocket.client, reason)
        self.subscription.close()
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(TimeoutError, RuntimeError, OSError):
                await asyncio.wait_for(self.websocket.close(CLOSE_TOO_SLOW, reason[:120]), 1.0)

    async def read(self, handle: Callable[[Any], Awaitable[None]]) -> None:
        """Hand each client message (JSON) to ``handle``; an error frame for bad ones; close
        the subscription (ending the stream) when the client leaves."""
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                try:
                    if text is None or len(text) > self.limits.max_message_bytes:
                        raise ApiError(400, "messages are JSON text of at most "
                                            f"{self.limits.max_message_bytes} bytes")  # fmt: skip
                    try:
                        document = json.loads(text)
                    except ValueError as exc:
                        raise ApiError(400, f"not valid JSON: {exc}") from None
                    await handle(document)
                except ApiError as error:
                    if not await self.send(self.frame("error", {"reason": error.reason})):
                        return
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        finally:
            self.subscription.close()

    async def refuse_input(self, message: Any) -> None:
        raise ApiError(400, f"the /{self.topic} stream takes no messages")


def create_app(
    target: ControlTarget,
    *,
    open_reads: bool = False,
    environ: Mapping[str, str] | None = None,
    limits: StreamLimits | None = None,
) -> Starlette:
    """The app; the token is read once from ``environ`` (default: the process environment)."""
    token = (os.environ if environ is None else environ).get(TOKEN_ENV) or None
    api = ControlApi(target, Guard(token, open_reads), limits or StreamLimits())
    routes: list[BaseRoute] = [
        Route("/", api.dashboard, methods=["GET"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
        Route("/health", api.read(api.health), methods=["GET"]),
        Route("/metrics", api.read(api.metrics), methods=["GET"]),
        Route("/status", api.read(api.status), methods=["GET"]),
        Route("/positions", api.read(api.positions), methods=["GET"]),
        Route("/orders", api.read(api.orders), methods=["GET"]),
        Route("/config/reload", api.write(api.reload), methods=["POST"]),
        Route("/trading/start", api.write(api.start), methods=["POST"]),
        Route("/trading/stop", api.write(api.stop), methods=["POST"]),
        WebSocketRoute("/market-data", api.market_data),
        WebSocketRoute("/trades", api.trades),
        WebSocketRoute("/system", api.system),
        Mount("/static", StaticFiles(packages=[("arbcore.server", "static")]), name="static"),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                            headers=exc.headers)  # fmt: skip

    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
