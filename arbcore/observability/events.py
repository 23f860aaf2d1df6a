"""What the engine tells the outside world, without ever waiting for it.

The engine publishes :class:`Event`\\ s on named topics (``trades``: orders and fills;
``system``: state changes, alerts, health; ``market-data``: tops of book); the control API's
WebSocket streams, the alert evaluator and tests subscribe. Publishing never blocks and never
grows memory without bound: every subscriber has a bounded queue, and a subscriber that does not
keep up loses its oldest events (counted in :attr:`Subscription.dropped`), so one slow reader can
never back-pressure the decision path. A topic nobody listens to costs one dict lookup.

All of it runs on the engine's event loop (publish from that loop only).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import attrs

__all__ = ["TOPICS", "Event", "EventHub", "Subscription"]

#: the topics the engine publishes on
TOPICS = ("trades", "system", "market-data")


@attrs.frozen(slots=True)
class Event:
    """One thing that happened: ``kind`` says what (``order``, ``fill``, ``state``, ``alert``,
    ``health``, ``quote``, ...), ``data`` is JSON-ready (str, int, float, bool, None, lists and
    dicts of those), ``ts_ns`` is the engine clock (recorded time in a backtest)."""

    topic: str
    kind: str
    ts_ns: int
    data: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "kind": self.kind,
            "ts_ns": self.ts_ns,
            "data": dict(self.data),
        }


class Subscription:
    """A bounded queue of events on some topics; iterate it, or ``await get()``."""

    def __init__(self, hub: EventHub, topics: frozenset[str], maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"a subscription needs room for one event, maxsize was {maxsize}")
        self.topics = topics
        self.maxsize = maxsize
        self.dropped = 0  # events lost because this subscriber fell behind
        self.delivered = 0
        self._hub = hub
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def offer(self, event: Event) -> None:
        """Queue an event, dropping the oldest one when full (called by the hub)."""
        queue = self._queue
        if queue.qsize() >= self.maxsize:
            queue.get_nowait()
            self.dropped += 1
        queue.put_nowait(event)

    async def get(self) -> Event | None:
        """The next event, or None once the subscription is closed and drained."""
        if self._closed and self._queue.empty():
            return None
        event = await self._queue.get()
        if event is not None:
            self.delivered += 1
        return event

    def close(self) -> None:
        """Stop receiving; a reader waiting in :meth:`get` wakes with None."""
        if self._closed:
            return
        self._closed = True
        self._hub.unsubscribe(self)
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self.get()) is not None:
            yield event


class EventHub:
    """Topic -> subscribers; see the module docstring."""

    def __init__(self, clock_ns: Any = time.time_ns) -> None:
        self._clock_ns = clock_ns
        self._subscribers: dict[str, list[Subscription]] = {}
        self.published = 0

    def subscribe(self, topics: Iterable[str], *, maxsize: int = 1_000) -> Subscription:
        wanted = frozenset(topics)
        unknown = wanted - set(TOPICS)
        if unknown:
            raise ValueError(f"unknown topics {sorted(unknown)}; known: {', '.join(TOPICS)}")
        subscription = Subscription(self, wanted, maxsize)
        for topic in wanted:
            self._subscribers.setdefault(topic, []).append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        for topic in subscription.topics:
            listeners = self._subscribers.get(topic)
            if listeners and subscription in listeners:
                listeners.remove(subscription)
                if not listeners:
                    del self._subscribers[topic]

    @property
    def topics(self) -> dict[str, list[Subscription]]:
        """The live topic -> subscriptions table ``listened`` reads (a compiled caller such as
        the engine's book callback looks a topic up in it without a Python call). Read only."""
        return self._subscribers

    def listened(self, topic: str) -> bool:
        """Whether anyone listens: lets a publisher skip building an event nobody reads."""
        return topic in self._subscribers

    def subscribers(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    def publish(
        self, topic: str, kind: str, data: Mapping[str, Any], ts_ns: int | None = None
    ) -> None:
        listeners = self._subscribers.get(topic)
        if not listeners:
            return
        event = Event(topic, kind, self._clock_ns() if ts_ns is None else ts_ns, data)
        self.published += 1
        for subscription in listeners:
            subscription.offer(event)
