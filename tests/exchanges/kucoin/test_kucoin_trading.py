"""KuCoin REST trading: signing on the vectors, orders and errors on the documented shapes, the
async calls against a fake venue that verifies every signature, and real-instrument minimums.

Documentation examples not in ``shared/data/vectors/kucoin`` are copied (trimmed) from the
KuCoin API docs pages named beside each one.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from arbcore.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    MalformedMessage,
    NetworkError,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.kucoin import auth, constants
from arbcore.exchanges.kucoin.execution import (
    KuCoinExecution,
    cancel_request,
    check,
    is_duplicate,
    order_from_entry,
    order_lookup_request,
    order_request,
    order_status,
    parse_ack,
    parse_balances,
    parse_fees,
    parse_order,
    parse_server_time,
)
from arbcore.exchanges.kucoin.providers import parse_instruments
from arbcore.exchanges.rest import ServerClock
from arbcore.exchanges.trading import OrderRequest, VenueTrading, prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.net.ratelimit import RateLimiter
from arbcore.testing.instruments import load_rest_body
from arbcore.testing.recordings import shared_data_dir
from arbcore.testing.trading_kit import FakeVenue, TradingCase, json_reply, no_sleep, run, timeout

VECTORS = (shared_data_dir() or Path("absent")) / "vectors" / "kucoin"

API_KEY = "5c2db93503aa674c74a31734"  # the docs' example key
SECRET = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3"  # the docs' example secret
PASSPHRASE = "Pass-phrase-never-shown"
CREDENTIALS = Credentials(API_KEY, SECRET, PASSPHRASE)


def _vector(name: str) -> Any:
    path = VECTORS / name
    if not path.exists():
        pytest.skip(f"documentation vector {path} is not beside this checkout")
    return json.loads(path.read_text())


def _btc() -> Instrument:
    """BTC-USDT from the docs' symbols example (tick 0.1, lot 0.00000001, min funds 0.1)."""
    (instrument,) = parse_instruments(_vector("symbols_response.json")).instruments
    return instrument


def _order(
    instrument: Instrument,
    *,
    side: OrderSide = OrderSide.BUY,
    type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.GTC,
    size: int = 1000,
    price: int = 500000,
    client_order_id: str = "5c52e11203aa677f33e493fb",
) -> OrderRequest:
    return OrderRequest(
        instrument=instrument,
        side=side,
        type=type,
        size_raw=size,
        price_raw=None if type is OrderType.MARKET else price,
        time_in_force=tif,
        client_order_id=client_order_id,
    )


# --- signing -------------------------------------------------------------------------------------


def test_the_docs_signature_vector_reproduces_through_sign() -> None:
    vector = _vector("signature.json")
    credentials = Credentials(vector["api_key"], vector["secret"], PASSPHRASE)
    request = HttpRequest(method=vector["method"], path=vector["endpoint"], body=vector["body"])
    signed = auth.sign(request, credentials, timestamp_ms=int(vector["timestamp"]))
    assert signed.header("KC-API-SIGN") == vector["expected_signature"]
    assert signed.header("KC-API-TIMESTAMP") == vector["timestamp"]
    assert signed.header("KC-API-KEY") == vector["api_key"]
    assert signed.header("KC-API-KEY-VERSION") == "3"
    assert vector["timestamp"] + "POST" + auth.raw_target(signed) + signed.body == vector["payload"]
    assert auth.verify(signed, credentials)


def test_every_signed_passphrase_vector_reproduces_through_sign() -> None:
    vectors = _vector("passphrase_signed_selfcomputed.json")["vectors"]
    assert len(vectors) == 2
    for vector in vectors:
        credentials = Credentials("key", vector["secret"], vector["passphrase"])
        for version in ("2", "3"):  # the same rule for both key versions
            signed = auth.sign(
                HttpRequest(method="GET", path="/api/v1/accounts"),
                credentials,
                timestamp_ms=1,
                key_version=version,
            )
            assert signed.header("KC-API-PASSPHRASE") == vector["signed_passphrase"]
            assert signed.header("KC-API-KEY-VERSION") == version
    plain = auth.sign(HttpRequest(method="GET", path="/x"), CREDENTIALS, key_version="1")
    assert plain.header("KC-API-PASSPHRASE") == PASSPHRASE  # v1 keys: plain text


def test_the_query_is_signed_as_its_original_text() -> None:
    """docs-new/authentication: ``passphrase=abc%21%40%2311`` is signed as ``abc!@#11``."""
    params = [("apiKey", "67b3"), ("subName", "test"), ("passphrase", "abc!@#11")]
    request = HttpRequest(method="GET", path="/api/v1/sub/api-key", params=params)
    assert (
        request.target == "/api/v1/sub/api-key?apiKey=67b3&subName=test&passphrase=abc%21%40%2311"
    )
    assert (
        auth.raw_target(request)
        == "/api/v1/sub/api-key?apiKey=67b3&subName=test&passphrase=abc!@#11"
    )
    signed = auth.sign(request, CREDENTIALS, timestamp_ms=1547015186532)
    expected = auth.hmac_b64(SECRET, "1547015186532GET" + auth.raw_target(request))
    assert signed.header("KC-API-SIGN") == expected


