"""HTX REST trading: signing (docs' example, synthetic secret), orders, states, errors, and the
client end to end against a fake HTX speaking the documented shapes (httpx.MockTransport)."""

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
from arbcore.exchanges.htx import auth, constants
from arbcore.exchanges.htx.execution import (
    HtxExecution,
    check,
    order_request,
    order_status,
    parse_account_id,
    parse_balances,
    parse_fees,
    parse_open_orders,
    parse_order,
)
from arbcore.exchanges.htx.providers import parse_instruments
from arbcore.exchanges.rest import ServerClock
from arbcore.exchanges.signing import hmac_b64
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest, VenueTrading, decimal_text, prepare_order
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

VECTORS = "vectors/htx"


def _vector(shared_data: Path, name: str) -> Any:
    return json.loads((shared_data / VECTORS / name).read_text())


# ETH/USDT and ADA/USDT as the recorded /v1/common/symbols (2021-04-17) state them (sizes
# held at 8 decimals), so the tests that do not need the recordings still run.
ETH_USDT = Instrument(
    venue="htx",
    symbol="ETH/USDT",
    native_symbol="ethusdt",
    base="ETH",
    quote="USDT",
    price_decimals=2,
    size_decimals=8,
    tick_size=1,
    lot_size=10_000,
    min_qty=100_000,
    min_notional=500,
)
ADA_USDT = Instrument(
    venue="htx",
    symbol="ADA/USDT",
    native_symbol="adausdt",
    base="ADA",
    quote="USDT",
    price_decimals=6,
    size_decimals=8,
    tick_size=1,
    lot_size=10_000,
    min_qty=10_000_000,
    min_notional=5_000_000,
)
INSTRUMENTS = [ETH_USDT, ADA_USDT]

SECRET = "htx-secret-value-that-must-never-show-9f8e7d"
API_KEY = "e2xxxxxx-99xxxxxx-84xxxxxx-7abcd"
CREDENTIALS = Credentials(API_KEY, SECRET)
DOC_TIMESTAMP_MS = 1494515970000  # 2017-05-11T15:19:30 UTC, the docs' example Timestamp


def _order(
    side: OrderSide = OrderSide.BUY,
    *,
    instrument: Instrument = ETH_USDT,
    size: int = 1_010_000_000,
    price: int | None = 10_010,
    type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.GTC,
    client_order_id: str = "a0001",
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


# --- signing --------------------------------------------------------------------------------


def test_sign_docs_example_with_synthetic_secret_reproduces_signature_and_url(
    shared_data: Path,
) -> None:
    vector = _vector(shared_data, "signature_example.json")
    synthetic = vector["synthetic_vector"]
    credentials = Credentials("e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx", synthetic["secret"])
    request = HttpRequest(
        method="GET", path="/v1/order/orders", params=[("order-id", "1234567890")]
    )

    signed = auth.sign(request, credentials, timestamp_ms=DOC_TIMESTAMP_MS)

    # the pre-signed text is the docs' own, and the signature the synthetic vector's
    assert (
        auth.presign_text("GET", "api.huobi.pro", signed.path, signed.params)
        == (synthetic["presign_text"])
    )
    assert synthetic["presign_text"] == vector["official_presign_text"]
    assert signed.params[-1] == ("Signature", synthetic["expected_signature"])
    # the final URL is the docs' (same parameter order and encoding), with this signature
    official = vector["official_final_url"].replace(
        "4F65x5A2bLyMWVQj3Aqp%2BB4w%2BivaA7n5Oi2SuYtCJ9o%3D",
        "tohD59y%2BNye2OcbNN%2FFb6QLZZbKxUE6VX7bLEizVQO0%3D",
    )
    assert "https://api.huobi.pro" + signed.target == official
    assert auth.verify(signed, credentials)


def test_sign_is_not_the_docs_placeholder_signature(shared_data: Path) -> None:
    # the docs print one signature for both Ed25519 and HmacSHA256 and give no secret
    vector = _vector(shared_data, "signature_example.json")
    assert vector["official_example_reproducible"] is False
    assert vector["synthetic_vector"]["expected_signature"] != vector["official_signature_shown"]


def _signed_get() -> HttpRequest:
    request = HttpRequest(
        method="GET",
        path="/v1/order/openOrders",
        params=[("account-id", "100009"), ("symbol", "ethusdt")],
    )
    return auth.sign(request, CREDENTIALS, timestamp_ms=DOC_TIMESTAMP_MS)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r.with_params(("size", "5")),
        lambda r: HttpRequest(method="POST", path=r.path, params=r.params),
        lambda r: HttpRequest(method=r.method, path="/v1/order/orders", params=r.params),
        lambda r: HttpRequest(
            method=r.method,
            path=r.path,
            params=[(k, "ethbtc" if k == "symbol" else v) for k, v in r.params],
        ),
        lambda r: HttpRequest(
            method=r.method, path=r.path, params=[p for p in r.params if p[0] != "Timestamp"]
        ),
        lambda r: r.with_params(("Signature", dict(r.params)["Signature"])),  # repeated
    ],
    ids=["extra-param", "method", "path", "value", "no-timestamp", "two-signatures"],
)
def test_verify_tampered_request_is_rejected(tamper: Callable[[HttpRequest], HttpRequest]) -> None:
    signed = _signed_get()
    assert auth.verify(signed, CREDENTIALS)
    assert not auth.verify(tamper(signed), CREDENTIALS)


