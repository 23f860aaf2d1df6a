"""The WebSocket streams over a real uvicorn server on 127.0.0.1: tokens, bad input,
per-client throttling, and a client that stops reading being dropped while the others keep
receiving everything. Events come from the real EventHub the API reads."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from server_kit import AUTH, TOKEN, demo_config
from websockets.exceptions import ConnectionClosed, InvalidStatus

from arbcore.config.schema import ServerConfig
from arbcore.engine import Engine
from arbcore.model import Instrument
from arbcore.server import ControlServer, EngineControl, StreamLimits
from arbcore.server.app import TOKEN_ENV

STREAMS = ["/trades", "/system", "/market-data"]


def _instrument(symbol: str) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument(venue="binance", symbol=symbol, native_symbol=base + quote, base=base,
                      quote=quote, price_decimals=2, size_decimals=4, tick_size=1,
                      lot_size=1)  # fmt: skip


@contextlib.asynccontextmanager
async def served(
    tmp_path: Path,
    *,
    token: str | None = TOKEN,
    open_reads: bool = False,
    limits: StreamLimits | None = None,
) -> AsyncIterator[tuple[ControlServer, Engine]]:
    engine = Engine(demo_config(tmp_path))
    engine.instruments["binance"] = {s: _instrument(s) for s in ("BTC/USDT", "ETH/BTC")}
    environ = {TOKEN_ENV: token} if token is not None else {}
    server = ControlServer(EngineControl(engine), ServerConfig(port=0, open_reads=open_reads),
                           environ=environ, limits=limits)  # fmt: skip
    async with server:
        assert server.port > 0
        yield server, engine


def ws_url(server: ControlServer, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


def connect(server: ControlServer, path: str, **options: Any) -> Any:
    """A stream client with the token in its Authorization header."""
    return websockets.connect(ws_url(server, path), additional_headers=AUTH, **options)


async def drain(socket: Any, timeout: float = 15.0) -> None:
    """Read until the connection closes (ConnectionClosed), within ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            await socket.recv()


