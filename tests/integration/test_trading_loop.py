"""`arbcore run` end to end on the bundled simulator: data in, decisions, shadow trades, audit."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import pytest

from arbcore.cli_run import run_loop
from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.storage import RecordKind, recover
from arbcore.storage.audit import read_records, verify_chain

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = load_config(ROOT / "config" / "demo.toml", {})
    storage = attrs.evolve(config.system.storage, path=str(tmp_path / "audit.db"))
    return attrs.evolve(config, system=attrs.evolve(config.system, storage=storage))


def test_the_engine_finds_trades_and_records_every_step(tmp_path: Path) -> None:
    engine = Engine(_config(tmp_path))
    stats = asyncio.run(asyncio.wait_for(engine.run(6.0), timeout=60))
    assert stats.book_updates > 20
    assert sum(stats.opportunities.values()) > 0
    assert stats.trades > 0
    assert stats.trades == stats.admitted
    path = tmp_path / "audit.db"
    rows = verify_chain(path)
    records = list(read_records(path))
    assert len(records) == rows
    traded = {r.trace_id for r in records if r.kind is RecordKind.ORDER_REQUEST}
    assert len(traded) == stats.trades
    assert all(len(t) == 32 for t in traded)
    for trace in traded:  # every trade: the opportunity, the decision, orders, replies, outcome
        kinds = [r.kind for r in records if r.trace_id == trace]
        assert kinds[:2] == [RecordKind.OPPORTUNITY, RecordKind.RISK_DECISION]
        assert kinds.count(RecordKind.ORDER_REQUEST) == kinds.count(RecordKind.VENUE_REPLY)
        assert RecordKind.POSITION in kinds
    assert len(stats.latencies_ns) == sum(stats.opportunities.values()) - sum(
        stats.not_admitted.values()
    )


def test_a_busy_polling_run_trades_and_rehearses_while_idle(tmp_path: Path) -> None:
    """``[system] busy_poll``: `arbcore run`'s loop (``run_loop``) never sleeps; between polls
    it rehearses the compiled decision, and the run trades and records as usual."""
    config = _config(tmp_path)
    config = attrs.evolve(config, system=attrs.evolve(config.system, busy_poll=True))
    engine = Engine(config)
    stats = run_loop(engine, asyncio.wait_for(engine.run(4.0), timeout=60))
    assert stats.trades > 0
    assert verify_chain(tmp_path / "audit.db") > 0
    assert engine.cross_decision is not None
    assert engine.cross_decision.rehearsed > 1_000  # (the loop polled and rehearsed)


def test_arbcore_run_prints_status_and_a_summary(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f'extends = "{ROOT / "config" / "demo.toml"}"\n'
                      f'[storage]\npath = "{tmp_path / "audit.db"}"\n')  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "arbcore", "run", "--config", str(config),
                             "--duration", "4"], capture_output=True, text=True, timeout=90,
                            cwd=tmp_path, check=False,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"books (\d+)/\1 ", result.stdout)  # every book in sync
    assert "opportunities: cross_exchange" in result.stdout
    assert "opportunities: triangular" in result.stdout
    assert "decision latency p99" in result.stdout


def test_after_kill_9_the_engine_recovers_the_trail_and_reconciles_before_trading(
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.db"
    config = tmp_path / "run.toml"
    config.write_text(f'extends = "{ROOT / "config" / "demo.toml"}"\n'
                      f'[storage]\npath = "{audit}"\nsynchronous = "FULL"\n')  # fmt: skip
    child = subprocess.Popen([sys.executable, "-m", "arbcore", "run", "--config", str(config),
                              "--duration", "60", "--quiet"], cwd=tmp_path,
                             env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if audit.exists() and any(True for _ in read_records(audit, RecordKind.PNL)):
                break
        child.send_signal(signal.SIGKILL)  # mid-run: orders may be in flight
    finally:
        child.wait(timeout=10)
    expected = recover(audit, now_ns=time.time_ns())
    assert expected.last_seq > 0
    engine = Engine(load_config(config, {}))
    stats = asyncio.run(asyncio.wait_for(engine.run(2.0), timeout=60))
    assert engine.risk.daily_pnl_usd == pytest.approx(expected.daily_pnl_usd + stats.pnl_usd)
    (reconcile,) = [r for r in read_records(audit, RecordKind.RECONCILE)]
    assert reconcile.payload["open_orders"] == len(expected.open_orders)
    assert reconcile.payload["failures"] == []
    assert reconcile.payload["last_seq"] == expected.last_seq
    assert verify_chain(audit) > expected.last_seq  # one chain across the crash
    after = recover(audit, now_ns=time.time_ns())
    assert after.open_orders == []  # every order left open by the crash was settled
