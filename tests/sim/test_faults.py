"""Fault injection: armed faults strike exactly once, rates are seeded, settings are checked;
what a stuck order does in the engine and to arbcore's clients over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import pytest
from test_engine import BTC_USDT, BUY, LIMIT, price, size

from arbcore.errors import ConfigError
from arbcore.exchanges.binance.execution import BinanceExecution
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.okx.execution import OKXExecution
from arbcore.exchanges.trading import OrderRequest, prepare_order
from arbcore.model import OrderStatus, TimeInForce
from arbcore.sim import DEFAULT_ACCOUNT, Fault, FaultConfig, FaultInjector, SimConfig, Simulator
from arbcore.sim.accounts import Ledger, asset_decimals
from arbcore.sim.engine import MatchingEngine
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw


def test_armed_fault_strikes_exactly_the_times_asked() -> None:
    faults = FaultInjector()
    faults.arm(Fault.GAP, "binance", times=2)
    assert [faults.strikes(Fault.GAP, "binance") for _ in range(4)] == [True, True, False, False]
    assert not faults.strikes(Fault.GAP, "okx")
    faults.arm(Fault.DROP)  # any venue
    assert faults.strikes(Fault.DROP, "okx")
    assert faults.injected == {("binance", Fault.GAP): 2, ("okx", Fault.DROP): 1}


def test_rates_are_drawn_from_the_seed_per_venue() -> None:
    def draws(seed: int) -> list[bool]:
        faults = FaultInjector(FaultConfig(gap=0.3), seed=seed)
        return [faults.strikes(Fault.GAP, "binance") for _ in range(200)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)
    assert 30 < sum(draws(1)) < 90


def test_configure_changes_one_venue_at_runtime() -> None:
    faults = FaultInjector(FaultConfig(), venues={"okx": FaultConfig(reject=1.0)})
    faults.configure("binance", drop=1.0)
    assert faults.strikes(Fault.DROP, "binance")
    assert not faults.strikes(Fault.DROP, "kraken")
    assert faults.strikes(Fault.REJECT, "okx")
    with pytest.raises(ConfigError):
        faults.configure("binance", nonsense=1.0)
    with pytest.raises(ConfigError):
        faults.configure(drop=1.5)


# -- STUCK: accepted, not matched for a while ----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now_ns = 1_000_000

    def __call__(self) -> int:
        return self.now_ns


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(clock: Clock) -> MatchingEngine:
    ledger = Ledger("sim", asset_decimals([BTC_USDT]))
    ledger.deposit_text("alice", "USDT", "100000")
    ledger.deposit_text("alice", "BTC", "2")
    engine = MatchingEngine(BTC_USDT, ledger, clock=clock)
    engine.set_house_levels({(ASK, price("100.01")): size("0.1"), (BID, price("99.99")): size("1")})
    return engine


def test_a_held_ioc_stays_open_unmatched_until_its_time_then_arrives(
    engine: MatchingEngine, clock: Clock
) -> None:
    placed = engine.place("alice", BUY, LIMIT, size("0.05"), price_raw=price("100.01"),
                          time_in_force=TimeInForce.IOC, client_order_id="s1",
                          hold_ns=1000)  # fmt: skip
    assert placed.order is not None
    assert (placed.order.status, placed.order.filled_raw, placed.trades) == (
        OrderStatus.OPEN,
        0,
        (),
    )
    assert engine.ledger.balance("alice", "USDT").locked > 0  # its funds are held
    assert engine.levels(ASK) == [(price("100.01"), size("0.1"))]  # nothing taken yet
    assert engine.levels(BID)[0] == (price("99.99"), size("1"))  # and it is not in the book
    clock.now_ns += 999
    assert engine.order("alice", client_order_id="s1").status is OrderStatus.OPEN  # type: ignore[union-attr]
    clock.now_ns += 1
    released = engine.order("alice", client_order_id="s1")  # any call lets it arrive
    assert released is not None
    assert (released.status, released.filled_raw) == (OrderStatus.FILLED, size("0.05"))
    assert engine.levels(ASK) == [(price("100.01"), size("0.05"))]
    assert engine.ledger.balance("alice", "USDT").locked == 0


def test_a_held_order_cancelled_before_its_time_never_trades(
    engine: MatchingEngine, clock: Clock
) -> None:
    before = engine.ledger.balance("alice", "USDT")
    engine.place("alice", BUY, LIMIT, size("0.05"), price_raw=price("100.01"),
                 time_in_force=TimeInForce.IOC, client_order_id="s1", hold_ns=1000)  # fmt: skip
    cancelled = engine.cancel("alice", client_order_id="s1")
    assert cancelled is not None
    assert (cancelled.status, cancelled.filled_raw) == (OrderStatus.CANCELED, 0)
    clock.now_ns += 5000
    assert engine.set_house_levels({(ASK, price("100.01")): size("0.1")}) == []
    assert engine.order("alice", client_order_id="s1").status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert engine.ledger.balance("alice", "USDT") == before


def test_a_held_post_only_that_would_take_on_arrival_expires(
    engine: MatchingEngine, clock: Clock
) -> None:
    engine.place("alice", BUY, LIMIT, size("0.05"), price_raw=price("100.01"),
                 time_in_force=TimeInForce.POST_ONLY, client_order_id="p1", hold_ns=10)  # fmt: skip
    clock.now_ns += 10
    assert engine.release_held() == []
    ended = engine.order("alice", client_order_id="p1")
    assert ended is not None
    assert (ended.status, ended.filled_raw) == (OrderStatus.EXPIRED, 0)
    assert engine.ledger.balance("alice", "USDT").locked == 0


CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret,
                          DEFAULT_ACCOUNT.passphrase)  # fmt: skip
EXECUTIONS: dict[str, type[BinanceExecution] | type[OKXExecution]] = {
    "binance": BinanceExecution,
    "okx": OKXExecution,
}


@asynccontextmanager
async def trading(
    config: SimConfig, venue: str
) -> AsyncIterator[tuple[Simulator, BinanceExecution | OKXExecution]]:
    async with Simulator(attrs.evolve(config, venues=(venue,)), autostep=False) as sim:
        execution = EXECUTIONS[venue](CREDENTIALS, sim.venues[venue].instruments,
                                      base_url=sim.endpoints[venue].rest_url)  # fmt: skip
        try:
            await execution.sync_time()
            yield sim, execution
        finally:
            await execution.aclose()


def taking_ioc(sim: Simulator, venue: str) -> OrderRequest:
    """An IOC buy at the best ask: it would fill at once if it were matched."""
    engine = sim.venues[venue].engines["BTC/USDT"]
    ask = engine.best(ASK)
    assert ask is not None
    return prepare_order(engine.instrument, BUY, to_raw("0.01", engine.instrument.size_decimals),
                         price_raw=ask, time_in_force=TimeInForce.IOC)  # fmt: skip


@pytest.mark.parametrize("venue", sorted(EXECUTIONS))
def test_a_stuck_ioc_is_cancelled_by_the_client_and_never_fills_unseen(
    config: SimConfig, venue: str
) -> None:
    """The venue accepts the IOC but does not match it for 400 ms: the client's read-backs see
    it open, so it cancels it and returns the state the cancel left. Without that the caller
    would take "open, nothing filled" as the outcome while the order filled later."""

    async def scenario() -> None:
        async with trading(config, venue) as (sim, execution):
            sim.faults.configure(venue, stuck_ms=400.0)
            sim.faults.arm(Fault.STUCK, venue)
            order = taking_ioc(sim, venue)
            ledger = sim.venues[venue].ledger
            before = {
                asset: ledger.balance(DEFAULT_ACCOUNT.name, asset) for asset in ("BTC", "USDT")
            }
            sim.requests[venue].clear()
            placed = await execution.place_order(order)
            assert (placed.status, placed.filled_raw) == (OrderStatus.EXPIRED, 0)
            assert placed.client_order_id == order.client_order_id
            sent = [(r.method, r.path) for r in sim.requests[venue]]
            assert sent.count(sent[0]) == 1  # placed once; three read-backs; then the cancel
            assert sum("cancel" in path or method == "DELETE" for method, path in sent) == 1
            assert await execution.fetch_open_orders() == []
            await asyncio.sleep(0.45)  # past the hold: it would have arrived and filled now
            sim.step()
            engine = sim.venues[venue].engines["BTC/USDT"]
            ended = engine.order(DEFAULT_ACCOUNT.name, client_order_id=order.client_order_id)
            assert ended is not None
            assert (ended.status, ended.filled_raw, ended.trades) == (OrderStatus.CANCELED, 0, ())
            after = {asset: ledger.balance(DEFAULT_ACCOUNT.name, asset) for asset in before}
            assert after == before  # nothing traded, nothing left locked

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))


def test_a_briefly_stuck_ioc_is_read_back_with_its_fill(config: SimConfig) -> None:
    """Stuck for less than the client's read-backs last: one of them sees it filled."""

    async def scenario() -> None:
        async with trading(config, "binance") as (sim, execution):
            sim.faults.configure("binance", stuck_ms=40.0)
            sim.faults.arm(Fault.STUCK, "binance")
            order = taking_ioc(sim, "binance")
            sim.requests["binance"].clear()
            placed = await execution.place_order(order)
            assert (placed.status, placed.filled_raw) == (OrderStatus.FILLED, order.size_raw)
            sent = [r.method for r in sim.requests["binance"]]
            assert sent[0] == "POST"
            assert "GET" in sent  # read back...
            assert "DELETE" not in sent  # ...and found filled: nothing to cancel

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
