"""Binance spot trading: signing on the documentation's vectors, order shapes, errors, and the
client end to end against a fake venue that verifies every signature it receives.

Documented values used here besides ``vectors/binance/``: rest-api.md "SIGNED Endpoint Examples"
Example 3 (query string + body, 0fd168b8...; in rest-api.md until commit f83a5bf, e.g.
binance-spot-api-docs@5edf0821) and request-security's non-ASCII example (e1353ec6..., the
current docs); response shapes of GET/DELETE /api/v3/order, GET /api/v3/openOrders, GET
/api/v3/account and GET /api/v3/account/commission from developers.binance.com (2026-01).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import attrs
import httpx
import pytest

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    MalformedMessage,
    NetworkError,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.base import ParsedInstruments
from arbcore.exchanges.binance import auth, constants
from arbcore.exchanges.binance.execution import (
    BinanceExecution,
    budgets_from_rate_limits,
    check,
    is_duplicate,
    order_request,
    order_status,
    parse_balances,
    parse_fees,
    parse_order,
)
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.rest import ServerClock
from arbcore.exchanges.trading import OrderRequest, VenueTrading, prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.net.ratelimit import BudgetSpec, RateLimiter
from arbcore.testing.instruments import load_rest_body
from arbcore.testing.recordings import shared_data_dir
from arbcore.testing.trading_kit import FakeClock, FakeVenue, TradingCase

DOC_TS = 1499827319559
DOC_ORDER = [("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
             ("quantity", "1"), ("price", "0.1")]  # fmt: skip
#: Documented signatures of the same order sent mixed (query + body) and with a non-ASCII symbol.
DOC_MIXED_SIGNATURE = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
DOC_UNICODE_SIGNATURE = "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
#: The documentation's non-ASCII symbol: fullwidth digits one to six.
FULLWIDTH_123456 = "\uff11\uff12\uff13\uff14\uff15\uff16"

API_KEY = "test-api-key-0123456789abcdefWXYZ"
SECRET = "s3cr3t-binance-value-that-must-never-leak"
CREDENTIALS = Credentials(API_KEY, SECRET)


@pytest.fixture(scope="module")
def vectors(shared_data: Path) -> Path:
    return shared_data / "vectors" / "binance"


@pytest.fixture(scope="module")
def doc_credentials(vectors: Path) -> Credentials:
    vector = json.loads((vectors / "signature.json").read_text())
    return Credentials(vector["api_key"], vector["secret"])


@pytest.fixture(scope="module")
def exchange_info(shared_data: Path) -> Any:
    return load_rest_body(shared_data / "real" / "binance" / "BINANCE.0", "/api/v3/exchangeInfo")


@pytest.fixture(scope="module")
def real(exchange_info: Any) -> ParsedInstruments:
    return parse_instruments(exchange_info)


@pytest.fixture(scope="module")
def btcusdt(real: ParsedInstruments) -> Instrument:
    return real.by_symbol()["BTC/USDT"]


@pytest.fixture(scope="module")
def ltcbtc(real: ParsedInstruments) -> Instrument:
    return real.by_symbol()["LTC/BTC"]


def _load(vectors: Path, name: str) -> Any:
    return json.loads((vectors / name).read_text())


def _order(instrument: Instrument, **kwargs: Any) -> OrderRequest:
    values: dict[str, Any] = {
        "side": OrderSide.BUY,
        "type": OrderType.LIMIT,
        "time_in_force": TimeInForce.GTC,
        "client_order_id": "arbTest1",
    }
    values.update(kwargs)
    return OrderRequest(instrument=instrument, **values)


# --- signing ------------------------------------------------------------------------------------


def test_signature_vector_reproduces_through_sign_as_query_string(
    vectors: Path, doc_credentials: Credentials
) -> None:
    vector = _load(vectors, "signature.json")
    request = HttpRequest(method="POST", path="/api/v3/order", params=DOC_ORDER)
    signed = auth.sign(request, doc_credentials, timestamp_ms=DOC_TS)
    assert signed.query == f"{vector['payload']}&signature={vector['expected_signature']}"
    assert signed.params[-1] == ("signature", vector["expected_signature"])
    assert signed.header("X-MBX-APIKEY") == vector["api_key"]
    assert signed.body == ""
    assert auth.verify(signed, doc_credentials)


def test_signature_vector_reproduces_through_sign_as_request_body(
    vectors: Path, doc_credentials: Credentials
) -> None:
    vector = _load(vectors, "signature.json")
    body = "&".join(f"{key}={value}" for key, value in DOC_ORDER)
    signed = auth.sign(HttpRequest(method="POST", path="/api/v3/order", body=body),
                       doc_credentials, timestamp_ms=DOC_TS)  # fmt: skip
    assert signed.body == f"{vector['payload']}&signature={vector['expected_signature']}"
    assert signed.params == ()
    assert signed.header("Content-Type") == "application/x-www-form-urlencoded"
    assert auth.verify(signed, doc_credentials)


def test_mixed_query_and_body_signature_matches_documented_example_3(
    doc_credentials: Credentials,
) -> None:
    request = HttpRequest(method="POST", path="/api/v3/order", params=DOC_ORDER[:4],
                          body="quantity=1&price=0.1")  # fmt: skip
    signed = auth.sign(request, doc_credentials, timestamp_ms=DOC_TS)
    assert auth.total_params(signed) == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
        "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    )
    assert signed.body == (
        f"quantity=1&price=0.1&recvWindow=5000&timestamp={DOC_TS}&signature={DOC_MIXED_SIGNATURE}"
    )
    assert auth.verify(signed, doc_credentials)


def test_non_ascii_symbol_is_percent_encoded_before_signing_as_documented(
    doc_credentials: Credentials,
) -> None:
    request = HttpRequest(method="POST", path="/api/v3/order",
                          params=[("symbol", FULLWIDTH_123456), *DOC_ORDER[1:]])  # fmt: skip
    signed = auth.sign(request, doc_credentials, timestamp_ms=DOC_TS)
    assert signed.query.startswith("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&")
    assert signed.params[-1] == ("signature", DOC_UNICODE_SIGNATURE)
    assert auth.verify(signed, doc_credentials)


def _replace_param(request: HttpRequest, key: str, value: str) -> HttpRequest:
    return attrs.evolve(request, params=[(k, value if k == key else v) for k, v in request.params])


TAMPERINGS: dict[str, Callable[[HttpRequest], HttpRequest]] = {
    "quantity changed": lambda r: _replace_param(r, "quantity", "2"),
    "timestamp changed": lambda r: _replace_param(r, "timestamp", str(DOC_TS + 1)),
    "parameter appended": lambda r: r.with_params(("newClientOrderId", "x")),
    "signature digit changed": lambda r: _replace_param(
        r, "signature", "0" + dict(r.params)["signature"][1:]
    ),
    "signature removed": lambda r: attrs.evolve(r, params=r.params[:-1]),
    "other api key": lambda r: attrs.evolve(r, headers=[("X-MBX-APIKEY", "someone-else")]),
    "api key missing": lambda r: attrs.evolve(r, headers=()),
    "body added": lambda r: attrs.evolve(r, body="icebergQty=1"),
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_verify_rejects_a_tampered_request(
    doc_credentials: Credentials, tamper: Callable[[HttpRequest], HttpRequest]
) -> None:
    signed = auth.sign(HttpRequest(method="POST", path="/api/v3/order", params=DOC_ORDER),
                       doc_credentials, timestamp_ms=DOC_TS)  # fmt: skip
    assert auth.verify(signed, doc_credentials)
    assert not auth.verify(tamper(signed), doc_credentials)


def test_verify_rejects_another_secret_and_accepts_an_uppercase_signature(
    doc_credentials: Credentials,
) -> None:
    signed = auth.sign(HttpRequest(method="GET", path="/api/v3/account"), doc_credentials,
                       timestamp_ms=DOC_TS)  # fmt: skip
    other = Credentials(doc_credentials.api_key, doc_credentials.secret + "x")
    assert not auth.verify(signed, other)
    # "The signature is not case sensitive" (rest-api.md)
    upper = _replace_param(signed, "signature", dict(signed.params)["signature"].upper())
    assert auth.verify(upper, doc_credentials)


def test_sign_refuses_a_signed_request_and_a_window_beyond_60s(
    doc_credentials: Credentials,
) -> None:
    signed = auth.sign(HttpRequest(method="GET", path="/p"), doc_credentials, timestamp_ms=1)
    with pytest.raises(ValueError, match="already signed"):
        auth.sign(signed, doc_credentials, timestamp_ms=2)
    with pytest.raises(ValueError, match="recvWindow"):
        auth.sign(HttpRequest(method="GET", path="/p"), doc_credentials, recv_window_ms=60_001)


# --- order requests ----------------------------------------------------------------------------


def test_limit_gtc_order_request_matches_the_documented_order(ltcbtc: Instrument) -> None:
    order = _order(ltcbtc, size_raw=100_000_000, price_raw=100_000)  # 1 LTC at 0.1 BTC
    request = order_request(order)
    assert (request.method, request.path, request.weight, request.is_order) == (
        "POST", "/api/v3/order", 1, True)  # fmt: skip
    assert list(request.params[:6]) == DOC_ORDER
    assert request.params[6:] == (("newClientOrderId", "arbTest1"), ("newOrderRespType", "RESULT"))


@pytest.mark.parametrize(
    ("kind", "tif", "expected"),
    [
        (OrderType.LIMIT, TimeInForce.IOC,
         [("type", "LIMIT"), ("timeInForce", "IOC"), ("quantity", "0.01234"),
          ("price", "61737.6")]),
        (OrderType.LIMIT, TimeInForce.POST_ONLY,
         [("type", "LIMIT_MAKER"), ("quantity", "0.01234"), ("price", "61737.6")]),
        (OrderType.MARKET, TimeInForce.GTC, [("type", "MARKET"), ("quantity", "0.01234")]),
    ],
    ids=["limit-ioc", "post-only", "market"],
)  # fmt: skip
def test_order_request_for_each_order_type(
    btcusdt: Instrument, kind: OrderType, tif: TimeInForce, expected: list[tuple[str, str]]
) -> None:
    price = 6_173_760 if kind is OrderType.LIMIT else None
    order = _order(btcusdt, side=OrderSide.SELL, type=kind, time_in_force=tif,
                   size_raw=1_234_000, price_raw=price)  # fmt: skip
    params = order_request(order).params
    assert params[:2] == (("symbol", "BTCUSDT"), ("side", "SELL"))
    assert list(params[2:-2]) == expected
    assert dict(params)["newClientOrderId"] == "arbTest1"


def test_fok_order_request_is_the_documented_order_with_timeinforce_fok(
    vectors: Path, ltcbtc: Instrument
) -> None:
    """The documented query string (signature.json's payload) with ``timeInForce=FOK``."""
    order = _order(ltcbtc, size_raw=100_000_000, price_raw=100_000,
                   time_in_force=TimeInForce.FOK)  # fmt: skip
    documented = _load(vectors, "signature.json")["payload"].split("&recvWindow")[0]
    sent = order_request(order).query.split("&newClientOrderId")[0]
    assert sent == documented.replace("timeInForce=GTC", "timeInForce=FOK")
    assert sent == "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=FOK&quantity=1&price=0.1"


def test_an_unfilled_fok_reads_back_as_an_expired_fok(ltcbtc: Instrument) -> None:
    killed = parse_order({**QUERY_REPLY, "timeInForce": "FOK", "status": "EXPIRED"}, ltcbtc)
    assert (killed.time_in_force, killed.status, killed.filled_raw) == (
        TimeInForce.FOK, OrderStatus.EXPIRED, 0)  # fmt: skip


def test_fill_or_kill_is_for_limit_orders_only(btcusdt: Instrument) -> None:
    with pytest.raises(InvalidOrder, match="fill-or-kill needs a limit price"):
        _order(btcusdt, type=OrderType.MARKET, time_in_force=TimeInForce.FOK,
               size_raw=1_234_000, price_raw=None)  # fmt: skip
    with pytest.raises(InvalidOrder, match="fill-or-kill needs a limit price"):
        prepare_order(btcusdt, OrderSide.BUY, 1_234_000, type=OrderType.MARKET,
                      time_in_force=TimeInForce.FOK)  # fmt: skip


@pytest.mark.parametrize("bad_id", ["x" * 37, "has space", "", "semi;colon"])
def test_order_request_refuses_a_client_id_the_venue_would_not_echo(
    btcusdt: Instrument, bad_id: str
) -> None:
    with pytest.raises(InvalidOrder, match="client order id"):
        order_request(_order(btcusdt, size_raw=1000, price_raw=1, client_order_id=bad_id))


def test_market_post_only_is_refused(btcusdt: Instrument) -> None:
    order = _order(btcusdt, type=OrderType.MARKET, time_in_force=TimeInForce.POST_ONLY,
                   size_raw=1000, price_raw=None)  # fmt: skip
    with pytest.raises(InvalidOrder, match="post-only"):
        order_request(order)


# --- order replies -----------------------------------------------------------------------------


def test_ack_reply_needs_the_request_and_reads_as_open(vectors: Path, btcusdt: Instrument) -> None:
    body = _load(vectors, "new_order_response_ack.json")
    with pytest.raises(MalformedMessage, match="no state"):
        parse_order(body, btcusdt)
    request = _order(btcusdt, size_raw=1_000_000_000, price_raw=None, type=OrderType.MARKET,
                     side=OrderSide.SELL, client_order_id="6gCrw2kRUAF9CvJDGP16IP")  # fmt: skip
    order = parse_order(body, btcusdt, request=request)
    assert (order.status, order.venue_order_id, order.client_order_id) == (
        OrderStatus.OPEN, "28", "6gCrw2kRUAF9CvJDGP16IP")  # fmt: skip
    assert (order.size_raw, order.filled_raw, order.ts_created_ns) == (
        1_000_000_000, 0, 1507725176595 * 1_000_000)  # fmt: skip
    with pytest.raises(MalformedMessage, match="not arbTest1"):
        parse_order(body, btcusdt, request=attrs.evolve(request, client_order_id="arbTest1"))


@pytest.mark.parametrize("name", ["new_order_response_result.json", "new_order_response_full.json"])
def test_result_and_full_replies_read_exactly(
    vectors: Path, btcusdt: Instrument, name: str
) -> None:
    order = parse_order(_load(vectors, name), btcusdt)
    assert order.status is OrderStatus.FILLED
    assert (order.side, order.type, order.time_in_force) == (
        OrderSide.SELL, OrderType.MARKET, TimeInForce.GTC)  # fmt: skip
    assert (order.price_raw, order.size_raw, order.filled_raw) == (0, 10 * 10**8, 10 * 10**8)
    assert (order.client_order_id, order.venue_order_id) == ("6gCrw2kRUAF9CvJDGP16IP", "28")
    assert (order.venue, order.symbol, order.ts_created_ns) == (
        "binance", "BTC/USDT", 1507725176595 * 1_000_000)  # fmt: skip


QUERY_REPLY = {
    "symbol": "LTCBTC", "orderId": 1, "orderListId": -1, "clientOrderId": "myOrder1",
    "price": "0.1", "origQty": "1.0", "executedQty": "0.0", "cummulativeQuoteQty": "0.0",
    "status": "NEW", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY", "stopPrice": "0.0",
    "icebergQty": "0.0", "time": 1499827319559, "updateTime": 1499827319559,
    "isWorking": True, "workingTime": 1499827319559, "origQuoteOrderQty": "0.000000",
    "selfTradePreventionMode": "NONE",
}  # fmt: skip
CANCEL_REPLY = {
    "symbol": "LTCBTC", "origClientOrderId": "myOrder1", "orderId": 4, "orderListId": -1,
    "clientOrderId": "cancelMyOrder1", "transactTime": 1684804350068, "price": "2.00000000",
    "origQty": "1.00000000", "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000",
    "status": "CANCELED", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
    "selfTradePreventionMode": "NONE",
}  # fmt: skip


def test_documented_query_reply_reads_as_an_open_limit_order(ltcbtc: Instrument) -> None:
    order = parse_order(QUERY_REPLY, ltcbtc)
    assert (order.status, order.price_raw, order.size_raw, order.filled_raw) == (
        OrderStatus.OPEN, 100_000, 100_000_000, 0)  # fmt: skip
    assert (order.client_order_id, order.venue_order_id) == ("myOrder1", "1")


def test_documented_cancel_reply_keeps_the_orders_own_client_id(ltcbtc: Instrument) -> None:
    order = parse_order(CANCEL_REPLY, ltcbtc)
    assert (order.client_order_id, order.status, order.price_raw) == (
        "myOrder1", OrderStatus.CANCELED, 2_000_000)  # fmt: skip


def test_limit_maker_reads_as_post_only(ltcbtc: Instrument) -> None:
    order = parse_order({**QUERY_REPLY, "type": "LIMIT_MAKER"}, ltcbtc)
    assert (order.type, order.time_in_force) == (OrderType.LIMIT, TimeInForce.POST_ONLY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"symbol": "ETHBTC"}, "expected LTCBTC"),
        ({"price": "0.1000001"}, "price"),  # a non-zero digit beyond the 6 price decimals
        ({"origQty": 1.0}, "origQty"),  # a number, not decimal text
        ({"status": "WORKING"}, "unknown order status"),
        ({"type": "OCO"}, "unknown"),
    ],
)
def test_malformed_order_replies_are_refused(
    ltcbtc: Instrument, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedMessage, match=message):
        parse_order({**QUERY_REPLY, **change}, ltcbtc)