def test_verify_other_secret_key_or_host_is_rejected() -> None:
    signed = _signed_get()
    assert not auth.verify(signed, Credentials(API_KEY, SECRET + "x"))
    assert not auth.verify(signed, Credentials(API_KEY.replace("7abcd", "7abce"), SECRET))
    assert not auth.verify(signed, CREDENTIALS, host="api-aws.huobi.pro")
    assert auth.verify(
        auth.sign(signed, CREDENTIALS, timestamp_ms=1, host="API-AWS.huobi.pro"),
        CREDENTIALS,
        host="api-aws.huobi.pro",
    )


def test_sign_post_signs_only_url_parameters_and_leaves_the_body() -> None:
    body = '{"client-order-id":"a0001"}'
    request = HttpRequest(method="POST", path=constants.CANCEL_BY_CLIENT_ID_PATH, body=body)
    signed = auth.sign(request, CREDENTIALS, timestamp_ms=DOC_TIMESTAMP_MS)
    assert [key for key, _ in signed.params] == list(auth.AUTH_PARAMS)
    assert signed.body == body
    text = auth.presign_text("POST", "api.huobi.pro", signed.path, signed.params)
    assert text.startswith("POST\napi.huobi.pro\n/v1/order/orders/submitCancelClientOrder\n")
    assert dict(signed.params)["Signature"] == hmac_b64(SECRET, text)


def test_sign_again_replaces_the_auth_parameters_and_keeps_the_timestamp_readable() -> None:
    first = _signed_get()
    again = auth.sign(first, CREDENTIALS, timestamp_ms=DOC_TIMESTAMP_MS + 61_000)
    assert [key for key, _ in again.params].count("Signature") == 1
    assert dict(again.params)["Timestamp"] == "2017-05-11T15:20:31"
    assert auth.signed_timestamp_ms(again) == DOC_TIMESTAMP_MS + 61_000
    assert auth.verify(again, CREDENTIALS)


def test_presign_text_encodes_upper_hex_and_space_as_percent_20() -> None:
    text = auth.presign_text("get", "API.Huobi.Pro", "/p", [("b", "x y:z/+"), ("a", "1")])
    assert text == "GET\napi.huobi.pro\n/p\na=1&b=x%20y%3Az%2F%2B"


# --- order requests ---------------------------------------------------------------------------


def test_order_request_limit_gtc_is_the_documented_body(shared_data: Path) -> None:
    vector = _vector(shared_data, "rest_place_order.json")
    request = order_request(_order(), account_id="100009")
    assert (request.method, request.path) == ("POST", "/v1/order/orders/place")
    assert request.body == json.dumps(vector["request_body"], separators=(",", ":"))
    assert request.header("Content-Type") == "application/json"
    assert request.is_order
    fok = order_request(_order(tif=TimeInForce.FOK), account_id="100009")
    assert fok.body == json.dumps({**vector["request_body"], "type": "buy-limit-fok"},
                                  separators=(",", ":"))  # fmt: skip


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (_order(tif=TimeInForce.IOC), {"type": "buy-ioc", "amount": "10.1", "price": "100.1"}),
        (
            _order(OrderSide.SELL, tif=TimeInForce.FOK),
            {"type": "sell-limit-fok", "amount": "10.1", "price": "100.1"},
        ),
        (
            _order(OrderSide.SELL, tif=TimeInForce.POST_ONLY),
            {"type": "sell-limit-maker", "amount": "10.1", "price": "100.1"},
        ),
        (
            _order(OrderSide.SELL, type=OrderType.MARKET, price=None),
            {"type": "sell-market", "amount": "10.1"},
        ),
        # a market buy spends quote: 10.1 ETH at a worst price of 100.10 is 1011.01 USDT
        (_order(type=OrderType.MARKET), {"type": "buy-market", "amount": "1011.01"}),
    ],
    ids=["limit-ioc", "limit-fok", "post-only", "market-sell", "market-buy"],
)
def test_order_request_each_type_maps_to_the_venue_type(
    order: OrderRequest, expected: dict[str, str]
) -> None:
    body = json.loads(order_request(order, account_id="1").body)
    assert {key: body.get(key) for key in expected} == expected
    assert ("price" in body) == ("price" in expected)
    assert body["client-order-id"] == "a0001"
    assert body["symbol"] == "ethusdt"


@pytest.mark.parametrize(
    "order",
    [
        _order(type=OrderType.MARKET, price=None),  # a market buy needs a price to size it
        _order(client_order_id="has space"),
        _order(client_order_id="x" * 65),
        _order(type=OrderType.MARKET, tif=TimeInForce.POST_ONLY, price=None),
    ],
    ids=["market-buy-no-price", "bad-client-id", "long-client-id", "market-post-only"],
)
def test_order_request_unsendable_order_is_invalid(order: OrderRequest) -> None:
    with pytest.raises(InvalidOrder):
        order_request(order, account_id="1")


