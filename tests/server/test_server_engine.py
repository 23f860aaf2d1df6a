"""The control API beside a real engine trading on the simulator (config/demo.toml: four venues
on loopback), in the test's own event loop, the way `arbcore run` serves it."""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from server_kit import AUTH, TOKEN, demo_config
from test_server_streams import _stuck_socket, frames

from arbcore.engine import Engine
from arbcore.risk.engine import TradingState
from arbcore.server import ControlServer, EngineControl
from arbcore.server.app import TOKEN_ENV
from arbcore.storage.audit import RecordKind, read_records
from arbcore_ext.fixedpoint import to_text

pytestmark = pytest.mark.slow
ENV = {TOKEN_ENV: TOKEN}


async def until(check: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.1)


async def collect(socket: Any, into: list[dict[str, Any]]) -> None:
    async for message in socket:
        into.append(json.loads(message))


def test_the_api_reads_and_stops_an_engine_trading_on_the_simulator(tmp_path: Path) -> None:
    engine = Engine(demo_config(tmp_path))
    audit = Path(engine.config.system.storage.path)

    async def scenario() -> None:
        async with ControlServer(EngineControl(engine), engine.config.system.server,
                                 environ=ENV) as server:  # fmt: skip
            ws = server.url.replace("http://", "ws://")
            run = asyncio.create_task(engine.run(7.0))
            trades: list[dict[str, Any]] = []
            system: list[dict[str, Any]] = []
            quotes: list[dict[str, Any]] = []
            async with (httpx.AsyncClient(base_url=server.url, headers=AUTH) as http,
                        websockets.connect(ws + "/trades", additional_headers=AUTH) as t,
                        websockets.connect(ws + "/system", additional_headers=AUTH) as s,
                        websockets.connect(ws + "/market-data?symbols=ETH/BTC&interval_ms=200",
                                           additional_headers=AUTH) as m):  # fmt: skip
                readers = [asyncio.create_task(collect(c, into))
                           for c, into in ((t, trades), (s, system), (m, quotes))]  # fmt: skip

                async def ready() -> bool:
                    health = (await http.get("/health")).json()
                    return bool(health["ready"]) and engine.stats.trades >= 2

                await until(ready)
                health = (await http.get("/health")).json()
                assert sorted(health["venues"]) == ["binance", "bybit", "kraken", "okx"]
                assert all(v["synced"] == v["books"] == 3 for v in health["venues"].values())
                status = (await http.get("/status")).json()
                assert status["running"]
                assert status["trading"]["state"] == "active"
                assert status["counts"]["trades"] >= 2
                assert status["latency_us"]["samples"] > 0
                assert status["streams"] == {"trades": 1, "system": 1, "market-data": 1}

                stopped = await http.post("/trading/stop", json={"reason": "test"})
                assert stopped.json()["state"] == "halted"
                assert engine.risk.state is TradingState.HALTED  # at once, not at a poll
                await until(lambda: _has(system, "state"), timeout=5)
                await run  # the engine keeps running, refusing everything, until its end
                await until(lambda: _has(trades, "order"), timeout=5)
                for reader in readers:
                    reader.cancel()

                page = (await http.get("/orders?limit=1000")).json()
                positions = (await http.get("/positions")).json()
                metrics = (await http.get("/metrics")).text
                restarted = (await http.post("/trading/start")).json()

        # the state change reached /system, and every decision after it was a refusal
        (halted,) = [f for f in system if f["kind"] == "state"]
        assert halted["data"]["state"] == "halted"
        assert "test" in halted["data"]["reason"]
        records = list(read_records(audit))
        (state_row,) = [r for r in records if r.kind is RecordKind.STATE]
        after = [r for r in records if r.kind is RecordKind.RISK_DECISION and r.seq > state_row.seq]
        assert after, "the engine kept deciding after the stop"
        assert all(r.payload["rule"] == "trading_halted" for r in after)
        decided = {r.trace_id: r.seq for r in records if r.kind is RecordKind.RISK_DECISION}
        for request in (r for r in records if r.kind is RecordKind.ORDER_REQUEST):
            if request.seq > state_row.seq:  # only legs of trades approved before the stop
                assert decided[request.trace_id] < state_row.seq

        # /orders is the audit trail's orders, each in its latest state, with exact decimals
        requests = {(r.venue, r.payload["client_order_id"]): r for r in records
                    if r.kind is RecordKind.ORDER_REQUEST}  # fmt: skip
        assert page["total"] == len(requests) == len(page["orders"])
        for order in page["orders"]:
            request = requests[(order["venue"], order["client_order_id"])]
            assert order["trace_id"] == request.trace_id
            decimals = engine.instruments[order["venue"]][order["symbol"]].price_decimals
            assert order["price"] == to_text(order["order"]["price_raw"], decimals)

        # /trades carried the same orders as they happened
        streamed = {(f["data"]["venue"], f["data"]["record"]["client_order_id"])
                    for f in trades if f["kind"] == "order"}  # fmt: skip
        assert streamed
        assert streamed <= set(requests)
        assert {f["kind"] for f in trades} >= {"opportunity", "decision", "order"}

        # /market-data sent only the subscribed symbol, as exact decimal text
        books = [q for f in quotes if f["kind"] == "quotes" for q in f["data"]["quotes"]]
        assert {q["symbol"] for q in books} == {"ETH/BTC"}
        assert {q["venue"] for q in books} == {"binance", "bybit", "kraken", "okx"}
        assert all(q["bid"] < q["ask"] and "e" not in q["bid"] for q in books)

        assert sorted(positions["venues"]) == ["binance", "bybit", "kraken", "okx"]
        assert {f.name for f in text_string_to_metric_families(metrics)}
        assert restarted["state"] == "active"
        assert engine.risk.state.value == "active"

    asyncio.run(asyncio.wait_for(scenario(), timeout=90))


