"""WsConnection drops a connection that stays open but delivers nothing, and reconnects.

Over loopback (127.0.0.1 only): a local ``websockets`` server accepts, takes the subscribe and
then goes silent while the connection stays up (the server library still answers WebSocket
pings, so a protocol-level keepalive alone would never notice). The client must count the
idle timeout, close, reconnect with backoff and subscribe again on the new connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest
from websockets.asyncio.server import ServerConnection, serve

from arbcore.net.ws import IDLE_INTERVALS, Backoff, Keepalive, WsConnection
from arbcore.testing.loopback import LOOPBACK

IDLE_S = 0.2
FAST_BACKOFF = Backoff(initial_s=0.01, maximum_s=0.02)


@attrs.define
class Server:
    """What the server saw: per connection, the messages received and when it ended."""

    received: list[list[str]] = attrs.Factory(list)
    opened: list[float] = attrs.Factory(list)
    closed: list[float] = attrs.Factory(list)


Behaviour = Callable[[ServerConnection], Awaitable[None]]


async def _silent(socket: ServerConnection) -> None:
    await socket.wait_closed()


async def _chatty(socket: ServerConnection) -> None:
    while True:
        await socket.send('{"tick":1}')
        await asyncio.sleep(0.02)


async def _run(
    behaviour: Behaviour,
    connection_args: dict[str, Any],
    until: Callable[[Server, WsConnection], bool],
    *,
    symbols: tuple[str, ...] = ("BTC/USDT",),
    on_frame: Callable[[WsConnection], None] | None = None,
    timeout_s: float = 5.0,
) -> tuple[Server, WsConnection]:
    server = Server()

    async def handler(socket: ServerConnection) -> None:
        server.opened.append(time.monotonic())
        mine: list[str] = []
        server.received.append(mine)
        listener = asyncio.create_task(_collect(socket, mine))
        try:
            await behaviour(socket)
        finally:
            listener.cancel()
            server.closed.append(time.monotonic())

    async with serve(handler, LOOPBACK, 0) as listening:
        port = listening.sockets[0].getsockname()[1]
        connection: WsConnection

        def frame(_: bytes, __: int) -> None:
            if on_frame is not None:
                on_frame(connection)

        connection = WsConnection(
            f"ws://{LOOPBACK}:{port}",
            on_frame=frame,
            subscribe=lambda names: [json.dumps({"op": "subscribe", "args": sorted(names)})],
            backoff=FAST_BACKOFF,
            **connection_args,
        )
        await connection.add_symbols(symbols)
        runner = asyncio.create_task(connection.run())
        deadline = time.monotonic() + timeout_s
        while not until(server, connection) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await connection.close()
        await asyncio.wait_for(runner, timeout=5)
    return server, connection


async def _collect(socket: ServerConnection, into: list[str]) -> None:
    async for message in socket:
        into.append(message if isinstance(message, str) else message.decode())


def _reconnected(server: Server, connection: WsConnection) -> bool:
    return len(server.received) >= 2 and bool(server.received[1])


def test_a_silent_connection_is_dropped_reconnected_and_resubscribed() -> None:
    # protocol pings every 50 ms: the server library answers them, yet no frame arrives
    keepalive = Keepalive(interval_s=IDLE_S / 4, idle_timeout_s=IDLE_S)
    server, connection = asyncio.run(_run(_silent, {"keepalive": keepalive}, _reconnected))
    counters = connection.counters
    assert counters.idle_timeouts >= 1
    assert counters.connects >= 2
    assert counters.disconnects >= 1
    assert counters.pings_sent >= 2  # the pings were answered, and still nothing arrived
    assert (counters.messages_in, counters.failed_connects) == (0, 0)
    subscribe = json.dumps({"op": "subscribe", "args": ["BTC/USDT"]})
    assert server.received[0] == server.received[1] == [subscribe]  # subscribed again
    silent_for = server.closed[0] - server.opened[0]
    assert IDLE_S <= silent_for < IDLE_S * 1.25 + 1.0  # not before the timeout; soon after


def test_the_idle_timeout_can_come_from_the_connection_alone() -> None:
    server, connection = asyncio.run(_run(_silent, {"idle_timeout_s": IDLE_S}, _reconnected))
    assert connection.idle_timeout_s == IDLE_S
    assert connection.counters.idle_timeouts >= 1
    assert len(server.received) >= 2


def test_a_connection_that_keeps_talking_is_not_dropped() -> None:
    started = time.monotonic()

    def enough(server: Server, connection: WsConnection) -> bool:
        return time.monotonic() - started > 3 * IDLE_S and connection.counters.messages_in >= 20

    server, connection = asyncio.run(_run(_chatty, {"idle_timeout_s": IDLE_S}, enough))
    assert connection.counters.messages_in >= 20
    assert (connection.counters.idle_timeouts, connection.counters.connects) == (0, 1)
    assert len(server.received) == 1


def test_a_connection_without_symbols_may_stay_silent() -> None:
    started = time.monotonic()

    def later(server: Server, connection: WsConnection) -> bool:
        return time.monotonic() - started > IDLE_S * 4

    server, connection = asyncio.run(_run(_silent, {"idle_timeout_s": IDLE_S}, later, symbols=()))
    assert (connection.counters.idle_timeouts, connection.counters.connects) == (0, 1)
    assert server.received == [[]]


def test_reconnect_on_request_drops_the_connection_once() -> None:
    """What a venue's "server restarting" notice asks for (Bitfinex info 20051)."""

    def restart_once(connection: WsConnection) -> None:
        if connection.counters.connects == 1:
            connection.reconnect("the venue restarts")
            connection.reconnect("asked twice: one drop")

    server, connection = asyncio.run(
        _run(_chatty, {"idle_timeout_s": 5.0}, _reconnected, on_frame=restart_once)
    )
    counters = connection.counters
    assert (counters.requested_reconnects, counters.idle_timeouts) == (1, 0)
    assert counters.connects >= 2
    assert len(server.received) >= 2


def test_idle_timeout_defaults_to_a_few_keepalive_intervals() -> None:
    assert Keepalive(interval_s=15.0).idle_s == IDLE_INTERVALS * 15.0
    assert Keepalive(interval_s=15.0, idle_timeout_s=40.0).idle_s == 40.0
    no_keepalive = WsConnection("ws://127.0.0.1:9", on_frame=lambda f, t: None,
                                subscribe=lambda s: [])  # fmt: skip
    assert no_keepalive.idle_timeout_s == IDLE_INTERVALS * Keepalive().interval_s
    with pytest.raises(ValueError, match="idle_timeout_s"):
        Keepalive(idle_timeout_s=0.0)
    with pytest.raises(ValueError, match="idle_timeout_s"):
        WsConnection("ws://127.0.0.1:9", on_frame=lambda f, t: None, subscribe=lambda s: [],
                     idle_timeout_s=-1.0)  # fmt: skip


def test_a_lost_connection_is_reported_and_a_deliberate_close_is_not() -> None:
    """The book client marks its books stale on ``on_disconnect``: a drop must call it (the
    books stopped updating), the user's own ``close`` must not."""
    lost: list[int] = []
    keepalive = Keepalive(interval_s=IDLE_S / 4, idle_timeout_s=IDLE_S)
    args = {"keepalive": keepalive, "on_disconnect": lambda: lost.append(1)}
    _, connection = asyncio.run(_run(_silent, args, _reconnected))
    drops = connection.counters.disconnects
    assert drops >= 2  # the idle drop(s), then the final close
    assert len(lost) == drops - 1  # every drop reported, the close not