def test_decimal_text_drops_padding_only() -> None:
    assert decimal_text(6_500_000, 2) == "65000"
    assert decimal_text(100_000, 8) == "0.001"
    assert decimal_text(0, 4) == "0"
    assert decimal_text(1_010, 2) == "10.1"


# --- order replies and states -------------------------------------------------------------------


def test_parse_order_documented_detail(shared_data: Path) -> None:
    vector = _vector(shared_data, "rest_place_order.json")
    order = parse_order(vector["order_detail_example"], ADA_USDT)
    assert order.client_order_id == "23456"
    assert order.venue_order_id == "357632718898331"
    assert (order.side, order.type, order.time_in_force) == (
        OrderSide.BUY,
        OrderType.LIMIT,
        TimeInForce.POST_ONLY,
    )
    assert (order.price_raw, order.size_raw, order.filled_raw) == (1_000_000, 500_000_000, 0)
    assert order.status is OrderStatus.OPEN
    assert order.ts_created_ns == 1630649406687 * 1_000_000


# The docs' getClientOrder example (api-cloud docs, "Get the Order Detail of an Order (based on
# client order ID)"): a filled buy-limit on ethusdt.
DOC_FILLED = {
    "data": {
        "id": 59378,
        "symbol": "ethusdt",
        "account-id": 100009,
        "amount": "10.1000000000",
        "price": "100.1000000000",
        "created-at": 1494901162595,
        "type": "buy-limit",
        "field-amount": "10.1000000000",
        "field-cash-amount": "1011.0100000000",
        "field-fees": "0.0202000000",
        "finished-at": 1494901400468,
        "user-id": 1000,
        "source": "api",
        "state": "filled",
        "canceled-at": 0,
    }
}


def test_parse_order_documented_filled_detail_is_exact() -> None:
    order = parse_order(DOC_FILLED, ETH_USDT)
    assert order.status is OrderStatus.FILLED
    assert order.filled_raw == order.size_raw == 1_010_000_000
    assert order.price_raw == 10_010
    assert order.client_order_id == ""  # that example has none


def test_parse_open_orders_documented_entry_uses_filled_amount() -> None:
    # GET /v1/order/openOrders docs example (HTX newApiPages "Get All Open Orders")
    body = {
        "status": "ok",
        "data": [
            {
                "symbol": "adausdt",
                "source": "web",
                "price": "1.555550000000000000",
                "created-at": 1630633835224,
                "amount": "572.330000000000000000",
                "account-id": 13496526,
                "filled-cash-amount": "0.0",
                "client-order-id": "",
                "filled-amount": "0.0",
                "filled-fees": "0.0",
                "id": 357630527817871,
                "state": "submitted",
                "type": "sell-limit",
            },
            {
                "symbol": "apnusdt",
                "price": "1",
                "amount": "1",
                "id": 1,
                "state": "submitted",
                "type": "sell-limit",
                "created-at": 1,
            },
        ],
    }
    (order,) = parse_open_orders(body, SymbolMap.of("htx", INSTRUMENTS))  # apnusdt is unknown
    assert (order.price_raw, order.size_raw) == (1_555_550, 57_233_000_000)
    assert order.side is OrderSide.SELL
    assert order.status is OrderStatus.OPEN


def test_parse_order_market_buy_size_is_its_fill() -> None:
    entry = dict(
        DOC_FILLED["data"],
        type="buy-market",
        amount="1011.01",
        price="0.0",
        state="filled",
        **{"client-order-id": "m1"},
    )
    order = parse_order(entry, ETH_USDT)
    assert (order.type, order.price_raw, order.size_raw) == (OrderType.MARKET, 0, 1_010_000_000)


