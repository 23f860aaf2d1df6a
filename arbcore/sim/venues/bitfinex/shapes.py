"""Bitfinex v2's JSON (REST and the public WebSocket), as the venue writes it. Pure.

Shapes follow the documentation (``shared/data/vectors/bitfinex``) and the real capture
(``shared/data/real/bitfinex``): channel frames are arrays ``[chanId, payload(, seq)]``, book
levels ``[price, count, amount]`` (amount > 0 a bid, < 0 an ask, count 0 a deletion with amount
1 or -1), events are objects, REST answers arrays (an order is a 32-field array, a placement or
cancel a notification ``[MTS, TYPE, null, null, DATA, null, STATUS, TEXT]``, a refusal
``["error", CODE, "text"]``). Numbers are JSON numbers as Bitfinex's Node servers print them:
the shortest decimal text, in exponent form below 1e-6 (``2e-8``, as in the capture). They are
written from the exact values (:class:`Number`, :func:`dumps`), never through a float; the
checksum hashes the same values in fixed notation.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Final

import attrs

from arbcore.exchanges.bitfinex.constants import CHECKSUM_DEPTH, CURRENCY_ALIASES
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import AssetBalance
from arbcore.sim.engine import SimOrder
from arbcore.sim.protocol import average_price, rate_text, shortest
from arbcore_ext.book import ASK, BID

__all__ = [
    "AVERAGE_PLACES",
    "Number",
    "asset_code",
    "book_update",
    "checksum",
    "checksum_frame",
    "dumps",
    "error",
    "heartbeat",
    "notification",
    "number",
    "order_array",
    "order_status",
    "pair_info",
    "pair_name",
    "pair_name_of",
    "rest_book",
    "snapshot",
    "summary",
    "wallets",
]

#: decimals of an average price (a derived figure: Bitfinex's amount precision)
AVERAGE_PLACES: Final = 8
#: JavaScript prints a number below this in exponent form
_EXPONENT_BELOW: Final = 6
_CODES: Final = {unified: code for code, unified in CURRENCY_ALIASES.items()}
_MAX_ORDER_SIZE: Final = "1000000"  # pub:info:pair states one; the simulator enforces none

Level = tuple[int, int]


@attrs.frozen
class Number:
    """A JSON number's text, written as it stands by :func:`dumps`."""

    text: str


def number(raw: int, decimals: int) -> Number:
    """``raw / 10**decimals`` as JavaScript prints it: ``60000``, ``0.5``, ``-2e-8``."""
    digits = str(abs(raw))
    sign = "-" if raw < 0 else ""
    if raw == 0 or len(digits) > decimals - _EXPONENT_BELOW:
        return Number(shortest(raw, decimals))
    exponent = len(digits) - 1 - decimals
    significant = digits.rstrip("0")
    mantissa = significant[0] + ("." + significant[1:] if len(significant) > 1 else "")
    return Number(f"{sign}{mantissa}e{exponent}")


def dumps(value: object) -> str:
    """Compact JSON with :class:`Number` values written as they are (floats are refused)."""
    if isinstance(value, Number):
        return value.text
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        raise TypeError("a float in a Bitfinex answer: write a Number")
    return json.dumps(value)


def asset_code(asset: str) -> str:
    """Bitfinex's code of an asset (USDT -> UST)."""
    return _CODES.get(asset, asset)


def pair_name_of(base: str, quote: str) -> str:
    """``BTCUST`` for BTC/USDT; a currency longer than three letters takes a colon
    (``BTC:USDC``), as ``providers.split_pair`` reads it."""
    base, quote = asset_code(base), asset_code(quote)
    return base + quote if len(base) == len(quote) == 3 else f"{base}:{quote}"


def pair_name(instrument: Instrument) -> str:
    """The instrument's pair: its native symbol without the ``t``."""
    return instrument.native_symbol[1:]


def error(code: int, text: str) -> list[Any]:
    return ["error", code, text]


# -- market data ---------------------------------------------------------------------------------