@pytest.mark.parametrize(
    ("venue_state", "expected"),
    [("NEW", OrderStatus.OPEN), ("PENDING_NEW", OrderStatus.OPEN),
     ("PARTIALLY_FILLED", OrderStatus.PARTIALLY_FILLED), ("FILLED", OrderStatus.FILLED),
     ("CANCELED", OrderStatus.CANCELED), ("PENDING_CANCEL", OrderStatus.OPEN),
     ("REJECTED", OrderStatus.REJECTED), ("EXPIRED", OrderStatus.EXPIRED),
     ("EXPIRED_IN_MATCH", OrderStatus.EXPIRED)],
)  # fmt: skip
def test_every_venue_state_maps_onto_arbcore_states(
    venue_state: str, expected: OrderStatus
) -> None:
    assert order_status(venue_state) is expected


def test_the_state_table_covers_every_documented_state() -> None:
    assert set(constants.ORDER_STATUS) == {"NEW", "PENDING_NEW", "PARTIALLY_FILLED", "FILLED",
                                           "CANCELED", "PENDING_CANCEL", "REJECTED", "EXPIRED",
                                           "EXPIRED_IN_MATCH"}  # fmt: skip


# --- errors ------------------------------------------------------------------------------------


def _reply(status: int, body: Any = None, headers: dict[str, str] | None = None,
           request: httpx.Request | None = None) -> httpx.Response:  # fmt: skip
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers, request=request)


