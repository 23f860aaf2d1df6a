"""``BitfinexExecution`` against the simulated Bitfinex over loopback, and the REST answers.

arbcore's client places (market, IOC, GTC, post-only), reads back, lists and cancels orders and
reads wallets and fees; insufficient funds, an invalid order, a throttle and a bad signature
come back as Bitfinex's ``["error", CODE, "text"]`` (or ``ERR_RATE_LIMIT``) and arbcore's
errors. Bitfinex does not refuse a repeated ``cid``, and neither does the simulator: a placement
whose answer was lost is found by the client's lookup, never sent twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from arbcore.errors import (
    AuthenticationError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.bitfinex import auth, constants
from arbcore.exchanges.bitfinex.execution import BitfinexExecution, check, round_price
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.rest import compact_json, venue_http
from arbcore.exchanges.trading import OrderRequest, prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpRequest, RetryPolicy
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.testing.simwire import run
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw

CREDENTIALS = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)
SUBMIT = constants.SUBMIT_ORDER_PATH


@pytest.fixture
def bitfinex(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("bitfinex",))


@asynccontextmanager
async def trading(
    sim: Simulator,
    credentials: Credentials = CREDENTIALS,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> AsyncIterator[BitfinexExecution]:
    """arbcore's client on the simulator, trading the instruments its pair list states."""
    http = venue_http(constants.VENUE, check=check, budgets=(), transport=transport, retry=retry,
                      base_url=sim.endpoints["bitfinex"].rest_url)  # fmt: skip
    execution = BitfinexExecution(credentials, (), http=http)
    try:
        await execution.fetch_instruments()
        yield execution
    finally:
        await http.aclose()


def instrument(execution: BitfinexExecution, symbol: str) -> Instrument:
    found = next(i for i in execution.symbols.by_native.values() if i.symbol == symbol)
    return found


def best(sim: Simulator, symbol: str, side: int) -> int:
    """The engine's best price at arbcore's 8 decimals."""
    engine = sim.venues["bitfinex"].engines[symbol]
    price = engine.best(side)
    assert price is not None
    scaled: int = price * 10 ** (8 - engine.instrument.price_decimals)
    return scaled


def order_of(instrument: Instrument, side: OrderSide, size: str, **fields: Any) -> OrderRequest:
    return prepare_order(instrument, side, to_raw(size, 8), **fields,
                         client_order_id=BitfinexExecution.new_client_order_id())  # fmt: skip


