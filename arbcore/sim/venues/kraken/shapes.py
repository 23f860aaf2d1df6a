"""Kraken spot's JSON (REST ``/0/...`` and WebSocket v1), as the venue writes it. Pure.

Shapes follow the documentation's examples (``shared/data/vectors/kraken``): every REST answer
is ``{"error": [...], "result": ...}`` (a failure: the error strings and an empty result);
WebSocket v1 book frames are arrays ``[channelID, {...}(, {...}), "book-<depth>", "XBT/USDT"]``
with levels ``[price, volume, time(, "r")]`` as fixed-point strings (prices padded to at least
5 places, volumes to 8, as Kraken pads ``XBT/USD``), the update's CRC32 ``c`` quoted in the last
map. Kraken names bitcoin XBT (DOGE: XDG) and keeps X/Z-prefixed codes for its oldest assets
(``XXBT``, ``ZUSD``): balances and AssetPairs ``base``/``quote`` use those, and a pair of two
such assets is keyed by them (``XXBTZUSD``), any other by its ``altname`` (``XBTUSDT``).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

from arbcore.exchanges.kraken.constants import ASSET_ALIASES, CHECKSUM_LEVELS, LEGACY_ASSET_CODES
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import AssetBalance
from arbcore.sim.engine import SimOrder
from arbcore.sim.protocol import average_price, compact, shortest
from arbcore_ext.fixedpoint import to_text

__all__ = [
    "PRICE_PLACES",
    "VOLUME_PLACES",
    "Row",
    "asset_code",
    "asset_pair",
    "balances",
    "book_snapshot",
    "book_update",
    "checksum",
    "depth",
    "description",
    "envelope",
    "event",
    "failure",
    "order_info",
    "pair_key",
    "percent",
    "server_time",
    "trade_volume",
    "txid",
    "ws_asset",
    "ws_time",
]

#: the fewest decimal places of book prices and volumes on the wire (XBT/USD: "5290.80000",
#: "1.00000000"); a pair with more decimals sends all of them
PRICE_PLACES: Final = 5
VOLUME_PLACES: Final = 8
_WS_CODES: Final = {unified: code for code, unified in ASSET_ALIASES.items()}
_LEGACY: Final = {code: legacy for legacy, code in LEGACY_ASSET_CODES.items()}
_TXID_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_STATUS: Final = {
    OrderStatus.OPEN: "open",
    OrderStatus.PARTIALLY_FILLED: "open",
    OrderStatus.FILLED: "closed",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.EXPIRED: "canceled",  # an IOC or market remainder
}

#: one published level: (price, size, republished)
Row = tuple[int, int, bool]
Level = tuple[int, int]


def ws_asset(asset: str) -> str:
    """Kraken's WebSocket code of an asset (BTC -> XBT)."""
    return _WS_CODES.get(asset, asset)


def asset_code(asset: str) -> str:
    """Kraken's REST asset code: legacy assets X/Z-prefixed (BTC -> XXBT, USD -> ZUSD)."""
    code = ws_asset(asset)
    return _LEGACY.get(code, code)


def pair_key(instrument: Instrument) -> str:
    """The pair's canonical REST name: ``XXBTZUSD`` for two legacy assets, else the altname."""
    base, quote = ws_asset(instrument.base), ws_asset(instrument.quote)
    if base in _LEGACY and quote in _LEGACY:
        return _LEGACY[base] + _LEGACY[quote]
    return base + quote


def percent(rate: float | Fraction) -> str:
    """A fee fraction as the percent text Kraken states (0.0026 -> "0.26")."""
    if isinstance(rate, float):
        value = Decimal(repr(rate))
    else:
        value = Decimal(rate.numerator) / Decimal(rate.denominator)
    return format((value * 100).normalize(), "f")


def envelope(result: Any) -> dict[str, Any]:
    return {"error": [], "result": result}


def failure(*errors: str) -> dict[str, Any]:
    """A refusal: Kraken's error strings (``EOrder:Insufficient funds``), an empty result."""
    return {"error": list(errors), "result": {}}


def server_time(now_ns: int) -> dict[str, Any]:
    seconds = now_ns // 10**9
    rfc1123 = time.strftime("%a, %d %b %y %H:%M:%S +0000", time.gmtime(seconds))
    return envelope({"unixtime": seconds, "rfc1123": rfc1123})


