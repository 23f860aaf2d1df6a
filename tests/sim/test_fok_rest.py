"""Fill-or-kill on every venue: arbcore's own clients against the simulator over loopback.

Each venue's ``execution.py`` sends its documented FOK form (Binance/Bybit/KuCoin
``timeInForce=FOK``, OKX ``ordType=fok``, Gate.io ``time_in_force=fok``, HTX
``buy-limit-fok``, Bitfinex ``EXCHANGE FOK``), the simulated venue parses it and answers in its
own words, and the client reads the outcome back: a FOK the book can fill fills whole (across
levels), one it cannot (one lot short, or cut by the partial-fill fault) expires with nothing
filled and every balance and book level as before. Kraken has no FOK: the order is refused
before anything reaches the venue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest

from arbcore.errors import InvalidOrder
from arbcore.exchanges.binance.execution import BinanceExecution
from arbcore.exchanges.bitfinex.execution import BitfinexExecution
from arbcore.exchanges.bybit.execution import BybitExecution
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.gateio.execution import GateioExecution
from arbcore.exchanges.htx.execution import HtxExecution
from arbcore.exchanges.kraken.execution import KrakenExecution
from arbcore.exchanges.kucoin.execution import KuCoinExecution
from arbcore.exchanges.okx.execution import OKXExecution
from arbcore.exchanges.trading import prepare_order
from arbcore.model import Instrument, Order, OrderSide, OrderStatus, TimeInForce
from arbcore.sim import DEFAULT_ACCOUNT, Fault, MarketConfig, SimConfig, Simulator
from arbcore.sim.engine import MatchingEngine
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret,
                          DEFAULT_ACCOUNT.passphrase)  # fmt: skip
EXECUTIONS: dict[str, Callable[..., Any]] = {
    "binance": BinanceExecution, "okx": OKXExecution, "bybit": BybitExecution,
    "kucoin": KuCoinExecution, "gateio": GateioExecution, "htx": HtxExecution,
    "bitfinex": BitfinexExecution, "kraken": KrakenExecution,
}  # fmt: skip
WITH_FOK = ("binance", "okx", "bybit", "kucoin", "gateio", "htx", "bitfinex")
#: KuCoin reports an unfilled FOK as any cancelled order (done, cancelExist): read back by
#: itself it is CANCELED; the placement's answer (read until final) says EXPIRED everywhere.
SAYS_CANCELED = frozenset({"kucoin"})
SYMBOL = "BTC/USDT"


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout=30))


@asynccontextmanager
async def trading(venue: str) -> AsyncIterator[tuple[Simulator, Any, Instrument]]:
    """The simulated venue on loopback (its market still unless stepped), arbcore's client on
    it, and the client's own BTC/USDT instrument."""
    config = SimConfig(venues=(venue,), symbols=(SYMBOL,), seed=7, step_interval_s=0.02,
                       market=MarketConfig(volatility_bps=2.0, churn=0.3, levels=15))  # fmt: skip
    async with Simulator(config, autostep=False) as sim:
        sim.step()
        url = sim.endpoints[venue].rest_url
        listed = () if venue == "bitfinex" else sim.venues[venue].instruments
        execution = EXECUTIONS[venue](CREDENTIALS, listed, base_url=url)
        try:
            if venue == "bitfinex":
                await execution.fetch_instruments()  # its own pair list, at 8 decimals
            elif hasattr(execution, "sync_time"):
                await execution.sync_time()
            chosen = next(i for i in execution.symbols.by_native.values() if i.symbol == SYMBOL)
            yield sim, execution, chosen
        finally:
            await (getattr(execution, "aclose", None) or execution.http.aclose)()


def _asks(engine: MatchingEngine, client: Instrument) -> list[tuple[int, int]]:
    """The engine's two best asks at the client instrument's decimals (Bitfinex's differ)."""
    i, pd, sd = engine.instrument, client.price_decimals, client.size_decimals
    return [(to_raw(i.price_text(p), pd), to_raw(i.size_text(s), sd))
            for p, s in engine.levels(ASK, 2)]  # fmt: skip