def test_documented_error_vector_is_an_invalid_order(vectors: Path) -> None:
    error = check(_reply(400, _load(vectors, "error_response.json")))
    assert isinstance(error, InvalidOrder)
    assert (error.venue, error.http_status, error.venue_code) == ("binance", 400, -1121)
    assert "Invalid symbol." in str(error)


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "code", "retry_after"),
    [
        (429, {"code": -1003, "msg": "Too much request weight used; current limit is 6000 "
               "request weight per 1 MINUTE."}, {"Retry-After": "7"}, RateLimitExceeded, -1003,
         7.0),
        (418, {"code": -1003, "msg": "Way too much request weight used; IP banned until "
               "1700000000000."}, {"Retry-After": "120"}, RateLimitExceeded, -1003, 120.0),
        (429, {"code": -1015, "msg": "Too many new orders."}, None, RateLimitExceeded, -1015, None),
        (429, "", {"Retry-After": "3"}, RateLimitExceeded, None, 3.0),
        (400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
         None, AuthenticationError, -1021, None),
        (400, {"code": -1022, "msg": "Signature for this request is not valid."}, None,
         AuthenticationError, -1022, None),
        (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, None,
         AuthenticationError, -2015, None),
        (400, {"code": -2014, "msg": "API-key format invalid."}, None, AuthenticationError,
         -2014, None),
        (400, {"code": -2010, "msg": "Account has insufficient balance for requested action."},
         None, InsufficientFunds, -2010, None),
        (400, {"code": -2010, "msg": "Order would immediately match and take."}, None,
         InvalidOrder, -2010, None),
        (400, {"code": -2011, "msg": "Unknown order sent."}, None, OrderNotFound, -2011, None),
        (400, {"code": -2013, "msg": "Order does not exist."}, None, OrderNotFound, -2013, None),
        (400, {"code": -2026, "msg": "Order was canceled or expired with no executed qty over "
               "90 days ago and has been archived."}, None, OrderNotFound, -2026, None),
        (400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}, None, InvalidOrder, -1013, None),
        (400, {"code": -1100, "msg": "Illegal characters found in a parameter."}, None,
         InvalidOrder, -1100, None),
        (400, {"code": -1102, "msg": "Mandatory parameter 'price' was not sent."}, None,
         InvalidOrder, -1102, None),
        (503, {"code": -1001, "msg": "Internal error; unable to process your request."}, None,
         ExchangeNotAvailable, -1001, None),
        (503, {"code": -1008, "msg": "Server is currently overloaded."}, None,
         ExchangeNotAvailable, -1008, None),
        (408, {"code": -1007, "msg": "Timeout waiting for response from backend server. Send "
               "status unknown; execution status unknown."}, None, NetworkError, -1007, None),
        (502, "<html>Bad Gateway</html>", None, ExchangeNotAvailable, None, None),
        (403, "<html>Forbidden</html>", None, AuthenticationError, None, None),
        (400, {"code": -9999, "msg": "Something new."}, None, ExchangeError, -9999, None),
    ],
)  # fmt: skip
def test_check_maps_codes_and_statuses_onto_the_error_tree(
    status: int,
    body: Any,
    headers: dict[str, str] | None,
    kind: type[ExchangeError],
    code: int | None,
    retry_after: float | None,
) -> None:
    error = check(_reply(status, body, headers))
    assert type(error) is kind
    assert (error.venue, error.http_status, error.venue_code) == ("binance", status, code)
    if isinstance(error, RateLimitExceeded):
        assert error.retry_after == retry_after


