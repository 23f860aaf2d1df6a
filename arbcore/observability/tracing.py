"""W3C Trace Context for trades: one trace id per opportunity, carried everywhere it goes.

Every opportunity the engine acts on gets a trace id (:func:`new_trace_id`). While its trade
runs, the id is the *current trace* (a :mod:`contextvars` variable, so it follows the trade's
asyncio task and the tasks that task starts, and nothing else):

- every venue REST request sent meanwhile carries ``traceparent: 00-<trace id>-<span id>-01``
  (:func:`traceparent_hook`, installed on every :class:`~arbcore.net.http.HttpClient`'s httpx
  client as a request event hook), each request with a span id of its own;
- every log record gets ``record.trace_id`` (:class:`TraceIdFilter`), which the structured log
  formats print;
- the audit rows of the trade already carry the same id (the engine and router pass it).

Nothing here is on the decision path: the engine sets the current trace in the trade's task,
after the decision. OpenTelemetry export (:class:`OtlpExport`) is off by default and needs the
``arbcore[otel]`` extra; configured without it, it fails at start with what to install.

The header format (https://www.w3.org/TR/trace-context/): ``version-traceid-parentid-flags``,
version ``00``, a 32-hex trace id and a 16-hex parent (span) id, neither all zeros, lowercase,
and two hex digits of flags (bit 0: sampled).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import time
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import httpx

from arbcore.errors import ConfigError

__all__ = [
    "HTTP_EVENT_HOOKS",
    "OTEL_MISSING",
    "TRACEPARENT",
    "OtlpExport",
    "TraceContext",
    "TraceIdFilter",
    "activate",
    "current",
    "current_trace_id",
    "export_from_config",
    "new_span_id",
    "new_trace_id",
    "parse_traceparent",
    "record_span",
    "set_export",
    "trace",
    "traceparent_hook",
    "traceresponse_hook",
]

logger = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
SAMPLED = 0x01
_HEX_TRACE = re.compile(r"[0-9a-f]{32}")
_HEX_SPAN = re.compile(r"[0-9a-f]{16}")
_HEADER = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


#: ids drawn ahead: one ``os.urandom`` call per _POOLED ids rather than one per id (a system
#: call: about 0.7 us of every decision for a trace id, and one on every trade's first step,
#: which makes a span id for its context)
_POOLED = 256


class _IdPool:
    """Random ids of ``digits`` lowercase hex digits, never all zeros (the spec's "invalid"),
    drawn :data:`_POOLED` at a time. ``list.pop`` is atomic, so any thread may draw; a forked
    child empties the pools, so it never hands out its parent's ids."""

    def __init__(self, digits: int) -> None:
        self.digits = digits
        self.ids: list[str] = []

    def draw(self) -> str:
        try:
            return self.ids.pop()
        except IndexError:  # (drawn empty, here or by another thread)
            digits = self.digits
            hexed = os.urandom(digits // 2 * _POOLED).hex()
            self.ids.extend(value for i in range(0, len(hexed), digits)
                            if (value := hexed[i : i + digits]).strip("0"))  # fmt: skip
            return self.draw()


_TRACE_IDS, _SPAN_IDS = _IdPool(32), _IdPool(16)


def _forget_drawn_ids() -> None:
    _TRACE_IDS.ids.clear()
    _SPAN_IDS.ids.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_drawn_ids)


def new_trace_id() -> str:
    """A W3C trace id: 32 lowercase hex digits (random), never all zeros."""
    return _TRACE_IDS.draw()


def new_span_id() -> str:
    """A W3C span (parent) id: 16 lowercase hex digits, never all zeros."""
    return _SPAN_IDS.draw()


def _check_trace_id(_instance: object, _attribute: object, value: str) -> None:
    if not _HEX_TRACE.fullmatch(value) or not value.strip("0"):
        raise ValueError(f"a trace id is 32 lowercase hex digits, not all zero; was {value!r}")


def _check_span_id(_instance: object, _attribute: object, value: str) -> None:
    if not _HEX_SPAN.fullmatch(value) or not value.strip("0"):
        raise ValueError(f"a span id is 16 lowercase hex digits, not all zero; was {value!r}")


@attrs.frozen(slots=True)
class TraceContext:
    """Where in a trace we are: the trace, the current span, the flags (bit 0: sampled)."""

    trace_id: str = attrs.field(validator=_check_trace_id)
    span_id: str = attrs.field(factory=new_span_id, validator=_check_span_id)
    flags: int = attrs.field(default=SAMPLED, validator=attrs.validators.and_(
        attrs.validators.ge(0), attrs.validators.le(0xFF)))  # fmt: skip

    @property
    def sampled(self) -> bool:
        return bool(self.flags & SAMPLED)

    def traceparent(self) -> str:
        """The ``traceparent`` header value, version 00."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def child(self) -> TraceContext:
        """The same trace with a new span id: what one outgoing request carries."""
        return TraceContext(self.trace_id, new_span_id(), self.flags)


def parse_traceparent(value: str) -> TraceContext:
    """A ``traceparent`` header read strictly; ValueError saying what is wrong.

    Version ``ff`` is invalid; a future version (not ``00``) may append fields after the four
    known ones, which are then read as version 00 says; version 00 has exactly four.
    """
    text = value.strip()
    match = _HEADER.fullmatch(text)
    if match is None:
        raise ValueError(f"traceparent must be 'vv-<32 hex>-<16 hex>-ff' in lowercase hex; "
                         f"was {value!r}")  # fmt: skip
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff":
        raise ValueError("traceparent version ff is invalid")
    if version == "00" and rest:
        raise ValueError(f"traceparent version 00 has four fields; was {value!r}")
    if not trace_id.strip("0"):
        raise ValueError("traceparent trace id is all zeros (invalid)")
    if not span_id.strip("0"):
        raise ValueError("traceparent parent id is all zeros (invalid)")
    return TraceContext(trace_id, span_id, int(flags, 16))


# -- the current trace ------------------------------------------------------------------------

_current: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar(
    "arbcore_trace", default=None
)


def current() -> TraceContext | None:
    """The trace the running code belongs to, if any."""
    return _current.get()


def current_trace_id() -> str:
    """The current trace id, or ``""`` outside any trace (what log records carry then)."""
    context = _current.get()
    return "" if context is None else context.trace_id


def activate(trace_id: str) -> TraceContext:
    """Make ``trace_id`` current for the rest of this context: call it first thing in the
    trade's own task (a task's context ends with it, so nothing needs resetting)."""
    context = TraceContext(trace_id)
    _current.set(context)
    return context


@contextlib.contextmanager
def trace(trace_id: str | None = None) -> Iterator[TraceContext]:
    """``trace_id`` (a new one by default) is current inside the block; tasks created inside
    it inherit it."""
    context = TraceContext(trace_id or new_trace_id())
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class TraceIdFilter(logging.Filter):
    """Puts ``trace_id`` on every record (the current trace's, ``""`` outside one) unless the
    caller gave one with ``extra=``. Install it on handlers: it then sees every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "trace_id", ""):
            record.trace_id = current_trace_id()
        return True


