"""The simulated Binance over real loopback sockets: arbcore's live client, signed REST, faults.

The simulator runs in-process (uvicorn on 127.0.0.1, ephemeral ports) with the market stepped
by the test, so each check waits for exactly what it needs: arbcore's ``BinanceDataClient``
subscribes, syncs from REST snapshots and ends with the engine's book; signed orders sent with
httpx fill against the simulated liquidity and show in the account; bad signatures, stale
timestamps and broken filters get Binance's codes; a dropped connection and a sequence gap are
recovered from by the client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import attrs
import httpx

from arbcore.exchanges.binance import auth
from arbcore.exchanges.binance.data import BinanceDataClient
from arbcore.exchanges.binance.execution import BinanceExecution
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.trading import prepare_order
from arbcore.model import OrderSide, OrderStatus, OrderType
from arbcore.net.http import HttpRequest
from arbcore.net.ws import Backoff
from arbcore.sim import DEFAULT_ACCOUNT, AccountConfig, Fault, SimConfig, Simulator
from arbcore.testing.simwire import run, until
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sign(method: str, path: str, credentials: Credentials = CREDENTIALS,
         timestamp_ms: int | None = None, **params: Any) -> HttpRequest:  # fmt: skip
    """A request signed by arbcore's own Binance signer: POST parameters in the body."""
    pairs = tuple((key, str(value)) for key, value in params.items())
    if method == "POST":
        request = HttpRequest(method=method, path=path, body=urlencode(pairs))
    else:
        request = HttpRequest(method=method, path=path, params=pairs)
    return auth.sign(request, credentials, timestamp_ms=timestamp_ms)


async def send(http: httpx.AsyncClient, request: HttpRequest) -> httpx.Response:
    return await http.request(request.method, request.target, headers=list(request.headers),
                              content=request.body.encode() if request.body else None)  # fmt: skip


@asynccontextmanager
async def running(config: SimConfig) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async with Simulator(config, autostep=False) as sim:
        base = sim.endpoints["binance"].rest_url
        async with httpx.AsyncClient(base_url=base) as http:
            yield sim, http


# -- market data ---------------------------------------------------------------------------------


@asynccontextmanager
async def client_of(sim: Simulator, http: httpx.AsyncClient) -> AsyncIterator[BinanceDataClient]:
    instruments = parse_instruments((await http.get("/api/v3/exchangeInfo")).json()).instruments
    endpoint = sim.endpoints["binance"]
    async with httpx.AsyncClient(timeout=5.0) as snapshots:
        client = BinanceDataClient(
            instruments, ws_url=endpoint.ws_url, rest_url=endpoint.rest_url, http=snapshots,
            backoff=Backoff(initial_s=0.01, maximum_s=0.05),
        )  # fmt: skip
        await client.add_symbols(sim.config.symbols)
        runner = asyncio.create_task(client.run())
        try:
            yield client
        finally:
            await client.close()
            await asyncio.wait_for(runner, timeout=5)


def caught_up(sim: Simulator, client: BinanceDataClient) -> bool:
    """Every book in sync at the engine's update id (deltas are published, none in flight)."""
    venue = sim.venues["binance"]
    return all(
        sync.in_sync and sync.book_id == venue.engines[symbol].update_id
        for symbol, sync in client.syncs.items()
    )


def assert_same_books(sim: Simulator, client: BinanceDataClient) -> None:
    for symbol, sync in client.syncs.items():
        engine = sim.venues["binance"].engines[symbol]
        bids, bid_sizes, asks, ask_sizes = sync.book.top(1000)
        assert list(zip(bids.tolist(), bid_sizes.tolist(), strict=True)) == engine.levels(BID)
        assert list(zip(asks.tolist(), ask_sizes.tolist(), strict=True)) == engine.levels(ASK)


def test_binance_client_syncs_to_the_simulator_over_loopback(config: SimConfig) -> None:
    async def scenario() -> None:
        async with running(config) as (sim, http), client_of(sim, http) as client:
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            for _ in range(20):
                sim.step()
                await asyncio.sleep(0.005)
            await until(lambda: caught_up(sim, client))
            assert_same_books(sim, client)
            for sync in client.syncs.values():
                assert sync.counters.gaps == 0
                assert sync.counters.updates > 0
            assert client.connection.counters.connects == 1

    run(scenario)


