"""Order faults through the Binance app in process (ASGI, no sockets): rejections, partial
fills, REST latency, and the answer shapes against the documentation's examples."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from arbcore.exchanges.binance import auth
from arbcore.exchanges.credentials import Credentials
from arbcore.net.http import HttpRequest
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)


def order(sim: Simulator, **params: str) -> tuple[int, Any, float]:
    """POST /api/v3/order in process: status, body, seconds taken."""
    request = auth.sign(
        HttpRequest(method="POST", path="/api/v3/order", body=urlencode(params)), CREDENTIALS
    )

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["binance"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.post(request.target, content=request.body.encode(),
                                     headers=list(request.headers))  # fmt: skip

    started = time.monotonic()
    response = asyncio.run(post())
    return response.status_code, response.json(), time.monotonic() - started


@pytest.fixture
def sim(config: SimConfig) -> Simulator:
    simulator = Simulator(config, autostep=False)
    simulator.step()
    return simulator


MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.2"}


def test_reject_fault_refuses_the_order(sim: Simulator) -> None:
    sim.faults.arm(Fault.REJECT, "binance")
    status, body, _ = order(sim, **MARKET_BUY)
    assert (status, body["code"]) == (400, -2010)
    assert order(sim, **MARKET_BUY)[1]["status"] == "FILLED"


def test_partial_fill_fault_fills_half_and_expires_the_rest(sim: Simulator) -> None:
    sim.faults.arm(Fault.PARTIAL_FILL, "binance")
    status, body, _ = order(sim, **MARKET_BUY)
    assert status == 200
    assert (body["status"], body["executedQty"]) == ("EXPIRED", "0.10000000")


def test_latency_fault_delays_the_answer(sim: Simulator) -> None:
    sim.faults.configure("binance", rest_latency_ms=150.0)
    sim.faults.arm(Fault.LATENCY, "binance")
    assert order(sim, **MARKET_BUY)[2] >= 0.15


def test_order_answers_have_the_documented_fields(sim: Simulator, shared_data: Path) -> None:
    vectors = shared_data / "vectors/binance"
    for shape in ("ACK", "RESULT", "FULL"):
        documented = json.loads((vectors / f"new_order_response_{shape.lower()}.json").read_text())
        _, body, _ = order(sim, **MARKET_BUY, newOrderRespType=shape)
        assert list(body) == list(documented), shape
        if shape == "FULL":
            assert list(body["fills"][0]) == list(documented["fills"][0])