def test_parse_order_an_unfilled_fok_is_an_expired_fok() -> None:
    nothing = {"field-amount": "0", "field-cash-amount": "0", "canceled-source": "fok"}
    entry = dict(DOC_FILLED["data"], type="sell-limit-fok", state="canceled", **nothing)
    order = parse_order(entry, ETH_USDT)
    assert (order.side, order.time_in_force, order.status, order.filled_raw) == (
        OrderSide.SELL, TimeInForce.FOK, OrderStatus.EXPIRED, 0)  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (dict(DOC_FILLED["data"], symbol="btcusdt"), "not ethusdt"),
        (dict(DOC_FILLED["data"], price="100.123"), "price"),  # a digit beyond the tick
        (dict(DOC_FILLED["data"], state="exploded"), "unknown order state"),
        (dict(DOC_FILLED["data"], type="buy-twap"), "unknown order type"),
    ],
)
def test_parse_order_malformed_detail_is_refused(entry: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_order(entry, ETH_USDT)


@pytest.mark.parametrize(
    ("state", "filled", "source", "expected"),
    [
        ("created", 0, None, OrderStatus.OPEN),
        ("submitted", 0, None, OrderStatus.OPEN),
        ("submitted", 5, None, OrderStatus.PARTIALLY_FILLED),
        ("partial-filled", 5, None, OrderStatus.PARTIALLY_FILLED),
        ("canceling", 0, None, OrderStatus.OPEN),
        ("canceling", 5, None, OrderStatus.PARTIALLY_FILLED),
        ("filled", 10, None, OrderStatus.FILLED),
        ("partial-canceled", 5, "api", OrderStatus.CANCELED),
        ("canceled", 0, None, OrderStatus.CANCELED),
        ("canceled", 0, "ioc", OrderStatus.EXPIRED),
        ("partial-canceled", 3, "fok", OrderStatus.EXPIRED),
        ("canceled", 0, "limit_maker", OrderStatus.REJECTED),
    ],
)
def test_order_status_every_venue_state_maps(
    state: str, filled: int, source: str | None, expected: OrderStatus
) -> None:
    assert order_status(state, filled_raw=filled, canceled_source=source) is expected


def test_order_status_table_covers_the_documented_states(shared_data: Path) -> None:
    documented = _vector(shared_data, "rest_place_order.json")["order_states"]
    assert sorted(documented) == sorted(constants.ORDER_STATES)


# --- errors -----------------------------------------------------------------------------------


def _reply(
    status: int = 200,
    body: Any = None,
    headers: dict[str, str] | None = None,
    url: str = "https://api.huobi.pro/v1/order/orders/place?AccessKeyId=KEY&Signature=SIG",
    method: str = "POST",
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(
        status, content=content, headers=headers, request=httpx.Request(method, url)
    )


def test_check_documented_signature_error_is_authentication(shared_data: Path) -> None:
    vector = _vector(shared_data, "rest_errors.json")
    error = check(_reply(200, vector["example_signature_error"]))
    assert type(error) is AuthenticationError
    assert (error.venue, error.http_status, error.venue_code) == (
        "htx",
        200,
        "api-signature-not-valid",
    )
    assert "Incorrect Access key" in str(error)
    assert "Signature=" not in str(error)
    assert "KEY" not in str(error)
    assert "POST /v1/order/orders/place" in str(error)


def test_check_documented_generic_error_is_a_plain_exchange_error(shared_data: Path) -> None:
    error = check(_reply(200, _vector(shared_data, "rest_errors.json")["example_generic_error"]))
    assert type(error) is ExchangeError
    assert error is not None
    assert error.venue_code == "base-msg"


@pytest.mark.parametrize(
    ("key", "cls"),
    [("insufficient_balance_code", InsufficientFunds), ("rate_limit_code", RateLimitExceeded)],
)
def test_check_documented_codes_map(shared_data: Path, key: str, cls: type[ExchangeError]) -> None:
    code = _vector(shared_data, "rest_errors.json")[key]
    error = check(_reply(200, {"status": "error", "err-code": code, "err-msg": "m", "data": None}))
    assert type(error) is cls
    assert error is not None
    assert error.venue_code == code
    assert error.http_status == 200
    if isinstance(error, RateLimitExceeded):
        assert error.retry_after is None  # HTX says nothing about when


@pytest.mark.parametrize(("code", "name"), sorted(constants.ERROR_CODES.items()))
def test_check_every_error_code_maps_to_its_class(code: str, name: str) -> None:
    error = check(_reply(200, {"status": "error", "err-code": code, "err-msg": "x"}))
    assert error is not None
    assert type(error).__name__ == name
    assert error.venue_code == code


@pytest.mark.parametrize(
    ("reply", "cls", "retry_after"),
    [
        (_reply(429, b"too many", {"Retry-After": "3"}), RateLimitExceeded, 3.0),
        (
            _reply(
                200,
                {"status": "error", "err-code": "510", "err-msg": "You request too often"},
                {"Retry-After": "2"},
            ),
            RateLimitExceeded,
            2.0,
        ),
        (_reply(502, b"<html>bad gateway</html>"), ExchangeNotAvailable, None),
        (_reply(403, b""), AuthenticationError, None),
        (
            _reply(200, {"code": 1003, "message": "invalid signature", "success": False}),
            AuthenticationError,
            None,
        ),
        (
            _reply(200, {"code": 500, "message": "error", "success": False}),
            ExchangeNotAvailable,
            None,
        ),
        (
            _reply(200, {"status": "error", "err-code": "base-system-error", "err-msg": "busy"}),
            ExchangeNotAvailable,
            None,
        ),
        (_reply(200, b"<html>maintenance</html>"), ExchangeNotAvailable, None),
    ],
    ids=[
        "http-429",
        "510-retry-after",
        "502",
        "403",
        "v2-1003",
        "v2-500",
        "system-error",
        "html-200",
    ],
)
def test_check_http_statuses_and_v2_codes_map(
    reply: httpx.Response, cls: type[ExchangeError], retry_after: float | None
) -> None:
    error = check(reply)
    assert type(error) is cls
    assert error is not None
    assert error.http_status == reply.status_code
    if isinstance(error, RateLimitExceeded):
        assert error.retry_after == retry_after


@pytest.mark.parametrize(
    "body",
    [{"status": "ok", "data": "1"}, {"code": 200, "data": [], "success": True}],
)
def test_check_success_is_none(body: dict[str, Any]) -> None:
    assert check(_reply(200, body)) is None


def test_check_message_that_echoes_the_key_or_signature_is_scrubbed() -> None:
    url = f"https://api.huobi.pro/v1/account/accounts?AccessKeyId={API_KEY}&Signature=c2lnbmF0dXJl"
    body = {"status": "error", "err-code": "api-signature-not-valid",
            "err-msg": f"Signature not valid: key {API_KEY} signature c2lnbmF0dXJl"}  # fmt: skip
    error = check(_reply(200, body, url=url, method="GET"))
    assert API_KEY not in str(error)
    assert "c2lnbmF0dXJl" not in str(error)
    assert "GET /v1/account/accounts" in str(error)


# --- balances, fees, accounts -------------------------------------------------------------------


def test_parse_fees_documented_reply(shared_data: Path) -> None:
    body = _vector(shared_data, "rest_fee_rate.json")["response"]
    assert parse_fees(body, "btcusdt") == (0.002, 0.002)
    with pytest.raises(MalformedMessage):
        parse_fees(body, "ethusdt")


# The docs' example of GET /v1/account/accounts/{account-id}/balance.
DOC_BALANCE = {
    "status": "ok",
    "data": {
        "id": 1000001,
        "type": "spot",
        "state": "working",
        "list": [
            {
                "currency": "usdt",
                "type": "trade",
                "balance": "91.850043797676510303",
                "seq-num": "477",
            },
            {
                "currency": "usdt",
                "type": "frozen",
                "balance": "5.160000000000000015",
                "seq-num": "477",
            },
            {"currency": "poly", "type": "trade", "balance": "147.928994082840236", "seq-num": "2"},
            {"currency": "btc", "type": "trade", "balance": "0", "seq-num": "1"},
        ],
    },
}
DOC_ACCOUNTS = {
    "status": "ok",
    "data": [
        {"id": 10000001, "type": "spot", "subtype": "", "state": "working"},
        {"id": 10000002, "type": "otc", "subtype": "", "state": "working"},
        {"id": 10000003, "type": "point", "subtype": "", "state": "working"},
    ],
}


def test_parse_balances_documented_reply_joins_trade_and_frozen() -> None:
    balances = {b.asset: b for b in parse_balances(DOC_BALANCE)}
    assert sorted(balances) == ["POLY", "USDT"]  # BTC holds nothing
    assert balances["USDT"].free == pytest.approx(91.850043797676510303)
    assert balances["USDT"].locked == pytest.approx(5.16)
    assert balances["POLY"].locked == 0.0


def test_parse_account_id_documented_reply_picks_the_spot_account() -> None:
    assert parse_account_id(DOC_ACCOUNTS) == "10000001"
    with pytest.raises(AuthenticationError, match="no working spot account"):
        parse_account_id({"status": "ok", "data": [DOC_ACCOUNTS["data"][1]]})


# --- the client end to end ------------------------------------------------------------------------


class FakeHtx(FakeVenue):
    """The venue: documented reply shapes; every signed request must verify."""

    PUBLIC = (constants.SERVER_TIME_PATH, constants.INSTRUMENTS_PATH)

    def __init__(self, server_ms: int = 1_700_000_000_000) -> None:
        super().__init__()
        self.server_ms = server_ms
        self.orders: dict[str, dict[str, Any]] = {}
        self.next_id = 356501383558845

    def answer(self, received: HttpRequest) -> httpx.Response:
        path = received.path
        if path not in self.PUBLIC:
            assert _verified(received), path
            stamp = auth.signed_timestamp_ms(received)
            assert stamp is not None
            if abs(stamp - self.server_ms) > constants.MAX_CLOCK_SKEW_S * 1000:
                return self._error(
                    "api-signature-not-valid",
                    "Signature not valid: Invalid submission time or incorrect "
                    "time format [无效的提交时间, 或时间格式错误]",
                )
        params = dict(received.params)
        if path == constants.SERVER_TIME_PATH:
            return self._ok(self.server_ms)
        if path == constants.ACCOUNTS_PATH:
            return httpx.Response(200, json=DOC_ACCOUNTS)
        if path == constants.PLACE_ORDER_PATH:
            return self._place(json.loads(received.body))
        if path == constants.ORDER_BY_CLIENT_ID_PATH:
            entry = self.orders.get(params["clientOrderId"])
            if entry is None:
                return self._error("base-record-invalid", "record invalid")
            return self._ok(entry)
        if path == constants.CANCEL_BY_CLIENT_ID_PATH:
            entry = self.orders.get(json.loads(received.body)["client-order-id"])
            if entry is None:
                return self._ok(0)
            if entry["state"] == "filled":
                return self._error("order-orderstate-error", "Incorrect order state")
            entry["state"] = "canceled"
            return self._ok(10)
        if path == constants.OPEN_ORDERS_PATH:
            assert params["account-id"] == "10000001"
            opened = [
                dict(e, **{"filled-amount": e["field-amount"]})
                for e in self.orders.values()
                if e["state"] == "submitted"
            ]
            return self._ok(opened)
        if path == constants.BALANCE_PATH.format(account_id="10000001"):
            return httpx.Response(200, json=DOC_BALANCE)
        if path == constants.FEE_RATE_PATH:
            return httpx.Response(
                200,
                json={
                    "code": 200,
                    "success": True,
                    "data": [
                        {
                            "symbol": params["symbols"],
                            "actualMakerRate": "0.0015",
                            "actualTakerRate": "0.0018",
                            "makerFeeRate": "0.002",
                            "takerFeeRate": "0.002",
                        }
                    ],
                },
            )
        if path == constants.INSTRUMENTS_PATH:
            return httpx.Response(200, json=load_symbols())
        raise AssertionError(f"unexpected {received.method} {path}")

    def _place(self, body: dict[str, str]) -> httpx.Response:
        return self._ok(str(self.record(body)["id"]))

    def record(self, body: dict[str, str]) -> dict[str, Any]:
        """Book a placement (also how a placement lands before its answer is lost)."""
        assert body["account-id"] == "10000001"
        self.next_id += 1
        entry = {
            "id": self.next_id,
            "symbol": body["symbol"],
            "account-id": 10000001,
            "client-order-id": body["client-order-id"],
            "amount": body["amount"],
            "price": body.get("price", "0.0"),
            "created-at": self.server_ms,
            "type": body["type"],
            "field-amount": "0.0",
            "field-cash-amount": "0.0",
            "field-fees": "0.0",
            "finished-at": 0,
            "source": "spot-api",
            "state": "submitted",
            "canceled-at": 0,
        }
        self.orders[body["client-order-id"]] = entry
        return entry

    @staticmethod
    def _ok(data: Any) -> httpx.Response:
        return httpx.Response(200, json={"status": "ok", "data": data})

    @staticmethod
    def _error(code: str, message: str) -> httpx.Response:
        return httpx.Response(
            200, json={"status": "error", "err-code": code, "err-msg": message, "data": None}
        )


_SYMBOLS: dict[str, Any] = {}


def load_symbols() -> Any:
    """A two-symbol /v1/common/symbols reply in the recorded legacy format."""
    if not _SYMBOLS:
        _SYMBOLS.update(
            {
                "status": "ok",
                "data": [
                    {
                        "base-currency": "eth",
                        "quote-currency": "usdt",
                        "symbol": "ethusdt",
                        "state": "online",
                        "price-precision": 2,
                        "amount-precision": 4,
                        "min-order-amt": 0.001,
                        "min-order-value": 5,
                    },
                    {
                        "base-currency": "ada",
                        "quote-currency": "usdt",
                        "symbol": "adausdt",
                        "state": "online",
                        "price-precision": 6,
                        "amount-precision": 4,
                        "min-order-amt": 0.1,
                        "min-order-value": 5,
                    },
                ],
            }
        )
    return _SYMBOLS


def _verified(received: HttpRequest) -> bool:
    return auth.verify(received, CREDENTIALS, host=received.header("host") or "")


def _execution(venue: FakeHtx, clock: FakeClock, **kwargs: Any) -> HtxExecution:
    client = HttpClient(
        "htx",
        "https://api.huobi.pro",
        check=check,
        transport=venue.transport(),
        sleep=clock.sleep,
        retry=kwargs.pop("retry", RetryPolicy()),
    )
    return HtxExecution(CREDENTIALS, INSTRUMENTS, http=client, clock=ServerClock(clock), **kwargs)


def test_execution_is_venue_trading() -> None:
    execution: VenueTrading = _execution(FakeHtx(), FakeClock())
    assert execution.venue == "htx"


def test_place_fetch_cancel_round_trip_is_signed_and_verified() -> None:
    venue, clock = FakeHtx(), FakeClock()
    execution = _execution(venue, clock)
    order = prepare_order(
        ETH_USDT, OrderSide.BUY, 1_010_000_000, price_raw=10_010, client_order_id="arbround1"
    )

    async def run() -> None:
        placed = await execution.place_order(order)
        assert placed.status is OrderStatus.OPEN
        assert placed.venue_order_id == "356501383558846"
        assert (placed.price_raw, placed.size_raw) == (10_010, 1_010_000_000)
        fetched = await execution.fetch_order(ETH_USDT, "arbround1")
        assert fetched.client_order_id == "arbround1"
        assert fetched.venue_order_id == placed.venue_order_id
        (open_order,) = await execution.fetch_open_orders(ETH_USDT)
        assert open_order.client_order_id == "arbround1"
        canceled = await execution.cancel_order(ETH_USDT, "arbround1")
        assert canceled.status is OrderStatus.CANCELED
        assert await execution.fetch_open_orders() == []

    asyncio.run(run())
    signed = [r for r in venue.seen if r.path not in FakeHtx.PUBLIC]
    assert signed
    assert all(dict(r.params)["AccessKeyId"] == API_KEY for r in signed)
    assert [r.method for r in venue.seen if r.path == constants.PLACE_ORDER_PATH] == ["POST"]
    # the account id was asked for once and reused
    assert sum(r.path == constants.ACCOUNTS_PATH for r in venue.seen) == 1


def test_cancel_unknown_and_finished_orders() -> None:
    venue, clock = FakeHtx(), FakeClock()
    execution = _execution(venue, clock)

    async def run() -> None:
        with pytest.raises(OrderNotFound):
            await execution.cancel_order(ETH_USDT, "nosuchorder")
        await execution.place_order(_order(client_order_id="done1"))
        venue.orders["done1"].update({"state": "filled", "field-amount": "10.1"})
        finished = await execution.cancel_order(ETH_USDT, "done1")  # order-orderstate-error
        assert finished.status is OrderStatus.FILLED
        assert finished.filled_raw == 1_010_000_000
        with pytest.raises(OrderNotFound):
            await execution.fetch_order(ETH_USDT, "nosuchorder")

    asyncio.run(run())


def test_skewed_clock_is_resynchronised_from_the_time_endpoint() -> None:
    venue, clock = FakeHtx(), FakeClock(now_ms=1_700_000_000_000 - 600_000)  # 10 min behind
    execution = _execution(venue, clock)

    balances = asyncio.run(execution.fetch_balances())

    assert {b.asset for b in balances} == {"USDT", "POLY"}
    assert execution.clock.offset_ms == 600_000
    assert constants.SERVER_TIME_PATH in [r.path for r in venue.seen]
    last = venue.seen[-1]
    assert auth.signed_timestamp_ms(last) == venue.server_ms


def test_sync_time_measures_the_offset() -> None:
    venue, clock = FakeHtx(server_ms=1_700_000_003_000), FakeClock()
    execution = _execution(venue, clock)
    assert asyncio.run(execution.sync_time()) == 3_000
    stamp = auth.signed_timestamp_ms(
        execution.sign(HttpRequest(method="GET", path="/x"), CREDENTIALS)
    )
    assert stamp == 1_700_000_003_000


def test_fees_balances_and_instruments_over_the_client() -> None:
    venue, clock = FakeHtx(), FakeClock()
    execution = _execution(venue, clock)

    async def run() -> None:
        assert await execution.fetch_fees(ETH_USDT) == (0.0015, 0.0018)
        balances = await execution.fetch_balances()
        assert [b.asset for b in balances] == ["POLY", "USDT"]
        instruments = await execution.fetch_instruments()
        assert [i.symbol for i in instruments] == ["ETH/USDT", "ADA/USDT"]
        assert execution.symbols.get("ETHUSDT") is not None

    asyncio.run(run())
    fee = next(r for r in venue.seen if r.path == constants.FEE_RATE_PATH)
    assert dict(fee.params)["symbols"] == "ethusdt"
    # the public symbol list is not signed
    symbols = next(r for r in venue.seen if r.path == constants.INSTRUMENTS_PATH)
    assert "Signature" not in dict(symbols.params)


def test_built_from_base_url_signs_its_own_host() -> None:
    seen: list[HttpRequest] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received = wire_request(request)
        seen.append(received)
        assert auth.verify(received, CREDENTIALS, host="api-aws.huobi.pro")
        return httpx.Response(200, json=DOC_BALANCE)

    execution = HtxExecution(
        CREDENTIALS,
        INSTRUMENTS,
        base_url="https://api-aws.huobi.pro",
        transport=httpx.MockTransport(handler),
        account_id="10000001",
    )
    assert execution.host == "api-aws.huobi.pro"
    assert [b.asset for b in asyncio.run(execution.fetch_balances())] == ["POLY", "USDT"]
    assert execution.http.limiter is not None
    assert [b.spec for b in execution.http.limiter.budgets] == list(constants.RATE_LIMITS)


def test_venue_errors_surface_as_their_classes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "status": "error",
                "err-code": "order-accountbalance-error",
                "err-msg": "account balance insufficient",
            },
        )

    execution = HtxExecution(
        CREDENTIALS, INSTRUMENTS, transport=httpx.MockTransport(handler), account_id="1"
    )
    with pytest.raises(InsufficientFunds) as caught:
        asyncio.run(execution.place_order(_order()))
    assert caught.value.venue_code == "order-accountbalance-error"