def asset_pair(instrument: Instrument, cost_decimals: int) -> dict[str, Any]:
    """One ``result`` entry of ``GET /0/public/AssetPairs`` (fee tables: the base tier)."""
    i = instrument
    return {
        "altname": i.native_symbol.replace("/", ""), "wsname": i.native_symbol,
        "aclass_base": "currency", "base": asset_code(i.base), "aclass_quote": "currency",
        "quote": asset_code(i.quote), "lot": "unit", "cost_decimals": cost_decimals,
        "pair_decimals": i.price_decimals, "lot_decimals": i.size_decimals,
        "lot_multiplier": 1, "leverage_buy": [], "leverage_sell": [],
        "fees": [[0, float(percent(i.taker_fee))]],
        "fees_maker": [[0, float(percent(i.maker_fee))]],
        "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
        "ordermin": shortest(i.min_qty, i.size_decimals),
        "costmin": shortest(i.min_notional, i.price_decimals),
        "tick_size": shortest(i.tick_size, i.price_decimals), "status": "online",
    }  # fmt: skip


# -- book text and checksum ----------------------------------------------------------------------


def _price(instrument: Instrument, raw: int) -> str:
    return to_text(raw, instrument.price_decimals, max(instrument.price_decimals, PRICE_PLACES))


def _volume(instrument: Instrument, raw: int) -> str:
    return to_text(raw, instrument.size_decimals, max(instrument.size_decimals, VOLUME_PLACES))


def ws_time(now_ns: int) -> str:
    """A level's time as v1 writes it: epoch seconds with microseconds ("1556724667.748660")."""
    return f"{now_ns // 10**9}.{now_ns // 1000 % 10**6:06d}"


def checksum(instrument: Instrument, bids: Sequence[Level], asks: Sequence[Level]) -> int:
    """Kraken's CRC32 (unsigned): the best 10 asks low->high, then the best 10 bids high->low,
    each level's price and volume in the wire's text, point removed, leading zeros stripped."""
    parts = []
    for levels in (asks, bids):
        for price, size in levels[:CHECKSUM_LEVELS]:
            for text in (_price(instrument, price), _volume(instrument, size)):
                parts.append(text.replace(".", "").lstrip("0"))
    return zlib.crc32("".join(parts).encode())


def _levels(instrument: Instrument, rows: Iterable[Row], stamp: str) -> list[list[str]]:
    return [[_price(instrument, price), _volume(instrument, size), stamp, *("r" * republished)]
            for price, size, republished in rows]  # fmt: skip


def book_snapshot(
    channel_id: int,
    instrument: Instrument,
    depth: int,
    bids: Iterable[Level],
    asks: Iterable[Level],
    now_ns: int,
) -> str:
    """``[id, {"as": [...], "bs": [...]}, "book-<depth>", pair]``: no checksum in v1."""
    stamp = ws_time(now_ns)
    sides = {"as": _levels(instrument, ((p, s, False) for p, s in asks), stamp),
             "bs": _levels(instrument, ((p, s, False) for p, s in bids), stamp)}  # fmt: skip
    return compact([channel_id, sides, f"book-{depth}", instrument.native_symbol])


def book_update(
    channel_id: int,
    instrument: Instrument,
    depth: int,
    bids: Sequence[Row],
    asks: Sequence[Row],
    checksum: int,
    now_ns: int,
) -> str:
    """An update: ``{"a": [...]}`` and/or ``{"b": [...]}`` maps, ``"c"`` in the last one."""
    stamp = ws_time(now_ns)
    maps: list[dict[str, Any]] = []
    if asks:
        maps.append({"a": _levels(instrument, asks, stamp)})
    if bids:
        maps.append({"b": _levels(instrument, bids, stamp)})
    maps[-1]["c"] = str(checksum)
    return compact([channel_id, *maps, f"book-{depth}", instrument.native_symbol])


def event(name: str, reqid: object = None, **fields: Any) -> str:
    """A v1 event (``pong``, ``heartbeat``, ``systemStatus``, ``subscriptionStatus``,
    ``error``), the request's ``reqid`` echoed when it had one."""
    head: dict[str, Any] = {} if reqid is None else {"reqid": reqid}
    return compact(dict(sorted({**fields, "event": name, **head}.items())))  # keys as Kraken's


def depth(instrument: Instrument, bids: Iterable[Level], asks: Iterable[Level],
          now_ns: int) -> dict[str, Any]:  # fmt: skip
    """``GET /0/public/Depth``: ``[price, volume, timestamp]`` levels under the canonical name."""
    stamp = now_ns // 10**9
    book = {
        key: [[_price(instrument, p), _volume(instrument, s), stamp] for p, s in levels]
        for key, levels in (("asks", asks), ("bids", bids))
    }
    return envelope({pair_key(instrument): book})


