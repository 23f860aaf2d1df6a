"""The venue-neutral trading pieces: rate budgets, the HTTP client, credentials, order prep, and
the shared trading layer (signing, reply reading, placement at most once, clock resync)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeError,
    ExchangeNotAvailable,
    InvalidOrder,
    MalformedMessage,
    NetworkError,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.credentials import Credentials, env_names
from arbcore.exchanges.replies import (
    code_in,
    decode_reply,
    raw_decimal,
    status_error,
    status_error_class,
)
from arbcore.exchanges.rest import ServerClock, SignedRest
from arbcore.exchanges.signing import (
    IncreasingNonce,
    hmac_b64,
    hmac_hex,
    same_text,
    with_auth_headers,
)
from arbcore.exchanges.trading import (
    Rounding,
    accepted_order,
    new_client_order_id,
    prepare_order,
)
from arbcore.model import Instrument, Order, OrderSide, OrderType, TimeInForce
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.net.ratelimit import BudgetSpec, RateLimiter


class FakeClock:
    """Virtual time: sleeping advances it, so limits are checked exactly and instantly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


@given(
    costs=st.lists(st.integers(1, 20), min_size=1, max_size=200),
    orders=st.lists(st.booleans(), min_size=200, max_size=200),
    gaps=st.lists(st.sampled_from([0.0, 0.0, 0.01, 0.3, 2.5]), min_size=200, max_size=200),
)
def test_a_burst_never_exceeds_any_budget_in_any_window(
    costs: list[int], orders: list[bool], gaps: list[float]
) -> None:
    clock = FakeClock()
    specs = [BudgetSpec("weight", 60, 10.0, "weight"), BudgetSpec("orders", 5, 1.0, "order")]
    limiter = RateLimiter(specs, clock=clock, sleep=clock.sleep)
    log: list[tuple[float, int, bool]] = []

    async def burst() -> None:
        for cost, is_order, gap in zip(costs, orders, gaps, strict=False):
            clock.now += gap
            await limiter.acquire(cost, is_order=is_order)
            log.append((clock.now, cost, is_order))

    asyncio.run(burst())
    assert len(log) == len(costs)
    for start, _, _ in log:  # every window that starts at a request
        weight = sum(c for t, c, _ in log if start <= t < start + 10.0)
        placed = sum(1 for t, _, o in log if o and start <= t < start + 1.0)
        assert weight <= 60
        assert placed <= 5


def test_a_429_blocks_until_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter([BudgetSpec("requests", 100, 1.0)], clock=clock, sleep=clock.sleep)
    limiter.observe(429, {"retry-after": "7"})
    started = clock.now
    asyncio.run(limiter.acquire())
    assert clock.now - started == pytest.approx(7.0)
    assert limiter.venue_blocks == 1
    assert limiter.throttled == 1


def test_a_request_bigger_than_the_budget_is_refused_clearly() -> None:
    limiter = RateLimiter([BudgetSpec("weight", 10, 60.0, "weight")])
    with pytest.raises(ValueError, match="more than the whole budget"):
        asyncio.run(limiter.acquire(11))


def _client(handler: object, **kwargs: object) -> HttpClient:
    def check(response: httpx.Response) -> RateLimitExceeded | None:
        if response.status_code == 429:
            return RateLimitExceeded("throttled", retry_after=0.0, venue="test", http_status=429)
        return None

    clock = FakeClock()
    return HttpClient("test", "http://127.0.0.1:9", check=check,
                      transport=httpx.MockTransport(handler), sleep=clock.sleep,  # type: ignore[arg-type]
                      **kwargs)  # type: ignore[arg-type]  # fmt: skip


def test_retryable_failures_are_retried_and_each_attempt_is_signed_afresh() -> None:
    replies = deque([429, 429, 200])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-sig"])
        return httpx.Response(replies.popleft(), json={})

    counter = iter(range(100))

    def sign(request: HttpRequest) -> HttpRequest:
        return request.with_headers(("X-Sig", str(next(counter))))

    client = _client(handler)
    response = asyncio.run(client.send(HttpRequest(method="post", path="/o"), sign))
    assert response.status_code == 200
    assert seen == ["0", "1", "2"]
    assert client.retries == 2