def test_place_fill_partial_fill_cancel_fetch_and_balances(bitfinex: SimConfig) -> None:
    async def scenario() -> None:
        async with Simulator(bitfinex, autostep=False) as sim, trading(sim) as execution:
            btc = instrument(execution, "BTC/USDT")
            market = order_of(btc, OrderSide.BUY, "0.05", type=OrderType.MARKET)
            filled = await execution.place_order(market)  # acked ACTIVE, read back until final
            assert (filled.status, filled.filled_raw) == (OrderStatus.FILLED, market.size_raw)
            assert filled.filled_quote == pytest.approx(0.05 * best(sim, "BTC/USDT", ASK) / 1e8,
                                                        rel=1e-3)  # fmt: skip
            found = await execution.fetch_order(btc, market.client_order_id)
            assert (found.status, found.venue_order_id) == (OrderStatus.FILLED,
                                                            filled.venue_order_id)  # fmt: skip

            sim.faults.arm(Fault.PARTIAL_FILL, "bitfinex")
            ioc = order_of(btc, OrderSide.BUY, "0.02", price_raw=best(sim, "BTC/USDT", ASK),
                           time_in_force=TimeInForce.IOC)  # fmt: skip
            half = await execution.place_order(ioc)
            assert (half.status, half.filled_raw) == (OrderStatus.EXPIRED, to_raw("0.01", 8))

            sim.faults.arm(Fault.PARTIAL_FILL, "bitfinex")
            bid = best(sim, "BTC/USDT", BID)
            resting = order_of(btc, OrderSide.SELL, "0.04", price_raw=bid)
            placed = await execution.place_order(resting)  # half fills, the rest rests
            assert placed.status is OrderStatus.OPEN  # the acknowledgement: nothing filled yet
            partial = await execution.fetch_order(btc, resting.client_order_id)
            assert (partial.status, partial.filled_raw) == (OrderStatus.PARTIALLY_FILLED,
                                                            to_raw("0.02", 8))  # fmt: skip

            low = round_price(bid - 2000 * 10**8, OrderSide.BUY)
            limit = order_of(btc, OrderSide.BUY, "0.01", price_raw=low)
            assert (await execution.place_order(limit)).status is OrderStatus.OPEN
            open_ids = {o.client_order_id for o in await execution.fetch_open_orders(btc)}
            assert open_ids == {limit.client_order_id, resting.client_order_id}
            held = {b.asset: b for b in await execution.fetch_balances()}
            assert held["USDT"].locked == pytest.approx(low / 1e8 * 0.01)
            assert held["BTC"].locked == pytest.approx(0.02)
            taker_fees = (0.05 + 0.01) * 0.002  # charged in BTC, what the buys received
            assert held["BTC"].free + held["BTC"].locked == pytest.approx(
                10 + 0.05 + 0.01 - 0.02 - taker_fees)  # fmt: skip

            cancelled = await execution.cancel_order(btc, limit.client_order_id)
            assert (cancelled.status, cancelled.filled_raw) == (OrderStatus.CANCELED, 0)
            stopped = await execution.cancel_order(btc, resting.client_order_id)
            assert (stopped.status, stopped.filled_raw) == (OrderStatus.CANCELED,
                                                            to_raw("0.02", 8))  # fmt: skip
            assert await execution.fetch_open_orders() == []
            again = await execution.cancel_order(btc, limit.client_order_id)  # already closed
            assert again.status is OrderStatus.CANCELED
            assert await execution.fetch_fees(btc) == (0.001, 0.002)

            ask = best(sim, "BTC/USDT", ASK)
            maker = order_of(btc, OrderSide.BUY, "0.01", price_raw=ask,
                             time_in_force=TimeInForce.POST_ONLY)  # fmt: skip
            await execution.place_order(maker)  # accepted, then cancelled: it would take
            voided = await execution.fetch_order(btc, maker.client_order_id)
            assert (voided.status, voided.filled_raw) == (OrderStatus.REJECTED, 0)
            assert voided.time_in_force is TimeInForce.POST_ONLY
            assert best(sim, "BTC/USDT", ASK) == ask

    run(scenario)


def test_refusals_map_to_arbcore_errors(bitfinex: SimConfig) -> None:
    async def scenario() -> None:
        async with Simulator(bitfinex, autostep=False) as sim:
            async with trading(sim) as execution:
                eth = instrument(execution, "ETH/USDT")
                huge = order_of(eth, OrderSide.SELL, "500", type=OrderType.MARKET)
                with pytest.raises(InsufficientFunds) as poor:
                    await execution.place_order(huge)
                assert (poor.value.venue_code, poor.value.http_status) == (10001, 500)
                assert "not enough exchange balance for 500 ETHUST" in str(poor.value)
                tiny = order_of(eth, OrderSide.BUY, "0.00001", type=OrderType.MARKET)
                with pytest.raises(InvalidOrder, match=r"minimum size for ETH/UST is 0\.0001"):
                    await execution.place_order(tiny)
                with pytest.raises(OrderNotFound):
                    await execution.fetch_order(eth, "4242")
            for credentials in (Credentials(CREDENTIALS.api_key, "wrong"),
                                Credentials("nobody", CREDENTIALS.secret)):  # fmt: skip
                async with trading(sim, credentials) as execution:
                    with pytest.raises(AuthenticationError) as denied:
                        await execution.fetch_balances()
                    assert (denied.value.venue_code, denied.value.http_status) == (10100, 500)
            async with trading(sim, retry=RetryPolicy(attempts=1)) as execution:
                sim.faults.arm(Fault.RATE_LIMIT, "bitfinex")
                with pytest.raises(RateLimitExceeded) as throttled:
                    await execution.fetch_balances()
                assert throttled.value.http_status == 429
                assert throttled.value.retry_after == constants.RATE_LIMIT_BLOCK_S
            assert sim.venues["bitfinex"].engines["ETH/USDT"].open_orders("trader") == []

    run(scenario)


class LosingTransport(httpx.AsyncHTTPTransport):
    """Loses the first order placement: before it reaches the venue (``arrives`` False) or
    after the venue took it (its answer never comes back): a timeout either way."""

    def __init__(self, *, arrives: bool) -> None:
        super().__init__()
        self.arrives = arrives
        self.lost = 0
        self.submits = 0  # placements the client sent

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.submits += request.url.path == SUBMIT
        if request.url.path == SUBMIT and not self.lost:
            self.lost += 1
            if self.arrives:
                await super().handle_async_request(request)
            raise httpx.ReadTimeout("the answer did not come", request=request)
        return await super().handle_async_request(request)


