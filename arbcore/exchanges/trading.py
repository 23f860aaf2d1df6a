"""The trading contract every venue's ``execution.py`` fills in, and what all of them share.

- :class:`OrderRequest`: an order already rounded to the instrument's tick and lot and checked
  against its minimums (:func:`prepare_order`), so nothing a venue would refuse for shape is
  ever sent.
- :class:`VenueTrading`: ``sign`` (pure, pinned to the documentation's vectors) and the async
  calls on an :class:`~arbcore.net.http.HttpClient`.
- :func:`new_client_order_id`: ids venues accept and echo back, so a retried placement is
  recognised as the same order and never doubles it.
"""

from __future__ import annotations

import enum
import itertools
import os
import time
from typing import Protocol

import attrs

from arbcore.errors import InvalidOrder
from arbcore.exchanges.credentials import Credentials
from arbcore.model import Balance, Instrument, Order, OrderSide, OrderType, TimeInForce
from arbcore.net.http import HttpRequest
from arbcore_ext.fixedpoint import notional, round_to_step

__all__ = [
    "OrderRequest",
    "Rounding",
    "VenueTrading",
    "new_client_order_id",
    "prepare_order",
]


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
