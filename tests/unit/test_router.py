"""The router: concurrent IOC legs, every step audited, and the leg-failure policy's promise."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arbcore.config.schema import CrossExchangeConfig, ExecutionConfig, RiskLimits
from arbcore.errors import InvalidOrder
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest
from arbcore.execution import ShadowVenue
from arbcore.execution.router import Router, TradeStatus
from arbcore.model import Instrument, Opportunity, Order
from arbcore.risk import RiskEngine
from arbcore.storage import AuditTrail, RecordKind
from arbcore.strategies.cross_exchange import CrossExchangeStrategy
from arbcore_ext.book import L2Book


def _instrument(venue: str) -> Instrument:
    return Instrument.from_text(venue=venue, native_symbol="BTCUSDT", base="BTC", quote="USDT",
                                tick_size="0.01", lot_size="0.0001", min_notional="5",
                                taker_fee=0.001)  # fmt: skip


def _book(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> L2Book:
    book = L2Book(2, 4)
    (bp, bq), (ap, aq) = zip(*bids, strict=True), zip(*asks, strict=True)
    book.apply_snapshot(*(np.array(v, dtype=np.int64) for v in (bp, bq, ap, aq)))
    return book


def _book_of(books: dict[str, L2Book], venue: str) -> Callable[[str], L2Book | None]:
    return lambda symbol: books[venue]


class Refusing:
    """A venue that refuses the first ``refusals`` orders, then behaves like ``inner``."""

    def __init__(self, inner: ShadowVenue, refusals: int) -> None:
        self.inner, self.refusals, self.venue = inner, refusals, inner.venue

    async def place_order(self, order: OrderRequest) -> Order:
        if self.refusals:
            self.refusals -= 1
            raise InvalidOrder("LOT_SIZE filter failure", venue=self.venue, venue_code=-1013)
        return await self.inner.place_order(order)


def _setup(tmp_path: Path, policy: str, *, refuse_sell: int = 0,
           dear_bids: list[tuple[int, int]] | None = None) -> dict[str, Any]:  # fmt: skip
    cheap_bids = [(9_990, 10_000), (9_980, 10_000)]
    books = {"cheap": _book(cheap_bids, [(10_000, 10_000), (10_010, 20_000)]),
             "dear": _book(dear_bids or [(10_050, 15_000), (10_020, 10_000)],
                           [(10_100, 10_000)])}  # fmt: skip
    instruments = {v: {"BTC/USDT": _instrument(v)} for v in books}
    shadows = {v: ShadowVenue(v, SymbolMap.of(v, [instruments[v]["BTC/USDT"]]),
                              _book_of(books, v), {"USDT": 1e6, "BTC": 10.0},
                              latency_s=0.0) for v in books}  # fmt: skip
    strategy = CrossExchangeStrategy(
        CrossExchangeConfig(min_profit_bps=1.0, slippage_bps=0.0), instruments,
        book_of=lambda venue, symbol: books[venue],
        balance_of=lambda venue, asset: shadows[venue].balances.get(asset, 0.0),
        usd=lambda asset: 1.0,
    )  # fmt: skip
    opportunity = strategy.on_book("cheap", "BTC/USDT")
    assert opportunity is not None
    venues: dict[str, Any] = dict(shadows)
    if refuse_sell:
        venues["dear"] = Refusing(shadows["dear"], refuse_sell)
    alerts: list[str] = []
    audit = AuditTrail(tmp_path / "audit.db", synchronous="NORMAL")
    risk = RiskEngine(RiskLimits(), price_usd=lambda asset: 1.0)
    router = Router(venues, lambda venue, symbol: instruments[venue][symbol],
                    ExecutionConfig(leg_failure=policy, retry_worse_bps=10.0),  # type: ignore[arg-type]
                    audit=audit, risk=risk, alert=alerts.append)  # fmt: skip
    return {"router": router, "opportunity": opportunity, "audit": audit, "alerts": alerts,
            "risk": risk, "shadows": shadows}  # fmt: skip


def _execute(ctx: dict[str, Any]) -> Any:
    result = asyncio.run(ctx["router"].execute(ctx["opportunity"], "trace-1"))
    ctx["audit"].close()
    return result


def test_matched_legs_complete_with_the_expected_profit_and_every_step_audited(
    tmp_path: Path,
) -> None:
    ctx = _setup(tmp_path, "unwind")
    result = _execute(ctx)
    opportunity: Opportunity = ctx["opportunity"]
    assert result.status is TradeStatus.COMPLETE
    assert result.net_base == 0.0
    assert [leg.filled_raw for leg in result.legs] == [15_000, 15_000]
    assert result.realized_quote == pytest.approx(opportunity.expected_profit, abs=1e-9)
    kinds = [r.kind for r in ctx["audit"].records()]
    assert kinds.count(RecordKind.ORDER_REQUEST) == 2
    assert kinds.count(RecordKind.VENUE_REPLY) == 2
    assert kinds[-2:] == [RecordKind.POSITION, RecordKind.PNL]
    assert {r.trace_id for r in ctx["audit"].records()} == {"trace-1"}
    assert ctx["risk"].open_orders == 0
    assert ctx["audit"].verify() == 6


def test_a_refused_leg_is_unwound_at_market_back_to_flat(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "unwind", refuse_sell=1)
    result = _execute(ctx)
    assert result.status is TradeStatus.REPAIRED
    assert result.net_base == 0.0
    (repair,) = result.repairs
    assert (repair.leg.venue, repair.order.side.value, repair.order.type.value) == (
        "cheap", "sell", "market")  # fmt: skip
    assert repair.filled_raw == 15_000
    assert ctx["shadows"]["cheap"].balances["BTC"] == pytest.approx(10.0 - 1.5 * 0.001)
    assert result.realized_quote < 0  # the round trip costs spread and fees
    assert ctx["router"].leg_failures == 1
    assert ctx["router"].unhedged == 0


def test_retry_sends_the_short_leg_once_more_at_a_bounded_worse_limit(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "retry", refuse_sell=1)
    result = _execute(ctx)
    assert result.status is TradeStatus.REPAIRED
    (repair,) = result.repairs
    assert (repair.leg.venue, repair.order.side.value) == ("dear", "sell")
    assert repair.order.price_raw == 10_040  # 100.50 widened by 10 bps (10.05), floored
    assert repair.filled_raw == 15_000


def test_a_retry_that_fails_again_leaves_the_trade_unhedged_and_alerts(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "retry", refuse_sell=2)
    result = _execute(ctx)
    assert result.status is TradeStatus.UNHEDGED
    assert result.net_base == pytest.approx(1.5)
    assert ctx["alerts"]
    assert "unhedged by +1.5" in ctx["alerts"][0]
    kinds = [r.kind for r in ctx["audit"].records()]
    assert RecordKind.PNL not in kinds
    assert kinds[-1] is RecordKind.POSITION


def test_hold_keeps_a_partial_fill_and_records_the_net_position(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "hold", dear_bids=[(10_050, 15_000), (10_020, 10_000)])
    ctx["shadows"]["dear"].fill_ratio = 0.5  # only half of each level is there for us
    result = _execute(ctx)
    assert [leg.filled_raw for leg in result.legs] == [15_000, 7_500]
    assert result.status is TradeStatus.UNHEDGED
    assert result.net_base == pytest.approx(0.75)
    position = next(r for r in ctx["audit"].records(RecordKind.POSITION))
    assert position.payload["net_base"] == pytest.approx(0.75)