@pytest.mark.parametrize("arrives", [True, False], ids=["answer-lost", "request-lost"])
def test_a_placement_retried_after_a_timeout_is_not_placed_twice(
    bitfinex: SimConfig, arrives: bool
) -> None:
    async def scenario() -> None:
        transport = LosingTransport(arrives=arrives)
        async with (
            Simulator(bitfinex, autostep=False) as sim,
            trading(sim, transport=transport) as execution,
        ):
            btc = instrument(execution, "BTC/USDT")
            low = round_price(best(sim, "BTC/USDT", BID) - 1000 * 10**8, OrderSide.BUY)
            order = order_of(btc, OrderSide.BUY, "0.01", price_raw=low)
            placed = await execution.place_order(order)
            assert (placed.status, placed.client_order_id) == (OrderStatus.OPEN,
                                                               order.client_order_id)  # fmt: skip
            assert transport.lost == 1
            assert transport.submits == (1 if arrives else 2)  # found, or sent once more
            assert [r.path for r in sim.requests["bitfinex"]].count(SUBMIT) == 1
            orders = sim.venues["bitfinex"].engines["BTC/USDT"].open_orders("trader")
            assert len(orders) == 1
            assert [o.client_order_id for o in await execution.fetch_open_orders(btc)] == [
                order.client_order_id]  # fmt: skip

    run(scenario)


_nonces = itertools.count(int(time.time() * 1_000_000))


