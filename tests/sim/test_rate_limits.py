"""Rate limiting as the venue sees it: a burst never exceeds the documented budget, and a ban
stops every request until it ends, judged on the simulator's own log of the requests it
received."""

from __future__ import annotations

import asyncio
import time

import attrs
import httpx
import pytest
from test_okx_live import CREDENTIALS as OKX_CREDENTIALS
from test_okx_live import running, trading

from arbcore.errors import RateLimitExceeded
from arbcore.exchanges.binance.execution import BinanceExecution
from arbcore.exchanges.bybit.constants import IP_BAN_S
from arbcore.exchanges.bybit.execution import check as bybit_check
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.okx import auth as okx_auth
from arbcore.exchanges.okx import constants
from arbcore.exchanges.trading import OrderRequest, prepare_order
from arbcore.model import OrderSide, OrderStatus
from arbcore.net.http import HttpRequest
from arbcore.sim import DEFAULT_ACCOUNT, Fault, SimConfig, Simulator
from arbcore.sim.protocol import compact
from arbcore.testing.simwire import until
from arbcore_ext.book import BID


@pytest.fixture
def okx(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("okx",))


def test_a_burst_of_okx_balance_requests_stays_inside_the_endpoints_budget(
    okx: SimConfig,
) -> None:
    (budget,) = [s for s in constants.RATE_LIMITS if f"GET {constants.BALANCE_PATH}" in s.endpoints]
    per_request = 1  # ten balance reads per 2 s
    burst = int(budget.limit / per_request) + 5

    async def scenario() -> list[float]:
        async with running(okx) as (sim, _), trading(sim) as execution:
            sim.requests["okx"].clear()  # time sync and setup are not part of the burst
            await asyncio.gather(*(execution.fetch_balances() for _ in range(burst)))
            return [r.monotonic_s for r in sim.requests["okx"] if "balance" in r.path]

    arrivals = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert len(arrivals) == burst  # every request was sent...
    for start in arrivals:  # ...and no window of the venue's ever held more than its budget
        in_window = [t for t in arrivals if start <= t < start + budget.window_s]
        assert len(in_window) * per_request <= budget.limit
    assert arrivals[-1] - arrivals[0] >= budget.window_s  # so the burst had to be spread out


def okx_cancel(sim: Simulator, native: str) -> httpx.Response:
    """A signed cancel of an order that does not exist, in process: counted all the same."""
    body = compact({"instId": native, "clOrdId": "none"})
    unsigned = HttpRequest(method="POST", path=constants.CANCEL_ORDER_PATH, body=body)
    request = okx_auth.sign(unsigned, OKX_CREDENTIALS)

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers["okx"].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.post(request.target, headers=list(request.headers),
                                     content=request.body.encode())  # fmt: skip

    return asyncio.run(send())


def test_the_okx_simulator_throttles_an_instrument_past_its_own_budget(okx: SimConfig) -> None:
    sim = Simulator(okx, autostep=False)
    started = time.monotonic()
    answers = [okx_cancel(sim, "BTC-USDT").json()["data"][0]["sCode"] for _ in range(60)]
    assert answers == ["51400"] * 60  # answered (nothing to cancel), not throttled
    throttled = okx_cancel(sim, "BTC-USDT")
    assert (throttled.status_code, throttled.json()["code"]) == (429, "50011")
    other = okx_cancel(sim, "ETH-USDT")  # another instrument's budget is untouched
    assert (other.status_code, other.json()["data"][0]["sCode"]) == (200, "51400")
    assert time.monotonic() - started < constants.RATE_LIMIT_WINDOW_S  # all inside one window


def test_an_okx_burst_over_two_instruments_goes_at_once_where_one_instrument_waits(
    okx: SimConfig,
) -> None:
    """120 placements: 60 on each of two instruments go out unthrottled (more than one
    instrument's 60 per 2 s arrive inside one window, and the venue takes them all); 120 on one
    instrument are spread by the client so that no 2 s of arrivals holds more than 60."""
    budget = next(s for s in constants.RATE_LIMITS if s.name == "place order per instrument")
    per_instrument = int(budget.limit)
    placing = f"POST {constants.ORDER_PATH}"

    def far_below(sim: Simulator, symbol: str) -> OrderRequest:
        engine = sim.venues["okx"].engines[symbol]
        bid = engine.best(BID)
        assert bid is not None
        i = engine.instrument
        size = max(i.min_qty, i.lot_size)
        price = bid // 2 - (bid // 2) % i.tick_size
        while price * size < i.min_notional * 10**i.size_decimals:
            size += i.lot_size
        return prepare_order(i, OrderSide.BUY, size, price_raw=price)

    async def burst(sim: Simulator, symbols: list[str]) -> tuple[list[float], int]:
        async with trading(sim) as execution:
            sim.requests["okx"].clear()
            limiter = execution.http.limiter
            assert limiter is not None
            orders = [far_below(sim, symbol) for symbol in symbols]
            placed = await asyncio.gather(*(execution.place_order(o) for o in orders))
            assert all(order.status is OrderStatus.OPEN for order in placed)  # none refused
            arrivals = [r.monotonic_s for r in sim.requests["okx"]
                        if f"{r.method} {r.path}" == placing]  # fmt: skip
            return arrivals, limiter.throttled

    def busiest(arrivals: list[float]) -> int:
        window = budget.window_s
        return max(sum(1 for t in arrivals if start <= t < start + window) for start in arrivals)

    async def scenario() -> tuple[tuple[list[float], int], tuple[list[float], int]]:
        async with running(okx) as (sim, _):
            two = await burst(sim, ["ETH/USDT", "BTC/USDT"] * per_instrument)
            one = await burst(sim, ["ETH/BTC"] * (2 * per_instrument))
            return two, one

    (two, two_waits), (one, one_waits) = asyncio.run(asyncio.wait_for(scenario(), timeout=60))
    assert (len(two), two_waits) == (2 * per_instrument, 0)
    assert busiest(two) > per_instrument  # the venue took more than one instrument's budget
    assert len(one) == 2 * per_instrument
    assert one_waits > 0
    assert busiest(one) <= per_instrument
    assert one[-1] - one[0] >= budget.window_s