def test_binance_client_recovers_from_a_dropped_connection_and_a_gap(config: SimConfig) -> None:
    async def scenario() -> None:
        async with running(config) as (sim, http), client_of(sim, http) as client:
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            sim.faults.arm(Fault.DROP, "binance")
            await until(lambda: client.connection.counters.connects == 2, sim.step)

            def resynced() -> bool:  # the reconnect threw every book away and fetched anew
                resyncs = [s.counters.resyncs for s in client.syncs.values()]
                return min(resyncs) >= 1 and caught_up(sim, client)

            await until(resynced)  # fresh snapshots: no step needed
            assert_same_books(sim, client)

            sim.faults.arm(Fault.GAP, "binance")
            await until(lambda: sum(s.counters.gaps for s in client.syncs.values()) == 1, sim.step)
            await until(lambda: caught_up(sim, client))
            assert_same_books(sim, client)
            assert client.counters.snapshot_requests >= 2 * len(client.syncs) + 1
            assert sim.faults.injected == {("binance", Fault.DROP): 1, ("binance", Fault.GAP): 1}

    run(scenario)


# -- trading -------------------------------------------------------------------------------------


async def post_order(http: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await send(http, sign("POST", "/api/v3/order", **params))


async def balances(http: httpx.AsyncClient) -> dict[str, tuple[str, str]]:
    answer = (await send(http, sign("GET", "/api/v3/account"))).json()
    return {b["asset"]: (b["free"], b["locked"]) for b in answer["balances"]}


def test_signed_market_order_fills_and_shows_in_the_account(config: SimConfig) -> None:
    async def scenario() -> None:
        async with running(config) as (_sim, http):
            before = await balances(http)
            answer = await post_order(http, symbol="BTCUSDT", side="BUY", type="MARKET",
                                      quantity="0.05", newClientOrderId="take-1")  # fmt: skip
            assert answer.status_code == 200, answer.text
            order = answer.json()
            assert order["status"] == "FILLED"
            assert order["executedQty"] == "0.05000000"
            assert order["clientOrderId"] == "take-1"
            fills = order["fills"]
            assert fills
            assert all(f["commissionAsset"] == "BTC" for f in fills)
            commission = sum(Decimal(f["commission"]) for f in fills)
            assert commission == Decimal("0.05") * Decimal("0.001")
            after = await balances(http)
            bought = Decimal(after["BTC"][0]) - Decimal(before["BTC"][0])
            assert bought == Decimal("0.05") - commission
            spent = Decimal(before["USDT"][0]) - Decimal(after["USDT"][0])
            assert spent == Decimal(order["cummulativeQuoteQty"])

            retry = await post_order(http, symbol="BTCUSDT", side="BUY", type="MARKET",
                                     quantity="0.05", newClientOrderId="take-1")  # fmt: skip
            assert retry.json()["orderId"] == order["orderId"]  # never a second order
            assert (await balances(http))["BTC"] == after["BTC"]

            query = sign("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="take-1")
            looked_up = (await send(http, query)).json()
            assert (looked_up["orderId"], looked_up["status"]) == (order["orderId"], "FILLED")

    run(scenario)


def test_resting_order_is_listed_locked_and_cancelled(config: SimConfig) -> None:
    async def scenario() -> None:
        async with running(config) as (sim, http):
            engine = sim.venues["binance"].engines["ETH/USDT"]
            best_bid = engine.best(BID)
            assert best_bid is not None
            price = engine.instrument.price_text(best_bid - 1000)  # 10 USDT below the bid
            answer = await post_order(http, symbol="ETHUSDT", side="BUY", type="LIMIT_MAKER",
                                      quantity="1", price=price)  # fmt: skip
            order = answer.json()
            assert set(order) == {"symbol", "orderId", "orderListId", "clientOrderId",
                                  "transactTime"}  # LIMIT_MAKER answers ACK by default  # fmt: skip
            listed = (await send(http, sign("GET", "/api/v3/openOrders"))).json()
            assert [o["orderId"] for o in listed] == [order["orderId"]]
            assert listed[0]["type"] == "LIMIT_MAKER"
            assert float((await balances(http))["USDT"][1]) == float(price)
            cancel = sign("DELETE", "/api/v3/order", symbol="ETHUSDT", orderId=order["orderId"])
            cancelled = (await send(http, cancel)).json()
            assert cancelled["status"] == "CANCELED"
            assert float((await balances(http))["USDT"][1]) == 0.0
            again = await send(http, cancel)  # the same request, once more
            assert (again.status_code, again.json()["code"]) == (400, -2011)

    run(scenario)


def test_binance_error_codes(config: SimConfig) -> None:
    async def scenario() -> None:
        async with running(config) as (sim, http):
            engine = sim.venues["binance"].engines["BTC/USDT"]
            ask = engine.instrument.price_text(engine.best(ASK) or 0)
            stale = int(time.time() * 1000) - 60_000
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
            cases = {
                -1022: sign("POST", "/api/v3/order", Credentials(CREDENTIALS.api_key, "wrong"),
                            **order),
                -1021: sign("POST", "/api/v3/order", timestamp_ms=stale, **order),
                -1013: sign("POST", "/api/v3/order", **{**order, "type": "LIMIT",
                            "timeInForce": "GTC", "price": "100.001"}),
                -2010: sign("POST", "/api/v3/order", **{**order, "side": "SELL",
                                                       "quantity": "1000"}),
                -1121: sign("POST", "/api/v3/order", **{**order, "symbol": "NOPE"}),
                -1102: sign("POST", "/api/v3/order", **{**order, "type": "LIMIT"}),
            }  # fmt: skip
            for code, request in cases.items():
                answer = await send(http, request)
                assert (answer.status_code, answer.json()["code"]) == (400, code), answer.text
            crossing = await post_order(http, symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER",
                                        quantity="0.01", price=ask)  # fmt: skip
            refusal = {"code": -2010, "msg": "Order would immediately match and take."}
            assert crossing.json() == refusal
            anonymous = await http.get("/api/v3/account", headers={"X-MBX-APIKEY": ""})
            assert anonymous.json()["code"] == -2014
            unknown = await send(http, sign("GET", "/api/v3/order", symbol="BTCUSDT", orderId=999))
            assert unknown.json()["code"] == -2013

    run(scenario)


def test_rate_limit_fault_answers_429_with_retry_after(config: SimConfig) -> None:
    async def scenario() -> None:
        async with running(config) as (sim, http):
            # ban_s=0: the request sent inside the Retry-After below is not banned (418)
            sim.faults.configure("binance", retry_after_s=3, ban_s=0)
            sim.faults.arm(Fault.RATE_LIMIT, "binance")
            limited = await http.get("/api/v3/depth?symbol=BTCUSDT")
            assert limited.status_code == 429
            assert limited.headers["Retry-After"] == "3"
            assert limited.json()["code"] == -1003
            assert (await http.get("/api/v3/depth?symbol=BTCUSDT")).status_code == 200

            sim.faults.arm(Fault.SERVER_ERROR, "binance")  # placed, but the answer is lost
            lost = await post_order(http, symbol="BTCUSDT", side="BUY", type="MARKET",
                                    quantity="0.01", newClientOrderId="lost-1")  # fmt: skip
            assert lost.status_code == 503
            retried = await post_order(http, symbol="BTCUSDT", side="BUY", type="MARKET",
                                       quantity="0.01", newClientOrderId="lost-1")  # fmt: skip
            assert retried.json()["status"] == "FILLED"
            assert len(sim.venues["binance"].engines["BTC/USDT"].open_orders("trader")) == 0

    run(scenario)


def test_documented_signature_passes_and_its_stale_timestamp_is_refused(
    config: SimConfig, shared_data: Path
) -> None:
    vector = json.loads((shared_data / "vectors/binance/signature.json").read_text())
    docs = AccountConfig(name="docs", api_key=vector["api_key"], secret=vector["secret"])
    config = attrs.evolve(config, accounts=(*config.accounts, docs))
    expected = vector["expected_signature"]
    tampered = ("0" if expected[0] != "0" else "1") + expected[1:]

    async def scenario() -> None:
        async with running(config) as (_, http):
            headers = {"X-MBX-APIKEY": vector["api_key"]}
            answers = [
                await http.post(f"/api/v3/order?{vector['payload']}&signature={signature}",
                                headers=headers)
                for signature in (expected, expected.upper(), tampered)
            ]  # fmt: skip
            # the 2017 timestamp is checked only once the signature has passed
            assert [a.json()["code"] for a in answers] == [-1021, -1021, -1022]

    run(scenario)


def test_arbcore_binance_execution_trades_on_the_simulator(config: SimConfig) -> None:
    async def scenario() -> None:
        async with running(config) as (sim, _):
            instruments = sim.venues["binance"].instruments
            execution = BinanceExecution(
                CREDENTIALS, instruments, base_url=sim.endpoints["binance"].rest_url
            )
            try:
                await execution.sync_time()
                eth_btc = next(i for i in instruments if i.symbol == "ETH/BTC")
                order = prepare_order(eth_btc, OrderSide.SELL, to_raw("0.5", 8),
                                      type=OrderType.MARKET)  # fmt: skip
                placed = await execution.place_order(order)
                assert placed.status is OrderStatus.FILLED
                assert placed.filled_raw == to_raw("0.5", 8)
                fetched = await execution.fetch_order(eth_btc, order.client_order_id)
                assert fetched.venue_order_id == placed.venue_order_id
                held = {b.asset: b.free for b in await execution.fetch_balances()}
                assert held["ETH"] == 199.5
            finally:
                await execution.aclose()

    run(scenario)
