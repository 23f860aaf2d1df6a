"""The trading loop against a simulator the test holds (shared by the end-to-end tests).

:func:`engine_on_sim` starts a :class:`Simulator` on loopback with the market clock held by the
test, an :class:`Engine` whose venues point at it (books from the venues' own data clients), and
turns the Engine's router onto the venues' real execution clients (``BinanceExecution``,
``OKXExecution``: signed REST to the simulator's matching engines), so what the router is told
is what a live venue would answer. Once every book is in sync the market is frozen: from then on
the only price move is the one the test makes with :meth:`Simulator.dislocate`, so the book the
strategy priced is the book the orders meet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from arbcore.config import load_config
from arbcore.config.schema import (
    AppConfig,
    CrossExchangeConfig,
    StorageConfig,
    TriangularConfig,
    VenueConfig,
)
from arbcore.engine import Engine
from arbcore.exchanges.binance.execution import BinanceExecution
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.okx.execution import OKXExecution
from arbcore.exchanges.trading import OrderRequest, VenueTrading
from arbcore.model import Instrument, Order
from arbcore.sim import DEFAULT_ACCOUNT, Fault, MarketConfig, SimConfig, Simulator
from arbcore.storage.audit import AuditRecord, RecordKind, read_records
from arbcore.testing import simwire
from arbcore_ext.book import ASK, BID

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret,
                          DEFAULT_ACCOUNT.passphrase)  # fmt: skip
EXECUTION: Mapping[str, Callable[..., Any]] = {"binance": BinanceExecution, "okx": OKXExecution}
STEP_S = 0.05
Policy = Literal["retry", "unwind", "hold"]


@attrs.define
class OnSim:
    sim: Simulator
    engine: Engine
    executions: dict[str, Any]
    audit_path: Path

    async def balances(self) -> dict[str, dict[str, float]]:
        """Every venue's account as the venue reports it (free + locked, per asset)."""
        held: dict[str, dict[str, float]] = {}
        for venue, execution in self.executions.items():
            held[venue] = {b.asset: b.total for b in await execution.fetch_balances()}
        return held

    async def trade_on(self, venue: str, symbol: str, bps: float, trades: int = 1) -> None:
        """Dislocate one venue's market for one step and wait for the engine's trades on it."""
        self.sim.dislocate(venue, symbol, bps, duration_s=STEP_S)
        self.sim.step()
        await until(lambda: self.engine.stats.trades >= trades, timeout_s=10.0)

    def records(self, trace_id: str | None = None) -> list[AuditRecord]:
        return [r for r in read_records(self.audit_path)
                if trace_id is None or r.trace_id == trace_id]  # fmt: skip


async def until(condition: Callable[[], bool], step: Callable[[], None] | None = None,
                timeout_s: float = 15.0) -> None:  # fmt: skip
    """:func:`arbcore.testing.simwire.until` with this module's longer timeout."""
    await simwire.until(condition, step, timeout_s=timeout_s, poll_s=0.02)


def _config(sim: Simulator, tmp_path: Path, policy: Policy, triangular: bool) -> AppConfig:
    base = load_config(ROOT / "config" / "system.toml", {})
    system = base.system
    venues = {name: VenueConfig(symbols=sim.config.symbols, rest_url=endpoint.rest_url,
                                ws_url=endpoint.ws_url)
              for name, endpoint in sim.endpoints.items()}  # fmt: skip
    strategies = attrs.evolve(
        system.strategies,
        cross_exchange=CrossExchangeConfig(enabled=not triangular, min_profit_bps=5.0,
                                           slippage_bps=2.0, max_notional_usd=1_000.0),
        triangular=TriangularConfig(enabled=triangular, start_assets=("USDT",),
                                    min_profit_bps=5.0, max_notional_usd=500.0),
    )  # fmt: skip
    system = attrs.evolve(
        system, venues=venues, strategies=strategies, sim=None,
        execution=attrs.evolve(system.execution, leg_failure=policy, retry_worse_bps=10.0),
        # the market is frozen after the start: a quiet book is not a stale one here
        risk=attrs.evolve(system.risk, min_book_freshness_ms=600_000.0),
        storage=StorageConfig(path=str(tmp_path / "audit.db"), synchronous="NORMAL"),
    )  # fmt: skip
    return attrs.evolve(base, system=system)


