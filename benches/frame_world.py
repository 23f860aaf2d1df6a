"""The engine benches' live path: the seeded simulator market as each venue's WebSocket frames.

``engine_world`` offers pre-parsed book events to ``BookSync.on_event``; live, a frame arrives
and the venue's :class:`~arbcore.marketdata.client.BookClient` handles it (the compiled delta
path, the sync, then the engine's book callback). This builds that path without sockets:

- :func:`frame_stream` runs engine_world's market (same venues, markets, seed, dislocation
  rate) through the bundled simulator's own venue servers (``arbcore.sim.venues.<venue>``): a
  subscriber joins each venue's ``StreamHub`` and subscribes with the frames the venue's real
  client sends, answered by the server's own handler; every step the servers publish, and the
  frames queued for the subscriber are rendered as that server sends them (Binance: the
  combined stream's wrapper). The REST snapshots the clients fetch (Binance) are answered by
  the server's ASGI app at the same point and recorded. All of it is built before any timing,
  on a virtual clock (one simulator step, 100 ms, per step), so the bytes are the same on
  every run.
- :func:`frame_engine` wires a real :class:`~arbcore.engine.Engine` the way ``Engine._connect``
  does: each venue's real client (``get_venue(venue).client``) with the engine's book callback,
  its symbols added, its connect hook run (the recorded REST answers served to it), the acks
  and pushed snapshots handed in; then the strategies, orchestrator, risk and shadow venues.
- :func:`frame_handler` hands one frame to its venue's client (``_on_frame(frame, ts)``), what
  the connection does for each frame it reads; :func:`run_frames` paces it like engine_world.

The peer, :class:`FrameDecimalLoop`, is engine_world's dict + ``Decimal`` loop reading the same
frames itself with ``json`` (as a home-grown bot would: no sequence or checksum checks).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import attrs
import httpx
import numpy as np
from engine_world import (
    DISLOCATION_RATE,
    SEED,
    SYMBOLS,
    VENUES,
    Arrival,
    DecimalLoop,
    Run,
    demo_config,
    paced,
    run_paced,
    stamp_finds,
)

from arbcore.config.schema import AppConfig
from arbcore.engine import Engine, pin_hot_loop
from arbcore.exchanges.registry import get_venue
from arbcore.marketdata.client import BookClient
from arbcore.model import Instrument
from arbcore.sim import SimConfig, Simulator
from arbcore.sim.market import MarketConfig
from arbcore.sim.stream import Outgoing, Subscriber
from arbcore.sim.venues.binance.app import BinanceServer
from arbcore.storage.audit import AuditTrail

#: the clients' URLs: never dialled (the ASGI app at build time, recorded answers at run time)
REST_URL = "http://sim.invalid"
WS_URL = "ws://sim.invalid/stream"
EPOCH_NS = 1_700_000_000 * 10**9  # the virtual clock's start

Frame = tuple[str, bytes]  # (venue, the frame's bytes as sent)

#: how each server puts a queued frame on the wire (the others send its text as it is)
RENDER: dict[str, Callable[[Outgoing], str]] = {
    "binance": lambda frame: BinanceServer.wire(frame, combined=True),
}


@attrs.frozen
class FrameStream:
    """A seeded market as the frames a client receives: the set-up, then every frame in order."""

    instruments: Mapping[str, tuple[Instrument, ...]]
    rest: Mapping[str, bytes]  # URL -> body: the REST snapshots the clients fetched
    setup: tuple[Frame, ...]  # subscribe acks and pushed snapshots (before the clock starts)
    frames: tuple[Frame, ...]


class _Clock:
    """The simulator's virtual clock (ns): advanced one step at a time."""

    def __init__(self) -> None:
        self.ns = EPOCH_NS

    def __call__(self) -> int:
        return self.ns


class _Recording(httpx.AsyncBaseTransport):
    """An ASGI transport that keeps every answer's body by URL."""

    def __init__(self, inner: httpx.AsyncBaseTransport, bodies: dict[str, bytes]) -> None:
        self.inner, self.bodies = inner, bodies

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.bodies[str(request.url)] = body
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def _client(venue: str, instruments: Sequence[Instrument], http: httpx.AsyncClient,
            on_book: Callable[..., None] | None = None) -> BookClient:  # fmt: skip
    make = get_venue(venue).client
    if make is None:
        raise ValueError(f"{venue} has no live client")
    client: BookClient = make(list(instruments), http=http, on_book=on_book,
                              rest_url=REST_URL, ws_url=WS_URL)  # fmt: skip
    return client


async def _connect(client: BookClient, symbols: Sequence[str],
                   send: Callable[[str], None] | None = None) -> None:  # fmt: skip
    """What a connection does before it reads a frame: symbols added, the client's subscribe
    frames sent (to ``send``), the connect hook run (it fetches REST snapshots for a venue that
    syncs by them), those fetches finished."""
    await client.add_symbols(symbols)
    if send is not None:
        for text in client.connection._subscribe(client.connection.symbols):
            send(text)
    client._on_connect()
    await asyncio.gather(*list(client._pending.values()))