def test_retries_stop_at_the_policy_limit() -> None:
    client = _client(lambda request: httpx.Response(429), retry=RetryPolicy(attempts=2))
    with pytest.raises(RateLimitExceeded):
        asyncio.run(client.send(HttpRequest(method="GET", path="/x")))
    assert client.requests == 2


def test_a_transport_failure_is_a_network_error_without_the_query() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = _client(handler, retry=RetryPolicy(attempts=1))
    request = HttpRequest(method="GET", path="/api/v3/order", params=[("signature", "abc123")])
    with pytest.raises(NetworkError) as caught:
        asyncio.run(client.send(request))
    assert "abc123" not in str(caught.value)
    assert "/api/v3/order" in str(caught.value)


def test_http_request_keeps_parameter_order() -> None:
    request = HttpRequest(method="get", path="/p", params=[("b", "2"), ("a", "1 2")])
    assert request.method == "GET"
    assert request.target == "/p?b=2&a=1+2"
    assert request.with_headers(("K", "v")).header("k") == "v"


SECRET = "s3cr3t-VALUE-that-must-not-leak"


def test_credentials_come_from_the_environment_and_never_show(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"OKX_API_KEY": "key-abcdefgh1234", "OKX_SECRET_KEY": SECRET, "OKX_PASSPHRASE": "pp-x"}
    credentials = Credentials.from_env("okx", env)
    assert credentials.secret == SECRET
    assert credentials.passphrase == "pp-x"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("arbcore").info("using %s / %r", credentials, credentials)
    shown = repr(credentials) + str(credentials) + caplog.text
    assert SECRET not in shown
    assert "pp-x" not in shown
    assert "key-abcdefgh1234" not in shown
    assert "1234" in repr(credentials)  # the last four characters identify the key


def test_missing_credentials_name_the_variables_not_the_values() -> None:
    with pytest.raises(ConfigError) as caught:
        Credentials.from_env("binance", {"BINANCE_API_KEY": SECRET})
    assert "BINANCE_SECRET_KEY" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert env_names("kucoin")[-1] == "KUCOIN_PASSPHRASE"
    assert len(env_names("kraken")) == 2


BTC = Instrument.from_text(venue="binance", native_symbol="BTCUSDT", base="BTC", quote="USDT",
                           tick_size="0.01", lot_size="0.00001", min_qty="0.00001",
                           min_notional="5")  # fmt: skip


def test_prices_round_passively_by_default_and_sizes_always_down() -> None:
    buy = prepare_order(BTC, OrderSide.BUY, 12_345, price_raw=6_000_009)  # 0.12345 @ 60000.09
    assert (buy.price_raw, buy.size_raw) == (6_000_009, 12_345)
    coarse = Instrument.from_text(venue="x", native_symbol="BU", base="B", quote="U",
                                  tick_size="0.1", lot_size="0.001")  # fmt: skip
    buy = prepare_order(coarse, OrderSide.BUY, 1_999, price_raw=15)  # 1.999 @ 1.5 (tick 0.1)
    assert (buy.price_raw, buy.size_raw, buy.price_text) == (15, 1_999, "1.5")
    at_grid = Instrument.from_text(venue="x", native_symbol="BU", base="B", quote="U",
                                   tick_size="0.5", lot_size="0.01")  # fmt: skip
    buy = prepare_order(at_grid, OrderSide.BUY, 1_234, price_raw=17)  # 12.34 @ 1.7, tick 0.5
    sell = prepare_order(at_grid, OrderSide.SELL, 1_234, price_raw=17)
    assert (buy.price_raw, sell.price_raw) == (15, 20)
    taker = prepare_order(at_grid, OrderSide.BUY, 1_234, price_raw=17,
                          rounding=Rounding.AGGRESSIVE)  # fmt: skip
    assert taker.price_raw == 20
    assert taker.size_raw == 1_234


