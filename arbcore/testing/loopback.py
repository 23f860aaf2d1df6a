"""Local stand-ins for venues that play real recordings (127.0.0.1 only).

:class:`RecordedVenue` is the server every venue's loopback test shares: it streams a
recording's frames after a client subscribes, cuts the first connection part-way (the stream
continues where it stopped on the next one), keeps the book those frames build, and hands that
book out the way the venue does: as REST snapshots (Binance, Gate.io, KuCoin) or as a snapshot
frame pushed after a subscribe (Bybit). A subclass says only what is venue-specific: which
frames to play, how one changes the book, how a snapshot looks, how to answer a client message.
So a client's whole live path (subscribe, sync, drop, resubscribe, resync) runs against real
data, and the test can demand the client ends with exactly the server's book.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from websockets.asyncio.server import ServerConnection, serve

from arbcore.exchanges.gateio.data import book_instrument as gateio_book_instrument
from arbcore.exchanges.kucoin.data import book_instrument as kucoin_book_instrument
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.model import Instrument
from arbcore.testing.conformance import Recording
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.fixedpoint import to_text

__all__ = [
    "DROP_AFTER",
    "FRAMES",
    "LOOPBACK",
    "RecordedBinance",
    "RecordedBybit",
    "RecordedGateio",
    "RecordedKucoin",
    "RecordedVenue",
    "compact",
    "play",
    "serving",
]

LOOPBACK = "127.0.0.1"  # the only address a loopback server binds

FRAMES = 1200  # recorded frames to serve in all
DROP_AFTER = 400  # the first connection is cut after this many

Levels = list[list[str]]


def compact(message: object) -> str:
    """JSON as the venues send it: no spaces."""
    return json.dumps(message, separators=(",", ":"))


class RecordedVenue:
    """Plays ``frames`` in order across connections and keeps the book they build.

    The first message a connection sends is its subscribe (kept in :attr:`subscriptions`);
    every message is kept in :attr:`received` and answered by :meth:`reply`. The first
    connection is cut after ``drop_after`` frames; frames whose index is in ``lose`` change the
    server's book but are never sent, which a client must notice as a gap.
    """

    def __init__(
        self,
        instrument: Instrument,
        frames: Sequence[bytes],
        *,
        drop_after: int,
        lose: Collection[int] = (),
    ) -> None:
        self.instrument = instrument
        self.frames = list(frames)
        self.drop_after = drop_after
        self.lose = frozenset(lose)
        self.book = L2Book(instrument.price_decimals, instrument.size_decimals)
        self.update_id = 0
        self.sent = 0
        self.connections = 0
        self.subscriptions: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []  # the request target of every WebSocket connection
        self.http_requests: list[tuple[str, str]] = []  # (method, target)
        self.ws_url = ""  # where the WebSocket listener is, once :func:`serving` started it
        self.before_greeting: list[dict[str, Any]] = []  # messages a client sent too early
        self.done = asyncio.Event()

    # -- what a venue says ------------------------------------------------------------------------

    def apply(self, frame: bytes) -> None:
        """Change :attr:`book` and :attr:`update_id` as the venue's frame does."""
        raise NotImplementedError

    #: how long the server waits before its greeting: a client that must wait for it (KuCoin)
    #: and sends anything meanwhile has that noted in :attr:`before_greeting`
    greeting_delay_s = 0.0

    def greeting(self, path: str) -> list[str]:
        """Frames sent once a client connected to ``path`` (KuCoin's ``welcome``)."""
        return []

    def reply(self, message: dict[str, Any]) -> list[str]:
        """Frames answering one client message (acks, pongs, a pushed snapshot)."""
        return []

    def snapshot_body(self) -> bytes:
        """The venue's REST snapshot of :attr:`book` (venues that sync over REST)."""
        raise NotImplementedError

    def http_body(self, method: str, target: str) -> bytes:
        """The answer to one HTTP request: the snapshot, unless a venue serves more."""
        return self.snapshot_body()

    # -- helpers for subclasses -------------------------------------------------------------------

    @staticmethod
    def recorded_snapshot(recording: Recording, query: str) -> Any:
        """The decoded body of the first recorded REST response whose URL contains ``query``."""
        return json.loads(next(r.payload for r in recording.records
                               if r.kind == "rest" and r.url and query in r.url))  # fmt: skip

    @staticmethod
    def instrument_of(recording: Recording, native: str) -> Instrument:
        return next(i for i in recording.instruments if i.native_symbol == native)

    def set_levels(self, side: int, levels: Sequence[Sequence[str]]) -> None:
        for price, size, *_ in levels:
            self.book.set_level(side, price, size)

    def levels_text(self, depth: int) -> tuple[Levels, Levels]:
        """The top ``depth`` bids and asks as the venues' ``[["price", "size"], ...]``."""
        bids, bid_sizes, asks, ask_sizes = self.book.top(depth)
        d, s = self.instrument.price_decimals, self.instrument.size_decimals

        def render(prices: Any, sizes: Any) -> Levels:
            return [[to_text(p, d), to_text(q, s)] for p, q in zip(prices, sizes, strict=True)]

        return render(bids, bid_sizes), render(asks, ask_sizes)

    # -- serving -----------------------------------------------------------------------------------

    async def handler(self, socket: ServerConnection) -> None:
        self.connections += 1
        path = socket.request.path if socket.request is not None else ""
        self.paths.append(path)
        if self.greeting_delay_s:
            with contextlib.suppress(TimeoutError):
                early = await asyncio.wait_for(socket.recv(), self.greeting_delay_s)
                self.before_greeting.append(json.loads(early))
        for greeting in self.greeting(path):
            await socket.send(greeting)
        first = json.loads(await socket.recv())
        self.subscriptions.append(first)
        await self._answer(socket, first)
        listener = asyncio.create_task(self._listen(socket))
        try:
            limit = len(self.frames)
            if self.connections == 1:
                limit = min(limit, self.drop_after)
            while self.sent < limit:
                frame = self.frames[self.sent]
                self.apply(frame)
                if self.sent not in self.lose:
                    await socket.send(frame.decode())
                self.sent += 1
                await asyncio.sleep(0)
            if self.sent >= len(self.frames):
                self.done.set()
                await socket.wait_closed()
        finally:
            listener.cancel()

    async def _answer(self, socket: ServerConnection, message: dict[str, Any]) -> None:
        self.received.append(message)
        for frame in self.reply(message):
            await socket.send(frame)

    async def _listen(self, socket: ServerConnection) -> None:
        async for message in socket:
            await self._answer(socket, json.loads(message))

    def _http(self, method: str, target: str) -> bytes:
        self.http_requests.append((method, target))
        return self.http_body(method, target)

    def snapshot(self, request: httpx.Request) -> httpx.Response:
        """An ``httpx.MockTransport`` handler: every request gets :meth:`http_body`."""
        body = self._http(request.method, request.url.raw_path.decode())
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    async def serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A minimal HTTP/1.1 responder: every request answers with :meth:`http_body`."""
        head_in = await reader.readuntil(b"\r\n\r\n")
        method, target, *_ = head_in.split(b"\r\n", 1)[0].decode().split(" ")
        body = self._http(method, target)
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()


class RecordedBinance(RecordedVenue):
    """Binance spot: depth diffs and bookTickers of BTC/USDT, REST snapshots of the book."""

    def __init__(self, recording: Recording, *, frames: int = FRAMES,
                 drop_after: int = DROP_AFTER) -> None:  # fmt: skip
        records = [r for r in recording.records if r.kind == "ws"]
        played = [r.payload for r in records if b"depthUpdate" in r.payload
                  or b"bookTicker" in r.payload][:frames]  # fmt: skip
        instrument = next(i for i in recording.instruments if i.symbol == "BTC/USDT")
        super().__init__(instrument, played, drop_after=drop_after)
        snapshot = next(r for r in recording.records if r.kind == "rest")
        body = json.loads(snapshot.payload)
        self.update_id = body["lastUpdateId"]
        self.set_levels(BID, body["bids"])
        self.set_levels(ASK, body["asks"])

    def apply(self, frame: bytes) -> None:
        data = json.loads(frame)["data"]
        if data.get("e") != "depthUpdate" or data["u"] <= self.update_id:
            return
        self.set_levels(BID, data["b"])
        self.set_levels(ASK, data["a"])
        self.update_id = data["u"]

    def snapshot_body(self) -> bytes:
        bids, asks = self.levels_text(1000)
        return compact({"lastUpdateId": self.update_id, "bids": bids, "asks": asks}).encode()


class RecordedBybit(RecordedVenue):
    """Bybit v5: ``orderbook.<depth>`` snapshot and deltas; a subscribe pushes a new snapshot.

    Like Bybit, every subscribe is acked and, once the server has a book (the recording opens
    with its own snapshot), answered with a snapshot of it; pings get pongs.
    """

    def __init__(self, recording: Recording, *, drop_after: int,
                 lose: Collection[int] = ()) -> None:  # fmt: skip
        frames = [r.payload for r in recording.records if r.kind == "ws"]
        first = json.loads(frames[0])
        self.topic: str = first["topic"]
        self.depth = int(self.topic.split(".")[1])
        native = first["data"]["s"]
        instrument = next(i for i in recording.instruments if i.native_symbol == native)
        super().__init__(instrument, frames, drop_after=drop_after, lose=lose)
        self._last_ts = 0

    def apply(self, frame: bytes) -> None:
        message = json.loads(frame)
        data = message["data"]
        if message["type"] == "snapshot":
            self.book.clear()
        self.set_levels(BID, data["b"])
        self.set_levels(ASK, data["a"])
        self.update_id = data["u"]
        self._last_ts = message["ts"]

    def reply(self, message: dict[str, Any]) -> list[str]:
        op = message.get("op")
        ack = {"success": True, "ret_msg": op, "conn_id": "loopback", "op": op}
        if "req_id" in message:
            ack["req_id"] = message["req_id"]
        if op == "ping":
            return [compact({**ack, "ret_msg": "pong"})]
        frames = [compact(ack)]
        if op == "subscribe" and self.topic in message.get("args", ()) and self.update_id:
            bids, asks = self.levels_text(self.depth)
            data = {"s": self.instrument.native_symbol, "b": bids, "a": asks,
                    "u": self.update_id, "seq": self.update_id}  # fmt: skip
            ts = self._last_ts
            snapshot = {"topic": self.topic, "ts": ts, "type": "snapshot", "data": data, "cts": ts}
            frames.append(compact(snapshot))
        return frames


class RecordedGateio(RecordedVenue):
    """Gate.io v4: one pair's ``spot.order_book_update`` frames, REST snapshots with an ``id``."""

    def __init__(self, recording: Recording, *, native: str = "OMG_USDT",
                 drop_after: int) -> None:  # fmt: skip
        marker = f'"s":"{native}"'.encode()
        frames = [r.payload for r in recording.records if r.kind == "ws"
                  and b'"spot.order_book_update"' in r.payload and marker in r.payload]  # fmt: skip
        instrument = gateio_book_instrument(self.instrument_of(recording, native))
        super().__init__(instrument, frames, drop_after=drop_after)
        body = self.recorded_snapshot(recording, f"currency_pair={native}&")
        self.update_id = body["id"]
        self.set_levels(BID, body["bids"])
        self.set_levels(ASK, body["asks"])
        self._last_ms = int(body.get("update", 0))

    def apply(self, frame: bytes) -> None:
        result = json.loads(frame)["result"]
        if result["u"] <= self.update_id:
            return
        self.set_levels(BID, result["b"])
        self.set_levels(ASK, result["a"])
        self.update_id = result["u"]
        self._last_ms = result["t"]

    def reply(self, message: dict[str, Any]) -> list[str]:
        now_s = self._last_ms // 1000
        if message.get("channel") == "spot.ping":
            pong = {"time": now_s, "channel": "spot.pong", "event": "", "error": None,
                    "result": None}  # fmt: skip
            return [compact(pong)]
        ack = {"time": now_s, "time_ms": self._last_ms, "channel": message.get("channel"),
               "event": message.get("event"), "error": None,
               "result": {"status": "success"}}  # fmt: skip
        return [compact(ack)]

    def snapshot_body(self) -> bytes:
        bids, asks = self.levels_text(100)
        return compact({"id": self.update_id, "current": self._last_ms, "update": self._last_ms,
                        "asks": asks, "bids": bids}).encode()  # fmt: skip