async def _subscribe(sim: Simulator, rest: dict[str, bytes]) -> dict[str, Subscriber]:
    """One subscriber per venue, subscribed as the venue's client subscribes (its own frames,
    the server's own answers); the client's REST snapshots fetched from the server's app."""
    subscribers = {}
    for venue in VENUES:
        server: Any = sim.servers[venue]
        subscriber = subscribers[venue] = server.hub.join()

        def send(text: str, server: Any = server, subscriber: Subscriber = subscriber) -> None:
            answer = getattr(server, "answer", None)
            if answer is not None:
                answer(subscriber, text)
            else:  # Binance: the control handler returns its reply
                server.hub.reply(subscriber, server._control(subscriber, text))

        transport = _Recording(httpx.ASGITransport(app=server.app), rest)
        async with httpx.AsyncClient(transport=transport) as http:
            listed = sim.venues[venue].instruments
            await _connect(_client(venue, listed, http), [i.symbol for i in listed], send)
    return subscribers


def _drain(subscribers: Mapping[str, Subscriber]) -> Iterator[Frame]:
    for venue, subscriber in subscribers.items():
        render = RENDER.get(venue)
        while not subscriber.queue.empty():
            frame = subscriber.queue.get_nowait()
            assert frame is not None
            yield venue, (frame.text if render is None else render(frame)).encode()


def frame_stream(messages: int, seed: int = SEED) -> FrameStream:
    """At least ``messages`` frames of engine_world's market after the set-up (whole steps;
    call :func:`frame_stream` outside a running event loop). A longer stream's first frames
    are a shorter one's, so one stream serves every size."""
    cached = _STREAMS.get(seed)
    if cached is not None and len(cached.frames) >= messages:
        return cached
    clock = _Clock()
    config = SimConfig(venues=VENUES, symbols=SYMBOLS, seed=seed,
                       market=MarketConfig(dislocation_rate=DISLOCATION_RATE))  # fmt: skip
    sim = Simulator(config, clock=clock, autostep=False)
    sim.step()  # as Simulator.start: books are never empty when a client subscribes
    rest: dict[str, bytes] = {}
    subscribers = asyncio.run(_subscribe(sim, rest))
    setup = tuple(_drain(subscribers))
    frames: list[Frame] = []
    step_ns = int(config.step_interval_s * 1e9)
    while len(frames) < messages:
        clock.ns += step_ns
        sim.step()
        frames += _drain(subscribers)
    stream = _STREAMS[seed] = FrameStream(
        instruments={name: tuple(venue.instruments) for name, venue in sim.venues.items()},
        rest=rest, setup=setup, frames=tuple(frames),
    )  # fmt: skip
    return stream


_STREAMS: dict[int, FrameStream] = {}


async def frame_engine(stream: FrameStream, audit: AuditTrail, config: AppConfig, *,
                       stamp: bool = True, arrival: Arrival | None = None,
                       sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                       clock_ns: Callable[[], int] | None = None
                       ) -> tuple[Engine, list[int]]:  # fmt: skip
    """A real Engine fed by each venue's real client, every book synced from the set-up
    (module docstring); with ``stamp``, the list :func:`engine_world.stamp_finds` fills.
    ``arrival``: the paced schedule's (set before the callbacks are made); ``clock_ns`` and
    ``sleep``: a virtual clock's, for a deterministic replay."""
    engine = Engine(config)
    if arrival is not None:
        engine.arrival_ns = arrival
    if clock_ns is not None:
        engine.clock_ns = clock_ns
    detected = stamp_finds(engine) if stamp else []
    rest = stream.rest
    http = httpx.AsyncClient(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, content=rest[str(request.url)])))  # fmt: skip
    async with http:
        for venue, listed in stream.instruments.items():
            engine.instruments[venue] = {instrument.symbol: instrument for instrument in listed}
            client = _client(venue, listed, http, engine._on_book(venue))
            await _connect(client, list(engine.instruments[venue]))
            engine.clients[venue], engine.syncs[venue] = client, client.syncs
    for venue, frame in stream.setup:
        engine.clients[venue]._on_frame(frame, EPOCH_NS)
    unsynced = [f"{v} {s}" for v, syncs in engine.syncs.items() for s, sync in syncs.items()
                if not sync.in_sync]  # fmt: skip
    if unsynced:
        raise RuntimeError(f"the set-up left books out of sync: {', '.join(unsynced)}")
    engine.audit = audit
    engine._build_trading(sleep=sleep)
    return engine, detected


def frame_handler(engine: Engine) -> Callable[[Frame], None]:
    """One frame as its connection hands it on: stamped with the wall clock, to the venue's
    client's frame handler (delta path, sync, the engine's callback)."""
    on_frame = {venue: client._on_frame for venue, client in engine.clients.items()}
    clock = time.time_ns

    def handle(item: Frame) -> None:
        venue, frame = item
        on_frame[venue](frame, clock())

    return handle