def test_verify_accepts_the_signed_request_and_rejects_any_tampering() -> None:
    request = HttpRequest(
        method="GET", path="/api/v1/hf/orders/active", params=[("symbol", "BTC-USDT")]
    )
    signed = auth.sign(request, CREDENTIALS, timestamp_ms=1547015186532)
    assert auth.verify(signed, CREDENTIALS)

    def replace(name: str, value: str) -> HttpRequest:
        headers = [(k, value if k == name else v) for k, v in signed.headers]
        return HttpRequest(
            method=signed.method, path=signed.path, params=signed.params, headers=headers
        )

    tampered = [
        HttpRequest(
            method="GET", path=signed.path, params=[("symbol", "ETH-USDT")], headers=signed.headers
        ),
        HttpRequest(
            method="DELETE", path=signed.path, params=signed.params, headers=signed.headers
        ),
        HttpRequest(
            method="GET", path="/api/v1/hf/orders", params=signed.params, headers=signed.headers
        ),
        HttpRequest(
            method="GET", path=signed.path, params=signed.params, body="{}", headers=signed.headers
        ),
        replace("KC-API-TIMESTAMP", "1547015186533"),
        replace("KC-API-KEY", "another-key"),
        replace("KC-API-PASSPHRASE", PASSPHRASE),  # the plain passphrase for a v3 key
        replace("KC-API-KEY-VERSION", "1"),
        HttpRequest(method=signed.method, path=signed.path, params=signed.params),
    ]
    assert [auth.verify(r, CREDENTIALS) for r in tampered] == [False] * len(tampered)
    assert not auth.verify(signed, Credentials(API_KEY, SECRET + "0", PASSPHRASE))
    twice = auth.sign(signed, CREDENTIALS, timestamp_ms=2)
    assert [k for k, _ in twice.headers] == list(auth.AUTH_HEADERS)
    assert auth.verify(twice, CREDENTIALS)


def test_keys_without_a_passphrase_are_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="KUCOIN_PASSPHRASE") as caught:
        auth.sign(HttpRequest(method="GET", path="/"), Credentials(API_KEY, SECRET))
    assert SECRET not in str(caught.value)
    with pytest.raises(ConfigError):
        KuCoinExecution(Credentials(API_KEY, SECRET), [_btc()], base_url="https://kucoin.test")


# --- orders --------------------------------------------------------------------------------------


def test_limit_order_request_is_the_documented_example() -> None:
    vector = {k: v for k, v in _vector("place_order_request.json").items() if k != "remark"}
    request = order_request(_order(_btc()))  # 0.00001 BTC at 50000, the docs' clientOid
    assert (request.method, request.path, request.params) == ("POST", "/api/v1/hf/orders", ())
    assert request.body == json.dumps(vector, separators=(",", ":"))  # same keys, same order
    assert request.header("content-type") == "application/json"
    assert request.is_order
    fok = order_request(_order(_btc(), tif=TimeInForce.FOK))  # the same order, fill-or-kill
    assert fok.body == json.dumps({**vector, "timeInForce": "FOK"}, separators=(",", ":"))


def test_time_in_force_and_market_orders() -> None:
    ioc = json.loads(order_request(_order(_btc(), tif=TimeInForce.IOC)).body)
    post = json.loads(order_request(_order(_btc(), tif=TimeInForce.POST_ONLY)).body)
    assert (ioc["timeInForce"], "postOnly" in ioc) == ("IOC", False)
    assert (post["postOnly"], "timeInForce" in post) == (True, False)
    market = order_request(
        _order(
            _btc(),
            side=OrderSide.SELL,
            type=OrderType.MARKET,
            size=123_456_789,
            client_order_id="m_1-x",
        )
    )
    assert market.body == (
        '{"type":"market","symbol":"BTC-USDT","side":"sell","size":"1.23456789","clientOid":"m_1-x"}'
    )


def test_order_requests_refuse_what_kucoin_would_refuse() -> None:
    with pytest.raises(InvalidOrder, match="letters, digits"):
        order_request(_order(_btc(), client_order_id="a b"))
    with pytest.raises(InvalidOrder, match="longer than 40"):
        order_request(_order(_btc(), client_order_id="a" * 41))
    other = Instrument.from_text(
        venue="okx",
        native_symbol="BTC-USDT",
        base="BTC",
        quote="USDT",
        tick_size="0.1",
        lot_size="0.00000001",
    )
    with pytest.raises(InvalidOrder, match="okx instrument"):
        order_request(_order(other))
    lookup = order_lookup_request(_btc(), "c1")
    assert (lookup.method, lookup.target) == (
        "GET",
        "/api/v1/hf/orders/client-order/c1?symbol=BTC-USDT",
    )
    cancel = cancel_request(_btc(), "c1")
    assert (cancel.method, cancel.target, cancel.body) == (
        "DELETE",
        "/api/v1/hf/orders/client-order/c1?symbol=BTC-USDT",
        "",
    )


