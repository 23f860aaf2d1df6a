"""Instructions per message of a venue's replay, load-independent (callgrind).

Replays the venue's real recording ``N`` times through fresh feeds (built before any replay, so
their set-up is the same in every run); run it under callgrind with N=1 and N=3 and divide the
difference of the totals by ``2 x messages`` (printed)::

    PY=$(python -c 'import sys; print(sys.executable)')   # the interpreter, not a pyenv shim
    for n in 1 3; do OPENBLAS_NUM_THREADS=1 PYTHONHASHSEED=0 PYTHONPATH=. \\
        valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \\
        $PY benches/replay_instructions.py binance $n; done
    for n in 1 3; do callgrind_annotate /tmp/cg.$n | grep 'PROGRAM TOTALS'; done

Pin both variables: OpenBLAS's idle threads and per-run string hashing otherwise move the
difference by 2-3k instructions a message.
"""

from __future__ import annotations

import sys

from instruction_runs import parse_run

import arbcore.exchanges  # noqa: F401  (registers the venues before the feed module is used)
from arbcore.marketdata.feed import replay
from arbcore.testing.conformance import load_venue_recording


def main(argv: list[str] | None = None) -> int:
    run = parse_run(__doc__, argv, "venue")
    if run is None:
        return 2
    args, root = run
    recording = load_venue_recording(args.venue, root)
    messages = [r for r in recording.records if r.kind in ("ws", "rest")]
    feeds = [recording.feed() for _ in range(3)]  # the same set-up whatever N (N <= 3)
    for feed in feeds[: args.passes]:
        replay(messages, feed)
    print(f"{len(messages)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
