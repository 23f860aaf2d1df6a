"""A decision's parts, each called on its own, for instruction counts (callgrind).

``engine_instructions.py`` counts whole messages; this names what a decision spends its
instructions on. An engine is wired over the seeded market's snapshots (``engine_world``,
the backtest's :class:`~arbcore.backtest.VirtualClock`), the first cross-exchange route whose
depth walk gives an opportunity is chosen, and one part of the decision path is called
``--calls`` times with collection on (``cgtoggle`` from ``engine_instructions.py
--build-toggle``; a no-op outside valgrind), after as many calls to warm it up. One valgrind
run per part; ``empty`` (a call of nothing) is the harness's own cost, to subtract::

    PY=$(python -c 'import sys; print(sys.executable)')   # the interpreter, not a shim
    PYTHONPATH=. $PY benches/engine_instructions.py --build-toggle /tmp/cg
    for part in $(PYTHONPATH=. $PY benches/engine_parts.py --list); do
        CGTOGGLE=1 PYTHONPATH=.:/tmp/cg valgrind --tool=callgrind --collect-atstart=no \\
            --separate-threads=yes --callgrind-out-file=/tmp/parts.$part.%p \\
            $PY benches/engine_parts.py $part --cache /tmp/stream.pkl
    done

Instructions per call: (I_part - I_empty) / calls, from each run's main-thread file (``-01``).
The parts (``price``: the depth walk, ``Opportunity`` and its legs; ``admit_finish``: the
orchestrator's admission and release, the cool-off it sets undone each time; ``leg_tuples``;
``risk``: ``check_legs`` approving; ``record_*``: an audit row queued; ``pre_check``: the
strategy's pre-check passing; ``book``: ``Engine.book``) run on the engine's real objects.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from engine_instructions import _stream, _toggle
from engine_world import demo_config, engine_for

from arbcore.backtest import VirtualClock
from arbcore.engine import Engine
from arbcore.model import Opportunity
from arbcore.risk.engine import leg_tuples
from arbcore.storage.audit import AuditTrail, RecordKind

PARTS = ("price", "admit_finish", "leg_tuples", "risk", "trace_id", "record_decision",
         "record_opportunity", "pre_check", "book", "empty")  # fmt: skip
TRACE = "0" * 32


def parts(engine: Engine) -> dict[str, Callable[[], object]]:
    """Each part as a call of nothing, on the first route that crosses with a profit."""
    cross, orchestrator = engine.cross, engine.orchestrator
    assert cross is not None
    for route in cross._routes:
        buy = engine.book(route.buy.venue, route.buy.symbol)
        sell = engine.book(route.sell.venue, route.sell.symbol)
        found = cross._price(route, buy, sell) if buy and sell else None
        if found is not None:
            break
    else:
        raise SystemExit("no cross-exchange route crosses in the snapshots")
    assert buy is not None  # (found needs both books)
    assert sell is not None
    opportunity: Opportunity = found
    legs = leg_tuples(opportunity, engine.usd, engine._book_ages())
    decision = engine.risk.check_legs(legs, TRACE)
    blocked = engine._blocked(cross.kind)
    taken = orchestrator._last_taken

    def admit_finish() -> None:
        ticket = orchestrator.admit(opportunity)
        assert ticket is not None, "the orchestrator refused the part's opportunity"
        orchestrator.finish(ticket)
        for key in list(taken):  # (the cool-off the admission set, undone)
            del taken[key]

    return {
        "price": lambda: cross._price(route, buy, sell),
        "admit_finish": admit_finish,
        "leg_tuples": lambda: leg_tuples(opportunity, engine.usd, engine._book_ages()),
        "risk": lambda: engine.risk.check_legs(legs, TRACE),
        "trace_id": engine.new_trace_id,
        "record_decision": lambda: engine._record(RecordKind.RISK_DECISION, decision, 0, TRACE),
        "record_opportunity": lambda: engine._record(
            RecordKind.OPPORTUNITY, opportunity, 0, TRACE, opportunity.venue
        ),
        "pre_check": lambda: blocked(route.key, route.markets),
        "book": lambda: engine.book(route.sell.venue, route.sell.symbol),
        "empty": lambda: None,
    }


async def run(part: str, calls: int, cache: Path | None) -> None:
    stream = _stream(1, cache)
    with tempfile.TemporaryDirectory() as workdir:
        config = demo_config(Path(workdir) / "audit.db")
        clock = VirtualClock()
        with AuditTrail(config.system.storage.path, synchronous="NORMAL") as audit:
            engine = engine_for(stream, audit, config, sleep=clock.sleep, clock_ns=clock)
            call = parts(engine)[part]
            toggle = _toggle()
            for _ in range(calls):
                call()
            gc.collect()
            gc.freeze()  # (as Engine.run does: start-up's garbage is never scanned again)
            toggle()
            for _ in range(calls):
                call()
            toggle()
            gc.unfreeze()
            audit.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", nargs="?", choices=PARTS)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--cache", type=Path, help="the pickled stream (engine_instructions)")
    parser.add_argument("--list", action="store_true", help="print the parts' names and exit")
    args = parser.parse_args()
    if args.list or args.part is None:
        print(" ".join(PARTS))
        return
    logging.disable(logging.WARNING)
    asyncio.run(run(args.part, args.calls, args.cache))
    print(f"{args.part} {args.calls} calls")


if __name__ == "__main__":
    main()
