"""The engine with issue 7's observability wired in, for tests and benches.

:class:`MeteredEngine` is :class:`~arbcore.engine.Engine` plus exactly what the engine is to do
itself (docs/observability.md, "Wiring"): count each opportunity by ``(kind, venue)``, put each
decision's latency in the histogram, and make a trade's trace id current in its task (so its
REST requests carry ``traceparent`` and its log lines the id). It does so from outside, by
overriding two methods, so its cost is an upper bound of the wired-in version's: the latency
reaches the histogram through a deque subclass's ``append`` rather than one direct call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from arbcore.engine import Engine
from arbcore.model import Opportunity
from arbcore.observability.metrics import DecisionMetrics
from arbcore.observability.tracing import activate

__all__ = ["MeteredEngine"]


class _ObservedDeque(deque[int]):
    """The engine's latency samples, each one also handed to ``observe``."""

    def __init__(self, observe: Callable[[int], None], maxlen: int | None) -> None:
        super().__init__(maxlen=maxlen)
        self._observe = observe

    def append(self, elapsed_ns: int) -> None:
        deque.append(self, elapsed_ns)
        self._observe(elapsed_ns)


class MeteredEngine(Engine):
    """:class:`Engine` + :class:`DecisionMetrics` + the trade's trace made current."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = DecisionMetrics()
        samples = self.stats.latencies_ns
        self.stats.latencies_ns = _ObservedDeque(self.metrics.latency.observe_ns, samples.maxlen)

    def _decide(self, opportunity: Opportunity, arrived_ns: int) -> None:
        self.metrics.detected[opportunity.kind, opportunity.venue] += 1
        super()._decide(opportunity, arrived_ns)

    async def _trade(self, opportunity: Opportunity, ticket: Any, trace_id: str) -> None:
        activate(trace_id)
        await super()._trade(opportunity, ticket, trace_id)
