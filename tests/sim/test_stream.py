"""The WebSocket fan-out's wire faults: what each does to the frames a connection receives."""

from __future__ import annotations

import asyncio
import time

from arbcore.sim import Fault, FaultConfig, FaultInjector
from arbcore.sim.stream import Outgoing, StreamHub


def pumped(faults: FaultInjector, frames: list[tuple[str, bool]]) -> tuple[list[str], bool]:
    """The texts one subscriber receives for ``(text, is_delta)`` frames, and whether the
    connection was closed."""
    hub = StreamHub("binance", faults)
    subscriber = hub.join()
    subscriber.streams.add("s")
    for text, is_delta in frames:
        hub.publish("s", text, is_delta=is_delta)
    sent: list[str] = []
    closed = False

    async def send(frame: Outgoing) -> None:
        sent.append(frame.text)

    async def close() -> None:
        nonlocal closed
        closed = True

    async def run() -> None:
        task = asyncio.create_task(hub.pump(subscriber, send, close))
        await asyncio.sleep(0.05)
        hub.leave(subscriber)
        await task

    asyncio.run(run())
    return sent, closed


FRAMES = [("a", True), ("b", True), ("c", False), ("d", True)]


def test_stream_without_faults_sends_every_frame_in_order() -> None:
    assert pumped(FaultInjector(), FRAMES) == (["a", "b", "c", "d"], False)


def test_gap_loses_one_delta_and_never_a_reply() -> None:
    faults = FaultInjector(FaultConfig(gap=1.0))
    assert pumped(faults, FRAMES) == (["c"], False)
    faults = FaultInjector()
    faults.arm(Fault.GAP, "binance")
    assert pumped(faults, FRAMES) == (["b", "c", "d"], False)


def test_drop_closes_the_connection_before_the_frame() -> None:
    faults = FaultInjector()
    faults.arm(Fault.DROP, "binance")
    assert pumped(faults, FRAMES) == ([], True)


def test_reorder_sends_a_frame_after_the_next_one() -> None:
    faults = FaultInjector()
    faults.arm(Fault.REORDER, "binance")
    assert pumped(faults, FRAMES) == (["b", "a", "c", "d"], False)


def test_delay_holds_frames_back() -> None:
    faults = FaultInjector(FaultConfig(delay=1.0, delay_ms=40.0))
    started = time.monotonic()
    assert pumped(faults, FRAMES) == (["a", "b", "c", "d"], False)
    assert time.monotonic() - started >= 0.16  # four frames, 40 ms each
