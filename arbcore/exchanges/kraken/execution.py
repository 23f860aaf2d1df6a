"""Kraken spot orders over REST: pure request builders and reply parsers, and KrakenExecution.

Every private call is a form-encoded POST to ``/0/private/<Method>`` signed by :mod:`auth`, and
every reply is ``{"error": [...], "result": ...}`` with HTTP 200 even when it failed: a non-empty
``error`` (``EOrder:Insufficient funds``) is the failure, which :func:`check` maps onto the
ExchangeError tree for the HttpClient.

Orders carry the client order id in ``cl_ord_id`` (a UUID or at most 18 characters of text), which
Kraken echoes in every order view and accepts for cancels. Kraken only refuses a duplicate
``cl_ord_id`` while the first order is open, and QueryOrders cannot search by it, so
:meth:`KrakenExecution.fetch_order` looks in OpenOrders, then ClosedOrders. A placement whose
outcome is unknown (a timeout, a 5xx, a throttled reply) is therefore never resent blindly: the
order is looked up by its id and sent again only when Kraken has none
(:meth:`~arbcore.exchanges.rest.SignedRest.place`). AddOrder's reply names the order but not its
fills, so an IOC or market order is read back by its txid until final
(:func:`~arbcore.exchanges.rest.finish_immediate`): the router takes the reply's fill as the
leg's outcome.

Numbers are read exactly: replies are decoded with JSON numbers kept as their text, prices and
sizes go through ``to_raw`` at the instrument's decimals, and requests carry the shortest exact
decimal text (``37500``, ``1.25``), as the documentation's examples do.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeNotAvailable,
    InvalidOrder,
    MalformedMessage,
    RateLimitExceeded,
)
from arbcore.exchanges.execution_base import ExecutionSpec, RestExecution
from arbcore.exchanges.kraken import auth, constants
from arbcore.exchanges.kraken.providers import parse_instruments, unified_asset
from arbcore.exchanges.replies import (
    decimal_of,
    json_or_none,
    raw_decimal,
    request_line,
    status_error,
    venue_error,
)
from arbcore.exchanges.rest import OrderLookup, known_order
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import (
    OrderRequest,
    VenueTrading,
    accepted_order,
    decimal_text,
    new_client_order_id,
    own_instrument,
)
from arbcore.model import Balance, Instrument, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpRequest

__all__ = [
    "KrakenExecution",
    "balances_request",
    "cancel_request",
    "check",
    "closed_orders_request",
    "fees_request",
    "open_orders_request",
    "order_request",
    "order_status",
    "pair_name",
    "parse_ack",
    "parse_balances",
    "parse_fees",
    "parse_order",
    "parse_orders",
]

logger = logging.getLogger(__name__)

VENUE = constants.VENUE


# --- Kraken requests ------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SHORT_UUID = re.compile(r"[0-9a-fA-F]{32}")


def pair_name(instrument: Instrument) -> str:
    """The REST pair name (``altname``: ``XBTUSD``), the ``wsname`` without its slash."""
    return instrument.native_symbol.replace("/", "")


def check_client_order_id(client_order_id: str) -> str:
    """The id if Kraken accepts it as ``cl_ord_id`` (a UUID, or <= 18 ASCII characters)."""
    if _UUID.fullmatch(client_order_id) or _SHORT_UUID.fullmatch(client_order_id):
        return client_order_id
    if (
        client_order_id
        and len(client_order_id) <= constants.CLIENT_ORDER_ID_MAX_TEXT
        and client_order_id.isascii()
        and client_order_id.isprintable()
    ):
        return client_order_id
    raise InvalidOrder(
        f"client order id {client_order_id!r} is neither a UUID nor text of at most "
        f"{constants.CLIENT_ORDER_ID_MAX_TEXT} characters; "
        "use KrakenExecution.new_client_order_id()",
        venue=VENUE,
    )


def private_request(
    path: str, params: Sequence[tuple[str, str]] = (), *, weight: float = 1.0,
    is_order: bool = False, pair: str = "",
) -> HttpRequest:  # fmt: skip
    """An unsigned private call: POST with a form body (``auth.sign`` puts the nonce first).
    ``pair``: the pair an order call is about (the matching engine counts per pair)."""
    return HttpRequest(
        method="POST",
        path=path,
        body=urlencode(params),
        headers=(("Content-Type", constants.FORM_CONTENT_TYPE),),
        weight=weight,
        is_order=is_order,
        instrument=pair,
    )


def order_request(order: OrderRequest) -> HttpRequest:
    """AddOrder for a limit (GTC, IOC, post-only) or market order, ``cl_ord_id`` set.

    The parameters come in the documentation's order (``ordertype, pair, price, type, volume``),
    then ``cl_ord_id``, ``timeinforce`` (only IOC: GTC is the default) and ``oflags=post``.
    AddOrder does not spend the REST call counter (weight 0); it spends the order budget.
    Fill-or-kill is refused here, before anything is sent: AddOrder's ``timeinforce`` is GTC,
    IOC or GTD only (docs.kraken.com, REST AddOrder), and an IOC would fill in part.
    """
    if order.time_in_force is TimeInForce.FOK:
        raise InvalidOrder(f"{order.symbol}: Kraken spot has no fill-or-kill (AddOrder takes "
                           "timeinforce GTC, IOC or GTD); send an IOC and accept a partial fill, "
                           "or trade it elsewhere", venue=VENUE)  # fmt: skip
    instrument = own_instrument(order.instrument, VENUE)
    params = [("ordertype", "limit" if order.type is OrderType.LIMIT else "market"),
              ("pair", pair_name(instrument))]  # fmt: skip
    if order.type is OrderType.LIMIT:
        if order.price_raw is None or order.price_raw <= 0:
            raise InvalidOrder(f"{order.symbol}: a limit order needs a positive price", venue=VENUE)
        params.append(("price", decimal_text(order.price_raw, instrument.price_decimals)))
    elif order.time_in_force is TimeInForce.POST_ONLY:
        raise InvalidOrder(f"{order.symbol}: a market order cannot be post-only", venue=VENUE)
    if order.size_raw <= 0:
        raise InvalidOrder(f"{order.symbol}: size must be positive", venue=VENUE)
    params += [
        ("type", order.side.value),
        ("volume", decimal_text(order.size_raw, instrument.size_decimals)),
        ("cl_ord_id", check_client_order_id(order.client_order_id)),
    ]
    if order.type is OrderType.LIMIT and order.time_in_force is TimeInForce.IOC:
        params.append(("timeinforce", "IOC"))
    if order.time_in_force is TimeInForce.POST_ONLY:
        params.append(("oflags", "post"))
    return private_request(constants.ADD_ORDER_PATH, params, weight=0.0, is_order=True,
                           pair=pair_name(instrument))  # fmt: skip


def cancel_request(client_order_id: str, instrument: Instrument | None = None) -> HttpRequest:
    """CancelOrder by ``cl_ord_id`` (the matching engine budget of ``instrument``'s pair, not
    the REST counter)."""
    params = [("cl_ord_id", check_client_order_id(client_order_id))]
    pair = "" if instrument is None else pair_name(own_instrument(instrument, VENUE))
    return private_request(constants.CANCEL_ORDER_PATH, params, weight=0.0, is_order=True,
                           pair=pair)  # fmt: skip


def open_orders_request(client_order_id: str | None = None) -> HttpRequest:
    params = [] if client_order_id is None else [("cl_ord_id", client_order_id)]
    return private_request(constants.OPEN_ORDERS_PATH, params)


def closed_orders_request(client_order_id: str) -> HttpRequest:
    return private_request(constants.CLOSED_ORDERS_PATH, [("cl_ord_id", client_order_id)])


def query_orders_request(txid: str) -> HttpRequest:
    return private_request(constants.QUERY_ORDERS_PATH, [("txid", txid)])


def balances_request() -> HttpRequest:
    return private_request(constants.BALANCE_PATH)


def fees_request(instrument: Instrument) -> HttpRequest:
    return private_request(constants.TRADE_VOLUME_PATH, [("pair", pair_name(instrument))])


def instruments_request() -> HttpRequest:
    """Public AssetPairs: limited per IP, not by the key's call counter (weight 0)."""
    return HttpRequest(method="GET", path=constants.INSTRUMENTS_PATH, weight=0.0)


