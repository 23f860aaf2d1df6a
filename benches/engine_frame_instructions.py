"""Instructions per WebSocket frame on the live path: the venue's client handler + the engine.

``engine_instructions.py`` counts the engine's book callback alone, fed pre-parsed events; this
counts what a frame costs from its arrival: the venue's ``BookClient._on_frame`` (the compiled
delta path or the validating parse, the sync), then the engine's book callback and whatever
decision it makes. The frames are ``frame_world.frame_stream``'s (the simulator's own venue
servers' bytes, engine_world's market), replayed deterministically with the backtest's
:class:`~arbcore.backtest.VirtualClock` (frame ``i`` at ``i / rate`` seconds, shadow fills after
their latency in that time, seeded trace and order ids), start-up's garbage frozen as
``Engine.run`` does. Under callgrind (``--collect-atstart=no``, the ``cgtoggle`` module of
``engine_instructions.py --build-toggle`` on ``PYTHONPATH``, ``CGTOGGLE=1``), collection is
toggled on around each chosen frame's handler call (``--collect frames``: every frame;
``quiet``: the frames that reached no risk decision, read from ``--decisions FILE`` written by a
plain run), or around nothing as often (``empty``: the toggling's own cost, to subtract)::

    PY=$(python -c 'import sys; print(sys.executable)')   # the interpreter, not a shim
    PYTHONPATH=. $PY benches/engine_instructions.py --build-toggle /tmp/cg
    PYTHONPATH=. $PY benches/engine_frame_instructions.py 10000 --decisions /tmp/fd.txt \\
        --cache /tmp/frames.pkl
    for c in frames empty; do CGTOGGLE=1 PYTHONPATH=.:/tmp/cg valgrind --tool=callgrind \\
        --collect-atstart=no --separate-threads=yes --callgrind-out-file=/tmp/cgfr.$c.%p \\
        $PY benches/engine_frame_instructions.py 10000 --collect $c --cache /tmp/frames.pkl; done

Instructions per frame: (I_frames - I_empty) / frames, from each run's main-thread file
(``-01``; the audit writer's thread has its own).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path

from engine_instructions import _toggle, pickled
from engine_world import demo_config
from frame_world import EPOCH_NS, FrameStream, frame_engine, frame_stream

from arbcore.backtest import VirtualClock
from arbcore.engine import frozen_startup
from arbcore.storage.audit import AuditTrail

RATE = 10_000.0  # virtual frames per second (the bench's paced row)
COLLECT = ("frames", "quiet", "empty")


def _stream(messages: int, cache: Path | None) -> FrameStream:
    """The frames, from ``cache`` when it holds enough."""
    return pickled(cache,
                   lambda kept: isinstance(kept, FrameStream) and len(kept.frames) >= messages,
                   lambda: frame_stream(messages))  # fmt: skip


async def replay(stream: FrameStream, messages: int, workdir: Path, *, rate: float = RATE,
                 collect: str | None = None, skip: frozenset[int] = frozenset()
                 ) -> tuple[list[int], Counter[str]]:  # fmt: skip
    """Replay ``messages`` frames at virtual ``rate``; the indices of the frames that reached a
    risk decision, and what the run counted. ``collect``: toggle callgrind around each frame's
    handler (``skip``: not these), or around nothing (``empty``)."""
    config = demo_config(workdir / "audit.db")
    clock = VirtualClock()
    toggle = _toggle()
    decided: list[int] = []
    with AuditTrail(config.system.storage.path, synchronous="NORMAL") as audit:
        engine, _ = await frame_engine(stream, audit, config, stamp=False, sleep=clock.sleep,
                                       clock_ns=clock)  # fmt: skip
        ids, orders = itertools.count(1), itertools.count(1)
        engine.new_trace_id = lambda: f"{next(ids):032x}"
        engine.new_order_id = lambda: f"bench{next(orders)}"
        on_frame = {venue: client._on_frame for venue, client in engine.clients.items()}
        latencies = engine.stats.latencies_ns
        period = 1e9 / rate
        with frozen_startup():
            for i, (venue, frame) in enumerate(stream.frames[:messages]):
                await clock.advance(int(i * period))
                before = len(latencies)
                handle, ts = on_frame[venue], EPOCH_NS + int(i * period)
                if collect is None or i in skip:
                    handle(frame, ts)
                elif collect == "empty":
                    toggle()
                    toggle()
                    handle(frame, ts)
                else:
                    toggle()
                    handle(frame, ts)
                    toggle()
                if len(latencies) != before:
                    decided.append(i)
            await clock.drain()
        audit.flush()
    malformed = sum(client.counters.malformed for client in engine.clients.values())
    counts = Counter(book_updates=engine.stats.book_updates, decisions=len(latencies),
                     trades=engine.stats.trades, malformed=malformed)  # fmt: skip
    return decided, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", type=int, nargs="?", default=10_000)
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--collect", choices=COLLECT)
    parser.add_argument("--decisions", type=Path, help="write (plain run) or read the indices")
    parser.add_argument("--cache", type=Path, help="pickle the frames here (valgrind runs)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    stream = _stream(args.messages, args.cache)
    skip: frozenset[int] = frozenset()
    if args.collect == "quiet":
        skip = frozenset(int(line) for line in args.decisions.read_text().split())
    with tempfile.TemporaryDirectory() as workdir:
        decided, counts = asyncio.run(replay(stream, args.messages, Path(workdir),
                                             rate=args.rate, collect=args.collect,
                                             skip=skip))  # fmt: skip
    if args.decisions is not None and args.collect is None:
        args.decisions.write_text("\n".join(map(str, decided)) + "\n")
    collected = 0 if args.collect is None else args.messages - len(skip)
    print(f"frames {args.messages} reaching a decision {len(decided)} collected {collected} "
          f"{dict(sorted(counts.items()))}")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
