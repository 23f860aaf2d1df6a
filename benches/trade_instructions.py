"""Instructions of the trades alone: each approved decision's ``Engine._trade`` task, from its
first step to its last record, with the tasks its steps start (the legs).

``engine_instructions.py`` counts the book callback, up to the trade's task being created; the
trade then runs as steps of that task (and of its legs' tasks) whenever the loop gets to them,
between frames. This replays the same stream the same way (``engine_instructions.replay``:
virtual clock, seeded ids, the same audit rows) with a task factory that wraps every
``Engine._trade`` task, and every task created inside one of its steps, so that callgrind's
collection is toggled on around each of their steps (``cgtoggle``, see
``engine_instructions.py --build-toggle``). ``--skip N``: the first N trades are run but not
counted (their first-time costs: the steady trade without them)::

    PY=$(python -c 'import sys; print(sys.executable)')   # the interpreter, not a shim
    PYTHONPATH=. $PY benches/engine_instructions.py --build-toggle /tmp/cg
    CGTOGGLE=1 PYTHONPATH=.:/tmp/cg:benches valgrind --tool=callgrind --collect-atstart=no \\
        --separate-threads=yes --callgrind-out-file=/tmp/cgtr.%p \\
        $PY benches/trade_instructions.py 20000 --skip 2 --cache /tmp/stream.pkl

Instructions per trade: the main thread's total (``-01``) / the trades counted (printed); the
toggling's own cost (two calls a step) is included. The audit writer's thread has its own file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Coroutine, Generator
from pathlib import Path
from typing import Any

from engine_instructions import _stream, _toggle, dump_rows, replay

TRADE = "Engine._trade"


class _Counted:
    """Awaits ``coro``, collection toggled on around each of its steps."""

    def __init__(self, coro: Coroutine[Any, Any, Any], watch: _Watch) -> None:
        self.coro, self.watch = coro, watch

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, watch, toggle = self.coro, self.watch, self.watch.toggle
        value: Any = None
        error: BaseException | None = None
        while True:
            watch.inside = True
            watch.steps += 1
            toggle()
            try:
                out = coro.send(value) if error is None else coro.throw(error)
            except StopIteration as stop:
                return stop.value
            finally:
                toggle()
                watch.inside = False
            try:
                value, error = (yield out), None
            except BaseException as thrown:  # (a cancellation: handed to the coroutine)
                value, error = None, thrown


class _Watch:
    """The task factory: which tasks are counted, and how many steps and trades were."""

    def __init__(self, skip: int) -> None:
        self.toggle = _toggle()
        self.skip = skip
        self.inside = False
        self.trades = self.counted = self.tasks = self.steps = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, coro: Any, **options: Any
                 ) -> asyncio.Task[Any]:  # fmt: skip
        count = self.inside  # a task a counted step starts (a leg)
        if getattr(coro, "__qualname__", "") == TRADE:
            self.trades += 1
            count = self.trades > self.skip
            self.counted += count
        if count:
            self.tasks += 1
            coro = self._counted(coro)
        return asyncio.Task(coro, loop=loop, **options)

    async def _counted(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return await _Counted(coro, self)


async def _run(stream: Any, messages: int, workdir: Path, watch: _Watch
               ) -> tuple[list[int], Path, str]:  # fmt: skip
    asyncio.get_running_loop().set_task_factory(watch)
    return await replay(stream, messages, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", type=int, nargs="?", default=20_000)
    parser.add_argument("--skip", type=int, default=0, help="trades run but not counted")
    parser.add_argument("--rows", type=Path, help="write the audit rows here")
    parser.add_argument("--cache", type=Path, help="pickle the stream here (valgrind runs)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    stream = _stream(args.messages, args.cache)
    watch = _Watch(args.skip)
    with tempfile.TemporaryDirectory() as workdir:
        decided, trail, _ = asyncio.run(_run(stream, args.messages, Path(workdir), watch))
        digest = dump_rows(trail, args.rows) if args.rows else "-"
    print(f"messages {args.messages} decisions {len(decided)} trades {watch.trades} counted "
          f"{watch.counted} (tasks {watch.tasks}, steps {watch.steps}) rows {digest}")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
