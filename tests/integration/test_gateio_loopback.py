"""The Gate.io v4 client end to end over loopback: a local server plays the real recording.

The server (127.0.0.1 only) plays the recorded ``spot.order_book_update`` frames of OMG_USDT
after the client subscribes, drops the connection part-way, and answers REST snapshot requests
(a real HTTP responder) with its current book and ``id``. The client must sync by U/u against
that ``id``, survive the drop, resubscribe, resync, and end with exactly the server's book; no
book is handed out while it is out of sync.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from arbcore.exchanges.gateio.data import GateioDataClient
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.net.ws import Backoff
from arbcore.testing.conformance import load_venue_recording
from arbcore.testing.loopback import RecordedGateio, play

pytestmark = pytest.mark.recording

SYMBOL = "OMG/USDT"


def test_gateio_client_survives_a_drop_and_ends_with_the_servers_book(shared_data: Path) -> None:
    recording = load_venue_recording("gateio", shared_data)
    server = RecordedGateio(recording, native="OMG_USDT", drop_after=20)

    def make(ws_url: str, rest_url: str, on_book: BookCallback) -> BookClient:
        return GateioDataClient(
            [server.instrument_of(recording, "OMG_USDT")],
            ws_url=f"{ws_url}/ws/v4/",
            rest_url=f"{rest_url}/api/v4",
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
            on_book=on_book,
        )

    client, served_in_sync = asyncio.run(play(server, make, SYMBOL))

    documented = json.loads((shared_data / "vectors/gateio/ws_order_book_update.json").read_text())
    assert server.connections == 2
    for frame in server.subscriptions:
        assert frame.keys() == documented["subscribe"].keys()
        assert frame["channel"] == documented["subscribe"]["channel"]
        assert frame["event"] == "subscribe"
        assert frame["payload"] == ["OMG_USDT", "100ms"]
    assert client.connection.counters.connects == 2
    sync = client.syncs[SYMBOL]
    assert sync.counters.resyncs >= 1  # the reconnect threw the old book away
    assert client.counters.snapshot_requests >= 2
    assert sync.counters.gaps == 0
    assert sync.in_sync
    assert sync.book_id == server.update_id
    # the REST snapshot holds 100 levels a side: compare the part both sides know
    for mine, theirs in zip(sync.book.top(50), server.book.top(50), strict=True):
        assert mine.tolist() == theirs.tolist()
    assert served_in_sync
    assert all(served_in_sync)  # never a stale book handed out
