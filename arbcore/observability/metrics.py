"""Prometheus metrics that cost the decision path (almost) nothing.

Almost everything an operator wants to count is already counted by the part it happens in:
the engine's :class:`~arbcore.engine.EngineStats`, each book's
:class:`~arbcore.marketdata.sync.BookCounters`, each WebSocket's
:class:`~arbcore.net.ws.ConnectionCounters`, each REST client's request and failure counts, each
rate limiter's budgets, the risk engine's refusals. :class:`ArbcoreCollector` is a custom
Prometheus collector that reads those plain integers when ``/metrics`` is scraped, so counting
adds no instruction to the hot path. Only two things have no counter of their own and are kept
by :class:`DecisionMetrics`, which the engine owns: opportunities by ``(kind, venue)`` (a
Counter increment) and the frame-to-decision latency histogram (a bisect and a list
increment: :class:`LatencyHistogram`).

Each collector lives in its own :class:`~prometheus_client.CollectorRegistry`
(:func:`registry_for`), never the process-global default, so several engines (and tests) do not
collide; :func:`render` gives the ``/metrics`` body.

Metric names (the seed's, then arbcore's own):

======================================================  ======================================
``arbitrage_opportunities_detected_total{kind,venue}``  counter: opportunities found
``arbitrage_trades_executed_total``                     counter: trades executed
``arbitrage_profit_usd_total``                          gauge: realised PnL since start (USD;
                                                        a gauge because a loss lowers it)
``arbitrage_latency_seconds``                           histogram: frame arrival -> decision
``system_memory_usage_bytes``                           gauge: the process's resident memory
``system_cpu_usage_percent``                            gauge: CPU since the last scrape (100 =
                                                        one core)
``websocket_connections_active{venue}``                 gauge: open market-data connections
``api_requests_per_second{venue}``                      gauge: REST requests since last scrape
``errors_total{type}``                                  counter: api_error, network_error,
                                                        sequence_gap, checksum_mismatch, ...
``strategy_failures_total``                             counter: trades that raised or ended
                                                        unhedged
``book_resyncs_total{venue}``                           counter
``books_stale{venue}``, ``book_age_max_seconds{venue}`` gauges: books out of sync, oldest book
``leg_failures_total``                                  counter: trades needing a repair
``risk_denials_total{rule}``                            counter
``rate_limit_headroom_ratio{venue,budget}``             gauge: share of a budget still free
======================================================  ======================================
"""

from __future__ import annotations

import os
import resource
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from arbcore_ext.crossbook import Counts

if TYPE_CHECKING:  # read by duck type at run time: arbcore.net imports this package
    from arbcore.marketdata.sync import BookSync
    from arbcore.net.http import HttpClient
    from arbcore.net.ws import WsConnection

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_BUCKETS_S",
    "ArbcoreCollector",
    "DecisionMetrics",
    "LatencyHistogram",
    "ProcessSampler",
    "Sources",
    "registry_for",
    "render",
]

#: the Prometheus text format's media type, for the ``/metrics`` response
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: frame arrival -> decision, in seconds: 1 us to 1 s (the decision target is p50 5 us)
LATENCY_BUCKETS_S: tuple[float, ...] = (
    1e-6, 2e-6, 3e-6, 5e-6, 7.5e-6, 1e-5, 1.5e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
    1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1.0,
)  # fmt: skip