# --- Kraken replies -------------------------------------------------------------------------------

#: ``descr.order`` text, all that older replies describe: ``sell 3.00000000 XBTUSD @ limit 500.0``
_DESCRIPTION = re.compile(
    r"(?P<type>buy|sell) (?P<volume>[0-9.]+) (?P<pair>\S+) @ (?P<ordertype>[a-z-]+)"
    r"(?: (?P<price>[0-9.]+))?(?: .*)?"
)


def result_of(body: Any, what: str) -> Any:
    """The ``result`` of a successful reply (``check`` already raised on ``error``)."""
    if not isinstance(body, Mapping) or "result" not in body:
        raise MalformedMessage(f"{what} reply has no result", venue=VENUE)
    return body["result"]


def order_status(state: str, size_raw: int, filled_raw: int) -> OrderStatus:
    """Kraken's ``status`` and the fill: open and filled = partially filled, closed short =
    canceled (the rest never trades)."""
    status = constants.ORDER_STATES.get(state)
    if status is None:
        raise MalformedMessage(f"order status {state!r} is not one Kraken documents", venue=VENUE)
    if status is OrderStatus.OPEN and filled_raw > 0:
        return OrderStatus.PARTIALLY_FILLED
    if status is OrderStatus.FILLED and filled_raw < size_raw:
        return OrderStatus.CANCELED
    return status


