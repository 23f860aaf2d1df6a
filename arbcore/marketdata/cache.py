"""LRU + TTL cache for slow-changing REST data (instrument lists, fee schedules).

One fetch per key at a time: concurrent callers of :meth:`TTLCache.get_or_fetch` for a key that
is missing share one request instead of each hitting the venue's rate limit.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import attrs

__all__ = ["CacheStats", "TTLCache"]

V = TypeVar("V")


@attrs.define
class CacheStats:
    hits: int = 0
    misses: int = 0
    expired: int = 0
    evicted: int = 0


class TTLCache(Generic[V]):
    """At most ``maxsize`` entries, each valid ``ttl_s`` seconds; least recently used go first."""

    def __init__(
        self, maxsize: int = 256, ttl_s: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if maxsize <= 0 or ttl_s <= 0:
            raise ValueError("maxsize and ttl_s must be positive")
        self.maxsize = maxsize
        self.ttl_s = ttl_s
        self.stats = CacheStats()
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[V]] = {}

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            self.stats.expired += 1
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return value

    def set(self, key: Hashable, value: V) -> None:
        self._entries[key] = (self._clock() + self.ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
            self.stats.evicted += 1

    def invalidate(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    async def get_or_fetch(self, key: Hashable, fetch: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or one shared ``fetch()`` for everyone waiting on this key."""
        value = self.get(key)
        if value is not None:
            return value
        pending = self._inflight.get(key)
        if pending is not None:
            return await pending
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as unhandled
            raise
        finally:
            self._inflight.pop(key, None)
        self.set(key, value)
        future.set_result(value)
        return value
