"""The HTX client end to end over loopback: mbp deltas, ``req`` snapshots, pings, a drop.

There is no real mbp recording: the server (127.0.0.1 only) plays the ``market.yfihusd.mbp.150``
session that :mod:`arbcore.testing.htx_mbp` derives from the real step0 capture HUOBI.ws.44.0,
gzip-compressed as HTX sends it. It answers a ``req`` on the same connection with its current
book, pings every few frames and closes a connection that leaves a ping unanswered. The client
must resync by ``req`` only (no REST), answer every ping, survive a dropped connection and a lost
delta, and end with exactly the server's book; no book is handed out while it is out of sync.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from arbcore.exchanges.htx.data import HTXDataClient
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.net.ws import Backoff, Keepalive
from arbcore.testing.conformance import Recording, load_venue_recording
from arbcore.testing.loopback import RecordedHtx, play, serving

pytestmark = pytest.mark.recording

SYMBOL = "YFI/HUSD"
CHANNEL = "market.yfihusd.mbp.150"


@pytest.fixture(scope="module")
def huobi(shared_data: Path) -> Recording:
    return load_venue_recording("htx", shared_data)


def _run(server: RecordedHtx) -> tuple[HTXDataClient, list[bool]]:
    def make(ws_url: str, rest_url: str, on_book: BookCallback) -> BookClient:
        return HTXDataClient(
            [server.instrument],
            ws_url=f"{ws_url}/feed",
            rest_url=rest_url,
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
            on_book=on_book,
        )

    client, served_in_sync = asyncio.run(play(server, make, SYMBOL))
    assert isinstance(client, HTXDataClient)
    return client, served_in_sync


def _ops(server: RecordedHtx) -> list[str]:
    """What the client sent, in order, without its pongs."""
    return [next(iter(m)) for m in server.received if "pong" not in m]


def _requests(server: RecordedHtx) -> list[dict[str, Any]]:
    return [m for m in server.received if "req" in m]


def _assert_same_book(server: RecordedHtx, client: HTXDataClient) -> None:
    sync = client.syncs[SYMBOL]
    assert sync.in_sync
    assert sync.book_id == server.update_id
    for mine, theirs in zip(sync.book.top(200), server.book.top(200), strict=True):
        assert mine.tolist() == theirs.tolist()


def _assert_every_ping_answered(server: RecordedHtx, client: HTXDataClient) -> None:
    assert server.pings
    assert server.pongs == server.pings
    assert server.unanswered == 0
    assert client.connection.counters.pings_answered == len(server.pings)


def _assert_no_rest(server: RecordedHtx, client: HTXDataClient) -> None:
    assert server.http_requests == []
    assert client.counters.snapshot_requests == 0


def test_htx_sub_and_req_frames_are_the_documented_ones(
    huobi: Recording, shared_data: Path
) -> None:
    vectors = shared_data / "vectors/htx"
    subscribe = json.loads((vectors / "ws_mbp_subscribe.json").read_text())["request_single"]
    request = json.loads((vectors / "ws_mbp_req_snapshot.json").read_text())["request"]
    server = RecordedHtx(huobi, drop_after=12)
    _run(server)
    subs = [m for m in server.received if "sub" in m]
    assert subs == server.subscriptions
    assert len(subs) == 2
    assert len(_requests(server)) == 2
    for frame in subs:
        assert frame.keys() == subscribe.keys()
        assert frame["sub"] == CHANNEL
    for frame in _requests(server):
        assert frame.keys() == request.keys()
        assert frame["req"] == CHANNEL
    ids = [m["id"] for m in server.received if "id" in m]
    assert all(isinstance(ident, str) for ident in ids)
    assert len(set(ids)) == len(ids)  # every sub and req has its own id


def test_htx_client_survives_a_drop_and_ends_with_the_servers_book(huobi: Recording) -> None:
    server = RecordedHtx(huobi, drop_after=12)
    assert len(server.frames) == 30  # 31 step0 images of YFI/HUSD -> 30 mbp deltas
    client, served_in_sync = _run(server)
    assert server.connections == 2
    assert client.connection.counters.connects == 2
    assert client.connection.counters.disconnects >= 1
    assert _ops(server) == ["sub", "req", "sub", "req"]  # each connection: sub, then its req
    _assert_no_rest(server, client)
    assert client.counters.ws_requests == 2
    sync = client.syncs[SYMBOL]
    assert sync.counters.resyncs == 1  # the reconnect threw the old book away
    assert sync.counters.snapshots == 2  # one req reply per connection
    assert sync.counters.gaps == 0
    _assert_every_ping_answered(server, client)
    _assert_same_book(server, client)
    assert served_in_sync
    assert all(served_in_sync)  # never a stale book handed out


def test_htx_lost_delta_resyncs_by_req_on_the_same_connection(huobi: Recording) -> None:
    server = RecordedHtx(huobi, drop_after=10_000, lose={15})
    client, served_in_sync = _run(server)
    assert server.connections == 1
    assert client.connection.counters.connects == 1
    sync = client.syncs[SYMBOL]
    assert sync.counters.gaps == 1
    assert sync.counters.snapshots == 2  # the first req reply, then the one after the gap
    assert _ops(server) == ["sub", "req", "req"]
    _assert_no_rest(server, client)
    assert client.counters.resubscribes == 0
    _assert_every_ping_answered(server, client)
    _assert_same_book(server, client)
    assert all(served_in_sync)


def test_htx_server_closes_a_connection_that_does_not_answer_pings(huobi: Recording) -> None:
    """Each connection is closed at its first ping, and no book is served while none is open.

    The client is sampled every millisecond: between a lost connection and the next one (the
    backoff leaves 10-20 ms) a fresh book would be one that stopped updating.
    """
    server = RecordedHtx(huobi, drop_after=10_000)
    server.pong_timeout_s = 0.1
    served_while_down: list[int] = []

    async def run() -> HTXDataClient:
        async with serving(server) as (ws_url, _):
            client = HTXDataClient(
                [server.instrument],
                ws_url=f"{ws_url}/feed",
                keepalive=Keepalive(answer=None),  # a client that never pongs
                backoff=Backoff(initial_s=0.01, maximum_s=0.02),
            )
            await client.add_symbols([SYMBOL])
            runner = asyncio.create_task(client.run())
            counters = client.connection.counters
            for _ in range(3000):
                if server.unanswered >= 3:
                    break
                down = counters.disconnects >= counters.connects > 0
                if down and client.fresh_book(SYMBOL) is not None:
                    served_while_down.append(counters.disconnects)
                await asyncio.sleep(0.001)
            await client.close()
            await asyncio.wait_for(runner, timeout=10)
            return client

    client = asyncio.run(run())
    assert server.unanswered >= 3
    assert server.pongs == []
    assert server.sent == 0  # each connection was closed at its first ping
    assert client.connection.counters.disconnects >= 3
    assert client.syncs[SYMBOL].counters.snapshots >= 2  # books were synced, then lost
    assert served_while_down == []