def _description(entry: Mapping[str, Any]) -> dict[str, str]:
    """``descr`` fields, completed from its ``order`` text when the reply gives only that."""
    descr = entry.get("descr")
    if not isinstance(descr, Mapping):
        raise MalformedMessage("order entry has no descr object", venue=VENUE)
    fields = {k: v for k, v in descr.items() if isinstance(v, str)}
    if not {"type", "ordertype", "pair"} <= fields.keys():
        match = _DESCRIPTION.fullmatch(fields.get("order", ""))
        if match is None:
            raise MalformedMessage(f"order description {descr.get('order')!r} is unreadable",
                                   venue=VENUE)  # fmt: skip
        parsed = {k: v for k, v in match.groupdict().items() if v is not None}
        fields = {**parsed, **fields}
    return fields


def description_pair(entry: Mapping[str, Any]) -> str:
    """The pair name an order entry names (``descr.pair`` or its ``order`` text)."""
    return _description(entry)["pair"]


def parse_order(
    entry: Mapping[str, Any], instrument: Instrument, *, txid: str | None = None
) -> Order:
    """One order-info entry (OpenOrders, ClosedOrders, QueryOrders) as an exact Order.

    Market orders carry no limit price: ``price_raw`` is 0; ``cost`` (quote spent or received)
    is ``filled_quote``. Kraken does not report the time in force of a resting order; ``oflags``
    ``post`` reads as post-only, anything else as GTC.
    """
    descr = _description(entry)
    if descr["pair"] != pair_name(instrument):
        raise MalformedMessage(
            f"order for {descr['pair']} parsed as {pair_name(instrument)}", venue=VENUE
        )
    order_type = constants.ORDER_TYPES.get(descr["ordertype"])
    if order_type is None:
        raise MalformedMessage(f"order type {descr['ordertype']!r} is not one arbcore trades",
                               venue=VENUE)  # fmt: skip
    if descr["type"] not in ("buy", "sell"):
        raise MalformedMessage(f"order side {descr['type']!r} is neither buy nor sell", venue=VENUE)
    size = raw_decimal(entry.get("vol"), instrument.size_decimals, "vol", VENUE)
    filled = raw_decimal(entry.get("vol_exec", "0"), instrument.size_decimals, "vol_exec", VENUE)
    price = 0
    if order_type is OrderType.LIMIT:
        price = raw_decimal(descr.get("price"), instrument.price_decimals, "price", VENUE)
    state = entry.get("status")
    if not isinstance(state, str):
        raise MalformedMessage("order entry has no status", venue=VENUE)
    oflags = str(entry.get("oflags") or "").split(",")
    cost = entry.get("cost")
    opened = entry.get("opentm")
    client_order_id = entry.get("cl_ord_id")
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=client_order_id if isinstance(client_order_id, str) else "",
        side=OrderSide(descr["type"]),
        type=order_type,
        price_raw=price,
        size_raw=size,
        time_in_force=TimeInForce.POST_ONLY if "post" in oflags else TimeInForce.GTC,
        status=order_status(state, size, filled),
        filled_raw=filled,
        venue_order_id=txid,
        ts_created_ns=raw_decimal(opened, 9, "opentm", VENUE) if opened is not None else 0,
        filled_quote=float(_decimal(cost, "cost")) if cost is not None else 0.0,
    )


