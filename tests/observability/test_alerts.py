"""Alerts: each rule fires once when its condition starts and resolves once when it ends, to the
log, the event hub's ``system`` topic and a webhook on 127.0.0.1; a failing webhook is counted
and never raises."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pytest

from arbcore.config.schema import ALERT_RULES, AlertsConfig
from arbcore.observability.alerts import SEVERITY, AlertManager, Reading
from arbcore.observability.events import EventHub
from arbcore.observability.metrics import LatencyHistogram

GB = 2**30


class Webhook:
    """A tiny HTTP/1.1 server on 127.0.0.1 keeping each POSTed JSON body (or failing)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))  # fmt: skip
        self.bodies.append(json.loads(await reader.readexactly(length)))
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()


class Script:
    """Readings played in order, one per evaluation, a second apart."""

    def __init__(self, readings: list[dict[str, Any]]) -> None:
        self.readings = readings
        self.step = 0

    def __call__(self) -> Reading:
        fields = self.readings[min(self.step, len(self.readings) - 1)]
        self.step += 1
        return Reading(ts_s=float(self.step), **fields)


def _memory(gigabytes: float) -> dict[str, Any]:
    return {"memory_bytes": int(gigabytes * GB), "memory_limit_bytes": 4 * GB}


def test_an_alert_fires_once_per_episode_and_clears_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 80 %, then 92 % for three evaluations, then 85 %: one episode
    script = Script([_memory(3.2), _memory(3.68), _memory(3.7), _memory(3.69), _memory(3.4)])
    hook = Webhook()

    async def run() -> tuple[list[list[str]], list[Mapping[str, Any]]]:
        hub = EventHub()
        system = hub.subscribe(["system"])
        async with hook as url:
            manager = AlertManager(AlertsConfig(webhook_url=url), script, hub=hub)
            steps = [[f"{a.rule}:{a.state}" for a in manager.evaluate()] for _ in range(6)]
            await manager.aclose()  # waits for the webhooks in flight
        system.close()
        return steps, [event.data async for event in system]

    with caplog.at_level(logging.INFO, logger="arbcore.observability.alerts"):
        steps, events = asyncio.run(run())
    assert steps == [[], ["memory:firing"], [], [], ["memory:resolved"], []]
    assert [(e["rule"], e["state"], e["severity"]) for e in events] == [
        ("memory", "firing", "critical"), ("memory", "resolved", "critical")]  # fmt: skip
    assert events[0]["value"] == pytest.approx(92.0)
    assert events[0]["threshold"] == 90.0
    assert [(b["rule"], b["state"]) for b in hook.bodies] == [("memory", "firing"),
                                                              ("memory", "resolved")]  # fmt: skip
    logged = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records]
    assert logged == [("ERROR", "ALERT memory firing (critical)"),
                      ("INFO", "ALERT memory resolved (critical)")]  # fmt: skip


def _latency(*samples_ns: int) -> tuple[int, ...]:
    histogram = LatencyHistogram()
    for sample in samples_ns:
        histogram.observe_ns(sample)
    return tuple(histogram.counts)


CALM: dict[str, Any] = {
    **_memory(1.0),
    "http_requests": 0,
    "http_failures": 0,
    "latency_counts": _latency(),
    "daily_pnl_usd": 0.0,
    "daily_loss_limit_usd": 500.0,
    "venues_up": {"binance": True, "okx": True},
    "mids": {("binance", "BTC/USDT"): 60_000.0},
    "trades": 0,
    "failed_trades": 0,
}
#: rule -> (a reading that just holds below the threshold, one that trips it); the readings
#: are cumulative, so each is compared with CALM a window earlier
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "memory": (_memory(3.6), _memory(3.61)),
    "api_errors": ({"http_requests": 100, "http_failures": 5},
                   {"http_requests": 100, "http_failures": 6}),
    "detection_latency": ({"latency_counts": _latency(*[5_000] * 99, 10_000_000)},
                          {"latency_counts": _latency(*[5_000] * 98, 11_000_000, 11_000_000)}),
    "daily_loss": ({"daily_pnl_usd": -500.0}, {"daily_pnl_usd": -500.01}),
    "connectivity": ({"venues_up": {"binance": True, "okx": True}},
                     {"venues_up": {"binance": True, "okx": False}}),
    "volatility": ({"mids": {("binance", "BTC/USDT"): 61_800.0}},
                   {"mids": {("binance", "BTC/USDT"): 61_801.0}}),
    "strategy_degradation": ({"trades": 10, "failed_trades": 2},
                             {"trades": 10, "failed_trades": 3}),
}  # fmt: skip


@pytest.mark.parametrize("rule", ALERT_RULES)
def test_each_rule_trips_just_past_its_threshold_with_its_severity(rule: str) -> None:
    below, above = CASES[rule]
    config = AlertsConfig(disconnected_s=0.0)

    def run(change: dict[str, Any]) -> list[str]:
        manager = AlertManager(config, Script([CALM, {**CALM, **change}]))
        return [f"{a.rule}:{a.severity}" for _ in range(2) for a in manager.evaluate()]

    assert run(below) == []
    assert run(above) == [f"{rule}:{SEVERITY[rule]}"]


def test_connectivity_waits_for_the_grace_period_and_a_disabled_rule_stays_quiet() -> None:
    down = {**CALM, "venues_up": {"binance": True, "okx": False}}
    manager = AlertManager(AlertsConfig(disconnected_s=2.0), Script([CALM, down, down, down]))
    fired = [[a.message for a in manager.evaluate()] for _ in range(4)]
    assert fired[:3] == [[], [], []]  # down at t=2 and t=3: not yet 2 s
    assert fired[3] == ["no connection or stale books for 2s on okx"]
    quiet = AlertManager(AlertsConfig(disabled=("memory",)), Script([{**CALM, **_memory(4)}]))
    assert quiet.evaluate() == []


def test_a_failing_webhook_is_counted_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    async def run(make_url: Callable[[str], str], status: int) -> AlertManager:
        async with Webhook(status) as url:
            config = AlertsConfig(webhook_url=make_url(url), webhook_timeout_s=1.0)
            manager = AlertManager(config, Script([{**CALM, **_memory(4)}, CALM]))
            states = [a.state for a in manager.evaluate() + manager.evaluate()]
            assert states == ["firing", "resolved"]
            await manager.aclose()
        return manager

    refused = asyncio.run(run(lambda url: "http://127.0.0.1:9/nothing-listens", 200))
    erroring = asyncio.run(run(lambda url: url, 500))
    assert (refused.webhook_failures, refused.webhooks_sent) == (2, 0)
    assert (erroring.webhook_failures, erroring.webhooks_sent) == (2, 0)
    assert sum("alert webhook failed" in r.getMessage() for r in caplog.records) == 4


def test_the_timer_evaluates_until_cancelled_and_one_off_alerts_are_sent() -> None:
    async def run() -> tuple[int, list[str]]:
        hub = EventHub()
        system = hub.subscribe(["system"])
        script = Script([CALM])
        manager = AlertManager(attrs.evolve(AlertsConfig(), interval_s=0.01), script, hub=hub)
        task = asyncio.create_task(manager.run())
        await asyncio.sleep(0.2)
        manager.notify("unhedged", "trade abc is unhedged: +0.1 ETH")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        system.close()
        return script.step, [e.data["message"] async for e in system]

    steps, messages = asyncio.run(run())
    assert steps >= 5
    assert messages == ["trade abc is unhedged: +0.1 ETH"]
