"""Alerts: the seed's rules, evaluated in-process on a timer, once per episode.

Every ``[alerts] interval_s`` the :class:`AlertManager` takes a :class:`Reading` (plain numbers
read from the engine's parts by :class:`~arbcore.observability.metrics.Sources`: nothing is
added to the hot path) and runs each rule over the readings of the last window. A rule that
becomes true *fires* once; it stays firing, silently, while its condition holds, and
*resolves* once when it ends. Both transitions go to the log (critical at ERROR, warnings at
WARNING, resolutions at INFO), to the event hub's ``system`` topic (kind ``alert``; the control
API's ``/system`` stream) and, if configured, to a webhook (an httpx POST of the same JSON). A
webhook that fails is counted (:attr:`AlertManager.webhook_failures`) and logged; it never
raises into the engine and never delays the next evaluation.

The rules (thresholds in :class:`~arbcore.config.schema.AlertsConfig`):

=======================  ========  ==========================================================
``memory``               critical  resident memory over ``memory_pct`` of ``max_memory_gb``
``api_errors``           critical  failed / sent REST requests over ``api_error_rate_pct`` in
                                   the window (at least ``api_min_requests`` sent)
``detection_latency``    critical  p99 frame-to-decision latency in the window over
                                   ``detection_latency_ms``
``daily_loss``           critical  today's realised loss over ``daily_loss_usd`` (default: the
                                   risk limit ``max_daily_loss_usd``)
``connectivity``         warning   a venue with a closed connection or a stale book in every
                                   reading of the last ``disconnected_s``
``volatility``           warning   a mid price moved more than ``volatility_bps`` within
                                   ``volatility_window_s``
``strategy_degradation`` warning   failed / executed trades over ``strategy_failure_pct`` in
                                   the window (at least ``strategy_min_trades``)
=======================  ========  ==========================================================

Other parts can raise a one-off alert (:meth:`AlertManager.notify`: the router's "trade
unhedged"), which fires and needs no resolution.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs
import httpx

from arbcore.config.schema import ALERT_RULES, AlertsConfig
from arbcore.observability.events import EventHub
from arbcore.observability.metrics import LatencyHistogram, Sources

__all__ = [
    "SEVERITY",
    "Alert",
    "AlertManager",
    "Reading",
    "Severity",
    "engine_alerts",
    "read_engine",
]

logger = logging.getLogger(__name__)

Severity = Literal["critical", "warning"]
SEVERITY: Mapping[str, Severity] = {
    "memory": "critical",
    "api_errors": "critical",
    "detection_latency": "critical",
    "daily_loss": "critical",
    "connectivity": "warning",
    "volatility": "warning",
    "strategy_degradation": "warning",
}
assert tuple(SEVERITY) == ALERT_RULES  # one list of rules


@attrs.frozen(kw_only=True)
class Reading:
    """What the rules look at, read at one moment: cumulative counts and current levels."""

    ts_s: float  # monotonic seconds
    memory_bytes: int = 0
    memory_limit_bytes: int | None = None
    http_requests: int = 0
    http_failures: int = 0
    latency_counts: tuple[int, ...] = ()  # the latency histogram's bucket counts
    daily_pnl_usd: float = 0.0
    daily_loss_limit_usd: float | None = None
    venues_up: Mapping[str, bool] = attrs.Factory(dict)
    mids: Mapping[tuple[str, str], float] = attrs.Factory(dict)
    trades: int = 0
    failed_trades: int = 0


@attrs.frozen(kw_only=True)
class Alert:
    """One transition: a rule fired (``state="firing"``) or resolved (``"resolved"``)."""

    rule: str
    severity: Severity
    state: Literal["firing", "resolved"]
    message: str
    value: float | None = None
    threshold: float | None = None
    ts_ns: int = 0

    def as_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


Finding = tuple[float, float, str] | None  # (value, threshold, message) when the rule holds


def read_engine(sources: Sources, clock: Callable[[], float] = time.monotonic) -> Reading:
    """A :class:`Reading` of an engine's parts (see :class:`Sources`)."""
    engine = sources.engine
    requests, failures = sources.http_totals()
    decisions = sources.decision_metrics()
    stats = getattr(engine, "stats", None)
    risk = getattr(engine, "risk", None)
    limits = getattr(risk, "limits", None)
    failed = getattr(stats, "unhedged", 0) + getattr(stats, "leg_failures", 0)
    return Reading(
        ts_s=clock(),
        memory_bytes=sources.process.memory_bytes(),
        memory_limit_bytes=sources.memory_limit_bytes(),
        http_requests=requests,
        http_failures=failures,
        latency_counts=tuple(decisions.latency.counts) if decisions is not None else (),
        daily_pnl_usd=getattr(risk, "daily_pnl_usd", 0.0),
        daily_loss_limit_usd=getattr(limits, "max_daily_loss_usd", None),
        venues_up=sources.venues_connected(),
        mids=sources.mids(),
        trades=getattr(stats, "trades", 0),
        failed_trades=failed + (decisions.trade_errors if decisions is not None else 0),
    )