def parse_orders(orders: Any, symbols: Mapping[str, Instrument]) -> list[Order]:
    """An ``{txid: entry}`` map; ``symbols`` by pair name. Orders of pairs or types arbcore does
    not know are skipped and logged (an account may hold stops set by hand)."""
    if not isinstance(orders, Mapping):
        raise MalformedMessage("orders are not a JSON object", venue=VENUE)
    parsed = []
    for txid, entry in orders.items():
        try:
            if not isinstance(entry, Mapping):
                raise MalformedMessage("order entry is not a JSON object", venue=VENUE)
            instrument = symbols.get(description_pair(entry))
            if instrument is None:
                raise MalformedMessage(f"pair {description_pair(entry)} is not configured")
            parsed.append(parse_order(entry, instrument, txid=str(txid)))
        except MalformedMessage as exc:
            logger.info("kraken: order %s skipped: %s", txid, exc)
    return parsed


def parse_ack(body: Any, order: OrderRequest) -> Order:
    """AddOrder's ``{"descr", "txid": [id]}``: the order as sent, open, with Kraken's id.

    The acknowledgement says nothing about fills: an IOC or market order may already be done,
    which :meth:`KrakenExecution.fetch_order` reports.
    """
    result = result_of(body, "AddOrder")
    txids = result.get("txid") if isinstance(result, Mapping) else None
    if not isinstance(txids, list) or not txids or not isinstance(txids[0], str):
        raise MalformedMessage("AddOrder reply has no txid", venue=VENUE)
    return accepted_order(order, txids[0])


def unified_code(code: str) -> str:
    """arbcore's name of a Kraken asset code: ``XXBT`` -> ``BTC``, ``ZUSD`` -> ``USD``."""
    return unified_asset(constants.LEGACY_ASSET_CODES.get(code, code))


def _decimal(value: object, what: str) -> Decimal:
    return decimal_of(value, what, VENUE)


def parse_balances(body: Any) -> list[Balance]:
    """BalanceEx: free = balance + credit - credit_used - hold_trade, locked = hold_trade.

    Assets with a suffix (``ETH2.S``, ``USD.M``: staking and rewards) are read-only and skipped.
    Plain ``Balance`` replies (``{asset: "amount"}``) read as all free.
    """
    result = result_of(body, "BalanceEx")
    if not isinstance(result, Mapping):
        raise MalformedMessage("BalanceEx result is not a JSON object", venue=VENUE)
    balances = []
    for code, entry in result.items():
        if "." in code:
            continue
        if isinstance(entry, Mapping):
            total = _decimal(entry.get("balance", "0"), f"{code} balance")
            held = _decimal(entry.get("hold_trade", "0"), f"{code} hold_trade")
            credit = _decimal(entry.get("credit", "0"), f"{code} credit") - _decimal(
                entry.get("credit_used", "0"), f"{code} credit_used"
            )
        else:
            total, held, credit = _decimal(entry, code), Decimal(0), Decimal(0)
        balances.append(Balance(venue=VENUE, asset=unified_code(code),
                                free=float(total + credit - held), locked=float(held)))  # fmt: skip
    return balances