@pytest.mark.parametrize("body", [{}, QUERY_REPLY, [QUERY_REPLY], {"serverTime": 1}])
def test_check_passes_successful_replies(body: Any) -> None:
    assert check(_reply(200, body)) is None


def test_a_duplicate_client_id_refusal_is_recognised() -> None:
    error = check(_reply(400, {"code": -2010, "msg": "Duplicate order sent."}))
    assert isinstance(error, InvalidOrder)
    assert is_duplicate(error)
    other = check(_reply(400, {"code": -2010, "msg": "Market is closed."}))
    assert other is not None
    assert not is_duplicate(other)


def test_error_text_never_carries_the_query_string_key_or_signature() -> None:
    signed = auth.sign(HttpRequest(method="POST", path="/api/v3/order", params=DOC_ORDER),
                       CREDENTIALS, timestamp_ms=DOC_TS)  # fmt: skip
    signature = dict(signed.params)["signature"]
    request = httpx.Request("POST", f"https://api.binance.com{signed.target}",
                            headers=list(signed.headers))  # fmt: skip
    echo = f"Illegal characters in signature '{signature}' for key {API_KEY}"
    error = check(_reply(400, {"code": -1100, "msg": echo}, request=request))
    text = str(error)
    assert "POST /api/v3/order" in text
    assert signature not in text
    assert API_KEY not in text
    assert "symbol=LTCBTC" not in text