def _entry(instrument: Instrument, side: int, price: int, size: int) -> list[Any]:
    """``[price, count, amount]``: one order a level (the simulator counts none), amount
    negative for an ask; a deleted level has count 0 and amount 1 (bid) or -1 (ask)."""
    sign = 1 if side == BID else -1
    price_number = number(price, instrument.price_decimals)
    if size == 0:
        return [price_number, 0, sign]
    return [price_number, 1, number(sign * size, instrument.size_decimals)]


def snapshot(
    chan_id: int, instrument: Instrument, bids: Iterable[Level], asks: Iterable[Level]
) -> list[Any]:
    """``[chanId, [[...], ...]]``: the bids best first, then the asks best first."""
    rows = [_entry(instrument, BID, p, s) for p, s in bids]
    rows += [_entry(instrument, ASK, p, s) for p, s in asks]
    return [chan_id, rows]


def book_update(
    chan_id: int, instrument: Instrument, side: int, price: int, size: int
) -> list[Any]:
    """``[chanId, [price, count, amount]]``: one level (BULK_UPDATES is not offered)."""
    return [chan_id, _entry(instrument, side, price, size)]


def checksum_frame(chan_id: int, value: int) -> list[Any]:
    return [chan_id, "cs", value]


def heartbeat(chan_id: int) -> list[Any]:
    return [chan_id, "hb"]


def checksum(instrument: Instrument, bids: Sequence[Level], asks: Sequence[Level]) -> int:
    """CRC32 (signed 32-bit) of ``bid:amount:ask:-amount:...`` over the best 25 levels a
    side, interleaved, a side that runs short skipped, in fixed notation (docs
    ws-websocket-checksum)."""
    pd, sd = instrument.price_decimals, instrument.size_decimals
    parts: list[str] = []
    for at in range(CHECKSUM_DEPTH):
        if at < len(bids):
            parts += (shortest(bids[at][0], pd), shortest(bids[at][1], sd))
        if at < len(asks):
            parts += (shortest(asks[at][0], pd), "-" + shortest(asks[at][1], sd))
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def rest_book(instrument: Instrument, bids: Iterable[Level], asks: Iterable[Level]) -> list[Any]:
    """``GET /v2/book/{symbol}/P0``: a flat list, bids then asks, no sequence id."""
    rows: list[Any] = snapshot(0, instrument, bids, asks)[1]
    return rows


def pair_info(instrument: Instrument) -> list[Any]:
    """One ``pub:info:pair`` entry: ``[PAIR, [.., .., .., MIN_ORDER_SIZE, MAX_ORDER_SIZE, ..]]``."""
    minimum = shortest(instrument.min_qty, instrument.size_decimals)
    return [pair_name(instrument),
            [None, None, None, minimum, _MAX_ORDER_SIZE, None, None, None, None, None]]  # fmt: skip


# -- trading -------------------------------------------------------------------------------------


#: a limit order's type and the STATUS head of its unfilled rest, by time in force
_LIMIT_TYPES: Final = {TimeInForce.IOC: "EXCHANGE IOC", TimeInForce.FOK: "EXCHANGE FOK"}
_CANCELED_HEADS: Final = {TimeInForce.IOC: "IOC CANCELED", TimeInForce.FOK: "FILLORKILL CANCELED"}


def order_type(order: SimOrder) -> str:
    if order.type is OrderType.MARKET:
        return "EXCHANGE MARKET"
    return _LIMIT_TYPES.get(order.time_in_force, "EXCHANGE LIMIT")


def _signed(order: SimOrder, raw: int, instrument: Instrument) -> Number:
    return number(raw if order.side is OrderSide.BUY else -raw, instrument.size_decimals)


def _average(instrument: Instrument, order: SimOrder, quote_decimals: int) -> str:
    return average_price(order.quote_raw, quote_decimals, order.filled_raw,
                         instrument.size_decimals, AVERAGE_PLACES) or "0"  # fmt: skip