PLACE_KEY = f"POST {constants.PLACE_ORDER_PATH}"


def _contract_build(attempts: int) -> tuple[FakeHtx, VenueTrading]:
    fake = FakeHtx()
    return fake, _execution(fake, FakeClock(), retry=RetryPolicy(attempts=attempts))


#: How HTX runs the shared trading scenarios (tests/exchanges/test_trading_contract.py).
CASE = TradingCase[FakeHtx](
    venue="htx",
    build=_contract_build,
    order=lambda cid, tif: prepare_order(
        ETH_USDT,
        OrderSide.BUY,
        1_010_000_000,
        price_raw=10_010,
        time_in_force=tif,
        client_order_id=cid,
    ),
    place_key=PLACE_KEY,
    sent_id=lambda request: json.loads(request.body)["client-order-id"],
    verify=_verified,
    signature=lambda request: dict(request.params).get("Signature"),
    signed_afresh=False,  # the Timestamp has whole seconds: a quick resend may sign the same
    land=lambda fake, request: fake.record(json.loads(request.body)),
    booked=lambda fake: len(fake.orders),
    # the account id (asked once), the placement, its lookup by client id, the placement again
    resend_paths=(
        constants.ACCOUNTS_PATH,
        constants.PLACE_ORDER_PATH,
        constants.ORDER_BY_CLIENT_ID_PATH,
        constants.PLACE_ORDER_PATH,
    ),
    landed_paths=(
        constants.ACCOUNTS_PATH,
        constants.PLACE_ORDER_PATH,
        constants.ORDER_BY_CLIENT_ID_PATH,
    ),
    landed_status=OrderStatus.OPEN,
    lost_match="was not placed",
    refuse=lambda fake: fake.hook(
        f"GET {constants.BALANCE_PATH.format(account_id='10000001')}",
        lambda r: FakeHtx._error("api-signature-not-valid", "Signature not valid"),
    ),
    secrets=(SECRET, API_KEY),
)