# --- balances, fees, limits --------------------------------------------------------------------

ACCOUNT_REPLY = {
    "makerCommission": 15, "takerCommission": 15, "buyerCommission": 0, "sellerCommission": 0,
    "commissionRates": {"maker": "0.00150000", "taker": "0.00150000", "buyer": "0.00000000",
                        "seller": "0.00000000"},
    "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
    "requireSelfTradePrevention": False, "preventSor": False, "updateTime": 123456789,
    "accountType": "SPOT",
    "balances": [{"asset": "BTC", "free": "4723846.89208129", "locked": "0.00000000"},
                 {"asset": "LTC", "free": "4763368.68006011", "locked": "0.00000000"}],
    "permissions": ["SPOT"], "uid": 354937868,
}  # fmt: skip
COMMISSION_REPLY = {
    "symbol": "BTCUSDT",
    "standardCommission": {"maker": "0.00000010", "taker": "0.00000020", "buyer": "0.00000030",
                           "seller": "0.00000040"},
    "specialCommission": {"maker": "0.01000000", "taker": "0.02000000", "buyer": "0.03000000",
                          "seller": "0.04000000"},
    "taxCommission": {"maker": "0.00000112", "taker": "0.00000114", "buyer": "0.00000118",
                      "seller": "0.00000116"},
    "discount": {"enabledForAccount": True, "enabledForSymbol": True, "discountAsset": "BNB",
                 "discount": "0.75000000"},
}  # fmt: skip


def test_documented_account_reply_reads_as_balances() -> None:
    balances = parse_balances(ACCOUNT_REPLY)
    assert [(b.asset, b.free, b.locked) for b in balances] == [
        ("BTC", 4723846.89208129, 0.0), ("LTC", 4763368.68006011, 0.0)]  # fmt: skip


def test_documented_commission_reply_adds_role_and_worst_side_of_each_kind(
    btcusdt: Instrument,
) -> None:
    maker, taker = parse_fees(COMMISSION_REPLY, btcusdt)
    # standard 0.0000001 + 0.0000004, special 0.01 + 0.04, tax 0.00000112 + 0.00000118
    assert maker == float(Decimal("0.0500028"))
    assert taker == float(Decimal("0.06000292"))
    older = {k: v for k, v in COMMISSION_REPLY.items() if k != "specialCommission"}
    assert parse_fees(older, btcusdt) == (float(Decimal("0.0000028")), float(Decimal("0.00000292")))
    with pytest.raises(MalformedMessage, match="expected BTCUSDT"):
        parse_fees({**COMMISSION_REPLY, "symbol": "ETHUSDT"}, btcusdt)


def test_rate_limiters_vector_becomes_budgets(vectors: Path) -> None:
    assert budgets_from_rate_limits(_load(vectors, "rate_limiters_example.json")) == (
        BudgetSpec("REQUEST_WEIGHT 1m", 6000, 60.0, "weight"),
        BudgetSpec("ORDERS 1s", 10, 1.0, "order"),
        BudgetSpec("RAW_REQUESTS 5m", 61000, 300.0, "request"),
    )


def test_default_budgets_are_the_documented_ones() -> None:
    by_name = {spec.name: spec for spec in constants.RATE_LIMITS}
    assert by_name["REQUEST_WEIGHT 1m"] == BudgetSpec("REQUEST_WEIGHT 1m", 6000, 60.0, "weight")
    assert by_name["ORDERS 10s"] == BudgetSpec("ORDERS 10s", 100, 10.0, "order")


def test_server_clock_takes_the_round_trip_midpoint() -> None:
    clock = ServerClock.from_seconds(lambda: 1000.0)
    assert clock.observe(server_ms=5050, sent_ms=1000, received_ms=1100) == 4000
    assert clock.now_ms() == 1_000_000 + 4000


# --- the client end to end ---------------------------------------------------------------------