def _has(frames_seen: list[dict[str, Any]], kind: str) -> Any:
    async def check() -> bool:
        return any(f["kind"] == kind for f in frames_seen)

    return check()


def test_ten_clients_and_one_that_stops_reading_leave_the_decision_latency_alone(
    tmp_path: Path,
) -> None:
    """The same engine and seed, alone and then with ten stream clients, one of them stuck."""

    async def alone() -> Engine:
        engine = Engine(demo_config(tmp_path / "alone"))
        await engine.run(5.0)
        return engine

    async def watched() -> tuple[Engine, int, list[int]]:
        engine = Engine(demo_config(tmp_path / "watched"))
        control = EngineControl(engine)
        async with ControlServer(control, engine.config.system.server, environ=ENV) as server:
            ws = server.url.replace("http://", "ws://")
            paths = ["/trades"] * 4 + ["/system"] * 3 + ["/market-data?interval_ms=100"] * 2
            clients = [await websockets.connect(ws + path, additional_headers=AUTH)
                       for path in paths]  # fmt: skip
            stuck = await websockets.connect(ws + "/trades", additional_headers=AUTH, max_queue=1,
                                             compression=None,
                                             sock=_stuck_socket(server.port))  # fmt: skip
            for client in [*clients, stuck]:
                await frames(client, 1, "subscribed")
            seen: list[list[dict[str, Any]]] = [[] for _ in clients]
            readers = [
                asyncio.create_task(collect(c, into)) for c, into in zip(clients, seen, strict=True)
            ]
            await engine.run(5.0)
            listening = control.events.subscribers("trades")
            for reader in readers:
                reader.cancel()
            for client in clients:
                await client.close()
        return engine, listening, [len(s) for s in seen]

    (tmp_path / "alone").mkdir()
    (tmp_path / "watched").mkdir()
    baseline = asyncio.run(asyncio.wait_for(alone(), timeout=60))
    engine, listening, received = asyncio.run(asyncio.wait_for(watched(), timeout=60))
    assert min(received) > 10  # every reading client was served throughout
    assert engine.stats.trades > 0
    p50_alone = statistics.median(baseline.stats.latencies_ns) / 1_000
    p50_watched = statistics.median(engine.stats.latencies_ns) / 1_000
    print(f"decision p50: alone {p50_alone:.1f} us, ten clients (one stuck) {p50_watched:.1f} us")
    assert p50_watched < max(2 * p50_alone, p50_alone + 100), (p50_alone, p50_watched)
    print(f"trades subscribers at the end: {listening}")