# -- REST requests ----------------------------------------------------------------------------

_export: OtlpExport | None = None
#: requests in flight that an OTLP span will be recorded for: request -> (span, start ns)
_open: weakref.WeakKeyDictionary[httpx.Request, tuple[TraceContext, int]] = (
    weakref.WeakKeyDictionary()
)


async def traceparent_hook(request: httpx.Request) -> None:
    """httpx request hook: inside a trace, the request carries ``traceparent`` with a span id
    of its own (the trace's REST client span). Outside a trace it adds nothing."""
    context = _current.get()
    if context is None:
        return
    span = context.child()
    request.headers[TRACEPARENT] = span.traceparent()
    if _export is not None:
        _open[request] = (span, time.time_ns())


async def traceresponse_hook(response: httpx.Response) -> None:
    """httpx response hook: closes the request's span when OTLP export is on."""
    if _export is None:
        return
    opened = _open.pop(response.request, None)
    if opened is not None:
        span, started_ns = opened
        _export.span(f"{response.request.method} {response.request.url.path}", span,
                     start_ns=started_ns, end_ns=time.time_ns(),
                     attributes={"http.status_code": response.status_code})  # fmt: skip


#: what :class:`~arbcore.net.http.HttpClient` passes as its httpx client's ``event_hooks``
HTTP_EVENT_HOOKS: Mapping[str, list[Any]] = {
    "request": [traceparent_hook],
    "response": [traceresponse_hook],
}


