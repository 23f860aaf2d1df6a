"""WebSocket fan-out for a simulated venue: subscriptions, one queue per connection, faults.

The venue publishes each frame once, on a stream name; every connection subscribed to that name
gets it through its own queue, so one slow client delays nobody else. The pump that drains a
connection's queue onto its socket is where the wire faults strike (drop, delay, reorder, and
gap for book deltas), so every venue gets them the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs

from arbcore.sim.faults import Fault, FaultInjector

__all__ = ["Outgoing", "StreamHub", "Subscriber"]


@attrs.frozen
class Outgoing:
    """One frame for one connection; ``stream`` None for replies (acks, pongs)."""

    text: str
    stream: str | None = None
    is_delta: bool = False  # a book delta: the GAP fault may lose it


class Subscriber:
    """One connection: the streams it wants and the frames waiting for it."""

    def __init__(self) -> None:
        self.streams: set[str] = set()
        self.queue: asyncio.Queue[Outgoing | None] = asyncio.Queue()
        self.sent = 0


Send = Callable[[Outgoing], Awaitable[None]]


class StreamHub:
    """Every connection of one venue (see the module docstring)."""

    def __init__(self, venue: str, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        self.subscribers: list[Subscriber] = []
        self.drops = 0

    def join(self) -> Subscriber:
        subscriber = Subscriber()
        self.subscribers.append(subscriber)
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)
        subscriber.queue.put_nowait(None)

    def publish(self, stream: str, text: str, *, is_delta: bool = False) -> None:
        frame = Outgoing(text, stream, is_delta)
        for subscriber in self.subscribers:
            if stream in subscriber.streams:
                subscriber.queue.put_nowait(frame)

    @staticmethod
    def reply(subscriber: Subscriber, text: str) -> None:
        subscriber.queue.put_nowait(Outgoing(text))

    async def pump(
        self, subscriber: Subscriber, send: Send, close: Callable[[], Awaitable[None]]
    ) -> None:
        """Send a connection's frames, faults applied, until it leaves or is dropped."""
        faults, venue = self.faults, self.venue
        held: Outgoing | None = None
        while True:
            frame = await subscriber.queue.get()
            if frame is None:
                return
            if faults.strikes(Fault.DROP, venue):
                self.drops += 1
                self.leave(subscriber)
                await close()
                return
            if frame.is_delta and faults.strikes(Fault.GAP, venue):
                continue
            if faults.strikes(Fault.DELAY, venue):
                await asyncio.sleep(faults.config(venue).delay_ms / 1000.0)
            if held is None and faults.strikes(Fault.REORDER, venue):
                held = frame
                continue
            await send(frame)
            subscriber.sent += 1
            if held is not None:
                await send(held)
                subscriber.sent += 1
                held = None
