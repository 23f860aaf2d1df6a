"""The simulated HTX over real loopback sockets: arbcore's live clients, signed REST, faults.

``HTXDataClient`` subscribes to ``mbp.150`` on ``/feed`` (gzip frames, server pings answered),
syncs from ``req`` images by the prevSeqNum chain and ends with the engine's book, and recovers
from a dropped connection and a gap; ``HtxExecution`` trades, reads back, lists, cancels and
reads balances and fees; a forged signature and an order the balance cannot pay map to
arbcore's errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import httpx
import pytest
from test_kucoin_live import assert_same_books, caught_up

from arbcore.errors import AuthenticationError, InsufficientFunds
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.htx.data import HTXDataClient
from arbcore.exchanges.htx.execution import HtxExecution
from arbcore.exchanges.htx.providers import parse_instruments
from arbcore.exchanges.trading import prepare_order
from arbcore.model import OrderSide, OrderStatus, OrderType
from arbcore.net.ws import Backoff
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.venues.htx import HTXServer
from arbcore.testing.simwire import run, until
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)


@pytest.fixture
def htx(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("htx",))


@asynccontextmanager
async def running(config: SimConfig) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async with (
        Simulator(config, autostep=False) as sim,
        httpx.AsyncClient(base_url=sim.endpoints["htx"].rest_url) as http,
    ):
        yield sim, http


def book_id(sim: Simulator) -> object:
    server = sim.servers["htx"]
    assert isinstance(server, HTXServer)
    return lambda symbol: server.views[symbol, 150].seq


@asynccontextmanager
async def client_of(sim: Simulator, http: httpx.AsyncClient) -> AsyncIterator[HTXDataClient]:
    instruments = parse_instruments((await http.get("/v1/common/symbols")).json()).instruments
    client = HTXDataClient(instruments, ws_url=sim.endpoints["htx"].ws_url,
                           backoff=Backoff(initial_s=0.01, maximum_s=0.05))  # fmt: skip
    await client.add_symbols(sim.config.symbols)
    runner = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(runner, timeout=5)


def test_htx_client_syncs_and_recovers_from_a_drop_and_a_gap(htx: SimConfig) -> None:
    async def scenario() -> None:
        async with running(htx) as (sim, http), client_of(sim, http) as client:
            ids = book_id(sim)
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            for _ in range(10):
                sim.step()
                await asyncio.sleep(0.005)
            await until(lambda: caught_up(sim, client, ids))  # type: ignore[arg-type]
            assert_same_books(sim, "htx", client)
            for sync in client.syncs.values():
                assert (sync.counters.gaps, sync.counters.resyncs) == (0, 0)
                assert sync.counters.updates > 0

            sim.faults.arm(Fault.DROP, "htx")
            await until(lambda: client.connection.counters.connects == 2, sim.step)

            def resynced() -> bool:
                resyncs = [s.counters.resyncs for s in client.syncs.values()]
                return min(resyncs) >= 1 and caught_up(sim, client, ids)  # type: ignore[arg-type]

            await until(resynced, sim.step)
            assert_same_books(sim, "htx", client)
            sim.faults.arm(Fault.GAP, "htx")
            await until(lambda: sum(s.counters.gaps for s in client.syncs.values()) == 1, sim.step)
            await until(lambda: caught_up(sim, client, ids), sim.step)  # type: ignore[arg-type]
            assert_same_books(sim, "htx", client)
            assert sim.faults.injected == {("htx", Fault.DROP): 1, ("htx", Fault.GAP): 1}

    run(scenario)


def execution_of(sim: Simulator, credentials: Credentials = CREDENTIALS) -> HtxExecution:
    return HtxExecution(credentials, sim.venues["htx"].instruments,
                        base_url=sim.endpoints["htx"].rest_url)  # fmt: skip


def test_arbcore_htx_execution_trades_on_the_simulator(htx: SimConfig) -> None:
    async def scenario() -> None:
        async with running(htx) as (sim, _):
            venue = sim.venues["htx"]
            instruments = {i.symbol: i for i in venue.instruments}
            execution = execution_of(sim)
            try:
                await execution.sync_time()
                btc_usdt, eth_usdt = instruments["BTC/USDT"], instruments["ETH/USDT"]
                sd = btc_usdt.size_decimals
                market = prepare_order(btc_usdt, OrderSide.SELL, to_raw("0.05", sd),
                                       type=OrderType.MARKET)  # fmt: skip
                placed = await execution.place_order(market)
                fetched = await execution.fetch_order(btc_usdt, market.client_order_id)
                assert (fetched.status, fetched.filled_raw) == (OrderStatus.FILLED,
                                                                to_raw("0.05", sd))  # fmt: skip
                assert fetched.venue_order_id == placed.venue_order_id
                best_ask = venue.engines["BTC/USDT"].best(ASK)
                assert best_ask is not None
                buy = prepare_order(btc_usdt, OrderSide.BUY, to_raw("0.05", sd),
                                    price_raw=best_ask + 10_000, type=OrderType.MARKET)  # fmt: skip
                await execution.place_order(buy)
                bought = await execution.fetch_order(btc_usdt, buy.client_order_id)
                assert bought.status is OrderStatus.FILLED
                assert bought.filled_raw >= to_raw("0.05", sd)  # HTX spends the quote

                best_bid = venue.engines["ETH/USDT"].best(BID)
                assert best_bid is not None
                limit = prepare_order(eth_usdt, OrderSide.BUY, to_raw("1", eth_usdt.size_decimals),
                                      price_raw=best_bid - 1_000)  # fmt: skip
                await execution.place_order(limit)
                listed = await execution.fetch_open_orders()
                assert [(o.client_order_id, o.status) for o in listed] == [
                    (limit.client_order_id, OrderStatus.OPEN)
                ]  # fmt: skip
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
            finally:
                await execution.aclose()

    run(scenario)


def test_htx_refusals_map_to_arbcore_errors(htx: SimConfig) -> None:
    async def scenario() -> None:
        async with running(htx) as (sim, _):
            btc_usdt = next(i for i in sim.venues["htx"].instruments if i.symbol == "BTC/USDT")
            forged = execution_of(sim, Credentials(CREDENTIALS.api_key, "wrong"))
            poor = execution_of(sim)
            try:
                with pytest.raises(AuthenticationError) as refused:
                    await forged.fetch_balances()
                assert refused.value.venue_code == "api-signature-not-valid"
                too_much = prepare_order(btc_usdt, OrderSide.SELL,
                                         to_raw("11", btc_usdt.size_decimals),
                                         type=OrderType.MARKET)  # fmt: skip
                with pytest.raises(InsufficientFunds) as poor_error:
                    await poor.place_order(too_much)
                assert poor_error.value.venue_code == "order-accountbalance-error"
            finally:
                await forged.aclose()
                await poor.aclose()

    run(scenario)