# -- trading -------------------------------------------------------------------------------------


def txid(symbol_index: int, order_id: int) -> str:
    """A Kraken-looking order id (``OUF4EM-FRGI2-MQMWZD``), one per market and order."""
    value = ((symbol_index << 40) + order_id) * 0x9E3779B97F4A7C15 % 32**16
    chars = "".join(_TXID_ALPHABET[value >> (5 * at) & 31] for at in range(16))
    return f"O{chars[:5]}-{chars[5:10]}-{chars[10:]}"


def description(
    instrument: Instrument,
    side: OrderSide,
    order_type: OrderType,
    size_raw: int,
    price_raw: int | None,
) -> dict[str, str]:
    """``descr`` of an order: its pair, side, type, price and the ``order`` sentence."""
    pair = instrument.native_symbol.replace("/", "")
    market = order_type is OrderType.MARKET or price_raw is None
    price = "0" if price_raw is None else shortest(price_raw, instrument.price_decimals)
    kind = "market" if market else "limit"
    sentence = f"{side.value} {_volume(instrument, size_raw)} {pair} @ {kind}"
    return {"pair": pair, "type": side.value, "ordertype": kind, "price": price,
            "price2": "0", "leverage": "none",
            "order": sentence if market else f"{sentence} {price}", "close": ""}  # fmt: skip


def _seconds(ns: int) -> str:
    """Kraken's order times: epoch seconds with 4 decimals (``1688666559.8974``)."""
    return f"{ns // 10**9}.{ns // 10**5 % 10**4:04d}"


def order_info(
    instrument: Instrument,
    order: SimOrder,
    decimals: dict[str, int],
    *,
    userref: int,
    client_order_id: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """One order of OpenOrders, ClosedOrders, QueryOrders (``decimals`` per asset); no
    ``cl_ord_id`` for an order placed without one, ``reason`` and ``closetm`` once closed."""
    pd, sd = instrument.price_decimals, instrument.size_decimals
    quote_decimals = decimals[instrument.quote]
    fee_asset = instrument.base if order.side is OrderSide.BUY else instrument.quote
    fee = sum(trade.fee_of(order.order_id) for trade in order.trades)
    average = average_price(order.quote_raw, quote_decimals, order.filled_raw, sd, pd + sd)
    status = _STATUS[order.status]
    entry: dict[str, Any] = {
        "refid": None, "userref": userref,
        "status": status, "opentm": _seconds(order.ts_created_ns), "starttm": 0, "expiretm": 0,
        "descr": description(instrument, order.side, order.type, order.size_raw,
                             None if order.type is OrderType.MARKET else order.price_raw),
        "vol": _volume(instrument, order.size_raw),
        "vol_exec": _volume(instrument, order.filled_raw),
        "cost": shortest(order.quote_raw, quote_decimals),
        "fee": shortest(fee, decimals[fee_asset]), "price": average or "0",
        "stopprice": "0", "limitprice": "0", "misc": "",
        "oflags": "post" if order.time_in_force is TimeInForce.POST_ONLY else (
            "fcib" if fee_asset == instrument.base else "fciq"),
    }  # fmt: skip
    if client_order_id is not None:
        entry["cl_ord_id"] = client_order_id
    if status != "open":
        entry["reason"] = reason
        entry["closetm"] = _seconds(order.ts_updated_ns)
    return entry


def balances(held: Iterable[AssetBalance]) -> dict[str, Any]:
    """``POST /0/private/BalanceEx``: ``balance`` (total) and ``hold_trade`` per asset code."""
    return envelope({
        asset_code(b.asset): {"balance": to_text(b.free + b.locked, b.decimals),
                              "hold_trade": to_text(b.locked, b.decimals)}
        for b in held
    })  # fmt: skip


def _fee_tier(rate: Fraction) -> dict[str, str | None]:
    fee = percent(rate)
    return {"fee": fee, "minfee": fee, "maxfee": fee, "nextfee": None, "nextvolume": None,
            "tiervolume": "0.0000"}  # fmt: skip


def trade_volume(rates: Iterable[tuple[Instrument, Fraction, Fraction]]) -> dict[str, Any]:
    """``POST /0/private/TradeVolume``: ``fees`` (taker) and ``fees_maker`` per pair, percent."""
    listed = list(rates)
    return envelope({
        "currency": "ZUSD", "volume": "0.0000",
        "fees": {pair_key(i): _fee_tier(taker) for i, _, taker in listed},
        "fees_maker": {pair_key(i): _fee_tier(maker) for i, maker, _ in listed},
    })  # fmt: skip