def test_orders_below_the_minimums_are_refused_before_sending() -> None:
    with pytest.raises(InvalidOrder, match="notional"):
        prepare_order(BTC, OrderSide.BUY, 1, price_raw=6_000_000)  # 0.00001 BTC = 0.6 USDT
    with pytest.raises(InvalidOrder, match="size"):
        prepare_order(BTC, OrderSide.SELL, 0, price_raw=6_000_000)
    with pytest.raises(InvalidOrder, match="post-only"):
        prepare_order(BTC, OrderSide.BUY, 100, type=OrderType.MARKET,
                      time_in_force=TimeInForce.POST_ONLY)  # fmt: skip


def test_client_order_ids_are_unique_and_plain() -> None:
    ids = {new_client_order_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.isalnum() and len(i) <= 32 for i in ids)


def test_httpx_request_logs_never_show_a_signed_query(caplog: pytest.LogCaptureFixture) -> None:
    client = _client(lambda request: httpx.Response(200, json={}))
    request = HttpRequest(method="GET", path="/api/v3/order",
                          params=[("apiKey", "KEY-123"), ("signature", "SIG-456")])  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="httpx"):
        asyncio.run(client.send(request))
    assert "/api/v3/order" in caplog.text  # httpx did log the request line
    assert "KEY-123" not in caplog.text
    assert "SIG-456" not in caplog.text


def test_a_market_order_keeps_its_price_bound_rounded_never_wider() -> None:
    coarse = Instrument.from_text(venue="x", native_symbol="BU", base="B", quote="U",
                                  tick_size="0.5", lot_size="0.01")  # fmt: skip
    buy = prepare_order(coarse, OrderSide.BUY, 100, type=OrderType.MARKET, price_raw=17)
    sell = prepare_order(coarse, OrderSide.SELL, 100, type=OrderType.MARKET, price_raw=17)
    assert (buy.price_raw, sell.price_raw) == (15, 20)
    assert prepare_order(coarse, OrderSide.BUY, 100, type=OrderType.MARKET).price_raw is None


def test_a_signed_request_repr_hides_what_authenticates() -> None:
    headers = [("OK-ACCESS-KEY", "KEY-1"), ("OK-ACCESS-PASSPHRASE", "PP-1"),
               ("OK-ACCESS-SIGN", "SIG-2"), ("Content-Type", "json")]  # fmt: skip
    request = HttpRequest(method="POST", path="/api/v5/trade/order",
                          params=[("symbol", "BTCUSDT"), ("signature", "SIG-1")],
                          headers=headers)  # fmt: skip
    shown = repr(request)
    assert "BTCUSDT" in shown
    assert "Content-Type" in shown
    for secret in ("SIG-1", "KEY-1", "PP-1", "SIG-2"):
        assert secret not in shown


def test_a_per_request_policy_stops_blind_retries_and_venue_throttles_block() -> None:
    client = _client(lambda request: httpx.Response(429))
    with pytest.raises(RateLimitExceeded):
        asyncio.run(client.send(HttpRequest(method="POST", path="/order"),
                                retry=RetryPolicy(attempts=1)))  # fmt: skip
    assert client.requests == 1
    clock = FakeClock()
    limiter = RateLimiter([BudgetSpec("requests", 100, 1.0)], clock=clock, sleep=clock.sleep)
    limiter.block(1800.0, "HTTP 403 IP ban")  # Bybit's ban: the error mapping knows how long
    asyncio.run(limiter.acquire())
    assert clock.now == pytest.approx(1000.0 + 1800.0)


# --- the shared trading layer: signing, replies, placement at most once -------------------------


def test_same_text_is_constant_time_and_folds_only_ascii_hex() -> None:
    assert same_text("ab12", "ab12")
    assert not same_text(None, "ab12")
    assert not same_text("AB12", "ab12")
    assert same_text("AB12", "ab12", ignore_case=True)
    assert not same_text("\u212a", "k", ignore_case=True)  # the Kelvin sign folds to "k": refused
    assert not same_text("é", "e")  # non-ASCII text compares without raising


