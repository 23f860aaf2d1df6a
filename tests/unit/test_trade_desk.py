"""TradeDesk: an offered opportunity is risk-checked, recorded under one trace id, executed
when approved, and a busy desk takes nothing more."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import attrs

from arbcore.config.schema import RiskLimits
from arbcore.execution import TradeDesk, TradeStatus
from arbcore.risk import RiskEngine
from arbcore.storage import RecordKind
from arbcore.storage.audit import read_records
from tests.unit.test_router import _setup


def _desk(ctx: dict[str, Any], risk: RiskEngine | None = None) -> TradeDesk:
    return TradeDesk(ctx["router"], risk or ctx["risk"], ctx["audit"], usd=lambda asset: 1.0)


def test_an_approved_opportunity_is_recorded_then_traded(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "unwind")

    async def run() -> tuple[Any, Any, Any]:
        desk = _desk(ctx)
        decision = desk.offer(ctx["opportunity"])
        busy = desk.offer(ctx["opportunity"])  # the first trade is still in flight
        results = await desk.finish()
        return decision, busy, (results, desk.summary(results))

    decision, busy, (results, summary) = asyncio.run(run())
    ctx["audit"].close()
    assert decision is not None
    assert decision.approved
    assert busy is None
    assert [r.status for r in results] == [TradeStatus.COMPLETE]
    assert summary.startswith("1 trades {'complete': 1}, realised +")
    rows = list(read_records(tmp_path / "audit.db"))
    kinds = [row.kind for row in rows]
    assert kinds[:2] == [RecordKind.OPPORTUNITY, RecordKind.RISK_DECISION]
    assert RecordKind.PNL in kinds
    assert len({row.trace_id for row in rows if row.trace_id}) == 1  # one trace for it all
    assert len(rows[0].trace_id) == 32


def test_a_refused_opportunity_is_recorded_and_not_traded(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "unwind")
    tight = RiskEngine(attrs.evolve(RiskLimits(), max_position_usd=1.0), price_usd=lambda a: 1.0)

    async def run() -> tuple[Any, list[Any]]:
        desk = _desk(ctx, tight)
        return desk.offer(ctx["opportunity"]), await desk.finish()

    decision, results = asyncio.run(run())
    ctx["audit"].close()
    assert decision is not None
    assert not decision.approved
    assert decision.rule == "max_position_usd"
    assert results == []
    kinds = [row.kind for row in read_records(tmp_path / "audit.db")]
    assert kinds == [RecordKind.OPPORTUNITY, RecordKind.RISK_DECISION]
