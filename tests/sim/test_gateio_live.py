"""The simulated Gate.io over real loopback sockets: arbcore's live clients, signed REST, faults.

The simulator runs in-process (uvicorn on 127.0.0.1, ephemeral ports) with the market stepped by
the test. ``GateioDataClient`` subscribes to ``spot.order_book_update``, syncs from REST
snapshots by U/u and ends with the engine's book, and recovers from a dropped connection and a
gap; ``GateioExecution`` trades, reads back and cancels, and a placement whose answer was lost
is found, not placed twice (Gate would take a repeated ``text``); the WebSocket answers
subscriptions, ``spot.ping`` and bad requests as Gate does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import pytest
import websockets
from test_kucoin_live import assert_same_books, caught_up

from arbcore.errors import AuthenticationError, InsufficientFunds, InvalidOrder
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.gateio import auth
from arbcore.exchanges.gateio.data import GateioDataClient
from arbcore.exchanges.gateio.execution import GateioExecution
from arbcore.exchanges.gateio.providers import parse_instruments
from arbcore.exchanges.trading import prepare_order
from arbcore.model import OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore.net.ws import Backoff
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.testing.simwire import run, until
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)
PAIRS = "/api/v4/spot/currency_pairs"


@pytest.fixture
def gateio(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("gateio",))


@asynccontextmanager
async def running(config: SimConfig) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async with (
        Simulator(config, autostep=False) as sim,
        httpx.AsyncClient(base_url=sim.endpoints["gateio"].rest_url) as http,
    ):
        yield sim, http


def engine_id(sim: Simulator) -> Any:
    return lambda symbol: sim.venues["gateio"].engines[symbol].update_id


# -- market data ----------------------------------------------------------------------------------


@asynccontextmanager
async def client_of(sim: Simulator, http: httpx.AsyncClient) -> AsyncIterator[GateioDataClient]:
    instruments = parse_instruments((await http.get(PAIRS)).json()).instruments
    endpoint = sim.endpoints["gateio"]
    async with httpx.AsyncClient(timeout=5.0) as rest:
        client = GateioDataClient(
            instruments, ws_url=endpoint.ws_url, rest_url=endpoint.rest_url + "/api/v4",
            http=rest, backoff=Backoff(initial_s=0.01, maximum_s=0.05),
        )  # fmt: skip
        await client.add_symbols(sim.config.symbols)
        runner = asyncio.create_task(client.run())
        try:
            yield client
        finally:
            await client.close()
            await asyncio.wait_for(runner, timeout=5)


def test_gateio_client_syncs_to_the_simulator_over_loopback(gateio: SimConfig) -> None:
    async def scenario() -> None:
        async with running(gateio) as (sim, http), client_of(sim, http) as client:
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            for _ in range(20):
                sim.step()
                await asyncio.sleep(0.005)
            await until(lambda: caught_up(sim, client, engine_id(sim)))
            assert_same_books(sim, "gateio", client)
            for sync in client.syncs.values():
                assert (sync.counters.gaps, sync.counters.resyncs) == (0, 0)
                assert sync.counters.updates > 0
            assert client.connection.counters.connects == 1

    run(scenario)


def test_gateio_client_recovers_from_a_dropped_connection_and_a_gap(gateio: SimConfig) -> None:
    async def scenario() -> None:
        async with running(gateio) as (sim, http), client_of(sim, http) as client:
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            sim.faults.arm(Fault.DROP, "gateio")
            await until(lambda: client.connection.counters.connects == 2, sim.step)

            def resynced() -> bool:
                resyncs = [s.counters.resyncs for s in client.syncs.values()]
                return min(resyncs) >= 1 and caught_up(sim, client, engine_id(sim))

            await until(resynced, sim.step)
            assert_same_books(sim, "gateio", client)

            sim.faults.arm(Fault.GAP, "gateio")
            await until(lambda: sum(s.counters.gaps for s in client.syncs.values()) == 1, sim.step)
            await until(lambda: caught_up(sim, client, engine_id(sim)), sim.step)
            assert_same_books(sim, "gateio", client)
            assert sim.faults.injected == {("gateio", Fault.DROP): 1, ("gateio", Fault.GAP): 1}

    run(scenario)


async def _frames(socket: websockets.ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(socket.recv(), 5)) for _ in range(count)]


def test_gateio_websocket_subscriptions_pings_and_refusals(gateio: SimConfig) -> None:
    async def scenario() -> None:
        async with (
            running(gateio) as (sim, _),
            websockets.connect(sim.endpoints["gateio"].ws_url) as socket,
        ):
            requests: list[Any] = [
                {"time": 1, "id": 7, "channel": "spot.order_book_update",
                 "event": "subscribe", "payload": ["ETH_BTC", "100ms"]},
                {"time": 1, "channel": "spot.ping"},
                {"time": 1, "channel": "spot.order_book_update", "event": "subscribe",
                 "payload": ["NOPE_USDT", "100ms"]},
                {"time": 1, "channel": "spot.order_book_update", "event": "subscribe",
                 "payload": ["ETH_BTC", "5ms"]},
                {"time": 1, "channel": "spot.candlesticks", "event": "subscribe",
                 "payload": ["1m", "ETH_BTC"]},
                "not an object",
            ]  # fmt: skip
            for request in requests:
                await socket.send(json.dumps(request))
            ack, pong, *refused = await _frames(socket, len(requests))
            assert (ack["id"], ack["event"]) == (7, "subscribe")
            assert ack["result"] == {"status": "success"}
            assert (pong["channel"], pong["result"]) == ("spot.pong", None)
            assert [r["error"]["code"] for r in refused] == [2, 2, 2, 1]
            sim.step()
            (update,) = await _frames(socket, 1)
            assert update["channel"] == "spot.order_book_update"
            assert update["result"]["s"] == "ETH_BTC"
            unsubscribe = {**requests[0], "event": "unsubscribe"}
            await socket.send(json.dumps(unsubscribe))
            assert (await _frames(socket, 1))[0]["event"] == "unsubscribe"

    run(scenario)


# -- trading --------------------------------------------------------------------------------------


def execution_of(sim: Simulator, credentials: Credentials = CREDENTIALS) -> GateioExecution:
    return GateioExecution(
        credentials, sim.venues["gateio"].instruments, base_url=sim.endpoints["gateio"].rest_url
    )


def test_arbcore_gateio_execution_trades_on_the_simulator(gateio: SimConfig) -> None:
    async def scenario() -> None:
        async with running(gateio) as (sim, _):
            venue = sim.venues["gateio"]
            instruments = {i.symbol: i for i in venue.instruments}
            execution = execution_of(sim)
            try:
                await execution.sync_time()
                btc_usdt, eth_usdt = instruments["BTC/USDT"], instruments["ETH/USDT"]
                best_ask = venue.engines["BTC/USDT"].best(ASK)
                assert best_ask is not None
                market = prepare_order(btc_usdt, OrderSide.SELL, to_raw("0.05", 5),
                                       type=OrderType.MARKET)  # fmt: skip
                placed = await execution.place_order(market)
                assert (placed.status, placed.filled_raw) == (OrderStatus.FILLED, 5_000)
                buy = prepare_order(btc_usdt, OrderSide.BUY, to_raw("0.05", 5),
                                    price_raw=best_ask + 10_000, type=OrderType.MARKET)  # fmt: skip
                bought = await execution.place_order(buy)  # 0.05 at up to 100 USDT above
                assert bought.status is OrderStatus.FILLED
                assert bought.filled_raw >= 5_000  # Gate spends the quote: more at better prices
                fetched = await execution.fetch_order(btc_usdt, buy.client_order_id)
                assert (fetched.venue_order_id, fetched.filled_raw) == (
                    bought.venue_order_id, bought.filled_raw
                )  # fmt: skip

                best_bid = venue.engines["ETH/USDT"].best(BID)
                assert best_bid is not None
                limit = prepare_order(eth_usdt, OrderSide.BUY, to_raw("1", 4),
                                      price_raw=best_bid - 1_000)  # fmt: skip
                assert (await execution.place_order(limit)).status is OrderStatus.OPEN
                listed = await execution.fetch_open_orders()
                assert [o.client_order_id for o in listed] == [limit.client_order_id]
                held = {b.asset: b for b in await execution.fetch_balances()}
                assert held["USDT"].locked == float(eth_usdt.price_text(best_bid - 1_000))

                cancelled = await execution.cancel_order(eth_usdt, limit.client_order_id)
                assert cancelled.status is OrderStatus.CANCELED
                assert await execution.fetch_open_orders(eth_usdt) == []
                again = await execution.cancel_order(eth_usdt, limit.client_order_id)
                assert again.status is OrderStatus.CANCELED  # already done: read back
                held = {b.asset: b for b in await execution.fetch_balances()}
                assert held["USDT"].locked == 0.0
                assert await execution.fetch_fees(btc_usdt) == (0.002, 0.002)

                maker = prepare_order(eth_usdt, OrderSide.SELL, to_raw("1", 4), price_raw=best_bid,
                                      time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
                with pytest.raises(InvalidOrder) as would_take:
                    await execution.place_order(maker)
                assert would_take.value.venue_code == "POC_FILL_IMMEDIATELY"
            finally:
                await execution.aclose()

    run(scenario)


def test_lost_placement_answer_is_looked_up_not_placed_twice(gateio: SimConfig) -> None:
    async def scenario() -> None:
        async with running(gateio) as (sim, _):
            eth_btc = next(i for i in sim.venues["gateio"].instruments if i.symbol == "ETH/BTC")
            execution = execution_of(sim)
            try:
                sim.faults.arm(Fault.SERVER_ERROR, "gateio")  # placed, but the answer is lost
                order = prepare_order(eth_btc, OrderSide.SELL, to_raw("0.5", 4),
                                      type=OrderType.MARKET)  # fmt: skip
                placed = await execution.place_order(order)
                assert (placed.status, placed.filled_raw) == (OrderStatus.FILLED, 5_000)
            finally:
                await execution.aclose()
            assert sim.faults.injected == {("gateio", Fault.SERVER_ERROR): 1}
            eth = sim.venues["gateio"].ledger.balance("trader", "ETH")
            assert eth.free == to_raw("199.5", eth.decimals)  # sold once

    run(scenario)


def test_gateio_refusals_map_to_arbcore_errors(gateio: SimConfig) -> None:
    async def scenario() -> None:
        async with running(gateio) as (sim, http):
            btc_usdt = next(i for i in sim.venues["gateio"].instruments if i.symbol == "BTC/USDT")
            forged = execution_of(sim, Credentials(CREDENTIALS.api_key, "wrong"))
            poor = execution_of(sim)
            try:
                with pytest.raises(AuthenticationError) as refused:
                    await forged.fetch_balances()
                assert (refused.value.http_status, refused.value.venue_code) == (
                    401, "INVALID_SIGNATURE"
                )  # fmt: skip
                too_much = prepare_order(btc_usdt, OrderSide.SELL, to_raw("11", 5),
                                         type=OrderType.MARKET)  # fmt: skip
                with pytest.raises(InsufficientFunds) as poor_error:
                    await poor.place_order(too_much)
                assert poor_error.value.venue_code == "BALANCE_NOT_ENOUGH"
            finally:
                await forged.aclose()
                await poor.aclose()

            def placement(fields: dict[str, str], credentials: Credentials = CREDENTIALS,
                          timestamp_ms: int | None = None) -> HttpRequest:  # fmt: skip
                request = HttpRequest(method="POST", path="/api/v4/spot/orders",
                                      body=json.dumps(fields, separators=(",", ":")),
                                      headers=(("Content-Type", "application/json"),))  # fmt: skip
                return auth.sign(request, credentials, timestamp_ms=timestamp_ms)

            async def label(request: HttpRequest) -> tuple[int, str | None]:
                answer = await http.request(request.method, request.target,
                                            headers=list(request.headers),
                                            content=request.body.encode())  # fmt: skip
                return answer.status_code, answer.json().get("label")

            order = {"text": "t-abc", "currency_pair": "BTC_USDT", "type": "limit",
                     "side": "buy", "amount": "0.1", "price": "100"}  # fmt: skip
            cases = [
                (placement(order, Credentials("nobody", "x")), (401, "INVALID_KEY")),
                (placement(order, timestamp_ms=1_541_993_715_000), (401, "REQUEST_EXPIRED")),
                (placement({**order, "text": "abc"}), (400, "INVALID_PARAM_VALUE")),
                (placement({**order, "price": "100.001"}), (400, "INVALID_PRECISION")),
                (placement({**order, "amount": "0.01"}), (400, "AMOUNT_TOO_LITTLE")),
                (placement({**order, "currency_pair": "NOPE_USDT"}),
                 (400, "INVALID_CURRENCY_PAIR")),
                (placement({k: v for k, v in order.items() if k != "amount"}),
                 (400, "MISSING_REQUIRED_PARAM")),
                (placement(order), (201, None)),
                (placement(order), (201, None)),  # Gate takes a repeated text: a second order
            ]  # fmt: skip
            for request, expected in cases:
                assert await label(request) == expected, request.body
            assert len(sim.venues["gateio"].engines["BTC/USDT"].open_orders("trader")) == 2
            anonymous = await http.get("/api/v4/spot/accounts")
            assert (anonymous.status_code, anonymous.json()["label"]) == (
                401, "MISSING_REQUIRED_HEADER"
            )  # fmt: skip
            lookup = HttpRequest(method="GET", path="/api/v4/spot/orders/t-nope",
                                 params=(("currency_pair", "BTC_USDT"),))  # fmt: skip
            assert await label(auth.sign(lookup, CREDENTIALS)) == (404, "ORDER_NOT_FOUND")

    run(scenario)