def test_nonces_strictly_increase_and_hmacs_have_both_encodings() -> None:
    times = iter([5.0, 5.0, 4.0, 6.0])
    nonce = IncreasingNonce(1000, clock=lambda: next(times))
    assert [nonce() for _ in range(4)] == ["5000", "5001", "5002", "6000"]
    assert hmac_hex("key", "text") == hmac_hex(b"key", b"text")
    assert hmac_b64("key", "text", "sha512") != hmac_b64("key", "text")
    request = HttpRequest(method="GET", path="/x", headers=[("SIGN", "old"), ("Accept", "json")])
    signed = with_auth_headers(request, ("sign",), ("SIGN", "new"))
    assert signed.headers == (("Accept", "json"), ("SIGN", "new"))


def test_replies_are_read_exactly_and_errors_by_status() -> None:
    reply = httpx.Response(200, content=b'{"px": 0.10, "sz": "1.50"}')
    assert decode_reply(reply, "test") == {"px": "0.10", "sz": "1.50"}  # no float anywhere
    assert raw_decimal("1.50", 2, "sz", "test") == 150
    assert raw_decimal(3, 2, "sz", "test") == 300
    with pytest.raises(MalformedMessage, match="sz"):
        raw_decimal(1.5, 2, "sz", "test")
    with pytest.raises(MalformedMessage, match="not exact"):
        raw_decimal("1.505", 2, "sz", "test")
    with pytest.raises(MalformedMessage, match="not JSON"):
        decode_reply(httpx.Response(502, content=b"<html>"), "test")
    expected = {401: AuthenticationError, 403: AuthenticationError, 418: RateLimitExceeded,
                429: RateLimitExceeded, 500: ExchangeNotAvailable, 504: NetworkError,
                404: ExchangeError}  # fmt: skip
    for status, cls in expected.items():
        assert status_error_class(status) is cls
    throttled = status_error(httpx.Response(429, headers={"Retry-After": "3"}), "test")
    assert isinstance(throttled, RateLimitExceeded)
    assert throttled.retry_after == 3.0


def test_the_server_clock_takes_the_round_trip_midpoint() -> None:
    clock = ServerClock(lambda: 1_000)
    assert clock.observe(server_ms=5_050, sent_ms=1_000, received_ms=1_100) == 4_000
    assert (clock.now_ms(), clock.synced) == (5_000, True)
    assert ServerClock.from_seconds(lambda: 2.5).now_ms() == 2_500


TOY = Instrument.from_text(venue="toy", native_symbol="BTCUSDT", base="BTC", quote="USDT",
                           tick_size="0.01", lot_size="0.001")  # fmt: skip


class ToyVenue:
    """A venue that deduplicates client order ids among open orders; faults per placement."""

    def __init__(self, *faults: str) -> None:
        #: "lost", "landed", "late" (lands after the next lookup) or "refused"
        self.faults = list(faults)
        self.orders: dict[str, str] = {}
        self.late: str | None = None
        self.paths: list[str] = []
        self.server_ms: int | None = None  # set: signed requests must carry this time
        self.lookups_fail = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(f"{request.method} {request.url.path}")
        if request.url.path == "/time":
            return httpx.Response(200, json={"ms": self.server_ms})
        stamp = request.headers.get("x-ms")
        if self.server_ms is not None and stamp is not None and int(stamp) != self.server_ms:
            return httpx.Response(400, json={"code": "skew"})
        cid = dict(request.url.params)["id"]
        if request.method == "GET":
            if self.lookups_fail:
                return httpx.Response(503)
            found = self.orders.get(cid)
            if self.late is not None:
                self.orders[self.late], self.late = f"v{len(self.orders) + 1}", None
            return httpx.Response(200, json={"id": found}) if found else httpx.Response(404)
        if cid in self.orders:
            return httpx.Response(400, json={"code": "duplicate"})
        fault = self.faults.pop(0) if self.faults else None
        if fault == "refused":
            return httpx.Response(400, json={"code": "funds"})
        if fault == "late":
            self.late = cid
        elif fault != "lost":
            self.orders[cid] = f"v{len(self.orders) + 1}"
        if fault is not None:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, json={"id": self.orders[cid]})


def _toy_check(response: httpx.Response) -> ExchangeError | None:
    if response.status_code == 404:
        return OrderNotFound("no such order", venue="toy", http_status=404)
    code = response.json().get("code") if response.status_code == 400 else None
    if code is not None:
        cls = AuthenticationError if code == "skew" else InvalidOrder
        return cls(f"refused: {code}", venue="toy", http_status=400, venue_code=code)
    return status_error(response, "toy")


