"""Binance spot's JSON, exactly as the venue writes it, from the simulator's values. Pure.

Field names, their order and number formats follow the documentation's examples
(``shared/data/vectors/binance``) and the real captures: decimals as strings with at least eight
places (``"61737.63000000"``), the depth diff's keys in the order Binance sends them (``e, E, s,
U, u, b, a``: arbcore's own fast scanner reads them in that order), bookTicker without an event
type. :func:`exchange_info` states filters the way ``arbcore.exchanges.binance.providers``
reads them, so the instruments a client parses are the simulator's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Final

from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import AssetBalance
from arbcore.sim.engine import BookChange, SimOrder, Trade
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_text

__all__ = [
    "BASE_ASSET_PRECISION",
    "STP_MODE",
    "account",
    "book_ticker",
    "compact",
    "decimal_text",
    "depth_snapshot",
    "depth_update",
    "error",
    "exchange_info",
    "order_cancel",
    "order_placed",
    "order_query",
    "order_status",
    "order_type",
    "symbol_entry",
]

#: what Binance states as baseAssetPrecision / quoteAssetPrecision for the spot markets
BASE_ASSET_PRECISION: Final = 8
#: the self-trade prevention the engine applies (Binance's name for it)
STP_MODE: Final = "EXPIRE_MAKER"
#: Binance's example limits (vectors/binance/rate_limiters_example.json)
RATE_LIMITS: Final = (
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
)
_MAX_PRICE: Final = "1000000"
_MAX_QTY: Final = "9000"

_STATUS: Final = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
    OrderStatus.EXPIRED: "EXPIRED",
}


def compact(message: object) -> str:
    """JSON as Binance sends it: no spaces."""
    return json.dumps(message, separators=(",", ":"))


def decimal_text(raw: int, decimals: int) -> str:
    """A raw value as Binance writes decimals: at least eight places, none beyond eight that
    are zeros ("0.00100000", "61737.63000000", "0.0000054321")."""
    whole, _, fraction = to_text(raw, decimals).partition(".")
    fraction = fraction.rstrip("0").ljust(BASE_ASSET_PRECISION, "0")
    return f"{whole}.{fraction}"


def _price(instrument: Instrument, raw: int) -> str:
    return decimal_text(raw, instrument.price_decimals)


def _size(instrument: Instrument, raw: int) -> str:
    return decimal_text(raw, instrument.size_decimals)


def order_status(status: OrderStatus) -> str:
    return _STATUS[status]


def order_type(order: SimOrder) -> str:
    if order.type is OrderType.MARKET:
        return "MARKET"
    return "LIMIT_MAKER" if order.time_in_force is TimeInForce.POST_ONLY else "LIMIT"


def _time_in_force(order: SimOrder) -> str:
    """A limit order's own (GTC, IOC, FOK; a LIMIT_MAKER says GTC), a market order's GTC."""
    immediate = order.time_in_force.is_immediate and order.type is OrderType.LIMIT
    return order.time_in_force.value.upper() if immediate else "GTC"


# -- market data ---------------------------------------------------------------------------------


def symbol_entry(instrument: Instrument) -> dict[str, Any]:
    """One ``symbols[]`` entry of exchangeInfo."""
    i = instrument
    tick, lot = _price(i, i.tick_size), _size(i, i.lot_size)
    return {
        "symbol": i.native_symbol,
        "status": "TRADING",
        "baseAsset": i.base,
        "baseAssetPrecision": BASE_ASSET_PRECISION,
        "quoteAsset": i.quote,
        "quotePrecision": BASE_ASSET_PRECISION,
        "quoteAssetPrecision": BASE_ASSET_PRECISION,
        "baseCommissionPrecision": BASE_ASSET_PRECISION,
        "quoteCommissionPrecision": BASE_ASSET_PRECISION,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "quoteOrderQtyMarketAllowed": False,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": f"{_MAX_PRICE}.00000000",
                "tickSize": tick,
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _size(i, i.min_qty),
                "maxQty": f"{_MAX_QTY}.00000000",
                "stepSize": lot,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": _price(i, i.min_notional),
                "applyMinToMarket": False,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": STP_MODE,
        "allowedSelfTradePreventionModes": [STP_MODE],
    }


def exchange_info(instruments: Iterable[Instrument], server_time_ms: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": list(RATE_LIMITS),
        "exchangeFilters": [],
        "symbols": [symbol_entry(instrument) for instrument in instruments],
    }


def _rows(instrument: Instrument, levels: Iterable[tuple[int, int]]) -> list[list[str]]:
    return [[_price(instrument, price), _size(instrument, size)] for price, size in levels]


def depth_update(instrument: Instrument, change: BookChange, event_time_ms: int) -> str:
    """A ``depthUpdate`` payload (bids best first, then asks best first)."""
    bids = sorted(((p, s) for side, p, s in change.levels if side == BID), reverse=True)
    asks = sorted((p, s) for side, p, s in change.levels if side == ASK)
    return compact({
        "e": "depthUpdate", "E": event_time_ms, "s": instrument.native_symbol,
        "U": change.first_id, "u": change.last_id,
        "b": _rows(instrument, bids), "a": _rows(instrument, asks),
    })  # fmt: skip


def book_ticker(
    instrument: Instrument, update_id: int, bid: tuple[int, int], ask: tuple[int, int]
) -> str:
    """A ``bookTicker`` payload: best bid and ask ``(price, size)`` at ``update_id``."""
    return compact({
        "u": update_id, "s": instrument.native_symbol,
        "b": _price(instrument, bid[0]), "B": _size(instrument, bid[1]),
        "a": _price(instrument, ask[0]), "A": _size(instrument, ask[1]),
    })  # fmt: skip


def depth_snapshot(
    instrument: Instrument,
    last_update_id: int,
    bids: Sequence[tuple[int, int]],
    asks: Sequence[tuple[int, int]],
) -> dict[str, Any]:
    """``GET /api/v3/depth``."""
    return {
        "lastUpdateId": last_update_id,
        "bids": _rows(instrument, bids),
        "asks": _rows(instrument, asks),
    }


# -- trading -------------------------------------------------------------------------------------


def error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "msg": message}


def _order_fields(instrument: Instrument, order: SimOrder, quote_decimals: int) -> dict[str, Any]:
    return {
        "price": _price(instrument, order.price_raw),
        "origQty": _size(instrument, order.size_raw),
        "executedQty": _size(instrument, order.filled_raw),
        "origQuoteOrderQty": "0.00000000",
        "cummulativeQuoteQty": decimal_text(order.quote_raw, quote_decimals),
        "status": order_status(order.status),
        "timeInForce": _time_in_force(order),
        "type": order_type(order),
        "side": order.side.name,
    }


def _fill(
    instrument: Instrument, trade: Trade, order: SimOrder, decimals: dict[str, int]
) -> dict[str, Any]:
    asset = instrument.base if order.side is OrderSide.BUY else instrument.quote
    return {
        "price": _price(instrument, trade.price_raw),
        "qty": _size(instrument, trade.size_raw),
        "commission": decimal_text(trade.fee_of(order.order_id), decimals[asset]),
        "commissionAsset": asset,
        "tradeId": trade.trade_id,
    }


def order_placed(
    instrument: Instrument,
    order: SimOrder,
    trades: Sequence[Trade],
    response_type: str,
    decimals: dict[str, int],
) -> dict[str, Any]:
    """``POST /api/v3/order`` in the ACK, RESULT or FULL shape; ``decimals`` per asset."""
    ms = order.ts_created_ns // 1_000_000
    body: dict[str, Any] = {
        "symbol": instrument.native_symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": ms,
    }
    if response_type == "ACK":
        return body
    body.update(_order_fields(instrument, order, decimals[instrument.quote]))
    body["workingTime"] = ms
    body["selfTradePreventionMode"] = STP_MODE
    if response_type == "FULL":
        body["fills"] = [_fill(instrument, trade, order, decimals) for trade in trades]
    return body


def order_query(instrument: Instrument, order: SimOrder, quote_decimals: int) -> dict[str, Any]:
    """``GET /api/v3/order`` and each entry of ``GET /api/v3/openOrders``."""
    created, updated = order.ts_created_ns // 1_000_000, order.ts_updated_ns // 1_000_000
    return {
        "symbol": instrument.native_symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        **_order_fields(instrument, order, quote_decimals),
        "stopPrice": "0.00000000",
        "icebergQty": "0.00000000",
        "time": created,
        "updateTime": updated,
        "isWorking": True,
        "workingTime": created,
        "selfTradePreventionMode": STP_MODE,
    }


def order_cancel(
    instrument: Instrument, order: SimOrder, cancel_id: str, quote_decimals: int
) -> dict[str, Any]:
    """``DELETE /api/v3/order``: ``clientOrderId`` is the cancel's own id."""
    return {
        "symbol": instrument.native_symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_id,
        "transactTime": order.ts_updated_ns // 1_000_000,
        **_order_fields(instrument, order, quote_decimals),
        "selfTradePreventionMode": STP_MODE,
    }


def _rate_text(rate: Fraction) -> str:
    return decimal_text(int(rate * 10**BASE_ASSET_PRECISION), BASE_ASSET_PRECISION)


def account(
    balances: Iterable[AssetBalance], maker: Fraction, taker: Fraction, update_ms: int, uid: int
) -> dict[str, Any]:
    """``GET /api/v3/account``; commissions in bps (as Binance counts them) and as fractions."""
    maker_fee, taker_fee = _rate_text(maker), _rate_text(taker)
    return {
        "makerCommission": int(maker * 10_000),
        "takerCommission": int(taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": maker_fee,
            "taker": taker_fee,
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": update_ms,
        "accountType": "SPOT",
        "balances": [
            {
                "asset": b.asset,
                "free": decimal_text(b.free, b.decimals),
                "locked": decimal_text(b.locked, b.decimals),
            }
            for b in balances
        ],
        "permissions": ["SPOT"],
        "uid": uid,
    }