async def run_frames(stream: FrameStream, rate: float | None, workdir: Path,
                     messages: int | None = None, rehearse: bool = False,
                     cpu: int | None = None) -> tuple[Run, Engine]:  # fmt: skip
    """A fresh engine over ``stream``'s frames replayed at ``rate``; its orders finished after;
    ``rehearse``: the engine's idle hook called while the source waits (engine_world.paced);
    ``cpu``: the loop pinned there and the audit trail's threads on the other CPUs, as
    ``Engine.run`` places them with ``[system] cpu``."""
    config = demo_config(workdir / f"frames-{time.perf_counter_ns()}.db")
    background = pin_hot_loop(cpu) if cpu is not None else None
    with AuditTrail(config.system.storage.path, synchronous="NORMAL", cpus=background) as audit:
        arrival = Arrival()
        engine, detected = await frame_engine(stream, audit, config, arrival=arrival)
        run = await run_paced(engine, frame_handler(engine), stream.frames[:messages], rate,
                              arrival, detected, rehearse)  # fmt: skip
    return run, engine


Book = tuple[str, bool, list[list[Any]], list[list[Any]]]  # symbol, snapshot, bids, asks (text)


class FrameDecimalLoop(DecimalLoop):
    """The peer on frames: each frame read with ``json.loads``, its levels as ``Decimal`` from
    the text, then engine_world's loop (dict books, both strategies' tests, the risk check).
    Every venue's book messages are read from the fields their documentation names; anything
    else (acks, tickers, heartbeats) is parsed and ignored."""

    def __init__(self, stream: FrameStream, arrival: Arrival) -> None:
        super().__init__(stream.instruments, arrival)
        self.symbols = {(i.venue, i.native_symbol): i.symbol
                        for listed in stream.instruments.values() for i in listed}  # fmt: skip
        self.readers: dict[str, Callable[[Any], Iterator[Book]]] = {
            "binance": self._binance, "okx": self._okx, "bybit": self._bybit,
            "kraken": self._kraken,
        }  # fmt: skip
        for url, body in stream.rest.items():  # Binance's REST snapshots
            native = parse_qs(urlparse(url).query)["symbol"][0]
            book = json.loads(body)
            self.apply("binance", (self.symbols["binance", native], True, book["bids"],
                                   book["asks"]))  # fmt: skip
        for frame in stream.setup:
            self.on_frame(frame)
        self.restart()

    def on_frame(self, item: Frame) -> None:
        venue, frame = item
        for book in self.readers[venue](json.loads(frame)):
            self.apply(venue, book)

    def apply(self, venue: str, book: Book) -> None:
        symbol, snapshot, bid_rows, ask_rows = book
        bids, asks = self.books[(venue, symbol)]
        if snapshot:
            bids.clear()
            asks.clear()
        for levels, rows in ((bids, bid_rows), (asks, ask_rows)):
            for row in rows:
                size = Decimal(row[1])
                if size:
                    levels[Decimal(row[0])] = size
                else:
                    levels.pop(Decimal(row[0]), None)
        self.check(venue, symbol)

    def _binance(self, message: Any) -> Iterator[Book]:
        data = message.get("data") if isinstance(message, dict) else None
        if isinstance(data, dict) and data.get("e") == "depthUpdate":
            yield self.symbols["binance", data["s"]], False, data["b"], data["a"]

    def _okx(self, message: Any) -> Iterator[Book]:
        action = message.get("action")
        if action is not None and message["arg"]["channel"] == "books":
            symbol = self.symbols["okx", message["arg"]["instId"]]
            for data in message["data"]:
                yield symbol, action == "snapshot", data["bids"], data["asks"]

    def _bybit(self, message: Any) -> Iterator[Book]:
        if str(message.get("topic", "")).startswith("orderbook."):
            data = message["data"]
            yield self.symbols["bybit", data["s"]], message["type"] == "snapshot", data["b"], \
                data["a"]  # fmt: skip

    def _kraken(self, message: Any) -> Iterator[Book]:
        if isinstance(message, list):  # [channelID, {...}, ({...},) channelName, pair]
            parts = message[1:-2]
            snapshot = "as" in parts[0] or "bs" in parts[0]
            bids = [row for part in parts for row in part.get("bs", part.get("b", ()))]
            asks = [row for part in parts for row in part.get("as", part.get("a", ()))]
            yield self.symbols["kraken", message[-1]], snapshot, bids, asks


async def run_frame_peer(stream: FrameStream, rate: float | None,
                         messages: int | None = None) -> Run:  # fmt: skip
    """:class:`FrameDecimalLoop` over ``stream``'s frames at ``rate``, paced and stamped like
    the engine."""
    arrival = Arrival()
    peer = FrameDecimalLoop(stream, arrival)
    run = await paced(peer.on_frame, stream.frames[:messages], rate, arrival,
                      decisions=lambda: peer.decisions_ns)  # fmt: skip
    return attrs.evolve(run, detected_ns=np.array(peer.detected_ns, dtype=np.int64))