def test_placement_reply_vector_is_the_accepted_order() -> None:
    placed = parse_ack(_vector("place_order_response.json"), _order(_btc()))
    assert placed.status is OrderStatus.OPEN
    assert (placed.venue_order_id, placed.client_order_id) == (
        "670fd33bf9406e0007ab3945",
        "5c52e11203aa677f33e493fb",
    )
    assert (placed.price_raw, placed.size_raw) == (500000, 1000)
    with pytest.raises(MalformedMessage, match="5c52e11203aa677f33e493fb"):
        parse_ack(_vector("place_order_response.json"), _order(_btc(), client_order_id="other"))


def test_order_details_vector_parses_exactly() -> None:
    order = parse_order(_vector("get_order_response.json"), _btc())
    assert order.status is OrderStatus.FILLED  # active false, dealSize == size
    assert (order.type, order.side, order.time_in_force) == (
        OrderType.LIMIT,
        OrderSide.BUY,
        TimeInForce.GTC,
    )
    assert (order.price_raw, order.size_raw, order.filled_raw) == (700000, 1000, 1000)
    assert (order.client_order_id, order.venue_order_id) == (
        "5c52e11203aa677f33e493fb",
        "6717422bd51c29000775ea03",
    )
    assert order.ts_created_ns == 1729577515444 * 1_000_000


def _entry(**changes: object) -> dict[str, Any]:
    entry: dict[str, Any] = copy.deepcopy(_vector("get_order_response.json")["data"])
    entry.update(changes)
    return entry


#: (active, dealSize of size 0.00001, expected): every state an HF order can be in.
STATES = [
    (True, "0", OrderStatus.OPEN),
    (True, "0.000004", OrderStatus.PARTIALLY_FILLED),
    (True, "0.00001", OrderStatus.FILLED),
    (False, "0", OrderStatus.CANCELED),
    (False, "0.000004", OrderStatus.CANCELED),  # canceled after a partial fill (or an IOC rest)
    (False, "0.00001", OrderStatus.FILLED),
]


@pytest.mark.parametrize(("active", "deal", "status"), STATES)
def test_every_kucoin_state_maps(active: bool, deal: str, status: OrderStatus) -> None:
    order = order_from_entry(_entry(active=active, dealSize=deal), _btc())
    assert order.status is status
    assert order.filled_raw == int(float(deal) * 10**8 + 0.5)
    assert len(constants.ORDER_STATES) == len(STATES)
    assert order_status(active, 1000, order.filled_raw) is status


def test_an_unfilled_fok_reads_back_done_and_canceled_as_kucoin_says() -> None:
    killed = order_from_entry(_entry(timeInForce="FOK", active=False, dealSize="0",
                                     cancelExist=True), _btc())  # fmt: skip
    assert (killed.time_in_force, killed.status, killed.filled_raw) == (
        TimeInForce.FOK, OrderStatus.CANCELED, 0)  # fmt: skip


def test_time_in_force_and_funds_orders_read_back() -> None:
    post = order_from_entry(_entry(postOnly=True), _btc())
    ioc = order_from_entry(_entry(timeInForce="IOC"), _btc())
    fok = order_from_entry(_entry(timeInForce="FOK"), _btc())
    funds = order_from_entry(
        _entry(type="market", size="0", funds="1", price="0", dealSize="0.000014"), _btc()
    )
    assert (post.time_in_force, ioc.time_in_force, fok.time_in_force) == (
        TimeInForce.POST_ONLY,
        TimeInForce.IOC,
        TimeInForce.FOK,
    )
    assert (funds.type, funds.size_raw, funds.price_raw, funds.status) == (
        OrderType.MARKET,
        1400,
        0,
        OrderStatus.FILLED,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"active": "false"},
        {"type": "stop_limit"},
        {"price": "70000.05"},
        {"size": "0.000000001"},
        {"side": "long"},
        {"symbol": "ETH-USDT"},
        {"dealSize": None},
        {"id": ""},
    ],
)
def test_orders_venue_cannot_mean_are_malformed(changes: dict[str, object]) -> None:
    with pytest.raises(MalformedMessage):
        order_from_entry(_entry(**changes), _btc())


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 400])
def test_the_error_vector_is_an_invalid_order(status: int) -> None:
    error = check(json_reply(status, _vector("error_response_example.json")))
    assert type(error) is InvalidOrder
    assert (error.venue, error.http_status, error.venue_code) == ("kucoin", status, "400100")
    assert "Invalid Parameter." in str(error)