def _pair_fee(table: object, instrument: Instrument, what: str) -> float | None:
    """The fee (percent -> fraction) of the one pair a TradeVolume table holds."""
    if table is None:
        return None
    if not isinstance(table, Mapping) or not table:
        raise MalformedMessage(f"TradeVolume {what} is not a pair table", venue=VENUE)
    entry = table.get(pair_name(instrument))
    if entry is None and len(table) == 1:  # keyed by the canonical name (XXBTZUSD)
        entry = next(iter(table.values()))
    if not isinstance(entry, Mapping):
        raise MalformedMessage(f"TradeVolume {what} has no entry for {pair_name(instrument)}",
                               venue=VENUE)  # fmt: skip
    return float(_decimal(entry.get("fee"), f"{what} fee") / 100)


def parse_fees(body: Any, instrument: Instrument) -> tuple[float, float]:
    """TradeVolume's ``fees_maker`` and ``fees`` (taker) for the pair, as fractions."""
    result = result_of(body, "TradeVolume")
    if not isinstance(result, Mapping):
        raise MalformedMessage("TradeVolume result is not a JSON object", venue=VENUE)
    taker = _pair_fee(result.get("fees"), instrument, "fees")
    if taker is None:
        raise MalformedMessage("TradeVolume reply has no fees table", venue=VENUE)
    maker = _pair_fee(result.get("fees_maker"), instrument, "fees_maker")
    return (taker if maker is None else maker), taker


# --- errors ---------------------------------------------------------------------------------------

_HINTS: Mapping[type[ExchangeError], str] = {
    AuthenticationError: "check the API key, its secret and permissions, and that nonces increase",
    RateLimitExceeded: "slow down",
    ExchangeNotAvailable: "retry later",
}


def _error_class(text: str) -> type[ExchangeError]:
    known = [prefix for prefix in constants.ERRORS if text.startswith(prefix)]
    if known:
        return constants.ERRORS[max(known, key=len)]
    return constants.ERROR_CATEGORIES.get(text.partition(":")[0], ExchangeError)


def _retry_after(text: str, now_s: float) -> float:
    if text.startswith("EService: Throttled"):
        stamp = text.rpartition(":")[2].strip()
        try:
            return max(0.0, float(stamp) - now_s)
        except ValueError:
            return constants.REST_RATE_LIMIT_RETRY_S
    if text.startswith("EOrder"):
        return constants.ORDER_RATE_LIMIT_RETRY_S
    return constants.REST_RATE_LIMIT_RETRY_S


def _refusal(errors: Sequence[str], http_status: int | None, *, now_s: float) -> ExchangeError:
    """The ExchangeError for Kraken's error strings (the first one decides the class)."""
    text = errors[0]
    cls = _error_class(text)
    hint = _HINTS.get(cls)
    message = "; ".join(errors) + (f"; {hint}" if hint else "")
    return venue_error(cls, message, venue=VENUE, http_status=http_status, venue_code=text,
                       retry_after=_retry_after(text, now_s))  # fmt: skip


def check(response: httpx.Response, *, now_s: float | None = None) -> ExchangeError | None:
    """The ExchangeError a Kraken reply means, or None for a success.

    Kraken answers errors with HTTP 200 and a non-empty ``error`` list; entries starting with
    ``W`` are warnings beside a result and do not fail the call. Without that envelope the HTTP
    status decides (Cloudflare's 5xx and 429 pages are HTML).
    """
    body = json_or_none(response)
    errors = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(errors, list):
        failures = [str(error) for error in errors if not str(error).startswith("W")]
        if failures:
            return _refusal(failures, response.status_code,
                               now_s=time.time() if now_s is None else now_s)  # fmt: skip
    generic = status_error(response, VENUE)
    if generic is not None:
        return generic
    if not isinstance(body, Mapping) or "result" not in body:
        return ExchangeError(
            f"{request_line(response)}: the reply is not Kraken's error/result envelope",
            venue=VENUE,
            http_status=response.status_code,
        )
    return None


