"""Local stand-ins for venues that play real recordings (127.0.0.1 only).

:class:`RecordedVenue` is the server every venue's loopback test shares: it streams a
recording's frames after a client subscribes, cuts the first connection part-way (the stream
continues where it stopped on the next one), keeps the book those frames build, and hands that
book out the way the venue does: as REST snapshots (Binance, Gate.io, KuCoin) or as a snapshot
frame pushed after a subscribe (Bybit) or as the reply to a request on the WebSocket (HTX's
``req``). A subclass says only what is venue-specific: which
frames to play, how one changes the book, how a snapshot looks, how to answer a client message.
So a client's whole live path (subscribe, sync, drop, resubscribe, resync) runs against real
data, and the test can demand the client ends with exactly the server's book.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import json
import re
import zlib
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from websockets.asyncio.server import ServerConnection, serve

from arbcore.exchanges.gateio.data import book_instrument as gateio_book_instrument
from arbcore.exchanges.htx import parsing as htx_parsing
from arbcore.exchanges.kucoin.data import book_instrument as kucoin_book_instrument
from arbcore.marketdata.client import BookCallback, BookClient
from arbcore.marketdata.sync import BookSync, split_sides
from arbcore.model import BookEvent, Instrument
from arbcore.testing import htx_mbp
from arbcore.testing.conformance import Recording
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.fixedpoint import to_text

__all__ = [
    "DROP_AFTER",
    "FRAMES",
    "LOOPBACK",
    "RecordedBinance",
    "RecordedBitfinex",
    "RecordedBybit",
    "RecordedGateio",
    "RecordedHtx",
    "RecordedKraken",
    "RecordedKucoin",
    "RecordedOkx",
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


def shortest_text(raw: int, decimals: int) -> str:
    """A fixed-point number as its shortest decimal ("0.5", "30244"), the form OKX sends."""
    text = to_text(raw, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def signed_crc32(text: str) -> int:
    """CRC32 of ``text`` as a signed 32-bit integer (OKX's checksum)."""
    crc = zlib.crc32(text.encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


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
        self.extras: dict[tuple[int, Decimal], list[str]] = {}  # see :attr:`extra_fields`
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

    def reply(self, message: dict[str, Any]) -> Sequence[str | bytes]:
        """Frames answering one client message (acks, pongs, a pushed snapshot)."""
        return []

    def wire(self, frame: bytes) -> str | bytes:
        """A played frame as it goes on the wire: a text frame, unless the venue sends binary."""
        return frame.decode()

    async def before_frame(self, socket: ServerConnection) -> bool:
        """Runs before each played frame (HTX: its keepalive ping); False ends the connection."""
        return True

    def starts_stream(self, message: dict[str, Any]) -> bool:
        """Whether a connection's message is the subscribe after which frames are played.

        The first message is, unless a venue configures the connection first (Bitfinex).
        """
        return True

    async def send(self, socket: ServerConnection, frame: str | bytes) -> None:
        """Every frame the server sends goes through here: a venue that numbers its messages
        per connection (Bitfinex's SEQ_ALL) stamps them in the order they go out."""
        await socket.send(frame)

    def snapshot_body(self) -> bytes:
        """The venue's REST snapshot of :attr:`book` (venues that sync over REST)."""
        raise NotImplementedError

    def http_body(self, method: str, target: str) -> bytes:
        """The answer to one HTTP request: the snapshot, unless a venue serves more."""
        return self.snapshot_body()

    def decode(self, message: str | bytes) -> dict[str, Any]:
        """One client message as a dict: JSON, unless a venue also sends plain text (OKX)."""
        decoded: dict[str, Any] = json.loads(message)
        return decoded

    def caught_up(self, sync: BookSync) -> bool:
        """Whether a client's book has reached the server's: by update id, where there is one.

        A venue whose frames carry no update id (OKX's 2022 capture) compares the books.
        """
        return sync.in_sync and sync.book_id == self.update_id

    # -- helpers for subclasses -------------------------------------------------------------------

    @staticmethod
    def recorded_snapshot(recording: Recording, query: str) -> Any:
        """The decoded body of the first recorded REST response whose URL contains ``query``."""
        return json.loads(next(r.payload for r in recording.records
                               if r.kind == "rest" and r.url and query in r.url))  # fmt: skip

    @staticmethod
    def instrument_of(recording: Recording, native: str) -> Instrument:
        return next(i for i in recording.instruments if i.native_symbol == native)

    #: fields after price and size a venue sends with each level and the server keeps, to send
    #: them again in its snapshots (OKX's order count, Kraken's timestamp)
    extra_fields = 0

    def set_levels(self, side: int, levels: Sequence[Sequence[str]]) -> None:
        for price, size, *rest in levels:
            self.book.set_level(side, price, size)
            if self.extra_fields:
                key = (side, Decimal(price))
                if Decimal(size):
                    self.extras[key] = list(rest[: self.extra_fields])
                else:
                    self.extras.pop(key, None)

    def level_text(self, raw: int, decimals: int, field: int) -> str:
        """A level's price (``field`` 0) or size (1) as the venue writes it; here the library's
        fixed-point text."""
        return to_text(raw, decimals)

    def levels_text(self, depth: int) -> tuple[Levels, Levels]:
        """The top ``depth`` bids and asks as the venues' ``[["price", "size", *extras], ...]``."""
        bids, bid_sizes, asks, ask_sizes = self.book.top(depth)
        d, s = self.instrument.price_decimals, self.instrument.size_decimals
        text = self.level_text

        def render(side: int, prices: Any, sizes: Any) -> Levels:
            levels = [[text(p, d, 0), text(q, s, 1)] for p, q in zip(prices, sizes, strict=True)]
            if self.extra_fields:
                for level in levels:
                    level += self.extras[side, Decimal(level[0])]
            return levels

        return render(BID, bids, bid_sizes), render(ASK, asks, ask_sizes)

    def same_top(self, sync: BookSync, depth: int) -> bool:
        """Whether a client's synced book shows the server's top ``depth`` levels."""
        if not sync.in_sync:
            return False
        mine, theirs = sync.book.top(depth), self.book.top(depth)
        return all(a.tolist() == b.tolist() for a, b in zip(mine, theirs, strict=True))

    def outgoing(self, index: int, frame: bytes) -> bytes:
        """The frame sent for recorded frame ``index``: itself, unless a test alters it."""
        return frame

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
            await self.send(socket, greeting)
        first = self.decode(await socket.recv())
        while not self.starts_stream(first):  # a set-up message (Bitfinex's conf)
            await self._answer(socket, first)
            first = self.decode(await socket.recv())
        self.subscriptions.append(first)
        await self._answer(socket, first)
        listener = asyncio.create_task(self._listen(socket))
        try:
            limit = len(self.frames)
            if self.connections == 1:
                limit = min(limit, self.drop_after)
            while self.sent < limit:
                if not await self.before_frame(socket):
                    break
                frame = self.frames[self.sent]
                self.apply(frame)
                if self.sent not in self.lose:
                    await self.send(socket, self.wire(self.outgoing(self.sent, frame)))
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
            await self.send(socket, frame)

    async def _listen(self, socket: ServerConnection) -> None:
        async for message in socket:
            await self._answer(socket, self.decode(message))

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


class RecordedHtx(RecordedVenue):
    """HTX ``market.<sym>.mbp.150`` over ``/feed``: gzip frames, ``req`` snapshots, pings.

    There is no real mbp recording, so the deltas are the session
    :func:`~arbcore.testing.htx_mbp.mbp_session` derives from the real step0 capture (the
    derivation the feed tests use); the server's book starts as the symbol's first step0 image
    (seqNum ``mbp_seq(0)``, which delta 1 names as its ``prevSeqNum``). Like HTX, every frame is
    gzip (binary), a ``sub`` is acked, a ``req`` for the channel is answered with the current
    book at its seqNum, and a ``{"ping": n}`` goes out every :attr:`ping_every` frames: a ping
    not answered ``{"pong": n}`` within :attr:`pong_timeout_s` closes the connection.
    """

    ping_every = 5
    pong_timeout_s = 2.0
    first_ping = 1618678098643  # the capture's last ping n; each ping adds one

    def __init__(self, recording: Recording, *, native: str = "yfihusd", drop_after: int,
                 lose: Collection[int] = ()) -> None:  # fmt: skip
        self.channel = f"market.{native}.mbp.150"
        marker = f'"ch":"{self.channel}"'.encode()
        frames = [r.payload for r in htx_mbp.mbp_session(recording)
                  if marker in htx_parsing.decompress(r.payload)[:64]]  # fmt: skip
        super().__init__(self.instrument_of(recording, native), frames, drop_after=drop_after,
                         lose=lose)  # fmt: skip
        first = htx_mbp.step0_images(recording, native)[0]
        data = {"seqNum": htx_mbp.Number(htx_mbp.mbp_seq(0)), "bids": first["bids"],
                "asks": first["asks"]}  # fmt: skip
        image = {"id": "image0", "rep": self.channel, "status": "ok", "data": data}
        self.book.apply_snapshot(*split_sides(self._event(htx_mbp.frame(image))))
        self.update_id = htx_mbp.mbp_seq(0)
        self._ts = 0
        self.pings: list[int] = []  # every n sent
        self.pongs: list[int] = []  # every n answered
        self.unanswered = 0

    def _event(self, frame: bytes) -> BookEvent:
        """A frame of this channel as HTX's validating parser reads it (sizes rounded to the
        book's scale, as the client's are)."""
        text = htx_parsing.decompress(frame)
        channel = htx_parsing.book_channel(text)
        assert channel is not None
        return htx_parsing.validated_book(text, channel, self.instrument)

    def apply(self, frame: bytes) -> None:
        event = self._event(frame)
        self.book.apply_deltas(event.sides, event.prices, event.sizes)
        self.update_id = event.last_seq
        self._ts = event.ts_event_ns // 1_000_000

    def wire(self, frame: bytes) -> bytes:
        return frame  # already gzip: a binary frame

    async def before_frame(self, socket: ServerConnection) -> bool:
        if self.sent % self.ping_every:
            return True
        n = self.first_ping + len(self.pings)
        self.pings.append(n)
        await socket.send(gzip.compress(compact({"ping": n}).encode()))
        deadline = asyncio.get_running_loop().time() + self.pong_timeout_s
        while n not in self.pongs:
            if asyncio.get_running_loop().time() > deadline:
                self.unanswered += 1
                return False  # HTX closes a connection that does not answer its pings
            await asyncio.sleep(0.002)
        return True

    def reply(self, message: dict[str, Any]) -> list[bytes]:
        if "pong" in message:
            self.pongs.append(int(message["pong"]))
            return []
        ident = message.get("id")
        if "sub" in message or "unsub" in message:
            key = "subbed" if "sub" in message else "unsubbed"
            ack = {"id": ident, "status": "ok", key: message.get("sub", message.get("unsub")),
                   "ts": self._ts}  # fmt: skip
            return [gzip.compress(compact(ack).encode())]
        if message.get("req") == self.channel:
            bids, asks = self.levels_text(150)
            data = {"seqNum": htx_mbp.Number(self.update_id), "bids": _bare(bids),
                    "asks": _bare(asks)}  # fmt: skip
            rep = {"id": ident, "rep": self.channel, "status": "ok", "data": data}
            return [htx_mbp.frame(rep)]
        error = {"id": ident, "status": "error", "err-code": "bad-request",
                 "err-msg": "invalid topic", "ts": self._ts}  # fmt: skip
        return [gzip.compress(compact(error).encode())]


def _bare(levels: Levels) -> list[list[htx_mbp.Number]]:
    """Levels written as bare JSON numbers (HTX's form) by :func:`htx_mbp.frame`."""
    return [[htx_mbp.Number(price), htx_mbp.Number(size)] for price, size in levels]


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


class RecordedOkx(RecordedVenue):
    """OKX v5: one instId's ``books`` snapshot and updates; a subscribe pushes a new snapshot.

    Every subscribe is acked as OKX does and, once the server has a book, answered with an
    ``action:"snapshot"`` push of its top ``DEPTH`` levels and their checksum; the text ``ping``
    gets the text ``pong``. The 2022 capture carries no seqId, so neither do the pushes here,
    and a client's book is caught up when it equals the server's.
    """

    DEPTH = 400  # the ``books`` channel's levels per side
    CHECKSUM_DEPTH = 25
    extra_fields = 2  # "0" (deprecated) and the order count

    def __init__(self, recording: Recording, *, native: str = "BTC-USDT",
                 drop_after: int) -> None:  # fmt: skip
        self.arg = {"channel": "books", "instId": native}
        marker = b'"arg":' + compact(self.arg).encode() + b',"action"'
        frames = [r.payload for r in recording.records if r.kind == "ws" and marker in r.payload]
        super().__init__(self.instrument_of(recording, native), frames, drop_after=drop_after)
        self._ts = "0"

    def apply(self, frame: bytes) -> None:
        message = json.loads(frame)
        data = message["data"][0]
        if message["action"] == "snapshot":
            self.book.clear()
            self.extras.clear()
        self.set_levels(BID, data["bids"])
        self.set_levels(ASK, data["asks"])
        self._ts = data["ts"]

    def level_text(self, raw: int, decimals: int, field: int) -> str:
        return shortest_text(raw, decimals)  # the checksum hashes the text sent

    def caught_up(self, sync: BookSync) -> bool:
        return self.same_top(sync, self.DEPTH)

    def checksum(self, bids: Levels, asks: Levels) -> int:
        """OKX's legacy checksum of the levels sent: ``bid:size:ask:size:...`` over 25 a side."""
        parts: list[str] = []
        for i in range(self.CHECKSUM_DEPTH):
            for levels in (bids, asks):
                if i < len(levels):
                    parts += levels[i][:2]
        return signed_crc32(":".join(parts))

    def decode(self, message: str | bytes) -> dict[str, Any]:
        return {"op": "ping"} if message in ("ping", b"ping") else super().decode(message)

    def reply(self, message: dict[str, Any]) -> list[str]:
        op = message.get("op")
        if op == "ping":
            return ["pong"]
        frames: list[str] = []
        for arg in message.get("args", ()):
            ack = {"id": message.get("id"), "event": op, "arg": arg, "connId": "loopback"}
            frames.append(compact(ack))
            if op == "subscribe" and arg == self.arg and self.sent:
                bids, asks = self.levels_text(self.DEPTH)
                data = {"asks": asks, "bids": bids, "ts": self._ts,
                        "checksum": self.checksum(bids, asks)}  # fmt: skip
                frames.append(compact({"arg": self.arg, "action": "snapshot", "data": [data]}))
        return frames


class RecordedKraken(RecordedVenue):
    """Kraken WebSocket v1: one pair's ``book-<depth>`` snapshot and updates, and heartbeats.

    Every (un)subscribe gets a ``subscriptionStatus`` and, once the server has a book, a
    subscribe also gets a snapshot of it: levels at the wire's places (the checksum hashes
    them), each with the timestamp it came with. Pings get pongs. ``alter_from``: the first
    update at or after that index which changes the server's top 10 is sent with one size
    changed, once, so the client's checksum fails exactly there.
    """

    extra_fields = 1  # the level's timestamp (a republish flag "r" is not kept)

    def __init__(self, recording: Recording, *, native: str = "XMR/USD", drop_after: int,
                 alter_from: int | None = None) -> None:  # fmt: skip
        self.native = native
        tail = f',"{native}"]'.encode()
        records = [r.payload for r in recording.records if r.kind == "ws"]
        frames = [f for f in records if (f.endswith(tail) and b'"book-' in f)
                  or f == b'{"event":"heartbeat"}']  # fmt: skip
        self.status = next(json.loads(f) for f in records if b'"subscriptionStatus"' in f
                           and b'"book-' in f and f'"pair":"{native}"'.encode() in f)  # fmt: skip
        self.channel_name: str = self.status["channelName"]
        self.depth = int(self.channel_name.split("-")[1])
        super().__init__(self.instrument_of(recording, native), frames, drop_after=drop_after)
        snapshot = next(json.loads(f) for f in frames if b'"as":' in f)[1]
        price, size, *_ = (snapshot["as"] or snapshot["bs"])[0]
        self.places = (len(price.partition(".")[2]), len(size.partition(".")[2]))
        self.alter_from = alter_from
        self.altered: int | None = None  # the index of the frame sent altered

    def apply(self, frame: bytes) -> None:
        message = json.loads(frame)
        if isinstance(message, dict):
            return  # a heartbeat
        for part in message[1:-2]:
            if "as" in part:
                self.book.clear()
                self.extras.clear()
            for key, side in (("as", ASK), ("a", ASK), ("bs", BID), ("b", BID)):
                self.set_levels(side, part.get(key, ()))
        self.book.truncate(self.depth)  # Kraken sends no delete for a level out of scope

    def outgoing(self, index: int, frame: bytes) -> bytes:
        if self.alter_from is None or self.altered is not None or index < self.alter_from:
            return frame
        message = json.loads(frame)
        if isinstance(message, dict) or "as" in message[1] or "bs" in message[1]:
            return frame
        top = {Decimal(price) for price in self._top_prices(10)}
        for part in message[1:-2]:
            for level in part.get("a", []) + part.get("b", []):
                if Decimal(level[0]) in top and Decimal(level[1]):
                    self.altered = index
                    level[1] = level[1][:-1] + ("1" if level[1][-1] != "1" else "2")
                    return compact(message).encode()
        return frame

    def _top_prices(self, depth: int) -> list[str]:
        bids, asks = self.levels_text(depth)
        return [level[0] for level in bids + asks]

    def level_text(self, raw: int, decimals: int, field: int) -> str:
        """At the wire's places ("354.80000000" where the pair has 2 decimals)."""
        whole, _, frac = to_text(raw, decimals).partition(".")
        places = self.places[field]
        return f"{whole}.{frac.ljust(places, '0')}" if places else whole

    def reply(self, message: dict[str, Any]) -> list[str]:
        event = message.get("event")
        if event == "ping":
            return [compact({"event": "pong", "reqid": message.get("reqid")})]
        if event not in ("subscribe", "unsubscribe") or self.native not in message.get("pair", ()):
            return []
        status = "subscribed" if event == "subscribe" else "unsubscribed"
        frames = [compact({**self.status, "status": status})]
        if event == "subscribe" and self.sent:
            bids, asks = self.levels_text(self.depth)
            book = {"as": asks, "bs": bids}
            frames.append(compact([self.status["channelID"], book, self.channel_name, self.native]))
        return frames

    def caught_up(self, sync: BookSync) -> bool:
        return self.same_top(sync, self.depth)


class RecordedBitfinex(RecordedVenue):
    """Bitfinex v2: one symbol's P0 ``book`` frames and heartbeats, numbered per connection.

    A connection is greeted with ``info``; ``conf`` is acked and its flags kept; frames play
    once the book subscribe came. Every array frame goes out stamped with the connection's next
    sequence number (SEQ_ALL) and the channel id of the current subscription, whatever the
    recording said: the recording numbered a connection carrying other channels too. With
    OB_CHECKSUM on, a ``cs`` frame of the server's book follows every book change. A subscribe
    (a new channel id each time) is answered with a snapshot once the server has a book.
    """

    FLAG_SEQ_ALL = 65536
    FLAG_OB_CHECKSUM = 131072
    CHECKSUM_DEPTH = 25
    extra_fields = 1  # the level's order count
    _HEAD = re.compile(r"^\[\d+,")
    _TAIL = re.compile(r",\d+\]$")

    def __init__(self, recording: Recording, *, native: str = "tIOTETH", drop_after: int,
                 lose: Collection[int] = ()) -> None:  # fmt: skip
        records = [r.payload for r in recording.records if r.kind == "ws"]
        self.info = next(f for f in records if b'"event":"info"' in f).decode()
        symbol = f'"{native}"'.encode()
        self.status = next(json.loads(f) for f in records if b'"event":"subscribed"' in f
                           and b'"channel":"book"' in f and symbol in f)  # fmt: skip
        head = f"[{self.status['chanId']},".encode()
        frames = [f for f in records if f.startswith(head)]
        super().__init__(self.instrument_of(recording, native), frames, drop_after=drop_after,
                         lose=lose)  # fmt: skip
        self.chan_id = 0  # the current subscription's channel; 0: none
        self._chan_ids = itertools.count(self.status["chanId"])  # a new one per subscribe
        self.flags = 0
        self.seq = 0
        self.changed = False  # the book changed since the last checksum went out
        self._lock = asyncio.Lock()

    def apply(self, frame: bytes) -> None:
        payload = json.loads(frame, parse_float=Decimal, parse_int=Decimal)[1]
        if payload == "hb":
            return
        if payload and isinstance(payload[0], list):  # a snapshot
            self.book.clear()
            self.extras.clear()
            levels = payload
        else:
            levels = [payload]
        for price, count, amount in levels:
            side = BID if amount > 0 else ASK
            size = "0" if count == 0 else format(abs(amount), "f")
            self.set_levels(side, [[format(price, "f"), size, str(count)]])
        self.changed = True

    def greeting(self, path: str) -> list[str]:
        self.seq, self.flags = 0, 0  # per connection
        return [self.info]

    def starts_stream(self, message: dict[str, Any]) -> bool:
        return message.get("event") == "subscribe"

    def level_text(self, raw: int, decimals: int, field: int) -> str:
        return shortest_text(raw, decimals)  # JSON numbers in fixed notation

    def _levels(self, depth: int) -> list[list[Any]]:
        """``[price, count, amount]`` rows, bids then asks (negative amounts), as sent."""
        bids, asks = self.levels_text(depth)
        rows = [[price, count, size] for price, size, count in bids]
        rows += [[price, count, "-" + size] for price, size, count in asks]
        return rows

    def checksum(self) -> int:
        """The docs' rule: 25 bids and asks interleaved ``price:amount``, signed CRC32."""
        rows = self._levels(self.CHECKSUM_DEPTH)
        bids = [r for r in rows if not r[2].startswith("-")]
        asks = [r for r in rows if r[2].startswith("-")]
        parts: list[str] = []
        for i in range(self.CHECKSUM_DEPTH):
            for side in (bids, asks):
                if i < len(side):
                    parts += [side[i][0], side[i][2]]
        return signed_crc32(":".join(parts))

    async def before_frame(self, socket: ServerConnection) -> bool:
        if self.changed and self.flags & self.FLAG_OB_CHECKSUM and self.chan_id:
            await self.send(socket, f'[0,"cs",{self.checksum()},0]')
        self.changed = False
        return True

    def reply(self, message: dict[str, Any]) -> list[str]:
        event = message.get("event")
        if event == "conf":
            self.flags = int(message["flags"])
            return [compact({"event": "conf", "status": "OK", "flags": self.flags})]
        if event == "ping":
            return [compact({"event": "pong", "ts": 0, "cid": message.get("cid")})]
        if event == "unsubscribe" and message.get("chanId") == self.chan_id:
            self.chan_id = 0
            return [compact({"event": "unsubscribed", "status": "OK",
                             "chanId": message["chanId"]})]  # fmt: skip
        if event != "subscribe" or message.get("symbol") != self.status["symbol"]:
            return []
        self.chan_id = next(self._chan_ids)
        acked = {**self.status, "chanId": self.chan_id, "len": message.get("len", "25")}
        frames = [compact(acked)]
        if self.sent:
            rows = ",".join(f"[{p},{c},{a}]" for p, c, a in self._levels(int(acked["len"])))
            frames.append(f"[0,[{rows}],0]")
            self.changed = False
        return frames

    async def send(self, socket: ServerConnection, frame: str | bytes) -> None:
        async with self._lock:  # stamped in the order they go out
            if isinstance(frame, str) and frame.startswith("["):
                if not self.chan_id:
                    return  # not subscribed (any more): the channel's frames stop
                self.seq += 1
                frame = self._HEAD.sub(f"[{self.chan_id},", frame)
                seq = f",{self.seq}]" if self.flags & self.FLAG_SEQ_ALL else "]"
                frame = self._TAIL.sub(seq, frame)
            await socket.send(frame)

    def caught_up(self, sync: BookSync) -> bool:
        return self.same_top(sync, 100)


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
            if server.caught_up(client.syncs[symbol]):
                break
            await asyncio.sleep(0.01)
        await client.close()
        await asyncio.wait_for(runner, timeout=10)
    return client, served_in_sync