#: (code, message, HTTP status, class, retry_after): the spot error table
#: (kucoin.com/docs/basic-info/errors-code/spot-errors-code), docs-new's gateway codes and the
#: 400100 meanings KuCoin sends (constants.PARAMETER_ERROR_MEANINGS).
DOCUMENTED_ERRORS = [
    (
        "400001",
        "Any of KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE is missing "
        "in your request header",
        401,
        AuthenticationError,
        None,
    ),
    ("400002", "KC-API-TIMESTAMP Invalid", 401, AuthenticationError, None),
    ("400003", "KC-API-KEY not exists", 401, AuthenticationError, None),
    ("400004", "KC-API-PASSPHRASE error", 401, AuthenticationError, None),
    ("400005", "Signature error", 401, AuthenticationError, None),
    (
        "400008",
        "V1 & V2 API keys are no longer supported by this API. Please create a V3 API key.",
        401,
        AuthenticationError,
        None,
    ),
    ("200004", "Balance insufficient", 200, InsufficientFunds, None),
    ("400100", "account.available.amount", 400, InsufficientFunds, None),
    ("400100", "order_not_exist_or_not_allow_to_cancel", 400, OrderNotFound, None),
    ("400100", "order not exist.", 400, OrderNotFound, None),
    ("400100", "validation.createOrder.clientOidDuplicated", 400, InvalidOrder, None),
    ("400600", "validation.createOrder.symbolNotAvailable", 200, InvalidOrder, None),
    ("200001", "Order creation for this pair suspended", 200, InvalidOrder, None),
    ("429000", "Too Many Requests", 429, RateLimitExceeded, None),
    (
        "200002",
        "Too many requests in a short period of time, please retry later",
        200,
        RateLimitExceeded,
        10.0,
    ),
    ("1015", "cloudflare frequency limit according to IP, block 30s", 403, RateLimitExceeded, 30.0),
    ("500000", "Internal Server Error", 500, ExchangeNotAvailable, None),
]


@pytest.mark.parametrize(("code", "message", "status", "cls", "retry_after"), DOCUMENTED_ERRORS)
def test_documented_error_codes_map_with_status_and_code(
    code: str, message: str, status: int, cls: type[ExchangeError], retry_after: float | None
) -> None:
    error = check(json_reply(status, {"code": code, "msg": message}))
    assert type(error) is cls
    assert (error.venue, error.http_status, error.venue_code) == ("kucoin", status, code)
    assert message in str(error)
    if isinstance(error, RateLimitExceeded):
        assert error.retry_after == retry_after
    assert is_duplicate(error) == ("Duplicated" in message)


def test_throttling_waits_for_the_pool_reset_and_bare_statuses_map() -> None:
    throttled = check(
        json_reply(
            429,
            {"code": "429000", "msg": "Too Many Requests"},
            {"gw-ratelimit-reset": "1500", "gw-ratelimit-remaining": "0"},
        )
    )
    assert isinstance(throttled, RateLimitExceeded)
    assert throttled.retry_after == 1.5
    assert type(check(json_reply(502, b"<html>Bad Gateway</html>"))) is ExchangeNotAvailable
    assert type(check(json_reply(504, b"<html>Gateway Timeout</html>"))) is NetworkError
    assert type(check(json_reply(200, b"<html>maintenance</html>"))) is ExchangeError
    assert type(check(json_reply(400, {"code": "999999", "msg": "new"}))) is ExchangeError
    assert type(check(json_reply(401, {"code": "999999", "msg": "new"}))) is AuthenticationError
    assert check(json_reply(200, {"code": "200000", "data": {}})) is None


# --- balances, fees, time ------------------------------------------------------------------------

#: GET /api/v1/trade-fees?symbols=BTC-USDT,KCS-USDT example (docs: trading-pair-actual-fee).
TRADE_FEES: dict[str, Any] = {
    "code": "200000",
    "data": [
        {"symbol": "BTC-USDT", "takerFeeRate": "0.001", "makerFeeRate": "0.001"},
        {"symbol": "KCS-USDT", "takerFeeRate": "0.002", "makerFeeRate": "0.0005"},
    ],
}

#: GET /api/v1/accounts?type=trade: the shape of the docs' "Get Account List - Spot" example.
ACCOUNTS: dict[str, Any] = {
    "code": "200000",
    "data": [
        {
            "id": "5bd6e9286d99522a52e458de",
            "currency": "BTC",
            "type": "trade",
            "balance": "0.5",
            "available": "0.4",
            "holds": "0.1",
        },
        {
            "id": "5bd6e9216d99522a52e458d6",
            "currency": "USDT",
            "type": "trade",
            "balance": "1000.25",
            "available": "1000.25",
            "holds": "0",
        },
        {
            "id": "5bd6e9216d99522a52e458d7",
            "currency": "BTC",
            "type": "main",
            "balance": "7",
            "available": "7",
            "holds": "0",
        },
    ],
}


