"""Order faults and refusals through the HTX app in process (ASGI, no sockets): rejections,
partial fills, throttling, lost answers, post-only orders that would take, signature checks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs
import httpx
import pytest

from arbcore.errors import RateLimitExceeded
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.htx import auth
from arbcore.exchanges.htx.execution import check
from arbcore.net.http import HttpRequest
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore_ext.book import BID

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)
PLACE = "/v1/order/orders/place"


@pytest.fixture
def sim(config: SimConfig) -> Simulator:
    simulator = Simulator(attrs.evolve(config, venues=("htx",)), autostep=False)
    simulator.step()
    return simulator


def call(sim: Simulator, method: str, path: str, fields: dict[str, Any] | None = None,
         credentials: Credentials = CREDENTIALS, **params: str) -> httpx.Response:  # fmt: skip
    body = json.dumps(fields, separators=(",", ":")) if fields is not None else ""
    request = auth.sign(HttpRequest(method=method, path=path, params=params, body=body),
                        credentials, host="sim")  # fmt: skip

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["htx"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.request(method, request.target, content=body.encode() or None)

    return asyncio.run(send())


def order(sim: Simulator, **changes: str) -> dict[str, str]:
    account_id = call(sim, "GET", "/v1/account/accounts").json()["data"][0]["id"]
    return {"account-id": str(account_id), "symbol": "btcusdt", "type": "sell-market",
            "amount": "0.2", "source": "spot-api", "client-order-id": "s1", **changes}  # fmt: skip


def code(answer: httpx.Response) -> tuple[int, str | None]:
    return answer.status_code, answer.json().get("err-code")


def detail(sim: Simulator, client_id: str) -> dict[str, Any]:
    found: dict[str, Any] = call(sim, "GET", "/v1/order/orders/getClientOrder",
                                 clientOrderId=client_id).json()["data"]  # fmt: skip
    return found


def test_reject_and_partial_fill_faults(sim: Simulator) -> None:
    sim.faults.arm(Fault.REJECT, "htx")
    assert code(call(sim, "POST", PLACE, order(sim))) == (200, "order-disabled")
    sim.faults.arm(Fault.PARTIAL_FILL, "htx")
    assert call(sim, "POST", PLACE, order(sim)).json()["status"] == "ok"
    placed = detail(sim, "s1")
    assert (placed["state"], placed["field-amount"]) == ("partial-canceled", "0.1")
    assert placed["canceled-source"] == "market"


def test_rate_limit_and_lost_answer(sim: Simulator) -> None:
    sim.faults.arm(Fault.RATE_LIMIT, "htx")
    throttled = call(sim, "GET", "/v1/common/timestamp")
    assert code(throttled) == (429, "510")
    assert isinstance(check(throttled), RateLimitExceeded)
    fields = order(sim)
    sim.faults.arm(Fault.SERVER_ERROR, "htx")
    assert code(call(sim, "POST", PLACE, fields)) == (500, "base-system-error")
    assert detail(sim, "s1")["state"] == "filled"  # the order stands


def test_post_only_that_would_take_is_cancelled_and_refusals_are_htxs(sim: Simulator) -> None:
    bid = sim.venues["htx"].engines["BTC/USDT"].best(BID)
    assert bid is not None
    price = sim.venues["htx"].engines["BTC/USDT"].instrument.price_text(bid)
    maker = order(sim, type="sell-limit-maker", price=price, amount="0.01")
    assert call(sim, "POST", PLACE, maker).json()["status"] == "ok"
    voided = detail(sim, "s1")
    assert (voided["state"], voided["canceled-source"]) == ("canceled", "limit_maker")
    cases = [
        (order(sim, amount="0.0000001", **{"client-order-id": "a"}),
         "order-orderamount-precision-error"),
        (order(sim, amount="0.00001", type="sell-limit", price="1", **{"client-order-id": "b"}),
         "order-value-min-error"),
        (order(sim, type="buy-market", amount="90000000", **{"client-order-id": "c"}),
         "order-accountbalance-error"),
        (order(sim, symbol="nopeusdt"), "base-symbol-error"),
        (order(sim, type="sell-fok"), "order-type-invalid"),
    ]  # fmt: skip
    for fields, expected in cases:
        assert code(call(sim, "POST", PLACE, fields)) == (200, expected), fields
    assert code(call(sim, "GET", "/v1/order/orders/getClientOrder", clientOrderId="zz")) == (
        200, "base-record-invalid")  # fmt: skip
    forged = call(sim, "GET", "/v1/account/accounts", credentials=Credentials("nobody", "x"))
    assert code(forged) == (200, "api-signature-not-valid")
    assert "Access key" in forged.json()["err-msg"]
