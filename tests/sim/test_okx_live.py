"""The simulated OKX over real loopback sockets: arbcore's live client, its execution, faults.

``OKXDataClient`` subscribes to ``books``, syncs from the pushed snapshots and ends with the
engine's book, and recovers from a dropped connection, a sequence gap and a bad checksum (by
resubscribing, as OKX documents). ``OKXExecution`` places, reads, lists and cancels orders
and reads balances and fees; bad credentials, an unaffordable order and the other refusals
come back as OKX's codes and arbcore's errors.
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

from arbcore.errors import AuthenticationError, InsufficientFunds
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.okx import auth
from arbcore.exchanges.okx.data import OKXDataClient
from arbcore.exchanges.okx.execution import OKXExecution
from arbcore.exchanges.okx.providers import parse_instruments
from arbcore.exchanges.trading import prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore.net.ws import Backoff
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.protocol import compact
from arbcore.sim.venues.okx import app
from arbcore.testing.simwire import run, until
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

assert DEFAULT_ACCOUNT.passphrase is not None
CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret,
                          DEFAULT_ACCOUNT.passphrase)  # fmt: skip


@pytest.fixture
def okx(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("okx",))


@asynccontextmanager
async def running(config: SimConfig) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async with (
        Simulator(config, autostep=False) as sim,
        httpx.AsyncClient(base_url=sim.endpoints["okx"].rest_url) as http,
    ):
        yield sim, http


# -- market data ---------------------------------------------------------------------------------


@asynccontextmanager
async def client_of(sim: Simulator, http: httpx.AsyncClient) -> AsyncIterator[OKXDataClient]:
    body = (await http.get("/api/v5/public/instruments?instType=SPOT")).json()
    client = OKXDataClient(parse_instruments(body).instruments, ws_url=sim.endpoints["okx"].ws_url,
                           backoff=Backoff(initial_s=0.01, maximum_s=0.05))  # fmt: skip
    await client.add_symbols(sim.config.symbols)
    runner = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(runner, timeout=5)


def caught_up(sim: Simulator, client: OKXDataClient) -> bool:
    """Every book in sync at the engine's update id (the seqId of the last push)."""
    engines = sim.venues["okx"].engines
    return all(sync.in_sync and sync.book_id == engines[symbol].update_id
               for symbol, sync in client.syncs.items())  # fmt: skip


def assert_same_books(sim: Simulator, client: OKXDataClient) -> None:
    for symbol, sync in client.syncs.items():
        engine = sim.venues["okx"].engines[symbol]
        bids, bid_sizes, asks, ask_sizes = sync.book.top(1000)
        assert list(zip(bids.tolist(), bid_sizes.tolist(), strict=True)) == engine.levels(BID)
        assert list(zip(asks.tolist(), ask_sizes.tolist(), strict=True)) == engine.levels(ASK)


def test_okx_client_syncs_to_the_simulator_over_loopback(okx: SimConfig) -> None:
    async def scenario() -> None:
        async with running(okx) as (sim, http), client_of(sim, http) as client:
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            for _ in range(20):
                sim.step()
                await asyncio.sleep(0.005)
            await until(lambda: caught_up(sim, client))
            assert_same_books(sim, client)
            for sync in client.syncs.values():
                assert (sync.counters.gaps, sync.counters.checksum_failed) == (0, 0)
                assert sync.counters.checksum_ok > sync.counters.updates > 0
            assert client.connection.counters.connects == 1

    run(scenario)