# --- secrets ------------------------------------------------------------------------------------


def test_no_secret_in_logs_exceptions_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    venue, clock = FakeHtx(), FakeClock(now_ms=1_700_000_000_000 - 600_000)
    venue.hook(PLACE_KEY, timeout())
    execution = _execution(venue, clock)
    shown: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        venue.seen.append(wire_request(request))
        return FakeHtx._error(
            "api-signature-not-valid", "Signature not valid: Verification failure"
        )

    async def run() -> None:
        await execution.place_order(_order(client_order_id="secret1"))
        for failing in (
            HtxExecution(
                CREDENTIALS, INSTRUMENTS, transport=httpx.MockTransport(refuse), account_id="1"
            ),
            HtxExecution(
                CREDENTIALS,
                INSTRUMENTS,
                account_id="1",
                transport=httpx.MockTransport(
                    lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r))
                ),
                retry=RetryPolicy(attempts=1),
            ),
        ):
            with pytest.raises(ExchangeError) as caught:
                await failing.fetch_balances()
            shown.extend([str(caught.value), repr(caught.value), repr(failing)])

    with caplog.at_level(logging.DEBUG):
        asyncio.run(run())
    signatures = [dict(r.params).get("Signature", "") for r in venue.seen]
    shown += [caplog.text, repr(execution), repr(execution.http), repr(CREDENTIALS)]
    text = "\n".join(shown)
    for secret in (SECRET, API_KEY, *filter(None, signatures)):
        assert secret not in text
    assert "placement attempt 1 failed" in caplog.text  # the retry was logged, without secrets


