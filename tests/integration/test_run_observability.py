"""`arbcore run` on the demo configuration, as a real process, watched through what it serves:
the control API's health, Prometheus metrics parsed with prometheus_client's own parser, a stop
command that halts trading, and one trade's trace id in the audit trail, the JSON log and
`/orders`.

(Shadow trades never reach the simulator's REST API, so the ``traceparent`` a venue receives is
shown where a real REST trade runs: tests/observability/test_tracing.py, the router and the
Binance client against the simulator's app.)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from arbcore.cli_run import run_observed
from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.observability.events import Event
from arbcore.storage.audit import RecordKind, read_records

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-token-8d1a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RUN_S = 8.0
#: the issue's metric names, and those that must be above zero once trades have happened
SEED_NAMES = ("arbitrage_opportunities_detected", "arbitrage_trades_executed",
              "arbitrage_profit_usd_total", "arbitrage_latency_seconds",
              "system_memory_usage_bytes", "system_cpu_usage_percent",
              "websocket_connections_active", "api_requests_per_second", "errors",
              "strategy_failures")  # fmt: skip
NON_ZERO = ("arbitrage_opportunities_detected_total", "arbitrage_trades_executed_total",
            "arbitrage_latency_seconds_count", "system_memory_usage_bytes",
            "websocket_connections_active")  # fmt: skip
ANNOUNCED = re.compile(r"control API on (http://127\.0\.0\.1:\d+) ")


class Run:
    """One `arbcore run` process and the files its stdout and stderr go to."""

    def __init__(self, folder: Path) -> None:
        self.config = folder / "run.toml"
        self.audit = folder / "audit.db"
        self.config.write_text(
            f'extends = "{ROOT / "config" / "demo.toml"}"\n'
            f'[storage]\npath = "{self.audit}"\nsynchronous = "NORMAL"\n'
            '[logging]\nformat = "json"\nlevel = "DEBUG"\n'
        )
        self.stdout, self.stderr = folder / "stdout.txt", folder / "stderr.txt"
        env = {**os.environ, "ARBCORE_API_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
        env.pop("ARBCORE_LOG", None)
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "arbcore", "run", "--config", str(self.config),
                 "--duration", str(RUN_S)],
                stdout=out, stderr=err, cwd=folder, env=env,
            )  # fmt: skip

    def url(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = ANNOUNCED.search(self.stderr.read_text(errors="replace"))
            if found:
                return found.group(1)
            assert self.process.poll() is None, self.stderr.read_text()[-3000:]
            time.sleep(0.05)
        raise AssertionError("the control API's URL was never announced")

    def log(self) -> list[dict[str, object]]:
        lines = self.stderr.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    started = Run(tmp_path)
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.process.kill()
        started.process.wait(timeout=30)


def _samples(text: str) -> tuple[set[str], dict[str, float]]:
    """Family names, and each sample name's value summed over its labels."""
    families = list(text_string_to_metric_families(text))
    totals: dict[str, float] = {}
    for family in families:
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return {family.name for family in families}, totals


def test_arbcore_run_serves_health_metrics_and_a_stop_that_halts_it(run: Run) -> None:
    url = run.url()
    with httpx.Client(base_url=url, timeout=10.0) as http:
        deadline = time.monotonic() + 30
        while True:  # until every venue is ready and a few trades are done
            health = http.get("/health", headers=AUTH).json()
            status = http.get("/status", headers=AUTH).json()
            if health["ready"] and status["counts"]["trades"] >= 3:
                break
            assert time.monotonic() < deadline, (health, status)
            time.sleep(0.2)
        assert sorted(health["venues"]) == ["binance", "bybit", "kraken", "okx"]
        assert http.get("/health").status_code == 401  # reads need the token (open_reads off)

        metrics = http.get("/metrics", headers=AUTH)
        assert metrics.headers["content-type"].startswith("text/plain; version=")
        names, totals = _samples(metrics.text)
        assert set(SEED_NAMES) <= names
        for name in NON_ZERO:
            assert totals[name] > 0, name

        assert http.post("/trading/stop", json={"reason": "e2e"}).status_code == 401
        stopped = http.post("/trading/stop", headers=AUTH, json={"reason": "e2e"})
        assert stopped.status_code == 200
        trading = http.get("/status", headers=AUTH).json()["trading"]
        assert trading["state"] == "halted"
        assert "e2e" in trading["reason"]
        orders = http.get("/orders", headers=AUTH, params={"limit": 1000}).json()["orders"]
    assert run.process.wait(timeout=RUN_S + 30) == 0, run.stderr.read_text()[-3000:]
    assert "realised PnL (USD)" in run.stdout.read_text()  # the closing summary

    # one trade, followed by its trace id: the audit rows, the log line, /orders
    rows = list(read_records(run.audit))
    (halted,) = [r for r in rows if r.kind is RecordKind.STATE]
    assert halted.payload["state"] == "halted"
    traded = [r.trace_id for r in rows if r.kind is RecordKind.PNL]
    assert traded
    trace_id = traded[0]
    kinds = {r.kind for r in rows if r.trace_id == trace_id}
    assert {RecordKind.OPPORTUNITY, RecordKind.RISK_DECISION, RecordKind.ORDER_REQUEST,
            RecordKind.VENUE_REPLY, RecordKind.PNL} <= kinds  # fmt: skip
    lines = [line for line in run.log() if line.get("trace_id") == trace_id]
    assert any(line["logger"] == "arbcore.engine" and trace_id in str(line["msg"])
               for line in lines), lines  # fmt: skip
    assert trace_id in {order["trace_id"] for order in orders}
    assert TOKEN not in run.stderr.read_text() + run.stdout.read_text()


def test_run_observed_sends_the_router_s_alerts_to_the_alert_manager(tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text(
        f'extends = "{ROOT / "config" / "demo.toml"}"\n'
        f'[storage]\npath = "{tmp_path / "audit.db"}"\nsynchronous = "NORMAL"\n'
        "[server]\nenabled = false\n"
    )
    engine = Engine(load_config(tmp_path / "run.toml", {}))
    system = engine.events.subscribe(["system"])

    async def run() -> list[Event]:
        await run_observed(engine, 1.0)
        assert engine.router is not None
        engine.router._alert("trade abc is unhedged: +0.1 BTC")  # what the router says
        system.close()
        return [event async for event in system]

    (alert,) = [e for e in asyncio.run(run()) if e.data.get("rule") == "execution"]
    assert (alert.kind, alert.data["severity"], alert.data["state"]) == (
        "alert", "critical", "firing")  # fmt: skip
    assert "unhedged" in alert.data["message"]
