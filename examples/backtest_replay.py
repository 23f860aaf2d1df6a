"""Backtest: the trading loop of `arbcore run` driven by a real recording instead of sockets.

Every recorded frame goes through the same parsing, book sync, strategies, risk, shadow
execution and audit trail as live, on the recording's clock, so a rerun gives the same trail.

Run: python examples/backtest_replay.py   (needs the shared data: ARBCORE_SHARED_DATA)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import attrs

from arbcore.backtest import ReplaySource, backtest
from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.testing.recordings import shared_data_dir

CONFIG = Path(__file__).resolve().parents[1] / "config" / "system.toml"


def main() -> int:
    data = shared_data_dir()
    files = tuple(sorted((data / "real/kraken").glob("KRAKEN.ws.*.0"))) if data else ()
    if not files:
        print("no Kraken recording found (set ARBCORE_SHARED_DATA); nothing to replay")
        return 0
    config = load_config(CONFIG, {})  # {}: no environment overrides
    system = config.system
    # The recording's pairs (ADA/BTC, XMR/USD, ...) are not the ones system.toml trades, so
    # follow every pair Kraken lists; the audit trail goes to a scratch directory.
    kraken = attrs.evolve(system.venues["kraken"], symbols=())
    storage = attrs.evolve(system.storage, path=tempfile.mkdtemp() + "/audit.db")
    system = attrs.evolve(system, venues={**system.venues, "kraken": kraken}, storage=storage)
    engine = Engine(attrs.evolve(config, system=system))
    # instruments come from the capture beside the recording (KRAKEN.0)
    stats = asyncio.run(backtest(engine, [ReplaySource("kraken", files)], seed=1))
    print(f"replayed {len(files)} files: {stats.book_updates:,} book updates")
    for symbol, sync in sorted(engine.syncs["kraken"].items()):
        bid, ask = sync.book.best_bid_float(), sync.book.best_ask_float()
        counts = sync.counters  # every Kraken update carries a CRC32 of the top of book
        print(f"  {symbol:<9} {counts.updates:>4} updates, {counts.checksum_ok:>4} checksums ok, "
              f"{counts.gaps} gaps; last bid {bid:g} ask {ask:g}")  # fmt: skip
    found = ", ".join(f"{n} {kind}" for kind, n in stats.opportunities.items())
    print(f"opportunities: {found or 'none (no triangle closes among the recorded pairs)'}")
    refused = dict(stats.risk_refused)
    print(f"trades {stats.trades}, realised {stats.pnl_usd:+.2f} USD, risk refused {refused}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
