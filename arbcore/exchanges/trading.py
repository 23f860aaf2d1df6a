"""The trading contract every venue's ``execution.py`` fills in, and what all of them share.

- :class:`OrderRequest`: an order already rounded to the instrument's tick and lot and checked
  against its minimums (:func:`prepare_order`), so nothing a venue would refuse for shape is
  ever sent.
- :class:`VenueTrading`: ``sign`` (pure, pinned to the documentation's vectors) and the async
  calls on an :class:`~arbcore.net.http.HttpClient`.
- :func:`new_client_order_id`: ids venues accept and echo back, so a retried placement is
  recognised as the same order and never doubles it.
- What every venue's request builders and order readers share: :func:`decimal_text` (the exact
  text an order carries), :func:`quote_amount` (a market buy sized in the quote asset),
  :func:`check_client_order_id`, :func:`own_instrument`, :func:`accepted_order` (the Order a
  bare acknowledgement stands for) and :func:`orders_on_known_symbols`.

How these requests are signed, sent and placed at most once is :mod:`arbcore.exchanges.rest`;
how replies are read is :mod:`arbcore.exchanges.replies`; signing primitives are
:mod:`arbcore.exchanges.signing`. ``docs/trading.md`` tells the whole layer.
"""

from __future__ import annotations

import enum
import itertools
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import attrs

