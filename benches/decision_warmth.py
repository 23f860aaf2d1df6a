"""A decision's step cold and warm: why wall time is not instructions on the decision path.

The back-to-back engine run of ``bench_engine.py`` (book events, ``engine_world.run_engine``)
with the cross strategy's ``crossed`` (the depth walk and the ``Opportunity``) timed each time
the engine calls it ("cold": the first call in many messages, its code and data out of the
caches), then called again ``--repeat`` times at once with the same arguments ("warm")::

    PYTHONHASHSEED=0 PYTHONPATH=. python benches/decision_warmth.py 50000

The repeats add work to the run, so only the two medians are meant to be compared. The engine's
compiled decision (``Engine.cross_decision``) is unbound here: this measures the Python path it
replaced, which stays the path of routes between two quotes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from engine_world import run_engine, sim_stream

from arbcore.engine import Engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", type=int, nargs="?", default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    cold: list[int] = []
    warm: list[int] = []
    build = Engine._build_trading

    def timed_build(engine: Engine, *a: Any, **k: Any) -> None:
        build(engine, *a, **k)
        engine.cross_decision = None  # (every crossing route priced by ``crossed``)
        cross = engine.cross
        assert cross is not None
        crossed, clock = cross.crossed, time.perf_counter_ns

        def timed(*call: Any) -> Any:
            started = clock()
            found = crossed(*call)
            cold.append(clock() - started)
            for _ in range(args.repeat):
                started = clock()
                crossed(*call)
                warm.append(clock() - started)
            return found

        cross.crossed = timed  # type: ignore[method-assign, assignment]

    Engine._build_trading = timed_build  # type: ignore[method-assign, assignment]
    stream = sim_stream(args.messages)
    with tempfile.TemporaryDirectory() as workdir:
        asyncio.run(run_engine(stream, None, Path(workdir), args.messages))
    print(f"crossed: cold p50 {statistics.median(cold) / 1e3:.1f} us ({len(cold)} calls), "
          f"warm p50 {statistics.median(warm) / 1e3:.1f} us ({len(warm)} calls)")  # fmt: skip


if __name__ == "__main__":
    main()
