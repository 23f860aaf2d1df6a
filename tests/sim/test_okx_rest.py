"""Order faults through the OKX app in process (ASGI, no sockets): rejections, partial fills,
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
from test_okx_live import CREDENTIALS, compact

from arbcore.exchanges.okx import auth
from arbcore.exchanges.okx.execution import check
from arbcore.net.http import HttpRequest
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.stream import Outgoing
from arbcore.sim.venues.okx import OKXServer
from arbcore_ext.book import ASK

MARKET_BUY = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market",
              "sz": "0.2", "tgtCcy": "base_ccy", "clOrdId": "m1"}  # fmt: skip


def call(sim: Simulator, method: str, path: str, body: dict[str, Any] | None = None,
         **params: str) -> tuple[int, Any, float]:  # fmt: skip
    """A signed request in process: status, JSON body, seconds taken."""
    unsigned = HttpRequest(method=method, path=path, params=tuple(params.items()),
                           body=compact(body) if body else "")  # fmt: skip
    request = auth.sign(unsigned, CREDENTIALS)

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["okx"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.request(method, request.target, headers=list(request.headers),
                                        content=request.body.encode() or None)  # fmt: skip

    started = time.monotonic()
    response = asyncio.run(send())
    return response.status_code, response.json(), time.monotonic() - started


def place(sim: Simulator, **changes: str) -> tuple[int, Any, float]:
    return call(sim, "POST", "/api/v5/trade/order", {**MARKET_BUY, **changes})


def state(sim: Simulator, client_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = call(sim, "GET", "/api/v5/trade/order", instId="BTC-USDT",
                                 clOrdId=client_id)[1]["data"][0]  # fmt: skip
    return entry


@pytest.fixture
def sim(config: SimConfig) -> Simulator:
    simulator = Simulator(attrs.evolve(config, venues=("okx",)), autostep=False)
    simulator.step()
    return simulator


def test_reject_fault_refuses_the_order(sim: Simulator) -> None:
    sim.faults.arm(Fault.REJECT, "okx")
    status, body, _ = place(sim)
    assert (status, body["code"], body["data"][0]["sCode"]) == (200, "1", "51006")
    assert place(sim, clOrdId="m2")[1]["code"] == "0"
    assert state(sim, "m2")["state"] == "filled"


def test_partial_fill_fault_fills_half_and_cancels_the_rest(sim: Simulator) -> None:
    sim.faults.arm(Fault.PARTIAL_FILL, "okx")
    assert place(sim)[1]["code"] == "0"
    entry = state(sim, "m1")
    assert (entry["state"], entry["accFillSz"], entry["sz"]) == ("canceled", "0.1", "0.2")


def test_latency_fault_delays_the_answer(sim: Simulator) -> None:
    sim.faults.configure("okx", rest_latency_ms=150.0)
    sim.faults.arm(Fault.LATENCY, "okx")
    assert place(sim)[2] >= 0.15


def test_answers_have_the_documented_fields(sim: Simulator, shared_data: Path) -> None:
    vectors = shared_data / "vectors/okx"

    def documented(name: str) -> Any:
        return json.loads((vectors / name).read_text())

    _, placed, _ = place(sim)
    assert list(placed) == list(documented("place_order_response.json"))
    assert list(placed["data"][0]) == list(documented("place_order_response.json")["data"][0])
    entry = state(sim, "m1")
    assert (entry["accFillSz"], entry["feeCcy"], entry["tgtCcy"]) == ("0.2", "BTC", "base_ccy")
    assert entry["fee"] == "-0.0002"  # paid: negative, 0.1 % taker of 0.2 BTC
    books = call(sim, "GET", "/api/v5/market/books", instId="BTC-USDT", sz="5")[1]
    assert list(books) == list(documented("rest_books_response.json"))
    assert list(books["data"][0]) == [*documented("rest_books_response.json")["data"][0], "seqId"]

    server = sim.servers["okx"]
    assert isinstance(server, OKXServer)
    subscriber = server.hub.join()
    request = documented("ws_subscribe_request.json")
    server.answer(subscriber, json.dumps(request), "a4d3ae55")
    ack, snapshot = (subscriber.queue.get_nowait() for _ in range(2))
    assert isinstance(ack, Outgoing)
    assert isinstance(snapshot, Outgoing)
    assert json.loads(ack.text) == documented("ws_subscribe_response.json")
    pushed, example = json.loads(snapshot.text), documented("books_snapshot.json")
    assert (list(pushed), list(pushed["data"][0])) == (list(example), list(example["data"][0]))
    server.answer(subscriber, '{"op": "subscribe", "argss": []}', "a4d3ae55")
    error = json.loads(subscriber.queue.get_nowait().text)  # type: ignore[union-attr]
    assert list(error) == [k for k in documented("ws_subscribe_error.json") if k != "id"]


def test_refusals_read_back_through_the_clients_check(sim: Simulator) -> None:
    """Every refusal is an OKX envelope arbcore's own ``check`` reads as its venue code."""
    answers = [place(sim, side="sell", sz="1000"), place(sim, ordType="stop"),
               call(sim, "GET", "/api/v5/trade/orders-pending", instId="NOPE-X")]  # fmt: skip
    for (status, body, _), code in zip(answers, ("51008", "51000", "51001"), strict=True):
        error = check(httpx.Response(status, json=body))
        assert error is not None
        assert error.venue_code == code
    assert DEFAULT_ACCOUNT.passphrase == CREDENTIALS.passphrase


def test_fok_is_accepted_and_fills_whole_or_is_canceled_with_cancel_source_13(
    sim: Simulator,
) -> None:
    """OKX's ordType fok: placed (sCode 0) either way; one the book cannot fill whole ends
    ``canceled`` with cancelSource 13 and nothing filled, one it can ends ``filled``."""
    engine = sim.venues["okx"].engines["BTC/USDT"]
    (price, size), _ = engine.levels(ASK, 2)
    i = engine.instrument
    too_big = i.size_text(size + i.lot_size)
    fok = {"ordType": "fok", "px": i.price_text(price)}
    status, body, _ = place(sim, **fok, sz=too_big, clOrdId="k1")
    assert (status, body["code"], body["data"][0]["sCode"]) == (200, "0", "0")
    killed = state(sim, "k1")
    assert (killed["ordType"], killed["state"], killed["cancelSource"], killed["accFillSz"]) == (
        "fok", "canceled", "13", "0")  # fmt: skip
    assert engine.levels(ASK, 1) == [(price, size)]
    assert place(sim, **fok, sz=i.size_text(size), clOrdId="f1")[1]["code"] == "0"
    filled = state(sim, "f1")
    assert (filled["state"], filled["cancelSource"]) == ("filled", "")
    assert Decimal(filled["accFillSz"]) == Decimal(i.size_text(size))
