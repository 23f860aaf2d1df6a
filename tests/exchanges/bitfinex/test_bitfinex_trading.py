"""Bitfinex v2 spot trading: signing pinned to the (synthetic) vectors, the order body against the
documented request, every documented order status and error, the client end to end over a
MockTransport that verifies each signature, and rounding on the recorded pair list.

Bitfinex publishes no worked signature example (``vectors/bitfinex/signature.json`` is synthetic,
computed from the documented rule) and no literal order reply: the order arrays below follow the
documented index table (docs.bitfinex.com reference rest-auth-retrieve-orders, "Order arrays").
"""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
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
from arbcore.exchanges.bitfinex import auth, constants
from arbcore.exchanges.bitfinex.execution import (
    BitfinexExecution,
    check,
    cid_of,
    order_request,
    order_status,
    parse_ack,
    parse_balances,
    parse_fees,
    parse_order,
    parse_orders,
    round_price,
)
from arbcore.exchanges.bitfinex.providers import parse_instruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest, Rounding, VenueTrading, prepare_order
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.testing.instruments import load_rest_body
from arbcore.testing.trading_kit import FakeVenue, TradingCase, no_sleep, timeout

SECRET = "synthetic-test-secret-not-a-real-key"
API_KEY = "bitfinex-public-key-BBBB5678"
CREDENTIALS = Credentials(API_KEY, SECRET)


def _instrument(pair: str, base: str, quote: str) -> Instrument:
    return Instrument.from_text(venue="bitfinex", native_symbol=f"t{pair}", base=base,
                                quote=quote, tick_size=constants.PRICE_STEP,
                                lot_size=constants.AMOUNT_STEP)  # fmt: skip


BTC_USD = _instrument("BTCUSD", "BTC", "USD")
ETH_BTC = _instrument("ETHBTC", "ETH", "BTC")
BTC_UST = _instrument("BTCUST", "BTC", "USDT")
INSTRUMENTS = [BTC_USD, ETH_BTC, BTC_UST]


def _vector(shared_data: Path, name: str) -> Any:
    return json.loads((shared_data / "vectors/bitfinex" / name).read_text())


def _decoded(body: Any) -> Any:
    """What the client decodes: non-integer JSON numbers kept as their text."""
    return json.loads(json.dumps(body), parse_float=str)


def _order(
    *, side: OrderSide = OrderSide.BUY, type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.GTC, price: int | None = 1_000_000_000_000,
    size: int = 10_000_000, cid: str = "1700000000123", instrument: Instrument = BTC_USD,
) -> OrderRequest:  # fmt: skip
    return OrderRequest(instrument=instrument, side=side, type=type, size_raw=size,
                        price_raw=price if type is OrderType.LIMIT else None,
                        time_in_force=tif, client_order_id=cid)  # fmt: skip


def _order_array(
    *, id: int = 30630788061, cid: int | None = 1700000000123, symbol: str = "tBTCUSD",
    amount: Any = 0.1, amount_orig: Any = 0.1, type: str = "EXCHANGE LIMIT", flags: int = 0,
    status: str = "ACTIVE", price: Any = 10000, mts: int = 1567590617439, avg: Any = 0,
) -> list[Any]:  # fmt: skip
    """An order array by the documented indices (32 fields, the undocumented ones null)."""
    order: list[Any] = [None] * 32
    order[0], order[1], order[2], order[3], order[4], order[5] = id, None, cid, symbol, mts, mts
    order[6], order[7], order[8], order[12], order[13] = amount, amount_orig, type, flags, status
    order[16], order[17], order[28] = price, avg, "API>BFX"
    return order


def _notification(kind: str, data: Any, status: str = "SUCCESS", text: str = "") -> list[Any]:
    return [1567590617.442, kind, None, None, data, None, status, text]


# --- signing --------------------------------------------------------------------------------------


