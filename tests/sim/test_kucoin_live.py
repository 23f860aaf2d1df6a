"""The simulated KuCoin over real loopback sockets: arbcore's live clients, signed REST, faults.

The simulator runs in-process (uvicorn on 127.0.0.1, ephemeral ports) with the market stepped by
the test. ``KucoinDataClient`` takes a token from ``bullet-public``, waits for the welcome,
subscribes, syncs from REST snapshots and ends with the engine's book, and recovers from a
dropped connection (a new token) and a gap; ``KuCoinExecution`` trades, reads back and cancels;
the WebSocket answers KuCoin's handshake, pings and bad requests as KuCoin does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import pytest
import websockets

from arbcore.errors import AuthenticationError, InsufficientFunds, OrderNotFound
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.kucoin import auth
from arbcore.exchanges.kucoin.data import KucoinDataClient
from arbcore.exchanges.kucoin.execution import KuCoinExecution
from arbcore.exchanges.kucoin.providers import parse_instruments
from arbcore.exchanges.trading import prepare_order
from arbcore.marketdata.client import BookClient
from arbcore.model import OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore.net.ws import Backoff
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.venues.kucoin import KuCoinServer
from arbcore.testing.simwire import run, until
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret,
                          DEFAULT_ACCOUNT.passphrase)  # fmt: skip


@pytest.fixture
def kucoin(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("kucoin",))


def server_of(sim: Simulator) -> KuCoinServer:
    server = sim.servers["kucoin"]
    assert isinstance(server, KuCoinServer)
    return server


# -- shared with the other venues' live tests -----------------------------------------------------


def caught_up(sim: Simulator, client: BookClient, book_id: Callable[[str], int]) -> bool:
    """Every book in sync at the venue's current id (``book_id(symbol)``): nothing in flight."""
    return all(
        sync.in_sync and sync.book_id == book_id(symbol) for symbol, sync in client.syncs.items()
    )


def assert_same_books(sim: Simulator, venue: str, client: BookClient) -> None:
    """Each local book holds the engine's levels (at the book's own, possibly finer, scales)."""
    for symbol, sync in client.syncs.items():
        engine = sim.venues[venue].engines[symbol]
        kept = client.feed.symbols.by_symbol[symbol]
        price_scale = 10 ** (kept.price_decimals - engine.instrument.price_decimals)
        size_scale = 10 ** (kept.size_decimals - engine.instrument.size_decimals)
        bids, bid_sizes, asks, ask_sizes = sync.book.top(1000)
        for side, prices, sizes in ((BID, bids, bid_sizes), (ASK, asks, ask_sizes)):
            expected = [(p * price_scale, s * size_scale) for p, s in engine.levels(side)]
            assert list(zip(prices.tolist(), sizes.tolist(), strict=True)) == expected, symbol


# -- market data ----------------------------------------------------------------------------------


@asynccontextmanager
async def running(config: SimConfig) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async with (
        Simulator(config, autostep=False) as sim,
        httpx.AsyncClient(base_url=sim.endpoints["kucoin"].rest_url) as http,
    ):
        yield sim, http


@asynccontextmanager
async def client_of(sim: Simulator, http: httpx.AsyncClient) -> AsyncIterator[KucoinDataClient]:
    instruments = parse_instruments((await http.get("/api/v2/symbols")).json()).instruments
    async with httpx.AsyncClient(timeout=5.0) as rest:
        client = KucoinDataClient(
            instruments, rest_url=sim.endpoints["kucoin"].rest_url, http=rest,
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
        )  # the instance server comes with the token  # fmt: skip
        await client.add_symbols(sim.config.symbols)
        runner = asyncio.create_task(client.run())
        try:
            yield client
        finally:
            await client.close()
            await asyncio.wait_for(runner, timeout=5)


def test_kucoin_client_syncs_to_the_simulator_over_loopback(kucoin: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kucoin) as (sim, http), client_of(sim, http) as client:
            server = server_of(sim)
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            for _ in range(20):
                sim.step()
                await asyncio.sleep(0.005)
            await until(lambda: caught_up(sim, client, server.sequence))
            assert_same_books(sim, "kucoin", client)
            for sync in client.syncs.values():
                assert (sync.counters.gaps, sync.counters.resyncs) == (0, 0)
                assert sync.counters.updates > 0
            assert client.connection.counters.connects == 1
            assert len(server.tokens) == 1
            keepalive = client.keepalive
            assert keepalive is not None
            assert keepalive.interval_s == 18.0  # bullet-public's pingInterval

    run(scenario)


