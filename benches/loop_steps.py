"""How long each event-loop step takes during the paced frame run, by what it runs.

A frame that arrives while the loop runs a step waits for the whole step, so the longest steps
set the tail of every latency ``bench_engine.py`` and ``decision_ab.py`` report. This runs
``frame_world.run_frames`` (the simulator's frames through the venues' real clients, a real
Engine, at ``rate`` frames/s, rehearsing while idle) with ``asyncio.events.Handle._run`` timed,
and lists the steps by the task they belong to (a trade's ``Engine._trade`` and its legs'
``Router._send`` numbered by step: step 1 is each task's first) or by the callback::

    PYTHONHASHSEED=0 OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benches/loop_steps.py 30000 10000

(The paced source itself is one task, ``run_frames``: its steps are the frames and the waits
between them, listed for completeness.)
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.events
import logging
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from frame_world import frame_stream, run_frames

NUMBERED = ("Engine._trade", "Router._send")  # tasks whose steps are listed one by one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", type=int, nargs="?", default=30_000)
    parser.add_argument("rate", type=float, nargs="?", default=10_000.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    stream = frame_stream(args.messages)
    run_step = asyncio.events.Handle._run
    steps: dict[str, list[int]] = defaultdict(list)
    numbered: dict[asyncio.Task[object], int] = {}

    def timed(handle: asyncio.events.Handle) -> None:
        start = time.perf_counter_ns()
        run_step(handle)
        spent = time.perf_counter_ns() - start
        owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
        if isinstance(owner, asyncio.Task):
            name = owner.get_coro().__qualname__  # type: ignore[union-attr]
            if name in NUMBERED:
                numbered[owner] = numbered.get(owner, 0) + 1
                name = f"{name} step {numbered[owner]}"
        else:
            name = getattr(handle._callback, "__qualname__", repr(handle._callback))  # type: ignore[attr-defined]
        steps[name].append(spent)

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as workdir:
        _, engine = asyncio.run(run_frames(stream, args.rate or None, Path(workdir),
                                           args.messages, True))  # fmt: skip
    print(f"{engine.stats.trades} trades; steps by what they ran, p50 / max (us):")
    for name, spent in sorted(steps.items(), key=lambda item: -sum(item[1])):
        times = np.asarray(spent)
        print(f"  {name:44s} {len(times):6,} x  {np.median(times) / 1e3:8.1f} / "
              f"{times.max() / 1e3:10.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