def test_balances_fees_and_time_from_the_documented_replies() -> None:
    assert [(b.asset, b.free, b.locked) for b in parse_balances(ACCOUNTS)] == [
        ("BTC", 0.4, 0.1),
        ("USDT", 1000.25, 0.0),
    ]  # the main account is not traded
    assert parse_fees(_vector("base_fee_response.json")) == (0.001, 0.001)
    assert parse_fees(TRADE_FEES, "KCS-USDT") == (0.0005, 0.002)
    assert parse_fees(TRADE_FEES, "BTC-USDT") == (0.001, 0.001)
    with pytest.raises(MalformedMessage, match="ETH-USDT"):
        parse_fees(TRADE_FEES, "ETH-USDT")
    assert (
        parse_server_time({"code": "200000", "msg": "success", "data": 1546837113087})
        == 1546837113087
    )
    with pytest.raises(MalformedMessage):
        parse_server_time({"code": "200000", "data": "1546837113087"})


# --- the async calls against a fake KuCoin -------------------------------------------------------

SERVER_MS = 1_700_000_000_000
NOT_EXIST = {"code": "400100", "msg": "order_not_exist_or_not_allow_to_cancel"}


class FakeKuCoin(FakeVenue):
    """Speaks the documented HF reply shapes; it checks every signature."""

    exact_target = True

    def __init__(self, credentials: Credentials = CREDENTIALS) -> None:
        super().__init__()
        self.credentials = credentials
        self.orders: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(0x670FD33BF9406E0007AB3945)

    def key(self, request: HttpRequest) -> str:
        """Requests by client order id are one route (the id is the path's last part)."""
        path = request.path
        return f"{request.method} {path.rsplit('/', 1)[0] if '/client-order/' in path else path}"

    def answer(self, received: HttpRequest) -> httpx.Response:
        path, route = received.path, self.key(received)
        if path == constants.TIME_PATH:
            return json_reply(200, {"code": "200000", "msg": "success", "data": SERVER_MS})
        if path == constants.INSTRUMENTS_PATH:
            return json_reply(200, _vector("symbols_response.json"))
        if not auth.verify(received, self.credentials):
            return json_reply(401, {"code": "400005", "msg": "Signature error"})
        if (
            abs(int(received.header("KC-API-TIMESTAMP") or 0) - SERVER_MS)
            > constants.MAX_CLOCK_SKEW_S * 1000
        ):
            return json_reply(401, {"code": "400002", "msg": "KC-API-TIMESTAMP Invalid"})
        return self._route(route, received)

    def place(self, body: dict[str, Any]) -> dict[str, Any]:
        """Book an order as KuCoin would (IOC and market orders fill at once here)."""
        done = body["type"] == "market" or body.get("timeInForce") == "IOC"
        entry = {
            "id": f"{next(self.ids):x}",
            "clientOid": body["clientOid"],
            "symbol": body["symbol"],
            "type": body["type"],
            "side": body["side"],
            "price": body.get("price", "0"),
            "size": body["size"],
            "dealSize": body["size"] if done else "0",
            "timeInForce": body.get("timeInForce", "GTC"),
            "postOnly": body.get("postOnly", False),
            "active": not done,
            "createdAt": SERVER_MS,
        }
        self.orders[body["clientOid"]] = entry
        return entry

    def _route(self, route: str, request: HttpRequest) -> httpx.Response:
        params = dict(request.params)
        oid = request.path.rsplit("/", 1)[-1]
        if route == "POST /api/v1/hf/orders":
            body = json.loads(request.body)
            existing = self.orders.get(body["clientOid"])
            if existing and existing["active"]:
                return json_reply(
                    400, {"code": "400100", "msg": "validation.createOrder.clientOidDuplicated"}
                )
            entry = self.place(body)
            return json_reply(
                200,
                {
                    "code": "200000",
                    "data": {"orderId": entry["id"], "clientOid": entry["clientOid"]},
                },
            )
        if route == "GET /api/v1/hf/orders/client-order":
            found = self.orders.get(oid)
            if found is None or found["symbol"] != params["symbol"]:
                return json_reply(400, NOT_EXIST)
            return json_reply(200, {"code": "200000", "data": found})
        if route == "DELETE /api/v1/hf/orders/client-order":
            found = self.orders.get(oid)
            if found is None or not found["active"]:
                return json_reply(400, NOT_EXIST)
            found["active"] = False
            return json_reply(200, {"code": "200000", "data": {"clientOid": oid}})
        if route == "GET /api/v1/hf/orders/active/symbols":
            symbols = sorted({o["symbol"] for o in self.orders.values() if o["active"]})
            return json_reply(200, {"code": "200000", "data": {"symbols": symbols}})
        if route == "GET /api/v1/hf/orders/active":
            active = [
                o for o in self.orders.values() if o["active"] and o["symbol"] == params["symbol"]
            ]
            return json_reply(200, {"code": "200000", "data": active})
        if route == "GET /api/v1/accounts":
            assert params == {"type": "trade"}
            return json_reply(200, ACCOUNTS)
        if route == "GET /api/v1/trade-fees":
            return json_reply(
                200,
                {
                    "code": "200000",
                    "data": [e for e in TRADE_FEES["data"] if e["symbol"] == params["symbols"]],
                },
            )
        raise AssertionError(f"unexpected request {route}")

    def posts(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.seen if r.method == "POST"]