# -- OpenTelemetry export ---------------------------------------------------------------------

OTEL_MISSING = (
    "an OTLP endpoint is configured ([tracing] otlp_endpoint) but the OpenTelemetry packages "
    "are not installed; install them with: pip install 'arbcore[otel]' (or remove the endpoint)"
)


class OtlpExport:
    """Spans of traded opportunities sent to an OTLP/HTTP collector, batched off the loop.

    Spans are recorded after the fact with the times the caller measured (the decision span
    from frame arrival to decision, one client span per REST request), so the decision path
    never enters the SDK. The trace and span ids are arbcore's own, the same as in the
    ``traceparent`` headers, logs and audit rows.
    """

    def __init__(self, endpoint: str, *, service_name: str = "arbcore",
                 timeout_s: float = 5.0) -> None:  # fmt: skip
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError as exc:
            raise ConfigError(OTEL_MISSING, key="tracing.otlp_endpoint") from exc
        self.endpoint = endpoint
        self._provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        self._provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=timeout_s))
        )
        self._tracer = self._provider.get_tracer("arbcore")
        self.spans = 0

    def span(self, name: str, context: TraceContext, *, start_ns: int, end_ns: int,
             attributes: Mapping[str, str | int | float | bool] | None = None,
             parent_span_id: str | None = None) -> None:  # fmt: skip
        """Record one finished span of ``context``'s trace (wall-clock ns times)."""
        from opentelemetry import trace as otel

        parent = otel.SpanContext(
            trace_id=int(context.trace_id, 16),
            span_id=int(parent_span_id or context.span_id, 16),
            is_remote=True,
            trace_flags=otel.TraceFlags(context.flags),
        )
        span = self._tracer.start_span(
            name,
            context=otel.set_span_in_context(otel.NonRecordingSpan(parent)),
            start_time=start_ns,
            attributes=dict(attributes or {}),
        )
        span.end(end_time=end_ns)
        self.spans += 1

    def flush(self, timeout_s: float = 5.0) -> bool:
        return bool(self._provider.force_flush(int(timeout_s * 1000)))

    def shutdown(self) -> None:
        self._provider.shutdown()


def set_export(export: OtlpExport | None) -> OtlpExport | None:
    """Make ``export`` the process's span exporter (None: off); the previous one."""
    global _export
    previous, _export = _export, export
    return previous


def export_from_config(endpoint: str | None, service_name: str = "arbcore") -> OtlpExport | None:
    """The exporter a ``[tracing]`` section asks for, installed; None when it names none."""
    if not endpoint:
        return None
    export = OtlpExport(endpoint, service_name=service_name)
    set_export(export)
    logger.info("tracing: exporting spans to %s", endpoint)
    return export


def record_span(
    name: str,
    trace_id: str,
    *,
    start_ns: int,
    end_ns: int,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> None:
    """Export one finished span of trace ``trace_id`` (wall-clock ns) if export is on; costs
    one global read when it is off. The engine calls it for each decision, off the hot path."""
    if _export is not None:
        _export.span(name, TraceContext(trace_id), start_ns=start_ns, end_ns=end_ns,
                     attributes=attributes)  # fmt: skip
