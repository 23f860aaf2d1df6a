"""One reconnecting WebSocket connection: backoff with jitter, keepalive, resubscription.

The connection knows nothing of any venue: a venue supplies how to subscribe (messages built
from the current symbol set), its keepalive (an application-level ping to send, a server ping to
answer) and what to do with each frame. After every reconnect the connection resubscribes to
every symbol it holds and calls ``on_connect``, where the data client marks its books stale and
resyncs them: nothing received before a drop is trusted after it.

A connection can also die without closing: the TCP session stays up (a stalled server, a
half-open route) and simply nothing arrives. While it holds symbols, a connection that delivers
no frame for its idle timeout (``Keepalive.idle_timeout_s``, by default
:data:`IDLE_INTERVALS` keepalive intervals: the venue's heartbeats or the answers to our pings
should have come several times by then) is counted, closed and reconnected like any other drop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import CloseCode

__all__ = ["IDLE_INTERVALS", "Backoff", "ConnectionCounters", "Keepalive", "WsConnection"]

logger = logging.getLogger(__name__)

Frame = bytes
SubscribeBuilder = Callable[[frozenset[str]], list[str]]

#: Default idle timeout, in keepalive intervals: one late heartbeat or pong is no reason to
#: reconnect, three missing ones are.
IDLE_INTERVALS = 3.0
#: The idle watchdog looks this many times per timeout, so it notices within 1.25 timeouts.
IDLE_CHECKS = 4


@attrs.frozen
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(max, initial*2^n))."""

    initial_s: float = 0.5
    maximum_s: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.maximum_s, self.initial_s * self.factor**attempt))


@attrs.frozen
class Keepalive:
    """A venue's keepalive rule.

    ``ping`` builds the application-level ping to send every ``interval_s`` (None: rely on
    WebSocket ping frames, which ``websockets`` sends and answers itself); ``answer`` returns the
    reply to a server-initiated ping frame (HTX ``{"ping": n}`` -> ``{"pong": n}``) or None.
    ``idle_timeout_s`` is how long the venue may send nothing before the connection counts as
    dead (None: :data:`IDLE_INTERVALS` intervals).
    """

    interval_s: float = 20.0
    ping: Callable[[], str] | None = None
    answer: Callable[[Frame], str | None] | None = None
    idle_timeout_s: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.gt(0.0))
    )

    @property
    def idle_s(self) -> float:
        """How long a connection may deliver no frame before it is dropped (see the module
        docstring): ``idle_timeout_s``, else :data:`IDLE_INTERVALS` keepalive intervals."""
        if self.idle_timeout_s is not None:
            return self.idle_timeout_s
        return IDLE_INTERVALS * self.interval_s


@attrs.define
class ConnectionCounters:
    connects: int = 0
    disconnects: int = 0
    failed_connects: int = 0
    messages_in: int = 0
    bytes_in: int = 0
    messages_out: int = 0
    pings_sent: int = 0
    pings_answered: int = 0
    handler_errors: int = 0
    last_message_ns: int = 0
    #: connections dropped because nothing arrived for the idle timeout
    idle_timeouts: int = 0
    #: connections dropped on request (:meth:`WsConnection.reconnect`: a venue asked for it)
    requested_reconnects: int = 0