class RecordedKucoin(RecordedVenue):
    """KuCoin: one symbol's ``trade.l2update`` frames; ``bullet-public`` tokens, a ``welcome``
    on connect, acks and pongs, and level-2 REST snapshots with a ``sequence``."""

    TOKEN = "loopback-token"
    PING_INTERVAL_MS = 18_000
    greeting_delay_s = 0.05

    def __init__(self, recording: Recording, *, native: str = "SNX-BTC",
                 drop_after: int) -> None:  # fmt: skip
        marker = f'"symbol":"{native}"'.encode()
        frames = [r.payload for r in recording.records if r.kind == "ws"
                  and b'"trade.l2update"' in r.payload and marker in r.payload]  # fmt: skip
        instrument = kucoin_book_instrument(self.instrument_of(recording, native))
        super().__init__(instrument, frames, drop_after=drop_after)
        data = self.recorded_snapshot(recording, f"symbol={native}")["data"]
        self.update_id = int(data["sequence"])
        self.set_levels(BID, data["bids"])
        self.set_levels(ASK, data["asks"])
        self._time_ms = int(data["time"])

    def apply(self, frame: bytes) -> None:
        data = json.loads(frame)["data"]
        if data["sequenceEnd"] <= self.update_id:
            return
        for side, key in ((BID, "bids"), (ASK, "asks")):
            for price, size, sequence in data["changes"][key]:
                if int(sequence) > self.update_id and float(price) != 0:  # price 0: no level
                    self.book.set_level(side, price, size)
        self.update_id = data["sequenceEnd"]

    def greeting(self, path: str) -> list[str]:
        query = parse_qs(urlparse(path).query)
        return [compact({"id": query.get("connectId", ["none"])[0], "type": "welcome"})]

    def reply(self, message: dict[str, Any]) -> list[str]:
        if message.get("type") == "ping":
            return [compact({"id": message.get("id"), "type": "pong"})]
        if message.get("response"):
            return [compact({"id": str(message.get("id")), "type": "ack"})]
        return []

    def http_body(self, method: str, target: str) -> bytes:
        if method == "POST" and "/bullet-public" in target:
            server = {"endpoint": self.ws_url + "/", "encrypt": False, "protocol": "websocket",
                      "pingInterval": self.PING_INTERVAL_MS, "pingTimeout": 10_000}  # fmt: skip
            data = {"token": self.TOKEN, "instanceServers": [server]}
            return compact({"code": "200000", "data": data}).encode()
        depth = 100 if "level2_100" in target else 20 if "level2_20" in target else 100_000
        return self._snapshot(depth)

    def snapshot_body(self) -> bytes:
        return self._snapshot(100)

    def _snapshot(self, depth: int) -> bytes:
        bids, asks = self.levels_text(depth)
        data = {"time": self._time_ms, "sequence": str(self.update_id), "bids": bids,
                "asks": asks}  # fmt: skip
        return compact({"code": "200000", "data": data}).encode()


