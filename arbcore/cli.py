"""The ``arbcore`` command.

``arbcore bench`` replays the real Binance recording through arbcore's book and its peers and
prints the table (the README's main command until the trading loop lands); ``arbcore info``
says which build is installed and what this machine can pin.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from arbcore import __version__


def _info(_: argparse.Namespace) -> int:
    from arbcore.testing.recordings import shared_data_dir
    from arbcore_ext import COMPILED_WITH_DEBUG
    from arbcore_ext.affinity import available_cpus, current_affinity

    print(f"arbcore {__version__}")
    print(f"extension build: {'debug (checks on)' if COMPILED_WITH_DEBUG else 'release'}")
    print(f"CPUs available for pinning: {sorted(available_cpus())}")
    print(f"this thread runs on: {sorted(current_affinity())}")
    print(f"recordings: {shared_data_dir() or 'not found (set ARBCORE_SHARED_DATA)'}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbcore", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"arbcore {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "bench",
        help="replay the Binance recording through arbcore and its peers",
        add_help=False,
    )
    commands.add_parser(
        "replay", help="recorded traffic through the live parsing and sync", add_help=False
    )
    commands.add_parser("record", help="write a live feed's frames to a file", add_help=False)
    commands.add_parser("sim", help="simulated venues on 127.0.0.1", add_help=False)
    commands.add_parser("run", help="the trading loop (shadow by default)", add_help=False)
    commands.add_parser(
        "check-config", help="validate a configuration and print it merged", add_help=False
    )
    commands.add_parser("info", help="build, CPUs and recordings on this machine")
    return parser


#: Commands that own their options: name -> (module, function).
_COMMANDS = {
    "bench": ("arbcore.cli_bench", "run_bench"),
    "replay": ("arbcore.cli_replay", "run_replay"),
    "record": ("arbcore.cli_record", "run_record"),
    "sim": ("arbcore.cli_sim", "run_sim"),
    "check-config": ("arbcore.cli_config", "run_check_config"),
    "run": ("arbcore.cli_run", "run_engine"),
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in _COMMANDS:
        module, function = _COMMANDS[arguments[0]]
        run: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
        return run(arguments[1:])
    namespace = _parser().parse_args(arguments)
    return _info(namespace)


if __name__ == "__main__":
    sys.exit(main())
