"""The Bitfinex v2 client end to end over loopback: a local server plays the real recording.

Bitfinex pushes a book snapshot after every subscribe and numbers every message of a connection
(SEQ_ALL), so the client configures each connection (``conf``) before subscribing and resyncs
by resubscribing. The server (127.0.0.1 only) greets with ``info``, plays the recorded P0
``book`` frames and heartbeats of IOT/ETH, stamped with its own per-connection sequence and
followed by ``cs`` checksums of its book, drops the connection part-way and answers every later
subscribe with a snapshot. The client must survive the drop, start the new connection's
sequence afresh, and end with exactly the server's book; no stale book is handed out.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from arbcore.exchanges.bitfinex.constants import CONF_FLAGS
from arbcore.exchanges.bitfinex.data import BitfinexDataClient
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.net.ws import Backoff
from arbcore.testing.conformance import load_venue_recording
from arbcore.testing.loopback import RecordedBitfinex, play

pytestmark = pytest.mark.recording

SYMBOL = "IOT/ETH"
LENGTH = "100"  # the recording's book length


def _run(server: RecordedBitfinex) -> tuple[BitfinexDataClient, list[bool]]:
    def make(ws_url: str, rest_url: str, on_book: BookCallback) -> BookClient:
        return BitfinexDataClient(
            [server.instrument],
            ws_url=f"{ws_url}/ws/2",
            length=LENGTH,
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
            on_book=on_book,
        )

    client, served_in_sync = asyncio.run(play(server, make, SYMBOL))
    assert isinstance(client, BitfinexDataClient)
    return client, served_in_sync


def _assert_same_book(server: RecordedBitfinex, client: BitfinexDataClient) -> None:
    sync = client.syncs[SYMBOL]
    assert sync.in_sync
    for mine, theirs in zip(sync.book.top(100), server.book.top(100), strict=True):
        assert mine.tolist() == theirs.tolist()


def test_bitfinex_client_survives_a_drop_and_ends_with_the_servers_book(
    shared_data: Path,
) -> None:
    server = RecordedBitfinex(load_venue_recording("bitfinex", shared_data), drop_after=300)
    client, served_in_sync = _run(server)

    vectors = shared_data / "vectors/bitfinex"
    documented = json.loads((vectors / "ws_book_subscribe.json").read_text())["request"]
    conf = json.loads((vectors / "ws_conf_flags.json").read_text())["conf_checksum_and_sequence"]
    assert conf["flags"] == CONF_FLAGS
    # every connection: conf first, then the book subscribe
    assert [m["event"] for m in server.received] == ["conf", "subscribe"] * 2
    assert server.received[0] == server.received[2] == conf
    for frame in server.subscriptions:
        assert frame.keys() <= documented.keys()
        for key in ("event", "channel", "prec"):
            assert frame[key] == documented[key]
        assert frame["symbol"] == "tIOTETH"
        assert frame["len"] == LENGTH

    assert server.connections == 2
    assert client.connection.counters.connects == 2
    assert client.counters.malformed == 0  # info, conf, subscribed, heartbeats: no books
    sync = client.syncs[SYMBOL]
    assert sync.counters.resyncs == 1  # the reconnect threw the old book away
    assert sync.counters.gaps == 0  # the new connection's sequence was not held to the old one
    assert sync.counters.snapshots == 2  # the recording's, then the one pushed on resubscribe
    assert client.counters.resubscribes == 0  # the reconnect's subscribe was enough
    assert sync.counters.checksum_failed == 0
    assert sync.counters.checksum_ok > 300
    _assert_same_book(server, client)
    assert served_in_sync
    assert all(served_in_sync)  # never a stale book handed out


def test_bitfinex_lost_update_resyncs_by_resubscribing(shared_data: Path) -> None:
    """A lost book update fails the next checksum: unsubscribe by channel id, subscribe anew."""
    server = RecordedBitfinex(load_venue_recording("bitfinex", shared_data), drop_after=10_000,
                              lose={120})  # fmt: skip
    client, served_in_sync = _run(server)
    assert server.connections == 1
    sync = client.syncs[SYMBOL]
    assert sync.counters.checksum_failed == 1
    assert client.counters.resubscribes == 1
    events = [m["event"] for m in server.received]
    assert events == ["conf", "subscribe", "unsubscribe", "subscribe"]  # conf once a connection
    assert server.received[2] == {"event": "unsubscribe", "chanId": server.status["chanId"]}
    assert sync.counters.snapshots == 2
    _assert_same_book(server, client)
    assert all(served_in_sync)
