"""``arbcore run --config FILE [--duration S | --replay VENUE=FILE ...]``: the trading loop, live
or on recordings, with a status line and a closing summary (opportunities by kind, trades,
fills, PnL, leg failures, decision latency).

Live (not ``--replay``), the engine runs observed: logging and trace export as configured, the
metrics registry, the alert manager on the engine's event hub (the router's alerts included)
and, when ``[server] enabled``, the control API beside it (its URL is printed on stderr)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from arbcore.backtest import ReplaySource, backtest
from arbcore.config import load_config
from arbcore.engine import Engine, EngineStats
from arbcore.errors import ConfigError
from arbcore.marketdata.records import FORMATS
from arbcore.net.busypoll import busy_poll_loop
from arbcore.observability import tracing
from arbcore.observability.alerts import engine_alerts
from arbcore.observability.logs import configure_logging
from arbcore.observability.metrics import Sources, registry_for, render
from arbcore.server import run_served
from arbcore.server.app import TOKEN_ENV

__all__ = ["run_engine", "run_loop", "run_observed", "summary"]


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


async def run_observed(
    engine: Engine,
    duration_s: float | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    announce: Callable[[str], None] | None = None,
) -> EngineStats:
    """``engine.run(duration_s)`` with what an operator watches it through: the alert manager
    (``[alerts]``; publishing on ``engine.events``, the router's alerts included) and the
    control API when ``[server]`` enables it, whose ``/metrics`` reads the engine's registry."""
    sources = Sources(engine)
    registry = registry_for(sources)
    alerts = engine_alerts(engine, sources, hub=engine.events)

    def alert(message: str) -> None:  # the router's "trade unhedged"
        alerts.notify("execution", message)

    engine.alert = alert
    watching = asyncio.create_task(alerts.run(), name="arbcore-alerts")
    try:
        return await run_served(engine, duration_s, environ=environ, announce=announce,
                                metrics=lambda: render(registry))  # fmt: skip
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching


def run_loop(engine: Engine, main: Coroutine[Any, Any, EngineStats]) -> EngineStats:
    """``asyncio.run(main)`` on a loop that does the engine's idle work while no message
    waits (:mod:`arbcore.net.busypoll`): busy-polling and calling ``engine.idle`` between polls
    when ``[system] busy_poll``, else sleeping as the plain loop does after
    ``engine.idle_work`` has done what waits."""
    busy = engine.config.system.busy_poll
    factory = busy_poll_loop(engine.idle if busy else engine.idle_work, spin=busy)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def _announce(url: str) -> None:
    token = "set" if os.environ.get(TOKEN_ENV) else "not set: commands are refused"
    print(f"arbcore run: control API on {url} (dashboard {url}/; {TOKEN_ENV} {token})",
          file=sys.stderr, flush=True)  # fmt: skip


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
    parser.add_argument("--live", action="store_true",
                        help='real orders: also needs mode = "live" in the configuration '
                             "and each venue's credentials in the environment")  # fmt: skip
    arguments = parser.parse_args(argv)
    export = None
    try:
        status = None if arguments.quiet else (lambda line: print(line, flush=True))
        config = load_config(arguments.config)
        configure_logging(config.system.logging)
        export = tracing.export_from_config(config.system.tracing.otlp_endpoint,
                                            config.system.tracing.service_name)  # fmt: skip
        if arguments.live and arguments.replay:
            raise ConfigError("a backtest trades on the shadow venue: drop --live", key="live")
        engine = Engine(config, status=status, live=arguments.live)
        if arguments.replay:
            sources = _sources(arguments.replay, arguments.format)
            stats = run_loop(engine, backtest(engine, sources, seed=arguments.seed))
        else:
            stats = run_loop(engine, run_observed(engine, arguments.duration,
                                                  announce=_announce))  # fmt: skip
    except ConfigError as exc:
        print(f"arbcore run: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the control API's port is taken, the audit file cannot be opened
        print(f"arbcore run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if export is not None:
            export.flush()
            export.shutdown()
    print(summary(stats))
    return 0
