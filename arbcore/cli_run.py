"""``arbcore run --config FILE [--duration S | --replay VENUE=FILE ...]``: the trading loop, live
or on recordings, with a status line and a closing summary (opportunities by kind, trades,
fills, PnL, leg failures, decision latency)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from arbcore.backtest import ReplaySource, backtest
from arbcore.config import load_config
from arbcore.engine import Engine, EngineStats
from arbcore.errors import ConfigError
from arbcore.marketdata.records import FORMATS

__all__ = ["run_engine", "summary"]


def summary(stats: EngineStats) -> str:
    """The closing table."""
    p50, p99 = stats.latency_us(0.5), stats.latency_us(0.99)
    rows = [
        ("book updates", f"{stats.book_updates:,}"),
        *((f"opportunities: {kind}", f"{count:,}") for kind, count in
          sorted(stats.opportunities.items())),
        *((f"not admitted: {why}", f"{count:,}") for why, count in
          sorted(stats.not_admitted.items())),
        ("admitted by risk", f"{stats.admitted:,}"),
        *((f"refused: {rule}", f"{count:,}") for rule, count in sorted(stats.risk_refused.items())),
        ("trades", f"{stats.trades:,}"),
        ("filled legs", f"{stats.filled_legs:,}"),
        ("leg failures", f"{stats.leg_failures:,}"),
        ("unhedged", f"{stats.unhedged:,}"),
        ("realised PnL (USD)", f"{stats.pnl_usd:+.4f}"),
        ("decision latency p50", "-" if p50 is None else f"{p50:.1f} us"),
        ("decision latency p99", "-" if p99 is None else f"{p99:.1f} us"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:>14}" for name, value in rows)


def _sources(pairs: list[str], fmt: str | None) -> list[ReplaySource]:
    files: dict[str, list[Path]] = {}
    for pair in pairs:
        venue, sep, file = pair.partition("=")
        if not sep or not file:
            raise ConfigError(f"--replay wants VENUE=FILE, was {pair!r}", key="replay")
        files.setdefault(venue, []).append(Path(file))
    return [ReplaySource(venue, tuple(paths), fmt) for venue, paths in files.items()]


def run_engine(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="arbcore run", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a system TOML file (see docs)")
    parser.add_argument("--duration", type=float, default=None, help="seconds, then stop")
    parser.add_argument("--quiet", action="store_true", help="no status line")
    parser.add_argument("--replay", action="append", default=[], metavar="VENUE=FILE",
                        help="backtest on a recording instead of live data (repeatable: a "
                             "venue's files are one session; venues merge by time)")  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, help="the recordings' format (detected)")
    parser.add_argument("--seed", type=int, default=0, help="backtest trace-id seed")
    arguments = parser.parse_args(argv)
    try:
        status = None if arguments.quiet else (lambda line: print(line, flush=True))
        engine = Engine(load_config(arguments.config), status=status)
        if arguments.replay:
            sources = _sources(arguments.replay, arguments.format)
            stats = asyncio.run(backtest(engine, sources, seed=arguments.seed))
        else:
            stats = asyncio.run(engine.run(arguments.duration))
    except ConfigError as exc:
        print(f"arbcore run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(summary(stats))
    return 0