def test_sign_reproduces_the_rest_signature_vector(shared_data: Path) -> None:
    vector = _vector(shared_data, "signature.json")["synthetic_rest"]
    unsigned = HttpRequest(method="POST", path="/" + vector["api_path"], body=vector["body"])
    signed = auth.sign(unsigned, Credentials(API_KEY, vector["api_secret"]),
                       nonce=vector["nonce"])  # fmt: skip
    assert auth.signature_payload(signed, vector["nonce"]) == vector["signature_payload"]
    assert signed.header("bfx-signature") == vector["expected_signature"]
    assert (signed.header("bfx-nonce"), signed.header("bfx-apikey")) == (vector["nonce"], API_KEY)
    assert signed.body == vector["body"]  # the body signed is the body sent
    by_time = auth.sign(unsigned, Credentials(API_KEY, vector["api_secret"]),
                        timestamp_ms=int(vector["nonce"]) // 1000)  # fmt: skip
    assert by_time == signed  # the documented nonce is Date.now() * 1000


def test_ws_auth_reproduces_the_websocket_vector(shared_data: Path) -> None:
    vector = _vector(shared_data, "signature.json")["synthetic_ws_auth"]
    event = auth.ws_auth(Credentials(API_KEY, vector["api_secret"]), vector["auth_nonce"])
    assert event == {"event": "auth", "apiKey": API_KEY, "authSig": vector["expected_auth_sig"],
                     "authNonce": vector["auth_nonce"],
                     "authPayload": vector["auth_payload"]}  # fmt: skip


def test_verify_accepts_a_signed_request_and_rejects_any_tampering() -> None:
    signed = auth.sign(order_request(_order()), CREDENTIALS, nonce="1700000000000000")
    assert auth.verify(signed, CREDENTIALS)

    def changed(**fields: Any) -> HttpRequest:
        values = {"method": "POST", "path": signed.path, "body": signed.body,
                  "headers": signed.headers, **fields}  # fmt: skip
        return HttpRequest(**values)

    assert not auth.verify(changed(body=signed.body.replace('"0.1"', '"1"')), CREDENTIALS)
    assert not auth.verify(changed(path=constants.CANCEL_ORDER_PATH), CREDENTIALS)
    renonced = tuple((k, "1700000000000001" if k == "bfx-nonce" else v) for k, v in signed.headers)
    assert not auth.verify(changed(headers=renonced), CREDENTIALS)
    assert not auth.verify(changed(headers=()), CREDENTIALS)
    assert not auth.verify(signed, Credentials("another-key", SECRET))
    assert not auth.verify(signed, Credentials(API_KEY, "another-secret"))


def test_signing_again_replaces_the_auth_headers() -> None:
    twice = auth.sign(auth.sign(order_request(_order()), CREDENTIALS, nonce="1"), CREDENTIALS,
                      nonce="2")  # fmt: skip
    assert [k for k, _ in twice.headers].count("bfx-signature") == 1
    assert twice.header("bfx-nonce") == "2"
    assert auth.verify(twice, CREDENTIALS)


# --- requests -------------------------------------------------------------------------------------


def test_a_limit_order_is_the_documented_submit_body_plus_its_cid(shared_data: Path) -> None:
    documented = _vector(shared_data, "rest_submit_order.json")["request_body"]
    request = order_request(_order())  # buy 0.1 BTC at 10000
    assert (request.method, request.path, request.is_order, request.weight) == (
        "POST", "/v2/auth/w/order/submit", True, 0.0,
    )  # fmt: skip
    assert request.header("Content-Type") == "application/json"
    compact = json.dumps(documented, separators=(",", ":"))
    assert request.body == compact[:-1] + ',"cid":1700000000123}'
    body = json.loads(request.body)
    assert {k: v for k, v in body.items() if k != "cid"} == documented
    fok = order_request(_order(tif=TimeInForce.FOK))  # the same order as fill-or-kill
    as_fok = json.dumps({**documented, "type": "EXCHANGE FOK"}, separators=(",", ":"))
    assert fok.body == as_fok[:-1] + ',"cid":1700000000123}'


def test_order_types_map_onto_bitfinex_types_signs_and_flags() -> None:
    def body(order: OrderRequest) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(order_request(order).body)
        return parsed

    sell = body(_order(side=OrderSide.SELL, tif=TimeInForce.IOC, size=1, price=6_154_300_000_000))
    assert sell == {"type": "EXCHANGE IOC", "symbol": "tBTCUSD", "amount": "-0.00000001",
                    "price": "61543", "cid": 1700000000123}  # fmt: skip
    post = body(_order(tif=TimeInForce.POST_ONLY))
    assert (post["type"], post["flags"]) == ("EXCHANGE LIMIT", 4096)
    market = body(_order(type=OrderType.MARKET, tif=TimeInForce.IOC, size=250_000_000))
    assert market == {"type": "EXCHANGE MARKET", "symbol": "tBTCUSD", "amount": "2.5",
                      "cid": 1700000000123}  # fmt: skip
    tiny = body(_order(instrument=ETH_BTC, price=1_234_500))  # 0.012345 BTC: 5 digits
    assert tiny["price"] == "0.012345"


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (_order(price=6_154_370_000_000), "more than 5 significant digits"),  # 61543.7
        (_order(price=123_456), "more than 5 significant digits"),  # 0.00123456
        (_order(cid=""), "client order id"),
        (_order(type=OrderType.MARKET, tif=TimeInForce.POST_ONLY), "post-only"),
        (_order(price=0), "positive price"),
        (_order(size=0), "size"),
        (_order(instrument=Instrument.from_text(venue="kraken", native_symbol="XBT/USD",
                base="BTC", quote="USD", tick_size="0.1", lot_size="0.1")),
         "kraken instrument"),
    ],
)  # fmt: skip
def test_orders_bitfinex_would_refuse_or_truncate_are_refused_before_sending(
    order: OrderRequest, reason: str
) -> None:
    with pytest.raises(InvalidOrder, match=reason):
        order_request(order)


def test_client_order_ids_become_cids_that_round_trip_or_hash_stably() -> None:
    assert cid_of("1700000000123") == 1700000000123
    hashed = cid_of("arb18c2f4e1a7b0123456789")
    assert hashed == cid_of("arb18c2f4e1a7b0123456789")
    assert 0 < hashed < 2**45
    assert cid_of("0123") != 123  # a leading zero would not come back the same
    assert cid_of(str(2**45)) != 2**45  # too large for int45
    ids = [BitfinexExecution.new_client_order_id() for _ in range(500)]
    assert [int(i) for i in ids] == sorted({int(i) for i in ids})
    assert all(str(cid_of(i)) == i and int(i) < 2**45 for i in ids)