class AlertManager:
    """Evaluates the rules on a timer and sends each alert once per episode."""

    def __init__(
        self,
        config: AlertsConfig,
        read: Callable[[], Reading],
        *,
        hub: EventHub | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._read = read
        self.hub = hub
        self._clock_ns = clock_ns
        self._transport = transport
        self._history: deque[Reading] = deque()
        self._histogram = LatencyHistogram()  # its bounds, to read latency counts
        self.firing: dict[str, Alert] = {}
        self.sent: list[Alert] = []  # every transition, in order (bounded: see _remember)
        self.webhook_failures = 0
        self.webhooks_sent = 0
        self._webhooks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._rules: dict[str, Callable[[Sequence[Reading]], Finding]] = {
            "memory": self._memory,
            "api_errors": self._api_errors,
            "detection_latency": self._latency,
            "daily_loss": self._daily_loss,
            "connectivity": self._connectivity,
            "volatility": self._volatility,
            "strategy_degradation": self._strategy,
        }

    # -- running ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Evaluate every ``interval_s`` until cancelled (start it as a task of the engine)."""
        try:
            while True:
                self.evaluate()
                await asyncio.sleep(self.config.interval_s)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Wait for webhooks in flight (bounded by their timeout), then close the client."""
        if self._webhooks:
            await asyncio.gather(*self._webhooks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def evaluate(self) -> list[Alert]:
        """Take a reading, run every enabled rule; the transitions this caused."""
        if not self.config.enabled:
            return []
        reading = self._read()
        self._history.append(reading)
        horizon = reading.ts_s - max(self.config.window_s, self.config.volatility_window_s,
                                     self.config.disconnected_s)  # fmt: skip
        while len(self._history) > 1 and self._history[1].ts_s <= horizon:
            self._history.popleft()  # keep one reading at or before the horizon
        transitions = []
        for rule, check in self._rules.items():
            if rule in self.config.disabled:
                continue
            try:
                finding = check(self._history)
            except Exception:  # a rule must never stop the others, nor the engine
                logger.exception("alert rule %s failed", rule)
                continue
            alert = self._transition(rule, finding)
            if alert is not None:
                transitions.append(alert)
        return transitions

    def notify(self, rule: str, message: str, severity: Severity = "critical") -> Alert:
        """A one-off alert from elsewhere (the router's unhedged trade): sent, not tracked."""
        alert = Alert(rule=rule, severity=severity, state="firing", message=message,
                      ts_ns=self._clock_ns())  # fmt: skip
        self._send(alert)
        return alert

    # -- transitions ------------------------------------------------------------------------------

    def _transition(self, rule: str, finding: Finding) -> Alert | None:
        active = self.firing.get(rule)
        if finding is not None and active is None:
            value, threshold, message = finding
            alert = Alert(rule=rule, severity=SEVERITY[rule], state="firing", message=message,
                          value=value, threshold=threshold, ts_ns=self._clock_ns())  # fmt: skip
            self.firing[rule] = alert
        elif finding is None and active is not None:
            del self.firing[rule]
            alert = attrs.evolve(active, state="resolved", ts_ns=self._clock_ns(),
                                 message=f"resolved: {active.message}")  # fmt: skip
        else:
            return None
        self._send(alert)
        return alert

    def _send(self, alert: Alert) -> None:
        self.sent.append(alert)
        del self.sent[:-1000]
        if alert.state == "resolved":
            level = logging.INFO
        else:
            level = logging.ERROR if alert.severity == "critical" else logging.WARNING
        logger.log(level, "ALERT %s %s (%s): %s", alert.rule, alert.state, alert.severity,
                   alert.message)  # fmt: skip
        if self.hub is not None:
            self.hub.publish("system", "alert", alert.as_json(), ts_ns=alert.ts_ns)
        if self.config.webhook_url:
            try:
                task = asyncio.get_running_loop().create_task(self._post(alert))
            except RuntimeError:  # no loop (a synchronous caller): nothing can be sent
                self.webhook_failures += 1
                logger.warning("alert webhook skipped for %s: no event loop", alert.rule)
                return
            self._webhooks.add(task)
            task.add_done_callback(self._webhooks.discard)

    async def _post(self, alert: Alert) -> None:
        url = self.config.webhook_url
        assert url is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.webhook_timeout_s,
                                             transport=self._transport)  # fmt: skip
        try:
            response = await self._client.post(url, json=alert.as_json())
            response.raise_for_status()
        except Exception as exc:  # never into the engine: count, log, go on
            self.webhook_failures += 1
            logger.warning("alert webhook failed for %s %s: %s", alert.rule, alert.state,
                           type(exc).__name__)  # fmt: skip
        else:
            self.webhooks_sent += 1

    # -- the rules --------------------------------------------------------------------------------

    def _window(self, history: Sequence[Reading], span_s: float) -> tuple[Reading, Reading]:
        """The oldest reading within ``span_s`` of the newest (or the oldest held), and the
        newest: rates are the difference of the two."""
        newest = history[-1]
        oldest = next((r for r in history if r.ts_s >= newest.ts_s - span_s), newest)
        return oldest, newest

    def _memory(self, history: Sequence[Reading]) -> Finding:
        now = history[-1]
        if not now.memory_limit_bytes:
            return None
        used = 100.0 * now.memory_bytes / now.memory_limit_bytes
        limit = self.config.memory_pct
        return (used, limit, f"memory at {used:.1f}% of the limit ({now.memory_bytes:,} of "
                f"{now.memory_limit_bytes:,} bytes)") if used > limit else None  # fmt: skip

    def _api_errors(self, history: Sequence[Reading]) -> Finding:
        then, now = self._window(history, self.config.window_s)
        sent = now.http_requests - then.http_requests
        failed = now.http_failures - then.http_failures
        if sent < self.config.api_min_requests:
            return None
        rate = 100.0 * failed / sent
        limit = self.config.api_error_rate_pct
        return (rate, limit, f"{rate:.1f}% of REST requests failed ({failed} of {sent}) in "
                f"the last {self.config.window_s:g}s") if rate > limit else None  # fmt: skip

    def _latency(self, history: Sequence[Reading]) -> Finding:
        then, now = self._window(history, self.config.window_s)
        if not now.latency_counts:
            return None
        before = then.latency_counts or (0,) * len(now.latency_counts)
        counts = [a - b for a, b in zip(now.latency_counts, before, strict=True)]
        p99_ms = self._histogram.quantile_bound_s(0.99, counts) * 1e3
        limit = self.config.detection_latency_ms
        return (p99_ms, limit, f"detection latency p99 up to {p99_ms:g} ms over "
                f"{sum(counts)} decisions in the last {self.config.window_s:g}s"
                ) if p99_ms > limit else None  # fmt: skip

    def _daily_loss(self, history: Sequence[Reading]) -> Finding:
        now = history[-1]
        limit = self.config.daily_loss_usd or now.daily_loss_limit_usd
        loss = -now.daily_pnl_usd
        if limit is None:
            return None
        return (loss, limit, f"loss today {loss:,.2f} USD, over the {limit:,.2f} USD "
                "threshold") if loss > limit else None  # fmt: skip

    def _connectivity(self, history: Sequence[Reading]) -> Finding:
        span = self.config.disconnected_s
        now = history[-1]
        if now.ts_s - history[0].ts_s < span:  # not watched for that long yet
            return None
        covered = [r for r in history if r.ts_s >= now.ts_s - span]
        down = sorted(
            venue
            for venue, up in now.venues_up.items()
            if not up and not any(r.venues_up.get(venue, True) for r in covered)
        )
        return (float(len(down)), 0.0, f"no connection or stale books for {span:g}s on "
                f"{', '.join(down)}") if down else None  # fmt: skip

    def _volatility(self, history: Sequence[Reading]) -> Finding:
        then, now = self._window(history, self.config.volatility_window_s)
        worst, where = 0.0, ""
        for market, mid in now.mids.items():
            old = then.mids.get(market)
            if old:
                move = abs(mid - old) / old * 1e4
                if move > worst:
                    worst, where = move, f"{market[0]} {market[1]}"
        limit = self.config.volatility_bps
        return (worst, limit, f"{where} moved {worst:.0f} bps within "
                f"{self.config.volatility_window_s:g}s") if worst > limit else None  # fmt: skip

    def _strategy(self, history: Sequence[Reading]) -> Finding:
        then, now = self._window(history, self.config.window_s)
        trades = now.trades - then.trades
        failed = now.failed_trades - then.failed_trades
        if trades < self.config.strategy_min_trades:
            return None
        rate = 100.0 * failed / trades
        limit = self.config.strategy_failure_pct
        return (
            (
                rate,
                limit,
                f"{rate:.0f}% of trades failed or needed repair ({failed} of "
                f"{trades}) in the last {self.config.window_s:g}s",
            )
            if rate > limit
            else None
        )


def engine_alerts(engine: Any, sources: Sources, hub: EventHub | None = None,
                  config: AlertsConfig | None = None) -> AlertManager:  # fmt: skip
    """An :class:`AlertManager` over an engine's parts, configured by its ``[alerts]``."""
    config = config or engine.config.system.alerts
    return AlertManager(config, lambda: read_engine(sources), hub=hub)
