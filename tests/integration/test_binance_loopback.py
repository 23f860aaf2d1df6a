"""The Binance feed end to end over loopback: a local server plays the real recording.

The server (127.0.0.1 only) streams the recorded depth diffs and bookTickers after the client
subscribes, drops the connection part-way, and serves REST snapshots of its current book. The
client must connect, subscribe, sync, survive the drop, resubscribe, resync, and end with
exactly the server's book; no book is handed out while it is out of sync.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.server import serve

from arbcore.cli_replay import run_replay
from arbcore.exchanges.binance.data import BinanceDataClient
from arbcore.marketdata.recorder import Recorder
from arbcore.model import Quote
from arbcore.net.ws import Backoff
from arbcore.testing.conformance import load_recording
from arbcore.testing.loopback import FRAMES, RecordedBinance
from arbcore_ext.book import L2Book
from arbcore_ext.fixedpoint import to_text

pytestmark = pytest.mark.recording


async def _play(
    shared_data: Path, recorder: Recorder | None = None, quotes: list[Quote] | None = None
) -> tuple[RecordedBinance, BinanceDataClient, list[bool]]:
    recording = load_recording("binance", [shared_data / "real/binance/spot/btcusdt_20240808.gz"])
    server = RecordedBinance(recording, frames=FRAMES)
    served_in_sync: list[bool] = []
    async with serve(server.handler, "127.0.0.1", 0) as listener:
        port = listener.sockets[0].getsockname()[1]
        client: BinanceDataClient

        def on_book(symbol: str, book: L2Book) -> None:
            served_in_sync.append(client.syncs[symbol].in_sync)

        client = BinanceDataClient(
            [server.instrument],
            ws_url=f"ws://127.0.0.1:{port}/stream",
            rest_url="http://binance.loopback",
            http=httpx.AsyncClient(transport=httpx.MockTransport(server.snapshot)),
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
            on_book=on_book,
            on_quote=None if quotes is None else quotes.append,
            recorder=recorder,
        )
        await client.add_symbols(["BTC/USDT"])
        runner = asyncio.create_task(client.run())
        await asyncio.wait_for(server.done.wait(), timeout=60)
        for _ in range(200):  # let the last frames and any snapshot land
            sync = client.syncs["BTC/USDT"]
            if sync.in_sync and sync.book_id == server.update_id:
                break
            await asyncio.sleep(0.01)
        await client.close()
        await asyncio.wait_for(runner, timeout=10)
    return server, client, served_in_sync


def test_binance_client_survives_a_drop_and_ends_with_the_servers_book(shared_data: Path) -> None:
    server, client, served_in_sync = asyncio.run(_play(shared_data))
    assert server.connections == 2
    assert [s["method"] for s in server.subscriptions] == ["SUBSCRIBE", "SUBSCRIBE"]
    assert server.subscriptions[0]["params"] == ["btcusdt@depth@100ms", "btcusdt@bookTicker"]
    assert client.connection.counters.connects == 2
    assert client.connection.counters.disconnects >= 1
    sync = client.syncs["BTC/USDT"]
    assert sync.counters.resyncs >= 1  # the reconnect threw the old book away
    assert client.counters.snapshot_requests >= 2
    assert sync.in_sync
    assert sync.book_id == server.update_id
    # levels beyond a 1000-level snapshot are unknown to any client (Binance docs): compare the
    # part of the book both sides know
    for mine, theirs in zip(sync.book.top(200), server.book.top(200), strict=True):
        assert mine.tolist() == theirs.tolist()
    assert served_in_sync
    assert all(served_in_sync)  # never a stale book handed out


@pytest.mark.parametrize("with_on_quote", [False, True], ids=["quotes in C", "on_quote"])
def test_binance_recorded_session_replays_to_the_same_book(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], with_on_quote: bool
) -> None:
    path = tmp_path / "session.arbcore.gz"
    quotes: list[Quote] | None = [] if with_on_quote else None
    with Recorder(path) as recorder:
        _, client, _ = asyncio.run(_play(shared_data, recorder, quotes))
    if quotes is not None:  # handed every quote as a Quote, and checked them all the same
        assert len(quotes) >= 1
    assert recorder.records >= FRAMES  # every frame and every snapshot body
    instruments = shared_data / "real/binance/BINANCE.0"
    code = run_replay(
        [str(path), "--venue", "binance", "--instruments", str(instruments), "--json"]
    )
    assert code == 0
    book = json.loads(capsys.readouterr().out)["books"]["BTC/USDT"]
    live = client.syncs["BTC/USDT"]
    assert book["best_bid"] == to_text(live.book.best_bid(), 2)
    assert book["best_ask"] == to_text(live.book.best_ask(), 2)
    assert book["snapshots"] == live.counters.snapshots
    assert book["updates"] == live.counters.updates
    # the live client checks bookTickers against the book in C, as replay does: the same counts
    checked = client.bbo["BTC/USDT"]
    assert (checked.matches, checked.mismatches) == (book["bbo_matches"], book["bbo_mismatches"])
    assert checked.matches > 0
    assert checked.mismatches == 0