async def frames(socket: Any, count: int, kind: str | None = None,
                 timeout: float = 5.0) -> list[dict[str, Any]]:  # fmt: skip
    """The next ``count`` frames (of ``kind``, skipping others such as /system's status)."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            frame = json.loads(await socket.recv())
            if kind is None or frame["kind"] == kind:
                got.append(frame)
    return got


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


# -- who may listen ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", STREAMS)
def test_streams_refuse_a_missing_or_wrong_token_before_the_upgrade(tmp_path: Path,
                                                                    path: str) -> None:  # fmt: skip
    async def scenario() -> None:
        async with served(tmp_path) as (server, _):
            refusals = [({}, b"missing token"), ({"Authorization": "Bearer no"}, b"wrong token")]
            for headers, reason in refusals:
                with pytest.raises(InvalidStatus) as refused:
                    await websockets.connect(ws_url(server, path), additional_headers=headers)
                assert refused.value.response.status_code == 401
                assert reason in refused.value.response.body
            async with websockets.connect(ws_url(server, path), additional_headers=AUTH) as ok:
                (hello,) = await frames(ok, 1)
                assert hello["kind"] == "subscribed"

    run(scenario)


def test_streams_without_the_variable_are_closed_unless_reads_are_open(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path, token=None) as (server, _):
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(ws_url(server, "/trades"), additional_headers=AUTH)
            assert refused.value.response.status_code == 403
        async with (served(tmp_path, token=None, open_reads=True) as (server, _),
                    websockets.connect(ws_url(server, "/trades")) as ok):  # fmt: skip
            assert (await frames(ok, 1))[0]["kind"] == "subscribed"

    run(scenario)


def test_a_browser_offers_the_token_as_a_subprotocol(tmp_path: Path) -> None:
    encoded = base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("=")

    async def scenario() -> None:
        async with served(tmp_path) as (server, _):
            offered: list[Any] = ["arbcore.v1", f"arbcore.bearer.{encoded}"]
            async with websockets.connect(ws_url(server, "/system"), subprotocols=offered) as ok:
                assert ok.subprotocol == "arbcore.v1"
                assert (await frames(ok, 1))[0]["kind"] == "subscribed"
            bad_tokens: list[Any] = ["arbcore.bearer.%%%", "arbcore.bearer." + encoded[:-2]]
            for bad in bad_tokens:
                with pytest.raises(InvalidStatus) as refused:
                    await websockets.connect(
                        ws_url(server, "/system"), subprotocols=[*offered[:1], bad]
                    )
                assert refused.value.response.status_code == 401

    run(scenario)


# -- what arrives ------------------------------------------------------------------------------


def test_trades_arrive_in_order_and_bad_messages_get_an_error_frame(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (server, _), connect(server, "/trades") as ws:
            await frames(ws, 1, "subscribed")
            hub = server.target.events
            for n in range(20):
                hub.publish("trades", "order", {"n": n}, ts_ns=n)
            got = await frames(ws, 20)
            assert [(f["kind"], f["data"]["n"], f["ts_ns"]) for f in got] == [
                ("order", n, n) for n in range(20)]  # fmt: skip
            for message, reason in (("not json", "not valid JSON"),
                                    ('{"subscribe": ["BTC/USDT"]}', "takes no messages"),
                                    ("x" * 5_000, "at most 4096 bytes")):  # fmt: skip
                await ws.send(message)
                (error,) = await frames(ws, 1)
                assert error["kind"] == "error"
                assert reason in error["data"]["reason"]
            await ws.send(b"\x00binary")
            assert (await frames(ws, 1))[0]["kind"] == "error"
            hub.publish("trades", "fill", {"n": 99})
            assert (await frames(ws, 1))[0]["data"] == {"n": 99}  # still connected

    run(scenario)


def _quote(symbol: str, bid: int) -> dict[str, Any]:
    return {"venue": "binance", "symbol": symbol, "bid": f"{bid}.00", "ask": f"{bid + 1}.00",
            "bid_size": "1.0000", "ask_size": "2.0000"}  # fmt: skip


def test_market_data_is_throttled_per_client_and_filtered_by_symbol(tmp_path: Path) -> None:
    async def scenario() -> None:
        limits = StreamLimits(min_interval_ms=100)
        async with (
            served(tmp_path, limits=limits) as (server, _),
            connect(server, "/market-data?symbols=ETH/BTC&interval_ms=300") as slow,
            connect(server, "/market-data?interval_ms=100") as fast,
        ):
            assert (await frames(slow, 1))[0]["data"]["symbols"] == ["ETH/BTC"]
            assert (await frames(fast, 1))[0]["data"]["symbols"] is None  # every symbol
            hub = server.target.events
            started = time.monotonic()
            for bid in range(1, 61):  # 60 updates of each book over 0.6 s
                hub.publish("market-data", "quote", _quote("BTC/USDT", bid))
                hub.publish("market-data", "quote", _quote("ETH/BTC", 1_000 + bid))
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.45)  # both clients' last batch is due
            elapsed = time.monotonic() - started
            batches: dict[str, list[list[dict[str, Any]]]] = {}
            for name, socket in (("slow", slow), ("fast", fast)):
                batches[name] = []
                with contextlib.suppress(TimeoutError):
                    while True:
                        async with asyncio.timeout(0.05):
                            batches[name].append(json.loads(await socket.recv())["data"]["quotes"])
            for name, interval in (("slow", 0.3), ("fast", 0.1)):
                got = batches[name]
                assert 2 <= len(got) <= elapsed / interval + 1, (name, len(got))
                for batch in got:  # one quote per book per batch: the latest
                    assert len({(q["venue"], q["symbol"]) for q in batch}) == len(batch)
            assert {q["symbol"] for b in batches["slow"] for q in b} == {"ETH/BTC"}
            assert {q["symbol"] for b in batches["fast"] for q in b} == {"BTC/USDT", "ETH/BTC"}
            last = {q["symbol"]: q["bid"] for b in batches["fast"] for q in b}
            assert last == {"BTC/USDT": "60.00", "ETH/BTC": "1060.00"}  # nothing stale at the end
            assert batches["slow"][-1][-1]["bid"] == "1060.00"

            await slow.send(json.dumps({"subscribe": ["BTC/USDT"]}))
            assert (await frames(slow, 1, "subscribed"))[0]["data"]["symbols"] == [
                "BTC/USDT", "ETH/BTC"]  # fmt: skip
            await slow.send(json.dumps({"unsubscribe": ["ETH/BTC"]}))
            assert (await frames(slow, 1, "subscribed"))[0]["data"]["symbols"] == ["BTC/USDT"]
            bad: list[tuple[object, str]] = [
                ({"subscribe": ["DOGE/USDT"]}, "unknown symbol(s) DOGE/USDT"),
                ({"subscribe": "BTC/USDT"}, 'send {"subscribe"'),
                ({"subscribe": []}, "non-empty list"),
                ({"subscribe": ["BTC/USDT"], "x": 1}, 'send {"subscribe"'),
            ]
            for message, reason in bad:
                await slow.send(json.dumps(message))
                (error,) = await frames(slow, 1, "error")
                assert reason in error["data"]["reason"]

    run(scenario)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("?interval_ms=5", b"interval_ms must be between 100 and 60000"),
        ("?symbols=DOGE/USDT", b"unknown symbol(s) DOGE/USDT"),
        ("?symbols=", b"non-empty list"),
        ("?depth=5", b"unknown query parameter(s) depth"),
    ],
)
def test_bad_market_data_requests_are_refused_at_the_upgrade(tmp_path: Path, query: str,
                                                             reason: bytes) -> None:  # fmt: skip
    async def scenario() -> None:
        async with served(tmp_path) as (server, _):
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(ws_url(server, "/market-data" + query),
                                         additional_headers=AUTH)  # fmt: skip
            assert refused.value.response.status_code == 400
            assert reason in refused.value.response.body

    run(scenario)


# -- a client that stops reading ---------------------------------------------------------------


def _stuck_socket(port: int) -> socket.socket:
    """A connected socket with a tiny receive window: a reader that stops stalls quickly."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4_096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def test_a_client_that_stops_reading_is_dropped_while_the_others_get_everything(
    tmp_path: Path,
) -> None:
    events, payload = 400, "x" * 32_000

    async def scenario() -> None:
        limits = StreamLimits(queue=events + 10, send_timeout_s=1.0)
        async with served(tmp_path, limits=limits) as (server, _):
            url = ws_url(server, "/trades")
            # (no compression: the padding must really cross the wire)
            readers = [await websockets.connect(url, additional_headers=AUTH, max_size=None,
                                                compression=None) for _ in range(2)]  # fmt: skip
            stuck = await websockets.connect(url, additional_headers=AUTH, max_queue=1,
                                             compression=None,
                                             sock=_stuck_socket(server.port))  # fmt: skip
            for ws in (*readers, stuck):
                await frames(ws, 1, "subscribed")
            hub = server.target.events
            assert hub.subscribers("trades") == 3

            async def read_all(ws: Any) -> list[int]:
                return [f["data"]["n"] for f in await frames(ws, events, timeout=30)]

            reading = [asyncio.create_task(read_all(ws)) for ws in readers]
            slowest_publish = 0.0
            for n in range(events):
                began = time.perf_counter()
                hub.publish("trades", "order", {"n": n, "pad": payload})
                slowest_publish = max(slowest_publish, time.perf_counter() - began)
                await asyncio.sleep(0.002)
            assert [await task for task in reading] == [list(range(events))] * 2
            async with asyncio.timeout(10):
                while hub.subscribers("trades") > 2:  # the stuck one is let go
                    await asyncio.sleep(0.05)
            assert slowest_publish < 0.01  # publishing never waited for a reader
            hub.publish("trades", "order", {"n": "after"})
            for ws in readers:  # the others are still served
                assert (await frames(ws, 1))[0]["data"]["n"] == "after"
            with pytest.raises(ConnectionClosed) as closed:  # the stuck one, reading again,
                await drain(stuck)  # finds its connection closed
            if closed.value.rcvd is not None:
                assert closed.value.rcvd.code == 1013
                assert closed.value.rcvd.reason.startswith(("too slow", "fell behind"))
            for ws in readers:
                await ws.close()

    run(scenario)


def test_a_client_that_falls_behind_its_queue_is_dropped_with_the_reason(tmp_path: Path) -> None:
    async def scenario() -> None:
        limits = StreamLimits(queue=5)
        async with served(tmp_path, limits=limits) as (server, _), connect(server, "/trades") as ws:
            await frames(ws, 1, "subscribed")
            hub = server.target.events
            for n in range(50):  # in one go: the server's writer cannot run in between
                hub.publish("trades", "order", {"n": n})
            with pytest.raises(ConnectionClosed) as closed:
                await frames(ws, 50)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1013
            assert closed.value.rcvd.reason.startswith("fell behind: ")
            assert hub.subscribers("trades") == 0

    run(scenario)
