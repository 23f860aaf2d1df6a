"""OKX REST trading: signing on the vectors, orders and errors on the documented shapes, the
async calls against a fake venue that verifies every signature, and real-instrument rounding.

Documentation examples not in ``shared/data/vectors/okx`` are copied (trimmed to the fields
read) from https://www.okx.com/docs-v5/en/ sections named beside each one.
"""

from __future__ import annotations

import calendar
import copy
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl

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
    is_retryable,
)
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.okx import auth, constants
from arbcore.exchanges.okx.execution import (
    OKXExecution,
    cancel_request,
    check,
    order_from_entry,
    order_lookup_request,
    order_request,
    parse_ack,
    parse_balances,
    parse_fees,
    parse_order,
    parse_server_time,
)
from arbcore.exchanges.okx.providers import parse_instruments
from arbcore.exchanges.rest import ServerClock
from arbcore.exchanges.trading import OrderRequest, VenueTrading, prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.net.ratelimit import RateLimiter
from arbcore.testing.instruments import load_rest_body
from arbcore.testing.recordings import shared_data_dir
from arbcore.testing.trading_kit import FakeVenue, TradingCase, json_reply, no_sleep, run, timeout

_SHARED = shared_data_dir()
VECTORS = (_SHARED or Path("absent")) / "vectors" / "okx"

API_KEY = "okx-key-5c2db935-aa67-4c74"
SECRET = "22582BD0CFF14C41EDBF1AB98506286D"  # the docs' example secret
PASSPHRASE = "pass-Phrase-never-shown"
CREDENTIALS = Credentials(API_KEY, SECRET, PASSPHRASE)


def _vector(name: str) -> Any:
    path = VECTORS / name
    if not path.exists():
        pytest.skip(f"documentation vector {path} is not beside this checkout")
    return json.loads(path.read_text())


def _btc() -> Instrument:
    """BTC-USDT from the docs' instrument example (tick 0.1, lot 0.00000001, minSz 0.00001)."""
    example = {k: v for k, v in _vector("instrument_spot_example.json").items() if k != "note"}
    (instrument,) = parse_instruments({"code": "0", "data": [example]}).instruments
    return instrument


