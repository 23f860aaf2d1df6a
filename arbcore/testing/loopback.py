"""A local stand-in for Binance spot that plays a real recording (127.0.0.1 only).

It streams recorded depth diffs and bookTickers after a client subscribes, can cut the first
connection part-way, and serves REST snapshots of the book those frames build, so a client's
whole live path (subscribe, sync, drop, resubscribe, resync) runs against real data.
"""

from __future__ import annotations

import asyncio
import json

import httpx
from websockets.asyncio.server import ServerConnection

from arbcore.testing.conformance import Recording
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.fixedpoint import to_text

__all__ = ["DROP_AFTER", "FRAMES", "RecordedBinance"]

FRAMES = 1200  # recorded frames to serve in all
DROP_AFTER = 400  # the first connection is cut after this many


class RecordedBinance:
    """Serves the recording's frames in order and snapshots of the book they build."""

    def __init__(self, recording: Recording, *, frames: int = FRAMES,
                 drop_after: int = DROP_AFTER) -> None:  # fmt: skip
        records = [r for r in recording.records if r.kind == "ws"]
        self.frames = [r.payload for r in records if b"depthUpdate" in r.payload
                       or b"bookTicker" in r.payload][:frames]  # fmt: skip
        self.drop_after = drop_after
        self.instrument = next(i for i in recording.instruments if i.symbol == "BTC/USDT")
        snapshot = next(r for r in recording.records if r.kind == "rest")
        body = json.loads(snapshot.payload)
        self.book = L2Book(self.instrument.price_decimals, self.instrument.size_decimals)
        self.update_id = body["lastUpdateId"]
        for side, key in ((BID, "bids"), (ASK, "asks")):
            for price, size in body[key]:
                self.book.set_level(side, price, size)
        self.sent = 0
        self.connections = 0
        self.subscriptions: list[dict[str, object]] = []
        self.done = asyncio.Event()

    def _apply(self, frame: bytes) -> None:
        data = json.loads(frame)["data"]
        if data.get("e") != "depthUpdate" or data["u"] <= self.update_id:
            return
        for side, key in ((BID, "b"), (ASK, "a")):
            for price, size in data[key]:
                self.book.set_level(side, price, size)
        self.update_id = data["u"]

    async def handler(self, socket: ServerConnection) -> None:
        self.connections += 1
        self.subscriptions.append(json.loads(await socket.recv()))
        limit = self.drop_after if self.connections == 1 else len(self.frames)
        while self.sent < limit:
            frame = self.frames[self.sent]
            self._apply(frame)
            await socket.send(frame.decode())
            self.sent += 1
            await asyncio.sleep(0)
        if self.sent >= len(self.frames):
            self.done.set()
            await socket.wait_closed()

    def snapshot(self, request: httpx.Request) -> httpx.Response:
        bids, bid_sizes, asks, ask_sizes = self.book.top(1000)
        d, s = self.instrument.price_decimals, self.instrument.size_decimals
        body = {
            "lastUpdateId": self.update_id,
            "bids": [[to_text(p, d), to_text(q, s)] for p, q in zip(bids, bid_sizes, strict=True)],
            "asks": [[to_text(p, d), to_text(q, s)] for p, q in zip(asks, ask_sizes, strict=True)],
        }
        return httpx.Response(200, json=body)

    def snapshot_body(self) -> bytes:
        return self.snapshot(httpx.Request("GET", "http://loopback/")).content

    async def serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A minimal HTTP/1.1 responder: every GET answers with the current snapshot."""
        await reader.readuntil(b"\r\n\r\n")
        body = self.snapshot_body()
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()
