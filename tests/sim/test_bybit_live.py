"""The simulated Bybit over real loopback sockets: arbcore's live client, its execution, faults.

``BybitDataClient`` subscribes to ``orderbook.50``, syncs from the pushed snapshots and ends
with the engine's book, and recovers from a dropped connection and a sequence gap (by
resubscribing). ``BybitExecution`` places, reads, lists and cancels orders and reads balances
and fees; a bad signature, an unaffordable order and the other refusals come back as Bybit's
``retCode`` and arbcore's errors.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import pytest
import websockets

from arbcore.errors import AuthenticationError, InsufficientFunds, RateLimitExceeded
from arbcore.exchanges.bybit import auth
from arbcore.exchanges.bybit.data import BybitDataClient
from arbcore.exchanges.bybit.execution import BybitExecution
from arbcore.exchanges.bybit.providers import parse_instruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.trading import prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpRequest, RetryPolicy
from arbcore.net.ws import Backoff
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.protocol import compact
from arbcore.sim.venues.bybit import BybitServer
from arbcore.testing.simwire import run, until
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)


@pytest.fixture
def bybit(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("bybit",))


@asynccontextmanager
async def running(config: SimConfig) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async with (
        Simulator(config, autostep=False) as sim,
        httpx.AsyncClient(base_url=sim.endpoints["bybit"].rest_url) as http,
    ):
        yield sim, http


# -- market data ---------------------------------------------------------------------------------


@asynccontextmanager
async def client_of(sim: Simulator, http: httpx.AsyncClient) -> AsyncIterator[BybitDataClient]:
    body = (await http.get("/v5/market/instruments-info?category=spot")).json()
    client = BybitDataClient(parse_instruments(body).instruments,
                             ws_url=sim.endpoints["bybit"].ws_url,
                             backoff=Backoff(initial_s=0.01, maximum_s=0.05))  # fmt: skip
    await client.add_symbols(sim.config.symbols)
    runner = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(runner, timeout=5)


def caught_up(sim: Simulator, client: BybitDataClient) -> bool:
    """Every book in sync with the engine's (the last delta published, none in flight)."""
    engines = sim.venues["bybit"].engines
    return all(
        sync.in_sync
        and sync.book.best_bid() == engines[symbol].best(BID)
        and sync.book.best_ask() == engines[symbol].best(ASK)
        for symbol, sync in client.syncs.items()
    )


def assert_same_books(sim: Simulator, client: BybitDataClient) -> None:
    for symbol, sync in client.syncs.items():
        engine = sim.venues["bybit"].engines[symbol]
        bids, bid_sizes, asks, ask_sizes = sync.book.top(1000)
        assert list(zip(bids.tolist(), bid_sizes.tolist(), strict=True)) == engine.levels(BID)
        assert list(zip(asks.tolist(), ask_sizes.tolist(), strict=True)) == engine.levels(ASK)


async def settle(sim: Simulator, client: BybitDataClient) -> None:
    """Until the client has every published delta (its ``u`` is the stream's)."""
    server = sim.servers["bybit"]
    assert isinstance(server, BybitServer)
    topics = server.topics
    await until(lambda: all(s.in_sync and s.book_id == topics[symbol][50].update_id
                            for symbol, s in client.syncs.items()))  # fmt: skip


def test_bybit_client_syncs_to_the_simulator_over_loopback(bybit: SimConfig) -> None:
    async def scenario() -> None:
        async with running(bybit) as (sim, http), client_of(sim, http) as client:
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            for _ in range(20):
                sim.step()
                await asyncio.sleep(0.005)
            await settle(sim, client)
            assert caught_up(sim, client)
            assert_same_books(sim, client)
            for sync in client.syncs.values():
                assert (sync.counters.gaps, sync.counters.snapshots) == (0, 1)
                assert sync.counters.updates > 0
            assert client.connection.counters.connects == 1

    run(scenario)


def test_bybit_client_recovers_from_a_dropped_connection_and_a_gap(bybit: SimConfig) -> None:
    async def scenario() -> None:
        async with running(bybit) as (sim, http), client_of(sim, http) as client:
            syncs = client.syncs.values()
            await until(lambda: all(s.in_sync for s in syncs), sim.step)
            sim.faults.arm(Fault.DROP, "bybit")
            await until(lambda: client.connection.counters.connects == 2, sim.step)
            # the reconnect threw every book away; its subscribe brings fresh snapshots
            await until(lambda: min(s.counters.resyncs for s in syncs) >= 1
                        and all(s.in_sync for s in syncs))  # fmt: skip
            await settle(sim, client)
            assert_same_books(sim, client)

            sim.faults.arm(Fault.GAP, "bybit")
            await until(lambda: sum(s.counters.gaps for s in syncs) == 1, sim.step)
            await until(lambda: all(s.in_sync for s in syncs), sim.step)
            await settle(sim, client)
            assert_same_books(sim, client)
            assert client.counters.resubscribes == 1  # Bybit's remedy: a new snapshot
            assert sim.faults.injected == {("bybit", Fault.DROP): 1, ("bybit", Fault.GAP): 1}

    run(scenario)


