"""The Kraken v1 client end to end over loopback: a local server plays the real recording.

Kraken has no sequence numbers and no REST book to align with: the snapshot it pushes after a
subscribe is the only way (back) into sync, and the CRC32 of the top 10 levels is the only
check. The server (127.0.0.1 only) plays the recorded ``book-1000`` frames of XMR/USD and the
heartbeats after the client subscribes, answers pings, drops the connection part-way, and
answers every later subscribe with a snapshot of its current book. The client must survive the
drop, recover from a checksum failure (one level altered once) by resubscribing, and end with
exactly the server's book; no book is handed out while it is out of sync.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from arbcore.exchanges.kraken.data import KrakenDataClient, ping_message
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.net.ws import Backoff, Keepalive
from arbcore.testing.conformance import load_venue_recording
from arbcore.testing.loopback import RecordedKraken, play

pytestmark = pytest.mark.recording

SYMBOL = "XMR/USD"
SUBSCRIBE = {"event": "subscribe", "pair": ["XMR/USD"],
             "subscription": {"name": "book", "depth": 1000}}  # fmt: skip


def _run(server: RecordedKraken, keepalive: Keepalive | None = None
         ) -> tuple[KrakenDataClient, list[bool]]:  # fmt: skip
    """Play ``server`` to a client; ``keepalive`` replaces the 20 s ping (None: the client's)."""
    options: dict[str, Any] = {} if keepalive is None else {"keepalive": keepalive}

    def make(ws_url: str, rest_url: str, on_book: BookCallback) -> BookClient:
        return KrakenDataClient(
            [server.instrument],
            ws_url=ws_url,
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
            on_book=on_book,
            **options,
        )

    client, served_in_sync = asyncio.run(play(server, make, SYMBOL))
    assert isinstance(client, KrakenDataClient)
    return client, served_in_sync


def _assert_same_book(server: RecordedKraken, client: KrakenDataClient) -> None:
    sync = client.syncs[SYMBOL]
    assert sync.in_sync
    for mine, theirs in zip(sync.book.top(1000), server.book.top(1000), strict=True):
        assert mine.tolist() == theirs.tolist()


def test_kraken_client_survives_a_drop_and_ends_with_the_servers_book(shared_data: Path) -> None:
    server = RecordedKraken(load_venue_recording("kraken", shared_data), drop_after=300)
    # a ping before every frame, nearly; the idle watchdog (3 intervals by default, 3 ms) out of
    # the way: a busy machine's 3 ms pause dropped the connection a second time
    pings = Keepalive(interval_s=0.001, ping=ping_message, idle_timeout_s=30.0)
    client, served_in_sync = _run(server, pings)

    documented = json.loads((shared_data / "vectors/kraken/ws_v1_subscribe_book.json").read_text())
    assert documented["request"]["subscription"]["depth"] == 10  # the docs' default; we ask 1000
    assert server.subscriptions == [SUBSCRIBE, SUBSCRIBE]
    for frame in server.subscriptions:
        assert frame.keys() == documented["request"].keys()

    assert server.connections == 2
    assert client.connection.counters.connects == 2
    pings_sent = [m for m in server.received if m.get("event") == "ping"]
    assert pings_sent
    assert all(isinstance(m["reqid"], int) for m in pings_sent)
    assert client.counters.malformed == 0  # heartbeats, statuses and pongs are no books
    sync = client.syncs[SYMBOL]
    assert sync.counters.resyncs == 1  # the reconnect threw the old book away
    assert sync.counters.snapshots == 2  # the recording's, then the one pushed on resubscribe
    assert client.counters.resubscribes == 0  # the reconnect's subscribe was enough
    assert sync.counters.checksum_failed == 0
    assert sync.counters.checksum_ok > 500
    _assert_same_book(server, client)
    assert served_in_sync
    assert all(served_in_sync)  # never a stale book handed out


def test_kraken_checksum_failure_resyncs_by_resubscribing(shared_data: Path) -> None:
    server = RecordedKraken(load_venue_recording("kraken", shared_data), drop_after=10_000,
                            alter_from=200)  # fmt: skip
    client, served_in_sync = _run(server)
    assert server.altered is not None
    assert server.connections == 1
    sync = client.syncs[SYMBOL]
    assert sync.counters.checksum_failed == 1
    assert client.counters.resubscribes == 1
    # the deltas that were on their way before the new snapshot are in it: skipped, not reapplied
    assert [m["event"] for m in server.received] == ["subscribe", "unsubscribe", "subscribe"]
    assert server.received[1]["pair"] == server.received[2]["pair"] == ["XMR/USD"]
    assert sync.counters.snapshots == 2
    _assert_same_book(server, client)
    assert all(served_in_sync)