def test_okx_client_recovers_from_a_drop_a_gap_and_a_bad_checksum(okx: SimConfig) -> None:
    async def scenario() -> None:
        async with running(okx) as (sim, http), client_of(sim, http) as client:
            syncs = client.syncs.values()
            await until(lambda: all(s.in_sync for s in syncs), sim.step)
            sim.faults.arm(Fault.DROP, "okx")
            await until(lambda: client.connection.counters.connects == 2, sim.step)
            # the reconnect threw every book away; its subscribe brings fresh snapshots
            await until(lambda: min(s.counters.resyncs for s in syncs) >= 1
                        and caught_up(sim, client))  # fmt: skip
            assert_same_books(sim, client)

            sim.faults.arm(Fault.GAP, "okx")
            await until(lambda: sum(s.counters.gaps for s in syncs) == 1, sim.step)
            await until(lambda: caught_up(sim, client), sim.step)
            assert client.counters.resubscribes == 1  # OKX's remedy: a new snapshot

            sim.faults.arm(Fault.CHECKSUM, "okx")
            await until(lambda: sum(s.counters.checksum_failed for s in syncs) == 1, sim.step)
            await until(lambda: caught_up(sim, client), sim.step)
            assert client.counters.resubscribes == 2
            assert_same_books(sim, client)
            assert sim.faults.injected == {
                ("okx", Fault.DROP): 1, ("okx", Fault.GAP): 1, ("okx", Fault.CHECKSUM): 1,
            }  # fmt: skip

    run(scenario)


def test_okx_answers_ping_and_closes_a_silent_connection(
    okx: SimConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "IDLE_TIMEOUT_S", 0.2)

    async def scenario() -> None:
        async with running(okx) as (sim, _), websockets.connect(sim.endpoints["okx"].ws_url) as ws:
            await ws.send("ping")
            assert await ws.recv() == "pong"
            await ws.send('{"op":"subscribe","args":[{"channel":"books","instId":"X-Y"}]}')
            error = json.loads(await ws.recv())
            assert (error["event"], error["code"]) == ("error", "60018")
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert 0.1 < time.monotonic() - started < 2

    run(scenario)


# -- trading -------------------------------------------------------------------------------------


def instrument(sim: Simulator, symbol: str) -> Instrument:
    return next(i for i in sim.venues["okx"].instruments if i.symbol == symbol)


@asynccontextmanager
async def trading(
    sim: Simulator, credentials: Credentials = CREDENTIALS
) -> AsyncIterator[OKXExecution]:
    execution = OKXExecution(credentials, sim.venues["okx"].instruments,
                             base_url=sim.endpoints["okx"].rest_url)  # fmt: skip
    try:
        await execution.sync_time()
        yield execution
    finally:
        await execution.aclose()


def test_okx_execution_trades_on_the_simulator(okx: SimConfig) -> None:
    async def scenario() -> None:
        async with running(okx) as (sim, _), trading(sim) as execution:
            btc = instrument(sim, "BTC/USDT")
            market = prepare_order(btc, OrderSide.BUY, to_raw("0.05", 5), type=OrderType.MARKET)
            placed = await execution.place_order(market)
            assert placed.status is OrderStatus.FILLED  # the ack, read back until final
            filled = await execution.fetch_order(btc, market.client_order_id)
            assert (filled.status, filled.filled_raw) == (OrderStatus.FILLED, market.size_raw)
            assert filled.venue_order_id == placed.venue_order_id

            engine = sim.venues["okx"].engines["BTC/USDT"]
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
            again = await execution.cancel_order(btc, limit.client_order_id)  # 51400: final
            assert again.status is OrderStatus.CANCELED
            assert await execution.fetch_fees(btc) == (0.0008, 0.001)

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


def test_okx_refusals_map_to_arbcore_errors(okx: SimConfig) -> None:
    async def scenario() -> None:
        async with running(okx) as (sim, _):
            eth = instrument(sim, "ETH/USDT")
            async with trading(sim) as execution:
                huge = prepare_order(eth, OrderSide.SELL, to_raw("500", 4), type=OrderType.MARKET)
                with pytest.raises(InsufficientFunds) as refused:
                    await execution.place_order(huge)
                assert refused.value.venue_code == "51008"
            wrong = [Credentials(CREDENTIALS.api_key, "wrong", CREDENTIALS.passphrase),
                     Credentials(CREDENTIALS.api_key, CREDENTIALS.secret, "wrong"),
                     Credentials("nobody", CREDENTIALS.secret, CREDENTIALS.passphrase)]  # fmt: skip
            for credentials, code in zip(wrong, ("50113", "50105", "50111"), strict=True):
                async with trading(sim, credentials) as execution:
                    with pytest.raises(AuthenticationError) as denied:
                        await execution.fetch_balances()
                    assert (denied.value.venue_code, denied.value.http_status) == (code, 401)
            assert sim.venues["okx"].engines["ETH/USDT"].open_orders("trader") == []

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


