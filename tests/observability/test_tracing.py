"""W3C Trace Context: the header read and written strictly, the current trace following a
trade's tasks, and one trade on the simulator showing the same trace id in the REST requests
the venue received, in the log lines and in the audit rows."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.config.schema import ExecutionConfig, LoggingConfig
from arbcore.errors import ConfigError
from arbcore.exchanges.binance.execution import BinanceExecution
from arbcore.exchanges.credentials import Credentials
from arbcore.execution.router import Router
from arbcore.model import Opportunity, OpportunityLeg, OrderSide
from arbcore.observability import tracing
from arbcore.observability.logs import configure_logging
from arbcore.observability.tracing import (
    TraceContext,
    TraceIdFilter,
    new_span_id,
    new_trace_id,
    parse_traceparent,
    trace,
)
from arbcore.sim import DEFAULT_ACCOUNT, SimConfig, Simulator
from arbcore.storage import AuditTrail, RecordKind
from arbcore.storage.audit import read_records
from arbcore_ext.fixedpoint import to_raw

hex_ids = st.binary(min_size=16, max_size=16).map(bytes.hex).filter(lambda h: h.strip("0"))
span_ids = st.binary(min_size=8, max_size=8).map(bytes.hex).filter(lambda h: h.strip("0"))


@given(hex_ids, span_ids, st.integers(min_value=0, max_value=255))
def test_traceparent_round_trips(trace_id: str, span_id: str, flags: int) -> None:
    context = TraceContext(trace_id, span_id, flags)
    header = context.traceparent()
    assert header == f"00-{trace_id}-{span_id}-{flags:02x}"
    assert parse_traceparent(header) == context


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", "trace id is all zeros"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01", "parent id is all zeros"),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version ff"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "four fields"),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "lowercase"),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "lowercase hex"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "lowercase hex"),
    ],
)
def test_malformed_traceparents_are_refused_with_the_reason(header: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_traceparent(header)


def test_the_specs_example_and_a_future_version_parse() -> None:
    example = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert (example.trace_id, example.span_id, example.sampled) == (
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", True)  # fmt: skip
    future = parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more")
    assert not future.sampled
    with pytest.raises(ValueError, match="trace id"):
        TraceContext("0" * 32)


def test_new_ids_are_lowercase_hex_of_the_right_length_and_unique() -> None:
    traces = {new_trace_id() for _ in range(2_000)}
    spans = {new_span_id() for _ in range(2_000)}
    assert len(traces) == len(spans) == 2_000
    assert all(len(t) == 32 and t == t.lower() and int(t, 16) for t in traces)
    assert all(len(s) == 16 and int(s, 16) for s in spans)


def test_a_trace_follows_the_tasks_started_inside_it_and_nothing_else() -> None:
    async def run() -> tuple[str, str, list[str], str]:
        async def child() -> str:
            await asyncio.sleep(0)
            return tracing.current_trace_id()

        async def trade(trace_id: str) -> list[str]:
            tracing.activate(trace_id)
            return list(await asyncio.gather(child(), child()))

        with trace("a" * 32):
            inside = tracing.current_trace_id()
            spawned = asyncio.create_task(child())
        outside = tracing.current_trace_id()
        legs = await asyncio.create_task(trade("b" * 32))
        return inside, await spawned, legs, outside + tracing.current_trace_id()

    inside, spawned, legs, outside = asyncio.run(run())
    assert inside == spawned == "a" * 32
    assert legs == ["b" * 32, "b" * 32]
    assert outside == ""  # the trade's activate() did not leak into its parent


def test_every_log_record_gets_the_current_trace_id() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with trace("c" * 32):
        TraceIdFilter().filter(record)
    assert getattr(record, "trace_id", None) == "c" * 32
    given_id = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    given_id.trace_id = "d" * 32
    with trace("c" * 32):
        TraceIdFilter().filter(given_id)
    assert getattr(given_id, "trace_id", None) == "d" * 32  # extra={"trace_id": ...} wins


def test_an_otlp_endpoint_without_the_packages_says_what_to_install() -> None:
    pytest.importorskip("arbcore")  # (always there; the check is on opentelemetry below)
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"pip install 'arbcore\[otel\]'"):
            tracing.export_from_config("http://127.0.0.1:4318/v1/traces")
    else:
        pytest.skip("opentelemetry is installed here: the missing-package path cannot run")
    assert tracing.export_from_config(None) is None  # off by default: nothing imported


# -- one trade on the simulator -----------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    configure_logging(LoggingConfig(format="json"), stream=stream, environ={})
    yield stream
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


class Received:
    """The venue's ASGI app, remembering each request's path and headers as it arrives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            self.requests.append((scope["method"], scope["path"], headers))
        await self.app(scope, receive, send)


