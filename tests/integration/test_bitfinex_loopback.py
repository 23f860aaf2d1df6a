"""The Bitfinex v2 client end to end over loopback: a local server plays the real recording.

Bitfinex pushes a book snapshot after every subscribe and numbers every message of a connection
(SEQ_ALL), so the client configures each connection (``conf``) before subscribing and resyncs
by resubscribing. The server (127.0.0.1 only) greets with ``info``, plays the recorded P0
``book`` frames and heartbeats of IOT/ETH, stamped with its own per-connection sequence and
followed by ``cs`` checksums of its book, drops the connection part-way and answers every later
subscribe with a snapshot. The client must survive the drop, start the new connection's
sequence afresh, and end with exactly the server's book; no stale book is handed out. The
same server also announces a restart (info 20051) or maintenance (20060, then 20061), or goes
silent while the connection stays open: the client reconnects or pauses and resubscribes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from arbcore.exchanges.bitfinex.constants import (
    CONF_FLAGS,
    INFO_MAINTENANCE_END,
    INFO_MAINTENANCE_START,
    INFO_RECONNECT,
)
from arbcore.exchanges.bitfinex.data import (
    PING_INTERVAL_S,
    BitfinexDataClient,
    InfoCounters,
    ping_message,
)
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.net.ws import Backoff, Keepalive
from arbcore.testing.conformance import Recording, load_venue_recording
from arbcore.testing.loopback import RecordedBitfinex, compact, play
from arbcore_ext.book import L2Book

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


# -- the server's info events and a silent connection -----------------------------------------


class _Announcing(RecordedBitfinex):
    """The recorded server, plus info events before given frames of the first connection.

    After 20051 (restart) the server sends nothing more on that connection and waits for the
    client to leave; ``silent_at``: the first connection goes quiet at that frame, open.
    """

    def __init__(
        self, recording: Recording, notices: dict[int, int], *, silent_at: int | None = None
    ) -> None:
        super().__init__(recording, drop_after=10_000)
        self.notices = notices
        self.silent_at = silent_at
        self.announced: list[tuple[int, int]] = []  # (code, messages received before it)

    async def before_frame(self, socket: ServerConnection) -> bool:
        await super().before_frame(socket)  # the checksum of the previous change goes first
        if self.connections > 1:
            return True
        code = self.notices.get(self.sent)
        if code is not None:
            self.announced.append((code, len(self.received)))
            await self.send(socket, compact({"event": "info", "code": code, "msg": "notice"}))
        if code == INFO_RECONNECT or self.sent == self.silent_at:
            await socket.wait_closed()  # only the client can end this connection
            return False
        return True


def _run_announcing(
    server: _Announcing, **kwargs: Any
) -> tuple[BitfinexDataClient, list[bool], list[bool]]:
    """Like ``_run``; also says, for every book handed out, whether maintenance was on."""
    in_maintenance: list[bool] = []

    def make(ws_url: str, rest_url: str, on_book: BookCallback) -> BookClient:
        def serve(symbol: str, book: L2Book) -> None:
            in_maintenance.append(client.in_maintenance)
            on_book(symbol, book)

        client = BitfinexDataClient(
            [server.instrument], ws_url=f"{ws_url}/ws/2", length=LENGTH,
            backoff=Backoff(initial_s=0.01, maximum_s=0.05), on_book=serve, **kwargs,
        )  # fmt: skip
        return client

    client, served_in_sync = asyncio.run(play(server, make, SYMBOL, timeout_s=20.0))
    assert isinstance(client, BitfinexDataClient)
    return client, served_in_sync, in_maintenance


def test_bitfinex_restart_notice_reconnects(shared_data: Path) -> None:
    """20051: the server stops; the client leaves at once and resyncs on a new connection."""
    server = _Announcing(load_venue_recording("bitfinex", shared_data), {250: INFO_RECONNECT})
    client, served_in_sync, _ = _run_announcing(server)
    assert server.connections == 2  # the server never closed the first: the client did
    assert client.info == InfoCounters(restarts=1)
    counters = client.connection.counters
    assert (counters.requested_reconnects, counters.idle_timeouts, counters.connects) == (1, 0, 2)
    sync = client.syncs[SYMBOL]
    assert (sync.counters.resyncs, sync.counters.snapshots, sync.counters.gaps) == (1, 2, 0)
    assert [m["event"] for m in server.received] == ["conf", "subscribe"] * 2
    _assert_same_book(server, client)
    assert served_in_sync
    assert all(served_in_sync)


def test_bitfinex_maintenance_pauses_then_resubscribes(shared_data: Path) -> None:
    """20060: every book stale, the connection kept, nothing asked for; 20061: unsubscribe and
    subscribe again, and the pushed snapshot brings the book back."""
    notices = {200: INFO_MAINTENANCE_START, 260: INFO_MAINTENANCE_END}
    server = _Announcing(load_venue_recording("bitfinex", shared_data), notices)
    client, served_in_sync, in_maintenance = _run_announcing(server)
    assert server.connections == 1
    assert client.info == InfoCounters(maintenance_starts=1, maintenance_ends=1)
    assert not client.in_maintenance
    events = [m["event"] for m in server.received]
    assert events == ["conf", "subscribe", "unsubscribe", "subscribe"]
    (start, before_start), (end, before_end) = server.announced
    assert (start, end) == (INFO_MAINTENANCE_START, INFO_MAINTENANCE_END)
    assert before_end == before_start == 2  # nothing was asked for during maintenance
    sync = client.syncs[SYMBOL]
    assert (sync.counters.resyncs, sync.counters.snapshots, sync.counters.gaps) == (1, 2, 0)
    assert client.counters.resubscribes == 1
    assert sync.counters.checksum_failed == 0
    _assert_same_book(server, client)
    assert all(served_in_sync)
    assert in_maintenance
    assert not any(in_maintenance)  # no book handed out while the venue was in maintenance


def test_bitfinex_silent_connection_times_out_and_resyncs(shared_data: Path) -> None:
    """The first connection stays open but sends nothing from frame 300 on: after the idle
    timeout the client reconnects, resubscribes, and its book catches up with the server's."""
    server = _Announcing(load_venue_recording("bitfinex", shared_data), {}, silent_at=300)
    keepalive = Keepalive(interval_s=PING_INTERVAL_S, ping=ping_message, idle_timeout_s=0.3)
    client, served_in_sync, _ = _run_announcing(server, keepalive=keepalive)
    assert server.connections == 2
    counters = client.connection.counters
    assert (counters.idle_timeouts, counters.requested_reconnects, counters.connects) == (1, 0, 2)
    sync = client.syncs[SYMBOL]
    assert (sync.counters.resyncs, sync.counters.snapshots, sync.counters.gaps) == (1, 2, 0)
    assert [m["event"] for m in server.received] == ["conf", "subscribe"] * 2
    _assert_same_book(server, client)
    assert all(served_in_sync)