def test_okx_error_codes(okx: SimConfig) -> None:
    order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
             "px": "100", "sz": "0.01", "clOrdId": "dup1"}  # fmt: skip
    stale = int(time.time() * 1000) - 60_000

    async def scenario() -> None:
        async with running(okx) as (_, http):
            assert (await send(http, sign("POST", "/api/v5/trade/order", order)))[0] == 200
            cases = {  # top-level code, or a failed order's sCode
                "51016": sign("POST", "/api/v5/trade/order", order),
                "51121": sign("POST", "/api/v5/trade/order", {**order, "clOrdId": "a",
                                                              "sz": "0.000001"}),
                "51001": sign("POST", "/api/v5/trade/order", {**order, "instId": "NO-PE"}),
                "50014": sign("POST", "/api/v5/trade/order", {**order, "px": ""}),
                "51000": sign("POST", "/api/v5/trade/order", {**order, "tdMode": "cross"}),
                "50102": sign("POST", "/api/v5/trade/order", order, timestamp_ms=stale),
                "51603": sign("GET", "/api/v5/trade/order", instId="BTC-USDT", clOrdId="none"),
                "51400": sign("POST", "/api/v5/trade/cancel-order",
                              {"instId": "BTC-USDT", "clOrdId": "none"}),
            }  # fmt: skip
            for code, request in cases.items():
                status, body = await send(http, request)
                failed = body["code"] == "1"
                assert (body["data"][0]["sCode"] if failed else body["code"]) == code, body
                assert status == {"50014": 400, "51000": 400, "50102": 401}.get(code, 200)
            status, body = await send(http, sign("GET", "/api/v5/trade/order", instId="BTC-USDT",
                                                 clOrdId="dup1"))  # fmt: skip
            assert (body["data"][0]["state"], body["data"][0]["px"]) == ("live", "100")

    run(scenario)


def test_okx_throttle_outage_and_a_lost_placement_answer(okx: SimConfig) -> None:
    async def scenario() -> None:
        async with running(okx) as (sim, http):
            sim.faults.arm(Fault.RATE_LIMIT, "okx")
            limited = await http.get("/api/v5/market/books?instId=BTC-USDT")
            assert (limited.status_code, limited.json()["code"]) == (429, "50011")
            sim.faults.arm(Fault.SERVER_ERROR, "okx")
            down = await http.get("/api/v5/public/time")
            assert (down.status_code, down.json()["code"]) == (503, "50001")
            assert (await http.get("/api/v5/public/time")).status_code == 200

            btc = instrument(sim, "BTC/USDT")
            async with trading(sim) as execution:
                sim.faults.arm(Fault.SERVER_ERROR, "okx")  # placed, but the answer is lost
                order = prepare_order(btc, OrderSide.SELL, to_raw("0.02", 5),
                                      type=OrderType.MARKET)  # fmt: skip
                found = await execution.place_order(order)  # looked up, never sent twice
                assert (found.status, found.filled_raw) == (OrderStatus.FILLED, order.size_raw)
                engine = sim.venues["okx"].engines["BTC/USDT"]
                assert engine.order("trader", client_order_id=order.client_order_id) is not None
                held = {b.asset: b.free for b in await execution.fetch_balances()}
                assert held["BTC"] == pytest.approx(9.98)

    run(scenario)