class FakeBinance(FakeVenue):
    """Answers like Binance's REST API, from the documented shapes, and checks as Binance does:
    every signed request must verify and carry a timestamp inside its receive window."""

    def __init__(self, clock: FakeClock, exchange_info: Any = None, skew_ms: int = 0) -> None:
        super().__init__()
        self.clock = clock
        self.skew_ms = skew_ms  # the venue's clock minus the local one
        self.exchange_info = exchange_info
        self.orders: dict[str, dict[str, Any]] = {}
        self.fill_on_place = False
        self.next_id = 100

    def server_ms(self) -> int:
        return int(self.clock.now * 1000) + self.skew_ms

    def answer(self, received: HttpRequest) -> httpx.Response:
        if received.path == constants.TIME_PATH:
            return httpx.Response(200, json={"serverTime": self.server_ms()})
        if received.path == constants.INSTRUMENTS_PATH:
            return httpx.Response(200, json=self.exchange_info)
        assert received.header("X-MBX-APIKEY") == API_KEY
        assert auth.verify(received, CREDENTIALS), "signature does not verify"
        params = dict(received.params)
        stamp, window = int(params["timestamp"]), int(params["recvWindow"])
        if not (stamp < self.server_ms() + 1000 and self.server_ms() - stamp <= window):
            return _error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        route = getattr(self, f"_{received.method.lower()}_{received.path.rsplit('/', 1)[-1]}")
        reply: httpx.Response = route(params)
        return reply

    def posts(self) -> list[dict[str, str]]:
        return [dict(r.params) for r in self.seen if r.method == "POST"]

    def _post_order(self, params: dict[str, str]) -> httpx.Response:
        cid = params["newClientOrderId"]
        if cid in self.orders and self.orders[cid]["status"] in ("NEW", "PARTIALLY_FILLED"):
            return _error(400, -2010, "Duplicate order sent.")
        self.next_id += 1
        filled = self.fill_on_place or params["type"] == "MARKET"
        self.orders[cid] = {
            "symbol": params["symbol"], "orderId": self.next_id, "orderListId": -1,
            "clientOrderId": cid, "transactTime": self.server_ms(),
            "price": params.get("price", "0.00000000"), "origQty": params["quantity"],
            "executedQty": params["quantity"] if filled else "0.00000000",
            "cummulativeQuoteQty": "0.00000000", "status": "FILLED" if filled else "NEW",
            "timeInForce": params.get("timeInForce", "GTC"), "type": params["type"],
            "side": params["side"], "workingTime": self.server_ms(),
            "selfTradePreventionMode": "NONE",
        }  # fmt: skip
        return httpx.Response(200, json=self.orders[cid])

    def _get_order(self, params: dict[str, str]) -> httpx.Response:
        order = self.orders.get(params["origClientOrderId"])
        if order is None:
            return _error(400, -2013, "Order does not exist.")
        return httpx.Response(200, json={**order, "time": order["transactTime"]})

    def _delete_order(self, params: dict[str, str]) -> httpx.Response:
        order = self.orders.get(params["origClientOrderId"])
        if order is None or order["status"] not in ("NEW", "PARTIALLY_FILLED"):
            return _error(400, -2011, "Unknown order sent.")
        order["status"] = "CANCELED"
        cancel = {**order, "origClientOrderId": order["clientOrderId"],
                  "clientOrderId": "cancel" + order["clientOrderId"]}  # fmt: skip
        return httpx.Response(200, json=cancel)

    def _get_openOrders(self, params: dict[str, str]) -> httpx.Response:  # noqa: N802
        live = [o for o in self.orders.values() if o["status"] in ("NEW", "PARTIALLY_FILLED")]
        if "symbol" in params:
            live = [o for o in live if o["symbol"] == params["symbol"]]
        return httpx.Response(200, json=live)

    def _get_account(self, params: dict[str, str]) -> httpx.Response:
        assert params["omitZeroBalances"] == "true"
        return httpx.Response(200, json=ACCOUNT_REPLY)

    def _get_commission(self, params: dict[str, str]) -> httpx.Response:
        return httpx.Response(200, json={**COMMISSION_REPLY, "symbol": params["symbol"]})


def _error(status: int, code: int, msg: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg})


def _client(fake: FakeBinance, instruments: list[Instrument], **kwargs: Any) -> BinanceExecution:
    clock = fake.clock
    http = HttpClient("binance", "https://api.binance.com", check=check,
                      limiter=RateLimiter(constants.RATE_LIMITS, clock=clock, sleep=clock.sleep),
                      transport=httpx.MockTransport(fake), sleep=clock.sleep)  # fmt: skip
    return BinanceExecution(CREDENTIALS, instruments, http=http, clock=clock, **kwargs)


@pytest.fixture
def fake(exchange_info: Any) -> FakeBinance:
    return FakeBinance(FakeClock(seconds=True), exchange_info)


def test_place_order_sends_a_signed_order_and_reads_its_state(
    fake: FakeBinance, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])
    order = prepare_order(btcusdt, OrderSide.BUY, 1_234_567, price_raw=6_173_763,
                          client_order_id="arbPlace1")  # fmt: skip
    placed = asyncio.run(client.place_order(order))
    (sent,) = fake.seen
    assert (sent.method, sent.path) == ("POST", "/api/v3/order")
    assert sent.header("X-MBX-APIKEY") == API_KEY
    assert auth.verify(sent, CREDENTIALS)
    params = dict(sent.params)
    assert (params["quantity"], params["price"], params["newClientOrderId"]) == (
        "0.01234", "61737.63", "arbPlace1")  # fmt: skip
    assert int(params["timestamp"]) == fake.server_ms()
    assert placed.status is OrderStatus.OPEN
    assert (placed.client_order_id, placed.size_raw, placed.price_raw) == (
        "arbPlace1", 1_234_000, 6_173_763)  # fmt: skip