# -- bans --------------------------------------------------------------------------------------


class FakeClock:
    """The simulator's clock (ns), moved by hand."""

    def __init__(self) -> None:
        self.now_ns = 1_700_000_000 * 10**9

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * 10**9)


def ping(sim: Simulator, venue: str = "binance", path: str = "/api/v3/ping") -> httpx.Response:
    """One request in process (ASGI, no sockets)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.servers[venue].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get(path)

    return asyncio.run(send())


def test_binance_bans_an_ip_that_keeps_sending_inside_a_429s_retry_after(
    config: SimConfig,
) -> None:
    clock = FakeClock()
    sim = Simulator(config, clock=clock, autostep=False)
    sim.faults.configure("binance", retry_after_s=2, ban_s=120)
    sim.faults.arm(Fault.RATE_LIMIT, "binance")
    throttled = ping(sim)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "2")
    clock.advance(2.0)  # waited the Retry-After out: no ban
    assert ping(sim).status_code == 200

    sim.faults.arm(Fault.RATE_LIMIT, "binance")
    assert ping(sim).status_code == 429
    clock.advance(1.5)  # sent again inside the Retry-After: banned for ban_s
    banned = ping(sim)
    assert (banned.status_code, banned.headers["Retry-After"]) == (418, "120")
    assert banned.json()["code"] == -1003
    assert "IP banned until" in banned.json()["msg"]
    clock.advance(100.2)  # every request meanwhile is refused, with the time left
    again = ping(sim)
    assert (again.status_code, again.headers["Retry-After"]) == (418, "20")
    clock.advance(19.8)
    assert ping(sim).status_code == 200


def test_arbcore_sends_nothing_to_binance_until_its_ban_ends(config: SimConfig) -> None:
    """The 418's Retry-After blocks the client's limiter: a request made after the ban answer
    came back (not a retry of it) waits the ban out as well."""
    ban_s = 1

    async def scenario() -> list[tuple[float, str]]:
        async with Simulator(config, autostep=False) as sim:
            credentials = Credentials(DEFAULT_ACCOUNT.api_key, DEFAULT_ACCOUNT.secret)
            execution = BinanceExecution(credentials, sim.venues["binance"].instruments,
                                         base_url=sim.endpoints["binance"].rest_url)  # fmt: skip
            try:
                await execution.sync_time()
                sim.faults.configure("binance", ban_s=ban_s)
                sim.faults.arm(Fault.BAN, "binance")
                sim.requests["binance"].clear()
                balances = asyncio.create_task(execution.fetch_balances())
                await until(lambda: execution.http.failures > 0, poll_s=0.005)  # the 418 is back
                orders = await execution.fetch_open_orders()  # a new request, during the ban
                assert orders == []
                assert {b.asset for b in await balances} >= {"BTC", "USDT"}
            finally:
                await execution.aclose()
            return [(r.monotonic_s, r.path) for r in sim.requests["binance"]]

    started = time.monotonic()
    log = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    (banned_at, first), *rest = log
    assert first == "/api/v3/account"
    assert sorted(path for _, path in rest) == ["/api/v3/account", "/api/v3/openOrders"]
    assert all(at >= banned_at + ban_s for at, _ in rest)  # nothing arrived inside the ban
    assert time.monotonic() - started < 10


def test_bybits_ip_ban_is_a_403_the_client_waits_out_for_the_documented_time(
    config: SimConfig,
) -> None:
    sim = Simulator(attrs.evolve(config, venues=("bybit",)), autostep=False)
    sim.faults.arm(Fault.BAN, "bybit")
    banned = ping(sim, "bybit", "/v5/market/time")
    assert banned.status_code == 403
    error = bybit_check(banned)
    assert isinstance(error, RateLimitExceeded)
    assert error.retry_after == IP_BAN_S
    assert ping(sim, "bybit", "/v5/market/time").status_code == 200  # one strike, one answer
