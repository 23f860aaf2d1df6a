"""What the callgrind instruction scripts share: their arguments and the recordings' folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from arbcore.testing.recordings import shared_data_dir


def parse_run(doc: str | None, argv: list[str] | None, *positional: str
              ) -> tuple[argparse.Namespace, Path] | None:  # fmt: skip
    """``positional`` names then ``passes`` (1 to 3, so N=1 and N=3 set up the same), and the
    recordings' folder; None (after saying why) when the recordings are absent."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    for name in positional:
        parser.add_argument(name)
    parser.add_argument("passes", type=int, choices=(1, 2, 3))
    args = parser.parse_args(argv)
    root = shared_data_dir()
    if root is None:
        print("the real recordings (../shared/data or $ARBCORE_SHARED_DATA) are absent")
        return None
    return args, root
