"""Gate.io REST trading: signing (both documented examples), orders, states, errors, and the
client end to end against a fake Gate speaking the documented shapes (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    MalformedMessage,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.gateio import auth, constants
from arbcore.exchanges.gateio.execution import (
    GateioExecution,
    check,
    client_text,
    order_request,
    order_status,
    parse_balances,
    parse_fees,
    parse_order,
    parse_orders,
)
from arbcore.exchanges.gateio.providers import parse_instruments
from arbcore.exchanges.rest import ServerClock
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest, VenueTrading, prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.testing.instruments import load_rest_body
from arbcore.testing.trading_kit import (
    FakeClock,
    FakeVenue,
    TradingCase,
    timeout,
    wire_request,
)


def _vector(shared_data: Path, name: str) -> Any:
    return json.loads((shared_data / "vectors/gateio" / name).read_text())


# As the recorded currency_pairs (2021-04-22) state them: BTC_USDT precision 2, amount 4;
# ETH_BTC precision 6, amount 4, min_base_amount 0.001, min_quote_amount 0.0001.
BTC_USDT = Instrument(
    venue="gateio",
    symbol="BTC/USDT",
    native_symbol="BTC_USDT",
    base="BTC",
    quote="USDT",
    price_decimals=2,
    size_decimals=4,
    tick_size=1,
    lot_size=1,
    min_qty=1,
    min_notional=100,
)
ETH_BTC = Instrument(
    venue="gateio",
    symbol="ETH/BTC",
    native_symbol="ETH_BTC",
    base="ETH",
    quote="BTC",
    price_decimals=6,
    size_decimals=4,
    tick_size=1,
    lot_size=1,
    min_qty=10,
    min_notional=100,
)
INSTRUMENTS = [BTC_USDT, ETH_BTC]

SECRET = "gate-secret-value-that-must-never-show-5a4b3c"
API_KEY = "gate-api-key-0123456789abcdef"
CREDENTIALS = Credentials(API_KEY, SECRET)
DOC_TIMESTAMP_MS = 1_541_993_715_000

# The docs' second signing example (APIv4 "API Signature string generation", 2. Create an
# order): the vector file holds the first; protocols/exchanges-b.md 2.4 lists both as reproduced.
DOC_POST_BODY = (
    '{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
)
DOC_POST_BODY_HASH = (
    "ad3c169203dc3026558f01b4df307641fa1fa361f086b2306658886d5708767b"
    "1854797c68d9e62fef2f991645aa82673622ebf417e091d0bd22bafe5d956cca"
)
DOC_POST_SIGN = (
    "eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541f"
    "c4c2c14017581b4199a1418d54471c269c03a38d788d802e2c306c37636389f0"
)


def _order(
    side: OrderSide = OrderSide.BUY,
    *,
    instrument: Instrument = BTC_USDT,
    size: int = 10,
    price: int | None = 6_500_000,
    type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.GTC,
    client_order_id: str = "abc123",
) -> OrderRequest:
    return OrderRequest(
        instrument=instrument,
        side=side,
        type=type,
        size_raw=size,
        price_raw=price,
        time_in_force=tif,
        client_order_id=client_order_id,
    )


# --- signing ----------------------------------------------------------------------------------


def test_sign_documented_get_example_reproduces(shared_data: Path) -> None:
    vector = _vector(shared_data, "signature.json")
    credentials = Credentials(vector["key"], vector["secret"])
    for example in vector["examples"]:
        params = [tuple(pair.split("=")) for pair in example["query_string"].split("&")]
        request = HttpRequest(method=example["method"], path=example["url"], params=params,
                              body=example["body"])  # fmt: skip
        signed = auth.sign(request, credentials, timestamp_ms=int(example["timestamp"]) * 1000)
        assert auth.body_hash(example["body"]) == example["expected_body_sha512_hex"]
        assert auth.signature_string(request, example["timestamp"]) == example["signature_string"]
        assert signed.header("SIGN") == example["expected_sign"]
        assert signed.header("KEY") == "key"
        assert signed.header("Timestamp") == example["timestamp"]
        assert auth.verify(signed, credentials)


def test_sign_documented_post_example_reproduces() -> None:
    request = HttpRequest(method="POST", path="/api/v4/futures/orders", body=DOC_POST_BODY)
    signed = auth.sign(request, Credentials("key", "secret"), timestamp_ms=DOC_TIMESTAMP_MS)
    assert auth.body_hash(DOC_POST_BODY) == DOC_POST_BODY_HASH
    assert auth.signature_string(request, "1541993715") == (
        f"POST\n/api/v4/futures/orders\n\n{DOC_POST_BODY_HASH}\n1541993715"
    )
    assert signed.header("SIGN") == DOC_POST_SIGN


def _signed_delete() -> HttpRequest:
    request = HttpRequest(
        method="DELETE",
        path="/api/v4/spot/orders/t-abc123",
        params=[("currency_pair", "BTC_USDT")],
    )
    return auth.sign(request, CREDENTIALS, timestamp_ms=DOC_TIMESTAMP_MS)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r.with_params(("account", "spot")),
        lambda r: HttpRequest(method="GET", path=r.path, params=r.params, headers=r.headers),
        lambda r: HttpRequest(
            method=r.method, path="/api/v4/spot/orders/t-abc124", params=r.params,
            headers=r.headers,
        ),
        lambda r: HttpRequest(
            method=r.method, path=r.path, params=r.params, headers=r.headers, body="{}"
        ),
        lambda r: HttpRequest(
            method=r.method, path=r.path, params=r.params,
            headers=[(k, "1541993716" if k == "Timestamp" else v) for k, v in r.headers],
        ),
        lambda r: HttpRequest(
            method=r.method, path=r.path, params=r.params,
            headers=[p for p in r.headers if p[0] != "SIGN"],
        ),
    ],
    ids=["param", "method", "path", "body", "timestamp", "no-sign"],
)  # fmt: skip
def test_verify_tampered_request_is_rejected(tamper: Callable[[HttpRequest], HttpRequest]) -> None:
    signed = _signed_delete()
    assert auth.verify(signed, CREDENTIALS)
    assert not auth.verify(tamper(signed), CREDENTIALS)


def test_verify_other_secret_or_key_is_rejected() -> None:
    signed = _signed_delete()
    assert not auth.verify(signed, Credentials(API_KEY, SECRET + "x"))
    assert not auth.verify(signed, Credentials(API_KEY + "x", SECRET))


def test_sign_again_replaces_the_auth_headers_and_keeps_others() -> None:
    first = auth.sign(
        HttpRequest(method="GET", path="/api/v4/spot/accounts", headers=[("Accept", "x")]),
        CREDENTIALS,
        timestamp_ms=DOC_TIMESTAMP_MS,
    )
    again = auth.sign(first, CREDENTIALS, timestamp_ms=DOC_TIMESTAMP_MS + 5_000)
    assert [k for k, _ in again.headers] == ["Accept", "KEY", "Timestamp", "SIGN"]
    assert auth.signed_timestamp_ms(again) == DOC_TIMESTAMP_MS + 5_000
    assert auth.verify(again, CREDENTIALS)


# --- order requests -----------------------------------------------------------------------------


def test_order_request_limit_gtc_is_the_documented_body(shared_data: Path) -> None:
    documented = _vector(shared_data, "rest_create_order.json")["request_body"]
    order = _order(client_order_id=documented["text"].removeprefix("t-"))
    request = order_request(order, account=documented["account"])
    assert (request.method, request.path) == ("POST", "/api/v4/spot/orders")
    sent = json.loads(request.body)
    assert sent == {key: value for key, value in documented.items() if key != "iceberg"}
    assert documented["iceberg"] == "0"  # 0 is a normal order, which leaving it out means
    assert list(sent) == [key for key in documented if key != "iceberg"]
    assert request.header("Content-Type") == "application/json"
    assert request.is_order
    fok = _order(client_order_id=order.client_order_id, tif=TimeInForce.FOK)
    assert order_request(fok, account=documented["account"]).body == json.dumps(
        {**sent, "time_in_force": "fok"}, separators=(",", ":")
    )  # the documented body byte for byte, with fok in time_in_force's place


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (_order(tif=TimeInForce.IOC), {"type": "limit", "time_in_force": "ioc", "price": "65000"}),
        (_order(OrderSide.SELL, tif=TimeInForce.POST_ONLY),
         {"type": "limit", "time_in_force": "poc", "side": "sell"}),
        (_order(OrderSide.SELL, type=OrderType.MARKET, price=None),
         {"type": "market", "time_in_force": "ioc", "amount": "0.001"}),
        # a market buy spends quote: 0.001 BTC at a worst price of 65000 is 65 USDT
        (_order(type=OrderType.MARKET), {"type": "market", "time_in_force": "ioc", "amount": "65"}),
    ],
    ids=["limit-ioc", "post-only", "market-sell", "market-buy"],
)  # fmt: skip
def test_order_request_each_type_maps_to_the_venue_fields(
    order: OrderRequest, expected: dict[str, str]
) -> None:
    body = json.loads(order_request(order).body)
    assert {key: body.get(key) for key in expected} == expected
    assert ("price" in body) == (order.type is OrderType.LIMIT)
    assert body["text"] == "t-abc123"
    assert body["account"] == "spot"


@pytest.mark.parametrize(
    "order",
    [
        _order(type=OrderType.MARKET, price=None),
        _order(client_order_id="has space"),
        _order(client_order_id="x" * 29),
        _order(type=OrderType.MARKET, tif=TimeInForce.POST_ONLY),
    ],
    ids=["market-buy-no-price", "bad-client-id", "long-client-id", "market-post-only"],
)
def test_order_request_unsendable_order_is_invalid(order: OrderRequest) -> None:
    with pytest.raises(InvalidOrder):
        order_request(order)


def test_client_text_takes_arbcore_ids() -> None:
    assert client_text("arb18c5f0a1b2c00042000001") == "t-arb18c5f0a1b2c00042000001"


# --- order replies and states ---------------------------------------------------------------------


def test_parse_order_documented_result_example(shared_data: Path) -> None:
    body = _vector(shared_data, "rest_create_order.json")["response_result_example"]
    order = parse_order(body, ETH_BTC)
    assert order.client_order_id == "123456"
    assert order.venue_order_id == "12332324"
    assert (order.side, order.type, order.time_in_force) == (
        OrderSide.BUY,
        OrderType.LIMIT,
        TimeInForce.GTC,
    )
    # amount 1, left 0.5, price 5.00032: exact at 4 size and 6 price decimals
    assert (order.price_raw, order.size_raw, order.filled_raw) == (5_000_320, 10_000, 5_000)
    assert order.status is OrderStatus.CANCELED  # finish_as stp
    assert order.ts_created_ns == 1548000000123 * 1_000_000


# The docs' 200 reply of DELETE /spot/orders/{order_id} (a filled BTC_USDT buy).
DOC_CANCEL_REPLY = {
    "id": "1852454420", "text": "t-abc123", "amend_text": "-", "create_time": "1710488334",
    "update_time": "1710488334", "create_time_ms": 1710488334073,
    "update_time_ms": 1710488334074, "status": "closed", "currency_pair": "BTC_USDT",
    "type": "limit", "account": "unified", "side": "buy", "amount": "0.001", "price": "65000",
    "time_in_force": "gtc", "iceberg": "0", "left": "0", "filled_amount": "0.001",
    "fill_price": "63.4693", "filled_total": "63.4693", "avg_deal_price": "63469.3",
    "fee": "0.00000022", "fee_currency": "BTC", "point_fee": "0", "gt_fee": "0",
    "gt_maker_fee": "0", "gt_taker_fee": "0", "gt_discount": False, "rebated_fee": "0",
    "rebated_fee_currency": "USDT", "finish_as": "filled",
}  # fmt: skip


def test_parse_order_documented_cancel_reply_is_filled() -> None:
    order = parse_order(DOC_CANCEL_REPLY, BTC_USDT)
    assert order.status is OrderStatus.FILLED
    assert (order.price_raw, order.size_raw, order.filled_raw) == (6_500_000, 10, 10)
    assert order.client_order_id == "abc123"


def test_parse_orders_documented_open_orders_groups() -> None:
    # GET /spot/open_orders docs example
    body = [{"currency_pair": "ETH_BTC", "total": 1, "orders": [{
        "id": "12332324", "text": "t-123456", "create_time": "1548000000",
        "update_time": "1548000100", "currency_pair": "ETH_BTC", "status": "open",
        "type": "limit", "account": "spot", "side": "buy", "amount": "1", "price": "5.00032",
        "time_in_force": "gtc", "left": "0.5", "filled_total": "2.50016", "fee": "0.005",
        "fee_currency": "ETH", "point_fee": "0", "gt_fee": "0", "gt_discount": False,
        "rebated_fee": "0", "rebated_fee_currency": "BTC"}]},
        {"currency_pair": "DOGE_USDT", "total": 1, "orders": [{"currency_pair": "DOGE_USDT"}]},
    ]  # fmt: skip
    (order,) = parse_orders(body, SymbolMap.of("gateio", INSTRUMENTS))  # DOGE_USDT unknown
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_raw == 5_000
    assert order.ts_created_ns == 1548000000 * 1_000_000_000


def test_parse_order_an_unfilled_fok_is_expired() -> None:
    body = dict(DOC_CANCEL_REPLY, time_in_force="fok", status="cancelled", finish_as="fok",
                left="0.001", filled_amount="0", filled_total="0")  # fmt: skip
    order = parse_order(body, BTC_USDT)
    assert (order.time_in_force, order.status, order.filled_raw) == (
        TimeInForce.FOK, OrderStatus.EXPIRED, 0)  # fmt: skip


def test_parse_order_market_buy_size_is_its_fill() -> None:
    body = dict(DOC_CANCEL_REPLY, type="market", amount="63.4693", price="0",
                time_in_force="ioc", finish_as="filled")  # fmt: skip
    order = parse_order(body, BTC_USDT)
    assert (order.type, order.price_raw, order.size_raw) == (OrderType.MARKET, 0, 10)
    assert order.time_in_force is TimeInForce.IOC


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (dict(DOC_CANCEL_REPLY, currency_pair="ETH_USDT"), "not BTC_USDT"),
        (dict(DOC_CANCEL_REPLY, price="65000.001"), "price"),
        (dict(DOC_CANCEL_REPLY, status="pending"), "unknown order status"),
        (dict(DOC_CANCEL_REPLY, finish_as="vanished"), "unknown finish_as"),
        (dict(DOC_CANCEL_REPLY, time_in_force="gtd"), "unknown time_in_force"),
    ],
)
def test_parse_order_malformed_reply_is_refused(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_order(body, BTC_USDT)


@pytest.mark.parametrize(
    ("status", "finish_as", "filled", "expected"),
    [
        ("open", None, 0, OrderStatus.OPEN),
        ("open", "open", 0, OrderStatus.OPEN),
        ("open", "open", 3, OrderStatus.PARTIALLY_FILLED),
        ("closed", None, 10, OrderStatus.FILLED),
        ("closed", "filled", 10, OrderStatus.FILLED),
        ("cancelled", None, 0, OrderStatus.CANCELED),
        ("cancelled", "cancelled", 4, OrderStatus.CANCELED),
        ("cancelled", "liquidate_cancelled", 0, OrderStatus.CANCELED),
        ("cancelled", "stp", 0, OrderStatus.CANCELED),
        ("cancelled", "unknown", 0, OrderStatus.CANCELED),
        ("cancelled", "ioc", 2, OrderStatus.EXPIRED),
        ("cancelled", "fok", 0, OrderStatus.EXPIRED),
        ("cancelled", "small", 9, OrderStatus.EXPIRED),
        ("cancelled", "depth_not_enough", 1, OrderStatus.EXPIRED),
        ("cancelled", "trader_not_enough", 0, OrderStatus.EXPIRED),
        ("cancelled", "poc", 0, OrderStatus.REJECTED),
    ],
)
def test_order_status_every_venue_state_maps(
    status: str, finish_as: str | None, filled: int, expected: OrderStatus
) -> None:
    assert order_status(status, finish_as, filled_raw=filled) is expected


def test_order_status_tables_cover_the_documented_values(shared_data: Path) -> None:
    described = _vector(shared_data, "rest_create_order.json")["description"]
    finish = described.split("finish_as ")[1].split(".")[0].split("|")
    statuses = described.split("status ")[1].split(";")[0].split("|")
    assert sorted(finish) == sorted(constants.FINISH_AS)
    assert sorted(statuses) == sorted(constants.ORDER_STATUSES)


# --- errors -------------------------------------------------------------------------------------


def _reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = httpx.Request(
        "POST",
        "https://api.gateio.ws/api/v4/spot/orders",
        headers={"KEY": API_KEY, "SIGN": "f00dfeedcafe" * 8},
    )
    return httpx.Response(status, content=content, headers=headers, request=request)


def test_check_documented_example_is_an_invalid_order(shared_data: Path) -> None:
    error = check(_reply(400, _vector(shared_data, "rest_errors.json")["example"]))
    assert type(error) is InvalidOrder
    assert (error.venue, error.http_status, error.venue_code) == (
        "gateio",
        400,
        "INVALID_PARAM_VALUE",
    )
    assert "Invalid parameter `text` with value: abc" in str(error)
    assert "POST /api/v4/spot/orders" in str(error)


_LABEL_CLASSES = {
    "insufficient_balance": InsufficientFunds,
    "amount_too_small": InvalidOrder,
    "precision": InvalidOrder,
    "post_only_would_take": InvalidOrder,
    "fok_not_filled": InvalidOrder,
    "bad_signature": AuthenticationError,
    "timestamp_skew": AuthenticationError,
    "rate_limited_ws": RateLimitExceeded,
    "server_busy": ExchangeNotAvailable,
}


def test_check_every_documented_label_maps(shared_data: Path) -> None:
    labels = _vector(shared_data, "rest_errors.json")["labels"]
    assert sorted(labels) == sorted(_LABEL_CLASSES)
    for name, label in labels.items():
        status = 503 if name == "server_busy" else 400
        error = check(_reply(status, {"label": label, "message": name}))
        assert type(error) is _LABEL_CLASSES[name], label
        assert error is not None
        assert (error.venue_code, error.http_status) == (label, status)


@pytest.mark.parametrize(("label", "name"), sorted(constants.ERROR_LABELS.items()))
def test_check_every_label_in_the_table_maps_to_its_class(label: str, name: str) -> None:
    error = check(_reply(400, {"label": label, "message": "m"}))
    assert type(error).__name__ == name


@pytest.mark.parametrize(
    ("reply", "cls", "code", "retry_after"),
    [
        (_reply(429, {"label": "TOO_MANY_REQUESTS", "message": "Too many requests"},
                {"Retry-After": "2"}), RateLimitExceeded, "TOO_MANY_REQUESTS", 2.0),
        (_reply(429, b"Too many requests",
                {constants.RATE_LIMIT_RESET_HEADER: "1700000001500"}),
         RateLimitExceeded, None, 1.5),
        (_reply(500, {"label": "INTERNAL", "message": "x"}), ExchangeNotAvailable, "INTERNAL",
         None),
        (_reply(502, b"<html>bad gateway</html>"), ExchangeNotAvailable, None, None),
        (_reply(401, b""), AuthenticationError, None, None),
        (_reply(404, {"label": "ORDER_NOT_FOUND", "message": "Order not found"}), OrderNotFound,
         "ORDER_NOT_FOUND", None),
        (_reply(400, {"label": "SOMETHING_NEW", "message": "x"}), ExchangeError,
         "SOMETHING_NEW", None),
    ],
    ids=["429-retry-after", "429-reset", "500-label", "502-html", "401", "404", "unknown"],
)  # fmt: skip
def test_check_statuses_map(
    reply: httpx.Response, cls: type[ExchangeError], code: str | None, retry_after: float | None
) -> None:
    error = check(reply, now_ms=1_700_000_000_000)
    assert type(error) is cls
    assert error is not None
    assert (error.venue_code, error.http_status) == (code, reply.status_code)
    if isinstance(error, RateLimitExceeded):
        assert error.retry_after == retry_after


@pytest.mark.parametrize("status", [200, 201, 204])
def test_check_success_is_none(status: int) -> None:
    assert check(_reply(status, {"id": "1"})) is None


def test_check_message_that_echoes_the_auth_headers_is_scrubbed() -> None:
    body = {"label": "INVALID_KEY", "message": f"Invalid key {API_KEY} sign {'f00dfeedcafe' * 8}"}
    error = check(_reply(401, body))
    assert API_KEY not in str(error)
    assert "f00dfeedcafe" not in str(error)


# --- balances and fees --------------------------------------------------------------------------


def test_parse_fees_documented_reply(shared_data: Path) -> None:
    assert parse_fees(_vector(shared_data, "rest_fee.json")["response"]) == (0.002, 0.002)


DOC_ACCOUNTS = [
    {"currency": "ETH", "available": "968.8", "locked": "0", "update_id": 98},
    {"currency": "BTC", "available": "0", "locked": "0", "update_id": 1},
    {"currency": "USDT", "available": "10.5", "locked": "65", "update_id": 3},
]


def test_parse_balances_documented_reply() -> None:
    balances = {b.asset: b for b in parse_balances(DOC_ACCOUNTS)}
    assert sorted(balances) == ["ETH", "USDT"]  # BTC holds nothing
    assert (balances["ETH"].free, balances["ETH"].locked) == (968.8, 0.0)
    assert balances["USDT"].total == 75.5


# --- the client end to end ------------------------------------------------------------------------


class FakeGate(FakeVenue):
    """The venue: documented reply shapes; every signed request must verify."""

    PUBLIC = (constants.SERVER_TIME_PATH, constants.SIGNED_INSTRUMENTS_PATH)

    def __init__(self, server_ms: int = 1_700_000_000_000) -> None:
        super().__init__()
        self.server_ms = server_ms
        self.orders: dict[str, dict[str, Any]] = {}  # by order id
        self.next_id = 12332324

    def answer(self, received: HttpRequest) -> httpx.Response:
        path, params = received.path, dict(received.params)
        if path not in self.PUBLIC:
            assert auth.verify(received, CREDENTIALS), path
            stamp = auth.signed_timestamp_ms(received)
            assert stamp is not None
            if abs(stamp - self.server_ms) > constants.MAX_CLOCK_SKEW_S * 1000:
                return self._error(401, "REQUEST_EXPIRED", "gap between request Timestamp and "
                                   "server time exceeds 60")  # fmt: skip
        if path == constants.SERVER_TIME_PATH:
            return httpx.Response(200, json={"server_time": self.server_ms})
        if path == constants.ORDERS_PATH and received.method == "POST":
            return self._place(json.loads(received.body))
        if path == constants.ORDERS_PATH:
            wanted = ("open",) if params["status"] == "open" else ("closed", "cancelled")
            pair = params["currency_pair"]
            listed = [
                o
                for o in self.orders.values()
                if o["currency_pair"] == pair and o["status"] in wanted
            ]
            return httpx.Response(200, json=listed)
        if path.startswith(constants.ORDERS_PATH + "/"):
            return self._one(received.method, path.rsplit("/", 1)[1])
        if path == constants.OPEN_ORDERS_PATH:
            groups: dict[str, list[Any]] = {}
            for entry in self.orders.values():
                if entry["status"] == "open":
                    groups.setdefault(entry["currency_pair"], []).append(entry)
            return httpx.Response(200, json=[
                {"currency_pair": pair, "total": len(o), "orders": o} for pair, o in groups.items()
            ])  # fmt: skip
        if path == constants.ACCOUNTS_PATH:
            return httpx.Response(200, json=DOC_ACCOUNTS)
        if path == constants.FEE_PATH:
            return httpx.Response(200, json=dict(FEE_REPLY, currency_pair=params["currency_pair"]))
        if path == constants.SIGNED_INSTRUMENTS_PATH:
            return httpx.Response(200, json=[PAIR_REPLY])
        raise AssertionError(f"unexpected {received.method} {path}")

    def _place(self, body: dict[str, str]) -> httpx.Response:
        return httpx.Response(201, json=self.record(body))

    def record(self, body: dict[str, str]) -> dict[str, Any]:
        """Book a placement (also how a placement lands before its answer is lost)."""
        self.next_id += 1
        entry = {"id": str(self.next_id), "text": body["text"], "amend_text": "-",
                 "create_time": str(self.server_ms // 1000), "create_time_ms": self.server_ms,
                 "status": "open", "currency_pair": body["currency_pair"], "type": body["type"],
                 "account": body["account"], "side": body["side"], "amount": body["amount"],
                 "price": body.get("price", "0"), "time_in_force": body["time_in_force"],
                 "iceberg": "0", "left": body["amount"], "filled_amount": "0",
                 "finish_as": "open"}  # fmt: skip
        if body["time_in_force"] == "ioc":  # nothing to match here: an IOC ends at once
            entry.update(status="cancelled", finish_as="ioc")
        self.orders[entry["id"]] = entry
        return entry

    def _one(self, method: str, order_id: str) -> httpx.Response:
        if order_id.startswith("t-"):  # by text: only while open
            entry = next((o for o in self.orders.values()
                          if o["text"] == order_id and o["status"] == "open"), None)  # fmt: skip
        else:
            entry = self.orders.get(order_id)
        if entry is None:
            return self._error(404, "ORDER_NOT_FOUND", "Order not found")
        if method == "DELETE":
            if entry["status"] != "open":
                return self._error(400, "ORDER_CLOSED", "Order already closed")
            entry.update(status="cancelled", finish_as="cancelled")
        return httpx.Response(200, json=entry)

    @staticmethod
    def _error(status: int, label: str, message: str) -> httpx.Response:
        return httpx.Response(status, json={"label": label, "message": message})


FEE_REPLY = {"user_id": 10001, "taker_fee": "0.0018", "maker_fee": "0.0015", "gt_discount": False}
PAIR_REPLY = {
    "id": "ETH_USDT", "base": "ETH", "quote": "USDT", "fee": "0.2", "min_base_amount": "0.001",
    "min_quote_amount": "1.0", "amount_precision": 3, "precision": 6, "trade_status": "tradable",
}  # fmt: skip


def _execution(venue: FakeGate, clock: FakeClock, **kwargs: Any) -> GateioExecution:
    client = HttpClient(
        "gateio",
        constants.REST_HOST_URL,
        check=check,
        transport=venue.transport(),
        sleep=clock.sleep,
        retry=kwargs.pop("retry", RetryPolicy()),
    )
    return GateioExecution(CREDENTIALS, INSTRUMENTS, http=client, clock=ServerClock(clock),
                           **kwargs)  # fmt: skip


def test_execution_is_venue_trading() -> None:
    execution: VenueTrading = _execution(FakeGate(), FakeClock())
    assert execution.venue == "gateio"


def test_place_fetch_cancel_round_trip_is_signed_and_verified() -> None:
    venue, clock = FakeGate(), FakeClock()
    execution = _execution(venue, clock)
    order = prepare_order(BTC_USDT, OrderSide.BUY, 10, price_raw=6_500_000,
                          client_order_id="round1")  # fmt: skip

    async def run() -> None:
        placed = await execution.place_order(order)
        assert placed.status is OrderStatus.OPEN
        assert placed.venue_order_id == "12332325"
        assert (placed.price_raw, placed.size_raw, placed.client_order_id) == (
            6_500_000,
            10,
            "round1",
        )
        fetched = await execution.fetch_order(BTC_USDT, "round1")
        assert fetched.venue_order_id == placed.venue_order_id
        (open_order,) = await execution.fetch_open_orders(BTC_USDT)
        assert open_order.client_order_id == "round1"
        assert [o.client_order_id for o in await execution.fetch_open_orders()] == ["round1"]
        canceled = await execution.cancel_order(BTC_USDT, "round1")
        assert canceled.status is OrderStatus.CANCELED
        assert await execution.fetch_open_orders() == []
        # finished: still found, by the order id this client remembered
        assert (await execution.fetch_order(BTC_USDT, "round1")).status is OrderStatus.CANCELED

    asyncio.run(run())
    signed = [r for r in venue.seen if r.path not in FakeGate.PUBLIC]
    assert signed
    assert all(r.header("KEY") == API_KEY for r in signed)
    deletes = [r for r in venue.seen if r.method == "DELETE"]
    assert [r.path for r in deletes] == ["/api/v4/spot/orders/12332325"]
    assert dict(deletes[0].params) == {"currency_pair": "BTC_USDT"}


def test_orders_placed_elsewhere_are_found_by_text_or_among_finished_ones() -> None:
    venue, clock = FakeGate(), FakeClock()
    execution = _execution(venue, clock)
    other = _execution(venue, clock)  # a second process: it never saw the order ids

    async def run() -> None:
        await execution.place_order(_order(client_order_id="mine1"))
        assert (await other.fetch_order(BTC_USDT, "mine1")).venue_order_id == "12332325"
        await execution.cancel_order(BTC_USDT, "mine1")
        assert (await _execution(venue, clock).fetch_order(BTC_USDT, "mine1")).status is (
            OrderStatus.CANCELED
        )
        # cancelling a finished order by text returns it as it ended
        finished = await _execution(venue, clock).cancel_order(BTC_USDT, "mine1")
        assert finished.status is OrderStatus.CANCELED
        with pytest.raises(OrderNotFound):
            await other.cancel_order(BTC_USDT, "nosuch1")

    asyncio.run(run())
    texts = [r.path for r in venue.seen if r.path.endswith("/t-mine1")]
    assert texts  # addressed by text where the id was unknown


def test_placement_ack_reply_gives_an_open_order(shared_data: Path) -> None:
    ack = _vector(shared_data, "rest_create_order.json")["response_ack"]
    execution = GateioExecution(
        CREDENTIALS,
        INSTRUMENTS,
        transport=httpx.MockTransport(lambda request: httpx.Response(201, json=ack)),
    )
    placed = asyncio.run(execution.place_order(_order(client_order_id="123456")))
    assert (placed.status, placed.venue_order_id) == (OrderStatus.OPEN, "12332324")


def test_skewed_clock_is_resynchronised_from_the_time_endpoint() -> None:
    venue, clock = FakeGate(), FakeClock(now_ms=1_700_000_000_000 + 120_000)  # 2 min ahead
    execution = _execution(venue, clock)

    balances = asyncio.run(execution.fetch_balances())

    assert {b.asset for b in balances} == {"ETH", "USDT"}
    assert execution.clock.offset_ms == -120_000
    assert [r.path for r in venue.seen] == [
        constants.ACCOUNTS_PATH, constants.SERVER_TIME_PATH, constants.ACCOUNTS_PATH,
    ]  # fmt: skip
    assert auth.signed_timestamp_ms(venue.seen[-1]) == venue.server_ms


def test_fees_balances_and_instruments_over_the_client() -> None:
    venue, clock = FakeGate(), FakeClock()
    execution = _execution(venue, clock)

    async def run() -> None:
        assert await execution.fetch_fees(BTC_USDT) == (0.0015, 0.0018)
        assert [b.asset for b in await execution.fetch_balances()] == ["ETH", "USDT"]
        (instrument,) = await execution.fetch_instruments()
        assert (instrument.symbol, instrument.price_decimals, instrument.min_qty) == (
            "ETH/USDT",
            6,
            1,
        )
        assert execution.symbols.get("eth_usdt") is not None

    asyncio.run(run())
    public = [r for r in venue.seen if r.path == constants.SIGNED_INSTRUMENTS_PATH]
    assert public[0].header("SIGN") is None


def test_built_from_the_api_base_url_signs_full_paths() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received = wire_request(request)
        seen.append(received.path)
        assert auth.verify(received, CREDENTIALS)
        return httpx.Response(200, json=DOC_ACCOUNTS)

    execution = GateioExecution(CREDENTIALS, INSTRUMENTS, base_url=constants.REST_BASE_URL,
                                transport=httpx.MockTransport(handler))  # fmt: skip
    asyncio.run(execution.fetch_balances())
    assert seen == ["/api/v4/spot/accounts"]
    assert execution.http.limiter is not None
    assert [b.spec for b in execution.http.limiter.budgets] == list(constants.RATE_LIMITS)


def test_venue_errors_surface_as_their_classes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"label": "BALANCE_NOT_ENOUGH", "message": "not enough"})

    execution = GateioExecution(CREDENTIALS, INSTRUMENTS, transport=httpx.MockTransport(handler))
    with pytest.raises(InsufficientFunds) as caught:
        asyncio.run(execution.place_order(_order()))
    assert (caught.value.venue_code, caught.value.http_status) == ("BALANCE_NOT_ENOUGH", 400)


PLACE_KEY = f"POST {constants.ORDERS_PATH}"


def _contract_build(attempts: int) -> tuple[FakeGate, VenueTrading]:
    fake = FakeGate()
    return fake, _execution(fake, FakeClock(), retry=RetryPolicy(attempts=attempts))


#: How Gate.io runs the shared trading scenarios (tests/exchanges/test_trading_contract.py).
CASE = TradingCase[FakeGate](
    venue="gateio",
    build=_contract_build,
    order=lambda cid, tif: _order(tif=tif, client_order_id=cid),
    place_key=PLACE_KEY,
    sent_id=lambda request: json.loads(request.body)["text"],
    verify=lambda request: auth.verify(request, CREDENTIALS),
    signature=lambda request: request.header("SIGN"),
    signed_afresh=False,  # the Timestamp has whole seconds: a quick resend may sign the same
    land=lambda fake, request: fake.record(json.loads(request.body)),
    booked=lambda fake: len(fake.orders),
    # the placement, its lookup by text (open orders only), the finished orders, the placement
    resend_paths=(
        constants.ORDERS_PATH,
        f"{constants.ORDERS_PATH}/t-retry1",
        constants.ORDERS_PATH,
        constants.ORDERS_PATH,
    ),
    # an IOC ends at once: not open, so found among the finished orders, never sent again
    landed_tif=TimeInForce.IOC,
    landed_paths=(
        constants.ORDERS_PATH,
        f"{constants.ORDERS_PATH}/t-landed1",
        constants.ORDERS_PATH,
    ),
    landed_status=OrderStatus.EXPIRED,
    lost_match="was not placed",
    refuse=lambda fake: fake.hook(
        f"GET {constants.ACCOUNTS_PATH}",
        lambda r: FakeGate._error(401, "INVALID_SIGNATURE", "Signature mismatch"),
    ),
    secrets=(SECRET, API_KEY),
)


# --- secrets --------------------------------------------------------------------------------------


def test_no_secret_in_logs_exceptions_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    venue, clock = FakeGate(), FakeClock(now_ms=1_700_000_000_000 + 120_000)
    venue.hook(PLACE_KEY, timeout())
    execution = _execution(venue, clock)
    shown: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        venue.seen.append(wire_request(request))
        return FakeGate._error(401, "INVALID_SIGNATURE", "Signature mismatch")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def run() -> None:
        await execution.place_order(_order(client_order_id="secret1"))
        for failing in (
            GateioExecution(CREDENTIALS, INSTRUMENTS, transport=httpx.MockTransport(refuse)),
            GateioExecution(CREDENTIALS, INSTRUMENTS, transport=httpx.MockTransport(unreachable),
                            retry=RetryPolicy(attempts=1)),
        ):  # fmt: skip
            with pytest.raises(ExchangeError) as caught:
                await failing.fetch_balances()
            shown.extend([str(caught.value), repr(caught.value), repr(failing)])

    with caplog.at_level(logging.DEBUG):
        asyncio.run(run())
    signatures = [r.header("SIGN") or "" for r in venue.seen]
    shown += [caplog.text, repr(execution), repr(CREDENTIALS)]
    text = "\n".join(shown)
    for secret in (SECRET, API_KEY, *filter(None, signatures)):
        assert secret not in text
    assert "placement attempt 1 failed" in caplog.text


# --- rounding and minimums on the real instruments -----------------------------------------------


@pytest.fixture(scope="module")
def real(shared_data: Path) -> dict[str, Instrument]:
    payload = load_rest_body(shared_data / "real" / "gateio" / "GATEIO.0", "/spot/currency_pairs")
    return parse_instruments(payload).by_symbol()


@pytest.mark.recording
@pytest.mark.parametrize(
    ("symbol", "side", "size", "price", "sent_amount", "sent_price"),
    [
        # BTC_USDT precision 2, amount_precision 4
        ("BTC/USDT", OrderSide.BUY, 1_234, 6_173_763, "0.1234", "61737.63"),
        # ETH_BTC precision 6, amount_precision 4: the docs' result example's pair
        ("ETH/BTC", OrderSide.SELL, 10_000, 5_000_320, "1", "5.00032"),
        # DOGE_USDT precision 6, amount_precision 2, only min_quote_amount 1
        ("DOGE/USDT", OrderSide.BUY, 250, 400_000, "2.5", "0.4"),
    ],
)
def test_prepare_order_real_instruments_send_exact_text(
    real: dict[str, Instrument],
    symbol: str,
    side: OrderSide,
    size: int,
    price: int,
    sent_amount: str,
    sent_price: str,
) -> None:
    order = prepare_order(real[symbol], side, size, price_raw=price, client_order_id="r1")
    assert (order.size_raw, order.price_raw) == (size, price)  # already on the grid
    body = json.loads(order_request(order).body)
    assert (body["amount"], body["price"], body["currency_pair"]) == (
        sent_amount,
        sent_price,
        real[symbol].native_symbol,
    )


@pytest.mark.recording
@pytest.mark.parametrize(
    ("symbol", "size", "price", "reason"),
    [
        ("ETH/BTC", 9, 5_000_000, "below the minimum 0.0010"),  # min_base_amount 0.001
        ("BTC/USDT", 1, 500_000, "notional 0.50 is below the minimum 1.00"),  # min_quote 1
        ("DOGE/USDT", 199, 500_000, "notional 0.995000 is below the minimum 1.000000"),
        ("BTC/USDT", 0, 6_000_000, "size must be positive"),
    ],
)
def test_prepare_order_real_instruments_refuse_below_minimums(
    real: dict[str, Instrument], symbol: str, size: int, price: int, reason: str
) -> None:
    with pytest.raises(InvalidOrder, match=reason):
        prepare_order(real[symbol], OrderSide.BUY, size, price_raw=price)


@pytest.mark.recording
def test_prepare_order_real_instrument_at_the_minimum_is_accepted(
    real: dict[str, Instrument],
) -> None:
    order = prepare_order(real["DOGE/USDT"], OrderSide.BUY, 200, price_raw=500_000)
    assert json.loads(order_request(order).body)["amount"] == "2"