# --- the client -----------------------------------------------------------------------------------


def _cancel_request(instrument: Instrument, client_order_id: str) -> HttpRequest:
    return cancel_request(client_order_id, instrument)


class KrakenExecution(RestExecution):
    """Kraken spot trading over REST (:class:`RestExecution`): the pure functions above.

    Nonces come from one :class:`~arbcore.exchanges.signing.IncreasingNonce` per instance;
    several processes on one API key need Kraken's nonce window (a key setting), or their
    interleaved nonces are refused (``EAPI:Invalid nonce``). AddOrder's reply names the order
    but not its fills, so an IOC or market order is read back by its txid (QueryOrders) until
    final; a cancel is read back too (an order already closed comes back as it is).
    """

    spec = ExecutionSpec(
        venue=VENUE,
        base_url=constants.REST_BASE_URL,
        check=check,
        rate_limits=constants.RATE_LIMITS,
        sign=auth.sign,
        order_request=order_request,
        accept=parse_ack,
        # plain json: the fee tables' percentages are JSON numbers the provider reads as such
        instruments_request=instruments_request(),
        parse_instruments=parse_instruments,
        instruments_exact=False,
        cancel_request=_cancel_request,
        nonce_scale=constants.NONCE_SCALE,
    )

    def _set_symbols(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self._by_pair = {pair_name(i): i for i in symbols.by_native.values()}

    @staticmethod
    def new_client_order_id(tag: str = "arb") -> str:
        """A client order id Kraken accepts (text of at most 18 characters)."""
        return new_client_order_id(tag, max_length=constants.CLIENT_ORDER_ID_MAX_TEXT)

    def _read_back(self, instrument: Instrument, placed: Order) -> OrderLookup:
        return lambda: self._by_txid(instrument, placed)

    async def _by_txid(self, instrument: Instrument, placed: Order) -> Order | None:
        """The order by Kraken's id (QueryOrders: one call, where cl_ord_id needs two)."""
        if placed.venue_order_id is None:
            return None
        result = result_of(await self.rest.send(query_orders_request(placed.venue_order_id)),
                           "QueryOrders")  # fmt: skip
        entry = result.get(placed.venue_order_id) if isinstance(result, Mapping) else None
        if not isinstance(entry, Mapping):
            return None
        return parse_order(entry, instrument, txid=placed.venue_order_id)

    async def _find(self, instrument: Instrument, client_order_id: str) -> Order | None:
        """The order with that ``cl_ord_id``: open ones first, then closed ones."""
        for request, key in ((open_orders_request(client_order_id), "open"),
                             (closed_orders_request(client_order_id), "closed")):  # fmt: skip
            result = result_of(await self.rest.send(request), request.path)
            orders = result.get(key) if isinstance(result, Mapping) else None
            if not isinstance(orders, Mapping):
                raise MalformedMessage(f"{request.path} reply has no {key} orders", venue=VENUE)
            for txid, entry in orders.items():
                if isinstance(entry, Mapping) and entry.get("cl_ord_id") == client_order_id:
                    return parse_order(entry, instrument, txid=str(txid))
        return None

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        return known_order(await self._find(instrument, client_order_id), client_order_id, VENUE)

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        result = result_of(await self.rest.send(open_orders_request()), "OpenOrders")
        orders = parse_orders(result.get("open") if isinstance(result, Mapping) else None,
                              self._by_pair)  # fmt: skip
        if instrument is None:
            return orders
        return [order for order in orders if order.symbol == instrument.symbol]

    async def fetch_balances(self) -> list[Balance]:
        return parse_balances(await self.rest.send(balances_request()))

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        return parse_fees(await self.rest.send(fees_request(instrument)), instrument)


if TYPE_CHECKING:

    def _conforms(execution: KrakenExecution) -> VenueTrading:
        return execution  # mypy checks KrakenExecution against the shared contract