def _toy_place(venue: ToyVenue, *, attempts: int = 3, clock_ms: int = 0) -> tuple[Order, int]:
    clock = FakeClock()
    http = HttpClient("toy", "https://toy.test", check=_toy_check, sleep=clock.sleep,
                      transport=httpx.MockTransport(venue),
                      retry=RetryPolicy(attempts=attempts))  # fmt: skip
    server = ServerClock(lambda: clock_ms)
    rest = SignedRest(
        http,
        lambda request: request.with_headers(("X-Ms", str(server.now_ms()))),
        clock=server,
        time_request=HttpRequest(method="GET", path="/time"),
        server_time_ms=lambda body: int(body["ms"]),
        is_clock_error=code_in(["skew"]),
    )
    order = prepare_order(TOY, OrderSide.BUY, 1_000, price_raw=6_000_000, client_order_id="c1")
    query = HttpRequest(method="GET", path="/order", params=[("id", "c1")])

    async def lookup() -> Order | None:
        try:
            return accepted_order(order, (await rest.send(query))["id"])
        except OrderNotFound:
            return None

    async def place() -> Order:
        return await rest.place(
            HttpRequest(method="POST", path="/order", params=[("id", "c1")], is_order=True),
            client_order_id="c1",
            lookup=lookup,
            accept=lambda body: accepted_order(order, body["id"]),
            is_duplicate=code_in(["duplicate"]),
        )

    placed = asyncio.run(place())
    return placed, venue.paths.count("POST /order")


def test_a_placement_lost_before_the_venue_saw_it_is_looked_up_then_resent() -> None:
    venue = ToyVenue("lost")
    placed, posts = _toy_place(venue)
    assert (placed.venue_order_id, posts, len(venue.orders)) == ("v1", 2, 1)
    assert venue.paths == ["POST /order", "GET /order", "POST /order"]


def test_a_placement_that_landed_and_filled_is_found_and_never_resent() -> None:
    venue = ToyVenue("landed")
    placed, posts = _toy_place(venue)
    assert (placed.venue_order_id, posts) == ("v1", 1)


def test_a_placement_that_landed_late_resolves_to_the_first_order() -> None:
    venue = ToyVenue("late")  # the lookup misses it; the resend is refused as a duplicate
    placed, posts = _toy_place(venue)
    assert (placed.venue_order_id, posts, len(venue.orders)) == ("v1", 2, 1)


def test_a_placement_that_never_gets_an_answer_places_nothing() -> None:
    venue = ToyVenue("lost", "lost")
    with pytest.raises(NetworkError, match="nothing was placed"):
        _toy_place(venue, attempts=2)
    assert venue.paths.count("POST /order") == 2
    assert venue.orders == {}


def test_a_timestamp_refusal_resyncs_the_clock_once_and_places() -> None:
    venue = ToyVenue()
    venue.server_ms = 7_000
    placed, _ = _toy_place(venue, clock_ms=2_000)
    assert placed.venue_order_id == "v1"
    assert venue.paths == ["POST /order", "GET /time", "POST /order"]


def test_a_lookup_that_fails_leaves_the_outcome_unknown() -> None:
    venue = ToyVenue("landed")
    venue.lookups_fail = True
    with pytest.raises(NetworkError, match="outcome unknown") as caught:
        _toy_place(venue)
    assert isinstance(caught.value.__cause__, ExchangeNotAvailable)
    assert venue.paths.count("POST /order") == 1  # never resent without knowing


def test_a_duplicate_refusal_resolves_to_the_open_order() -> None:
    venue = ToyVenue()
    venue.orders["c1"] = "v9"  # already open under that id
    placed, posts = _toy_place(venue)
    assert (placed.venue_order_id, posts) == ("v9", 1)


def test_a_refusal_of_the_first_attempt_is_raised_once_without_a_lookup() -> None:
    venue = ToyVenue("refused")
    with pytest.raises(InvalidOrder, match="funds"):
        _toy_place(venue)
    assert venue.paths == ["POST /order"]