def test_cancel_fetch_and_open_orders_round_trip(
    fake: FakeBinance, btcusdt: Instrument, ltcbtc: Instrument
) -> None:
    client = _client(fake, [btcusdt, ltcbtc])
    order = prepare_order(btcusdt, OrderSide.SELL, 100_000, price_raw=7_000_000,
                          client_order_id="arbCancel1")  # fmt: skip

    async def scenario() -> None:
        await client.place_order(order)
        fake.orders["foreign"] = {**fake.orders["arbCancel1"], "symbol": "XYZUSDT",
                                  "clientOrderId": "foreign"}  # fmt: skip
        open_orders = await client.fetch_open_orders()
        assert [o.client_order_id for o in open_orders] == ["arbCancel1"]  # XYZUSDT skipped
        assert [o.client_order_id for o in await client.fetch_open_orders(btcusdt)] == [
            "arbCancel1"]  # fmt: skip
        fetched = await client.fetch_order(btcusdt, "arbCancel1")
        assert (fetched.status, fetched.side, fetched.price_raw) == (
            OrderStatus.OPEN, OrderSide.SELL, 7_000_000)  # fmt: skip
        canceled = await client.cancel_order(btcusdt, "arbCancel1")
        assert (canceled.status, canceled.client_order_id) == (OrderStatus.CANCELED, "arbCancel1")
        assert await client.fetch_open_orders(btcusdt) == []

    asyncio.run(scenario())
    paths = [(r.method, r.path, dict(r.params).get("symbol")) for r in fake.seen]
    assert paths == [
        ("POST", "/api/v3/order", "BTCUSDT"), ("GET", "/api/v3/openOrders", None),
        ("GET", "/api/v3/openOrders", "BTCUSDT"), ("GET", "/api/v3/order", "BTCUSDT"),
        ("DELETE", "/api/v3/order", "BTCUSDT"), ("GET", "/api/v3/openOrders", "BTCUSDT"),
    ]  # fmt: skip
    assert all(auth.verify(r, CREDENTIALS) for r in fake.seen)
    weights = {(r.method, r.path, "symbol" in dict(r.params)) for r in fake.seen}
    assert ("GET", "/api/v3/openOrders", False) in weights


def test_cancel_of_a_filled_order_returns_its_final_state(
    fake: FakeBinance, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])
    fake.fill_on_place = True
    order = prepare_order(btcusdt, OrderSide.BUY, 100_000, price_raw=7_000_000,
                          client_order_id="arbFilled1")  # fmt: skip

    async def scenario() -> None:
        await client.place_order(order)
        final = await client.cancel_order(btcusdt, "arbFilled1")  # -2011, then looked up
        assert (final.status, final.filled_raw) == (OrderStatus.FILLED, 100_000)
        with pytest.raises(OrderNotFound) as missing:
            await client.cancel_order(btcusdt, "arbNever")
        assert missing.value.venue_code == -2011

    asyncio.run(scenario())


def test_fetch_order_of_an_unknown_id_is_order_not_found(
    fake: FakeBinance, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])
    with pytest.raises(OrderNotFound) as caught:
        asyncio.run(client.fetch_order(btcusdt, "arbNope"))
    assert (caught.value.venue_code, caught.value.http_status) == (-2013, 400)


def test_a_duplicate_refusal_resolves_to_the_existing_order(
    fake: FakeBinance, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])
    order = prepare_order(btcusdt, OrderSide.BUY, 100_000, price_raw=6_000_000,
                          client_order_id="arbDup1")  # fmt: skip

    async def scenario() -> None:
        first = await client.place_order(order)
        again = await client.place_order(order)  # -2010 Duplicate order sent.
        assert again.venue_order_id == first.venue_order_id

    asyncio.run(scenario())
    assert len(fake.orders) == 1


def test_a_rejected_timestamp_resyncs_the_clock_and_resends(
    exchange_info: Any, btcusdt: Instrument
) -> None:
    fake = FakeBinance(
        FakeClock(seconds=True), exchange_info, skew_ms=-30_000
    )  # host clock 30 s ahead
    client = _client(fake, [btcusdt])
    balances = asyncio.run(client.fetch_balances())
    assert [b.asset for b in balances] == ["BTC", "LTC"]
    assert [r.path for r in fake.seen] == ["/api/v3/account", "/api/v3/time", "/api/v3/account"]
    assert client.clock.offset_ms == -30_000
    assert int(dict(fake.seen[-1].params)["timestamp"]) == fake.server_ms()


def test_fetch_fees_and_instruments(
    fake: FakeBinance, btcusdt: Instrument, exchange_info: Any
) -> None:
    client = _client(fake, [btcusdt])
    maker, taker = asyncio.run(client.fetch_fees(btcusdt))
    assert (maker, taker) == parse_fees(COMMISSION_REPLY, btcusdt)
    assert dict(fake.seen[-1].params)["symbol"] == "BTCUSDT"
    instruments = asyncio.run(client.fetch_instruments())
    assert len(instruments) == 1222
    assert len(client.symbols) == 1222
    assert fake.seen[-1].params == ()  # public: not signed


def test_a_throttled_request_waits_retry_after_then_succeeds(
    fake: FakeBinance, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])
    fake.hook(
        "GET /api/v3/account", lambda request: _error(429, -1003, "Too much request weight used.")
    )
    throttled = httpx.Response(429, json={"code": -1003, "msg": "Too much request weight used."},
                               headers={"Retry-After": "2"})  # fmt: skip
    fake.hooks["GET /api/v3/account"].appendleft(lambda request: throttled)
    started = fake.clock.now
    asyncio.run(client.fetch_balances())
    assert fake.clock.now - started >= 2.0
    assert len(fake.seen) == 3


def test_the_client_built_from_a_base_url_has_the_documented_budgets(btcusdt: Instrument) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    client = BinanceExecution(CREDENTIALS, [btcusdt], base_url="https://api.binance.com",
                              transport=transport)  # fmt: skip
    assert client.http.limiter is not None
    assert [b.spec for b in client.http.limiter.budgets] == list(constants.RATE_LIMITS)
    assert client.http.check is check
    asyncio.run(client.aclose())


