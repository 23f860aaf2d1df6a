"""From an opportunity to a trade in one call, for bots that wire their own strategy.

:class:`TradeDesk` does what every bot does after its strategy finds something: value the legs
and ask risk, record the opportunity and the decision in the audit trail under one trace id,
and, when approved, send the legs through the :class:`~arbcore.execution.router.Router` in a
task (orders never hold up the book callback it is called from). It takes one trade at a time
by default, so no balance is spent twice; the engine's orchestrator is the many-at-once version.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from arbcore.execution.router import Router, TradeResult
from arbcore.model import Opportunity
from arbcore.observability.tracing import new_trace_id
from arbcore.risk.engine import RiskDecision, RiskEngine, proposed_trade
from arbcore.storage.audit import AuditTrail, RecordKind

__all__ = ["TradeDesk"]


class TradeDesk:
    """Risk check, audit and execution of offered opportunities; see the module docstring."""

    def __init__(
        self,
        router: Router,
        risk: RiskEngine,
        audit: AuditTrail,
        *,
        usd: Callable[[str], float | None],
        book_age_ms: Callable[[str, str], float] = lambda venue, symbol: 0.0,
        clock_ns: Callable[[], int] = time.time_ns,
        concurrent: int = 1,
    ) -> None:
        self.router, self.risk, self.audit = router, risk, audit
        self.usd, self.book_age_ms, self.clock_ns = usd, book_age_ms, clock_ns
        self.concurrent = concurrent
        self.trades: list[asyncio.Task[TradeResult]] = []

    @property
    def busy(self) -> bool:
        """Whether as many trades as allowed are still in flight."""
        return sum(1 for task in self.trades if not task.done()) >= self.concurrent

    def offer(self, opportunity: Opportunity) -> RiskDecision | None:
        """Check, record and (if approved) execute; None when the desk is busy (not offered)."""
        if self.busy:
            return None
        trace_id = new_trace_id()
        decision = self.risk.check(proposed_trade(opportunity, self.usd, trace_id=trace_id,
                                                  book_age_ms=self.book_age_ms))  # fmt: skip
        now = self.clock_ns()
        self.audit.append(RecordKind.OPPORTUNITY, opportunity, ts_ns=now, trace_id=trace_id,
                          venue=opportunity.venue)  # fmt: skip
        self.audit.append(RecordKind.RISK_DECISION, decision, ts_ns=now, trace_id=trace_id)
        if decision.approved:
            task = asyncio.get_running_loop().create_task(
                self.router.execute(opportunity, trace_id)
            )
            self.trades.append(task)
        return decision

    async def finish(self) -> list[TradeResult]:
        """Wait for every trade sent; their results, in the order they were sent."""
        return list(await asyncio.gather(*self.trades))

    def summary(self, results: list[TradeResult]) -> str:
        """One line: trades by outcome, realised PnL, risk refusals by rule."""
        statuses = dict(Counter(result.status.value for result in results))
        pnl = sum(result.realized_usd or 0.0 for result in results)
        return (f"{len(results)} trades {statuses}, realised {pnl:+.2f} USD; risk refused "
                f"{dict(self.risk.refusals)}")  # fmt: skip
