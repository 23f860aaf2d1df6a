"""Live mode end to end on loopback: `arbcore run --live` sends signed orders to the simulator,
whose account is opened with the (made-up) credentials in the environment."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from arbcore.config import load_config
from arbcore.config.schema import AppConfig
from arbcore.engine import Engine
from arbcore.exchanges.binance.execution import BinanceExecution
from arbcore.exchanges.credentials import Credentials, env_names
from arbcore.exchanges.registry import fetch_instruments
from arbcore.exchanges.trading import prepare_order
from arbcore.model import OrderSide, OrderStatus
from arbcore.risk.engine import TradingState
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.config import credential_accounts
from arbcore.storage.audit import AuditTrail, RecordKind, read_records
from arbcore_ext.book import BID

ROOT = Path(__file__).resolve().parents[2]
#: made-up keys, distinctive enough that any leak is found by a plain search
KEYS = {
    "BINANCE_API_KEY": "test-binance-key-7c1e4a",
    "BINANCE_SECRET_KEY": "test-binance-secret-93d0f2",
    "OKX_API_KEY": "test-okx-key-5b8a61",
    "OKX_SECRET_KEY": "test-okx-secret-2e7c94",
    "OKX_PASSPHRASE": "test-okx-passphrase-d41f0b",
}
_CREDENTIAL_VARS = re.compile(r"^[A-Z]+_(API_KEY|SECRET_KEY|PASSPHRASE)$")


def _env(**extra: str) -> dict[str, str]:
    """This environment without any venue credentials, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not _CREDENTIAL_VARS.match(k)}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _run(tmp_path: Path, *args: str, env: dict[str, str], timeout: float = 90
         ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    config = tmp_path / "live.toml"
    config.write_text(f'extends = "{ROOT / "config" / "demo_live.toml"}"\n'
                      f'[storage]\npath = "{tmp_path / "audit.db"}"\n'
                      "[server]\nenabled = false\n")  # fmt: skip
    return subprocess.run([sys.executable, "-m", "arbcore", "run", "--config", str(config),
                           "--quiet", *args], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=timeout, check=False)  # fmt: skip


def test_arbcore_run_live_trades_on_the_simulators_accounts_and_shows_no_secret(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, "--live", "--duration", "6", env=_env(**KEYS))
    assert result.returncode == 0, result.stderr[-3000:]
    trades = int(re.search(r"^trades\s+(\d+)$", result.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert trades > 0, result.stdout
    replies = list(read_records(tmp_path / "audit.db", RecordKind.VENUE_REPLY))
    fills = list(read_records(tmp_path / "audit.db", RecordKind.FILL))
    assert {r.venue for r in replies} == {"binance", "okx"}
    # every reply is the simulator's: its order ids and trade ids, never the shadow venue's
    assert all(r.payload["venue_order_id"].isdigit() for r in replies), replies[:3]
    assert fills
    assert all(not f.payload["trade_id"].startswith("shadow") for f in fills)
    filled = [r for r in replies if r.payload["filled_raw"]]
    assert len(filled) >= trades
    written = result.stdout + result.stderr
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("audit.db*"))
    for value in KEYS.values():
        assert value not in written
        assert value.encode() not in stored


def test_live_mode_needs_the_live_flag(tmp_path: Path) -> None:
    result = _run(tmp_path, "--duration", "1", env=_env(**KEYS))
    assert result.returncode == 2
    assert "--live" in result.stderr
    assert 'mode = "live"' in result.stderr
    assert not (tmp_path / "audit.db").exists()  # refused before anything started


@pytest.mark.parametrize("given", [(), ("BINANCE_API_KEY", "BINANCE_SECRET_KEY", "OKX_API_KEY")])
def test_live_mode_refuses_missing_credentials_naming_them(
    tmp_path: Path, given: tuple[str, ...]
) -> None:
    result = _run(tmp_path, "--live", "--duration", "1",
                  env=_env(**{name: KEYS[name] for name in given}))  # fmt: skip
    assert result.returncode == 2
    named = set(re.findall(r"[A-Z]+_(?:API_KEY|SECRET_KEY|PASSPHRASE)", result.stderr))
    assert named == set(KEYS) - set(given)
    assert not any(value in result.stderr for value in KEYS.values())
    assert not (tmp_path / "audit.db").exists()


# -- in process: recovery and reconciliation go through the live venue ---------------------------

BINANCE = Credentials(KEYS["BINANCE_API_KEY"], KEYS["BINANCE_SECRET_KEY"])


def _live_config(sim: Simulator, tmp_path: Path) -> AppConfig:
    """Live on the binance the test's simulator serves; no strategy, so no trade of its own."""
    endpoint = sim.endpoints["binance"]
    (tmp_path / "live.toml").write_text(
        f'extends = "{ROOT / "config" / "system.toml"}"\nmode = "live"\n'
        f'[venues.binance]\nrest_url = "{endpoint.rest_url}"\nws_url = "{endpoint.ws_url}"\n'
        "[venues.okx]\nenabled = false\n[venues.kraken]\nenabled = false\n"
        "[strategies.cross_exchange]\nenabled = false\n[strategies.triangular]\nenabled = false\n"
        f'[storage]\npath = "{tmp_path / "audit.db"}"\n[server]\nenabled = false\n'
    )  # fmt: skip
    return load_config(tmp_path / "live.toml", {})


def _sim(accounts: dict[str, Credentials]) -> Simulator:
    config = SimConfig(venues="binance", symbols="BTC/USDT,ETH/USDT", seed=3,
                       venue_accounts=credential_accounts(accounts))  # fmt: skip
    return Simulator(config)


def test_a_live_restart_cancels_the_order_its_trail_left_open_on_the_venue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in zip(env_names("binance"), (BINANCE.api_key, BINANCE.secret), strict=True):
        monkeypatch.setenv(name, value)

    async def main() -> None:
        async with _sim({"binance": BINANCE}) as sim:
            url = sim.endpoints["binance"].rest_url
            async with httpx.AsyncClient() as http:
                listed = {i.symbol: i for i in await fetch_instruments("binance", http, url)}
            btc = listed["BTC/USDT"]
            venue = BinanceExecution(BINANCE, [btc], base_url=url)
            await venue.sync_time()
            bid = sim.venues["binance"].engines["BTC/USDT"].levels(BID)[0][0]
            order = prepare_order(btc, OrderSide.BUY, 10**btc.size_decimals // 100,
                                  price_raw=bid // 2)  # fmt: skip
            resting = await venue.place_order(order)
            assert resting.status is OrderStatus.OPEN
            with AuditTrail(tmp_path / "audit.db") as trail:  # as the router wrote it, then a crash
                trail.append(RecordKind.ORDER_REQUEST, resting, ts_ns=1, venue="binance",
                             symbol="BTC/USDT")  # fmt: skip
            engine = Engine(_live_config(sim, tmp_path), live=True)
            await engine.run(1.0)
            after = await venue.fetch_order(btc, resting.client_order_id)
            held = {b.asset: b.total for b in await venue.fetch_balances()}
            await venue.aclose()
        assert after.status is OrderStatus.CANCELED  # the engine cancelled it on the venue
        replies = [r.payload for r in read_records(tmp_path / "audit.db", RecordKind.VENUE_REPLY)]
        assert [(r["client_order_id"], r["status"], r["venue_order_id"]) for r in replies] == [
            (resting.client_order_id, "canceled", resting.venue_order_id)]  # fmt: skip
        reconcile = list(read_records(tmp_path / "audit.db", RecordKind.RECONCILE))
        assert reconcile[-1].payload["failures"] == []
        assert reconcile[-1].payload["venue_open_orders"] == {"binance": 0}
        assert engine.risk.state is TradingState.ACTIVE
        assert dict(engine.venues.balances("binance")) == held  # the venue's, read at the start

    asyncio.run(asyncio.wait_for(main(), timeout=60))


def test_a_live_venue_that_refuses_the_keys_halts_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in env_names("binance"):
        monkeypatch.setenv(name, f"wrong-{name.lower()}")

    async def main() -> None:
        async with _sim({"binance": BINANCE}) as sim:  # the venue knows other keys
            engine = Engine(_live_config(sim, tmp_path), live=True)
            await engine.run(0.5)
        assert engine.risk.state is TradingState.HALTED
        assert "reconciliation failed: binance" in engine.risk.state_reason
        assert "wrong-binance_secret_key" not in engine.risk.state_reason

    asyncio.run(asyncio.wait_for(main(), timeout=60))