def test_bybit_answers_ping_and_refuses_unknown_topics(bybit: SimConfig) -> None:
    async def scenario() -> None:
        async with (
            running(bybit) as (sim, _),
            websockets.connect(sim.endpoints["bybit"].ws_url) as ws,
        ):
            await ws.send('{"req_id":"100001","op":"ping"}')
            pong = json.loads(await ws.recv())
            assert (pong["success"], pong["ret_msg"], pong["op"]) == (True, "pong", "ping")
            await ws.send('{"req_id":"2","op":"subscribe","args":["orderbook.5.BTCUSDT"]}')
            refused = json.loads(await ws.recv())
            assert (refused["success"], refused["req_id"]) == (False, "2")
            many = [f"orderbook.50.{s}" for s in ("BTCUSDT", "ETHUSDT", "ETHBTC")] * 4
            await ws.send(json.dumps({"op": "subscribe", "args": many}))
            assert json.loads(await ws.recv())["success"] is False  # more than 10 args

    run(scenario)


# -- trading -------------------------------------------------------------------------------------


def instrument(sim: Simulator, symbol: str) -> Instrument:
    return next(i for i in sim.venues["bybit"].instruments if i.symbol == symbol)


@asynccontextmanager
async def trading(
    sim: Simulator, credentials: Credentials = CREDENTIALS, retry: RetryPolicy | None = None
) -> AsyncIterator[BybitExecution]:
    execution = BybitExecution(credentials, sim.venues["bybit"].instruments,
                               base_url=sim.endpoints["bybit"].rest_url, retry=retry)  # fmt: skip
    try:
        await execution.sync_time()
        yield execution
    finally:
        await execution.aclose()


