"""Order faults through the Bybit app in process (ASGI, no sockets): rejections, partial fills,
REST latency, and the answers' shapes against the documentation's examples."""

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
from test_bybit_live import CREDENTIALS

from arbcore.exchanges.bybit import auth
from arbcore.exchanges.bybit.execution import check
from arbcore.net.http import HttpRequest
from arbcore.sim import Fault, SimConfig, Simulator
from arbcore.sim.protocol import compact
from arbcore.sim.stream import Outgoing
from arbcore.sim.venues.bybit import BybitServer
from arbcore_ext.book import ASK

MARKET_BUY = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
              "qty": "0.2", "marketUnit": "baseCoin", "orderLinkId": "m1"}  # fmt: skip


def call(sim: Simulator, method: str, path: str, body: dict[str, Any] | None = None,
         **params: str) -> tuple[int, Any, float]:  # fmt: skip
    """A signed request in process: status, JSON body, seconds taken."""
    unsigned = HttpRequest(method=method, path=path, params=tuple(params.items()),
                           body=compact(body) if body else "")  # fmt: skip
    request = auth.sign(unsigned, CREDENTIALS)

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["bybit"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.request(method, request.target, headers=list(request.headers),
                                        content=request.body.encode() or None)  # fmt: skip

    started = time.monotonic()
    response = asyncio.run(send())
    return response.status_code, response.json(), time.monotonic() - started


def place(sim: Simulator, **changes: str) -> tuple[int, Any, float]:
    return call(sim, "POST", "/v5/order/create", {**MARKET_BUY, **changes})


def state(sim: Simulator, link_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = call(sim, "GET", "/v5/order/realtime", category="spot",
                                 orderLinkId=link_id)[1]["result"]["list"][0]  # fmt: skip
    return entry


@pytest.fixture
def sim(config: SimConfig) -> Simulator:
    simulator = Simulator(attrs.evolve(config, venues=("bybit",)), autostep=False)
    simulator.step()
    return simulator


def test_reject_fault_refuses_the_order(sim: Simulator) -> None:
    sim.faults.arm(Fault.REJECT, "bybit")
    status, body, _ = place(sim)
    assert (status, body["retCode"]) == (200, 170210)
    assert place(sim, orderLinkId="m2")[1]["retCode"] == 0
    assert state(sim, "m2")["orderStatus"] == "Filled"


def test_partial_fill_fault_fills_half_and_cancels_the_rest(sim: Simulator) -> None:
    sim.faults.arm(Fault.PARTIAL_FILL, "bybit")
    assert place(sim)[1]["retCode"] == 0
    entry = state(sim, "m1")
    assert (entry["orderStatus"], entry["cumExecQty"], entry["qty"]) == (
        "PartiallyFilledCanceled", "0.1", "0.2")  # fmt: skip


def test_a_fok_fills_whole_or_is_cancelled_for_want_of_a_full_fill(sim: Simulator) -> None:
    engine = sim.venues["bybit"].engines["BTC/USDT"]
    (price, size), _ = engine.levels(ASK, 2)
    i = engine.instrument
    fok = {"orderType": "Limit", "timeInForce": "FOK", "price": i.price_text(price)}
    _, accepted, _ = place(sim, **fok, qty=i.size_text(size + i.lot_size), orderLinkId="k1")
    assert accepted["retCode"] == 0  # accepted, then cancelled: one lot more than the best ask
    killed = state(sim, "k1")
    assert (killed["timeInForce"], killed["orderStatus"], killed["rejectReason"]) == (
        "FOK", "Cancelled", "EC_CancelForNoFullFill")  # fmt: skip
    assert Decimal(killed["cumExecQty"]) == 0
    assert engine.levels(ASK, 1) == [(price, size)]
    assert place(sim, **fok, qty=i.size_text(size), orderLinkId="f1")[1]["retCode"] == 0
    filled = state(sim, "f1")
    assert (filled["orderStatus"], filled["rejectReason"]) == ("Filled", "EC_NoError")


def test_latency_fault_delays_the_answer(sim: Simulator) -> None:
    sim.faults.configure("bybit", rest_latency_ms=150.0)
    sim.faults.arm(Fault.LATENCY, "bybit")
    assert place(sim)[2] >= 0.15


def test_answers_have_the_documented_fields(sim: Simulator, shared_data: Path) -> None:
    vectors = shared_data / "vectors/bybit"

    def documented(name: str) -> Any:
        return json.loads((vectors / name).read_text())

    _, placed, _ = place(sim)
    example = documented("place_order_response.json")
    assert list(placed) == list(example)
    assert list(placed["result"]) == list(example["result"])
    entry = state(sim, "m1")
    assert (entry["cumExecQty"], entry["cumExecFee"], entry["leavesQty"]) == ("0.2", "0.0002", "0")
    assert (entry["orderType"], entry["timeInForce"], entry["marketUnit"]) == (
        "Market", "IOC", "baseCoin")  # fmt: skip
    _, book, _ = call(sim, "GET", "/v5/market/orderbook", category="spot", symbol="BTCUSDT",
                      limit="5")  # fmt: skip
    example = documented("rest_orderbook_response.json")
    assert (list(book), list(book["result"])) == (list(example), list(example["result"]))
    assert len(book["result"]["b"]) == len(book["result"]["a"]) == 5

    server = sim.servers["bybit"]
    assert isinstance(server, BybitServer)
    subscriber = server.hub.join()
    request = documented("ws_subscribe_request.json")
    server.answer(subscriber, json.dumps(request), "2324d924-aa4d-45b0-a858-7b8be29ab52b")
    ack, snapshot = (subscriber.queue.get_nowait() for _ in range(2))
    assert isinstance(ack, Outgoing)
    assert isinstance(snapshot, Outgoing)
    answer = documented("ws_subscribe_response_spot.json")
    assert json.loads(ack.text) == {**answer, "req_id": "test"}
    pushed, example = json.loads(snapshot.text), documented("orderbook_snapshot.json")
    assert (list(pushed["data"]), pushed["topic"]) == (list(example["data"]), "orderbook.1.BTCUSDT")
    assert sorted(pushed) == sorted(example)
    server.answer(subscriber, json.dumps(documented("ws_ping_request.json")), answer["conn_id"])
    pong = json.loads(subscriber.queue.get_nowait().text)  # type: ignore[union-attr]
    assert {k: v for k, v in pong.items() if k != "req_id"} == {
        **documented("ws_pong_spot.json"), "conn_id": answer["conn_id"]}  # fmt: skip


def test_refusals_read_back_through_the_clients_check(sim: Simulator) -> None:
    """Every refusal is a Bybit envelope arbcore's own ``check`` reads as its ``retCode``."""
    answers = [place(sim, side="Sell", qty="1000"),
               place(sim, orderType="Limit", price="60000", timeInForce="GTD"),
               call(sim, "GET", "/v5/order/realtime", category="spot", symbol="NOPE")]  # fmt: skip
    for (status, body, _), code in zip(answers, (170131, 170115, 170121), strict=True):
        error = check(httpx.Response(status, json=body))
        assert error is not None
        assert error.venue_code == code
