"""Seeing what the engine does: the event hub (``events``), Prometheus metrics (``metrics``),
W3C trace context (``tracing``), structured logging with secret redaction (``logs``) and
alerts (``alerts``)."""

from arbcore.observability.alerts import Alert, AlertManager, Reading, read_engine
from arbcore.observability.events import TOPICS, Event, EventHub, Subscription
from arbcore.observability.logs import Redactor, configure_logging
from arbcore.observability.metrics import (
    ArbcoreCollector,
    DecisionMetrics,
    LatencyHistogram,
    Sources,
    registry_for,
    render,
)
from arbcore.observability.tracing import (
    TraceContext,
    TraceIdFilter,
    new_trace_id,
    parse_traceparent,
    trace,
)

__all__ = [
    "TOPICS",
    "Alert",
    "AlertManager",
    "ArbcoreCollector",
    "DecisionMetrics",
    "Event",
    "EventHub",
    "LatencyHistogram",
    "Reading",
    "Redactor",
    "Sources",
    "Subscription",
    "TraceContext",
    "TraceIdFilter",
    "configure_logging",
    "new_trace_id",
    "parse_traceparent",
    "read_engine",
    "registry_for",
    "render",
    "trace",
]