@pytest.mark.parametrize(
    ("price", "side", "rounding", "expected"),
    [
        (6_154_370_000_000, OrderSide.BUY, Rounding.PASSIVE, 6_154_300_000_000),  # 61543.7
        (6_154_370_000_000, OrderSide.SELL, Rounding.PASSIVE, 6_154_400_000_000),
        (6_154_370_000_000, OrderSide.BUY, Rounding.AGGRESSIVE, 6_154_400_000_000),
        (6_154_300_000_000, OrderSide.SELL, Rounding.PASSIVE, 6_154_300_000_000),  # on the grid
        (9_999_950_000_000, OrderSide.SELL, Rounding.PASSIVE, 10_000_000_000_000),  # 99999.5
        (123_456, OrderSide.BUY, Rounding.PASSIVE, 123_450),  # 0.00123456 -> 0.0012345
        (11, OrderSide.SELL, Rounding.PASSIVE, 11),  # 0.00000011
    ],
)
def test_round_price_keeps_five_significant_digits_passively(
    price: int, side: OrderSide, rounding: Rounding, expected: int
) -> None:
    assert round_price(price, side, rounding) == expected


# --- replies --------------------------------------------------------------------------------------


def test_parse_order_reads_the_documented_order_array_exactly() -> None:
    active = parse_order(_decoded(_order_array(amount=0.06, flags=4096)), BTC_USD)
    assert (active.status, active.side, active.type, active.time_in_force, active.price_raw,
            active.size_raw, active.filled_raw, active.client_order_id, active.venue_order_id,
            active.ts_created_ns) == (
        OrderStatus.PARTIALLY_FILLED, OrderSide.BUY, OrderType.LIMIT, TimeInForce.POST_ONLY,
        1_000_000_000_000, 10_000_000, 4_000_000, "1700000000123", "30630788061",
        1567590617439000000,
    )  # fmt: skip
    executed = _order_array(amount=0, amount_orig=-0.25, price=30000.5, avg=30000.5,
                            type="EXCHANGE MARKET", status="EXECUTED @ 30000.5(-0.25)")  # fmt: skip
    market = parse_order(_decoded(executed), BTC_USD)
    assert (market.status, market.side, market.type, market.price_raw, market.filled_raw,
            market.filled_quote) == (
        OrderStatus.FILLED, OrderSide.SELL, OrderType.MARKET, 0, 25_000_000, 7500.125,
    )  # fmt: skip
    ioc = parse_order(_decoded(_order_array(type="EXCHANGE IOC", amount=1e-08,
                                            status="IOC CANCELED")), BTC_USD)  # fmt: skip
    assert (ioc.time_in_force, ioc.status, ioc.filled_raw) == (
        TimeInForce.IOC, OrderStatus.EXPIRED, 9_999_999,
    )  # fmt: skip
    killed = parse_order(_decoded(_order_array(type="EXCHANGE FOK",
                                               status="FILLORKILL CANCELED")), BTC_USD)  # fmt: skip
    assert (killed.time_in_force, killed.status, killed.filled_raw) == (
        TimeInForce.FOK, OrderStatus.EXPIRED, 0,
    )  # fmt: skip
    named = parse_order(_decoded(_order_array()), BTC_USD, client_order_id="mine")
    assert named.client_order_id == "mine"


def test_parse_order_refuses_what_it_cannot_represent() -> None:
    with pytest.raises(MalformedMessage, match="tETHBTC parsed as tBTCUSD"):
        parse_order(_decoded(_order_array(symbol="tETHBTC")), BTC_USD)
    with pytest.raises(MalformedMessage, match="'LIMIT'"):  # margin, not spot
        parse_order(_decoded(_order_array(type="LIMIT")), BTC_USD)
    with pytest.raises(MalformedMessage, match="'EXCHANGE STOP'"):
        parse_order(_decoded(_order_array(type="EXCHANGE STOP")), BTC_USD)
    with pytest.raises(MalformedMessage, match="AMOUNT_ORIG"):
        parse_order(_decoded(_order_array(amount_orig=0.123456789)), BTC_USD)
    with pytest.raises(MalformedMessage, match=r"has no FLAGS \(index 12\)"):
        parse_order(_decoded(_order_array())[:10], BTC_USD)


