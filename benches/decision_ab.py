"""The compiled decisions against the Python ones, and where their time goes.

``bench_engine.py``'s frame rows (``frame_world.run_frames``: the simulator's frames handed to
the venues' real clients at a paced rate, a real Engine) run twice per round, one engine
deciding crossing routes and paying cycles in C (``Engine.cross_decision``,
``Engine.cycle_decisions``) and one with them unbound (every find decided in Python), rounds
interleaved so both see the same machine. For the compiled decisions (cross-exchange and
triangular, apart) the time from the frame's arrival is also split in three: to the book
callback (parse, sync, checksum, the loop's lateness), to the find, to the risk verdict (and the
last two together: callback to verdict, the decision's own time)::

    PYTHONHASHSEED=0 OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benches/decision_ab.py 30000 10000
    PYTHONHASHSEED=0 OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benches/decision_ab.py 50000 0

(the second argument: frames per second, 0 back to back; ``--rounds``, default 2). The C
engine's decisions are also listed by the path that took them: a compiled one, or Python (finds
ranked together: a crossing and a cycle, or several cycles, found on the same update).

``--cpu N`` places the run as ``Engine.run`` does with ``[system] cpu = N``: the loop pinned to
CPU N, the audit trail's threads on the others.

``--rehearse`` adds a third engine to each round, right after the C one: the same, with its
idle hook (``Engine.idle``: a rehearsal of the compiled decision, no effect) called while the
paced source waits for the next frame's time (``engine_world.paced``); its decisions and split
are listed apart. ``--no-python`` leaves the Python engine out::

    PYTHONHASHSEED=0 OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benches/decision_ab.py \\
        30000 10000 --rehearse --no-python
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import frame_world
import numpy as np
from engine_world import Arrival, Run
from frame_world import frame_stream, run_frames

from arbcore.engine import Engine
from arbcore.model import Opportunity
from arbcore_ext.crossdecide import CrossDecision
from arbcore_ext.tridecide import TriangularDecision


class _ArrivalAtTap(Arrival):
    """The schedule's arrival, and when the book callback asked for it (perf_counter ns)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def __call__(self) -> int:
        self.asked = time.perf_counter_ns()
        return self.ns


Parts = dict[str, list[tuple[int, int, int]]]  # kind -> (to the callback, to the find, to verdict)


def _split(compiled: bool, paths: dict[str, list[int]]) -> Parts:
    """Install the split's stamps; the lists each compiled decision adds its three parts to,
    by kind (``"cross-exchange"``, ``"triangular"``). ``paths``: each decision's latency by the
    path that took it (``"cross_exchange, in C"``, ``"triangular, in C"``, ``"cross_exchange,
    in Python"``, ``"triangular, in Python"``)."""
    parts: Parts = {"cross-exchange": [], "triangular": []}
    decided, decided_cycle = Engine._decided, Engine._decided_cycle
    made_one = Engine._decision_made
    in_c = [False]

    def stamping(kind: str, after: Callable[[Engine, Any], None]) -> Callable[[Engine, Any], None]:
        """``after`` (the engine's own ``_decided`` or ``_decided_cycle``), the split of its
        compiled decision kept under ``kind`` first, and what it counts marked as in C."""

        def stamped(engine: Engine, made: CrossDecision | TriangularDecision) -> None:
            arrival = engine.arrival_ns
            assert isinstance(arrival, _ArrivalAtTap)
            to_tap = arrival.asked - arrival.ns
            parts[kind].append((to_tap, made.found_ns - to_tap, made.elapsed_ns - made.found_ns))
            in_c[0] = True
            try:
                after(engine, made)
            finally:
                in_c[0] = False

        return stamped

    def counted(engine: Engine, opportunity: Opportunity, *rest: Any) -> None:
        path = f"{opportunity.kind}, in {'C' if in_c[0] else 'Python'}"
        paths.setdefault(path, []).append(rest[-1])  # (the elapsed ns, the last argument)
        made_one(engine, opportunity, *rest)

    Engine._decided = stamping("cross-exchange", decided)  # type: ignore[method-assign]
    Engine._decided_cycle = stamping("triangular", decided_cycle)  # type: ignore[method-assign]
    Engine._decision_made = counted  # type: ignore[method-assign]
    frame_world.Arrival = _ArrivalAtTap  # type: ignore[misc]
    if not compiled:
        Engine._bind_decision = lambda engine: None  # type: ignore[method-assign]
    return parts


