"""Kraken's private REST through the app in process (ASGI, no sockets): the signature and nonce
checks, Kraken's error strings for refused orders, and the REST and order faults."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any
from urllib.parse import urlencode

import attrs
import httpx
import pytest

from arbcore.errors import ExchangeNotAvailable, InvalidOrder, OrderNotFound, RateLimitExceeded
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.kraken import auth
from arbcore.exchanges.kraken.execution import check
from arbcore.net.http import HttpRequest
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.venues.kraken.app import private_key
from arbcore_ext.book import BID

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, private_key(DEFAULT_ACCOUNT))
_nonces = itertools.count(1_700_000_000_000)


@pytest.fixture
def sim(config: SimConfig) -> Simulator:
    simulator = Simulator(attrs.evolve(config, venues=("kraken",)), autostep=False)
    simulator.step()
    return simulator


def call(sim: Simulator, method: str, credentials: Credentials = CREDENTIALS,
         nonce: int | None = None, **fields: str) -> httpx.Response:  # fmt: skip
    request = auth.sign(
        HttpRequest(method="POST", path=f"/0/private/{method}", body=urlencode(fields)),
        credentials,
        nonce=str(next(_nonces) if nonce is None else nonce),
    )

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["kraken"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.post(request.path, content=request.body.encode(),
                                     headers=list(request.headers))  # fmt: skip

    return asyncio.run(send())


def errors(answer: httpx.Response) -> list[str]:
    assert answer.status_code in (200, 500, 503)
    found: list[str] = answer.json()["error"]
    return found


def result(answer: httpx.Response) -> Any:
    assert errors(answer) == [], answer.json()
    return answer.json()["result"]


def order(**changes: str) -> dict[str, str]:
    return {"ordertype": "market", "pair": "XBTUSDT", "type": "sell", "volume": "0.2",
            "cl_ord_id": "s1", **changes}  # fmt: skip


def test_private_calls_check_key_signature_and_nonce(sim: Simulator) -> None:
    assert errors(call(sim, "BalanceEx", Credentials("nobody", CREDENTIALS.secret))) == [
        "EAPI:Invalid key"]  # fmt: skip
    other = Credentials(CREDENTIALS.api_key, private_key(attrs.evolve(DEFAULT_ACCOUNT,
                                                                      secret="x")))  # fmt: skip
    assert errors(call(sim, "BalanceEx", other)) == ["EAPI:Invalid signature"]
    balances = result(call(sim, "BalanceEx", nonce=2_000_000_000_000))
    assert balances["XXBT"] == {"balance": "10.000000000", "hold_trade": "0.000000000"}
    assert set(balances) == {"XXBT", "XETH", "USDT", "USDC", "SOL"}
    assert errors(call(sim, "BalanceEx", nonce=2_000_000_000_000)) == ["EAPI:Invalid nonce"]
    assert check(call(sim, "BalanceEx", nonce=1)) is not None


def test_refused_orders_carry_krakens_error_strings(sim: Simulator) -> None:
    bid = sim.venues["kraken"].engines["BTC/USDT"].best(BID)
    assert bid is not None
    price = f"{bid / 100 - 100:.2f}"
    cases = {
        "EOrder:Insufficient funds": order(volume="11"),
        "EGeneral:Invalid arguments:volume": order(volume="0.000001"),
        "EOrder:Cost minimum not met": order(ordertype="limit", price=price, volume="0.00001"),
        "EGeneral:Invalid arguments:price": order(ordertype="limit", price="1.001"),
        "EQuery:Unknown asset pair": order(pair="XBTEUR"),
        "EGeneral:Invalid arguments:ordertype": order(ordertype="stop-loss"),
        "EGeneral:Invalid arguments:cl_ord_id": order(cl_ord_id="x" * 19),
        "EGeneral:Invalid arguments:timeinforce": order(ordertype="limit", price=price,
                                                        timeinforce="GTD"),
        "EOrder:Post only order": order(ordertype="limit", price=f"{bid / 100:.2f}",
                                        type="sell", oflags="post"),
    }  # fmt: skip
    for expected, fields in cases.items():
        assert errors(call(sim, "AddOrder", **fields)) == [expected], fields
    fok = call(sim, "AddOrder", ordertype="limit", pair="XBTUSDT", type="sell", volume="0.2",
               price=price, timeinforce="FOK")  # fmt: skip  # AddOrder has no FOK
    assert errors(fok) == ["EGeneral:Invalid arguments:timeinforce"]
    assert sim.venues["kraken"].engines["BTC/USDT"].open_orders("trader") == []
    resting = order(ordertype="limit", type="buy", price=price, volume="0.01", cl_ord_id="r1")
    txid = result(call(sim, "AddOrder", **resting))["txid"][0]
    assert errors(call(sim, "AddOrder", **resting)) == [
        "EGeneral:Invalid arguments:cl_ord_id already in use"]  # fmt: skip
    assert result(call(sim, "CancelOrder", txid=txid)) == {"count": 1}
    assert errors(call(sim, "CancelOrder", cl_ord_id="r1")) == ["EOrder:Unknown order"]
    info = result(call(sim, "QueryOrders", txid=txid))[txid]
    assert (info["status"], info["reason"], info["cl_ord_id"]) == ("canceled", "User requested",
                                                                   "r1")  # fmt: skip
    assert errors(call(sim, "QueryOrders", txid="OAAAAA-BBBBB-CCCCCC")) == ["EOrder:Invalid order"]
    checked = result(call(sim, "AddOrder", **order(validate="true")))
    assert checked == {"descr": {"order": "sell 0.20000000 XBTUSDT @ market"}}
    for text, error in (("EOrder:Unknown order", OrderNotFound),
                        ("EOrder:Post only order", InvalidOrder)):  # fmt: skip
        answer = httpx.Response(200, json={"error": [text], "result": {}},
                                request=httpx.Request("POST", "http://sim/"))  # fmt: skip
        assert isinstance(check(answer), error)


def test_order_views_and_fees(sim: Simulator) -> None:
    txid = result(call(sim, "AddOrder", **order()))["txid"][0]
    closed = result(call(sim, "ClosedOrders", cl_ord_id="s1"))
    assert closed["count"] == 1
    info = closed["closed"][txid]
    assert (info["status"], info["vol"], info["vol_exec"]) == ("closed", "0.20000000",
                                                                "0.20000000")  # fmt: skip
    assert info["descr"]["pair"] == "XBTUSDT"
    assert info["descr"]["ordertype"] == "market"
    assert result(call(sim, "OpenOrders")) == {"open": {}}
    fees = result(call(sim, "TradeVolume", pair="XBTUSDT"))
    assert (fees["fees"]["XBTUSDT"]["fee"], fees["fees_maker"]["XBTUSDT"]["fee"]) == (
        "0.26", "0.16")  # fmt: skip


def test_faults_answer_as_kraken_does(sim: Simulator) -> None:
    sim.faults.arm(Fault.RATE_LIMIT, "kraken")
    limited = call(sim, "BalanceEx")
    assert errors(limited) == ["EAPI:Rate limit exceeded"]
    assert isinstance(check(limited), RateLimitExceeded)
    sim.faults.arm(Fault.SERVER_ERROR, "kraken")
    down = call(sim, "BalanceEx")
    assert (down.status_code, errors(down)) == (503, ["EService:Unavailable"])
    assert isinstance(check(down), ExchangeNotAvailable)
    sim.faults.arm(Fault.SERVER_ERROR, "kraken")
    lost = call(sim, "AddOrder", **order(cl_ord_id="lost"))
    assert (lost.status_code, errors(lost)) == (500, ["EGeneral:Internal error"])
    assert result(call(sim, "ClosedOrders", cl_ord_id="lost"))["count"] == 1  # it stands
    sim.faults.arm(Fault.REJECT, "kraken")
    assert errors(call(sim, "AddOrder", **order(cl_ord_id="rej"))) == [
        "EOrder:Orders limit exceeded"]  # fmt: skip
    sim.faults.arm(Fault.PARTIAL_FILL, "kraken")
    txid = result(call(sim, "AddOrder", **order(cl_ord_id="half")))["txid"][0]
    half = result(call(sim, "QueryOrders", txid=txid))[txid]
    assert (half["status"], half["vol_exec"], half["reason"]) == (
        "canceled", "0.10000000", "Insufficient liquidity")  # fmt: skip
