"""The engine's decision path replayed deterministically, for instruction counts and row checks.

``bench_engine.py`` stamps wall-clock latencies on a shared machine; this replays the same
stream (``engine_world.sim_stream``) through the same Engine with the backtest's
:class:`~arbcore.backtest.VirtualClock` (event ``i`` at ``i / rate`` seconds, shadow fills after
their latency in that time, seeded trace and order ids), so the same tree makes the same
decisions, trades and audit rows on every run, whatever the load. That makes two things
load-independent:

- instruction counts under callgrind: with ``--collect-atstart=no`` and the ``cgtoggle``
  client-request module on ``PYTHONPATH`` (``CGTOGGLE=1``), collection is on only inside the
  engine's book callback (the decision path, not the venue's ``BookSync``) for the messages
  chosen by ``--collect`` (``all``; ``decisions``: the messages whose handling reached a
  risk decision, read from ``--decisions FILE`` written by a plain run; ``quiet``: the others).
  The garbage collector
  is not frozen here, so its passes over the stream held in memory count too;
- behaviour: ``--rows FILE`` writes every audit row (seq, ts, kind, trace, venue, payload,
  hash), so two trees' rows can be compared byte for byte.

``--in-python cycles`` (or ``all``) unbinds the engine's compiled triangular decisions (or both
compiled decisions), so the same tree's Python path is counted on the same messages, with the
same rows.

::

    PYTHONPATH=. python benches/engine_instructions.py --build-toggle /tmp/cg
    PYTHONPATH=. python benches/engine_instructions.py 10000 --decisions /tmp/d.txt --rows r.txt
    CGTOGGLE=1 PYTHONPATH=.:/tmp/cg valgrind --tool=callgrind --collect-atstart=no \\
        --separate-threads=yes python benches/engine_instructions.py 10000 --collect decisions \\
        --decisions /tmp/d.txt --cache /tmp/stream.pkl

(``python`` must be the interpreter itself, not a shim script; the audit writer's thread gets its
own ``-02`` file, and what is compared is the main thread's ``-01``.)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import logging
import os
import pickle
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from engine_world import SimStream, demo_config, engine_for, sim_stream

from arbcore.backtest import VirtualClock
from arbcore.storage.audit import AuditTrail

RATE = 10_000.0  # virtual messages per second (the bench's paced row)
T = TypeVar("T")


#: ``cgtoggle``: callgrind's CALLGRIND_TOGGLE_COLLECT client request, callable from Python
#: (a no-op outside valgrind); ``--build-toggle DIR`` compiles it (needs valgrind's headers)
TOGGLE_SOURCE = """
#include <Python.h>
#include <valgrind/callgrind.h>
static PyObject *toggle(PyObject *self, PyObject *unused) {
    CALLGRIND_TOGGLE_COLLECT;
    Py_RETURN_NONE;
}
static PyMethodDef methods[] = {{"toggle", toggle, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "cgtoggle", NULL, -1, methods};
PyMODINIT_FUNC PyInit_cgtoggle(void) { return PyModule_Create(&module); }
"""


def build_toggle(folder: Path) -> Path:
    """Compile ``cgtoggle`` into ``folder`` (put it on PYTHONPATH for the valgrind run)."""
    import subprocess
    import sysconfig

    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "cgtoggle.c"
    source.write_text(TOGGLE_SOURCE)
    built = folder / f"cgtoggle{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}",
                    str(source), "-o", str(built)], check=True)  # fmt: skip
    return built


def _toggle() -> Callable[[], None]:
    if os.environ.get("CGTOGGLE"):
        import cgtoggle  # built by build_toggle

        toggle: Callable[[], None] = cgtoggle.toggle
        return toggle
    return lambda: None


def pickled(cache: Path | None, fits: Callable[[Any], bool], build: Callable[[], T]) -> T:
    """What ``cache`` holds when ``fits`` takes it (a valgrind run need not simulate the
    market again), else ``build()``, pickled into ``cache``."""
    kept = pickle.loads(cache.read_bytes()) if cache is not None and cache.exists() else None
    if kept is not None and fits(kept):
        return cast("T", kept)
    made = build()
    if cache is not None:
        cache.write_bytes(pickle.dumps(made))
    return made


def _stream(messages: int, cache: Path | None) -> SimStream:
    return pickled(cache, lambda kept: isinstance(kept, SimStream) and len(kept.deltas) >= messages,
                   lambda: sim_stream(messages))  # fmt: skip


async def replay(stream: SimStream, messages: int, workdir: Path, *, rate: float = RATE,
                 collect: set[int] | None = None,
                 in_python: str | None = None) -> tuple[list[int], Path, str]:  # fmt: skip
    """Replay ``messages`` deltas at virtual ``rate``; the indices of the messages that reached
    a risk decision, the audit trail's path and the run's counts (what the engine, orchestrator
    and metrics counted). ``collect``: toggle callgrind around those messages' callbacks;
    ``in_python``: ``"cycles"`` or ``"all"``, the compiled decisions unbound."""
    config = demo_config(workdir / "audit.db")
    clock = VirtualClock()
    toggle = _toggle()
    decided: list[int] = []
    with AuditTrail(config.system.storage.path, synchronous="NORMAL") as audit:
        engine = engine_for(stream, audit, config, sleep=clock.sleep, clock_ns=clock)
        ids, orders = itertools.count(1), itertools.count(1)
        engine.new_trace_id = lambda: f"{next(ids):032x}"
        engine.new_order_id = lambda: f"bench{next(orders)}"
        syncs, latencies = engine.syncs, engine.stats.latencies_ns
        callbacks = {venue: engine._on_book(venue) for venue in syncs}
        if in_python is not None:
            engine.cycle_decisions = {}
            if in_python == "all":
                engine.cross_decision = None
        period = 1e9 / rate
        for i, event in enumerate(stream.deltas[:messages]):
            await clock.advance(int(i * period))
            before = len(latencies)
            sync = syncs[event.venue][event.symbol]
            if not sync.on_event(event):  # (the venue's sync: not the engine's cost)
                continue
            if collect is not None and i in collect:
                toggle()
                callbacks[event.venue](event.symbol, sync.book)
                toggle()
            else:
                callbacks[event.venue](event.symbol, sync.book)
            if len(latencies) != before:
                decided.append(i)
        await clock.drain()
        audit.flush()
    stats, orchestrator = engine.stats, engine.orchestrator
    counts = repr((stats.book_updates, sorted(stats.opportunities.items()), stats.admitted,
                   sorted(stats.risk_refused.items()), stats.trades, stats.filled_legs,
                   orchestrator.offered, orchestrator.admitted,
                   sorted(orchestrator.refused.items()), sorted(engine.metrics.detected.items()),
                   engine.metrics.latency.count))  # fmt: skip
    return decided, workdir / "audit.db", counts


def dump_rows(path: Path, out: Path) -> str:
    """Every audit row as text (one per line); the digest of them all."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    text = "".join(repr(row) + "\n" for row in rows)
    out.write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", type=int, nargs="?", default=10_000)
    parser.add_argument("--build-toggle", type=Path, metavar="DIR",
                        help="compile the cgtoggle module into DIR and exit")  # fmt: skip
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--collect", choices=("all", "decisions", "quiet"))
    parser.add_argument("--decisions", type=Path, help="write (plain run) or read the indices")
    parser.add_argument("--rows", type=Path, help="write the audit rows here")
    parser.add_argument("--cache", type=Path, help="pickle the stream here (valgrind runs)")
    parser.add_argument("--in-python", choices=("cycles", "all"))
    args = parser.parse_args()
    if args.build_toggle is not None:
        print(build_toggle(args.build_toggle))
        return
    logging.disable(logging.WARNING)
    stream = _stream(args.messages, args.cache)
    collect: set[int] | None = None
    if args.collect == "all":
        collect = set(range(args.messages))
    elif args.collect in ("decisions", "quiet"):
        reached = {int(line) for line in args.decisions.read_text().split()}
        collect = reached if args.collect == "decisions" else set(range(args.messages)) - reached
    with tempfile.TemporaryDirectory() as workdir:
        decided, trail, counts = asyncio.run(replay(stream, args.messages, Path(workdir),
                                                    rate=args.rate, collect=collect,
                                                    in_python=args.in_python))  # fmt: skip
        digest = dump_rows(trail, args.rows) if args.rows else "-"
    if args.decisions is not None and args.collect is None:
        args.decisions.write_text("\n".join(map(str, decided)) + "\n")
    print(f"messages {args.messages} decisions {len(decided)} collected "
          f"{len(collect) if collect is not None else 0} rows {digest}")  # fmt: skip
    print(f"counts {hashlib.sha256(counts.encode()).hexdigest()} {counts}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