def test_kucoin_client_recovers_from_a_dropped_connection_and_a_gap(kucoin: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kucoin) as (sim, http), client_of(sim, http) as client:
            server = server_of(sim)
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            sim.faults.arm(Fault.DROP, "kucoin")
            await until(lambda: client.connection.counters.connects == 2, sim.step)
            assert len(server.tokens) == 2  # every connect asks bullet-public anew

            def resynced() -> bool:
                resyncs = [s.counters.resyncs for s in client.syncs.values()]
                return min(resyncs) >= 1 and caught_up(sim, client, server.sequence)

            await until(resynced, sim.step)
            assert_same_books(sim, "kucoin", client)

            sim.faults.arm(Fault.GAP, "kucoin")
            await until(lambda: sum(s.counters.gaps for s in client.syncs.values()) == 1, sim.step)
            await until(lambda: caught_up(sim, client, server.sequence), sim.step)
            assert_same_books(sim, "kucoin", client)
            assert sim.faults.injected == {("kucoin", Fault.DROP): 1, ("kucoin", Fault.GAP): 1}

    run(scenario)


async def _frames(socket: websockets.ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(socket.recv(), 5)) for _ in range(count)]


def test_kucoin_websocket_handshake_pings_and_refusals(kucoin: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kucoin) as (sim, http):
            server = server_of(sim)
            endpoint = sim.endpoints["kucoin"].ws_url
            async with websockets.connect(f"{endpoint}?token=forged&connectId=c1") as socket:
                assert await _frames(socket, 1) == [
                    {"id": "c1", "type": "error", "code": 401, "data": "token is invalid"}
                ]
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(socket.recv(), 5)

            bullet = (await http.post("/api/v1/bullet-public")).json()["data"]
            assert bullet["instanceServers"][0]["endpoint"] == endpoint
            url = f"{endpoint}?token={bullet['token']}&connectId=c2"
            async with websockets.connect(url) as socket:
                assert await _frames(socket, 1) == [{"id": "c2", "type": "welcome"}]
                requests = [
                    {"id": 1, "type": "subscribe", "topic": "/market/level2:BTC-USDT,ETH-BTC",
                     "response": True},
                    {"id": "p", "type": "ping"},
                    {"id": 2, "type": "subscribe", "topic": "/market/level2:NOPE-USDT"},
                    {"id": 3, "type": "subscribe", "topic": "/market/candles:BTC-USDT_1min"},
                    {"id": 4, "type": "subscribe", "topic": "/market/ticker:" + ",".join(
                        ["BTC-USDT"] * 101)},
                    {"id": 5, "type": "login"},
                ]  # fmt: skip
                for request in requests:
                    await socket.send(json.dumps(request))
                answers = await _frames(socket, len(requests))
                assert answers[:2] == [{"id": "1", "type": "ack"}, {"id": "p", "type": "pong"}]
                codes = [(a["type"], a["code"]) for a in answers[2:]]
                assert codes == [("error", 404), ("error", 404), ("error", 509), ("error", 415)]
                sim.step()
                pushed = await _frames(socket, 2)
                topics = {frame["topic"] for frame in pushed}
                assert topics == {"/market/level2:BTC-USDT", "/market/level2:ETH-BTC"}
                await socket.send(json.dumps({"id": 6, "type": "unsubscribe",
                                              "topic": "/market/level2:BTC-USDT,ETH-BTC",
                                              "response": True}))  # fmt: skip
                assert await _frames(socket, 1) == [{"id": "6", "type": "ack"}]

            server.ping_interval_ms, server.ping_timeout_ms = 100, 100
            token = (await http.post("/api/v1/bullet-public")).json()["data"]["token"]
            async with websockets.connect(f"{endpoint}?token={token}") as silent:
                assert (await _frames(silent, 1))[0]["type"] == "welcome"
                with pytest.raises(websockets.ConnectionClosed):  # no ping for 0.2 s
                    await asyncio.wait_for(silent.recv(), 5)

    run(scenario)


# -- trading --------------------------------------------------------------------------------------


def execution_of(sim: Simulator, credentials: Credentials = CREDENTIALS) -> KuCoinExecution:
    return KuCoinExecution(
        credentials, sim.venues["kucoin"].instruments, base_url=sim.endpoints["kucoin"].rest_url
    )


