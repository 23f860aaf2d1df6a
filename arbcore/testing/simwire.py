"""What the simulator's venue tests share: queued frames, in-process requests, a live client.

The feed tests drive a venue server without sockets: they join its hub, hand it the client's
frames (``server.answer``), step the market and read what was queued for the connection
(:func:`queued_texts`, :func:`record_steps`, with an account trading now and then:
:func:`trade_now_and_then`); REST goes through the app in process (:func:`asgi_get`). The live
tests run a venue's data client against the simulator over loopback (:func:`running_client`)
and wait for what they expect with :func:`until` (stepping the market if asked) inside :func:`run`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx
from starlette.types import ASGIApp

from arbcore.marketdata.client import BookClient
from arbcore.marketdata.records import Record
from arbcore.model import OrderSide, OrderType
from arbcore.sim.engine import MatchingEngine
from arbcore.sim.server import Simulator
from arbcore.sim.stream import Subscriber
from arbcore_ext.book import ASK

__all__ = [
    "asgi_get",
    "queued_texts",
    "record_steps",
    "run",
    "running_client",
    "trade_now_and_then",
    "until",
]

ClientT = TypeVar("ClientT", bound=BookClient)


def queued_texts(subscriber: Subscriber) -> list[str]:
    """The frames waiting for a connection (what its pump would send), taken off its queue."""
    texts = []
    while not subscriber.queue.empty():
        frame = subscriber.queue.get_nowait()
        assert frame is not None
        texts.append(frame.text)
    return texts


def asgi_get(app: ASGIApp, path: str) -> httpx.Response:
    """``GET path`` through a venue's app in process (no event loop may be running)."""

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get(path)

    return asyncio.run(fetch())


def record_steps(
    sim: Simulator,
    venue: str,
    subscriber: Subscriber,
    steps: int,
    *,
    between: Callable[[int], None] | None = None,
) -> list[Record]:
    """Step the market ``steps`` times (``between(step)`` after each), then publish once more:
    every frame queued for the connection meanwhile, as WebSocket records to replay."""
    records: list[Record] = []

    def frames() -> None:
        records.extend(Record(kind="ws", ts_ns=0, payload=text.encode())
                       for text in queued_texts(subscriber))  # fmt: skip

    for step in range(steps):
        sim.step()
        frames()
        if between is not None:
            between(step)
    sim.servers[venue].publish()
    frames()
    return records


def trade_now_and_then(
    engine: MatchingEngine, step: int, *, market_raw: int, limit_raw: int, below_raw: int
) -> None:
    """Every seventh step an account trades too: a market buy that takes, and a limit buy
    ``below_raw`` under the best ask, which the market may run over later."""
    if step % 7 != 3:
        return
    best_ask = engine.best(ASK)
    assert best_ask is not None
    engine.place("trader", OrderSide.BUY, OrderType.MARKET, market_raw)
    engine.place("trader", OrderSide.BUY, OrderType.LIMIT, limit_raw,
                 price_raw=best_ask - below_raw)  # fmt: skip


@asynccontextmanager
async def running_client(client: ClientT, symbols: Iterable[str]) -> AsyncIterator[ClientT]:
    """A data client subscribed to ``symbols`` and running until the block ends."""
    await client.add_symbols(symbols)
    runner = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(runner, timeout=5)


async def until(
    condition: Callable[[], bool],
    step: Callable[[], None] | None = None,
    timeout_s: float = 5.0,
    poll_s: float = 0.01,
) -> None:
    """Wait (stepping the market if asked) until ``condition`` holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        if step is not None:
            step()
        await asyncio.sleep(poll_s)


def run(test: Callable[[], Awaitable[None]], timeout_s: float = 30.0) -> None:
    """Run one async test body on a fresh loop, bounded by ``timeout_s``."""
    asyncio.run(asyncio.wait_for(test(), timeout=timeout_s))
