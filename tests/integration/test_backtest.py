"""Backtesting: recordings drive the same loop, and the same input gives the same audit bytes."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import attrs
import httpx

from arbcore.backtest import ReplaySource, backtest
from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.exchanges.binance.data import BinanceDataClient
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.marketdata.recorder import Recorder
from arbcore.marketdata.records import read_records as read_records_of
from arbcore.net.ws import Backoff
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.market import MarketConfig
from arbcore.storage.audit import read_records, verify_chain

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")


async def _record_simulator(folder: Path, seconds: float) -> tuple[Path, Path]:
    """A real Binance-protocol session from the simulator, recorded as the live client saw it;
    and the instrument list beside it, as cryptofeed captures it (``BINANCE.0``)."""
    config = SimConfig(venues=("binance",), symbols=SYMBOLS, seed=11, step_interval_s=0.02,
                       market=MarketConfig(dislocation_rate=0.3))  # fmt: skip
    async with Simulator(config) as sim, httpx.AsyncClient(timeout=5.0) as http:
        endpoint = sim.endpoints["binance"]
        url = endpoint.rest_url + "/api/v3/exchangeInfo"
        body = (await http.get(url)).text
        (folder / "BINANCE.0").write_text(f"{url} -> {time.time()}: {body}\n")
        with Recorder(folder / "session.arbcore.gz") as recorder:
            listed = parse_instruments(json.loads(body)).instruments
            client = BinanceDataClient(listed,
                                       ws_url=endpoint.ws_url, rest_url=endpoint.rest_url,
                                       http=http, recorder=recorder,
                                       backoff=Backoff(initial_s=0.01, maximum_s=0.05))  # fmt: skip
            await client.add_symbols(list(SYMBOLS))
            runner = asyncio.create_task(client.run())
            await asyncio.sleep(seconds)
            await client.close()
            await asyncio.wait_for(runner, timeout=5)
    return folder / "session.arbcore.gz", folder / "BINANCE.0"


def _engine(audit: Path) -> Engine:
    config = load_config(ROOT / "config" / "demo.toml", {})
    system = attrs.evolve(config.system,
                          storage=attrs.evolve(config.system.storage, path=str(audit)))  # fmt: skip
    return Engine(attrs.evolve(config, system=system))


def test_a_backtest_trades_like_live_and_repeats_byte_for_byte(tmp_path: Path) -> None:
    session, instruments = asyncio.run(_record_simulator(tmp_path, 4.0))
    source = ReplaySource("binance", (session,), "arbcore", instruments)
    runs = []
    for name in ("first.db", "second.db"):
        engine = _engine(tmp_path / name)
        stats = asyncio.run(backtest(engine, [source], seed=3))
        runs.append(
            (stats, [(r.seq, r.ts_ns, r.kind, r.hash) for r in read_records(tmp_path / name)])
        )
    (stats, rows), (again, rows_again) = runs
    assert stats.book_updates > 50
    assert stats.trades > 0
    assert rows == rows_again  # same input, same decisions, same bytes (hashes chain them all)
    assert (stats.trades, stats.pnl_usd) == (again.trades, again.pnl_usd)
    assert verify_chain(tmp_path / "first.db") == len(rows)
    # recorded time, not wall time: the backtest ran after the session ended, so a wall clock
    # would stamp every row after the last frame; shadow fills land one latency (25 ms) later
    recorded = [r.ts_ns for r in read_records_of([session], "arbcore")]
    assert all(recorded[0] <= ts <= recorded[-1] + 10**9 for _, ts, _, _ in rows)