class WsConnection:
    """Keeps one venue connection alive until :meth:`close`; see the module docstring."""

    def __init__(
        self,
        url: str | Callable[[], Awaitable[str]],
        *,
        on_frame: Callable[[Frame, int], None],
        subscribe: SubscribeBuilder,
        unsubscribe: SubscribeBuilder | None = None,
        on_connect: Callable[[], Awaitable[None] | None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        keepalive: Keepalive | None = None,
        backoff: Backoff | None = None,
        name: str = "ws",
        clock: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        idle_timeout_s: float | None = None,
    ) -> None:
        self._url = url
        self._on_frame = on_frame
        self._subscribe = subscribe
        self._unsubscribe = unsubscribe
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._keepalive = keepalive
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._rng = rng or random.Random()
        self._connect_kwargs = connect_kwargs or {}
        if idle_timeout_s is not None and idle_timeout_s <= 0:
            raise ValueError(f"idle_timeout_s must be positive, was {idle_timeout_s}")
        self._idle_timeout_s = idle_timeout_s
        self.name = name
        self.counters = ConnectionCounters()
        self.symbols: frozenset[str] = frozenset()
        self._socket: ClientConnection | None = None
        self._closing = False
        self._dropping: asyncio.Task[None] | None = None  # a close asked for by reconnect()
        self.connected = asyncio.Event()

    @property
    def keepalive(self) -> Keepalive | None:
        return self._keepalive

    @keepalive.setter
    def keepalive(self, keepalive: Keepalive | None) -> None:
        """Takes effect from the next session (KuCoin's ping interval comes with each token)."""
        self._keepalive = keepalive

    @property
    def idle_timeout_s(self) -> float:
        """How long a session may deliver nothing: the constructor's value, else the
        keepalive's (:attr:`Keepalive.idle_s`; a connection without one uses the defaults)."""
        if self._idle_timeout_s is not None:
            return self._idle_timeout_s
        return (self._keepalive or Keepalive()).idle_s

    @property
    def is_open(self) -> bool:
        return self._socket is not None

    async def send(self, frames: list[str]) -> bool:
        """Send frames on the current connection; False (nothing sent) while disconnected."""
        if self._socket is None:
            return False
        await self._send_all(frames)
        return True

    # -- symbols at runtime ---------------------------------------------------------------------

    async def add_symbols(self, symbols: Iterable[str]) -> None:
        new = frozenset(symbols) - self.symbols
        self.symbols |= new
        if new and self._socket is not None:
            await self._send_all(self._subscribe(new))

    async def remove_symbols(self, symbols: Iterable[str]) -> None:
        gone = frozenset(symbols) & self.symbols
        self.symbols -= gone
        if gone and self._socket is not None and self._unsubscribe is not None:
            await self._send_all(self._unsubscribe(gone))

    # -- lifecycle ------------------------------------------------------------------------------

    async def close(self) -> None:
        self._closing = True
        if self._socket is not None:
            await self._socket.close()

    def reconnect(self, reason: str) -> None:
        """Drop the current connection and let :meth:`run` connect again (with backoff), which
        resubscribes and resyncs the books: for a venue that announces a restart. Callable from
        a frame handler; does nothing while disconnected or closing."""
        socket = self._socket
        if socket is None or self._closing or self._dropping is not None:
            return
        self.counters.requested_reconnects += 1
        logger.warning("%s: reconnecting: %s", self.name, reason)
        self._dropping = asyncio.get_running_loop().create_task(self._drop(socket))

    async def _drop(self, socket: ClientConnection) -> None:
        """Close ``socket`` (the session reading it then ends and :meth:`run` reconnects)."""
        try:
            await socket.close(CloseCode.GOING_AWAY, "reconnect")
        finally:
            self._dropping = None

    async def run(self) -> None:
        """Connect, subscribe and read until :meth:`close`; reconnect after every drop."""
        attempt = 0
        while not self._closing:
            try:
                url = self._url if isinstance(self._url, str) else await self._url()
                async with connect(url, **self._connect_kwargs) as socket:
                    self._socket = socket
                    self.counters.connects += 1
                    attempt = 0
                    await self._session(socket)
            except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
                if self._socket is None:
                    self.counters.failed_connects += 1
                logger.warning("%s: connection lost: %s", self.name, exc)
            finally:
                if self._socket is not None:
                    self.counters.disconnects += 1
                    if self._on_disconnect is not None and not self._closing:
                        self._on_disconnect()  # lost, not closed: what it fed is now stale
                self._socket = None
                self.connected.clear()
            if self._closing:
                break
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            await asyncio.sleep(delay)

    async def _session(self, socket: ClientConnection) -> None:
        if self.symbols:
            await self._send_all(self._subscribe(self.symbols))
        if self._on_connect is not None:
            result = self._on_connect()
            if result is not None:
                await result
        self.connected.set()
        helpers = [asyncio.create_task(self._watch_idle(socket, self.idle_timeout_s))]
        if self._keepalive is not None:
            helpers.append(asyncio.create_task(self._ping_loop(socket)))
        try:
            async for message in socket:
                frame = message.encode() if isinstance(message, str) else bytes(message)
                now = self._clock()
                self.counters.messages_in += 1
                self.counters.bytes_in += len(frame)
                self.counters.last_message_ns = now
                if await self._answer_ping(socket, frame):
                    continue
                try:
                    self._on_frame(frame, now)
                except Exception:  # a handler bug must not kill the connection
                    self.counters.handler_errors += 1
                    logger.exception("%s: frame handler failed", self.name)
        finally:
            for helper in helpers:
                helper.cancel()

    async def _watch_idle(self, socket: ClientConnection, timeout_s: float) -> None:
        """Drop the session once it has delivered no frame for ``timeout_s`` while holding
        symbols (without them nothing need arrive).

        Polls the message counter :data:`IDLE_CHECKS` times per timeout instead of timing every
        frame, so the frame path pays nothing for the watch.
        """
        loop = asyncio.get_running_loop()
        seen, since = self.counters.messages_in, loop.time()
        while True:
            await asyncio.sleep(timeout_s / IDLE_CHECKS)
            now = loop.time()
            if self.counters.messages_in != seen or not self.symbols:
                seen, since = self.counters.messages_in, now
            elif now - since >= timeout_s:
                self.counters.idle_timeouts += 1
                logger.warning("%s: no frame for %.1f s; reconnecting", self.name, now - since)
                await socket.close(CloseCode.GOING_AWAY, "idle")
                return

    async def _answer_ping(self, socket: ClientConnection, frame: Frame) -> bool:
        if self._keepalive is None or self._keepalive.answer is None:
            return False
        reply = self._keepalive.answer(frame)
        if reply is None:
            return False
        await socket.send(reply)
        self.counters.pings_answered += 1
        return True

    async def _ping_loop(self, socket: ClientConnection) -> None:
        assert self._keepalive is not None
        build = self._keepalive.ping
        while True:
            await asyncio.sleep(self._keepalive.interval_s)
            if build is not None:
                await socket.send(build())
            else:
                await socket.ping()
            self.counters.pings_sent += 1

    async def _send_all(self, messages: list[str]) -> None:
        assert self._socket is not None
        for message in messages:
            await self._socket.send(message)
            self.counters.messages_out += 1