def _execution(
    fake: FakeKuCoin, *, attempts: int = 3, clock_ms: Callable[[], int] | None = None
) -> KuCoinExecution:
    http = HttpClient(
        "kucoin",
        "https://kucoin.test",
        check=check,
        transport=fake.transport(),
        limiter=RateLimiter(constants.RATE_LIMITS),
        retry=RetryPolicy(attempts=attempts),
        sleep=no_sleep,
    )
    eth = Instrument.from_text(
        venue="kucoin",
        native_symbol="ETH-USDT",
        base="ETH",
        quote="USDT",
        tick_size="0.01",
        lot_size="0.0001",
    )
    return KuCoinExecution(
        CREDENTIALS, [_btc(), eth], http=http, clock=ServerClock(clock_ms or (lambda: SERVER_MS))
    )


def test_the_execution_is_a_venue_trading_with_kucoin_defaults() -> None:
    execution = KuCoinExecution(
        CREDENTIALS,
        [_btc()],
        base_url="https://kucoin.test",
        transport=httpx.MockTransport(FakeKuCoin()),
    )
    trading: VenueTrading = execution
    assert trading.venue == "kucoin"
    assert execution.http.check is check
    assert execution.http.limiter is not None
    assert [b.spec for b in execution.http.limiter.budgets] == list(constants.RATE_LIMITS)
    assert auth.verify(
        trading.sign(HttpRequest(method="GET", path="/x"), CREDENTIALS, timestamp_ms=7), CREDENTIALS
    )
    assert run(execution.fetch_instruments()) == [_btc()]


def test_a_session_places_reads_lists_and_cancels_with_verified_signatures() -> None:
    fake = FakeKuCoin()
    execution = _execution(fake)
    btc = _btc()

    async def session() -> Any:
        placed = await execution.place_order(
            prepare_order(btc, OrderSide.BUY, 1000, price_raw=500000, client_order_id="g1")
        )
        read = await execution.fetch_order(btc, "g1")
        ioc = await execution.place_order(
            prepare_order(
                btc,
                OrderSide.SELL,
                2000,
                price_raw=499999,
                time_in_force=TimeInForce.IOC,
                client_order_id="i1",
            )
        )
        open_orders = await execution.fetch_open_orders()
        canceled = await execution.cancel_order(btc, "g1")
        late = await execution.cancel_order(btc, "i1")  # already filled: no error, its state
        return placed, read, ioc, open_orders, canceled, late

    placed, read, ioc, open_orders, canceled, late = run(session())
    assert (placed.status, placed.client_order_id) == (OrderStatus.OPEN, "g1")
    assert (read.status, read.price_raw, read.size_raw, read.venue_order_id) == (
        OrderStatus.OPEN,
        500000,
        1000,
        placed.venue_order_id,
    )
    assert (ioc.status, ioc.filled_raw) == (OrderStatus.FILLED, 2000)  # the ack, read back
    assert [o.client_order_id for o in open_orders] == ["g1"]
    assert canceled.status is OrderStatus.CANCELED
    assert (late.status, late.filled_raw) == (OrderStatus.FILLED, 2000)
    assert [(r.method, r.path) for r in fake.seen] == [
        ("POST", "/api/v1/hf/orders"),
        ("GET", "/api/v1/hf/orders/client-order/g1"),
        ("POST", "/api/v1/hf/orders"),
        ("GET", "/api/v1/hf/orders/client-order/i1"),
        ("GET", "/api/v1/hf/orders/active/symbols"),
        ("GET", "/api/v1/hf/orders/active"),
        ("DELETE", "/api/v1/hf/orders/client-order/g1"),
        ("GET", "/api/v1/hf/orders/client-order/g1"),
        ("DELETE", "/api/v1/hf/orders/client-order/i1"),
        ("GET", "/api/v1/hf/orders/client-order/i1"),
    ]
    for request in fake.seen:
        assert all(request.header(name) for name in auth.AUTH_HEADERS)
        assert request.header("KC-API-TIMESTAMP") == str(SERVER_MS)
        assert auth.verify(request, CREDENTIALS)