class LatencyHistogram:
    """Bucket counts kept as samples arrive: ``counts[i]`` holds the samples in
    ``(bounds[i-1], bounds[i]]``, the last slot those above every bound (Prometheus's ``le``).

    :meth:`observe_ns` is a C-level bisect over a short list of ints plus two increments
    (about 0.1 us); nothing is cumulative until a scrape asks (:meth:`cumulative`).
    """

    __slots__ = ("bounds_ns", "counts", "sum_ns")

    def __init__(self, bounds_s: Sequence[float] = LATENCY_BUCKETS_S) -> None:
        bounds_ns = [round(bound * 1e9) for bound in bounds_s]
        if not bounds_ns or bounds_ns != sorted(set(bounds_ns)) or bounds_ns[0] <= 0:
            raise ValueError(f"histogram bounds must be positive and increasing, were {bounds_s}")
        self.bounds_ns = bounds_ns
        self.counts = [0] * (len(bounds_ns) + 1)
        self.sum_ns = 0

    def observe_ns(self, elapsed_ns: int) -> None:
        self.counts[bisect_left(self.bounds_ns, elapsed_ns)] += 1
        self.sum_ns += elapsed_ns

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, samples <= le)`` pairs ending with ``+Inf``, as Prometheus exposes them."""
        pairs, running = [], 0
        for bound_ns, count in zip(self.bounds_ns, self.counts, strict=False):
            running += count
            pairs.append((_le(bound_ns), running))
        pairs.append(("+Inf", running + self.counts[-1]))
        return pairs

    def quantile_bound_s(self, quantile: float, counts: Sequence[int] | None = None) -> float:
        """The upper bound of the bucket holding ``quantile`` of ``counts`` (these counts, or
        a difference of two snapshots of them): an upper estimate, exact to one bucket.
        ``inf`` when it lies above the last bound, 0.0 when there are no samples."""
        counts = self.counts if counts is None else counts
        total = sum(counts)
        if total == 0:
            return 0.0
        rank, running = quantile * total, 0
        for index, count in enumerate(counts):
            running += count
            if running >= rank and count:
                return self.bounds_ns[index] / 1e9 if index < len(self.bounds_ns) else float("inf")
        return float("inf")


def _le(bound_ns: int) -> str:
    return repr(bound_ns / 1e9)


@attrs.define(slots=True)
class DecisionMetrics:
    """What only the decision path knows, kept by the engine as cheaply as it can be.

    ``detected[kind, venue] += 1`` per opportunity (a :class:`~arbcore_ext.crossbook.Counts`:
    the strategies' compiled pre-checks add their refusals to it in C), ``latency.observe_ns``
    per decision, ``trade_errors += 1`` when a trade's execution raised.
    """

    detected: Counts[tuple[str, str]] = attrs.Factory(Counts)
    latency: LatencyHistogram = attrs.Factory(LatencyHistogram)
    trade_errors: int = 0


class ProcessSampler:
    """Resident memory and CPU use of this process, read when asked (Linux ``/proc``;
    elsewhere peak RSS from ``getrusage``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._last = (clock(), self._cpu_s())

    @staticmethod
    def _cpu_s() -> float:
        times = os.times()
        return times.user + times.system

    def memory_bytes(self) -> int:
        try:
            with open("/proc/self/statm", "rb") as handle:
                return int(handle.read().split()[1]) * self._page
        except (OSError, ValueError, IndexError):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def cpu_percent(self) -> float:
        """CPU time used since the previous call, as a percentage of the wall time (100: one
        core busy all along)."""
        now, cpu = self._clock(), self._cpu_s()
        then, cpu_then = self._last
        self._last = (now, cpu)
        elapsed = now - then
        return 0.0 if elapsed <= 0 else 100.0 * (cpu - cpu_then) / elapsed


def _is_http(candidate: object) -> bool:
    return all(hasattr(candidate, name) for name in ("venue", "requests", "failures", "limiter"))


def _http_of(client: object) -> HttpClient | None:
    """The REST client a venue's trading client sends with (its attribute names vary)."""
    rest = getattr(client, "rest", None)
    for candidate in (getattr(client, "http", None), getattr(client, "client", None),
                      getattr(rest, "http", None)):  # fmt: skip
        if _is_http(candidate):
            return candidate
    return None


class Sources:
    """The parts metrics and alerts read: an engine's (found at read time, since the engine
    builds its clients when it runs) plus any registered by hand."""

    def __init__(self, engine: Any = None, *, process: ProcessSampler | None = None) -> None:
        self.engine = engine
        self.process = process or ProcessSampler()
        self._connections: list[tuple[str, WsConnection]] = []
        self._syncs: list[BookSync] = []
        self._http: list[HttpClient] = []
        self.decisions: DecisionMetrics | None = None

    def add_connection(self, venue: str, connection: WsConnection) -> None:
        self._connections.append((venue, connection))

    def add_sync(self, sync: BookSync) -> None:
        self._syncs.append(sync)

    def add_http(self, client: HttpClient) -> None:
        self._http.append(client)

    # -- what is read -----------------------------------------------------------------------------

    def connections(self) -> Iterator[tuple[str, WsConnection]]:
        yield from self._connections
        for venue, client in sorted(getattr(self.engine, "clients", {}).items()):
            connection = getattr(client, "connection", None)
            if connection is not None and hasattr(connection, "counters"):
                yield venue, connection

    def client_counters(self) -> Iterator[tuple[str, Any]]:
        for venue, client in sorted(getattr(self.engine, "clients", {}).items()):
            counters = getattr(client, "counters", None)
            if counters is not None:
                yield venue, counters

    def syncs(self) -> Iterator[BookSync]:
        yield from self._syncs
        for by_symbol in getattr(self.engine, "syncs", {}).values():
            yield from by_symbol.values()

    def http_clients(self) -> Iterator[HttpClient]:
        yield from self._http
        router = getattr(self.engine, "router", None)
        for client in getattr(router, "venues", {}).values():
            http = _http_of(client)
            if http is not None:
                yield http

    def decision_metrics(self) -> DecisionMetrics | None:
        return self.decisions or getattr(self.engine, "metrics", None)

    def memory_limit_bytes(self) -> int | None:
        limits = getattr(getattr(self.engine, "config", None), "limits", None)
        gigabytes = getattr(limits, "max_memory_gb", None)
        return None if gigabytes is None else int(gigabytes * 2**30)

    def http_totals(self) -> tuple[int, int]:
        """REST requests sent and failed, summed over every client."""
        requests = failures = 0
        for client in self.http_clients():
            requests += client.requests
            failures += client.failures
        return requests, failures

    def venues_connected(self) -> dict[str, bool]:
        """Per venue: its connections are open and every one of its books is in sync."""
        up: dict[str, bool] = {}
        for venue, connection in self.connections():
            up[venue] = up.get(venue, True) and connection.is_open
        for sync in self.syncs():
            up[sync.venue] = up.get(sync.venue, True) and sync.in_sync
        return up

    def mids(self) -> dict[tuple[str, str], float]:
        """Mid price of every synced book, in ticks (a derived figure for volatility)."""
        mids = {}
        for sync in self.syncs():
            book = sync.fresh_book()
            if book is None:
                continue
            bid, ask = book.bbo()
            if bid is not None and ask is not None:
                mids[(sync.venue, sync.symbol)] = (bid + ask) / 2
        return mids


def _sum_by(pairs: Iterable[tuple[str, float]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for key, value in pairs:
        totals[key] = totals.get(key, 0) + value
    return totals


#: BookCounters field -> errors_total type
_BOOK_ERRORS = {"gaps": "sequence_gap", "checksum_failed": "checksum_mismatch",
                "crossed": "crossed_book", "buffer_overflows": "buffer_overflow"}  # fmt: skip
#: ClientCounters field -> errors_total type
_CLIENT_ERRORS = {"malformed": "malformed_message", "snapshot_failures": "snapshot_failure"}


class ArbcoreCollector(Collector):
    """Reads :class:`Sources` at scrape time; see the module docstring for the names."""

    def __init__(self, sources: Sources, clock: Callable[[], float] = time.monotonic) -> None:
        self.sources = sources
        self._clock = clock
        self._requests_seen: dict[str, tuple[float, int]] = {}

    def collect(self) -> Iterable[Metric]:
        yield from self._engine()
        yield from self._latency()
        yield from self._system()
        yield from self._network()
        yield from self._books()
        yield self._errors()

    # -- families ---------------------------------------------------------------------------------

    def _engine(self) -> Iterator[Metric]:
        engine = self.sources.engine
        stats = getattr(engine, "stats", None)
        decisions = self.sources.decision_metrics()
        detected = CounterMetricFamily(
            "arbitrage_opportunities_detected",
            "Arbitrage opportunities found",
            labels=["kind", "venue"],
        )
        if decisions is not None:
            for (kind, venue), count in sorted(decisions.detected.items()):
                detected.add_metric([kind, venue], count)
        elif stats is not None:  # an engine without DecisionMetrics: by kind only
            for kind, count in sorted(stats.opportunities.items()):
                detected.add_metric([kind, ""], count)
        yield detected
        if stats is None:
            return
        yield _counter("arbitrage_trades_executed", "Trades executed", stats.trades)
        profit = GaugeMetricFamily(
            "arbitrage_profit_usd_total", "Realised PnL since the start, USD (falls on a loss)"
        )
        profit.add_metric([], stats.pnl_usd)
        yield profit
        yield _counter("arbitrage_book_updates", "Book updates handled", stats.book_updates)
        failures = stats.unhedged + (decisions.trade_errors if decisions is not None else 0)
        yield _counter("strategy_failures", "Trades whose execution raised or ended unhedged",
                       failures)  # fmt: skip
        yield _counter("leg_failures", "Trades whose legs needed a repair", stats.leg_failures)
        risk = getattr(engine, "risk", None)
        refusals = getattr(risk, "refusals", None) or stats.risk_refused
        yield _labelled(CounterMetricFamily, "risk_denials", "Trades refused by risk, by rule",
                        "rule", refusals.items())  # fmt: skip
        orchestrator = getattr(engine, "orchestrator", None)
        refused = getattr(orchestrator, "refused", {})
        yield _labelled(CounterMetricFamily, "opportunities_not_admitted",
                        "Opportunities the orchestrator did not admit, by reason", "reason",
                        refused.items())  # fmt: skip
        if risk is not None:
            daily = GaugeMetricFamily("arbitrage_daily_pnl_usd", "Realised PnL today, USD")
            daily.add_metric([], risk.daily_pnl_usd)
            yield daily
            state = GaugeMetricFamily("trading_state", "1 for the current trading state",
                                      labels=["state"])  # fmt: skip
            for member in type(risk.state):
                state.add_metric([member.value], 1.0 if member is risk.state else 0.0)
            yield state

    def _latency(self) -> Iterator[Metric]:
        decisions = self.sources.decision_metrics()
        histogram = decisions.latency if decisions is not None else LatencyHistogram()
        yield HistogramMetricFamily(
            "arbitrage_latency_seconds", "Frame arrival to trading decision, seconds",
            buckets=histogram.cumulative(), sum_value=histogram.sum_ns / 1e9,
        )  # fmt: skip

    def _system(self) -> Iterator[Metric]:
        process = self.sources.process
        memory = GaugeMetricFamily("system_memory_usage_bytes", "Resident memory of the process")
        memory.add_metric([], process.memory_bytes())
        yield memory
        limit = self.sources.memory_limit_bytes()
        if limit is not None:
            yield _gauge("system_memory_limit_bytes", "Configured memory limit", limit)
        yield _gauge("system_cpu_usage_percent", "CPU use since the last scrape (100 = one core)",
                     process.cpu_percent())  # fmt: skip

    def _network(self) -> Iterator[Metric]:
        active = _sum_by((venue, float(connection.is_open))
                         for venue, connection in self.sources.connections())  # fmt: skip
        yield _labelled(
            GaugeMetricFamily,
            "websocket_connections_active",
            "Open market-data WebSocket connections",
            "venue",
            active.items(),
        )
        now = self._clock()
        rates = GaugeMetricFamily("api_requests_per_second",
                                  "REST requests per second since the last scrape",
                                  labels=["venue"])  # fmt: skip
        headroom = GaugeMetricFamily("rate_limit_headroom_ratio",
                                     "Share of a rate-limit budget still free",
                                     labels=["venue", "budget"])  # fmt: skip
        sent = _sum_by((client.venue, client.requests) for client in self.sources.http_clients())
        for venue, total in sorted(sent.items()):
            then, before = self._requests_seen.get(venue, (now, int(total)))
            elapsed = now - then
            rates.add_metric([venue], (total - before) / elapsed if elapsed > 0 else 0.0)
            self._requests_seen[venue] = (now, int(total))
        for client in self.sources.http_clients():
            if client.limiter is not None:
                for budget, share in sorted(client.limiter.headroom().items()):
                    headroom.add_metric([client.venue, budget], share)
        yield rates
        yield headroom

    def _books(self) -> Iterator[Metric]:
        resyncs: dict[str, float] = {}
        stale: dict[str, float] = {}
        oldest: dict[str, float] = {}
        now_ns = time.time_ns()
        for sync in self.sources.syncs():
            venue = sync.venue
            resyncs[venue] = resyncs.get(venue, 0) + sync.counters.resyncs
            stale[venue] = stale.get(venue, 0) + (0 if sync.in_sync else 1)
            age = getattr(sync, "age_ns", None)  # None: not known (no receive time)
            age_ns = age(now_ns) if age is not None else None
            if age_ns is not None:
                oldest[venue] = max(oldest.get(venue, 0.0), max(0, age_ns) / 1e9)
        yield _labelled(CounterMetricFamily, "book_resyncs", "Books resynchronised", "venue",
                        resyncs.items())  # fmt: skip
        yield _labelled(GaugeMetricFamily, "books_stale", "Books not in sync now", "venue",
                        stale.items())  # fmt: skip
        yield _labelled(
            GaugeMetricFamily,
            "book_age_max_seconds",
            "Age of the oldest synced book's last update",
            "venue",
            oldest.items(),
        )

    def _errors(self) -> Metric:
        errors: Counter[str] = Counter()
        for sync in self.sources.syncs():
            for field, kind in _BOOK_ERRORS.items():
                errors[kind] += getattr(sync.counters, field, 0)
        for _venue, counters in self.sources.client_counters():
            for field, kind in _CLIENT_ERRORS.items():
                errors[kind] += getattr(counters, field, 0)
        for _venue, connection in self.sources.connections():
            counters = connection.counters
            errors["network_error"] += counters.failed_connects + counters.idle_timeouts
            errors["handler_error"] += counters.handler_errors
        for client in self.sources.http_clients():
            errors["api_error"] += client.failures
            if client.limiter is not None:
                errors["rate_limited"] += client.limiter.venue_blocks
        for kind in ("api_error", "network_error", "sequence_gap", "checksum_mismatch"):
            errors.setdefault(kind, 0)  # the documented types are always present
        return _labelled(CounterMetricFamily, "errors", "Errors by type", "type", errors.items())


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _labelled(kind: type[CounterMetricFamily] | type[GaugeMetricFamily], name: str,
              documentation: str, label: str, values: Iterable[tuple[str, float]]
              ) -> CounterMetricFamily | GaugeMetricFamily:  # fmt: skip
    family = kind(name, documentation, labels=[label])
    for key, value in sorted(values):
        family.add_metric([key], value)
    return family


def registry_for(sources: Sources | Any) -> CollectorRegistry:
    """A registry of its own holding an :class:`ArbcoreCollector` over ``sources`` (or over
    an engine, wrapped in :class:`Sources`)."""
    if not isinstance(sources, Sources):
        sources = Sources(sources)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ArbcoreCollector(sources))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The ``/metrics`` body (Prometheus text format, :data:`CONTENT_TYPE`)."""
    return generate_latest(registry)