def _quantiles(values: np.ndarray | list[int]) -> str:
    ordered = np.sort(np.asarray(values, dtype=np.int64))
    if not len(ordered):
        return "-"
    return " / ".join(f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3:,.1f}"
                      for q in (0.5, 0.9, 0.99))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", type=int, nargs="?", default=30_000)
    parser.add_argument("rate", type=float, nargs="?", default=10_000.0, help="0: back to back")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--rehearse",
        action="store_true",
        help="also the C engine rehearsing its decision while the source waits",
    )
    parser.add_argument("--no-python", action="store_true", help="leave the Python engine out")
    parser.add_argument("--cpu", type=int, help="pin the loop here, the audit trail elsewhere")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    stream = frame_stream(args.messages)
    decided, bind, made_one = Engine._decided, Engine._bind_decision, Engine._decision_made
    decided_cycle = Engine._decided_cycle
    #: (label, decided in C, rehearsing while idle), in each round's order
    contenders = [("C", True, False)]
    if args.rehearse:
        contenders.append(("C, rehearsing", True, True))
    if not args.no_python:
        contenders.append(("Python", False, False))
    print("| contender | decisions (compiled) | decision p50 / p90 / p99 (us) | handled p50 / p99 "
          "(us) | achieved msgs/s | rehearsals |\n|---|---|---|---|---|---|")  # fmt: skip
    splits: dict[str, Parts] = {}
    paths: dict[str, dict[str, list[int]]] = {}
    for _ in range(args.rounds):
        for label, compiled, rehearse in contenders:
            parts = _split(compiled, paths.setdefault(label, {}) if compiled else {})
            with tempfile.TemporaryDirectory() as workdir:
                run: Run
                paced = run_frames(stream, args.rate or None, Path(workdir), args.messages,
                                   rehearse, args.cpu)  # fmt: skip
                run, engine = asyncio.run(paced)
            Engine._decided, Engine._bind_decision = decided, bind  # type: ignore[method-assign]
            Engine._decision_made = made_one  # type: ignore[method-assign]
            Engine._decided_cycle = decided_cycle  # type: ignore[method-assign]
            for kind, kept in splits.setdefault(label, {k: [] for k in parts}).items():
                kept.extend(parts[kind])
            made = engine.cross_decision.decided if engine.cross_decision is not None else 0
            made += sum(decision.decided for decision in engine.cycle_decisions.values())
            handled = _quantiles(run.handled_ns).rsplit(" / ", 2)
            print(f"| {label} | {len(run.decisions_ns)} ({made}) | "
                  f"{_quantiles(run.decisions_ns)} | {handled[0]} / {handled[2]} | "
                  f"{run.rate:,.0f} | {run.idled:,} |")  # fmt: skip
    for label, compiled, _ in contenders:
        if not compiled:
            continue
        print(f"\nthe {label} engine's decisions by the path that took them, p50 / p90 / p99 (us):")
        for path, elapsed in sorted(paths[label].items()):
            print(f"  {path:26s} {_quantiles(elapsed)}  ({len(elapsed)})")
        for kind, kept in splits[label].items():
            print(f"\n{label}: compiled {kind} decisions, p50 / p90 / p99 (us), from the "
                  "frame's arrival:")  # fmt: skip
            for i, name in enumerate(("to the book callback", "callback to the find",
                                      "find to verdict")):  # fmt: skip
                print(f"  {name:22s} {_quantiles([part[i] for part in kept])}  ({len(kept)})")
            # (the decision's own time, what a rehearsal keeps warm: the wait before the
            # callback is the loop's and the machine's)
            own = [part[1] + part[2] for part in kept]
            print(f"  {'callback to verdict':22s} {_quantiles(own)}  ({len(own)})")


if __name__ == "__main__":
    main()