# every status the documentation lists (vector + glossary), with what it means for arbcore
DOCUMENTED_STATES = {
    "ACTIVE": OrderStatus.OPEN,
    "EXECUTED @ 107.6(-0.2)": OrderStatus.FILLED,
    "EXECUTED @ 107.6(-0.2): was PARTIALLY FILLED @ 107.6(-0.1)": OrderStatus.FILLED,
    "PARTIALLY FILLED @ 107.6(-0.1)": OrderStatus.PARTIALLY_FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "CANCELED was: PARTIALLY FILLED @ 107.6(-0.1)": OrderStatus.CANCELED,
    "INSUFFICIENT BALANCE (U1)": OrderStatus.REJECTED,
    "INSUFFICIENT BALANCE (G1)": OrderStatus.CANCELED,
    "POSTONLY CANCELED": OrderStatus.REJECTED,
    "IOC CANCELED": OrderStatus.EXPIRED,
    "FILLORKILL CANCELED": OrderStatus.EXPIRED,
    "FORCED EXECUTED": OrderStatus.FILLED,
    "EXECUTED @ 1.0(1.0) was ACTIVE (note:POSCLOSE)": OrderStatus.FILLED,
    "RSN_DUST": OrderStatus.CANCELED,
    "RSN_DUST was: ACTIVE (note: POSCLOSE)": OrderStatus.CANCELED,
    "RSN_PAUSE": OrderStatus.CANCELED,
    "RSN_BOOK_SLIP was: PARTIALLY FILLED @ 1.0(0.5)": OrderStatus.CANCELED,
    "RSN_POS_REDUCE_INCR": OrderStatus.CANCELED,
    "RSN_POS_REDUCE_FLIP": OrderStatus.CANCELED,
    "RSN_POS_NOTFOUND": OrderStatus.CANCELED,
}


def test_every_documented_order_status_is_mapped(shared_data: Path) -> None:
    listed = _vector(shared_data, "rest_submit_order.json")["order_status_strings"]
    for text in listed:  # "EXECUTED @ PRICE(AMOUNT)", "CANCELED was: PARTIALLY FILLED @ ..."
        assert any(text.startswith(k.split(" @")[0].split(" was")[0]) for k in DOCUMENTED_STATES)
    for text, expected in DOCUMENTED_STATES.items():
        assert order_status(text, 10, 0) is expected, text
    with pytest.raises(MalformedMessage, match="SOMETHING NEW"):
        order_status("SOMETHING NEW", 10, 0)


@pytest.mark.parametrize(
    ("text", "filled", "final", "expected"),
    [
        ("ACTIVE", 0, False, OrderStatus.OPEN),
        ("ACTIVE", 4, False, OrderStatus.PARTIALLY_FILLED),
        ("PARTIALLY FILLED @ 1.0(0.4)", 4, False, OrderStatus.PARTIALLY_FILLED),
        ("PARTIALLY FILLED @ 1.0(0.4)", 4, True, OrderStatus.CANCELED),  # history: rest canceled
        ("EXECUTED @ 1.0(1.0)", 10, True, OrderStatus.FILLED),
        ("CANCELED", 0, True, OrderStatus.CANCELED),
    ],
)
def test_order_status_uses_the_fill_and_where_the_order_was_read(
    text: str, filled: int, final: bool, expected: OrderStatus
) -> None:
    assert order_status(text, 10, filled, final=final) is expected


def test_parse_ack_reads_the_submit_notification() -> None:
    reply = _decoded(_notification("on-req", [_order_array()], text="Submitting 1 orders."))
    order = parse_ack(reply, _order(cid="arb-not-numeric"))
    assert (order.client_order_id, order.venue_order_id, order.status) == (
        "arb-not-numeric", "30630788061", OrderStatus.OPEN,
    )  # fmt: skip
    with pytest.raises(MalformedMessage, match="notification"):
        parse_ack(_decoded([_order_array()]), _order())


def test_parse_orders_skips_what_arbcore_does_not_trade() -> None:
    orders = _decoded([_order_array(id=1), _order_array(id=2, symbol="tLTCUSD"),
                       _order_array(id=3, type="EXCHANGE STOP"),
                       _order_array(id=4, cid=None)])  # fmt: skip
    names = {1700000000123: "arb-first"}
    parsed = parse_orders(orders, SymbolMap.of("bitfinex", INSTRUMENTS), names=names.__getitem__)
    named = [(o.venue_order_id, o.client_order_id) for o in parsed]
    assert named == [("1", "arb-first"), ("4", "")]


def test_parse_balances_reads_the_exchange_wallets() -> None:
    wallets = _decoded([
        ["exchange", "USD", 1000.5, 0, 800.25, "Exchange 0.1 BTC for USD @ 10000", None],
        ["exchange", "UST", 50, 0, None, None, None],
        ["margin", "USD", 99, 0, 99, None, None],
        ["funding", "BTC", 1, 0, 1, None, None],
    ])  # fmt: skip
    assert [(b.asset, b.free, b.locked) for b in parse_balances(wallets)] == [
        ("USD", 800.25, 200.25), ("USDT", 50.0, 0.0),
    ]  # fmt: skip
    with pytest.raises(MalformedMessage, match="wallet"):
        parse_balances([["exchange", "USD"]])


def test_parse_fees_picks_the_taker_fee_by_quote_kind() -> None:
    # summary: index 4 = [[maker...], [taker to crypto, to stable, to fiat, ...]]
    summary = _decoded([None, None, None, None,
                        [[0.001, 0.001, 0.001, None, None, -0.0002],
                         [0.002, 0.0021, 0.0022, None, None, 0.00075]],
                        [[{"curr": "Total (USD)", "vol": 0}], {}, 0], [None, {}, 0], None, None,
                        {"leo_lev": 0, "leo_amount_avg": 0}])  # fmt: skip
    assert parse_fees(summary, BTC_USD) == (0.001, 0.0022)
    assert parse_fees(summary, BTC_UST) == (0.001, 0.0021)
    assert parse_fees(summary, ETH_BTC) == (0.001, 0.002)
    with pytest.raises(MalformedMessage, match="fee info"):
        parse_fees([None], BTC_USD)