def _ms(iso: str) -> int:
    """``2020-12-08T09:08:57.715Z`` as epoch milliseconds (no float)."""
    seconds, millis = iso.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(seconds, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(millis)


def _request_of(method: str, request_path: str, body: str) -> HttpRequest:
    path, _, query = request_path.partition("?")
    return HttpRequest(method=method, path=path, params=parse_qsl(query), body=body)


def _order(
    instrument: Instrument,
    *,
    side: OrderSide = OrderSide.BUY,
    type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.GTC,
    size: int = 200_000_000,
    price: int | None = 215,
    client_order_id: str = "b15",
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


def _rest_vectors() -> list[dict[str, str]]:
    return [v for v in _vector("signature_selfcomputed.json")["vectors"] if "T" in v["timestamp"]]


def test_every_rest_signature_vector_reproduces_through_sign() -> None:
    vectors = _rest_vectors()
    assert len(vectors) == 2
    for vector in vectors:
        credentials = Credentials("key", vector["secret"], PASSPHRASE)
        request = _request_of(vector["method"], vector["requestPath"], vector["body"])
        signed = auth.sign(request, credentials, timestamp_ms=_ms(vector["timestamp"]))
        assert signed.target == vector["requestPath"]
        assert auth.prehash(vector["timestamp"], signed) == vector["prehash"]
        assert signed.header("OK-ACCESS-SIGN") == vector["signature_base64"]
        assert signed.header("OK-ACCESS-TIMESTAMP") == vector["timestamp"]
        assert signed.header("OK-ACCESS-KEY") == "key"
        assert signed.header("OK-ACCESS-PASSPHRASE") == PASSPHRASE  # OKX sends it in plain text
        assert (signed.method, signed.path, signed.body) == (
            request.method,
            request.path,
            request.body,
        )


def test_the_websocket_login_vector_reproduces_through_the_same_hmac() -> None:
    (vector,) = [
        v for v in _vector("signature_selfcomputed.json")["vectors"] if "T" not in v["timestamp"]
    ]
    args = auth.login_args(
        Credentials("key", vector["secret"], PASSPHRASE), int(vector["timestamp"])
    )
    assert args == {
        "apiKey": "key",
        "passphrase": PASSPHRASE,
        "timestamp": vector["timestamp"],
        "sign": vector["signature_base64"],
    }


def test_iso_timestamp_has_milliseconds_in_utc() -> None:
    assert auth.iso_timestamp(1607418537715) == "2020-12-08T09:08:57.715Z"
    assert auth.iso_timestamp(1607418537005) == "2020-12-08T09:08:57.005Z"


def test_verify_accepts_the_signed_request_and_rejects_any_tampering() -> None:
    (vector, _) = _rest_vectors()
    request = _request_of(vector["method"], vector["requestPath"], vector["body"])
    signed = auth.sign(request, CREDENTIALS, timestamp_ms=_ms(vector["timestamp"]))
    assert auth.verify(signed, CREDENTIALS)

    def replace(name: str, value: str) -> HttpRequest:
        headers = [(k, value if k == name else v) for k, v in signed.headers]
        return HttpRequest(
            method=signed.method,
            path=signed.path,
            params=signed.params,
            body=signed.body,
            headers=headers,
        )

    tampered = [
        HttpRequest(
            method="GET", path=signed.path, params=[("ccy", "ETH")], headers=signed.headers
        ),
        HttpRequest(method="POST", path=signed.path, params=signed.params, headers=signed.headers),
        HttpRequest(
            method="GET", path="/api/v5/account/bills", params=signed.params, headers=signed.headers
        ),
        replace("OK-ACCESS-TIMESTAMP", "2020-12-08T09:08:58.715Z"),
        replace("OK-ACCESS-SIGN", signed.header("OK-ACCESS-SIGN")[:-2] + "A="),  # type: ignore[index]
        replace("OK-ACCESS-KEY", "another-key"),
        replace("OK-ACCESS-PASSPHRASE", "guessed"),
        HttpRequest(method=signed.method, path=signed.path, params=signed.params),
    ]
    assert [auth.verify(r, CREDENTIALS) for r in tampered] == [False] * len(tampered)
    assert not auth.verify(signed, Credentials(API_KEY, SECRET + "0", PASSPHRASE))
    (_, post) = _rest_vectors()
    body = _request_of("POST", post["requestPath"], post["body"])
    signed_post = auth.sign(body, CREDENTIALS, timestamp_ms=1)
    changed = HttpRequest(
        method="POST",
        path=body.path,
        body=body.body.replace("5", "50"),
        headers=signed_post.headers,
    )
    assert auth.verify(signed_post, CREDENTIALS)
    assert not auth.verify(changed, CREDENTIALS)


def test_signing_again_replaces_the_auth_headers() -> None:
    request = HttpRequest(method="GET", path="/api/v5/account/balance", headers=[("X-A", "1")])
    twice = auth.sign(auth.sign(request, CREDENTIALS, timestamp_ms=1), CREDENTIALS, timestamp_ms=2)
    assert [k for k, _ in twice.headers] == ["X-A", *auth.AUTH_HEADERS]
    assert auth.verify(twice, CREDENTIALS)


def test_keys_without_a_passphrase_are_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="OKX_PASSPHRASE") as caught:
        auth.sign(HttpRequest(method="GET", path="/"), Credentials(API_KEY, SECRET))
    assert SECRET not in str(caught.value)
    with pytest.raises(ConfigError):
        OKXExecution(Credentials(API_KEY, SECRET), [_btc()], base_url="https://okx.test")


# --- orders --------------------------------------------------------------------------------------


def test_limit_order_request_is_the_documented_spot_example() -> None:
    vector = _vector("place_order_request_spot.json")
    cent = Instrument.from_text(
        venue="okx",
        native_symbol="BTC-USDT",
        base="BTC",
        quote="USDT",
        tick_size="0.01",
        lot_size="0.00000001",
    )
    request = order_request(_order(cent))  # 2 BTC at 2.15, client id b15
    assert (request.method, request.path, request.params) == ("POST", "/api/v5/trade/order", ())
    assert request.body == json.dumps(vector, separators=(",", ":"))  # same keys, same order
    assert request.header("content-type") == "application/json"
    assert request.is_order
    fok = order_request(_order(cent, tif=TimeInForce.FOK))  # the same order as fill-or-kill
    assert fok.body == json.dumps({**vector, "ordType": "fok"}, separators=(",", ":"))


@pytest.mark.parametrize(
    ("tif", "ord_type"),
    [(TimeInForce.GTC, "limit"), (TimeInForce.IOC, "ioc"), (TimeInForce.POST_ONLY, "post_only"),
     (TimeInForce.FOK, "fok")],
)  # fmt: skip
def test_limit_time_in_force_is_the_ord_type(tif: TimeInForce, ord_type: str) -> None:
    body = json.loads(order_request(_order(_btc(), tif=tif, price=300001, size=1000)).body)
    assert body == {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "clOrdId": "b15",
        "side": "buy",
        "ordType": ord_type,
        "px": "30000.1",
        "sz": "0.00001",
    }


def test_market_order_counts_base_and_is_not_shrunk() -> None:
    request = order_request(
        _order(
            _btc(),
            side=OrderSide.SELL,
            type=OrderType.MARKET,
            size=123_456_789,
            client_order_id="m1",
        )
    )
    assert request.body == (
        '{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"m1","side":"sell","ordType":"market",'
        '"sz":"1.23456789","tgtCcy":"base_ccy","banAmend":true}'
    )


def test_order_requests_refuse_what_okx_would_refuse() -> None:
    with pytest.raises(InvalidOrder, match="letters and digits"):
        order_request(_order(_btc(), client_order_id="arb-1"))
    with pytest.raises(InvalidOrder, match="longer than 32"):
        order_request(_order(_btc(), client_order_id="a" * 33))
    other = Instrument.from_text(
        venue="kucoin",
        native_symbol="BTC-USDT",
        base="BTC",
        quote="USDT",
        tick_size="0.1",
        lot_size="0.00000001",
    )
    with pytest.raises(InvalidOrder, match="kucoin instrument"):
        order_request(_order(other))
    lookup = order_lookup_request(_btc(), "b15")
    assert lookup.target == "/api/v5/trade/order?instId=BTC-USDT&clOrdId=b15"
    assert cancel_request(_btc(), "b15").body == '{"instId":"BTC-USDT","clOrdId":"b15"}'


def test_placement_reply_vector_is_the_accepted_order() -> None:
    reply = _vector("place_order_response.json")
    order = _order(_btc(), price=300001, size=1000, client_order_id="oktswap6")
    placed = parse_ack(reply, order)
    assert placed.status is OrderStatus.OPEN
    assert (placed.venue_order_id, placed.client_order_id) == ("312269865356374016", "oktswap6")
    assert (placed.price_raw, placed.size_raw, placed.filled_raw) == (300001, 1000, 0)
    assert placed.ts_created_ns == 1695190491421 * 1_000_000
    with pytest.raises(MalformedMessage, match="oktswap6"):
        parse_ack(reply, _order(_btc(), client_order_id="other"))


#: GET /api/v5/trade/order response example (#order-book-trading-trade-get-order-details):
#: a market buy of 100 USDT (tgtCcy quote_ccy), filled.
ORDER_DETAILS: dict[str, Any] = {
    "code": "0",
    "msg": "",
    "data": [
        {
            "accFillSz": "0.00192834",
            "avgPx": "51858",
            "cTime": "1708587373361",
            "clOrdId": "",
            "fee": "-0.00000192834",
            "feeCcy": "BTC",
            "fillPx": "51858",
            "fillSz": "0.00192834",
            "instId": "BTC-USDT",
            "instType": "SPOT",
            "ordId": "680800019749904384",
            "ordType": "market",
            "px": "",
            "side": "buy",
            "state": "filled",
            "sz": "100",
            "tdMode": "cash",
            "tgtCcy": "quote_ccy",
            "uTime": "1708587373362",
        }
    ],
}


def test_order_details_example_parses_exactly() -> None:
    order = parse_order(ORDER_DETAILS, _btc())
    assert order.status is OrderStatus.FILLED
    assert (order.type, order.side, order.symbol) == (OrderType.MARKET, OrderSide.BUY, "BTC/USDT")
    assert (order.price_raw, order.filled_raw) == (0, 192834)
    assert order.size_raw == 192834  # counted in USDT: the base size is what filled
    assert order.venue_order_id == "680800019749904384"
    assert order.ts_created_ns == 1708587373361 * 1_000_000


def _entry(**changes: str) -> dict[str, Any]:
    entry: dict[str, Any] = copy.deepcopy(ORDER_DETAILS["data"][0])
    entry.update(
        {"ordType": "limit", "px": "51858.1", "sz": "0.01", "tgtCcy": "", "clOrdId": "b15"}
    )
    entry.update(changes)
    return entry


#: Every ``state`` of #order-book-trading-trade-get-order-details and what it means here.
DOCUMENTED_STATES = [
    ("live", OrderStatus.OPEN),  # on the book, no fills yet
    ("partially_filled", OrderStatus.PARTIALLY_FILLED),  # still on the book
    ("filled", OrderStatus.FILLED),
    ("canceled", OrderStatus.CANCELED),  # an IOC's remainder too (accFillSz may be non-zero)
    ("mmp_canceled", OrderStatus.CANCELED),  # canceled by market maker protection
]


@pytest.mark.parametrize(("state", "status"), DOCUMENTED_STATES)
def test_every_okx_state_maps(state: str, status: OrderStatus) -> None:
    order = order_from_entry(_entry(state=state), _btc())
    assert order.status is status
    assert (order.price_raw, order.size_raw, order.filled_raw) == (518581, 1_000_000, 192834)


def test_the_documented_states_and_types_are_all_mapped() -> None:
    assert set(constants.ORDER_STATES) == {state for state, _ in DOCUMENTED_STATES}
    kinds = {
        k: order_from_entry(_entry(ordType=k), _btc()).time_in_force
        for k in ("limit", "ioc", "post_only", "fok")
    }
    assert kinds == {
        "limit": TimeInForce.GTC,
        "ioc": TimeInForce.IOC,
        "post_only": TimeInForce.POST_ONLY,
        "fok": TimeInForce.FOK,
    }


def test_an_unfilled_fok_reads_back_expired_by_its_cancel_source() -> None:
    """cancelSource 13, "FOK order was canceled due to incompletely filled": EXPIRED; a FOK
    cancelled otherwise (a stuck one, by the account) stays CANCELED."""
    killed = order_from_entry(_entry(ordType="fok", state="canceled", cancelSource="13",
                                     accFillSz="0"), _btc())  # fmt: skip
    assert (killed.time_in_force, killed.status, killed.filled_raw) == (
        TimeInForce.FOK, OrderStatus.EXPIRED, 0)  # fmt: skip
    cancelled = order_from_entry(_entry(ordType="fok", state="canceled", cancelSource="1"),
                                 _btc())  # fmt: skip
    assert cancelled.status is OrderStatus.CANCELED


@pytest.mark.parametrize(
    "changes",
    [
        {"state": "rejected"},
        {"ordType": "elp"},
        {"px": "51858.15"},
        {"sz": "0.000000001"},
        {"side": "short"},
        {"instId": "ETH-USDT"},
        {"accFillSz": "1e"},
        {"ordId": ""},
    ],
)
def test_orders_venue_cannot_mean_are_malformed(changes: dict[str, str]) -> None:
    with pytest.raises(MalformedMessage):
        order_from_entry(_entry(**changes), _btc())


# --- errors --------------------------------------------------------------------------------------


def test_the_failed_order_vector_is_an_error_with_its_scode() -> None:
    error = check(json_reply(200, _vector("ws_place_order_failure_response.json")))
    assert type(error) is ExchangeError  # "5XXXX" is the docs' placeholder: no known class
    assert (error.venue, error.http_status, error.venue_code) == ("okx", 200, "5XXXX")
    assert "not exist" in str(error)


#: (code, HTTP status, message) rows of #error-code-rest-api and the class each must become.
DOCUMENTED_ERRORS = [
    ("50011", 429, "Too Many Requests", RateLimitExceeded),
    (
        "50011",
        200,
        "Rate limit reached. Please refer to API documentation and throttle requests accordingly.",
        RateLimitExceeded,
    ),
    ("50013", 429, "Systems are busy. Please try again later.", RateLimitExceeded),
    (
        "50061",
        200,
        "You've reached the maximum order rate limit for this account.",
        RateLimitExceeded,
    ),
    ("50102", 401, "Timestamp request expired.", AuthenticationError),
    ("50105", 401, 'Request header "OK-ACCESS-PASSPHRASE" incorrect.', AuthenticationError),
    ("50111", 401, "Invalid OK-ACCESS-KEY.", AuthenticationError),
    ("50113", 401, "Invalid signature.", AuthenticationError),
    (
        "50001",
        503,
        "Service temporarily unavailable. Please try again later.",
        ExchangeNotAvailable,
    ),
    ("50026", 500, "System error. Try again later", ExchangeNotAvailable),
    (
        "50004",
        400,
        "API endpoint request timeout. (does not mean that the request was "
        "successful or failed, please check the request result).",
        NetworkError,
    ),
    ("51000", 400, "Parameter sz error", InvalidOrder),
    ("51603", 200, "Order does not exist.", OrderNotFound),
]

#: sCode rows a failed order carries inside ``{"code":"1","data":[...]}``.
DOCUMENTED_ORDER_ERRORS = [
    ("51008", "Order failed. Insufficient USDT balance in account", InsufficientFunds),
    ("51131", "Insufficient balance.", InsufficientFunds),
    ("51121", "Order quantity must be a multiple of the lot size.", InvalidOrder),
    ("51020", "Your order should meet or exceed the minimum order amount.", InvalidOrder),
    ("51016", "Client order ID already exists.", InvalidOrder),
    (
        "51400",
        "Order cancellation failed as the order has been filled, canceled or does not exist.",
        OrderNotFound,
    ),
    ("51149", "Order timed out. Please try again.", NetworkError),
]


@pytest.mark.parametrize(("code", "status", "message", "cls"), DOCUMENTED_ERRORS)
def test_documented_error_codes_map_with_status_and_code(
    code: str, status: int, message: str, cls: type[ExchangeError]
) -> None:
    error = check(json_reply(status, {"code": code, "msg": message, "data": []}))
    assert type(error) is cls
    assert (error.venue, error.http_status, error.venue_code) == ("okx", status, code)
    assert message in str(error)
    assert is_retryable(error) == (cls in (RateLimitExceeded, NetworkError, ExchangeNotAvailable))
    if isinstance(error, RateLimitExceeded):
        assert error.retry_after == constants.RATE_LIMIT_WINDOW_S  # no Retry-After: one window


@pytest.mark.parametrize(("code", "message", "cls"), DOCUMENTED_ORDER_ERRORS)
def test_failed_order_entries_map_by_scode(
    code: str, message: str, cls: type[ExchangeError]
) -> None:
    body = {
        "code": "1",
        "msg": "All operations failed",
        "data": [
            {
                "clOrdId": "b15",
                "ordId": "",
                "tag": "",
                "ts": "1695190491421",
                "sCode": code,
                "sMsg": message,
                "subCode": "",
            }
        ],
    }
    error = check(json_reply(200, body))
    assert type(error) is cls
    assert (error.http_status, error.venue_code) == (200, code)
    assert message in str(error)


def test_http_statuses_without_an_okx_body_still_map() -> None:
    throttled = check(json_reply(429, b"Too Many Requests", {"Retry-After": "5"}))
    assert isinstance(throttled, RateLimitExceeded)
    assert throttled.retry_after == 5.0
    assert type(check(json_reply(502, b"<html>Bad Gateway</html>"))) is ExchangeNotAvailable
    assert type(check(json_reply(504, b"<html>Gateway Timeout</html>"))) is NetworkError
    assert type(check(json_reply(401, b""))) is AuthenticationError
    assert type(check(json_reply(200, b"<html>maintenance</html>"))) is ExchangeError
    assert type(check(json_reply(400, {"code": "59999", "msg": "new"}))) is ExchangeError
    assert check(json_reply(200, {"code": "0", "msg": "", "data": []})) is None
    sub = check(
        json_reply(
            200,
            {
                "code": "1",
                "msg": "",
                "data": [
                    {
                        "sCode": "51008",
                        "sMsg": "Order failed. Insufficient BTC balance in account",
                        "subCode": "1000",
                    }
                ],
            },
        )
    )
    assert isinstance(sub, InsufficientFunds)
    assert "subCode 1000" in str(sub)


# --- balances, fees, time ------------------------------------------------------------------------

#: GET /api/v5/account/balance example (#trading-account-rest-api-get-balance), trimmed.
BALANCE: dict[str, Any] = {
    "code": "0",
    "msg": "",
    "data": [
        {
            "totalEq": "55837.43556134779",
            "details": [
                {
                    "availBal": "4834.317093622894",
                    "cashBal": "4850.435693622894",
                    "ccy": "USDT",
                    "eq": "4992.890093622894",
                    "frozenBal": "158.573",
                    "ordFrozen": "0",
                },
            ],
        }
    ],
}

#: GET /api/v5/account/trade-fee example (#trading-account-rest-api-get-fee-rates).
TRADE_FEE: dict[str, Any] = {
    "code": "0",
    "msg": "",
    "data": [
        {
            "category": "1",
            "delivery": "",
            "exercise": "",
            "feeGroup": [
                {"elpMaker": "-0.0008", "groupId": "1", "maker": "-0.0008", "taker": "-0.001"}
            ],
            "instType": "SPOT",
            "level": "Lv1",
            "maker": "-0.0008",
            "taker": "-0.001",
            "ts": "1763979985847",
        }
    ],
}


def test_balances_fees_and_time_from_the_documented_replies() -> None:
    (usdt,) = parse_balances(BALANCE)
    assert (usdt.venue, usdt.asset, usdt.free, usdt.locked) == (
        "okx",
        "USDT",
        4834.317093622894,
        158.573,
    )
    assert parse_fees(TRADE_FEE) == (0.0008, 0.001)
    lv1 = {k: v for k, v in _vector("trade_fee_example_lv1.json").items() if k != "note"}
    assert parse_fees({"code": "0", "data": [lv1]}) == (0.0008, 0.001)
    rebate = copy.deepcopy(TRADE_FEE)
    rebate["data"][0]["feeGroup"][0]["maker"] = "0.00005"
    assert parse_fees(rebate) == (-0.00005, 0.001)  # a rebate is a negative fee
    assert parse_server_time({"code": "0", "msg": "", "data": [{"ts": "1597026383085"}]}) == (
        1597026383085
    )
    with pytest.raises(MalformedMessage):
        parse_server_time({"code": "0", "data": [{"ts": "soon"}]})


# --- the async calls against a fake OKX ----------------------------------------------------------

SERVER_MS = 1_700_000_000_000


class FakeOKX(FakeVenue):
    """Speaks the documented reply shapes; it checks every signature."""

    exact_target = True

    def __init__(self, credentials: Credentials = CREDENTIALS) -> None:
        super().__init__()
        self.credentials = credentials
        self.orders: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(312269865356374016)

    def answer(self, received: HttpRequest) -> httpx.Response:
        path = received.path
        if path == constants.TIME_PATH:
            return self._ok([{"ts": str(SERVER_MS)}])
        if path.startswith("/api/v5/public/instruments"):
            example = {
                k: v for k, v in _vector("instrument_spot_example.json").items() if k != "note"
            }
            return self._ok([example])
        if not auth.verify(received, self.credentials):
            return json_reply(401, {"code": "50113", "msg": "Invalid signature.", "data": []})
        stamp = _ms(received.header("OK-ACCESS-TIMESTAMP") or "")
        if abs(stamp - SERVER_MS) > constants.MAX_CLOCK_SKEW_S * 1000:
            return json_reply(
                401, {"code": "50102", "msg": "Timestamp request expired.", "data": []}
            )
        return self._route(received)

    @staticmethod
    def _ok(data: list[Any]) -> httpx.Response:
        return json_reply(200, {"code": "0", "msg": "", "data": data})

    @staticmethod
    def _failed(code: str, message: str, cl_ord_id: str = "") -> httpx.Response:
        return json_reply(
            200,
            {
                "code": "1",
                "msg": "",
                "data": [
                    {
                        "clOrdId": cl_ord_id,
                        "ordId": "",
                        "tag": "",
                        "ts": str(SERVER_MS),
                        "sCode": code,
                        "sMsg": message,
                        "subCode": "",
                    }
                ],
            },
        )

    def place(self, body: dict[str, Any]) -> dict[str, Any]:
        """Book an order the way OKX would (IOC and market orders fill at once here)."""
        done = body["ordType"] in ("ioc", "market")
        entry = {
            "instId": body["instId"],
            "ordId": str(next(self.ids)),
            "clOrdId": body["clOrdId"],
            "side": body["side"],
            "ordType": body["ordType"],
            "px": body.get("px", ""),
            "sz": body["sz"],
            "tgtCcy": body.get("tgtCcy", ""),
            "state": "filled" if done else "live",
            "accFillSz": body["sz"] if done else "0",
            "cTime": str(SERVER_MS),
            "instType": "SPOT",
        }
        self.orders[body["clOrdId"]] = entry
        return entry

    def _route(self, request: HttpRequest) -> httpx.Response:
        params = dict(request.params)
        key = f"{request.method} {request.path}"
        if key == "POST /api/v5/trade/order":
            body = json.loads(request.body)
            existing = self.orders.get(body["clOrdId"])
            if existing and existing["state"] in ("live", "partially_filled"):
                return self._failed("51016", "Client order ID already exists.", body["clOrdId"])
            entry = self.place(body)
            return self._ok(
                [
                    {
                        "clOrdId": entry["clOrdId"],
                        "ordId": entry["ordId"],
                        "tag": "",
                        "ts": str(SERVER_MS),
                        "sCode": "0",
                        "sMsg": "",
                        "subCode": "",
                    }
                ]
            )
        if key == "GET /api/v5/trade/order":
            found = self.orders.get(params["clOrdId"])
            if found is None or found["instId"] != params["instId"]:
                return json_reply(
                    200, {"code": "51603", "msg": "Order does not exist.", "data": []}
                )
            return self._ok([found])
        if key == "POST /api/v5/trade/cancel-order":
            body = json.loads(request.body)
            found = self.orders.get(body["clOrdId"])
            if found is None or found["state"] not in ("live", "partially_filled"):
                return self._failed(
                    "51400",
                    "Order cancellation failed as the order has been "
                    "filled, canceled or does not exist.",
                    body["clOrdId"],
                )
            found["state"] = "canceled"
            return self._ok(
                [
                    {
                        "clOrdId": body["clOrdId"],
                        "ordId": found["ordId"],
                        "ts": str(SERVER_MS),
                        "sCode": "0",
                        "sMsg": "",
                    }
                ]
            )
        if key == "GET /api/v5/trade/orders-pending":
            assert params["instType"] == "SPOT"
            pending = [
                o
                for o in reversed(self.orders.values())
                if o["state"] in ("live", "partially_filled")
                and params.get("instId", o["instId"]) == o["instId"]
            ]
            if "after" in params:
                pending = [o for o in pending if int(o["ordId"]) < int(params["after"])]
            return self._ok(pending[: constants.OPEN_ORDERS_PAGE])
        if key == "GET /api/v5/account/balance":
            return json_reply(200, BALANCE)
        if key == "GET /api/v5/account/trade-fee":
            assert params == {"instType": "SPOT", "instId": "BTC-USDT"}
            return json_reply(200, TRADE_FEE)
        raise AssertionError(f"unexpected request {key}")

    def posts(self) -> list[dict[str, Any]]:
        return [
            json.loads(r.body)
            for r in self.seen
            if r.path == "/api/v5/trade/order" and r.method == "POST"
        ]


def _execution(
    fake: FakeOKX, *, attempts: int = 3, clock_ms: Callable[[], int] | None = None
) -> OKXExecution:
    http = HttpClient(
        "okx",
        "https://okx.test",
        check=check,
        transport=fake.transport(),
        limiter=RateLimiter(constants.RATE_LIMITS),
        retry=RetryPolicy(attempts=attempts),
        sleep=no_sleep,
    )
    return OKXExecution(
        CREDENTIALS, [_btc()], http=http, clock=ServerClock(clock_ms or (lambda: SERVER_MS))
    )


def test_the_execution_is_a_venue_trading_with_okx_defaults() -> None:
    fake = FakeOKX()
    execution = OKXExecution(
        CREDENTIALS, [_btc()], base_url="https://okx.test", transport=fake.transport()
    )
    trading: VenueTrading = execution
    assert trading.venue == "okx"
    assert execution.http.check is check
    assert execution.http.limiter is not None
    assert [b.spec for b in execution.http.limiter.budgets] == list(constants.RATE_LIMITS)
    signed = trading.sign(HttpRequest(method="GET", path="/x"), CREDENTIALS, timestamp_ms=7)
    assert auth.verify(signed, CREDENTIALS)
    assert run(execution.fetch_instruments()) == [_btc()]


def test_a_session_places_reads_lists_and_cancels_with_verified_signatures() -> None:
    fake = FakeOKX()
    execution = _execution(fake)
    btc = _btc()

    async def session() -> Any:
        placed = await execution.place_order(
            prepare_order(btc, OrderSide.BUY, 1000, price_raw=300001, client_order_id="g1")
        )
        read = await execution.fetch_order(btc, "g1")
        ioc = await execution.place_order(
            prepare_order(
                btc,
                OrderSide.SELL,
                2000,
                price_raw=299999,
                time_in_force=TimeInForce.IOC,
                client_order_id="i1",
            )
        )
        open_orders = await execution.fetch_open_orders()
        canceled = await execution.cancel_order(btc, "g1")
        late = await execution.cancel_order(btc, "i1")  # already filled: no error, its state
        return placed, read, ioc, open_orders, canceled, late

    placed, read, ioc, open_orders, canceled, late = run(session())
    assert (placed.status, placed.client_order_id, placed.venue_order_id) == (
        OrderStatus.OPEN,
        "g1",
        "312269865356374016",
    )
    assert (read.status, read.price_raw, read.size_raw) == (OrderStatus.OPEN, 300001, 1000)
    assert (ioc.status, ioc.filled_raw) == (OrderStatus.FILLED, 2000)  # the ack, read back
    assert [o.client_order_id for o in open_orders] == ["g1"]
    assert canceled.status is OrderStatus.CANCELED
    assert (late.status, late.filled_raw) == (OrderStatus.FILLED, 2000)
    assert [(r.method, r.path) for r in fake.seen] == [
        ("POST", "/api/v5/trade/order"),
        ("GET", "/api/v5/trade/order"),
        ("POST", "/api/v5/trade/order"),
        ("GET", "/api/v5/trade/order"),
        ("GET", "/api/v5/trade/orders-pending"),
        ("POST", "/api/v5/trade/cancel-order"),
        ("GET", "/api/v5/trade/order"),
        ("POST", "/api/v5/trade/cancel-order"),
        ("GET", "/api/v5/trade/order"),
    ]
    for request in fake.seen:
        assert all(request.header(name) for name in auth.AUTH_HEADERS)
        assert request.header("OK-ACCESS-TIMESTAMP") == auth.iso_timestamp(SERVER_MS)
        assert auth.verify(request, CREDENTIALS)


def test_balances_fees_and_pages_of_open_orders() -> None:
    fake = FakeOKX()
    for n in range(150):
        fake.place(
            {
                "instId": "BTC-USDT",
                "clOrdId": f"p{n}",
                "side": "buy",
                "ordType": "limit",
                "px": "1000.5",
                "sz": "0.001",
            }
        )
    fake.place(
        {
            "instId": "XYZ-USDT",
            "clOrdId": "unknown",
            "side": "buy",
            "ordType": "limit",
            "px": "1",
            "sz": "1",
        }
    )  # not among our instruments: skipped
    execution = _execution(fake)
    orders = run(execution.fetch_open_orders(_btc()))
    assert [o.client_order_id for o in orders] == [f"p{n}" for n in reversed(range(150))]
    pages = [dict(r.params) for r in fake.seen]
    assert [p.get("after") for p in pages] == [None, orders[99].venue_order_id]
    assert len(run(execution.fetch_open_orders())) == 150
    (usdt,) = run(execution.fetch_balances())
    assert usdt.free == 4834.317093622894
    assert run(execution.fetch_fees(_btc())) == (0.0008, 0.001)


def test_a_resend_refused_as_duplicate_returns_the_first_order() -> None:
    fake = FakeOKX()
    late: dict[str, Any] = {}

    def arrives_late(request: HttpRequest) -> None:  # the first attempt lands after the lookup
        late.update(json.loads(request.body))
        raise httpx.ReadTimeout("read timed out")

    def lookup_misses(request: HttpRequest) -> httpx.Response:
        fake.place(late)
        return json_reply(200, {"code": "51603", "msg": "Order does not exist.", "data": []})

    fake.hook("POST /api/v5/trade/order", arrives_late)
    fake.hook("GET /api/v5/trade/order", lookup_misses)
    execution = _execution(fake)
    order = prepare_order(_btc(), OrderSide.BUY, 1000, price_raw=300001, client_order_id="r3")
    placed = run(execution.place_order(order))
    assert (placed.status, placed.venue_order_id) == (OrderStatus.OPEN, fake.orders["r3"]["ordId"])
    assert len(fake.posts()) == 2
    assert len(fake.orders) == 1


def test_an_unanswered_lookup_is_a_network_error_without_the_query() -> None:
    single = FakeOKX()
    single.hook("GET /api/v5/trade/order", timeout())
    with pytest.raises(NetworkError, match="outcome unknown") as caught:
        run(_execution(single, attempts=1).fetch_order(_btc(), "r4"))
    assert "clOrdId" not in str(caught.value)
    assert "BTC-USDT" not in str(caught.value)


def test_a_skewed_clock_is_resynced_from_the_server_time_and_the_request_sent_again() -> None:
    fake = FakeOKX()
    execution = _execution(fake, clock_ms=lambda: SERVER_MS - 61_000)
    (usdt,) = run(execution.fetch_balances())
    assert usdt.asset == "USDT"
    assert execution.clock.offset_ms == 61_000
    assert [r.path for r in fake.seen] == [
        "/api/v5/account/balance",
        "/api/v5/public/time",
        "/api/v5/account/balance",
    ]
    assert "OK-ACCESS-SIGN" not in dict(fake.seen[1].headers)  # the time endpoint is public


def test_refusals_surface_as_the_documented_errors() -> None:
    wrong_secret = FakeOKX(Credentials(API_KEY, "another-secret", PASSPHRASE))
    with pytest.raises(AuthenticationError) as caught:
        run(_execution(wrong_secret).fetch_balances())
    assert (caught.value.venue_code, caught.value.http_status) == ("50113", 401)
    fake = FakeOKX()
    fake.hook(
        "POST /api/v5/trade/order",
        lambda r: FakeOKX._failed(
            "51008", "Order failed. Insufficient USDT balance in account", "f1"
        ),
    )
    order = prepare_order(_btc(), OrderSide.BUY, 1000, price_raw=300001, client_order_id="f1")
    with pytest.raises(InsufficientFunds):
        run(_execution(fake).place_order(order))
    with pytest.raises(OrderNotFound):
        run(_execution(FakeOKX()).cancel_order(_btc(), "never"))
    throttled = FakeOKX()
    too_many = json_reply(429, {"code": "50011", "msg": "Too Many Requests"})
    throttled.hook("GET /api/v5/account/balance", *[lambda r: too_many] * 2)
    with pytest.raises(RateLimitExceeded) as limited:
        run(_execution(throttled, attempts=2).fetch_balances())
    assert limited.value.retry_after == constants.RATE_LIMIT_WINDOW_S


def _contract_build(attempts: int) -> tuple[FakeVenue, VenueTrading]:
    fake = FakeOKX()
    return fake, _execution(fake, attempts=attempts)


#: How OKX runs the shared trading scenarios (tests/exchanges/test_trading_contract.py).
CASE = TradingCase(
    venue="okx",
    build=_contract_build,
    order=lambda cid, tif: prepare_order(
        _btc(), OrderSide.BUY, 1000, price_raw=300001, time_in_force=tif, client_order_id=cid
    ),
    place_key="POST /api/v5/trade/order",
    sent_id=lambda request: json.loads(request.body)["clOrdId"],
    verify=lambda request: auth.verify(request, CREDENTIALS),
    signature=lambda request: request.header("OK-ACCESS-SIGN"),
    signed_afresh=False,  # the same timestamp on the fixed clock: the same signature
    land=lambda fake, request: cast(FakeOKX, fake).place(json.loads(request.body)),
    booked=lambda fake: len(cast(FakeOKX, fake).orders),
    resend_paths=("/api/v5/trade/order",) * 3,  # POST, the GET lookup, POST again
    landed_tif=TimeInForce.IOC,  # OKX would not refuse a second IOC with this clOrdId
    landed_paths=("/api/v5/trade/order",) * 2,
    landed_status=OrderStatus.FILLED,
    lost_match="nothing was placed",
    refuse=lambda fake: fake.hook(
        "GET /api/v5/account/balance",
        lambda r: json_reply(401, {"code": "50113", "msg": "Invalid signature.", "data": []}),
    ),
    secrets=(SECRET, PASSPHRASE, API_KEY),
)


# --- rounding and minimums on the real instrument list -------------------------------------------


@pytest.fixture(scope="module")
def real(shared_data: Path) -> dict[str, Instrument]:
    return parse_instruments(
        load_rest_body(shared_data / "real/okx/OKX.0", "instType=SPOT")
    ).by_symbol()


@pytest.mark.recording
@pytest.mark.parametrize(
    ("symbol", "side", "size", "price", "px", "sz"),
    [
        ("BTC/USDT", OrderSide.BUY, 1_000, 3_000_01, "30000.1", "0.00001"),  # minSz 0.00001
        ("ETH/BTC", OrderSide.SELL, 123_456, 7_123, "0.07123", "0.123456"),
        ("SHIB/USDT", OrderSide.BUY, 50_000, 1_234, "0.00001234", "50000"),
        ("DOGE/USDT", OrderSide.SELL, 10_000_000, 123_456, "0.123456", "10"),
    ],
)
def test_real_instruments_send_exact_text_on_their_grid(
    real: dict[str, Instrument],
    symbol: str,
    side: OrderSide,
    size: int,
    price: int,
    px: str,
    sz: str,
) -> None:
    order = prepare_order(real[symbol], side, size, price_raw=price, client_order_id="x1")
    assert (order.size_raw, order.price_raw) == (size, price)  # OKX's grids are its decimals
    body = json.loads(order_request(order).body)
    assert (body["px"], body["sz"]) == (px, sz)


@pytest.mark.recording
@pytest.mark.parametrize(
    ("symbol", "size", "minimum"),
    [("BTC/USDT", 999, "0.00001"), ("SHIB/USDT", 49_999, "50000"), ("DOGE/USDT", 9_999_999, "10")],
)
def test_real_instruments_refuse_sizes_below_min_sz(
    real: dict[str, Instrument], symbol: str, size: int, minimum: str
) -> None:
    with pytest.raises(InvalidOrder, match=f"below the minimum {minimum}"):
        prepare_order(real[symbol], OrderSide.BUY, size, price_raw=1)
    # OKX publishes no minimum notional: a tiny order passes here and OKX answers 51020
    tiny = prepare_order(real[symbol], OrderSide.BUY, size + 1, price_raw=1)
    assert real[symbol].min_notional == 0
    assert tiny.size_raw == size + 1
