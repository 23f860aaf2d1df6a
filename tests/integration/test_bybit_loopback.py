"""The Bybit v5 client end to end over loopback: a local server plays the real recording.

Bybit has no REST step: the venue pushes a snapshot after every subscribe. The server
(127.0.0.1 only) plays the recorded ``orderbook.500.XRPUSDT`` snapshot and deltas after the
client subscribes and answers every later subscribe with a snapshot of its current book. The
client must survive a dropped connection (resubscribe, wait for the pushed snapshot) and a lost
delta (unsubscribe + subscribe), and end with exactly the server's book; no book is handed out
while it is out of sync.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from arbcore.exchanges.bybit.data import BybitDataClient
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.net.ws import Backoff
from arbcore.testing.conformance import load_venue_recording
from arbcore.testing.loopback import RecordedBybit, play

pytestmark = pytest.mark.recording

SYMBOL = "XRP/USDT"


def _run(server: RecordedBybit) -> tuple[BybitDataClient, list[bool]]:
    def make(ws_url: str, rest_url: str, on_book: BookCallback) -> BookClient:
        return BybitDataClient(
            [server.instrument],
            ws_url=f"{ws_url}/v5/public/linear",
            depth=server.depth,  # the recording's stream; spot's default is 50
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
            on_book=on_book,
        )

    client, served_in_sync = asyncio.run(play(server, make, SYMBOL))
    assert isinstance(client, BybitDataClient)
    return client, served_in_sync


def _assert_same_book(server: RecordedBybit, client: BybitDataClient) -> None:
    sync = client.syncs[SYMBOL]
    assert sync.in_sync
    assert sync.book_id == server.update_id
    for mine, theirs in zip(sync.book.top(200), server.book.top(200), strict=True):
        assert mine.tolist() == theirs.tolist()


def test_bybit_subscribe_frame_is_the_documented_one(shared_data: Path) -> None:
    documented = json.loads((shared_data / "vectors/bybit/ws_subscribe_request.json").read_text())
    server = RecordedBybit(load_venue_recording("bybit", shared_data), drop_after=20)
    _run(server)
    for frame in server.subscriptions:
        assert frame.keys() == documented.keys()
        assert frame["op"] == documented["op"] == "subscribe"
        assert frame["args"] == ["orderbook.500.XRPUSDT"]


def test_bybit_client_survives_a_drop_and_ends_with_the_servers_book(shared_data: Path) -> None:
    server = RecordedBybit(load_venue_recording("bybit", shared_data), drop_after=20)
    client, served_in_sync = _run(server)
    assert server.connections == 2
    assert client.connection.counters.connects == 2
    assert client.connection.counters.disconnects >= 1
    sync = client.syncs[SYMBOL]
    assert sync.counters.resyncs >= 1  # the reconnect threw the old book away
    assert sync.counters.snapshots == 2  # the recording's, then the one pushed on resubscribe
    assert client.counters.resubscribes == 0  # the reconnect's subscribe was enough
    assert [m["op"] for m in server.received] == ["subscribe", "subscribe"]
    _assert_same_book(server, client)
    assert served_in_sync
    assert all(served_in_sync)  # never a stale book handed out


def test_bybit_lost_delta_resyncs_by_resubscribing(shared_data: Path) -> None:
    server = RecordedBybit(load_venue_recording("bybit", shared_data), drop_after=10_000,
                           lose={25})  # fmt: skip
    client, served_in_sync = _run(server)
    assert server.connections == 1
    sync = client.syncs[SYMBOL]
    assert sync.counters.gaps == 1
    assert client.counters.resubscribes == 1
    assert [m["op"] for m in server.received] == ["subscribe", "unsubscribe", "subscribe"]
    assert server.received[1]["args"] == server.received[2]["args"] == ["orderbook.500.XRPUSDT"]
    _assert_same_book(server, client)
    assert all(served_in_sync)