def test_arbcore_kucoin_execution_trades_on_the_simulator(kucoin: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kucoin) as (sim, _):
            venue = sim.venues["kucoin"]
            instruments = {i.symbol: i for i in venue.instruments}
            execution = execution_of(sim)
            try:
                await execution.sync_time()
                btc_usdt, eth_usdt = instruments["BTC/USDT"], instruments["ETH/USDT"]
                market = prepare_order(btc_usdt, OrderSide.BUY, to_raw("0.05", 5),
                                       type=OrderType.MARKET)  # fmt: skip
                placed = await execution.place_order(market)
                assert placed.status is OrderStatus.FILLED  # the HF ack, read back until final
                fetched = await execution.fetch_order(btc_usdt, market.client_order_id)
                assert fetched.venue_order_id == placed.venue_order_id
                assert (fetched.status, fetched.filled_raw) == (OrderStatus.FILLED, 5_000)

                best_bid = venue.engines["ETH/USDT"].best(BID)
                assert best_bid is not None
                limit = prepare_order(eth_usdt, OrderSide.BUY, to_raw("1", 4),
                                      price_raw=best_bid - 1_000)  # fmt: skip
                await execution.place_order(limit)
                listed = await execution.fetch_open_orders()
                assert [o.client_order_id for o in listed] == [limit.client_order_id]
                assert listed[0].status is OrderStatus.OPEN
                held = {b.asset: b for b in await execution.fetch_balances()}
                assert held["USDT"].locked == float(eth_usdt.price_text(best_bid - 1_000))
                assert held["BTC"].free == 10 + 0.05 * (1 - 0.001)

                cancelled = await execution.cancel_order(eth_usdt, limit.client_order_id)
                assert cancelled.status is OrderStatus.CANCELED
                assert await execution.fetch_open_orders(eth_usdt) == []
                again = await execution.cancel_order(eth_usdt, limit.client_order_id)
                assert again.status is OrderStatus.CANCELED  # already done: read back
                held = {b.asset: b for b in await execution.fetch_balances()}
                assert held["USDT"].locked == 0.0
                assert await execution.fetch_fees(btc_usdt) == (0.001, 0.001)

                maker = prepare_order(eth_usdt, OrderSide.SELL, to_raw("1", 4), price_raw=best_bid,
                                      time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
                await execution.place_order(maker)  # would take: accepted, then cancelled
                voided = await execution.fetch_order(eth_usdt, maker.client_order_id)
                assert (voided.status, voided.filled_raw) == (OrderStatus.CANCELED, 0)
                with pytest.raises(OrderNotFound):
                    await execution.fetch_order(eth_usdt, "never-placed")
            finally:
                await execution.aclose()

    run(scenario)


def test_kucoin_refusals_map_to_arbcore_errors(kucoin: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kucoin) as (sim, http):
            btc_usdt = next(i for i in sim.venues["kucoin"].instruments if i.symbol == "BTC/USDT")
            forged = execution_of(sim, attrs.evolve(CREDENTIALS, secret="wrong"))
            poor = execution_of(sim)
            try:
                with pytest.raises(AuthenticationError) as refused:
                    await forged.fetch_balances()
                assert (refused.value.http_status, refused.value.venue_code) == (401, "400005")
                too_much = prepare_order(btc_usdt, OrderSide.SELL, to_raw("11", 5),
                                         type=OrderType.MARKET)  # fmt: skip
                with pytest.raises(InsufficientFunds) as poor_error:
                    await poor.place_order(too_much)
                poor_refusal = poor_error.value
                assert (poor_refusal.http_status, poor_refusal.venue_code) == (200, "200004")
            finally:
                await forged.aclose()
                await poor.aclose()

            def placement(fields: dict[str, str], credentials: Credentials = CREDENTIALS,
                          timestamp_ms: int | None = None) -> HttpRequest:  # fmt: skip
                request = HttpRequest(method="POST", path="/api/v1/hf/orders",
                                      body=json.dumps(fields, separators=(",", ":")),
                                      headers=(("Content-Type", "application/json"),))  # fmt: skip
                return auth.sign(request, credentials, timestamp_ms=timestamp_ms)

            async def code(request: HttpRequest) -> tuple[int, str]:
                answer = await http.request(request.method, request.target,
                                            headers=list(request.headers),
                                            content=request.body.encode() or None)  # fmt: skip
                return answer.status_code, answer.json()["code"]

            order = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "100",
                     "size": "0.1", "clientOid": "c-1"}  # fmt: skip
            stranger = Credentials("nobody", "x", "y")
            wrong_pass = attrs.evolve(CREDENTIALS, passphrase="not-it")
            cases = [
                (placement(order, stranger), (401, "400003")),
                (placement(order, wrong_pass), (401, "400004")),
                (placement(order, timestamp_ms=1_547_015_186_532), (401, "400002")),
                (placement({**order, "price": "100.001"}), (400, "400100")),
                (placement({**order, "symbol": "NOPE-USDT"}), (400, "400100")),
                (placement(order), (200, "200000")),
                (placement(order), (400, "400100")),  # clientOid duplicated while active
            ]
            for request, expected in cases:
                assert await code(request) == expected, request.body
            anonymous = await http.get("/api/v1/accounts")
            assert (anonymous.status_code, anonymous.json()["code"]) == (401, "400001")

    run(scenario)
