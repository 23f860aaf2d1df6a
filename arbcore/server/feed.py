"""The ``system`` stream's two periodic events: what has no event to publish it from.

The engine publishes what happens as it happens (audit rows on ``trades``, trading state on
``system``, tops of book on ``market-data``: see :mod:`arbcore.observability.publish`). Two
things on ``system`` are not events but readings of time, so :class:`EngineFeed` looks every
``interval_s`` (0.1 s), and only while someone listens to ``system``:

- ``health`` when a venue's readiness changes: a venue is ready while its connection is open,
  its books are in sync *and* a message arrived in the last few seconds, and that last part
  changes with the clock, with no message to say so;
- ``status`` (the ``/status`` document) once a second, a heartbeat by design.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arbcore.server.target import EngineControl

__all__ = ["EngineFeed"]

STATUS_EVERY_S = 1.0


class EngineFeed:
    """Publishes ``health`` changes and the periodic ``status`` of an
    :class:`~arbcore.server.target.EngineControl`'s engine; see the module docstring."""

    def __init__(self, control: EngineControl, *, interval_s: float = 0.1) -> None:
        self.control = control
        self.interval_s = interval_s
        self._ready: dict[str, tuple[bool, bool]] = {}
        self._status_due = 0.0

    async def run(self) -> None:
        while True:
            self.step()
            await asyncio.sleep(self.interval_s)

    def step(self) -> None:
        """One look, if anyone listens to ``system``."""
        hub = self.control.events
        if not hub.listened("system"):
            return
        for venue, view in self.control.health()["venues"].items():
            now = (bool(view["connected"]), bool(view["ready"]))
            if self._ready.get(venue) != now:
                self._ready[venue] = now
                hub.publish("system", "health", {"venue": venue, **view})
        moment = time.monotonic()
        if moment >= self._status_due:
            self._status_due = moment + STATUS_EVERY_S
            hub.publish("system", "status", self.control.status())
