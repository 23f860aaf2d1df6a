"""``arbcore sim``: simulated venues on 127.0.0.1, each speaking its real protocol.

Prints every venue's REST and WebSocket endpoints and the API credentials of the simulated
accounts, then serves until interrupted (Ctrl-C) or for ``--duration`` seconds. Exit status 2
for a configuration the simulator cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from arbcore.errors import ConfigError
from arbcore.sim.config import SimConfig
from arbcore.sim.faults import FaultConfig
from arbcore.sim.market import MarketConfig
from arbcore.sim.server import Simulator

__all__ = ["run_sim"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbcore sim", description=__doc__.splitlines()[0])
    parser.add_argument("--venues", default="binance", help="comma list, e.g. binance,okx")
    parser.add_argument("--symbols", default="BTC/USDT", help="comma list, e.g. BTC/USDT,ETH/BTC")
    parser.add_argument("--seed", type=int, default=0, help="the market's seed")
    parser.add_argument("--step-ms", type=float, default=100.0, help="market step (ms)")
    parser.add_argument("--port", action="append", default=[], metavar="VENUE=PORT",
                        help="a fixed port for a venue (default: any free one)")  # fmt: skip
    parser.add_argument("--dislocation-rate", type=float, default=0.0,
                        help="chance per venue, symbol and step of a dislocation")  # fmt: skip
    parser.add_argument("--gap-rate", type=float, default=0.0, help="book deltas lost")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="connections dropped")
    parser.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    return parser


def _ports(pairs: list[str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for pair in pairs:
        venue, _, port = pair.partition("=")
        if not port.isdigit():
            raise ConfigError(f"--port {pair!r} is not VENUE=PORT", key="ports")
        ports[venue] = int(port)
    return ports


def _config(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        venues=args.venues,
        symbols=args.symbols,
        seed=args.seed,
        step_interval_s=args.step_ms / 1000.0,
        market=MarketConfig(dislocation_rate=args.dislocation_rate),
        faults=FaultConfig(gap=args.gap_rate, drop=args.drop_rate),
        ports=_ports(args.port),
    )


async def _serve(config: SimConfig, duration: float | None) -> None:
    async with Simulator(config) as sim:
        for endpoint in sim.endpoints.values():
            print(f"{endpoint.venue:10} rest {endpoint.rest_url}  ws {endpoint.ws_url}")
        for account in config.accounts:
            passphrase = f"  passphrase {account.passphrase}" if account.passphrase else ""
            print(
                f"account {account.name}: api key {account.api_key}  secret {account.secret}"
                f"{passphrase}"
            )  # simulator keys: printed so a user can point a client at them
        print(f"symbols {', '.join(config.symbols)}; seed {config.seed}; Ctrl-C stops", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sim.wait_stopped(), duration)  # Ctrl-C stops the servers


def run_sim(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _config(args)
        asyncio.run(_serve(config, args.duration))
    except (ConfigError, OSError) as exc:
        print(f"arbcore sim: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
