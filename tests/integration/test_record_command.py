"""``arbcore record`` against the loopback Binance, then ``arbcore replay`` of what it wrote."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from websockets.asyncio.server import serve

from arbcore.cli_record import run_record
from arbcore.cli_replay import run_replay
from arbcore.testing.conformance import load_recording
from arbcore.testing.loopback import RecordedBinance

pytestmark = pytest.mark.recording


class Servers:
    """The loopback WebSocket and HTTP servers on their own thread and event loop."""

    def __init__(self, server: RecordedBinance) -> None:
        self.loop = asyncio.new_event_loop()
        self.ports: dict[str, int] = {}
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

        async def main() -> None:
            self._stop = asyncio.Event()
            async with serve(server.handler, "127.0.0.1", 0) as ws:
                http = await asyncio.start_server(server.serve_http, "127.0.0.1", 0)
                async with http:
                    self.ports["ws"] = ws.sockets[0].getsockname()[1]
                    self.ports["http"] = http.sockets[0].getsockname()[1]
                    self._ready.set()
                    await self._stop.wait()

        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(main(),))
        self._thread.start()
        assert self._ready.wait(10)

    def stop(self) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self.loop.close()


def test_record_then_replay_gives_the_servers_book(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = load_recording("binance", [shared_data / "real/binance/spot/btcusdt_20240808.gz"])
    server = RecordedBinance(recording, frames=600, drop_after=10_000)
    servers = Servers(server)
    ws_port, http_port = servers.ports["ws"], servers.ports["http"]
    out = tmp_path / "live.gz"
    instruments = shared_data / "real/binance/BINANCE.0"
    code = run_record([
        "--venue", "binance", "--symbols", "BTC/USDT", "--out", str(out), "--duration", "3",
        "--instruments", str(instruments),
        "--ws-url", f"ws://127.0.0.1:{ws_port}/stream", "--rest-url", f"http://127.0.0.1:{http_port}",
    ])  # fmt: skip
    servers.stop()
    assert code == 0
    assert server.sent == 600
    assert run_replay([str(out), "--venue", "binance", "--instruments", str(instruments),
                       "--json"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    book = json.loads(lines[-1])["books"]["BTC/USDT"]
    assert book["gaps"] == 0
    assert book["snapshots"] >= 1
    assert book["best_bid"] == f"{server.book.best_bid() / 100:.2f}"
    assert book["best_ask"] == f"{server.book.best_ask() / 100:.2f}"