@contextlib.asynccontextmanager
async def serving(server: RecordedVenue) -> AsyncIterator[tuple[str, str]]:
    """The server's WebSocket and HTTP listeners on 127.0.0.1: yields their base URLs."""
    async with serve(server.handler, LOOPBACK, 0) as ws:
        http = await asyncio.start_server(server.serve_http, LOOPBACK, 0)
        async with http:
            ws_port = ws.sockets[0].getsockname()[1]
            http_port = http.sockets[0].getsockname()[1]
            server.ws_url = f"ws://{LOOPBACK}:{ws_port}"
            yield server.ws_url, f"http://{LOOPBACK}:{http_port}"


ClientFactory = Callable[[str, str, BookCallback], BookClient]


async def play(
    server: RecordedVenue, make_client: ClientFactory, symbol: str, *, timeout_s: float = 60.0
) -> tuple[BookClient, list[bool]]:
    """Run a client against ``server`` until every frame is played and its book caught up.

    ``make_client(ws_url, rest_url, on_book)`` builds the client. Returns it (closed) and, for
    every book it handed out, whether that book was in sync at the time.
    """
    served_in_sync: list[bool] = []
    async with serving(server) as (ws_url, rest_url):
        client: BookClient | None = None

        def on_book(name: str, book: L2Book) -> None:
            assert client is not None
            served_in_sync.append(client.syncs[name].in_sync)

        client = make_client(ws_url, rest_url, on_book)
        await client.add_symbols([symbol])
        runner = asyncio.create_task(client.run())
        await asyncio.wait_for(server.done.wait(), timeout=timeout_s)
        for _ in range(500):  # let the last frames and any snapshot land
            sync = client.syncs[symbol]
            if sync.in_sync and sync.book_id == server.update_id:
                break
            await asyncio.sleep(0.01)
        await client.close()
        await asyncio.wait_for(runner, timeout=10)
    return client, served_in_sync
