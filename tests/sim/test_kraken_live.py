"""The simulated Kraken over real loopback sockets: arbcore's live client, its execution, faults.

``KrakenDataClient`` subscribes to ``book-10`` on the v1 WebSocket, syncs from the pushed
snapshots (checksums verified, no sequence numbers exist) and ends with the engine's top 10,
and recovers from a dropped connection and a lost update (caught by the checksum, cured by
resubscribing). ``KrakenExecution`` places, reads, lists and cancels orders and reads balances
and fees; a bad signature and an unaffordable order come back as Kraken's error strings and
arbcore's errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import httpx
import pytest
import websockets

from arbcore.errors import AuthenticationError, InsufficientFunds, InvalidOrder
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.kraken.data import KrakenDataClient
from arbcore.exchanges.kraken.execution import KrakenExecution
from arbcore.exchanges.kraken.providers import parse_instruments
from arbcore.exchanges.trading import OrderRequest, prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.ws import Backoff
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.venues.kraken.app import private_key
from arbcore.testing.simwire import run, running_client, until
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, private_key(DEFAULT_ACCOUNT))
DEPTH = 10


@pytest.fixture
def kraken(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("kraken",))


@asynccontextmanager
async def running(config: SimConfig) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async with (
        Simulator(config, autostep=False) as sim,
        httpx.AsyncClient(base_url=sim.endpoints["kraken"].rest_url) as http,
    ):
        yield sim, http


# -- market data ---------------------------------------------------------------------------------


@asynccontextmanager
async def client_of(sim: Simulator, http: httpx.AsyncClient) -> AsyncIterator[KrakenDataClient]:
    instruments = parse_instruments((await http.get("/0/public/AssetPairs")).json()).instruments
    client = KrakenDataClient(instruments, ws_url=sim.endpoints["kraken"].ws_url, depth=DEPTH,
                              backoff=Backoff(initial_s=0.01, maximum_s=0.05))  # fmt: skip
    async with running_client(client, sim.config.symbols) as running:
        yield running


def top(levels: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return levels[:DEPTH]


def same_books(sim: Simulator, client: KrakenDataClient) -> bool:
    """Every book in sync and equal to the engine's top 10 (Kraken has no update ids)."""
    for symbol, sync in client.syncs.items():
        engine = sim.venues["kraken"].engines[symbol]
        bids, bid_sizes, asks, ask_sizes = sync.book.top(1000)
        if not sync.in_sync or (
            list(zip(bids.tolist(), bid_sizes.tolist(), strict=True)) != engine.levels(BID, DEPTH)
            or list(zip(asks.tolist(), ask_sizes.tolist(), strict=True))
            != engine.levels(ASK, DEPTH)
        ):
            return False
    return True


def test_kraken_client_syncs_to_the_simulator_over_loopback(kraken: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kraken) as (sim, http), client_of(sim, http) as client:
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            for _ in range(20):
                sim.step()
                await asyncio.sleep(0.005)
            await until(lambda: same_books(sim, client))
            for sync in client.syncs.values():
                assert (sync.counters.gaps, sync.counters.checksum_failed) == (0, 0)
                assert sync.counters.checksum_ok == sync.counters.updates > 0
            assert client.connection.counters.connects == 1

    run(scenario)


def test_kraken_client_recovers_from_a_drop_and_a_lost_update(kraken: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kraken) as (sim, http), client_of(sim, http) as client:
            syncs = client.syncs.values()
            await until(lambda: all(s.in_sync for s in syncs), sim.step)
            sim.faults.arm(Fault.DROP, "kraken")
            await until(lambda: client.connection.counters.connects == 2, sim.step)
            await until(lambda: same_books(sim, client), sim.step)

            sim.faults.arm(Fault.GAP, "kraken")  # no sequence ids: the checksum catches it
            await until(lambda: sum(s.counters.checksum_failed for s in syncs) == 1, sim.step)
            await until(lambda: same_books(sim, client), sim.step)
            assert client.counters.resubscribes == 1  # Kraken's remedy: a new snapshot
            assert sim.faults.injected == {("kraken", Fault.DROP): 1, ("kraken", Fault.GAP): 1}

    run(scenario)


def test_kraken_greets_answers_ping_and_refuses_unknown_pairs(kraken: SimConfig) -> None:
    async def scenario() -> None:
        async with (
            running(kraken) as (sim, _),
            websockets.connect(sim.endpoints["kraken"].ws_url) as ws,
        ):
            status = json.loads(await ws.recv())
            assert (status["event"], status["status"]) == ("systemStatus", "online")
            await ws.send('{"event":"ping","reqid":9}')
            assert json.loads(await ws.recv()) == {"event": "pong", "reqid": 9}
            await ws.send('{"event":"subscribe","pair":["XBT/EUR"],"subscription":{"name":"book"}}')
            error = json.loads(await ws.recv())
            assert (error["status"], error["errorMessage"]) == (
                "error", "Currency pair not supported XBT/EUR")  # fmt: skip

    run(scenario)


# -- trading -------------------------------------------------------------------------------------


