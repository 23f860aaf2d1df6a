"""Bitfinex v2 spot orders over REST: pure request builders and reply parsers, BitfinexExecution.

Every authenticated call is a POST with a JSON body to ``/v2/auth/...``, signed by :mod:`auth`.
Refusals come two ways: ``["error", CODE, "text"]`` with an HTTP error status, or a notification
``[MTS, TYPE, ID, null, DATA, CODE, STATUS, TEXT]`` with HTTP 200 and STATUS ``ERROR`` or
``FAILURE``; :func:`check` maps both onto the ExchangeError tree.

Spot orders are the ``EXCHANGE`` types (``EXCHANGE LIMIT``, ``EXCHANGE IOC``, ``EXCHANGE FOK``,
``EXCHANGE MARKET``; post-only is flag 4096); the amount's sign is the side. The client order
id travels as ``cid``, an integer below 2**45: an id that is such a number
(:meth:`BitfinexExecution.new_client_order_id`) is sent as itself and comes back unchanged; any
other id is sent as a 45-bit hash of itself, and the execution remembers which id it stood for.
Bitfinex does not promise to refuse a repeated ``cid``, so a placement whose outcome is unknown
is looked up before it is sent again (:meth:`~arbcore.exchanges.rest.SignedRest.place`), in the
symbol's active orders and then its history. IOC, FOK and market orders are then read back by
their id until final (:func:`~arbcore.exchanges.rest.finish_immediate`), so the reply says what
filled.

Prices carry at most 5 significant digits and the API truncates the rest, which would make a sell
cheaper: :func:`order_request` refuses such a price and :func:`round_price` rounds one onto the
5-digit grid, passively by default. Numbers are read exactly: JSON numbers keep their text.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Unpack

import httpx

from arbcore.errors import (
    ExchangeError,
    InvalidOrder,
    MalformedMessage,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.exchanges.bitfinex import auth, constants
from arbcore.exchanges.bitfinex.providers import parse_instruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.execution_base import ExecutionOptions, ExecutionSpec, RestExecution
from arbcore.exchanges.replies import (
    decimal_of,
    json_or_none,
    raw_decimal,
    request_line,
    retry_after_s,
    status_error,
    venue_error,
)
from arbcore.exchanges.rest import OrderLookup, compact_json, known_order
from arbcore.exchanges.signing import IncreasingNonce
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import (
    OrderRequest,
    Rounding,
    VenueTrading,
    decimal_text,
    own_instrument,
)
from arbcore.model import Balance, Instrument, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore_ext.fixedpoint import round_to_step

__all__ = [
    "BitfinexExecution",
    "active_orders_request",
    "cancel_request",
    "check",
    "cid_of",
    "history_request",
    "order_request",
    "order_status",
    "parse_ack",
    "parse_balances",
    "parse_fees",
    "parse_order",
    "parse_orders",
    "round_price",
    "summary_request",
    "wallets_request",
]

logger = logging.getLogger(__name__)

VENUE = constants.VENUE

# order array indices (docs: rest-auth-retrieve-orders, "Order arrays")
ID, CID, SYMBOL, MTS_CREATE, AMOUNT, AMOUNT_ORIG, ORDER_TYPE, FLAGS, STATUS, PRICE, PRICE_AVG = (
    0, 2, 3, 4, 6, 7, 8, 12, 13, 16, 17,
)  # fmt: skip
# notification indices: [MTS, TYPE, MESSAGE_ID, null, DATA, CODE, STATUS, TEXT]
N_DATA, N_CODE, N_STATUS, N_TEXT = 4, 5, 6, 7


# --- requests -------------------------------------------------------------------------------------


def cid_of(client_order_id: str) -> int:
    """Bitfinex's integer ``cid`` for a client order id.

    A decimal below 2**45 without leading zeros is its own cid (it round-trips); anything else
    is a 45-bit SHA-256 hash of the id, the same every time, so a lookup can recompute it.
    """
    if not client_order_id:
        raise InvalidOrder("an order needs a client order id", venue=VENUE)
    if client_order_id.isdigit() and not client_order_id.startswith("0"):
        value = int(client_order_id)
        if value < constants.CID_LIMIT:
            return value
    digest = hashlib.sha256(client_order_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % constants.CID_LIMIT or 1


def _significant_step(price_raw: int) -> int:
    """The raw step that leaves 5 significant digits: 10**(digits - 5), at least 1."""
    step: int = 10 ** max(0, len(str(price_raw)) - constants.PRICE_SIGNIFICANT_DIGITS)
    return step


def round_price(price_raw: int, side: OrderSide, rounding: Rounding = Rounding.PASSIVE) -> int:
    """The price on Bitfinex's 5-significant-digit grid: passively (buys down, sells up) unless
    ``rounding`` says otherwise. ``prepare_order`` cannot know this grid (it moves with the
    price), so call this on its price first."""
    round_up = (side is OrderSide.SELL) == (rounding is Rounding.PASSIVE)
    return round_to_step(price_raw, _significant_step(price_raw), "up" if round_up else "down")


def private_request(
    path: str, body: Mapping[str, object] | None = None, *, weight: float = 1.0,
    is_order: bool = False,
) -> HttpRequest:  # fmt: skip
    """An unsigned authenticated call: POST, compact JSON body (``{}`` when empty)."""
    return HttpRequest(
        method="POST",
        path=path,
        body=compact_json(body or {}),
        headers=(("Content-Type", constants.JSON_CONTENT_TYPE),),
        weight=weight,
        is_order=is_order,
    )


_LIMIT_TYPES = {tif: name for name, (kind, tif) in constants.ORDER_TYPES.items()
                if kind is OrderType.LIMIT}  # fmt: skip


def _order_type(order: OrderRequest) -> str:
    """EXCHANGE MARKET, or the limit type of its time in force (post-only: EXCHANGE LIMIT and
    a flag)."""
    if order.type is OrderType.MARKET:
        if order.time_in_force is TimeInForce.POST_ONLY:
            raise InvalidOrder(f"{order.symbol}: a market order cannot be post-only", venue=VENUE)
        return "EXCHANGE MARKET"
    return _LIMIT_TYPES.get(order.time_in_force, "EXCHANGE LIMIT")


def order_request(order: OrderRequest) -> HttpRequest:
    """Submit Order: ``type, symbol, amount, price`` (the documentation's order), ``cid``, flags.

    The amount is signed (negative sells); market orders carry no price; post-only is
    ``EXCHANGE LIMIT`` with flag 4096.
    """
    instrument = own_instrument(order.instrument, VENUE)
    if order.size_raw <= 0:
        raise InvalidOrder(f"{order.symbol}: size must be positive", venue=VENUE)
    amount = decimal_text(order.size_raw, instrument.size_decimals)
    body: dict[str, object] = {
        "type": _order_type(order),
        "symbol": instrument.native_symbol,
        "amount": amount if order.side is OrderSide.BUY else f"-{amount}",
    }
    if order.type is OrderType.LIMIT:
        price = order.price_raw
        if price is None or price <= 0:
            raise InvalidOrder(f"{order.symbol}: a limit order needs a positive price", venue=VENUE)
        if price % _significant_step(price):
            raise InvalidOrder(
                f"{order.symbol}: price {order.price_text} has more than "
                f"{constants.PRICE_SIGNIFICANT_DIGITS} significant digits, which Bitfinex "
                "truncates; round it with bitfinex.execution.round_price",
                venue=VENUE,
            )
        body["price"] = decimal_text(price, instrument.price_decimals)
    body["cid"] = cid_of(order.client_order_id)
    if order.time_in_force is TimeInForce.POST_ONLY:
        body["flags"] = constants.FLAG_POST_ONLY
    return private_request(constants.SUBMIT_ORDER_PATH, body, weight=0.0, is_order=True)


def cancel_request(venue_order_id: str) -> HttpRequest:
    """Cancel Order by Bitfinex's order id (found through the active orders)."""
    return private_request(constants.CANCEL_ORDER_PATH, {"id": int(venue_order_id)}, weight=0.0,
                           is_order=True)  # fmt: skip


def active_orders_request(
    instrument: Instrument | None = None, ids: Sequence[int] = ()
) -> HttpRequest:
    """The active orders (of one symbol; only these order ids when given)."""
    suffix = "" if instrument is None else f"/{instrument.native_symbol}"
    body = {"id": list(ids)} if ids else None
    return private_request(constants.ACTIVE_ORDERS_PATH + suffix, body)


def history_request(instrument: Instrument, ids: Sequence[int] = ()) -> HttpRequest:
    """The symbol's closed orders, newest first (only these order ids when given)."""
    path = f"{constants.ACTIVE_ORDERS_PATH}/{instrument.native_symbol}"
    body: dict[str, object] = {"limit": constants.HISTORY_LIMIT}
    if ids:
        body["id"] = list(ids)
    return private_request(path + constants.ORDERS_HISTORY_SUFFIX, body)


def wallets_request() -> HttpRequest:
    return private_request(constants.WALLETS_PATH)


def summary_request() -> HttpRequest:
    return private_request(constants.SUMMARY_PATH)


def instruments_request() -> HttpRequest:
    return HttpRequest(method="GET", path=constants.CONF_PATH + constants.INSTRUMENTS_PATH)


# --- replies --------------------------------------------------------------------------------------


def _state(status_text: str) -> OrderStatus:
    known = [key for key in constants.ORDER_STATES if status_text.startswith(key)]
    if not known:
        raise MalformedMessage(f"order status {status_text!r} is not one Bitfinex documents",
                               venue=VENUE)  # fmt: skip
    return constants.ORDER_STATES[max(known, key=len)]


def order_status(
    status_text: str, size_raw: int, filled_raw: int, *, final: bool = False
) -> OrderStatus:
    """Bitfinex's STATUS text and the fill; ``final`` for orders read from the history.

    An active order with a fill is partially filled; an order in the history is done, so what
    still reads as active or partially filled there was canceled with its fill.
    """
    status = _state(status_text)
    if status is OrderStatus.OPEN and filled_raw > 0:
        status = OrderStatus.PARTIALLY_FILLED
    if final and status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
        return OrderStatus.CANCELED
    return status


def _field(order: Sequence[Any], index: int, what: str) -> Any:
    if len(order) <= index:
        raise MalformedMessage(f"order array has no {what} (index {index})", venue=VENUE)
    return order[index]


def parse_order(
    order: Any, instrument: Instrument, *, final: bool = False, client_order_id: str | None = None
) -> Order:
    """One order array as an exact Order; ``client_order_id`` names the cid when the caller knows
    it (else the cid's decimal text). ``filled_quote`` is PRICE_AVG times the filled amount."""
    if not isinstance(order, list):
        raise MalformedMessage("order is not a JSON array", venue=VENUE)
    symbol = _field(order, SYMBOL, "SYMBOL")
    if symbol != instrument.native_symbol:
        raise MalformedMessage(f"order for {symbol} parsed as {instrument.native_symbol}",
                               venue=VENUE)  # fmt: skip
    kind = constants.ORDER_TYPES.get(_field(order, ORDER_TYPE, "ORDER_TYPE"))
    if kind is None:
        raise MalformedMessage(f"order type {order[ORDER_TYPE]!r} is not one arbcore trades",
                               venue=VENUE)  # fmt: skip
    order_type, time_in_force = kind
    flags = _field(order, FLAGS, "FLAGS")
    if isinstance(flags, int) and flags & constants.FLAG_POST_ONLY:
        time_in_force = TimeInForce.POST_ONLY
    original = raw_decimal(_field(order, AMOUNT_ORIG, "AMOUNT_ORIG"), instrument.size_decimals,
                           "AMOUNT_ORIG", VENUE, allow_negative=True)  # fmt: skip
    remaining = raw_decimal(_field(order, AMOUNT, "AMOUNT"), instrument.size_decimals, "AMOUNT",
                            VENUE, allow_negative=True)  # fmt: skip
    if original == 0:
        raise MalformedMessage("order has an original amount of 0", venue=VENUE)
    size, filled = abs(original), abs(original) - abs(remaining)
    price = 0
    if order_type is OrderType.LIMIT:
        price = raw_decimal(_field(order, PRICE, "PRICE"), instrument.price_decimals, "PRICE",
                            VENUE)  # fmt: skip
    status_text = _field(order, STATUS, "STATUS")
    if not isinstance(status_text, str):
        raise MalformedMessage("order STATUS is not text", venue=VENUE)
    cid, created = order[CID], order[MTS_CREATE]
    average = order[PRICE_AVG] if len(order) > PRICE_AVG else None
    if client_order_id is None:
        client_order_id = str(cid) if isinstance(cid, int) else ""
    return Order(
        venue=VENUE,
        symbol=instrument.symbol,
        client_order_id=client_order_id,
        side=OrderSide.BUY if original > 0 else OrderSide.SELL,
        type=order_type,
        price_raw=price,
        size_raw=size,
        time_in_force=time_in_force,
        status=order_status(status_text, size, filled, final=final),
        filled_raw=filled,
        venue_order_id=str(order[ID]),
        ts_created_ns=created * 1_000_000 if isinstance(created, int) else 0,
        filled_quote=_quote(average, filled, instrument),
    )


def _quote(average: object, filled_raw: int, instrument: Instrument) -> float:
    """PRICE_AVG x the filled amount (0.0 when the venue gives no average)."""
    if average is None or filled_raw == 0:
        return 0.0
    amount = Decimal(filled_raw).scaleb(-instrument.size_decimals)
    return float(_decimal(average, "PRICE_AVG") * amount)


def parse_orders(
    orders: Any,
    symbols: SymbolMap,
    *,
    final: bool = False,
    names: Callable[[int], str] = str,
) -> list[Order]:
    """A list of order arrays; ``names`` turns a cid into the client order id it stands for.
    Orders of symbols or types arbcore does not know are skipped and logged."""
    if not isinstance(orders, list):
        raise MalformedMessage("orders reply is not a JSON array", venue=VENUE)
    parsed = []
    for entry in orders:
        try:
            if not isinstance(entry, list) or len(entry) <= PRICE:
                raise MalformedMessage("order entry is not an order array", venue=VENUE)
            instrument = symbols.get(str(entry[SYMBOL]))
            if instrument is None:
                raise MalformedMessage(f"symbol {entry[SYMBOL]} is not configured", venue=VENUE)
            cid = entry[CID]
            name = names(cid) if isinstance(cid, int) else ""
            parsed.append(parse_order(entry, instrument, final=final, client_order_id=name))
        except MalformedMessage as exc:
            order_id = entry[ID] if isinstance(entry, list) and entry else "?"
            logger.info("bitfinex: order %s skipped: %s", order_id, exc)
    return parsed


def notification(body: Any) -> tuple[str, Any, Any, str] | None:
    """``(STATUS, CODE, DATA, TEXT)`` of a notification array, None for anything else."""
    if (
        isinstance(body, list)
        and len(body) > N_TEXT
        and isinstance(body[1], str)
        and isinstance(body[N_STATUS], str)
    ):
        return body[N_STATUS], body[N_CODE], body[N_DATA], str(body[N_TEXT])
    return None


def parse_ack(body: Any, order: OrderRequest) -> Order:
    """Submit Order's ``on-req`` notification: the new order, named by our client order id."""
    parsed = notification(body)
    if parsed is None:
        raise MalformedMessage("Submit Order reply is not a notification", venue=VENUE)
    data = parsed[2]
    if isinstance(data, list) and data and isinstance(data[0], list):
        data = data[0]  # submit answers with a list of the new orders
    return parse_order(data, order.instrument, client_order_id=order.client_order_id)


def _decimal(value: object, what: str) -> Decimal:
    return decimal_of(value, what, VENUE)


def parse_balances(body: Any) -> list[Balance]:
    """The ``exchange`` (spot) wallets: free = AVAILABLE_BALANCE (the balance when the venue
    leaves it null), locked = the rest."""
    if not isinstance(body, list):
        raise MalformedMessage("wallets reply is not a JSON array", venue=VENUE)
    balances = []
    for wallet in body:
        if not (isinstance(wallet, list) and len(wallet) > 4):
            raise MalformedMessage(f"wallet {wallet!r} is not a wallet array", venue=VENUE)
        if wallet[0] != constants.EXCHANGE_WALLET:
            continue
        code = str(wallet[1])
        total = _decimal(wallet[2], f"{code} balance")
        free = total if wallet[4] is None else _decimal(wallet[4], f"{code} available")
        balances.append(Balance(venue=VENUE, asset=constants.CURRENCY_ALIASES.get(code, code),
                                free=float(free), locked=float(total - free)))  # fmt: skip
    return balances


def parse_fees(body: Any, instrument: Instrument) -> tuple[float, float]:
    """The account summary's maker fee and the taker fee for the instrument's kind of quote."""
    try:
        maker_info, taker_info = body[4][0], body[4][1]
        maker = maker_info[0]
        quote = instrument.quote
        if quote in constants.FIAT_CURRENCIES:
            taker = taker_info[2]
        elif quote in constants.STABLE_CURRENCIES:
            taker = taker_info[1]
        else:
            taker = taker_info[0]
    except (TypeError, IndexError, KeyError) as exc:
        raise MalformedMessage("summary reply has no fee info at index 4", venue=VENUE) from exc
    return float(_decimal(maker, "maker fee")), float(_decimal(taker, "taker fee"))


# --- errors ---------------------------------------------------------------------------------------


def _refusal(code: object, text: str, response: httpx.Response) -> ExchangeError:
    """The ExchangeError for a Bitfinex refusal: its text first, then its code."""
    lowered = text.lower()
    cls = next((c for needle, c in constants.ERROR_TEXTS if needle in lowered), None)
    if cls is None and isinstance(code, int):
        cls = constants.ERROR_CODES.get(code)
    cls = cls or ExchangeError
    venue_code = code if isinstance(code, int | str) else text
    if cls is RateLimitExceeded:
        text = f"{text}; the IP is blocked for up to a minute, slow down"
    wait = retry_after_s(response.headers, constants.RATE_LIMIT_BLOCK_S)
    return venue_error(cls, text, venue=VENUE, http_status=response.status_code,
                       venue_code=venue_code, retry_after=wait)  # fmt: skip


def check(response: httpx.Response) -> ExchangeError | None:
    """The ExchangeError a Bitfinex reply means, or None for a success.

    ``["error", CODE, "text"]`` (HTTP 4xx/5xx), ``{"error": "ERR_RATE_LIMIT"}`` and
    notifications whose STATUS is ``ERROR``/``FAILURE`` (HTTP 200) are refusals; otherwise the
    HTTP status decides.
    """
    body = json_or_none(response)
    if isinstance(body, list) and len(body) >= 3 and body[0] == "error":
        return _refusal(body[1], str(body[2]), response)
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        text = body["error"]
        detail = body.get("error_description")
        return _refusal(None, f"{text}: {detail}" if detail else text, response)
    parsed = notification(body)
    if parsed is not None and parsed[0] in ("ERROR", "FAILURE"):
        status, code, _, text = parsed
        return _refusal(code if code is not None else status, text, response)
    generic = status_error(response, VENUE)
    if generic is not None:
        return generic
    if body is None:
        return ExchangeError(f"{request_line(response)}: the reply is not JSON", venue=VENUE,
                             http_status=response.status_code)  # fmt: skip
    return None


# --- the client -----------------------------------------------------------------------------------


class BitfinexExecution(RestExecution):
    """Bitfinex spot trading over REST (:class:`RestExecution`): the pure functions above.

    A submitted IOC or market order is read back by its id until final; a cancel goes by the
    order's id (found by cid) and an order already closed comes back as it ended.
    """

    spec = ExecutionSpec(
        venue=VENUE,
        base_url=constants.REST_AUTH_URL,
        check=check,
        rate_limits=constants.RATE_LIMITS,
        sign=auth.sign,
        order_request=order_request,
        accept=parse_ack,
        instruments_request=instruments_request(),
        parse_instruments=parse_instruments,
        instruments_exact=False,
        nonce_scale=constants.NONCE_SCALE,
    )
    #: How many non-numeric client order ids are remembered by their hashed cid.
    NAMES_KEPT = 10_000
    _cids = IncreasingNonce(10_000)  # tenths of a millisecond: below 2**45 until 2081

    def __init__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        **options: Unpack[ExecutionOptions],
    ) -> None:
        self._names: dict[int, str] = {}
        super().__init__(credentials, instruments, **options)

    @classmethod
    def new_client_order_id(cls) -> str:
        """A client order id that is its own cid: a decimal below 2**45, increasing."""
        return cls._cids()

    def _name(self, cid: int) -> str:
        return self._names.get(cid, str(cid))

    def _remember(self, client_order_id: str) -> int:
        cid = cid_of(client_order_id)
        if str(cid) != client_order_id:
            self._names[cid] = client_order_id
            if len(self._names) > self.NAMES_KEPT:
                self._names.pop(next(iter(self._names)))
        return cid

    async def _order_request(self, order: OrderRequest) -> HttpRequest:
        request = order_request(order)
        self._remember(order.client_order_id)
        return request

    def _read_back(self, instrument: Instrument, placed: Order) -> OrderLookup:
        return lambda: self._by_id(instrument, placed)

    async def _by_id(self, instrument: Instrument, placed: Order) -> Order | None:
        """The order by Bitfinex's id: its history first (where a done IOC is), then active."""
        if placed.venue_order_id is None:
            return None
        order_id = int(placed.venue_order_id)
        for request, final in ((history_request(instrument, [order_id]), True),
                               (active_orders_request(instrument, [order_id]), False)):  # fmt: skip
            orders = await self.rest.send(request)
            if not isinstance(orders, list):
                raise MalformedMessage(f"{request.path} reply is not a JSON array", venue=VENUE)
            for entry in orders:
                if isinstance(entry, list) and entry and entry[ID] == order_id:
                    return parse_order(entry, instrument, final=final)
        return None

    async def _active(self, instrument: Instrument, cid: int) -> list[Any] | None:
        orders = await self.rest.send(active_orders_request(instrument))
        if not isinstance(orders, list):
            raise MalformedMessage("active orders reply is not a JSON array", venue=VENUE)
        return next((o for o in orders if isinstance(o, list) and len(o) > CID and o[CID] == cid),
                    None)  # fmt: skip

    async def _find(self, instrument: Instrument, client_order_id: str) -> Order | None:
        """The order with that client id: the symbol's active orders, then its history."""
        active = await self._active(instrument, cid_of(client_order_id))
        if active is not None:
            return parse_order(active, instrument, client_order_id=client_order_id)
        return await self._closed(instrument, client_order_id)

    async def _closed(self, instrument: Instrument, client_order_id: str) -> Order | None:
        cid = cid_of(client_order_id)
        closed = await self.rest.send(history_request(instrument))
        if not isinstance(closed, list):
            raise MalformedMessage("orders history reply is not a JSON array", venue=VENUE)
        for entry in closed:  # newest first
            if isinstance(entry, list) and len(entry) > CID and entry[CID] == cid:
                return parse_order(entry, instrument, final=True, client_order_id=client_order_id)
        return None

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """Cancel by the order's id (found by cid), then read it back; an order already closed
        is returned as it ended."""
        active = await self._active(instrument, cid_of(client_order_id))
        if active is None:
            order = await self._closed(instrument, client_order_id)
        else:
            with contextlib.suppress(OrderNotFound):  # it closed meanwhile: the lookup says how
                await self.rest.send(cancel_request(str(active[ID])))
            order = await self._find(instrument, client_order_id)
        return known_order(order, client_order_id, VENUE)

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        return known_order(await self._find(instrument, client_order_id), client_order_id, VENUE)

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        body = await self.rest.send(active_orders_request(instrument))
        return parse_orders(body, self.symbols, names=self._name)

    async def fetch_balances(self) -> list[Balance]:
        return parse_balances(await self.rest.send(wallets_request()))

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        return parse_fees(await self.rest.send(summary_request()), instrument)


if TYPE_CHECKING:

    def _conforms(execution: BitfinexExecution) -> VenueTrading:
        return execution  # mypy checks BitfinexExecution against the shared contract