def _caught_up(sim: Simulator, engine: Engine) -> bool:
    """Every book the engine holds shows the simulator's touch."""
    for venue, chosen in engine.instruments.items():
        for symbol in chosen:
            book = engine.book(venue, symbol)
            levels = sim.venues[venue].engines[symbol]
            if book is None or book.bbo() != (levels.levels(BID)[0][0], levels.levels(ASK)[0][0]):
                return False
    return bool(engine.instruments)


@contextlib.asynccontextmanager
async def engine_on_sim(
    tmp_path: Path,
    venues: tuple[str, ...],
    symbols: tuple[str, ...],
    *,
    policy: Policy = "unwind",
    triangular: bool = False,
    wrap: Callable[[Simulator, dict[str, Any]], Mapping[str, VenueTrading]] | None = None,
    seed: int = 11,
) -> AsyncIterator[OnSim]:
    config = SimConfig(venues=venues, symbols=symbols, seed=seed, step_interval_s=STEP_S,
                       market=MarketConfig(volatility_bps=1.0, churn=0.3, levels=10))  # fmt: skip
    async with Simulator(config, autostep=False) as sim:
        engine = Engine(_config(sim, tmp_path, policy, triangular))
        run = asyncio.create_task(engine.run(120.0))
        executions: dict[str, Any] = {}
        try:
            await until(lambda: engine.router is not None and _caught_up(sim, engine), sim.step)
            sim.market.reconfigure(attrs.evolve(
                sim.market.config, volatility_bps=0.0, burst_probability=0.0, noise_bps=0.0,
                noise_persistence=1.0, churn=0.0))  # fmt: skip
            sim.step()
            await until(lambda: _caught_up(sim, engine))
            for venue in venues:
                listed: dict[str, Instrument] = engine.instruments[venue]
                url = sim.endpoints[venue].rest_url
                executions[venue] = EXECUTION[venue](CREDENTIALS, listed.values(), base_url=url)
                await executions[venue].sync_time()
            assert engine.router is not None
            engine.router.venues = dict(wrap(sim, executions) if wrap else executions)
            yield OnSim(sim, engine, executions, tmp_path / "audit.db")
        finally:
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
            for execution in executions.values():
                await execution.aclose()


class LastAndRefused:
    """A venue whose order on ``symbol`` leaves after the others have been answered, with the
    simulator's one-shot REJECT armed just before it goes: the venue itself refuses exactly
    that leg (legs go out at once, so without this any of them could meet the fault)."""

    def __init__(self, inner: Any, sim: Simulator, symbol: str) -> None:
        self.inner, self.sim, self.symbol = inner, sim, symbol
        self.venue: str = inner.venue
        self._armed = False
        self._in_flight = 0

    async def place_order(self, order: OrderRequest) -> Order:
        if order.symbol == self.symbol and not self._armed:
            self._armed = True
            await asyncio.sleep(0)  # the other legs (sent at the same time) start first
            await until(lambda: self._in_flight == 0, timeout_s=5.0)
            self.sim.faults.arm(Fault.REJECT, self.venue)
            result: Order = await self.inner.place_order(order)
            return result
        self._in_flight += 1
        try:
            placed: Order = await self.inner.place_order(order)
            return placed
        finally:
            self._in_flight -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def kinds(records: list[AuditRecord]) -> list[RecordKind]:
    return [r.kind for r in records]


def traded(records: list[AuditRecord]) -> list[str]:
    """The trace ids of the trades (the ones that sent orders), in order."""
    return list(dict.fromkeys(r.trace_id for r in records if r.kind is RecordKind.ORDER_REQUEST))


def change(before: Mapping[str, Mapping[str, float]], after: Mapping[str, Mapping[str, float]]
           ) -> dict[str, float]:  # fmt: skip
    """Each asset's change over all venues."""
    total: dict[str, float] = {}
    for venue, held in after.items():
        for asset in set(held) | set(before[venue]):
            total[asset] = (
                total.get(asset, 0.0) + held.get(asset, 0.0) - before[venue].get(asset, 0.0)
            )
    return {asset: amount for asset, amount in total.items() if abs(amount) > 1e-12}