# --- errors ---------------------------------------------------------------------------------------


def _reply(body: Any, status: int = 500, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, json=body, **kwargs)


def test_check_maps_every_documented_error_example(shared_data: Path) -> None:
    params, rate, maintenance = _vector(shared_data, "rest_errors.json")["examples"]
    error = check(_reply(params, 400))
    assert type(error) is InvalidOrder
    assert (error.venue_code, error.http_status) == (10020, 400)
    assert "limit: invalid" in str(error)
    throttled = check(_reply(rate, 429))
    assert isinstance(throttled, RateLimitExceeded)
    assert (throttled.venue_code, throttled.retry_after) == ("ERR_RATE_LIMIT", 60.0)
    assert check(_reply(rate, 429, headers={"Retry-After": "12"})).retry_after == 12.0  # type: ignore[union-attr]
    down = check(_reply(maintenance, 503))
    assert type(down) is ExchangeNotAvailable
    assert down.venue_code == 20060


EXPECTED_CODES: dict[str, type[ExchangeError]] = {
    "10000": ExchangeError, "10001": ExchangeError, "10020": InvalidOrder,
    "10100": AuthenticationError, "10114": AuthenticationError, "10305": ExchangeError,
    "11000": ExchangeNotAvailable,
}  # fmt: skip


def test_check_maps_every_documented_error_code(shared_data: Path) -> None:
    codes = _vector(shared_data, "rest_errors.json")["codes"]
    assert set(codes) == set(EXPECTED_CODES)
    for code, name in codes.items():
        error = check(_reply(["error", int(code), name.split(" ")[0]]))
        assert type(error) is EXPECTED_CODES[code], code
        assert (error.venue, error.venue_code, error.http_status) == ("bitfinex", int(code), 500)


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (["error", 10001, "Order not found."], 500, OrderNotFound),
        (["error", 10114, "nonce: small"], 500, AuthenticationError),
        (["error", 10100, "apikey: digest invalid"], 500, AuthenticationError),
        (_notification("on-req", None, "ERROR",
                       "Invalid order: not enough exchange balance for 0.1 tBTCUSD at 10000"),
         200, InsufficientFunds),
        (_notification("on-req", None, "ERROR",
                       "Invalid order: minimum size for BTC/USD is 0.0002"), 200, InvalidOrder),
        (_notification("oc-req", None, "FAILURE", "Order not found."), 200, OrderNotFound),
        ({"code": 503, "error": "temporarily_unavailable",
          "error_description": "Sorry, the service is temporarily unavailable."}, 503,
         ExchangeNotAvailable),
    ],
)  # fmt: skip
def test_check_reads_refusals_by_their_text_first(
    body: Any, status: int, expected: type[ExchangeError]
) -> None:
    error = check(_reply(body, status))
    assert type(error) is expected
    assert error.http_status == status


def test_check_passes_successes_and_reads_bare_http_statuses() -> None:
    assert check(_reply(_notification("on-req", [_order_array()]), 200)) is None
    assert check(_reply([["exchange", "USD", 1, 0, 1, None, None]], 200)) is None
    assert check(_reply([], 200)) is None
    assert isinstance(check(httpx.Response(502, text="<html>")), ExchangeNotAvailable)
    assert isinstance(check(httpx.Response(429, text="")), RateLimitExceeded)
    refused = check(httpx.Response(404, text="", request=httpx.Request(
        "POST", "https://api.bitfinex.com/v2/auth/r/nope?secret=abc")))  # fmt: skip
    assert type(refused) is ExchangeError
    assert "/v2/auth/r/nope" in str(refused)
    assert "secret" not in str(refused)
    assert type(check(httpx.Response(200, text="<html>"))) is ExchangeError


# --- the client end to end ------------------------------------------------------------------------


