"""The KuCoin client end to end over loopback: a local server plays the real recording.

The server (127.0.0.1 only) hands out ``bullet-public`` tokens naming itself as the instance
server, greets every connection with ``welcome``, plays the recorded ``trade.l2update`` frames
of SNX-BTC after the client subscribes, drops the connection part-way, and answers level-2
REST snapshots with its current book and ``sequence``. The client must fetch a token before
every connect, subscribe only after the welcome, sync, survive the drop, resync, and end with
exactly the server's book; no book is handed out while it is out of sync.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from arbcore.exchanges.kucoin.data import KucoinDataClient
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.net.ws import Backoff
from arbcore.testing.conformance import load_venue_recording
from arbcore.testing.loopback import RecordedKucoin, play

pytestmark = pytest.mark.recording

SYMBOL = "SNX/BTC"


def test_kucoin_client_survives_a_drop_and_ends_with_the_servers_book(shared_data: Path) -> None:
    recording = load_venue_recording("kucoin", shared_data)
    server = RecordedKucoin(recording, native="SNX-BTC", drop_after=200)

    def make(ws_url: str, rest_url: str, on_book: BookCallback) -> BookClient:
        return KucoinDataClient(
            [server.instrument_of(recording, "SNX-BTC")],
            rest_url=rest_url,  # the token names the WebSocket server
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
            on_book=on_book,
        )

    client, served_in_sync = asyncio.run(play(server, make, SYMBOL))
    assert isinstance(client, KucoinDataClient)

    documented = json.loads((shared_data / "vectors/kucoin/ws_subscribe_request.json").read_text())
    assert server.connections == 2
    assert server.before_greeting == []  # nothing sent before the welcome
    for frame in server.subscriptions:
        assert frame.keys() == documented.keys()
        assert isinstance(frame["id"], int)
        assert frame["type"] == documented["type"] == "subscribe"
        assert frame["topic"] == "/market/level2:SNX-BTC"
        assert frame["response"] is True
    # a fresh token before every connect, and a new connectId each time
    bullets = [target for method, target in server.http_requests if method == "POST"]
    assert bullets == ["/api/v1/bullet-public"] * 2
    queries = [parse_qs(urlparse(path).query) for path in server.paths]
    assert [q["token"] for q in queries] == [[RecordedKucoin.TOKEN]] * 2
    assert queries[0]["connectId"] != queries[1]["connectId"]
    assert client.keepalive is not None  # the ping interval the token came with
    assert client.keepalive.interval_s == RecordedKucoin.PING_INTERVAL_MS / 1000

    assert client.connection.counters.connects == 2
    sync = client.syncs[SYMBOL]
    assert sync.counters.resyncs >= 1  # the reconnect threw the old book away
    assert client.counters.snapshot_requests >= 2
    assert sync.counters.gaps == 0
    assert sync.in_sync
    assert sync.book_id == server.update_id
    # the snapshot holds 100 levels a side: compare the part both sides know
    for mine, theirs in zip(sync.book.top(50), server.book.top(50), strict=True):
        assert mine.tolist() == theirs.tolist()
    assert served_in_sync
    assert all(served_in_sync)  # never a stale book handed out