from arbcore.errors import InvalidOrder, MalformedMessage
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import (
    Balance,
    Instrument,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from arbcore.net.http import HttpRequest
from arbcore_ext.fixedpoint import notional, round_to_step, to_text

__all__ = [
    "OrderRequest",
    "Rounding",
    "VenueTrading",
    "accepted_order",
    "check_client_order_id",
    "decimal_text",
    "new_client_order_id",
    "orders_on_known_symbols",
    "own_instrument",
    "prepare_order",
    "quote_amount",
    "symbol_map",
]

logger = logging.getLogger(__name__)


class Rounding(enum.Enum):
    """How a price is moved onto the tick grid: never toward a worse fill by default."""

    PASSIVE = "passive"  # buys round down, sells round up (never pay more than asked)
    AGGRESSIVE = "aggressive"  # buys round up, sells round down (cross at least as far)


@attrs.frozen(kw_only=True)
class OrderRequest:
    """One order, ready to send: raw integers on the instrument's grid."""

    instrument: Instrument
    side: OrderSide
    type: OrderType
    size_raw: int
    price_raw: int | None  # a market order: None, or the worst price it accepts
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str

    def __attrs_post_init__(self) -> None:
        if self.type is OrderType.MARKET and self.time_in_force is TimeInForce.FOK:
            # OKX and Binance take FOK on limit orders only: one meaning on every venue
            raise InvalidOrder(f"{self.symbol}: fill-or-kill needs a limit price (send a FOK "
                               "limit order at the worst acceptable price)",
                               venue=self.instrument.venue)  # fmt: skip

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def price_text(self) -> str | None:
        return None if self.price_raw is None else self.instrument.price_text(self.price_raw)

    @property
    def size_text(self) -> str:
        return self.instrument.size_text(self.size_raw)


_sequence = itertools.count(1)
_prefix = f"{os.getpid() % 100_000:05d}"


def new_client_order_id(tag: str = "arb", *, max_length: int = 32) -> str:
    """A unique id of ``[A-Za-z0-9]`` (every venue accepts it), at most ``max_length`` long.

    Time in ms, the process id and a counter: unique across restarts and processes.
    """
    text = f"{tag}{int(time.time() * 1000):x}{_prefix}{next(_sequence):06d}"
    return text[-max_length:] if len(text) > max_length else text


def prepare_order(
    instrument: Instrument,
    side: OrderSide,
    size_raw: int,
    *,
    price_raw: int | None = None,
    type: OrderType = OrderType.LIMIT,
    time_in_force: TimeInForce = TimeInForce.GTC,
    client_order_id: str | None = None,
    rounding: Rounding = Rounding.PASSIVE,
) -> OrderRequest:
    """Round to the instrument's tick and lot and check its minimums; InvalidOrder otherwise.

    Time in force: GTC rests, IOC trades what it can at once, FOK all of it at once or nothing
    (both immediate: read back until final), POST_ONLY never takes. FOK and POST_ONLY are for
    limit orders only.

    The size is always rounded down to the lot (never trade more than asked). A market order
    may carry ``price_raw`` as the worst price it accepts (rounded so it never widens): venues
    that size market buys in the quote asset (HTX, Gate.io) send price x size. Its notional is
    checked by the caller, who knows the book.
    """
    venue, symbol = instrument.venue, instrument.symbol
    if size_raw <= 0:
        raise InvalidOrder(f"{symbol}: size must be positive", venue=venue)
    size = round_to_step(size_raw, instrument.lot_size, "down")
    if size <= 0 or size < instrument.min_qty:
        raise InvalidOrder(
            f"{symbol}: size {instrument.size_text(size_raw)} is below the minimum "
            f"{instrument.size_text(max(instrument.min_qty, instrument.lot_size))}",
            venue=venue,
        )
    price: int | None = None
    if type is OrderType.LIMIT:
        if price_raw is None or price_raw <= 0:
            raise InvalidOrder(f"{symbol}: a limit order needs a positive price", venue=venue)
        price = _round_price(price_raw, instrument.tick_size, side, rounding)
        if price <= 0:
            raise InvalidOrder(f"{symbol}: price rounds to zero on the tick grid", venue=venue)
        value = notional(price, size, instrument.price_decimals, instrument.size_decimals,
                         instrument.price_decimals)  # fmt: skip
        if value < instrument.min_notional:
            raise InvalidOrder(
                f"{symbol}: notional {instrument.price_text(value)} is below the minimum "
                f"{instrument.price_text(instrument.min_notional)}",
                venue=venue,
            )
    elif time_in_force is TimeInForce.POST_ONLY:
        raise InvalidOrder(f"{symbol}: a market order cannot be post-only", venue=venue)
    elif price_raw is not None:  # a market order's worst acceptable price, rounded to be safe
        if price_raw <= 0:
            raise InvalidOrder(f"{symbol}: a market order's price bound must be positive",
                               venue=venue)  # fmt: skip
        price = _round_price(price_raw, instrument.tick_size, side, Rounding.PASSIVE)
    return OrderRequest(
        instrument=instrument,
        side=side,
        type=type,
        size_raw=size,
        price_raw=price,
        time_in_force=time_in_force,
        client_order_id=client_order_id or new_client_order_id(),
    )


def _round_price(price: int, tick: int, side: OrderSide, rounding: Rounding) -> int:
    round_up = (side is OrderSide.SELL) == (rounding is Rounding.PASSIVE)
    return round_to_step(price, tick, "up" if round_up else "down")


# --- what the venues' request builders and order readers share --------------------------------


def decimal_text(raw: int, decimals: int) -> str:
    """The shortest exact text of ``raw / 10**decimals`` (``"0.1"``, ``"15600"``): what the
    venues' own request examples send. Never more decimals than the instrument allows, and an
    amount stays at the lot's precision where an instrument holds sizes at a finer scale."""
    text = to_text(raw, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def quote_amount(order: OrderRequest) -> int:
    """What a market buy spends in the quote asset (raw at the price decimals): price x size.

    Venues that size market buys in the quote asset (HTX, Gate.io) need a price to turn the
    size into an amount; ``price_raw`` is the worst price the caller accepts.
    """
    instrument = order.instrument
    if order.price_raw is None or order.price_raw <= 0:
        raise InvalidOrder(
            f"{order.symbol}: market buys are sized in {instrument.quote} on {instrument.venue}; "
            "give price_raw (the worst acceptable price) or send an IOC limit order",
            venue=instrument.venue,
        )
    return notional(order.price_raw, order.size_raw, instrument.price_decimals,
                    instrument.size_decimals, instrument.price_decimals)  # fmt: skip


def check_client_order_id(client_order_id: str, pattern: str, venue: str) -> None:
    """Refuse an id the venue would not accept (and so could not echo or deduplicate)."""
    if re.fullmatch(pattern, client_order_id) is None:
        raise InvalidOrder(
            f"client order id {client_order_id!r} does not match {pattern}", venue=venue
        )


def own_instrument(instrument: Instrument, venue: str) -> Instrument:
    """The instrument, if it is one of ``venue``'s (another venue's symbols mean nothing here)."""
    if instrument.venue != venue:
        raise InvalidOrder(f"{instrument.symbol} is a {instrument.venue} instrument", venue=venue)
    return instrument


def symbol_map(venue: str, instruments: SymbolMap | Iterable[Instrument]) -> SymbolMap:
    """The venue's instruments by native symbol, from a SymbolMap or any instruments."""
    return instruments if isinstance(instruments, SymbolMap) else SymbolMap.of(venue, instruments)


def accepted_order(
    request: OrderRequest,
    venue_order_id: str,
    *,
    echoed: str | None = None,
    ts_created_ns: int = 0,
    market_is_ioc: bool = False,
) -> Order:
    """The Order a bare acknowledgement (ids only) stands for: the request it answers, OPEN.

    Acceptance is not execution: an IOC or market order may already be done (read it back,
    :func:`arbcore.exchanges.rest.settle`). ``echoed`` is the client order id the reply names;
    a reply for another order is malformed. ``market_is_ioc``: the venue reports a market order
    as IOC with no price (HTX, Gate.io), so the acknowledgement says the same.
    """
    venue = request.instrument.venue
    if echoed is not None and echoed != request.client_order_id:
        raise MalformedMessage(
            f"the reply is for order {echoed}, not {request.client_order_id}", venue=venue
        )
    market = market_is_ioc and request.type is OrderType.MARKET
    return Order(
        venue=venue,
        symbol=request.symbol,
        client_order_id=request.client_order_id,
        side=request.side,
        type=request.type,
        price_raw=0 if market else request.price_raw or 0,
        size_raw=request.size_raw,
        time_in_force=TimeInForce.IOC if market else request.time_in_force,
        status=OrderStatus.OPEN,
        venue_order_id=venue_order_id,
        ts_created_ns=ts_created_ns,
    )


def orders_on_known_symbols(
    entries: object,
    symbols: SymbolMap,
    parse: Callable[[Mapping[str, Any], Instrument], Order],
    *,
    venue: str,
    symbol_key: str = "symbol",
) -> list[Order]:
    """Every order of a list; orders on symbols the client does not know are skipped and
    counted in a warning (they cannot be read exactly without the instrument's decimals)."""
    if not isinstance(entries, list):
        raise MalformedMessage("the orders are not a JSON array", venue=venue)
    orders: list[Order] = []
    unknown = 0
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise MalformedMessage("an order is not a JSON object", venue=venue)
        native = entry.get(symbol_key)
        instrument = symbols.get(native) if isinstance(native, str) else None
        if instrument is None:
            unknown += 1
            continue
        orders.append(parse(entry, instrument))
    if unknown:
        logger.warning("%s: %d orders on symbols this client does not know were skipped",
                       venue, unknown)  # fmt: skip
    return orders


class VenueTrading(Protocol):
    """One venue's trading API (its ``execution.py``), over an HttpClient."""

    venue: str

    def sign(
        self,
        request: HttpRequest,
        credentials: Credentials,
        *,
        timestamp_ms: int | None = None,
        nonce: str | None = None,
    ) -> HttpRequest:
        """The request with what the venue's authentication needs added (pure)."""
        ...

    async def place_order(self, order: OrderRequest) -> Order: ...

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order: ...

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order: ...

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]: ...

    async def fetch_balances(self) -> list[Balance]: ...

    async def fetch_instruments(self) -> list[Instrument]: ...

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        """``(maker, taker)`` fee fractions for the account on that instrument."""
        ...