class FakeBitfinex(FakeVenue):
    """Answers the documented shapes; asserts every private request is signed and verifies."""

    def __init__(self) -> None:
        super().__init__()
        self.active: list[list[Any]] = []
        self.history: list[list[Any]] = []
        self.pairs: Any = [[]]
        self.next_id = 100
        self.fill = "0"  # what an IOC or market order trades at once (signed like the amount)
        self.pending_reads = 0  # history reads that miss before a done IOC order shows there
        self.done: tuple[list[Any], list[Any]] = ([], [])

    def answer(self, received: HttpRequest) -> httpx.Response:
        if received.path.startswith(constants.CONF_PATH):
            assert received.method == "GET"
            assert received.header("bfx-signature") is None
            return _reply(self.pairs, 200)
        assert received.method == "POST"
        assert received.header("Content-Type") == "application/json"
        assert received.header("bfx-apikey") == API_KEY
        if not auth.verify(received, CREDENTIALS):
            return _reply(["error", 10100, "apikey: digest invalid"])
        body = json.loads(received.body)
        path = received.path
        if path == constants.SUBMIT_ORDER_PATH:
            return _reply(self.submit(body), 200)
        if path == constants.CANCEL_ORDER_PATH:
            for order in self.active:
                if order[0] == body["id"]:
                    self.active.remove(order)
                    order[13] = "CANCELED"
                    self.history.insert(0, order)
                    return _reply(_notification("oc-req", order, text="Submitted for cancellation"),
                                  200)  # fmt: skip
            return _reply(["error", 10001, "Order not found."])
        ids = body.get("id")
        if path.endswith("/hist"):
            assert body["limit"] == constants.HISTORY_LIMIT
            symbol = path.split("/")[-2]
            if self.pending_reads:
                self.pending_reads -= 1
                if not self.pending_reads:
                    self.settle()  # after this read
                return _reply([], 200)
            return _reply([o for o in self.history if o[3] == symbol
                           and (ids is None or o[0] in ids)], 200)  # fmt: skip
        if path.startswith(constants.ACTIVE_ORDERS_PATH):
            symbol = path[len(constants.ACTIVE_ORDERS_PATH) + 1 :] or None
            return _reply([o for o in self.active if symbol in (None, o[3])
                           and (ids is None or o[0] in ids)], 200)  # fmt: skip
        if path == constants.WALLETS_PATH:
            return _reply([["exchange", "BTC", 1.5, 0, 1.25, None, None]], 200)
        if path == constants.SUMMARY_PATH:
            return _reply([None, None, None, None, [[0.001], [0.002, 0.002, 0.0025]]], 200)
        raise AssertionError(f"unexpected path {path}")

    def submit(self, body: dict[str, Any]) -> list[Any]:
        self.next_id += 1
        order = _order_array(id=self.next_id, cid=body["cid"], symbol=body["symbol"],
                             amount=body["amount"], amount_orig=body["amount"],
                             type=body["type"], flags=body.get("flags", 0),
                             price=body.get("price", 0))  # fmt: skip
        self.active.append(order)
        if body["type"] in ("EXCHANGE IOC", "EXCHANGE MARKET"):
            done = list(order)
            left = float(Decimal(body["amount"]) - Decimal(self.fill))
            done[6], done[17] = left, 30000.5
            done[13] = "IOC CANCELED" if left else f"EXECUTED @ 30000.5({body['amount']})"
            self.done = (order, done)
            if not self.pending_reads:
                self.settle()
        return _notification("on-req", [order], text="Submitting 1 orders.")

    def settle(self) -> None:
        """The IOC order leaves the book for the history."""
        active, done = self.done
        self.active.remove(active)
        self.history.insert(0, done)


SUBMIT_KEY = f"POST {constants.SUBMIT_ORDER_PATH}"


@pytest.fixture
def venue() -> FakeBitfinex:
    return FakeBitfinex()


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def bitfinex(venue: FakeBitfinex, slept: list[float]) -> BitfinexExecution:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = HttpClient("bitfinex", constants.REST_AUTH_URL, check=check,
                      transport=venue.transport(), sleep=sleep)  # fmt: skip
    return BitfinexExecution(CREDENTIALS, INSTRUMENTS, http=http, sleep=sleep)


def test_place_fetch_and_cancel_an_order_end_to_end(
    bitfinex: BitfinexExecution, venue: FakeBitfinex
) -> None:
    async def run() -> None:
        hashed = _order(cid="arb-hashed-0001", tif=TimeInForce.POST_ONLY)
        placed = await bitfinex.place_order(hashed)
        assert (placed.status, placed.venue_order_id, placed.client_order_id) == (
            OrderStatus.OPEN, "101", "arb-hashed-0001",
        )  # fmt: skip
        fetched = await bitfinex.fetch_order(BTC_USD, "arb-hashed-0001")
        assert (fetched.time_in_force, fetched.price_raw, fetched.size_raw) == (
            TimeInForce.POST_ONLY, 1_000_000_000_000, 10_000_000,
        )  # fmt: skip
        (listed,) = await bitfinex.fetch_open_orders()
        assert listed.client_order_id == "arb-hashed-0001"  # the hashed cid, named again
        canceled = await bitfinex.cancel_order(BTC_USD, "arb-hashed-0001")
        assert canceled.status is OrderStatus.CANCELED
        again = await bitfinex.cancel_order(BTC_USD, "arb-hashed-0001")
        assert again.status is OrderStatus.CANCELED
        with pytest.raises(OrderNotFound, match="nothing-here"):
            await bitfinex.fetch_order(BTC_USD, "nothing-here")

    asyncio.run(run())
    orders, hist = "/v2/auth/r/orders/tBTCUSD", "/v2/auth/r/orders/tBTCUSD/hist"
    assert venue.paths() == [
        "/v2/auth/w/order/submit", orders, "/v2/auth/r/orders", orders,
        "/v2/auth/w/order/cancel", orders, hist, orders, hist, orders, hist,
    ]  # fmt: skip
    submitted = json.loads(venue.seen[0].body)
    assert submitted["cid"] == cid_of("arb-hashed-0001")
    assert json.loads(venue.seen[4].body) == {"id": 101}
    nonces = [int(r.header("bfx-nonce") or 0) for r in venue.seen]
    assert nonces == sorted(set(nonces))  # strictly increasing