def test_bybit_execution_trades_on_the_simulator(bybit: SimConfig) -> None:
    async def scenario() -> None:
        async with running(bybit) as (sim, _), trading(sim) as execution:
            btc = instrument(sim, "BTC/USDT")
            market = prepare_order(btc, OrderSide.BUY, to_raw("0.05", 5), type=OrderType.MARKET)
            placed = await execution.place_order(market)
            assert placed.status is OrderStatus.FILLED  # the ack, read back until final
            filled = await execution.fetch_order(btc, market.client_order_id)
            assert (filled.status, filled.filled_raw) == (OrderStatus.FILLED, market.size_raw)
            assert filled.venue_order_id == placed.venue_order_id

            engine = sim.venues["bybit"].engines["BTC/USDT"]
            bid = engine.best(BID)
            assert bid is not None
            limit = prepare_order(btc, OrderSide.BUY, to_raw("0.01", 5), price_raw=bid - 1000)
            await execution.place_order(limit)
            resting = await execution.fetch_order(btc, limit.client_order_id)
            assert (resting.status, resting.price_raw) == (OrderStatus.OPEN, bid - 1000)
            assert [o.client_order_id for o in await execution.fetch_open_orders()] == [
                limit.client_order_id]  # fmt: skip
            held = {b.asset: b for b in await execution.fetch_balances()}
            assert held["USDT"].locked == pytest.approx(float(btc.price_text(bid - 1000)) * 0.01)
            assert held["BTC"].free == pytest.approx(10.05 - 0.05 * 0.001)  # fee in BTC
            cancelled = await execution.cancel_order(btc, limit.client_order_id)
            assert cancelled.status is OrderStatus.CANCELED
            assert await execution.fetch_open_orders(btc) == []
            again = await execution.cancel_order(btc, limit.client_order_id)  # 170213: final
            assert again.status is OrderStatus.CANCELED
            assert await execution.fetch_fees(btc) == (0.001, 0.001)

            ask = engine.best(ASK)
            assert ask is not None
            maker = prepare_order(btc, OrderSide.BUY, to_raw("0.01", 5), price_raw=ask,
                                  time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
            await execution.place_order(maker)  # accepted, then cancelled: it would take
            voided = await execution.fetch_order(btc, maker.client_order_id)
            assert (voided.status, voided.filled_raw) == (OrderStatus.CANCELED, 0)
            assert voided.time_in_force is TimeInForce.POST_ONLY
            assert engine.best(ASK) == ask

    run(scenario)


def test_bybit_refusals_map_to_arbcore_errors(bybit: SimConfig) -> None:
    async def scenario() -> None:
        async with running(bybit) as (sim, _):
            eth = instrument(sim, "ETH/USDT")
            async with trading(sim) as execution:
                huge = prepare_order(eth, OrderSide.SELL, to_raw("500", 4), type=OrderType.MARKET)
                with pytest.raises(InsufficientFunds) as refused:
                    await execution.place_order(huge)
                assert refused.value.venue_code == 170131
            wrong = [Credentials(CREDENTIALS.api_key, "wrong"),
                     Credentials("nobody", CREDENTIALS.secret)]  # fmt: skip
            for credentials, code, status in zip(wrong, (10004, 10003), (200, 401), strict=True):
                async with trading(sim, credentials) as execution:
                    with pytest.raises(AuthenticationError) as denied:
                        await execution.fetch_balances()
                    assert (denied.value.venue_code, denied.value.http_status) == (code, status)
            assert sim.venues["bybit"].engines["ETH/USDT"].open_orders("trader") == []

    run(scenario)


def sign(method: str, path: str, body: dict[str, Any] | None = None,
         timestamp_ms: int | None = None, **params: str) -> HttpRequest:  # fmt: skip
    request = HttpRequest(method=method, path=path, params=tuple(params.items()),
                          body=compact(body) if body is not None else "")  # fmt: skip
    return auth.sign(request, CREDENTIALS, timestamp_ms=timestamp_ms)


async def send(http: httpx.AsyncClient, request: HttpRequest) -> tuple[int, Any]:
    answer = await http.request(request.method, request.target, headers=list(request.headers),
                                content=request.body.encode() or None)  # fmt: skip
    return answer.status_code, answer.json()


def test_bybit_error_codes(bybit: SimConfig) -> None:
    order = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
             "qty": "0.1", "price": "100", "timeInForce": "GTC",
             "orderLinkId": "dup-1"}  # fmt: skip
    stale = int(time.time() * 1000) - 60_000

    async def scenario() -> None:
        async with running(bybit) as (_, http):
            assert (await send(http, sign("POST", "/v5/order/create", order)))[1]["retCode"] == 0
            create = "/v5/order/create"
            cases = {
                170141: sign("POST", create, order),
                170137: sign("POST", create, {**order, "orderLinkId": "a", "qty": "0.000001"}),
                170136: sign("POST", create, {**order, "orderLinkId": "b", "qty": "0.00000"}),
                170140: sign("POST", create, {**order, "orderLinkId": "c", "qty": "0.00001"}),
                170134: sign("POST", create, {**order, "orderLinkId": "d", "price": "100.001"}),
                170121: sign("POST", create, {**order, "symbol": "NOPE"}),
                170130: sign("POST", create, {**order, "orderType": "Market", "qty": "5"}),
                10002: sign("POST", create, order, timestamp_ms=stale),
                10001: sign("GET", "/v5/account/wallet-balance", accountType="SPOT"),
                170213: sign("POST", "/v5/order/cancel", {"category": "spot",
                                                          "symbol": "BTCUSDT", "orderId": "9"}),
            }  # fmt: skip
            for code, request in cases.items():
                status, body = await send(http, request)
                assert (status, body["retCode"]) == (200, code), body
            _, found = await send(http, sign("GET", "/v5/order/realtime", category="spot",
                                             orderLinkId="dup-1"))  # fmt: skip
            entry = found["result"]["list"][0]
            shown = (entry["orderStatus"], entry["price"], entry["leavesQty"])
            assert shown == ("New", "100", "0.1")

    run(scenario)


def test_bybit_throttle_outage_and_a_lost_placement_answer(bybit: SimConfig) -> None:
    async def scenario() -> None:
        async with running(bybit) as (sim, http):
            btc = instrument(sim, "BTC/USDT")
            async with trading(sim, retry=RetryPolicy(attempts=1)) as execution:
                sim.faults.configure("bybit", retry_after_s=7)
                sim.faults.arm(Fault.RATE_LIMIT, "bybit")
                with pytest.raises(RateLimitExceeded) as throttled:
                    await execution.fetch_fees(btc)
                assert throttled.value.venue_code == 10006
                assert throttled.value.retry_after == pytest.approx(7, abs=0.05)
        async with running(bybit) as (sim, http):
            sim.faults.arm(Fault.SERVER_ERROR, "bybit")
            down = (await http.get("/v5/market/time")).json()
            assert down["retCode"] == 10016
            btc = instrument(sim, "BTC/USDT")
            async with trading(sim) as execution:
                sim.faults.arm(Fault.SERVER_ERROR, "bybit")  # placed, but the answer is lost
                order = prepare_order(btc, OrderSide.SELL, to_raw("0.02", 5),
                                      type=OrderType.MARKET)  # fmt: skip
                found = await execution.place_order(order)  # looked up, never sent twice
                assert (found.status, found.filled_raw) == (OrderStatus.FILLED, order.size_raw)
                held = {b.asset: b.free for b in await execution.fetch_balances()}
                assert held["BTC"] == pytest.approx(9.98)
                assert sim.faults.injected[("bybit", Fault.SERVER_ERROR)] == 2

    run(scenario)
