"""The event hub: bounded, never blocking, topic-routed."""

from __future__ import annotations

import asyncio

import pytest

from arbcore.observability import EventHub


def test_events_reach_only_the_subscribers_of_their_topic() -> None:
    async def run() -> tuple[list[str], list[str]]:
        hub = EventHub(clock_ns=lambda: 42)
        trades = hub.subscribe(["trades"])
        system = hub.subscribe(["system", "trades"])
        hub.publish("trades", "fill", {"qty": 1})
        hub.publish("system", "state", {"state": "halted"})
        hub.publish("market-data", "quote", {"bid": 1})  # nobody listens
        trades.close()
        system.close()
        return [e.kind async for e in trades], [e.kind async for e in system]

    trades, system = asyncio.run(run())
    assert trades == ["fill"]
    assert system == ["fill", "state"]


def test_a_slow_subscriber_loses_its_oldest_events_and_nobody_waits() -> None:
    async def run() -> tuple[list[int], int, list[int]]:
        hub = EventHub()
        slow = hub.subscribe(["trades"], maxsize=3)
        fast = hub.subscribe(["trades"], maxsize=100)
        for n in range(10):
            hub.publish("trades", "fill", {"n": n}, ts_ns=n)
        slow.close()
        fast.close()
        return [e.data["n"] async for e in slow], slow.dropped, [e.ts_ns async for e in fast]

    kept, dropped, everything = asyncio.run(run())
    assert kept == [7, 8, 9]
    assert dropped == 7
    assert everything == list(range(10))


def test_closing_wakes_a_waiting_reader_and_unsubscribes() -> None:
    async def run() -> tuple[object, bool, int]:
        hub = EventHub()
        subscription = hub.subscribe(["system"])
        reader = asyncio.create_task(subscription.get())
        await asyncio.sleep(0)
        subscription.close()
        got = await asyncio.wait_for(reader, 1)
        hub.publish("system", "state", {})
        return got, hub.listened("system"), hub.published

    got, listened, published = asyncio.run(run())
    assert got is None
    assert not listened
    assert published == 0  # nobody listened, so nothing was built


def test_unknown_topics_and_empty_queues_are_refused() -> None:
    hub = EventHub()
    with pytest.raises(ValueError, match="unknown topics"):
        hub.subscribe(["trade"])
    with pytest.raises(ValueError, match="room for one event"):
        hub.subscribe(["trades"], maxsize=0)


def test_event_json_is_plain() -> None:
    async def run() -> dict[str, object]:
        hub = EventHub(clock_ns=lambda: 7)
        subscription = hub.subscribe(["system"])
        hub.publish("system", "alert", {"rule": "memory"})
        event = await subscription.get()
        assert event is not None
        return event.as_json()

    assert asyncio.run(run()) == {"topic": "system", "kind": "alert", "ts_ns": 7,
                                  "data": {"rule": "memory"}}  # fmt: skip