def test_balances_fees_and_instruments_end_to_end(
    bitfinex: BitfinexExecution, venue: FakeBitfinex, shared_data: Path
) -> None:
    venue.pairs = load_rest_body(shared_data / "real/bitfinex/BITFINEX.0", "pub:list:pair:exchange")

    async def run() -> None:
        (btc,) = await bitfinex.fetch_balances()
        assert (btc.asset, btc.free, btc.locked) == ("BTC", 1.25, 0.25)
        assert await bitfinex.fetch_fees(BTC_USD) == (0.001, 0.0025)
        instruments = await bitfinex.fetch_instruments()
        assert len(instruments) == 293
        assert bitfinex.symbols.get("tBTCUST") is not None

    asyncio.run(run())
    assert venue.paths() == ["/v2/auth/r/wallets", "/v2/auth/r/summary",
                             "/v2/conf/pub:list:pair:exchange"]  # fmt: skip


def test_an_ioc_placement_is_read_back_until_final_with_its_fill(
    bitfinex: BitfinexExecution, venue: FakeBitfinex, slept: list[float]
) -> None:
    venue.fill, venue.pending_reads = "0.04", 1
    partial = asyncio.run(bitfinex.place_order(_order(tif=TimeInForce.IOC, cid="arb-ioc-1")))
    assert (partial.status, partial.filled_raw, partial.filled_quote, partial.client_order_id) == (
        OrderStatus.EXPIRED, 4_000_000, pytest.approx(1200.02), "arb-ioc-1",
    )  # 0.04 at an average 30000.5; the rest of an IOC is not kept  # fmt: skip
    hist, active = "/v2/auth/r/orders/tBTCUSD/hist", "/v2/auth/r/orders/tBTCUSD"
    assert venue.paths() == [constants.SUBMIT_ORDER_PATH, hist, active, hist]
    assert json.loads(venue.seen[1].body) == {"limit": constants.HISTORY_LIMIT, "id": [101]}
    assert slept == [0.05]
    venue.fill = "-2.5"
    done = asyncio.run(bitfinex.place_order(_order(type=OrderType.MARKET, side=OrderSide.SELL,
                                                   size=250_000_000, cid="arb-mkt-1")))  # fmt: skip
    assert (done.status, done.filled_raw, done.side) == (OrderStatus.FILLED, 250_000_000,
                                                         OrderSide.SELL)  # fmt: skip
    assert venue.paths()[-2:] == [constants.SUBMIT_ORDER_PATH, hist]


def test_a_throttled_placement_waits_then_looks_up_before_sending_again(
    bitfinex: BitfinexExecution, venue: FakeBitfinex, slept: list[float]
) -> None:
    venue.hook(SUBMIT_KEY, lambda request: _reply({"error": "ERR_RATE_LIMIT"}, 429))
    asyncio.run(bitfinex.place_order(_order()))
    assert slept == [20.0]  # 60 s block, capped by the retry policy's longest wait
    assert venue.paths().count(constants.SUBMIT_ORDER_PATH) == 2


def test_a_refused_placement_raises_the_venue_error_once(
    bitfinex: BitfinexExecution, venue: FakeBitfinex
) -> None:
    text = "Invalid order: not enough exchange balance for 0.1 tBTCUSD at 10000"
    venue.hook(
        SUBMIT_KEY, lambda request: _reply(_notification("on-req", None, "ERROR", text), 200)
    )
    with pytest.raises(InsufficientFunds, match="not enough exchange balance") as caught:
        asyncio.run(bitfinex.place_order(_order()))
    assert (caught.value.venue_code, caught.value.http_status) == ("ERROR", 200)
    assert venue.paths() == [constants.SUBMIT_ORDER_PATH]


def test_the_client_builds_its_own_http_client_from_a_base_url(venue: FakeBitfinex) -> None:
    bitfinex = BitfinexExecution(CREDENTIALS, SymbolMap.of("bitfinex", INSTRUMENTS),
                                 base_url="https://bitfinex.test",
                                 transport=venue.transport())  # fmt: skip
    assert bitfinex.http.limiter is not None
    assert [b.spec for b in bitfinex.http.limiter.budgets] == list(constants.RATE_LIMITS)
    (btc,) = asyncio.run(bitfinex.fetch_balances())
    assert btc.asset == "BTC"
    wrong = BitfinexExecution(Credentials(API_KEY, "wrong-secret"), INSTRUMENTS,
                              base_url="https://bitfinex.test",
                              transport=venue.transport())  # fmt: skip
    with pytest.raises(AuthenticationError, match="apikey: digest invalid"):
        asyncio.run(wrong.fetch_balances())