def order_of(instrument: Instrument, side: OrderSide, size_raw: int, **fields: object
             ) -> OrderRequest:  # fmt: skip
    """``prepare_order`` with a client order id Kraken takes (at most 18 characters)."""
    return prepare_order(instrument, side, size_raw, **fields,  # type: ignore[arg-type]
                         client_order_id=KrakenExecution.new_client_order_id())  # fmt: skip


def instrument(sim: Simulator, symbol: str) -> Instrument:
    return next(i for i in sim.venues["kraken"].instruments if i.symbol == symbol)


@asynccontextmanager
async def trading(
    sim: Simulator, credentials: Credentials = CREDENTIALS
) -> AsyncIterator[KrakenExecution]:
    execution = KrakenExecution(credentials, sim.venues["kraken"].instruments,
                                base_url=sim.endpoints["kraken"].rest_url)  # fmt: skip
    try:
        yield execution
    finally:
        await execution.http.aclose()


def test_kraken_execution_trades_on_the_simulator(kraken: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kraken) as (sim, _), trading(sim) as execution:
            btc = instrument(sim, "BTC/USDT")
            market = order_of(btc, OrderSide.BUY, to_raw("0.05", 5), type=OrderType.MARKET)
            filled = await execution.place_order(market)  # read back by txid until final
            assert (filled.status, filled.filled_raw) == (OrderStatus.FILLED, market.size_raw)
            found = await execution.fetch_order(btc, market.client_order_id)
            assert (found.status, found.venue_order_id) == (OrderStatus.FILLED,
                                                            filled.venue_order_id)  # fmt: skip
            assert found.filled_quote > 0

            engine = sim.venues["kraken"].engines["BTC/USDT"]
            bid = engine.best(BID)
            assert bid is not None
            limit = order_of(btc, OrderSide.BUY, to_raw("0.01", 5), price_raw=bid - 1000)
            placed = await execution.place_order(limit)
            assert placed.status is OrderStatus.OPEN
            resting = await execution.fetch_order(btc, limit.client_order_id)
            assert (resting.status, resting.price_raw) == (OrderStatus.OPEN, bid - 1000)
            assert [o.client_order_id for o in await execution.fetch_open_orders()] == [
                limit.client_order_id]  # fmt: skip
            held = {b.asset: b for b in await execution.fetch_balances()}
            assert held["USDT"].locked == pytest.approx(float(btc.price_text(bid - 1000)) * 0.01)
            assert held["BTC"].free == pytest.approx(10.05 - 0.05 * 0.0026)  # taker fee in BTC
            cancelled = await execution.cancel_order(btc, limit.client_order_id)
            assert cancelled.status is OrderStatus.CANCELED
            assert await execution.fetch_open_orders(btc) == []
            again = await execution.cancel_order(btc, limit.client_order_id)  # Unknown order
            assert again.status is OrderStatus.CANCELED
            assert await execution.fetch_fees(btc) == (0.0016, 0.0026)

            ask = engine.best(ASK)
            assert ask is not None
            maker = order_of(btc, OrderSide.BUY, to_raw("0.01", 5), price_raw=ask,
                                  time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
            with pytest.raises(InvalidOrder) as refused:
                await execution.place_order(maker)
            assert refused.value.venue_code == "EOrder:Post only order"
            assert engine.best(ASK) == ask

    run(scenario)


def test_kraken_refusals_map_to_arbcore_errors(kraken: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kraken) as (sim, _):
            eth = instrument(sim, "ETH/USDT")
            async with trading(sim) as execution:
                huge = order_of(eth, OrderSide.SELL, to_raw("500", 4), type=OrderType.MARKET)
                with pytest.raises(InsufficientFunds) as refused:
                    await execution.place_order(huge)
                assert refused.value.venue_code == "EOrder:Insufficient funds"
            wrong = [Credentials(CREDENTIALS.api_key, private_key(
                         attrs.evolve(DEFAULT_ACCOUNT, secret="wrong"))),
                     Credentials("nobody", CREDENTIALS.secret)]  # fmt: skip
            for credentials, code in zip(wrong, ("EAPI:Invalid signature", "EAPI:Invalid key"),
                                         strict=True):  # fmt: skip
                async with trading(sim, credentials) as execution:
                    with pytest.raises(AuthenticationError) as denied:
                        await execution.fetch_balances()
                    assert (denied.value.venue_code, denied.value.http_status) == (code, 200)
            assert sim.venues["kraken"].engines["ETH/USDT"].open_orders("trader") == []

    run(scenario)


def test_kraken_lost_placement_answer_is_looked_up_not_resent(kraken: SimConfig) -> None:
    async def scenario() -> None:
        async with running(kraken) as (sim, _), trading(sim) as execution:
            btc = instrument(sim, "BTC/USDT")
            sim.faults.arm(Fault.SERVER_ERROR, "kraken")  # placed, but the answer is lost
            order = order_of(btc, OrderSide.SELL, to_raw("0.02", 5), type=OrderType.MARKET)
            found = await execution.place_order(order)
            assert (found.status, found.filled_raw) == (OrderStatus.FILLED, order.size_raw)
            held = {b.asset: b.free for b in await execution.fetch_balances()}
            assert held["BTC"] == pytest.approx(9.98)  # sold once, not twice

    run(scenario)
