"""Per-venue health: connection state, reconnects, message and error rates, REST latency."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import attrs

from arbcore.net.ws import ConnectionCounters

__all__ = ["HealthMonitor", "VenueHealth"]


@attrs.frozen
class VenueHealth:
    """One venue at one moment (rates are per second over the monitor's window)."""

    venue: str
    connected: bool
    reconnects: int
    messages_per_s: float
    errors_per_s: float
    rest_latency_p50_s: float | None
    rest_latency_p99_s: float | None
    rest_failures: int
    seconds_since_message: float | None


@attrs.define
class _Venue:
    counters: ConnectionCounters
    is_connected: Callable[[], bool]
    samples: deque[tuple[float, int, int]] = attrs.Factory(lambda: deque(maxlen=120))
    rest_latencies: deque[float] = attrs.Factory(lambda: deque(maxlen=1000))
    rest_failures: int = 0


class HealthMonitor:
    """Samples each registered connection's counters; call :meth:`sample` periodically."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._venues: dict[str, _Venue] = {}

    def register(
        self, venue: str, counters: ConnectionCounters, is_connected: Callable[[], bool]
    ) -> None:
        self._venues[venue] = _Venue(counters, is_connected)
        self.sample()

    def record_rest(self, venue: str, seconds: float, ok: bool = True) -> None:
        entry = self._venues[venue]
        entry.rest_latencies.append(seconds)
        if not ok:
            entry.rest_failures += 1

    def sample(self) -> None:
        now = self._clock()
        for entry in self._venues.values():
            errors = entry.counters.handler_errors + entry.counters.failed_connects
            entry.samples.append((now, entry.counters.messages_in, errors))

    def health(self, venue: str, now_ns: int | None = None) -> VenueHealth:
        entry = self._venues[venue]
        messages_rate = errors_rate = 0.0
        if len(entry.samples) >= 2:
            (t0, m0, e0), (t1, m1, e1) = entry.samples[0], entry.samples[-1]
            if t1 > t0:
                messages_rate = (m1 - m0) / (t1 - t0)
                errors_rate = (e1 - e0) / (t1 - t0)
        latencies = sorted(entry.rest_latencies)
        last = entry.counters.last_message_ns
        now = time.time_ns() if now_ns is None else now_ns
        return VenueHealth(
            venue=venue,
            connected=entry.is_connected(),
            reconnects=max(0, entry.counters.connects - 1),
            messages_per_s=messages_rate,
            errors_per_s=errors_rate,
            rest_latency_p50_s=_quantile(latencies, 0.50),
            rest_latency_p99_s=_quantile(latencies, 0.99),
            rest_failures=entry.rest_failures,
            seconds_since_message=(now - last) / 1e9 if last else None,
        )


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