def test_no_secret_reaches_logs_errors_or_reprs(
    venue: FakeBitfinex, slept: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    venue.hook(SUBMIT_KEY, timeout(), lambda request: _reply(["error", 10100, "apikey: invalid"]))
    http = HttpClient("bitfinex", constants.REST_AUTH_URL, check=check, sleep=sleep,
                      transport=venue.transport(),
                      retry=RetryPolicy(attempts=2))  # fmt: skip
    bitfinex = BitfinexExecution(CREDENTIALS, INSTRUMENTS, http=http)
    shown = [repr(bitfinex), str(bitfinex), repr(CREDENTIALS)]
    with caplog.at_level(logging.DEBUG):
        for call in (bitfinex.place_order(_order()), bitfinex.fetch_order(BTC_USD, "missing")):
            with pytest.raises(ExchangeError) as caught:
                asyncio.run(call)
            shown += [str(caught.value), repr(caught.value)]
    text = "\n".join(shown) + caplog.text
    assert caplog.text  # the retry and the lookup were logged
    for secret in (SECRET, API_KEY):
        assert secret not in text


def _contract_build(attempts: int) -> tuple[FakeBitfinex, VenueTrading]:
    fake = FakeBitfinex()
    http = HttpClient("bitfinex", constants.REST_AUTH_URL, check=check, sleep=no_sleep,
                      transport=fake.transport(), retry=RetryPolicy(attempts=attempts))  # fmt: skip
    return fake, BitfinexExecution(CREDENTIALS, INSTRUMENTS, http=http, sleep=no_sleep)


#: How Bitfinex runs the shared trading scenarios (tests/exchanges/test_trading_contract.py).
CASE = TradingCase[FakeBitfinex](
    venue="bitfinex",
    build=_contract_build,
    order=lambda cid, tif: _order(cid=cid, tif=tif),
    place_key=SUBMIT_KEY,
    sent_id=lambda request: json.loads(request.body)["cid"],  # (a text id goes out hashed)
    verify=lambda request: auth.verify(request, CREDENTIALS),
    signature=lambda request: request.header("bfx-signature"),
    land=lambda fake, request: fake.submit(json.loads(request.body)),
    booked=lambda fake: len(fake.active) + len(fake.history),
    # the submit, the active orders, the history, the submit again
    resend_paths=(
        constants.SUBMIT_ORDER_PATH,
        f"{constants.ACTIVE_ORDERS_PATH}/tBTCUSD",
        f"{constants.ACTIVE_ORDERS_PATH}/tBTCUSD/hist",
        constants.SUBMIT_ORDER_PATH,
    ),
    landed_paths=(constants.SUBMIT_ORDER_PATH, f"{constants.ACTIVE_ORDERS_PATH}/tBTCUSD"),
    landed_status=OrderStatus.OPEN,
    lost_match="nothing was placed",
    refuse=lambda fake: fake.hook(
        f"POST {constants.WALLETS_PATH}", lambda r: _reply(["error", 10100, "apikey: invalid"])
    ),
    secrets=(SECRET, API_KEY),
)


# --- rounding and minimums on the recorded pairs ----------------------------------------------


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> dict[str, Instrument]:
    payload = load_rest_body(shared_data / "real/bitfinex/BITFINEX.0", "pub:list:pair:exchange")
    return parse_instruments(payload).by_symbol()


@pytest.mark.recording
def test_prepare_order_then_the_five_digit_grid_on_recorded_pairs(
    recorded: dict[str, Instrument],
) -> None:
    btc = recorded["BTC/USDT"]  # tBTCUST: 8-decimal steps, no minimums in the pair list
    assert (btc.native_symbol, btc.tick_size, btc.lot_size, btc.min_qty) == ("tBTCUST", 1, 1, 0)
    sell = prepare_order(btc, OrderSide.SELL, 123_456_789, price_raw=6_154_372_345_678,
                         client_order_id="1")  # fmt: skip
    assert (sell.price_text, sell.size_text) == ("61543.72345678", "1.23456789")
    with pytest.raises(InvalidOrder, match="significant digits"):
        order_request(sell)  # Bitfinex would truncate it to 61543, a cheaper sell
    graded = prepare_order(btc, OrderSide.SELL, sell.size_raw,
                           price_raw=round_price(sell.price_raw or 0, OrderSide.SELL),
                           client_order_id="1")  # fmt: skip
    body = json.loads(order_request(graded).body)
    assert (body["symbol"], body["price"], body["amount"]) == ("tBTCUST", "61544", "-1.23456789")
    doge = recorded["DOG/USD"]  # a sub-cent price keeps 5 digits: 0.0012345
    price = round_price(123_456, OrderSide.BUY)
    buy = prepare_order(doge, OrderSide.BUY, 100_000_000_000, price_raw=price, client_order_id="2")
    assert json.loads(order_request(buy).body)["price"] == "0.0012345"


@pytest.mark.recording
def test_prepare_order_refuses_what_the_recorded_grid_cannot_hold(
    recorded: dict[str, Instrument],
) -> None:
    eth = recorded["ETH/BTC"]
    with pytest.raises(InvalidOrder, match="size must be positive"):
        prepare_order(eth, OrderSide.BUY, 0, price_raw=3_000_000)
    with pytest.raises(InvalidOrder, match="positive price"):
        prepare_order(eth, OrderSide.BUY, 1, price_raw=0)
