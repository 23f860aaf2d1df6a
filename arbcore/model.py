"""Value types shared by every layer: frozen, slotted attrs classes.

Prices and sizes that a book holds or an order sends are raw scaled integers (``*_raw``) at the
instrument's decimals; floats appear only in derived figures (rates, VWAPs, expected profit).
Symbols are unified (``BTC/USDT``); venue-native symbols stay inside the venue packages, except
``Instrument.native_symbol`` which is how the venue package finds its way back.
"""

from __future__ import annotations

import enum

import attrs
import numpy as np
from numpy.typing import NDArray

from arbcore_ext.fixedpoint import to_raw, to_text

__all__ = [
    "USD_ASSETS",
    "Balance",
    "BookEvent",
    "BookEventKind",
    "Fill",
    "Instrument",
    "Opportunity",
    "OpportunityLeg",
    "Order",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "Quote",
    "TimeInForce",
]


#: Assets worth one US dollar for valuation (stablecoins and USD itself).
USD_ASSETS = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USDP"})


class OrderSide(enum.Enum):
    BUY = "buy"
    SELL = "sell"


class OrderType(enum.Enum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(enum.Enum):
    GTC = "gtc"
    IOC = "ioc"
    POST_ONLY = "post_only"
    FOK = "fok"  # fill or kill: the whole size at once, or nothing

    @property
    def is_immediate(self) -> bool:
        """IOC and FOK never rest: what does not fill on arrival expires (FOK: all of it)."""
        return self is TimeInForce.IOC or self is TimeInForce.FOK


class OrderStatus(enum.Enum):
    """The one set of order states every venue's states map onto."""

    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self not in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


class BookEventKind(enum.Enum):
    SNAPSHOT = "snapshot"
    DELTA = "delta"


def _check_symbol(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    base, sep, quote = value.partition("/")
    if not (sep and base and quote) or "/" in quote:
        raise ValueError(f"{attribute.name} must be unified BASE/QUOTE, was {value!r}")


def _check_decimals(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 0 <= value <= 18:
        raise ValueError(f"{attribute.name} must be between 0 and 18, was {value}")


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, was {value}")


@attrs.frozen(kw_only=True)
class Instrument:
    """One spot market on one venue, with the rules an order must follow.

    ``tick_size``/``lot_size``/``min_qty`` are raw integers at ``price_decimals`` /
    ``size_decimals``; ``min_notional`` is raw at ``price_decimals`` in the quote asset. Fees
    are fractions (0.001 = 10 bps). Use :meth:`from_text` to build one from a venue's strings.
    """

    venue: str
    symbol: str = attrs.field(validator=_check_symbol)
    native_symbol: str
    base: str
    quote: str
    price_decimals: int = attrs.field(validator=_check_decimals)
    size_decimals: int = attrs.field(validator=_check_decimals)
    tick_size: int = attrs.field(validator=_non_negative)
    lot_size: int = attrs.field(validator=_non_negative)
    min_qty: int = attrs.field(default=0, validator=_non_negative)
    min_notional: int = attrs.field(default=0, validator=_non_negative)
    maker_fee: float = 0.001
    taker_fee: float = 0.001

    def __attrs_post_init__(self) -> None:
        if self.symbol != f"{self.base}/{self.quote}":
            raise ValueError(
                f"symbol {self.symbol!r} does not match base {self.base!r} and quote {self.quote!r}"
            )
        if self.tick_size == 0 or self.lot_size == 0:
            raise ValueError(f"{self.venue} {self.symbol}: tick_size and lot_size must be positive")

    @classmethod
    def from_text(
        cls,
        *,
        venue: str,
        native_symbol: str,
        base: str,
        quote: str,
        tick_size: str,
        lot_size: str,
        min_qty: str = "0",
        min_notional: str = "0",
        maker_fee: float = 0.001,
        taker_fee: float = 0.001,
    ) -> Instrument:
        """Build from decimal strings; the decimals are those of the tick and the lot."""
        price_decimals = _decimals_of(tick_size)
        size_decimals = _decimals_of(lot_size)
        return cls(
            venue=venue,
            symbol=f"{base}/{quote}",
            native_symbol=native_symbol,
            base=base,
            quote=quote,
            price_decimals=price_decimals,
            size_decimals=size_decimals,
            tick_size=to_raw(tick_size, price_decimals),
            lot_size=to_raw(lot_size, size_decimals),
            min_qty=to_raw(min_qty, size_decimals),
            min_notional=to_raw(min_notional, price_decimals),
            maker_fee=maker_fee,
            taker_fee=taker_fee,
        )

    def price_text(self, price_raw: int) -> str:
        return to_text(price_raw, self.price_decimals)

    def size_text(self, size_raw: int) -> str:
        return to_text(size_raw, self.size_decimals)


def _decimals_of(step: str) -> int:
    """Decimals needed to hold a step such as "0.01000000" (2) or "1e-5" (5) exactly."""
    for decimals in range(19):
        try:
            to_raw(step, decimals)
        except ValueError:
            continue
        return decimals
    raise ValueError(f"step {step!r} needs more than 18 decimals")


def _int64_array(value: object) -> NDArray[np.int64]:
    return np.ascontiguousarray(value, dtype=np.int64)


def _int8_array(value: object) -> NDArray[np.int8]:
    return np.ascontiguousarray(value, dtype=np.int8)


@attrs.frozen(kw_only=True, eq=False)
class BookEvent:
    """A parsed book message: flat raw arrays ready for ``L2Book.apply_*`` in one call.

    A SNAPSHOT replaces both sides; a DELTA sets levels (size 0 deletes). ``first_seq`` and
    ``last_seq`` are the venue's update ids (equal when the venue sends one), ``prev_seq`` the
    id the venue says preceded it (OKX, Binance futures), ``checksum`` the venue's value if any.
    """

    venue: str
    symbol: str
    kind: BookEventKind
    sides: NDArray[np.int8] = attrs.field(converter=_int8_array)
    prices: NDArray[np.int64] = attrs.field(converter=_int64_array)
    sizes: NDArray[np.int64] = attrs.field(converter=_int64_array)
    first_seq: int = 0
    last_seq: int = 0
    prev_seq: int | None = None
    checksum: int | None = None
    ts_event_ns: int = 0
    ts_recv_ns: int = 0

    def __attrs_post_init__(self) -> None:
        if not len(self.sides) == len(self.prices) == len(self.sizes):
            raise ValueError("sides, prices and sizes must have the same length")


@attrs.frozen(kw_only=True)
class Quote:
    """A venue's best bid and ask message (Binance bookTicker, tickers): raw prices and sizes.

    ``update_id`` is the book update the venue says the quote reflects (0 when it does not say),
    which lets the quality monitor compare it with the local book at exactly that update.
    """

    venue: str
    symbol: str
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int
    update_id: int = 0
    ts_event_ns: int = 0
    ts_recv_ns: int = 0


@attrs.frozen(kw_only=True)
class OpportunityLeg:
    """One order of an opportunity: the limit to send and the size, as floats for reading and
    exact raw integers (at the instrument's decimals) for the order itself (0 when unsized)."""

    venue: str
    symbol: str
    side: OrderSide
    price: float
    size: float
    price_raw: int = 0
    size_raw: int = 0


@attrs.frozen(kw_only=True)
class Opportunity:
    """A priced chance to trade: what to send, and what it should earn."""

    kind: str  # "cross_exchange" or "triangular"
    venue: str  # the venue, or "A->B" for a cross-exchange pair
    legs: tuple[OpportunityLeg, ...]
    rate: float  # product of top-of-book rates after taker fees
    profit_bps: float  # sized: expected_profit / size
    size: float  # amount of `asset` committed
    expected_profit: float  # in `asset`
    detected_at_ns: int
    asset: str = ""  # what size and expected_profit are counted in
    expected_profit_usd: float | None = None  # None when no USD price was known


@attrs.frozen(kw_only=True)
class Order:
    venue: str
    symbol: str
    client_order_id: str
    side: OrderSide
    type: OrderType
    price_raw: int
    size_raw: int
    time_in_force: TimeInForce = TimeInForce.GTC
    status: OrderStatus = OrderStatus.OPEN
    filled_raw: int = 0
    venue_order_id: str | None = None
    ts_created_ns: int = 0
    filled_quote: float = 0.0  # quote amount of what filled, as the venue reports it (0: unknown)


@attrs.frozen(kw_only=True)
class Fill:
    venue: str
    symbol: str
    client_order_id: str
    trade_id: str
    side: OrderSide
    price_raw: int
    size_raw: int
    fee: float
    fee_asset: str
    ts_event_ns: int


@attrs.frozen(kw_only=True)
class Balance:
    venue: str
    asset: str
    free: float
    locked: float

    @property
    def total(self) -> float:
        return self.free + self.locked


@attrs.frozen(kw_only=True)
class Position:
    venue: str
    asset: str
    quantity: float
    average_cost: float