def test_balances_fees_and_open_orders_per_symbol() -> None:
    fake = FakeKuCoin()
    for n, symbol in enumerate(["BTC-USDT", "ETH-USDT", "XYZ-USDT", "BTC-USDT"]):
        fake.place(
            {
                "clientOid": f"o{n}",
                "symbol": symbol,
                "type": "limit",
                "side": "buy",
                "price": "100",
                "size": "1",
            }
        )
    execution = _execution(fake)
    everything = run(execution.fetch_open_orders())
    assert sorted(o.client_order_id for o in everything) == ["o0", "o1", "o3"]  # XYZ is not ours
    assert [o.client_order_id for o in run(execution.fetch_open_orders(_btc()))] == ["o0", "o3"]
    assert [b.asset for b in run(execution.fetch_balances())] == ["BTC", "USDT"]
    assert run(execution.fetch_fees(_btc())) == (0.001, 0.001)


def test_a_resend_refused_as_duplicate_returns_the_first_order() -> None:
    fake = FakeKuCoin()
    late: dict[str, Any] = {}

    def arrives_late(request: HttpRequest) -> None:
        late.update(json.loads(request.body))
        raise httpx.ReadTimeout("read timed out")

    def lookup_misses(request: HttpRequest) -> httpx.Response:
        fake.place(late)  # the first attempt lands after the lookup
        return json_reply(400, NOT_EXIST)

    fake.hook("POST /api/v1/hf/orders", arrives_late)
    fake.hook("GET /api/v1/hf/orders/client-order", lookup_misses)
    order = prepare_order(_btc(), OrderSide.BUY, 1000, price_raw=500000, client_order_id="r3")
    placed = run(_execution(fake).place_order(order))
    assert (placed.status, placed.venue_order_id) == (OrderStatus.OPEN, fake.orders["r3"]["id"])
    assert (len(fake.posts()), len(fake.orders)) == (2, 1)


def test_an_unanswered_lookup_is_a_network_error_without_the_query() -> None:
    single = FakeKuCoin()
    single.hook("GET /api/v1/hf/orders/client-order", timeout())
    with pytest.raises(NetworkError, match="outcome unknown") as caught:
        run(_execution(single, attempts=1).fetch_order(_btc(), "r4"))
    assert "symbol=" not in str(caught.value)


def test_a_skewed_clock_is_resynced_from_the_server_time_and_the_request_sent_again() -> None:
    fake = FakeKuCoin()
    execution = _execution(fake, clock_ms=lambda: SERVER_MS + 7_000)  # KuCoin allows 5 s
    assert len(run(execution.fetch_balances())) == 2
    assert execution.clock.offset_ms == -7_000
    assert [r.path for r in fake.seen] == [
        "/api/v1/accounts",
        "/api/v1/timestamp",
        "/api/v1/accounts",
    ]
    assert fake.seen[1].header("KC-API-SIGN") is None  # the time endpoint is public


def test_refusals_surface_as_the_documented_errors() -> None:
    with pytest.raises(AuthenticationError) as caught:
        run(_execution(FakeKuCoin(Credentials(API_KEY, "another", PASSPHRASE))).fetch_balances())
    assert (caught.value.venue_code, caught.value.http_status) == ("400005", 401)
    fake = FakeKuCoin()
    fake.hook(
        "POST /api/v1/hf/orders",
        lambda r: json_reply(200, {"code": "200004", "msg": "Balance insufficient"}),
    )
    order = prepare_order(_btc(), OrderSide.BUY, 1000, price_raw=500000, client_order_id="f1")
    with pytest.raises(InsufficientFunds):
        run(_execution(fake).place_order(order))
    with pytest.raises(OrderNotFound):
        run(_execution(FakeKuCoin()).cancel_order(_btc(), "never"))
    throttled = FakeKuCoin()
    limit = json_reply(
        429, {"code": "429000", "msg": "Too Many Requests"}, {"gw-ratelimit-reset": "250"}
    )
    throttled.hook("GET /api/v1/accounts", *[lambda r: limit] * 2)
    with pytest.raises(RateLimitExceeded) as limited:
        run(_execution(throttled, attempts=2).fetch_balances())
    assert limited.value.retry_after == 0.25


def test_keys_without_a_passphrase_never_show_the_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        KuCoinExecution(Credentials(API_KEY, SECRET), [_btc()])
    for secret in (SECRET, PASSPHRASE, API_KEY, auth.signed_passphrase(CREDENTIALS)):
        assert secret not in str(caught.value)


def _contract_build(attempts: int) -> tuple[FakeVenue, VenueTrading]:
    fake = FakeKuCoin()
    return fake, _execution(fake, attempts=attempts)


