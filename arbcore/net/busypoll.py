"""A busy-polling asyncio event loop: the core never sleeps, and idle time does useful work.

A decision runs once in tens of market-data frames, and on a shared machine time alone cools
the caches: a loop that sleeps in ``epoll_wait`` between frames wakes to a cold decision. This
loop's selector (:class:`BusyPollSelector`) never blocks: ``select(timeout)`` polls the wrapped
selector with timeout 0 and, while nothing is ready and the timeout has not passed, calls an
idle hook between polls (the engine's :meth:`~arbcore.engine.Engine.idle`: a rehearsal of the
compiled decision). Socket events and timers are delivered as by the plain loop, at most one
hook call later. It burns the core it runs on: opt in with ``[system] busy_poll = true`` (and
pin it with ``cpu``).

Without ``spin`` (what ``arbcore run`` uses when ``busy_poll`` is off) the loop sleeps in the
selector as the plain loop does, but first calls the hook while it reports work done (the
engine's :meth:`~arbcore.engine.Engine.idle_work`: the audit trail's held records made rows),
polling between calls: deferred work is done while no message waits, on the loop's own thread,
rather than by a thread that would take the GIL from the loop when a message comes.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["BusyPollEventLoop", "BusyPollSelector", "busy_poll_loop"]


class BusyPollSelector(selectors.BaseSelector):
    """``inner`` (default: the platform's selector) whose :meth:`select` never blocks: it polls
    with timeout 0 and calls ``idle()`` between polls until something is ready or ``timeout``
    (seconds; None: forever) has passed. A timeout of 0 or less polls once, with no hook call,
    so ready callbacks are never held up. ``clock``: seconds, monotonic. ``spin=False``: it
    calls ``idle()`` between polls only while the hook returns true (work done), then blocks
    in ``inner`` for the rest of ``timeout``."""

    def __init__(
        self,
        idle: Callable[[], object],
        inner: selectors.BaseSelector | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        spin: bool = True,
    ) -> None:
        self._inner = selectors.DefaultSelector() if inner is None else inner
        self._idle = idle
        self._clock = clock
        self.spin = spin
        #: polls made, and idle hook calls (what a test or a status line reads)
        self.polls = 0
        self.idle_calls = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        inner, idle, clock = self._inner, self._idle, self._clock
        ready = inner.select(0)
        self.polls += 1
        if ready or (timeout is not None and timeout <= 0):
            return ready
        deadline = None if timeout is None else clock() + timeout
        while True:
            worked = idle()
            self.idle_calls += 1
            ready = inner.select(0)
            self.polls += 1
            if ready or (deadline is not None and clock() >= deadline):
                return ready
            if not (self.spin or worked):  # nothing left to do: sleep as the plain loop does
                return inner.select(None if deadline is None else max(0.0, deadline - clock()))

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


class BusyPollEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a :class:`BusyPollSelector` calling ``idle`` while nothing is ready
    (without ``spin``: while nothing is ready and it does work, then sleeping)."""

    def __init__(self, idle: Callable[[], object], *, spin: bool = True) -> None:
        self.busy_selector = BusyPollSelector(idle, spin=spin)
        super().__init__(self.busy_selector)


def busy_poll_loop(idle: Callable[[], object], *, spin: bool = True
                   ) -> Callable[[], asyncio.AbstractEventLoop]:  # fmt: skip
    """A loop factory for ``asyncio.Runner(loop_factory=...)``: busy-polling loops calling
    ``idle`` between polls (``spin=False``: calling it before sleeping, while it does work)."""
    return lambda: BusyPollEventLoop(idle, spin=spin)
