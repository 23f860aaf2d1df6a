"""The busy-polling event loop: socket events and timers on time, the idle hook between polls."""

from __future__ import annotations

import asyncio
import selectors
import socket
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from arbcore.cli_run import run_loop
from arbcore.net.busypoll import BusyPollEventLoop, BusyPollSelector, busy_poll_loop


class _Hook:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def _run(hook: _Hook, main: Any) -> Any:
    with asyncio.Runner(loop_factory=busy_poll_loop(hook)) as runner:
        return runner.run(main)


def test_socket_data_arrives_through_the_busy_loop_while_the_hook_runs() -> None:
    """A stream read waits on the loop's selector: the bytes sent 20 ms later arrive, and
    the hook ran in between (the loop never slept)."""
    hook = _Hook()

    async def main() -> tuple[bytes, float]:
        left, right = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=left)
        loop = asyncio.get_running_loop()
        assert isinstance(loop, BusyPollEventLoop)
        sent = [0.0]

        def send() -> None:
            sent[0] = time.monotonic()
            right.sendall(b"frame\n")

        loop.call_later(0.02, send)
        line = await reader.readline()
        late = time.monotonic() - sent[0]
        writer.close()
        right.close()
        return line, late

    line, late = _run(hook, main())
    assert line == b"frame\n"
    assert late < 0.01
    assert hook.calls > 10


def test_timers_fire_on_time_and_the_hook_runs_while_they_wait() -> None:
    hook = _Hook()

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        fired: list[float] = []
        done = loop.create_future()
        for delay in (0.005, 0.01, 0.03):
            loop.call_at(start + delay, lambda d=delay: fired.append(loop.time() - start - d))
        loop.call_at(start + 0.031, done.set_result, None)
        await done
        return fired

    lateness = _run(hook, main())
    assert len(lateness) == 3
    assert all(0 <= late < 0.005 for late in lateness)
    assert hook.calls > 10


def test_a_wakeup_from_another_thread_is_seen_while_polling() -> None:
    hook = _Hook()

    async def main() -> str:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        timer = threading.Timer(0.01, loop.call_soon_threadsafe, (future.set_result, "woken"))
        timer.start()
        try:
            return await asyncio.wait_for(future, 2.0)
        finally:
            timer.join()

    assert _run(hook, main()) == "woken"
    assert hook.calls > 0


def test_select_polls_once_without_the_hook_when_the_timeout_is_zero() -> None:
    """Ready callbacks make the loop select with timeout 0: no hook call may hold them up;
    ready events return at once; an empty wait ends at its timeout, the hook called between."""
    hook = _Hook()
    left, right = socket.socketpair()
    with BusyPollSelector(hook) as selector:
        selector.register(left, selectors.EVENT_READ, "data")
        assert selector.get_key(left).data == "data"
        assert selector.select(0) == []
        assert hook.calls == 0
        start = time.monotonic()
        assert selector.select(0.01) == []
        assert time.monotonic() - start >= 0.01
        assert hook.calls > 0
        right.sendall(b"x")
        calls = hook.calls
        ready = selector.select(None)
        assert [(key.fileobj, events) for key, events in ready] == [(left, selectors.EVENT_READ)]
        assert hook.calls == calls  # (ready on the first poll)
        selector.unregister(left)
        assert not selector.get_map()
    left.close()
    right.close()


def test_a_hook_error_propagates_out_of_the_loop() -> None:
    def broken() -> None:
        raise RuntimeError("hook failed")

    with pytest.raises(RuntimeError, match="hook failed"):
        _run(broken, asyncio.sleep(0.01))  # type: ignore[arg-type]


def test_without_spin_the_hook_runs_while_it_works_then_the_loop_sleeps() -> None:
    """Deferred work before sleeping: the hook is called until it reports nothing done (three
    records, then none), then the selector blocks for the rest of the timeout, no hook call
    while it sleeps, and ready events still return at once."""
    work = [True, True, True]
    calls: list[float] = []

    def hook() -> bool:
        calls.append(time.monotonic())
        return bool(work) and work.pop()

    left, right = socket.socketpair()
    with BusyPollSelector(hook, spin=False) as selector:
        selector.register(left, selectors.EVENT_READ)
        start = time.monotonic()
        assert selector.select(0.02) == []
        assert time.monotonic() - start >= 0.02
        assert len(calls) == 4  # three that worked, one that did not
        assert calls[-1] - start < 0.01  # (all before the sleep)
        right.sendall(b"x")
        assert len(selector.select(None)) == 1
        assert len(calls) == 4  # (ready on the first poll)
    left.close()
    right.close()


@pytest.mark.parametrize("busy", [False, True])
def test_run_loop_busy_polls_only_when_configured(busy: bool) -> None:
    """Busy: the loop spins, calling ``idle``; else it sleeps, calling ``idle_work`` first."""
    idle, idle_work = _Hook(), _Hook()
    engine: Any = SimpleNamespace(config=SimpleNamespace(system=SimpleNamespace(busy_poll=busy)),
                                  idle=idle, idle_work=idle_work)  # fmt: skip

    async def main() -> Any:
        await asyncio.sleep(0.01)
        return asyncio.get_running_loop().busy_selector  # type: ignore[attr-defined]

    selector = run_loop(engine, main())
    assert selector.spin is busy
    assert (idle.calls > 10) is busy
    assert idle_work.calls == (0 if busy else selector.idle_calls)
    assert busy or 0 < idle_work.calls < 10  # (once before each sleep: a hook doing nothing)