#: How KuCoin runs the shared trading scenarios (tests/exchanges/test_trading_contract.py).
CASE = TradingCase(
    venue="kucoin",
    build=_contract_build,
    order=lambda cid, tif: prepare_order(
        _btc(), OrderSide.BUY, 1000, price_raw=500000, time_in_force=tif, client_order_id=cid
    ),
    place_key="POST /api/v1/hf/orders",
    sent_id=lambda request: json.loads(request.body)["clientOid"],
    verify=lambda request: auth.verify(request, CREDENTIALS),
    signature=lambda request: request.header("KC-API-SIGN"),
    signed_afresh=False,  # the same timestamp on the fixed clock: the same signature
    land=lambda fake, request: cast(FakeKuCoin, fake).place(json.loads(request.body)),
    booked=lambda fake: len(cast(FakeKuCoin, fake).orders),
    resend_paths=(
        "/api/v1/hf/orders",
        "/api/v1/hf/orders/client-order/retry1",
        "/api/v1/hf/orders",
    ),
    landed_tif=TimeInForce.IOC,  # KuCoin would accept a second IOC with this clientOid
    landed_paths=("/api/v1/hf/orders", "/api/v1/hf/orders/client-order/landed1"),
    landed_status=OrderStatus.FILLED,
    lost_match="nothing was placed",
    refuse=lambda fake: fake.hook(
        "GET /api/v1/accounts",
        lambda r: json_reply(401, {"code": "400005", "msg": "Signature error"}),
    ),
    secrets=(SECRET, PASSPHRASE, API_KEY, auth.signed_passphrase(CREDENTIALS)),
)


# --- rounding and minimums on the real instrument list -------------------------------------------


@pytest.fixture(scope="module")
def real(shared_data: Path) -> dict[str, Instrument]:
    return parse_instruments(
        load_rest_body(shared_data / "real/kucoin/KUCOIN.0", "/api/v1/symbols")
    ).by_symbol()


@pytest.mark.recording
@pytest.mark.parametrize(
    ("symbol", "side", "size", "price", "text"),
    [
        ("BTC/USDT", OrderSide.BUY, 1_000, 100_000, ("10000", "0.00001")),  # notional 0.1 = min
        ("KCS/USDT", OrderSide.SELL, 100, 5_000, ("5", "0.01")),  # notional 0.05 = minimum
        ("XRP/USDT", OrderSide.BUY, 1_234_567, 56_789, ("0.56789", "123.4567")),
        ("BSV/USDT", OrderSide.SELL, 100_000, 123_456, ("123.456", "0.001")),  # native BCHSV-USDT
    ],
)
def test_real_instruments_send_exact_text_at_their_minimums(
    real: dict[str, Instrument],
    symbol: str,
    side: OrderSide,
    size: int,
    price: int,
    text: tuple[str, str],
) -> None:
    order = prepare_order(real[symbol], side, size, price_raw=price, client_order_id="x1")
    assert (order.size_raw, order.price_raw) == (size, price)  # KuCoin's grids are its decimals
    body = json.loads(order_request(order).body)
    assert (body["symbol"], body["price"], body["size"]) == (real[symbol].native_symbol, *text)


@pytest.mark.recording
@pytest.mark.parametrize(
    ("symbol", "size", "price", "reason"),
    [
        ("BTC/USDT", 999, 10_000_000, "size 0.00000999 is below the minimum 0.00001"),
        ("BTC/USDT", 1_000, 99_999, "notional 0.0 is below the minimum 0.1"),  # 0.09999999 USDT
        ("KCS/USDT", 99, 100_000, "size 0.0099 is below the minimum 0.01"),
        ("KCS/USDT", 100, 4_999, "notional 0.049 is below the minimum 0.050"),
        ("XRP/USDT", 10_000, 99, "notional 0.00099 is below the minimum 0.01000"),
    ],
)
def test_real_instruments_refuse_orders_below_their_minimums(
    real: dict[str, Instrument], symbol: str, size: int, price: int, reason: str
) -> None:
    with pytest.raises(InvalidOrder) as caught:
        prepare_order(real[symbol], OrderSide.BUY, size, price_raw=price)
    assert reason in str(caught.value)


def test_the_client_signs_at_the_synced_clock_with_its_key_version() -> None:
    execution = KuCoinExecution(CREDENTIALS, [_btc()], base_url="http://127.0.0.1:9",
                                key_version="1", clock=ServerClock(lambda: SERVER_MS))  # fmt: skip
    signed = execution.sign(HttpRequest(method="GET", path="/api/v1/accounts"), CREDENTIALS)
    assert signed.header("KC-API-KEY-VERSION") == "1"
    assert signed.header("KC-API-PASSPHRASE") == PASSPHRASE  # v1 keys: plain text
    assert signed.header("KC-API-TIMESTAMP") == str(SERVER_MS)