# --- rounding and minimums on the real instruments -----------------------------------------------


@pytest.fixture(scope="module")
def real(shared_data: Path) -> dict[str, Instrument]:
    payload = load_rest_body(shared_data / "real" / "htx" / "HUOBI.0", "/v1/common/symbols")
    return parse_instruments(payload).by_symbol()


@pytest.mark.recording
@pytest.mark.parametrize(
    ("symbol", "side", "size", "price", "sent_amount", "sent_price"),
    [
        # btcusdt: price-precision 2, amount-precision 6: 0.12345678 BTC -> 0.123456
        ("BTC/USDT", OrderSide.BUY, 12_345_678, 6_173_763, "0.123456", "61737.63"),
        # adausdt: price-precision 6, amount-precision 4 (2021): 12.34567 ADA -> 12.3456
        ("ADA/USDT", OrderSide.SELL, 1_234_567_000, 1_234_567, "12.3456", "1.234567"),
        # fil3susdt: price-precision 8, amount-precision 4
        ("FIL3S/USDT", OrderSide.BUY, 1_000_019_999, 123_456_780, "10.0001", "1.2345678"),
    ],
)
def test_prepare_order_real_instruments_round_to_the_lot(
    real: dict[str, Instrument],
    symbol: str,
    side: OrderSide,
    size: int,
    price: int,
    sent_amount: str,
    sent_price: str,
) -> None:
    order = prepare_order(real[symbol], side, size, price_raw=price, client_order_id="r1")
    body = json.loads(order_request(order, account_id="1").body)
    assert (body["amount"], body["price"]) == (sent_amount, sent_price)


@pytest.mark.recording
@pytest.mark.parametrize(
    ("symbol", "size", "price", "reason"),
    [
        ("BTC/USDT", 9_999, 6_000_000, "below the minimum 0.0001"),  # min-order-amt 0.0001
        ("BTC/USDT", 10_000, 4_000_000, "notional 4.00 is below the minimum 5.00"),  # value 5
        ("ADA/USDT", 9_999_999, 1_000_000, "below the minimum 0.1"),  # min-order-amt 0.1
        ("ADA/USDT", 400_000_000, 1_000_000, "notional 4.000000 is below the minimum 5.000000"),
    ],
)
def test_prepare_order_real_instruments_refuse_below_minimums(
    real: dict[str, Instrument], symbol: str, size: int, price: int, reason: str
) -> None:
    with pytest.raises(InvalidOrder, match=reason):
        prepare_order(real[symbol], OrderSide.BUY, size, price_raw=price)
