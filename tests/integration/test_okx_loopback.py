"""The OKX client end to end over loopback: a local server plays the real recording.

OKX pushes a ``books`` snapshot after every subscribe, so the client resyncs by resubscribing,
never over REST. The server (127.0.0.1 only) plays the recorded BTC-USDT ``books`` snapshot and
updates (each with its checksum) after the client subscribes, drops the connection part-way and
answers every later subscribe with a snapshot of its current book. The client must send the
documented subscribe, survive the drop, resync from the pushed snapshot and end with exactly
the server's book; no book is handed out while it is out of sync.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from arbcore.exchanges.okx.data import OKXDataClient
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.net.ws import Backoff
from arbcore.testing.conformance import load_venue_recording
from arbcore.testing.loopback import RecordedOkx, play

pytestmark = pytest.mark.recording

SYMBOL = "BTC/USDT"


def _run(server: RecordedOkx) -> tuple[OKXDataClient, list[bool]]:
    def make(ws_url: str, rest_url: str, on_book: BookCallback) -> BookClient:
        return OKXDataClient(
            [server.instrument],
            ws_url=f"{ws_url}/ws/v5/public",
            rest_url=rest_url,
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
            on_book=on_book,
        )

    client, served_in_sync = asyncio.run(play(server, make, SYMBOL))
    assert isinstance(client, OKXDataClient)
    return client, served_in_sync


def _assert_same_book(server: RecordedOkx, client: OKXDataClient) -> None:
    sync = client.syncs[SYMBOL]
    assert sync.in_sync
    for mine, theirs in zip(sync.book.top(400), server.book.top(400), strict=True):
        assert mine.tolist() == theirs.tolist()


def test_okx_client_survives_a_drop_and_ends_with_the_servers_book(shared_data: Path) -> None:
    server = RecordedOkx(load_venue_recording("okx", shared_data), drop_after=40)
    client, served_in_sync = _run(server)

    documented = json.loads((shared_data / "vectors/okx/ws_subscribe_request.json").read_text())
    assert server.paths == ["/ws/v5/public"] * 2
    assert len(server.subscriptions) == 2
    for frame in server.subscriptions:
        assert frame.keys() == documented.keys()
        assert isinstance(frame["id"], str)
        assert frame["op"] == documented["op"] == "subscribe"
        assert frame["args"] == documented["args"] == [{"channel": "books", "instId": "BTC-USDT"}]

    assert server.connections == 2
    assert client.connection.counters.connects == 2
    assert server.http_requests == []  # the pushed snapshot, never REST
    sync = client.syncs[SYMBOL]
    assert sync.counters.resyncs == 1  # the reconnect threw the old book away
    assert sync.counters.snapshots == 2  # the recording's, then the one pushed on resubscribe
    assert client.counters.resubscribes == 0  # the reconnect's subscribe was enough
    assert sync.counters.checksum_failed == 0
    assert sync.counters.checksum_ok == len(server.frames) + 1  # every push, both snapshots
    assert [m["op"] for m in server.received] == ["subscribe", "subscribe"]
    _assert_same_book(server, client)
    assert served_in_sync
    assert all(served_in_sync)  # never a stale book handed out