@functools.cache
def _real_btcusdt() -> Instrument:
    data = shared_data_dir()
    if data is None:
        pytest.skip("the real recordings (../shared/data) are not beside this checkout")
    info = load_rest_body(data / "real" / "binance" / "BINANCE.0", "/api/v3/exchangeInfo")
    return parse_instruments(info).by_symbol()["BTC/USDT"]


def _contract_build(attempts: int) -> tuple[FakeVenue, VenueTrading]:
    fake = FakeBinance(FakeClock(seconds=True))
    client = _client(fake, [_real_btcusdt()])
    client.http.retry = RetryPolicy(attempts=attempts)
    return fake, client


def _land(fake: FakeVenue, request: HttpRequest) -> object:
    """Binance would accept the same id again once the first order filled: a blind resend
    would buy twice."""
    binance = cast(FakeBinance, fake)
    binance.fill_on_place = True
    return binance._post_order(dict(request.params))


#: How Binance runs the shared trading scenarios (tests/exchanges/test_trading_contract.py).
CASE = TradingCase(
    venue="binance",
    build=_contract_build,
    order=lambda cid, tif: prepare_order(
        _real_btcusdt(),
        OrderSide.BUY,
        100_000,
        price_raw=6_000_000,
        time_in_force=tif,
        client_order_id=cid,
    ),
    place_key="POST /api/v3/order",
    sent_id=lambda request: dict(request.params)["newClientOrderId"],
    verify=lambda request: auth.verify(request, CREDENTIALS),
    signature=lambda request: dict(request.params).get("signature"),
    land=_land,
    booked=lambda fake: len(cast(FakeBinance, fake).orders),
    resend_paths=("/api/v3/order",) * 3,  # POST, the GET lookup, POST again
    landed_paths=("/api/v3/order",) * 2,
    landed_status=OrderStatus.FILLED,
    lost_match="was not placed",
    refuse=lambda fake: fake.hook(
        "GET /api/v3/account",
        lambda request: _error(401, -2015, "Invalid API-key, IP, or permissions for action."),
    ),
    secrets=(SECRET, API_KEY),
)


# --- rounding and minimums on real instruments -------------------------------------------------


@pytest.mark.parametrize(
    ("native", "side", "size_raw", "price_raw", "quantity", "price"),
    [
        # BTCUSDT: step 0.00001 at 8 decimals, tick 0.01; 0.00123456 -> 0.00123
        ("BTCUSDT", OrderSide.BUY, 123_456, 6_173_763, "0.00123", "61737.63"),
        # ETHBTC: step 0.0001; 0.56789 ETH -> 0.5678 at 0.068501 BTC
        ("ETHBTC", OrderSide.SELL, 56_789_000, 68_501, "0.5678", "0.068501"),
        # SHIBUSDT: whole coins (step 1.00), tick 0.00000001
        ("SHIBUSDT", OrderSide.BUY, 123_456_789, 3_500, "1234567", "0.000035"),
        # DOGEUSDT: step 1 DOGE at 8 size decimals, tick 0.0001
        ("DOGEUSDT", OrderSide.SELL, 15_099_999_999, 2_345, "150", "0.2345"),
    ],
)  # fmt: skip
def test_prepare_order_on_real_instruments_rounds_to_the_lot_and_sends_exact_text(
    real: ParsedInstruments,
    native: str,
    side: OrderSide,
    size_raw: int,
    price_raw: int,
    quantity: str,
    price: str,
) -> None:
    instrument = next(i for i in real.instruments if i.native_symbol == native)
    order = prepare_order(instrument, side, size_raw, price_raw=price_raw, client_order_id="arbR1")
    params = dict(order_request(order).params)
    assert (params["quantity"], params["price"]) == (quantity, price)
    assert order.size_raw % instrument.lot_size == 0
    assert order.size_raw <= size_raw


@pytest.mark.parametrize(
    ("native", "size_raw", "price_raw", "message"),
    [
        ("BTCUSDT", 999, 6_173_763, "below the minimum 0.00001000"),  # under minQty 0.00001
        ("BTCUSDT", 10_000, 6_173_763, "notional 6.17 is below the minimum 10.00"),  # 0.0001 BTC
        ("LTCBTC", 100_000, 100, "notional 0.000000 is below the minimum 0.000100"),
        ("SHIBUSDT", 99, 3_500, "below the minimum 1.00"),  # under one whole SHIB
    ],
)  # fmt: skip
def test_prepare_order_on_real_instruments_refuses_below_min_qty_and_notional(
    real: ParsedInstruments, native: str, size_raw: int, price_raw: int, message: str
) -> None:
    instrument = next(i for i in real.instruments if i.native_symbol == native)
    with pytest.raises(InvalidOrder, match=message):
        prepare_order(instrument, OrderSide.BUY, size_raw, price_raw=price_raw)


def test_the_client_signs_at_the_synced_clock_with_its_receive_window(btcusdt: Instrument) -> None:
    client = BinanceExecution(CREDENTIALS, [btcusdt], base_url="http://127.0.0.1:9",
                              recv_window_ms=7_000, clock=lambda: 1_700_000_000.0)  # fmt: skip
    signed = client.sign(HttpRequest(method="GET", path="/api/v3/account"), CREDENTIALS)
    assert ("recvWindow", "7000") in signed.params
    assert ("timestamp", "1700000000000") in signed.params
    with pytest.raises(ValueError, match="recv_window_ms"):
        BinanceExecution(CREDENTIALS, [btcusdt], base_url="http://127.0.0.1:9",
                         recv_window_ms=constants.MAX_RECV_WINDOW_MS + 1)  # fmt: skip
