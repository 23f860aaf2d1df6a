"""``arbcore check-config FILE``: load and validate a configuration, print the merged result.

Exit status 0 when it is valid (the merged configuration is printed as JSON, anything secret
masked), 2 with the ConfigError (file, key, reason) when it is not.
"""

from __future__ import annotations

import argparse
import json
import sys

from arbcore.config import load_config
from arbcore.config.loader import masked
from arbcore.errors import ConfigError

__all__ = ["run_check_config"]


def run_check_config(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="arbcore check-config", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "config", help="a system TOML file, or a folder (SYSTEM_ENV picks the file)"
    )
    arguments = parser.parse_args(argv)
    try:
        config = load_config(arguments.config)
    except ConfigError as exc:
        print(f"arbcore check-config: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(masked(config), indent=2, sort_keys=True))
    return 0