def order_status(
    instrument: Instrument, order: SimOrder, quote_decimals: int, *, voided: bool
) -> str:
    """STATUS (docs abbreviations-glossary): ``ACTIVE``, ``PARTIALLY FILLED @ avg(amount)``,
    ``EXECUTED @ avg(amount)``, ``CANCELED`` (``IOC CANCELED`` for an IOC remainder,
    ``FILLORKILL CANCELED`` for a FOK that could not fill whole, ``POSTONLY CANCELED`` for a
    post-only order that would have taken), with ``was: PARTIALLY FILLED @ ...`` when part of
    it had filled."""
    fill = f" @ {_average(instrument, order, quote_decimals)}("
    fill += _signed(order, order.filled_raw, instrument).text + ")"
    if voided:
        return "POSTONLY CANCELED"
    if order.status is OrderStatus.OPEN:
        return "ACTIVE"
    if order.status is OrderStatus.PARTIALLY_FILLED:
        return "PARTIALLY FILLED" + fill
    if order.status is OrderStatus.FILLED:
        return "EXECUTED" + fill
    limit = order.type is OrderType.LIMIT
    head = _CANCELED_HEADS.get(order.time_in_force, "CANCELED") if limit else "CANCELED"
    return head + (" was: PARTIALLY FILLED" + fill if order.filled_raw else "")


def order_array(
    instrument: Instrument,
    order: SimOrder,
    quote_decimals: int,
    *,
    order_id: int,
    cid: int | None,
    flags: int,
    voided: bool = False,
    as_submitted: bool = False,
) -> list[Any]:
    """An order array (docs rest-auth-retrieve-orders); ``as_submitted``: as the placement's
    notification states it, before the matching engine saw it (``ACTIVE``, nothing filled)."""
    filled = 0 if as_submitted else order.filled_raw
    status = "ACTIVE" if as_submitted else order_status(instrument, order, quote_decimals,
                                                        voided=voided)  # fmt: skip
    average = "0" if as_submitted else _average(instrument, order, quote_decimals)
    market = order.type is OrderType.MARKET
    price = Number(average) if market else number(order.price_raw, instrument.price_decimals)
    created = order.ts_created_ns // 1_000_000
    updated = created if as_submitted else order.ts_updated_ns // 1_000_000
    return [
        order_id, None, cid, instrument.native_symbol, created, updated,
        _signed(order, order.size_raw - filled, instrument),
        _signed(order, order.size_raw, instrument), order_type(order), None, None, None, flags,
        status, None, None, price, Number(average), 0, 0, None, None, None, 0, 0, None, None,
        None, "API>BFX", None, None, {"$F7": 1} if order.time_in_force is TimeInForce.POST_ONLY
        else None,
    ]  # fmt: skip


def notification(
    mts: int, kind: str, data: object, status: str, text: str, code: int | None = None
) -> list[Any]:
    """``[MTS, TYPE, MESSAGE_ID, null, DATA, CODE, STATUS, TEXT]`` (``on-req``, ``oc-req``)."""
    return [mts, kind, None, None, data, code, status, text]


def wallets(held: Iterable[AssetBalance]) -> list[Any]:
    """``POST /v2/auth/r/wallets``: ``[TYPE, CURRENCY, BALANCE, UNSETTLED_INTEREST,
    AVAILABLE_BALANCE, LAST_CHANGE, TRADE_DETAILS]``, the spot (``exchange``) wallets."""
    return [["exchange", asset_code(b.asset), number(b.free + b.locked, b.decimals), 0,
             number(b.free, b.decimals), None, None] for b in held]  # fmt: skip


def summary(maker: Fraction, taker: Fraction) -> list[Any]:
    """``POST /v2/auth/r/summary``: fee info at index 4, ``[[MAKER x3, .., .., DERIV_REBATE],
    [TAKER_TO_CRYPTO, TAKER_TO_STABLE, TAKER_TO_FIAT, .., .., DERIV_TAKER]]``; one rate for
    every kind of quote."""
    m, t = Number(rate_text(maker)), Number(rate_text(taker))
    fees = [[m, m, m, None, None, Number("-0.0002")], [t, t, t, None, None, Number("0.00075")]]
    return [None, None, None, None, fees, None, None, None, None,
            {"leo_lev": 0, "leo_amount_avg": 0}]  # fmt: skip