def _fok(client: Instrument, size: int, price: int) -> Any:
    return prepare_order(client, OrderSide.BUY, size, price_raw=price,
                         time_in_force=TimeInForce.FOK)  # fmt: skip


async def _holdings(execution: Any) -> dict[str, tuple[float, float]]:
    return {b.asset: (b.free, b.locked) for b in await execution.fetch_balances()}


def _assert_killed(order: Order, status: OrderStatus = OrderStatus.EXPIRED) -> None:
    assert (order.status, order.filled_raw, order.time_in_force) == (status, 0, TimeInForce.FOK)


@pytest.mark.parametrize("venue", WITH_FOK)
def test_a_fok_that_can_fill_fills_whole_and_one_a_lot_short_expires_untouched(venue: str) -> None:
    async def scenario() -> None:
        async with trading(venue) as (sim, execution, btc):
            engine = sim.venues[venue].engines[SYMBOL]
            (best, best_size), (second, _) = _asks(engine, btc)
            short = _fok(btc, best_size + btc.lot_size, best)  # one lot more than the best ask
            before, levels = await _holdings(execution), engine.levels(ASK)
            killed = await execution.place_order(short)
            _assert_killed(killed)
            read = await execution.fetch_order(btc, short.client_order_id)
            _assert_killed(read, OrderStatus.CANCELED if venue in SAYS_CANCELED else killed.status)
            assert await _holdings(execution) == before
            assert engine.levels(ASK) == levels
            assert await execution.fetch_open_orders(btc) == []

            whole = _fok(btc, best_size + btc.lot_size, second)  # the same size, one level deeper
            filled = await execution.place_order(whole)
            assert (filled.status, filled.filled_raw) == (OrderStatus.FILLED, whole.size_raw)
            read = await execution.fetch_order(btc, whole.client_order_id)
            assert (read.status, read.filled_raw, read.time_in_force) == (
                OrderStatus.FILLED, whole.size_raw, TimeInForce.FOK)  # fmt: skip
            (now, now_size), (then, then_size) = engine.levels(ASK)[0], levels[1]
            assert (now, now_size < then_size) == (then, True)  # the best ask taken, then some
            assert (await _holdings(execution))["BTC"][0] > before["BTC"][0]

    run(scenario)


@pytest.mark.parametrize("venue", WITH_FOK)
def test_a_fok_cut_by_the_partial_fill_fault_expires_whole(venue: str) -> None:
    """The fault lets an order fill at most half on arrival: an IOC would take half, a FOK
    takes nothing."""

    async def scenario() -> None:
        async with trading(venue) as (sim, execution, btc):
            engine = sim.venues[venue].engines[SYMBOL]
            (best, best_size), _ = _asks(engine, btc)
            before, levels = await _holdings(execution), engine.levels(ASK)
            sim.faults.arm(Fault.PARTIAL_FILL, venue)
            killed = await execution.place_order(_fok(btc, best_size, best))
            _assert_killed(killed)
            assert await _holdings(execution) == before
            assert engine.levels(ASK) == levels

    run(scenario)


def test_kraken_refuses_a_fok_before_anything_reaches_the_venue() -> None:
    async def scenario() -> None:
        async with trading("kraken") as (sim, execution, btc):
            sent = len(sim.requests["kraken"])
            best = sim.venues["kraken"].engines[SYMBOL].levels(BID, 1)[0][0]
            order = _fok(btc, to_raw("0.01", btc.size_decimals), best)
            with pytest.raises(InvalidOrder, match="no fill-or-kill"):
                await execution.place_order(order)
            assert len(sim.requests["kraken"]) == sent  # not one request more
            assert sim.venues["kraken"].engines[SYMBOL].open_orders(DEFAULT_ACCOUNT.name) == []

    run(scenario)
