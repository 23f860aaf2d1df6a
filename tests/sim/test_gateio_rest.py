"""Order faults through the Gate.io app in process (ASGI, no sockets): rejections, partial
fills, REST latency, throttling, market buys sized in the quote asset, orders addressed by
``t-<text>`` only while open, and the answer shapes against the documentation's examples."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from arbcore.errors import RateLimitExceeded
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.gateio import auth
from arbcore.exchanges.gateio.execution import check
from arbcore.net.http import HttpRequest
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore_ext.book import ASK, BID

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)
ORDERS = "/api/v4/spot/orders"
MARKET_SELL = {"text": "t-s1", "currency_pair": "BTC_USDT", "type": "market", "side": "sell",
               "amount": "0.2", "time_in_force": "ioc"}  # fmt: skip


@pytest.fixture
def sim(config: SimConfig) -> Simulator:
    simulator = Simulator(attrs.evolve(config, venues=("gateio",)), autostep=False)
    simulator.step()
    return simulator


def call(sim: Simulator, method: str, path: str, fields: dict[str, Any] | None = None,
         **params: str) -> tuple[httpx.Response, float]:  # fmt: skip
    """A signed request to the app in process: the answer and the seconds it took."""
    body = json.dumps(fields, separators=(",", ":")) if fields is not None else ""
    request = auth.sign(HttpRequest(method=method, path=path, params=params, body=body),
                        CREDENTIALS)  # fmt: skip

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["gateio"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.request(method, request.target, content=body.encode() or None,
                                        headers=list(request.headers))  # fmt: skip

    started = time.monotonic()
    response = asyncio.run(send())
    return response, time.monotonic() - started


def test_reject_fault_refuses_the_order(sim: Simulator) -> None:
    sim.faults.arm(Fault.REJECT, "gateio")
    answer, _ = call(sim, "POST", ORDERS, MARKET_SELL)
    assert (answer.status_code, answer.json()["label"]) == (400, "TRADE_RESTRICTED")
    answer, _ = call(sim, "POST", ORDERS, MARKET_SELL)
    assert (answer.status_code, answer.json()["finish_as"]) == (201, "filled")


def test_partial_fill_fault_fills_half_and_ends_the_rest(sim: Simulator) -> None:
    sim.faults.arm(Fault.PARTIAL_FILL, "gateio")
    order = call(sim, "POST", ORDERS, MARKET_SELL)[0].json()
    assert (order["status"], order["filled_amount"], order["left"]) == ("cancelled", "0.1", "0")
    assert order["finish_as"] == "depth_not_enough"


def test_latency_fault_delays_the_answer(sim: Simulator) -> None:
    sim.faults.configure("gateio", rest_latency_ms=150.0)
    sim.faults.arm(Fault.LATENCY, "gateio")
    assert call(sim, "GET", "/api/v4/spot/time")[1] >= 0.15


def test_rate_limit_fault_answers_429_with_the_reset_time(sim: Simulator) -> None:
    sim.faults.configure("gateio", retry_after_s=3)
    sim.faults.arm(Fault.RATE_LIMIT, "gateio")
    answer, _ = call(sim, "GET", "/api/v4/spot/order_book", currency_pair="BTC_USDT")
    assert (answer.status_code, answer.json()["label"]) == (429, "TOO_MANY_REQUESTS")
    reset_ms = int(answer.headers["X-Gate-RateLimit-Reset-Timestamp"])
    error = check(answer, now_ms=reset_ms - 3000)
    assert isinstance(error, RateLimitExceeded)
    assert error.retry_after == 3.0


def test_market_buy_spends_the_quote_amount(sim: Simulator) -> None:
    engine = sim.venues["gateio"].engines["BTC/USDT"]
    ask = Decimal(engine.instrument.price_text(engine.best(ASK) or 0))  # 1000 USDT: the touch
    order = call(sim, "POST", ORDERS, {**MARKET_SELL, "side": "buy", "amount": "1000"})[0].json()
    assert (order["amount"], order["status"], order["finish_as"]) == ("1000", "closed", "filled")
    spent, bought = Decimal(order["filled_total"]), Decimal(order["filled_amount"])
    assert spent == bought * ask
    assert 1000 - ask * Decimal("0.00001") < spent <= 1000  # all but less than a lot's worth
    poor = call(sim, "POST", ORDERS, {**MARKET_SELL, "side": "buy", "amount": "2000000"})[0]
    assert (poor.status_code, poor.json()["label"]) == (400, "BALANCE_NOT_ENOUGH")


def test_text_addresses_an_order_only_while_it_is_open(sim: Simulator) -> None:
    engine = sim.venues["gateio"].engines["BTC/USDT"]
    bid = engine.instrument.price_text((engine.best(BID) or 0) - 10_000)
    resting = {**MARKET_SELL, "text": "t-r1", "type": "limit", "side": "buy", "amount": "0.01",
               "price": bid, "time_in_force": "gtc"}  # fmt: skip
    placed = call(sim, "POST", ORDERS, resting)[0].json()
    by_text, _ = call(sim, "GET", f"{ORDERS}/t-r1", currency_pair="BTC_USDT")
    assert by_text.json()["id"] == placed["id"]
    cancelled = call(sim, "DELETE", f"{ORDERS}/t-r1", currency_pair="BTC_USDT")[0].json()
    assert (cancelled["status"], cancelled["finish_as"]) == ("cancelled", "cancelled")
    gone, _ = call(sim, "GET", f"{ORDERS}/t-r1", currency_pair="BTC_USDT")
    assert (gone.status_code, gone.json()["label"]) == (404, "ORDER_NOT_FOUND")
    by_id, _ = call(sim, "GET", f"{ORDERS}/{placed['id']}", currency_pair="BTC_USDT")
    assert by_id.json()["status"] == "cancelled"
    again, _ = call(sim, "DELETE", f"{ORDERS}/{placed['id']}", currency_pair="BTC_USDT")
    assert (again.status_code, again.json()["label"]) == (400, "ORDER_CANCELLED")
    finished = call(sim, "GET", ORDERS, currency_pair="BTC_USDT", status="finished")[0].json()
    assert [order["text"] for order in finished] == ["t-r1"]


def test_answers_have_the_documented_fields(sim: Simulator, shared_data: Path) -> None:
    vectors = shared_data / "vectors/gateio"

    def documented(name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((vectors / name).read_text())
        return loaded

    create = documented("rest_create_order.json")
    full = call(sim, "POST", ORDERS, MARKET_SELL)[0].json()
    assert set(create["response_result_example"]) <= set(full)
    ack = call(sim, "POST", ORDERS, {**MARKET_SELL, "action_mode": "ACK"})[0].json()
    assert list(ack) == list(create["response_ack"])
    result = call(sim, "POST", ORDERS, {**MARKET_SELL, "action_mode": "RESULT"})[0].json()
    assert "fee" not in result
    assert set(create["response_result_example"]) <= set(result)
    fee = call(sim, "GET", "/api/v4/spot/fee", currency_pair="BTC_USDT")[0].json()
    assert list(fee) == list(documented("rest_fee.json")["response"])
    assert (fee["maker_fee"], fee["taker_fee"]) == ("0.002", "0.002")
    held = call(sim, "GET", "/api/v4/spot/accounts", currency="BTC")[0].json()
    assert [(b["currency"], b["locked"]) for b in held] == [("BTC", "0")]
