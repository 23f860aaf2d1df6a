"""Bybit v5 spot trading: signing on the documentation's vectors, order shapes, errors, and the
client end to end against a fake venue that verifies every signature it receives.

Bybit's documented signatures cannot be reproduced (the docs never give the secret), so the
string signed is pinned to the docs' text exactly and the digest to the self-computed vectors.
Response shapes besides ``vectors/bybit/``: docs/v5 order/open-order.mdx (realtime list),
order/cancel-order.mdx, account/fee-rate.mdx, account/wallet-balance.mdx (with ``locked``),
market/time.mdx, error.mdx.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

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
from arbcore.exchanges.bybit import auth, constants
from arbcore.exchanges.bybit.execution import (
    BybitExecution,
    check,
    is_duplicate,
    open_orders_request,
    order_request,
    order_status,
    parse_balances,
    parse_fees,
    parse_order,
    parse_server_time,
    result_of,
)
from arbcore.exchanges.bybit.providers import parse_instruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.trading import OrderRequest, VenueTrading, prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.net.ratelimit import RateLimiter
from arbcore.testing.recordings import shared_data_dir
from arbcore.testing.trading_kit import FakeClock, FakeVenue, TradingCase

API_KEY = "bybit-test-key-0123456789ABCDEF"
SECRET = "s3cr3t-bybit-value-that-must-never-leak"
CREDENTIALS = Credentials(API_KEY, SECRET)


@pytest.fixture(scope="module")
def vectors(shared_data: Path) -> Path:
    return shared_data / "vectors" / "bybit"


def _load(vectors: Path, name: str) -> Any:
    return json.loads((vectors / name).read_text())


@pytest.fixture(scope="module")
def instruments_payload(vectors: Path) -> Any:
    return _load(vectors, "instruments_info_spot_response.json")


@pytest.fixture(scope="module")
def btcusdt(instruments_payload: Any) -> Instrument:
    """The documentation's spot BTCUSDT: tick 0.1, step 0.000001, min 0.000011 BTC and 5 USDT.
    Bybit publishes no instrument capture: this vector is the only real instrument data."""
    return parse_instruments(instruments_payload).by_symbol()["BTC/USDT"]


@pytest.fixture(scope="module")
def ethusdt() -> Instrument:
    return Instrument.from_text(venue="bybit", native_symbol="ETHUSDT", base="ETH",
                                quote="USDT", tick_size="0.01", lot_size="0.00001")  # fmt: skip


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

DOC_QUERY = [("category", "option"), ("symbol", "BTC-29JUL22-25000-C")]
DOC_GET = HttpRequest(method="GET", path="/v5/order/realtime", params=DOC_QUERY)
DOC_POST = HttpRequest(method="POST", path="/v5/order/create", body='{"category": "option"}')


@pytest.mark.parametrize(("index", "request_"), [(0, DOC_GET), (1, DOC_POST)], ids=["GET", "POST"])
def test_documented_plain_text_is_exactly_what_is_signed(
    vectors: Path, index: int, request_: HttpRequest
) -> None:
    vector = _load(vectors, "signature_docs_examples.json")["vectors"][index]
    text = auth.string_to_sign(request_, vector["api_key"], int(vector["timestamp"]),
                               int(vector["recv_window"]))  # fmt: skip
    assert text == vector["payload"]


@pytest.mark.parametrize(("index", "request_"), [(0, DOC_GET), (1, DOC_POST)], ids=["GET", "POST"])
def test_self_computed_vectors_reproduce_through_sign(
    vectors: Path, index: int, request_: HttpRequest
) -> None:
    docs = _load(vectors, "signature_docs_examples.json")["vectors"][index]
    vector = _load(vectors, "signature_selfcomputed.json")["vectors"][index]
    credentials = Credentials(docs["api_key"], vector["secret"])
    signed = auth.sign(request_, credentials, timestamp_ms=int(docs["timestamp"]))
    assert signed.headers[-4:] == (
        ("X-BAPI-API-KEY", "XXXXXXXXXX"),
        ("X-BAPI-TIMESTAMP", docs["timestamp"]),
        ("X-BAPI-RECV-WINDOW", "5000"),
        ("X-BAPI-SIGN", vector["signature_hex"]),
    )
    assert (signed.target, signed.body) == (request_.target, request_.body)  # nothing else changes
    assert auth.verify(signed, credentials)


def test_ws_auth_vector_reproduces(vectors: Path) -> None:
    vector = _load(vectors, "signature_selfcomputed.json")["vectors"][2]
    assert vector["payload"] == "GET/realtime1662350400000"
    credentials = Credentials("api_key", vector["secret"])
    assert auth.ws_auth_args(credentials, 1662350400000) == (
        "api_key", 1662350400000, vector["signature_hex"])  # fmt: skip
    frame = _load(vectors, "ws_auth_request.json")
    assert [type(arg) for arg in frame["args"]] == [str, int, str]


def _set_header(request: HttpRequest, name: str, value: str) -> HttpRequest:
    return attrs.evolve(
        request, headers=[(k, value if k == name else v) for k, v in request.headers]
    )


TAMPERINGS: dict[str, Callable[[HttpRequest], HttpRequest]] = {
    "query changed": lambda r: attrs.evolve(r, params=[("category", "spot")]),
    "timestamp changed": lambda r: _set_header(r, "X-BAPI-TIMESTAMP", "1658384314792"),
    "window changed": lambda r: _set_header(r, "X-BAPI-RECV-WINDOW", "60000"),
    "signature changed": lambda r: _set_header(r, "X-BAPI-SIGN", "0" * 64),
    "other key": lambda r: _set_header(r, "X-BAPI-API-KEY", "someone-else"),
    "sign removed": lambda r: attrs.evolve(r, headers=r.headers[:-1]),
    "timestamp not a number": lambda r: _set_header(r, "X-BAPI-TIMESTAMP", "16583843147.1"),
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_verify_rejects_a_tampered_request(tamper: Callable[[HttpRequest], HttpRequest]) -> None:
    signed = auth.sign(DOC_GET, CREDENTIALS, timestamp_ms=1658384314791)
    assert auth.verify(signed, CREDENTIALS)
    assert not auth.verify(tamper(signed), CREDENTIALS)


def test_verify_rejects_another_secret_and_a_changed_body() -> None:
    signed = auth.sign(DOC_POST, CREDENTIALS, timestamp_ms=1658385579423)
    assert not auth.verify(signed, Credentials(API_KEY, SECRET + "x"))
    assert not auth.verify(attrs.evolve(signed, body='{"category":"option"}'), CREDENTIALS)
    with pytest.raises(ValueError, match="already signed"):
        auth.sign(signed, CREDENTIALS)


# --- order requests ----------------------------------------------------------------------------


def test_post_only_order_request_is_the_documented_body(vectors: Path, btcusdt: Instrument) -> None:
    # 0.1 BTC at 15600.0
    order = _order(btcusdt, time_in_force=TimeInForce.POST_ONLY, size_raw=100_000,
                   price_raw=156_000, client_order_id="spot-test-01")  # fmt: skip
    request = order_request(order)
    vector = _load(vectors, "place_order_request_spot_postonly.json")
    assert request.body == json.dumps(vector, separators=(",", ":"))  # byte for byte, as signed
    assert (request.method, request.path, request.is_order) == ("POST", "/v5/order/create", True)
    assert request.header("Content-Type") == "application/json"


def test_fok_order_request_is_the_documented_body_with_timeinforce_fok(
    vectors: Path, btcusdt: Instrument
) -> None:
    order = _order(btcusdt, time_in_force=TimeInForce.FOK, size_raw=100_000, price_raw=156_000,
                   client_order_id="spot-test-01")  # fmt: skip
    vector = {**_load(vectors, "place_order_request_spot_postonly.json"), "timeInForce": "FOK"}
    assert order_request(order).body == json.dumps(vector, separators=(",", ":"))


def test_market_order_request_is_the_documented_body_sized_in_the_base_coin(
    vectors: Path, btcusdt: Instrument
) -> None:
    """The docs' market buy sends 200 USDT (a market buy defaults to the quote coin); arbcore
    sizes in the base coin, so it says so with marketUnit=baseCoin."""
    order = _order(btcusdt, type=OrderType.MARKET, size_raw=2_000, price_raw=None,
                   client_order_id="spot-test-04")  # fmt: skip
    sent = json.loads(order_request(order).body)
    vector = _load(vectors, "place_order_request_spot_market_quote.json")
    assert sent == {**vector, "qty": "0.002", "marketUnit": "baseCoin"}
    assert list(sent) == ["category", "symbol", "side", "orderType", "qty", "marketUnit",
                          "timeInForce", "orderLinkId", "isLeverage", "orderFilter"]  # fmt: skip


@pytest.mark.parametrize(("tif", "expected"), [(TimeInForce.GTC, "GTC"), (TimeInForce.IOC, "IOC")])
def test_limit_order_request_time_in_force(
    btcusdt: Instrument, tif: TimeInForce, expected: str
) -> None:
    order = _order(btcusdt, side=OrderSide.SELL, time_in_force=tif, size_raw=123_456,
                   price_raw=617_376)  # fmt: skip
    sent = json.loads(order_request(order).body)
    assert (sent["side"], sent["qty"], sent["price"], sent["timeInForce"]) == (
        "Sell", "0.123456", "61737.6", expected)  # fmt: skip
    assert "marketUnit" not in sent


@pytest.mark.parametrize("bad_id", ["x" * 37, "dot.ted", "", "semi;colon"])
def test_order_request_refuses_a_link_id_bybit_would_not_accept(
    btcusdt: Instrument, bad_id: str
) -> None:
    with pytest.raises(InvalidOrder, match="client order id"):
        order_request(_order(btcusdt, size_raw=100, price_raw=1, client_order_id=bad_id))


def test_a_market_post_only_order_is_refused(btcusdt: Instrument) -> None:
    order = _order(btcusdt, type=OrderType.MARKET, time_in_force=TimeInForce.POST_ONLY,
                   size_raw=100, price_raw=None)  # fmt: skip
    with pytest.raises(InvalidOrder, match="post-only"):
        order_request(order)


def test_the_next_page_cursor_is_sent_encoded_once() -> None:
    cursor = "page_args%3Dfd4300ae-7847-404e-b947-b46980a4d140%26symbol%3D6%26"  # as documented
    request = open_orders_request(None, cursor)
    assert request.query == f"category=spot&limit=50&cursor={cursor}"


# --- order replies -----------------------------------------------------------------------------


def test_placement_reply_vector_needs_the_request_and_reads_as_open(
    vectors: Path, btcusdt: Instrument
) -> None:
    result = result_of(_load(vectors, "place_order_response.json"))
    with pytest.raises(MalformedMessage, match="no state"):
        parse_order(result, btcusdt)
    request = _order(btcusdt, time_in_force=TimeInForce.POST_ONLY, size_raw=100_000,
                     price_raw=156_000, client_order_id="spot-test-postonly")  # fmt: skip
    order = parse_order(result, btcusdt, request=request)
    assert (order.status, order.venue_order_id, order.client_order_id) == (
        OrderStatus.OPEN, "1321003749386327552", "spot-test-postonly")  # fmt: skip
    assert (order.price_raw, order.size_raw, order.time_in_force) == (
        156_000, 100_000, TimeInForce.POST_ONLY)  # fmt: skip


#: open-order.mdx's response example (a linear ETHUSDT order; the fields are the spot ones).
REALTIME_ENTRY = {
    "orderId": "fd4300ae-7847-404e-b947-b46980a4d140", "orderLinkId": "test-000005",
    "blockTradeId": "", "symbol": "ETHUSDT", "price": "1600.00", "qty": "0.10", "side": "Buy",
    "isLeverage": "", "positionIdx": 1, "orderStatus": "New", "cancelType": "UNKNOWN",
    "rejectReason": "EC_NoError", "avgPrice": "0", "leavesQty": "0.10", "leavesValue": "160",
    "cumExecQty": "0.00", "cumExecValue": "0", "cumExecFee": "0", "timeInForce": "GTC",
    "orderType": "Limit", "stopOrderType": "UNKNOWN", "orderIv": "", "triggerPrice": "0.00",
    "takeProfit": "2500.00", "stopLoss": "1500.00", "tpTriggerBy": "LastPrice",
    "slTriggerBy": "LastPrice", "triggerDirection": 0, "triggerBy": "UNKNOWN",
    "lastPriceOnCreated": "", "reduceOnly": False, "closeOnTrigger": False, "smpType": "None",
    "smpGroup": 0, "smpOrderId": "", "tpslMode": "Full", "tpLimitPrice": "", "slLimitPrice": "",
    "placeType": "", "createdTime": "1684738540559", "updatedTime": "1684738540561",
}  # fmt: skip


def test_documented_realtime_entry_reads_exactly(ethusdt: Instrument) -> None:
    order = parse_order(REALTIME_ENTRY, ethusdt)
    assert (order.status, order.side, order.type, order.time_in_force) == (
        OrderStatus.OPEN, OrderSide.BUY, OrderType.LIMIT, TimeInForce.GTC)  # fmt: skip
    assert (order.price_raw, order.size_raw, order.filled_raw) == (160_000, 10_000, 0)
    assert (order.client_order_id, order.venue_order_id) == (
        "test-000005", "fd4300ae-7847-404e-b947-b46980a4d140")  # fmt: skip
    assert order.ts_created_ns == 1684738540559 * 1_000_000


def test_a_filled_market_order_and_a_partially_filled_cancel_read_exactly(
    ethusdt: Instrument,
) -> None:
    market = {**REALTIME_ENTRY, "orderType": "Market", "price": "", "timeInForce": "IOC",
              "marketUnit": "baseCoin", "orderStatus": "Filled", "cumExecQty": "0.10"}  # fmt: skip
    order = parse_order(market, ethusdt)
    assert (order.type, order.price_raw, order.filled_raw, order.status) == (
        OrderType.MARKET, 0, 10_000, OrderStatus.FILLED)  # fmt: skip
    partial = {**REALTIME_ENTRY, "orderStatus": "PartiallyFilledCanceled", "cumExecQty": "0.04"}
    order = parse_order(partial, ethusdt)
    assert (order.status, order.filled_raw) == (OrderStatus.CANCELED, 4_000)
    post_only = parse_order({**REALTIME_ENTRY, "timeInForce": "PostOnly"}, ethusdt)
    assert post_only.time_in_force is TimeInForce.POST_ONLY


def test_a_fok_cancelled_for_want_of_a_full_fill_reads_expired(ethusdt: Instrument) -> None:
    killed = parse_order({**REALTIME_ENTRY, "timeInForce": "FOK", "orderStatus": "Cancelled",
                          "rejectReason": "EC_CancelForNoFullFill"}, ethusdt)  # fmt: skip
    assert (killed.time_in_force, killed.status, killed.filled_raw) == (
        TimeInForce.FOK, OrderStatus.EXPIRED, 0)  # fmt: skip
    by_user = parse_order({**REALTIME_ENTRY, "timeInForce": "FOK", "orderStatus": "Cancelled"},
                          ethusdt)  # fmt: skip
    assert by_user.status is OrderStatus.CANCELED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"symbol": "BTCUSDT"}, "expected ETHUSDT"),
        ({"price": "1600.001"}, "price"),  # a non-zero digit beyond the 0.01 tick's decimals
        ({"qty": 0.1}, "qty"),  # a number, not decimal text
        ({"orderStatus": "Working"}, "unknown order status"),
        ({"orderType": "Stop"}, "unknown"),
        ({"orderType": "Market", "marketUnit": "quoteCoin"}, "quote coin"),
        ({"createdTime": "soon"}, "createdTime"),
    ],
)
def test_malformed_orders_are_refused(
    ethusdt: Instrument, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedMessage, match=message):
        parse_order({**REALTIME_ENTRY, **change}, ethusdt)


@pytest.mark.parametrize(
    ("venue_state", "expected"),
    [("New", OrderStatus.OPEN), ("PartiallyFilled", OrderStatus.PARTIALLY_FILLED),
     ("Untriggered", OrderStatus.OPEN), ("Triggered", OrderStatus.OPEN),
     ("Rejected", OrderStatus.REJECTED), ("PartiallyFilledCanceled", OrderStatus.CANCELED),
     ("Filled", OrderStatus.FILLED), ("Cancelled", OrderStatus.CANCELED),
     ("Deactivated", OrderStatus.CANCELED)],
)  # fmt: skip
def test_every_venue_state_maps_onto_arbcore_states(
    venue_state: str, expected: OrderStatus
) -> None:
    assert order_status(venue_state) is expected


def test_the_state_table_covers_every_documented_state() -> None:
    assert set(constants.ORDER_STATUS) == {"New", "PartiallyFilled", "Untriggered", "Rejected",
                                           "PartiallyFilledCanceled", "Filled", "Cancelled",
                                           "Triggered", "Deactivated"}  # fmt: skip


# --- errors ------------------------------------------------------------------------------------


def _envelope(code: int, msg: str, result: Any = None, time_ms: int = 1672738133824) -> Any:
    return {"retCode": code, "retMsg": msg, "result": {} if result is None else result,
            "retExtInfo": {}, "time": time_ms}  # fmt: skip


def _reply(status: int, body: Any = None, headers: dict[str, str] | None = None,
           request: httpx.Request | None = None) -> httpx.Response:  # fmt: skip
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers, request=request)


def test_common_envelope_vector_is_a_success(vectors: Path) -> None:
    assert check(_reply(200, _load(vectors, "common_response_envelope.json"))) is None
    assert check(_reply(200, _load(vectors, "place_order_response.json"))) is None


def test_a_per_uid_limit_waits_until_the_documented_reset_header(vectors: Path) -> None:
    headers = _load(vectors, "rate_limit_headers_example.json")  # reset 1672738134824
    error = check(_reply(200, _envelope(10006, "Too many visits!"), headers))
    assert isinstance(error, RateLimitExceeded)
    assert (error.http_status, error.venue_code, error.retry_after) == (200, 10006, 1.0)


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "code", "retry_after"),
    [
        (200, _envelope(10001, "params error"), None, InvalidOrder, 10001, None),
        (200, _envelope(10002, "invalid request, please check your server timestamp"), None,
         AuthenticationError, 10002, None),
        (200, _envelope(10003, "API key is invalid."), None, AuthenticationError, 10003, None),
        (200, _envelope(10004, "error sign!"), None, AuthenticationError, 10004, None),
        (200, _envelope(10005, "Permission denied"), None, AuthenticationError, 10005, None),
        (200, _envelope(10010, "Unmatched IP"), None, AuthenticationError, 10010, None),
        (200, _envelope(10006, "Too many visits!"), None, RateLimitExceeded, 10006, None),
        (200, _envelope(170005, "Too many new orders"), None, RateLimitExceeded, 170005, None),
        (200, _envelope(170131, "Insufficient balance."), None, InsufficientFunds, 170131, None),
        (200, _envelope(110007, "Available balance is insufficient"), None, InsufficientFunds,
         110007, None),
        (200, _envelope(170213, "Order does not exist."), None, OrderNotFound, 170213, None),
        (200, _envelope(110001, "Order does not exist"), None, OrderNotFound, 110001, None),
        (200, _envelope(170142, "Order has been canceled"), None, OrderNotFound, 170142, None),
        (200, _envelope(170136, "Order quantity lower than the minimum."), None, InvalidOrder,
         170136, None),
        (200, _envelope(170137, "Order volume decimal too long"), None, InvalidOrder, 170137,
         None),
        (200, _envelope(170140, "Transaction amount lower than the minimum."), None,
         InvalidOrder, 170140, None),
        (200, _envelope(170218, "The LIMIT-MAKER order is rejected due to invalid price."),
         None, InvalidOrder, 170218, None),
        (200, _envelope(10016, "Server error."), None, ExchangeNotAvailable, 10016, None),
        (200, _envelope(10000, "Server Timeout"), None, NetworkError, 10000, None),
        (200, _envelope(170146, "Order creation timeout"), None, NetworkError, 170146, None),
        (200, _envelope(99999, "Something new"), None, ExchangeError, 99999, None),
        (403, "<html>Forbidden</html>", None, RateLimitExceeded, None, 1800.0),
        (429, "", {"Retry-After": "2"}, RateLimitExceeded, None, 2.0),
        (401, "", None, AuthenticationError, None, None),
        (502, "<html>Bad Gateway</html>", None, ExchangeNotAvailable, None, None),
        (404, "", None, ExchangeError, None, None),
    ],
)  # fmt: skip
def test_check_maps_ret_codes_and_statuses_onto_the_error_tree(
    status: int,
    body: Any,
    headers: dict[str, str] | None,
    kind: type[ExchangeError],
    code: int | None,
    retry_after: float | None,
) -> None:
    error = check(_reply(status, body, headers))
    assert type(error) is kind
    assert (error.venue, error.http_status, error.venue_code) == ("bybit", status, code)
    if isinstance(error, RateLimitExceeded):
        assert error.retry_after == retry_after


def test_duplicate_link_ids_are_recognised() -> None:
    for code in (170141, 110072):
        error = check(_reply(200, _envelope(code, "Duplicate clientOrderId")))
        assert isinstance(error, InvalidOrder)
        assert is_duplicate(error)
    other = check(_reply(200, _envelope(170136, "Order quantity lower than the minimum.")))
    assert other is not None
    assert not is_duplicate(other)


def test_error_text_never_carries_the_key_or_signature() -> None:
    signed = auth.sign(DOC_GET, CREDENTIALS, timestamp_ms=1658384314791)
    signature = signed.header("X-BAPI-SIGN")
    assert signature is not None
    request = httpx.Request("GET", f"https://api.bybit.com{signed.target}",
                            headers=list(signed.headers))  # fmt: skip
    echo = f"error sign! origin_string[{API_KEY}] sign[{signature}]"
    text = str(check(_reply(200, _envelope(10004, echo), request=request)))
    assert "GET /v5/order/realtime" in text
    assert signature not in text
    assert API_KEY not in text
    assert "category=option" not in text


# --- balances, fees, time ----------------------------------------------------------------------

WALLET_RESULT = {
    "list": [{
        "accountType": "UNIFIED", "totalEquity": "18070.32797922",
        "coin": [
            {"coin": "BTC", "equity": "0.805994", "walletBalance": "0.805994", "locked": "0.1",
             "borrowAmount": "0", "usdValue": "12920.95352538"},
            {"coin": "USDT", "equity": "100", "walletBalance": "100", "locked": "",
             "borrowAmount": "0", "usdValue": "100"},
        ],
    }],
}  # fmt: skip
FEE_RESULT = {"list": [{"symbol": "BTCUSDT", "takerFeeRate": "0.001", "makerFeeRate": "0.0008"}]}


def test_wallet_balance_reads_free_and_locked() -> None:
    balances = parse_balances(WALLET_RESULT)
    assert [(b.asset, b.free, b.locked) for b in balances] == [
        ("BTC", 0.705994, 0.1), ("USDT", 100.0, 0.0)]  # fmt: skip


def test_fee_rate_reads_maker_and_taker(btcusdt: Instrument, ethusdt: Instrument) -> None:
    assert parse_fees(FEE_RESULT, btcusdt) == (0.0008, 0.001)
    with pytest.raises(MalformedMessage, match="no fee rate for ETHUSDT"):
        parse_fees(FEE_RESULT, ethusdt)


def test_documented_server_time_reads_in_ms() -> None:
    payload = _envelope(0, "OK", {"timeSecond": "1688639403", "timeNano": "1688639403423213947"},
                        1688639403423)  # fmt: skip
    assert parse_server_time(payload) == 1688639403423


# --- the client end to end ---------------------------------------------------------------------


class FakeBybit(FakeVenue):
    """Answers like Bybit's v5 REST API, from the documented shapes, and checks as Bybit does:
    every signed request must verify and carry a timestamp inside its receive window."""

    def __init__(self, clock: FakeClock, instruments: Any, skew_ms: int = 0) -> None:
        super().__init__()
        self.clock = clock
        self.skew_ms = skew_ms
        self.instruments = instruments
        self.orders: dict[str, dict[str, Any]] = {}
        self.archived: set[str] = set()  # only in order history
        self.fill_on_place = False
        self.next_id = 1321003749386327552

    def server_ms(self) -> int:
        return int(self.clock.now * 1000) + self.skew_ms

    def ok(self, result: Any) -> httpx.Response:
        return httpx.Response(200, json=_envelope(0, "OK", result, self.server_ms()))

    def fail(self, code: int, msg: str) -> httpx.Response:
        return httpx.Response(200, json=_envelope(code, msg, None, self.server_ms()))

    def answer(self, received: HttpRequest) -> httpx.Response:
        if received.path == constants.TIME_PATH:
            now = self.server_ms()
            return self.ok({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)})
        if received.path == constants.INSTRUMENTS_PATH:
            return httpx.Response(200, json=self.instruments)
        assert received.header("X-BAPI-API-KEY") == API_KEY
        assert auth.verify(received, CREDENTIALS), "signature does not verify"
        stamp = int(received.header("X-BAPI-TIMESTAMP") or 0)
        window = int(received.header("X-BAPI-RECV-WINDOW") or 5000)
        if not self.server_ms() - window <= stamp < self.server_ms() + 1000:
            return self.fail(10002, "invalid request, please check your server timestamp")
        if received.method == "POST":
            assert received.header("Content-Type") == "application/json"
            fields = json.loads(received.body)
        else:
            fields = dict(received.params)
        route = getattr(self, "_" + received.path.removeprefix("/v5/").replace("/", "_")
                        .replace("-", "_"))  # fmt: skip
        reply: httpx.Response = route(fields)
        return reply

    def creates(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.seen if r.path == constants.ORDER_CREATE_PATH]

    def _order_create(self, fields: dict[str, Any]) -> httpx.Response:
        link = fields["orderLinkId"]
        if link in self.orders:
            return self.fail(170141, "Duplicate clientOrderId")
        self.next_id += 1
        filled = self.fill_on_place or fields["orderType"] == "Market"
        self.orders[link] = {
            "orderId": str(self.next_id), "orderLinkId": link, "symbol": fields["symbol"],
            "price": fields.get("price", ""), "qty": fields["qty"], "side": fields["side"],
            "isLeverage": "0", "orderStatus": "Filled" if filled else "New",
            "cumExecQty": fields["qty"] if filled else "0", "timeInForce": fields["timeInForce"],
            "orderType": fields["orderType"], "marketUnit": fields.get("marketUnit", ""),
            "createdTime": str(self.server_ms()), "updatedTime": str(self.server_ms()),
        }  # fmt: skip
        return self.ok({"orderId": str(self.next_id), "orderLinkId": link})

    def _order_cancel(self, fields: dict[str, Any]) -> httpx.Response:
        order = self.orders.get(fields["orderLinkId"])
        if order is None or order["orderStatus"] not in ("New", "PartiallyFilled"):
            return self.fail(170213, "Order does not exist.")
        order["orderStatus"] = "Cancelled"
        return self.ok({"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]})

    def _order_realtime(self, fields: dict[str, Any]) -> httpx.Response:
        assert fields["category"] == "spot"
        if "orderLinkId" in fields:
            link = fields["orderLinkId"]
            found = [self.orders[link]] if link in self.orders and link not in self.archived else []
            return self.ok({"list": found, "nextPageCursor": "", "category": "spot"})
        live = [o for o in self.orders.values() if o["orderStatus"] in ("New", "PartiallyFilled")]
        if "symbol" in fields:
            live = [o for o in live if o["symbol"] == fields["symbol"]]
        start = int(fields.get("cursor", "page_args=0&").split("=")[1].rstrip("&"))
        limit = int(fields["limit"])
        page = live[start : start + limit]
        more = start + limit < len(live)
        cursor = quote(f"page_args={start + limit}&", safe="") if more else ""
        return self.ok({"list": page, "nextPageCursor": cursor, "category": "spot"})

    def _order_history(self, fields: dict[str, Any]) -> httpx.Response:
        link = fields["orderLinkId"]
        found = [self.orders[link]] if link in self.orders else []
        return self.ok({"list": found, "nextPageCursor": "", "category": "spot"})

    def _account_wallet_balance(self, fields: dict[str, Any]) -> httpx.Response:
        assert fields == {"accountType": "UNIFIED"}
        return self.ok(WALLET_RESULT)

    def _account_fee_rate(self, fields: dict[str, Any]) -> httpx.Response:
        assert fields == {"category": "spot", "symbol": "BTCUSDT"}
        return self.ok(FEE_RESULT)


def _client(fake: FakeBybit, instruments: list[Instrument]) -> BybitExecution:
    clock = fake.clock
    http = HttpClient("bybit", "https://api.bybit.com", check=check,
                      limiter=RateLimiter(constants.RATE_LIMITS, clock=clock, sleep=clock.sleep),
                      transport=httpx.MockTransport(fake), sleep=clock.sleep)  # fmt: skip
    return BybitExecution(CREDENTIALS, instruments, http=http, clock=clock)


@pytest.fixture
def fake(instruments_payload: Any) -> FakeBybit:
    return FakeBybit(FakeClock(seconds=True), instruments_payload)


def _btc_order(btcusdt: Instrument, client_order_id: str) -> OrderRequest:
    """0.001 BTC at 60000.0."""
    return prepare_order(btcusdt, OrderSide.BUY, 1_000, price_raw=600_000,
                         client_order_id=client_order_id)  # fmt: skip


def test_place_order_sends_a_signed_json_order_and_reads_the_acknowledgement(
    fake: FakeBybit, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])
    placed = asyncio.run(client.place_order(_btc_order(btcusdt, "arbPlace1")))
    (sent,) = fake.seen
    assert (sent.method, sent.path) == ("POST", "/v5/order/create")
    assert sent.header("X-BAPI-API-KEY") == API_KEY
    assert sent.header("X-BAPI-TIMESTAMP") == str(fake.server_ms())
    assert sent.header("X-BAPI-RECV-WINDOW") == "5000"
    assert auth.verify(sent, CREDENTIALS)
    assert json.loads(sent.body) == {
        "category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
        "qty": "0.001", "price": "60000", "timeInForce": "GTC", "orderLinkId": "arbPlace1",
        "isLeverage": 0, "orderFilter": "Order"}  # fmt: skip
    assert (placed.status, placed.client_order_id, placed.venue_order_id) == (
        OrderStatus.OPEN, "arbPlace1", fake.orders["arbPlace1"]["orderId"])  # fmt: skip


def test_cancel_reads_the_order_back_and_finished_orders_come_back_final(
    fake: FakeBybit, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])

    async def scenario() -> None:
        await client.place_order(_btc_order(btcusdt, "arbCancel1"))
        canceled = await client.cancel_order(btcusdt, "arbCancel1")
        assert (canceled.status, canceled.client_order_id) == (OrderStatus.CANCELED, "arbCancel1")
        fake.fill_on_place = True
        await client.place_order(_btc_order(btcusdt, "arbFilled1"))
        final = await client.cancel_order(btcusdt, "arbFilled1")  # 170213, then looked up
        assert (final.status, final.filled_raw) == (OrderStatus.FILLED, 1_000)
        with pytest.raises(OrderNotFound):
            await client.cancel_order(btcusdt, "arbNever")

    asyncio.run(scenario())
    assert all(auth.verify(r, CREDENTIALS) for r in fake.seen)
    cancels = [json.loads(r.body) for r in fake.seen if r.path == constants.ORDER_CANCEL_PATH]
    assert cancels[0] == {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "arbCancel1"}


def test_fetch_order_falls_back_to_order_history(fake: FakeBybit, btcusdt: Instrument) -> None:
    client = _client(fake, [btcusdt])
    fake.fill_on_place = True
    asyncio.run(client.place_order(_btc_order(btcusdt, "arbOld1")))
    fake.archived.add("arbOld1")
    order = asyncio.run(client.fetch_order(btcusdt, "arbOld1"))
    assert order.status is OrderStatus.FILLED
    assert [r.path for r in fake.seen[-2:]] == ["/v5/order/realtime", "/v5/order/history"]
    assert dict(fake.seen[-1].params) == {"category": "spot", "symbol": "BTCUSDT",
                                          "orderLinkId": "arbOld1"}  # fmt: skip


def test_open_orders_follow_the_cursor_and_skip_unknown_symbols(
    fake: FakeBybit, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])

    async def place_many() -> None:
        for index in range(60):
            await client.place_order(_btc_order(btcusdt, f"arbMany{index}"))

    asyncio.run(place_many())
    fake.orders["foreign"] = {**fake.orders["arbMany0"], "symbol": "XYZUSDT",
                              "orderLinkId": "foreign"}  # fmt: skip
    orders = asyncio.run(client.fetch_open_orders())
    assert [o.client_order_id for o in orders] == [f"arbMany{i}" for i in range(60)]
    pages = [r for r in fake.seen if r.path == "/v5/order/realtime"]
    assert [dict(r.params).get("cursor") for r in pages] == [None, "page_args=50&"]
    assert pages[1].query.endswith("cursor=page_args%3D50%26")  # encoded once, as received
    assert all(auth.verify(r, CREDENTIALS) for r in pages)


def test_a_duplicate_link_id_resolves_to_the_existing_order(
    fake: FakeBybit, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])

    async def scenario() -> None:
        first = await client.place_order(_btc_order(btcusdt, "arbDup1"))
        again = await client.place_order(_btc_order(btcusdt, "arbDup1"))  # 170141
        assert again.venue_order_id == first.venue_order_id

    asyncio.run(scenario())
    assert len(fake.orders) == 1


def test_a_rejected_timestamp_resyncs_the_clock_and_resends(
    instruments_payload: Any, btcusdt: Instrument
) -> None:
    fake = FakeBybit(
        FakeClock(seconds=True), instruments_payload, skew_ms=-20_000
    )  # host 20 s ahead
    client = _client(fake, [btcusdt])
    balances = asyncio.run(client.fetch_balances())
    assert [b.asset for b in balances] == ["BTC", "USDT"]
    assert [r.path for r in fake.seen] == [
        "/v5/account/wallet-balance", "/v5/market/time", "/v5/account/wallet-balance"]  # fmt: skip
    assert client.clock.offset_ms == -20_000
    assert fake.seen[-1].header("X-BAPI-TIMESTAMP") == str(fake.server_ms())


def test_a_per_uid_limit_waits_for_the_reset_then_succeeds(
    fake: FakeBybit, btcusdt: Instrument
) -> None:
    client = _client(fake, [btcusdt])

    def throttled(request: HttpRequest) -> httpx.Response:
        reset = str(fake.server_ms() + 1500)
        body = _envelope(10006, "Too many visits!", None, fake.server_ms())
        return httpx.Response(200, json=body, headers={"X-Bapi-Limit-Reset-Timestamp": reset})

    fake.hook("GET /v5/account/fee-rate", throttled)
    started = fake.clock.now
    assert asyncio.run(client.fetch_fees(btcusdt)) == (0.0008, 0.001)
    assert fake.clock.now - started == pytest.approx(1.5)
    assert len(fake.seen) == 2


def test_fetch_instruments_is_public_and_refreshes_the_symbol_map(
    fake: FakeBybit, btcusdt: Instrument
) -> None:
    client = _client(fake, [])
    assert asyncio.run(client.fetch_instruments()) == [btcusdt]
    assert client.symbols.get("BTCUSDT") == btcusdt
    (sent,) = fake.seen
    assert (sent.path, sent.params, sent.header("X-BAPI-SIGN")) == (
        "/v5/market/instruments-info", (("category", "spot"),), None)  # fmt: skip


def test_the_client_built_from_a_base_url_has_the_documented_budgets(btcusdt: Instrument) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    client = BybitExecution(CREDENTIALS, [btcusdt], base_url="https://api.bybit.com",
                            transport=transport)  # fmt: skip
    assert client.http.limiter is not None
    assert [b.spec for b in client.http.limiter.budgets] == list(constants.RATE_LIMITS)
    assert client.http.check is check
    asyncio.run(client.aclose())


@functools.cache
def _contract_payload() -> Any:
    data = shared_data_dir()
    if data is None:
        pytest.skip("the documentation vectors (../shared/data) are not beside this checkout")
    return _load(data / "vectors" / "bybit", "instruments_info_spot_response.json")


def _contract_btc() -> Instrument:
    return parse_instruments(_contract_payload()).by_symbol()["BTC/USDT"]


def _contract_build(attempts: int) -> tuple[FakeVenue, VenueTrading]:
    fake = FakeBybit(FakeClock(seconds=True), _contract_payload())
    client = _client(fake, [_contract_btc()])
    client.http.retry = RetryPolicy(attempts=attempts)
    return fake, client


def _land(fake: FakeVenue, request: HttpRequest) -> object:
    bybit = cast(FakeBybit, fake)
    bybit.fill_on_place = True
    return bybit._order_create(json.loads(request.body))


#: How Bybit runs the shared trading scenarios (tests/exchanges/test_trading_contract.py).
CASE = TradingCase(
    venue="bybit",
    build=_contract_build,
    order=lambda cid, tif: prepare_order(
        _contract_btc(),
        OrderSide.BUY,
        1_000,
        price_raw=600_000,
        time_in_force=tif,
        client_order_id=cid,
    ),
    place_key="POST /v5/order/create",
    sent_id=lambda request: json.loads(request.body)["orderLinkId"],
    verify=lambda request: auth.verify(request, CREDENTIALS),
    signature=lambda request: request.header("X-BAPI-SIGN"),
    land=_land,
    booked=lambda fake: len(cast(FakeBybit, fake).orders),
    resend_paths=(
        "/v5/order/create",
        "/v5/order/realtime",
        "/v5/order/history",
        "/v5/order/create",
    ),
    landed_paths=("/v5/order/create", "/v5/order/realtime"),
    landed_status=OrderStatus.FILLED,
    lost_match="was not placed",
    refuse=lambda fake: fake.hook(
        "GET /v5/account/wallet-balance",
        lambda request: cast(FakeBybit, fake).fail(10003, "API key is invalid."),
    ),
    secrets=(SECRET, API_KEY),
)


# --- rounding and minimums on the documented instrument ----------------------------------------


def test_documented_instrument_rules_round_and_refuse(btcusdt: Instrument) -> None:
    """Tick 0.1, step 0.000001, minOrderQty 0.000011, minOrderAmt 5 (at the tick's decimals)."""
    assert (btcusdt.price_decimals, btcusdt.size_decimals, btcusdt.tick_size, btcusdt.lot_size,
            btcusdt.min_qty, btcusdt.min_notional) == (1, 6, 1, 1, 11, 50)  # fmt: skip
    with pytest.raises(InvalidOrder, match=r"below the minimum 0\.000011"):
        prepare_order(btcusdt, OrderSide.BUY, 10, price_raw=156_000)
    with pytest.raises(InvalidOrder, match=r"notional 1\.5 is below the minimum 5\.0"):
        prepare_order(btcusdt, OrderSide.BUY, 100, price_raw=156_000)  # 0.0001 BTC at 15600
    order = prepare_order(btcusdt, OrderSide.SELL, 123_456, price_raw=617_376)
    sent = json.loads(order_request(order).body)
    assert (sent["qty"], sent["price"], sent["side"]) == ("0.123456", "61737.6", "Sell")
    order = prepare_order(btcusdt, OrderSide.BUY, 321, price_raw=156_000)  # 5.0076 USDT
    assert json.loads(order_request(order).body)["qty"] == "0.000321"


def test_prepare_order_rounds_on_a_coarser_derived_grid(instruments_payload: Any) -> None:
    """The documented instrument with a 0.5 tick and a 0.001 step: a price between ticks
    rounds passively (buys down, sells up) and is sent as the shortest exact text."""
    payload = json.loads(json.dumps(instruments_payload))
    entry = payload["result"]["list"][0]
    entry["priceFilter"]["tickSize"] = "0.5"
    entry["lotSizeFilter"].update(basePrecision="0.001", minOrderQty="0.001", minOrderAmt="5")
    instrument = parse_instruments(payload).by_symbol()["BTC/USDT"]
    buy = prepare_order(instrument, OrderSide.BUY, 12_345, price_raw=617_377)  # 12.345 @ 61737.7
    sell = prepare_order(instrument, OrderSide.SELL, 12_345, price_raw=617_377)
    assert (json.loads(order_request(buy).body)["price"],
            json.loads(order_request(sell).body)["price"]) == ("61737.5", "61738")  # fmt: skip
    assert json.loads(order_request(buy).body)["qty"] == "12.345"