def test_a_trade_carries_its_trace_id_to_the_venue_the_log_and_the_audit(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    sim = Simulator(SimConfig(venues=("binance",), symbols=("BTC/USDT",), seed=3),
                    autostep=False)  # fmt: skip
    sim.step()
    received = Received(sim.servers["binance"].app)
    transport = httpx.ASGITransport(app=received)
    instruments = sim.venues["binance"].instruments
    btc = next(i for i in instruments if i.symbol == "BTC/USDT")
    credentials = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)
    trace_id = new_trace_id()

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            depth = (await http.get("/api/v3/depth", params={"symbol": "BTCUSDT"})).json()
        bid, ask = depth["bids"][0][0], depth["asks"][0][0]
        size = "0.001"

        def leg(side: OrderSide, price: str) -> OpportunityLeg:
            return OpportunityLeg(venue="binance", symbol="BTC/USDT", side=side,
                                  price=float(price), size=float(size),
                                  price_raw=to_raw(price, btc.price_decimals),
                                  size_raw=to_raw(size, btc.size_decimals))  # fmt: skip

        opportunity = Opportunity(kind="cross_exchange", venue="binance->binance",
                                  legs=(leg(OrderSide.BUY, ask), leg(OrderSide.SELL, bid)),
                                  rate=1.0, profit_bps=0.0, size=0.001, expected_profit=0.0,
                                  detected_at_ns=0, asset="USDT")  # fmt: skip
        execution = BinanceExecution(credentials, instruments, base_url="http://sim",
                                     transport=transport)  # fmt: skip
        with AuditTrail(tmp_path / "audit.db", synchronous="NORMAL") as audit:
            router = Router({"binance": execution}, lambda venue, symbol: btc,
                            ExecutionConfig(leg_failure="hold"), audit=audit)  # fmt: skip

            async def trade() -> None:  # what the engine's trade task does
                tracing.activate(trace_id)
                await router.execute(opportunity, trace_id)

            await asyncio.create_task(trade())
            audit.flush()
        await execution.aclose()

    asyncio.run(asyncio.wait_for(run(), 30))
    orders = [headers for method, path, headers in received.requests if path == "/api/v3/order"]
    assert len(orders) == 2
    contexts = [parse_traceparent(headers["traceparent"]) for headers in orders]
    assert {c.trace_id for c in contexts} == {trace_id}
    assert len({c.span_id for c in contexts}) == 2  # each request its own span
    (depth_headers,) = [h for _, path, h in received.requests if path == "/api/v3/depth"]
    assert "traceparent" not in depth_headers  # outside the trade: no trace
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    posted = [line for line in lines if "POST http://sim/api/v3/order" in line["msg"]]
    assert len(posted) == 2
    assert {line["trace_id"] for line in posted} == {trace_id}
    assert DEFAULT_ACCOUNT.secret not in json_log.getvalue()
    rows = list(read_records(tmp_path / "audit.db"))
    assert {row.trace_id for row in rows} == {trace_id}
    kinds = [row.kind for row in rows]
    assert kinds.count(RecordKind.ORDER_REQUEST) == kinds.count(RecordKind.VENUE_REPLY) == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_hands_out_its_parents_ids() -> None:
    new_trace_id(), new_span_id()  # (both pools hold ids now)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first ids, then out
        os.close(read)
        os.write(write, (new_trace_id() + new_span_id()).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 48).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 48
    assert child[:32] != new_trace_id()
    assert child[32:] != new_span_id()
