"""Instructions per Binance depth frame, raw bytes to applied book, load-independent (callgrind).

The single-frame row of ``bench_marketdata.py`` (``test_parse_and_apply``, arbcore's contender):
the recording's depth frames through ``feed.delta_path.apply`` after the REST snapshot. Three
fresh feeds are set up before anything is timed; ``N`` of them then replay the frames, so the
N=1 and N=3 totals differ by exactly two passes over the frames::

    PY=$(python -c 'import sys; print(sys.executable)')   # the interpreter, not a pyenv shim
    for n in 1 3; do OPENBLAS_NUM_THREADS=1 PYTHONHASHSEED=0 PYTHONPATH=. \\
        valgrind --tool=callgrind --callgrind-out-file=/tmp/cgf.$n \\
        $PY benches/frame_instructions.py $n; done
    for n in 1 3; do callgrind_annotate /tmp/cgf.$n | grep 'PROGRAM TOTALS'; done

Instructions per frame: (I3 - I1) / 2 / frames (printed).
"""

from __future__ import annotations

import sys

from bench_marketdata import _arbcore, _frames
from instruction_runs import parse_run

import arbcore.exchanges  # noqa: F401  (registers the venues before the feed module is used)
from arbcore.testing.conformance import load_recording


def main(argv: list[str] | None = None) -> int:
    run = parse_run(__doc__, argv)
    if run is None:
        return 2
    args, root = run
    recording = load_recording("binance", [root / "real/binance/spot/btcusdt_20240808.gz"])
    contenders = [_arbcore(recording) for _ in range(3)]  # the same set-up whatever N (N <= 3)
    for (setup, _), _ in contenders:
        setup()
    for (_, loop), _ in contenders[: args.passes]:
        loop()
    tops = {top() for _, top in contenders[: args.passes]}
    print(f"{len(_frames(recording)[1])} frames, top of book {tops}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
