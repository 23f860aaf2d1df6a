"""Order faults through the KuCoin app in process (ASGI, no sockets): rejections, partial
fills, REST latency, throttling, a lost placement answer, and the answer shapes against the
documentation's examples."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from arbcore.errors import RateLimitExceeded
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.kucoin import auth
from arbcore.exchanges.kucoin.execution import KuCoinExecution, check
from arbcore.exchanges.trading import prepare_order
from arbcore.model import OrderSide, OrderStatus, OrderType
from arbcore.net.http import HttpRequest
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.venues.kucoin import FIRST_SEQUENCE, KuCoinServer
from arbcore_ext.book import ASK
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret,
                          DEFAULT_ACCOUNT.passphrase)  # fmt: skip
MARKET_BUY = {"symbol": "BTC-USDT", "side": "buy", "type": "market", "size": "0.2"}


@pytest.fixture
def sim(config: SimConfig) -> Simulator:
    simulator = Simulator(attrs.evolve(config, venues=("kucoin",)), autostep=False)
    simulator.step()
    return simulator


def call(sim: Simulator, method: str, path: str, fields: dict[str, Any] | None = None,
         **params: str) -> tuple[httpx.Response, float]:  # fmt: skip
    """A signed request to the app in process: the answer and the seconds it took."""
    body = json.dumps(fields, separators=(",", ":")) if fields is not None else ""
    request = auth.sign(
        HttpRequest(method=method, path=path, params=params, body=body,
                    headers=(("Content-Type", "application/json"),)),
        CREDENTIALS,
    )  # fmt: skip

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["kucoin"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.request(method, request.target, content=body.encode() or None,
                                        headers=list(request.headers))  # fmt: skip

    started = time.monotonic()
    response = asyncio.run(send())
    return response, time.monotonic() - started


def detail(sim: Simulator, client_oid: str) -> dict[str, Any]:
    answer, _ = call(sim, "GET", f"/api/v1/hf/orders/client-order/{client_oid}", symbol="BTC-USDT")
    data: dict[str, Any] = answer.json()["data"]
    return data


def test_reject_fault_refuses_the_order(sim: Simulator) -> None:
    sim.faults.arm(Fault.REJECT, "kucoin")
    answer, _ = call(sim, "POST", "/api/v1/hf/orders", {**MARKET_BUY, "clientOid": "r-1"})
    assert (answer.status_code, answer.json()["code"]) == (400, "400100")
    answer, _ = call(sim, "POST", "/api/v1/hf/orders", {**MARKET_BUY, "clientOid": "r-1"})
    assert answer.json()["code"] == "200000"
    assert detail(sim, "r-1")["dealSize"] == "0.2"


def test_partial_fill_fault_fills_half_and_cancels_the_rest(sim: Simulator) -> None:
    sim.faults.arm(Fault.PARTIAL_FILL, "kucoin")
    call(sim, "POST", "/api/v1/hf/orders", {**MARKET_BUY, "clientOid": "p-1"})
    order = detail(sim, "p-1")
    assert (order["active"], order["dealSize"], order["cancelledSize"]) == (False, "0.1", "0.1")


def test_latency_fault_delays_the_answer(sim: Simulator) -> None:
    sim.faults.configure("kucoin", rest_latency_ms=150.0)
    sim.faults.arm(Fault.LATENCY, "kucoin")
    assert call(sim, "GET", "/api/v1/timestamp")[1] >= 0.15


def test_rate_limit_fault_answers_429000_with_the_pool_reset(sim: Simulator) -> None:
    sim.faults.configure("kucoin", retry_after_s=3)
    sim.faults.arm(Fault.RATE_LIMIT, "kucoin")
    answer, _ = call(sim, "GET", "/api/v1/market/orderbook/level2_20", symbol="BTC-USDT")
    assert (answer.status_code, answer.json()["code"]) == (429, "429000")
    assert answer.headers["gw-ratelimit-reset"] == "3000"
    error = check(answer)
    assert isinstance(error, RateLimitExceeded)
    assert error.retry_after == 3.0


def test_lost_placement_answer_is_found_by_client_oid_not_placed_twice(sim: Simulator) -> None:
    async def scenario() -> None:
        transport = httpx.ASGITransport(app=sim.servers["kucoin"].app)
        execution = KuCoinExecution(CREDENTIALS, sim.venues["kucoin"].instruments,
                                    base_url="http://sim", transport=transport)  # fmt: skip
        try:
            btc_usdt = next(i for i in execution.symbols.by_native.values()
                            if i.symbol == "BTC/USDT")  # fmt: skip
            sim.faults.arm(Fault.SERVER_ERROR, "kucoin")  # placed, but the answer is lost
            order = prepare_order(btc_usdt, OrderSide.BUY, to_raw("0.01", 5),
                                  type=OrderType.MARKET)  # fmt: skip
            placed = await execution.place_order(order)
            assert (placed.status, placed.filled_raw) == (OrderStatus.FILLED, 1_000)
        finally:
            await execution.aclose()

    asyncio.run(scenario())
    assert sim.faults.injected == {("kucoin", Fault.SERVER_ERROR): 1}
    btc = sim.venues["kucoin"].ledger.balance("trader", "BTC")
    assert btc.free == to_raw("10.00999", btc.decimals)  # 0.01 bought once, less 0.1 % fee


def test_answers_have_the_documented_fields(sim: Simulator, shared_data: Path) -> None:
    vectors = shared_data / "vectors/kucoin"

    def documented(name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((vectors / name).read_text())
        return loaded

    placed, _ = call(sim, "POST", "/api/v1/hf/orders", {**MARKET_BUY, "clientOid": "d-1"})
    expected = documented("place_order_response.json")
    assert list(placed.json()) == list(expected)
    assert list(placed.json()["data"]) == list(expected["data"])
    assert list(detail(sim, "d-1")) == list(documented("get_order_response.json")["data"])
    bullet, _ = call(sim, "POST", "/api/v1/bullet-public")
    server = documented("bullet_public_response.json")["data"]["instanceServers"][0]
    assert list(bullet.json()["data"]["instanceServers"][0]) == list(server)
    fee, _ = call(sim, "GET", "/api/v1/base-fee")
    assert fee.json() == documented("base_fee_response.json")


def test_full_snapshot_is_signed_and_on_the_stream_sequence(sim: Simulator) -> None:
    answer, _ = call(sim, "GET", "/api/v3/market/orderbook/level2", symbol="ETH-USDT")
    data = answer.json()["data"]
    server = sim.servers["kucoin"]
    assert isinstance(server, KuCoinServer)
    assert int(data["sequence"]) == server.sequence("ETH/USDT") > FIRST_SEQUENCE
    assert len(data["asks"]) == len(sim.venues["kucoin"].engines["ETH/USDT"].levels(ASK))

    async def anonymous() -> httpx.Response:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get("/api/v3/market/orderbook/level2?symbol=ETH-USDT")

    refused = asyncio.run(anonymous())
    assert (refused.status_code, refused.json()["code"]) == (401, "400001")