def call(sim: Simulator, path: str, body: dict[str, Any] | None = None, *,
         nonce: int | None = None) -> httpx.Response:  # fmt: skip
    """A signed POST through the app in process."""
    unsigned = HttpRequest(method="POST", path=path, body=compact_json(body or {}))
    request = auth.sign(unsigned, CREDENTIALS, nonce=str(nonce or next(_nonces)))

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["bitfinex"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.post(path, content=request.body.encode(),
                                     headers=list(request.headers))  # fmt: skip

    return asyncio.run(send())


@pytest.fixture
def sim(bitfinex: SimConfig) -> Simulator:
    simulator = Simulator(bitfinex, autostep=False)
    simulator.step()
    return simulator


def _submit(sim: Simulator, **changes: Any) -> httpx.Response:
    order = {"type": "EXCHANGE LIMIT", "symbol": "tBTCUST", "amount": "0.01", "price": "50000",
             "cid": 77, **changes}  # fmt: skip
    return call(sim, SUBMIT, order)


def _error(answer: httpx.Response) -> tuple[int, Any]:
    return answer.status_code, answer.json()


def test_a_repeated_cid_places_another_order_as_on_bitfinex(sim: Simulator) -> None:
    first, second = _submit(sim).json(), _submit(sim).json()
    assert first[4][0][0] != second[4][0][0]
    assert len(sim.venues["bitfinex"].engines["BTC/USDT"].open_orders("trader")) == 2
    active = call(sim, constants.ACTIVE_ORDERS_PATH + "/tBTCUST").json()
    assert [o[2] for o in active] == [77, 77]


def test_submit_answer_and_order_arrays_have_the_documented_shape(
    sim: Simulator, shared_data: Path
) -> None:
    vector = json.loads((shared_data / "vectors/bitfinex/rest_submit_order.json").read_text())
    answer = _submit(sim, price="50000.7")  # truncated to 5 significant digits
    assert answer.status_code == 200
    mts, kind, _, _, data, code, status, text = answer.json()
    assert (kind, code, status, text) == ("on-req", None, "SUCCESS", "Submitting 1 orders.")
    assert isinstance(mts, int)
    order = data[0]
    indices = vector["order_array_indices"]
    fields = {name.split()[0]: order[int(index)] for index, name in indices.items()}
    assert (fields["CID"], fields["SYMBOL"], fields["AMOUNT"], fields["AMOUNT_ORIG"]) == (
        77, "tBTCUST", 0.01, 0.01)  # fmt: skip
    assert (fields["ORDER_TYPE"], fields["STATUS"]) == ("EXCHANGE LIMIT", "ACTIVE")
    assert fields["PRICE"] == 50000
    assert len(order) == 32
    sell = _submit(sim, type="EXCHANGE MARKET", amount="-0.2", cid=78, price=None).json()[4][0]
    history = call(sim, constants.ACTIVE_ORDERS_PATH + "/tBTCUST/hist", {"id": [sell[0]]}).json()
    assert [o[0] for o in history] == [sell[0]]
    assert (history[0][6], history[0][7]) == (0, -0.2)
    assert history[0][13].startswith("EXECUTED @ ")
    assert history[0][13].endswith("(-0.2)")
    assert call(sim, constants.ACTIVE_ORDERS_PATH + "/hist").json() == history
    cancelled = call(sim, constants.CANCEL_ORDER_PATH, {"id": order[0]}).json()
    assert cancelled[1:2] + cancelled[6:] == ["oc-req", "SUCCESS",
                                              f"Submitted for cancellation; waiting for "
                                              f"confirmation (ID: {order[0]})."]  # fmt: skip
    wallets = call(sim, constants.WALLETS_PATH).json()
    assert ["exchange", "UST"] in [w[:2] for w in wallets]
    assert all(len(w) == 7 for w in wallets)
    assert call(sim, constants.SUMMARY_PATH).json()[4][1][:3] == [0.002, 0.002, 0.002]


def test_refusals_carry_bitfinexs_codes_and_read_back_through_check(sim: Simulator) -> None:
    cases: dict[tuple[int, str], Callable[[], httpx.Response]] = {
        (10020, "symbol: invalid"): lambda: _submit(sim, symbol="tBTCEUR"),
        (10020, "type: invalid"): lambda: _submit(sim, type="LIMIT"),  # margin
        (10020, "amount: invalid"): lambda: _submit(sim, amount="0.000000001"),
        (10020, "price: invalid"): lambda: _submit(sim, price="abc"),
        (10020, "cid: invalid"): lambda: _submit(sim, cid=2**45),
        (10020, "flags: invalid"): lambda: _submit(sim, flags=64),
        (10001, "Order not found."): lambda: call(sim, constants.CANCEL_ORDER_PATH, {"id": 1}),
        (10114, "nonce: small"): lambda: call(sim, constants.WALLETS_PATH, nonce=1),
    }  # fmt: skip
    expected_errors = {10020: InvalidOrder, 10001: OrderNotFound, 10114: AuthenticationError}
    for (code, text), send in cases.items():
        answer = send()
        assert _error(answer) == (500, ["error", code, text])
        assert isinstance(check(answer), expected_errors[code])
    sim.faults.arm(Fault.SERVER_ERROR, "bitfinex")
    down = call(sim, constants.WALLETS_PATH)
    assert _error(down) == (500, ["error", 11000, "ready: invalid"])
    assert isinstance(check(down), ExchangeNotAvailable)
    sim.faults.arm(Fault.SERVER_ERROR, "bitfinex")
    assert _submit(sim, cid=91).status_code == 500  # accepted, the answer lost: it stands
    active = call(sim, constants.ACTIVE_ORDERS_PATH, {"id": []}).json()
    assert [o[2] for o in active] == [91]
    sim.faults.arm(Fault.REJECT, "bitfinex")
    assert isinstance(check(_submit(sim, cid=92)), InvalidOrder)
    sim.faults.configure("bitfinex", rest_latency_ms=150.0)
    sim.faults.arm(Fault.LATENCY, "bitfinex")
    started = time.monotonic()
    call(sim, constants.WALLETS_PATH)
    assert time.monotonic() - started >= 0.15


def test_a_stuck_order_stays_active_then_arrives(sim: Simulator) -> None:
    engine = sim.venues["bitfinex"].engines["BTC/USDT"]
    ask = engine.best(ASK)
    assert ask is not None
    sim.faults.configure("bitfinex", stuck_ms=50.0)
    sim.faults.arm(Fault.STUCK, "bitfinex")
    placed = _submit(sim, type="EXCHANGE IOC", price=engine.instrument.price_text(ask), cid=93)
    order_id = placed.json()[4][0][0]
    held = call(sim, constants.ACTIVE_ORDERS_PATH + "/tBTCUST").json()
    assert [(o[0], o[13]) for o in held] == [(order_id, "ACTIVE")]  # an IOC, still open
    time.sleep(0.06)
    done = call(sim, constants.ACTIVE_ORDERS_PATH + "/tBTCUST/hist", {"id": [order_id]}).json()
    assert done[0][13].startswith("EXECUTED @ ")
