"""Bybit v5 spot's JSON, exactly as the venue writes it, from the simulator's values. Pure.

Shapes and key order follow the documentation's examples (``shared/data/vectors/bybit``):
every REST answer is the ``{"retCode","retMsg","result","retExtInfo","time"}`` envelope;
book prices and sizes are strings at the instrument's decimals (``"30247.20"``,
``"30.028"``), orders and balances in their shortest form. A spot ``orderbook`` message puts
``ts`` before ``type`` and ``data`` as ``s, b, a, u, seq`` with ``cts`` last: the order
arbcore's scanner reads a delta in.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any, Final

from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import AssetBalance
from arbcore.sim.engine import SimOrder
from arbcore.sim.protocol import average_price, compact, rate_text, shortest
from arbcore_ext.fixedpoint import to_text

__all__ = [
    "POST_ONLY_REJECT",
    "book_message",
    "envelope",
    "fee_rates",
    "instrument_entry",
    "op_answer",
    "order_entry",
    "order_status",
    "rest_orderbook",
    "server_time",
    "wallet_balance",
]

#: ``rejectReason`` of a PostOnly order Bybit cancelled because it would have taken liquidity
POST_ONLY_REJECT: Final = "EC_PostOnlyWillTakeLiquidity"
#: ``rejectReason`` of a FOK order cancelled because it could not fill whole
NO_FULL_FILL_REJECT: Final = "EC_CancelForNoFullFill"
_QUOTE_PRECISION: Final = "0.00000001"
_MAX_QTY: Final = "9000"
_MAX_AMOUNT: Final = "9000000"
_TIME_IN_FORCE: Final = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
                         TimeInForce.POST_ONLY: "PostOnly"}  # fmt: skip

Level = tuple[int, int]


def envelope(result: object, time_ms: int, code: int = 0, msg: str = "OK") -> dict[str, Any]:
    return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": time_ms}


def instrument_entry(i: Instrument) -> dict[str, Any]:
    """One ``result.list`` entry of ``GET /v5/market/instruments-info?category=spot``."""
    return {
        "symbol": i.native_symbol, "baseCoin": i.base, "quoteCoin": i.quote, "innovation": "0",
        "status": "Trading", "marginTrading": "none", "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": shortest(i.lot_size, i.size_decimals),
            "quotePrecision": _QUOTE_PRECISION,
            "minOrderQty": shortest(i.min_qty, i.size_decimals), "maxOrderQty": _MAX_QTY,
            "minOrderAmt": shortest(i.min_notional, i.price_decimals),
            "maxOrderAmt": _MAX_AMOUNT, "maxLimitOrderQty": _MAX_QTY,
            "maxMarketOrderQty": _MAX_QTY, "postOnlyMaxLimitOrderSize": _MAX_QTY,
        },
        "priceFilter": {"tickSize": shortest(i.tick_size, i.price_decimals)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
        "symbolType": "",
    }  # fmt: skip


# -- market data ---------------------------------------------------------------------------------


def _rows(instrument: Instrument, levels: Iterable[Level]) -> list[list[str]]:
    """``[price, size]`` at the instrument's decimals; a level gone is size ``"0"``."""
    pd, sd = instrument.price_decimals, instrument.size_decimals
    return [[to_text(price, pd), to_text(size, sd) if size else "0"] for price, size in levels]


def book_message(
    topic: str,
    kind: str,
    instrument: Instrument,
    bids: Iterable[Level],
    asks: Iterable[Level],
    *,
    update_id: int,
    seq: int,
    ts_ms: int,
) -> str:
    """An ``orderbook.<depth>.<symbol>`` message, ``kind`` "snapshot" or "delta"."""
    data = {"s": instrument.native_symbol, "b": _rows(instrument, bids),
            "a": _rows(instrument, asks), "u": update_id, "seq": seq}  # fmt: skip
    return compact({"topic": topic, "ts": ts_ms, "type": kind, "data": data, "cts": ts_ms})


def rest_orderbook(
    instrument: Instrument,
    bids: Iterable[Level],
    asks: Iterable[Level],
    *,
    update_id: int,
    seq: int,
    ts_ms: int,
) -> dict[str, Any]:
    """``GET /v5/market/orderbook``'s ``result``: ``u`` is the 1000-level stream's."""
    return {"s": instrument.native_symbol, "a": _rows(instrument, asks),
            "b": _rows(instrument, bids), "ts": ts_ms, "u": update_id, "seq": seq,
            "cts": ts_ms}  # fmt: skip


def op_answer(op: str, conn_id: str, request_id: str | None, *, success: bool = True,
              msg: str | None = None) -> str:  # fmt: skip
    """The answer to a WebSocket op (``subscribe``, ``unsubscribe``, ``ping``); ``ret_msg``
    names the op (``pong`` for a ping) unless ``msg`` says what went wrong."""
    text = msg if msg is not None else ("pong" if op == "ping" else op)
    answer: dict[str, Any] = {"success": success, "ret_msg": text, "conn_id": conn_id}
    if request_id is not None:
        answer["req_id"] = request_id
    answer["op"] = op
    return compact(answer)


def server_time(now_ns: int) -> dict[str, Any]:
    return {"timeSecond": str(now_ns // 10**9), "timeNano": str(now_ns)}


# -- trading -------------------------------------------------------------------------------------


def order_status(order: SimOrder) -> str:
    """Bybit's ``orderStatus``: an order ended with fills but not filled (an IOC or market
    remainder, a cancel) is ``PartiallyFilledCanceled`` on spot, without any ``Cancelled``."""
    if order.status is OrderStatus.OPEN:
        return "New"
    if order.status is OrderStatus.PARTIALLY_FILLED:
        return "PartiallyFilled"
    if order.status is OrderStatus.FILLED:
        return "Filled"
    return "PartiallyFilledCanceled" if order.filled_raw else "Cancelled"


def order_entry(
    instrument: Instrument,
    order: SimOrder,
    decimals: dict[str, int],
    *,
    link_id: str,
    cancel_type: str,
    reject_reason: str,
) -> dict[str, Any]:
    """One ``result.list`` entry of ``GET /v5/order/realtime`` and ``/v5/order/history``;
    ``decimals`` per asset. The fee is in what the order received (base for a buy)."""
    pd, sd = instrument.price_decimals, instrument.size_decimals
    quote_decimals = decimals[instrument.quote]
    fee_asset = instrument.base if order.side is OrderSide.BUY else instrument.quote
    fee = sum(trade.fee_of(order.order_id) for trade in order.trades)
    market = order.type is OrderType.MARKET
    live = not order.status.is_final
    leaves = order.size_raw - order.filled_raw if live else 0
    tif = "IOC" if market else _TIME_IN_FORCE[order.time_in_force]
    if reject_reason == POST_ONLY_REJECT:
        tif = "PostOnly"
    return {
        "orderId": str(order.order_id), "orderLinkId": link_id, "blockTradeId": "",
        "symbol": instrument.native_symbol,
        "price": "0" if market else shortest(order.price_raw, pd),
        "qty": shortest(order.size_raw, sd),
        "side": "Buy" if order.side is OrderSide.BUY else "Sell",
        "isLeverage": "0", "positionIdx": 0, "orderStatus": order_status(order),
        "createType": "CreateByUser", "cancelType": cancel_type, "rejectReason": reject_reason,
        "avgPrice": average_price(order.quote_raw, quote_decimals, order.filled_raw, sd, pd + sd),
        "leavesQty": shortest(leaves, sd),
        "leavesValue": shortest(leaves * order.price_raw, pd + sd),
        "cumExecQty": shortest(order.filled_raw, sd),
        "cumExecValue": shortest(order.quote_raw, quote_decimals),
        "cumExecFee": shortest(fee, decimals[fee_asset]),
        "timeInForce": tif, "orderType": "Market" if market else "Limit", "stopOrderType": "",
        "orderIv": "", "marketUnit": "baseCoin" if market else "", "triggerPrice": "0",
        "takeProfit": "0", "stopLoss": "0", "tpslMode": "", "ocoTriggerBy": "",
        "tpLimitPrice": "", "slLimitPrice": "", "tpTriggerBy": "", "slTriggerBy": "",
        "triggerDirection": 0, "triggerBy": "", "lastPriceOnCreated": "", "basePrice": "",
        "reduceOnly": False, "closeOnTrigger": False, "placeType": "", "smpType": "None",
        "smpGroup": 0, "smpOrderId": "",
        "createdTime": str(order.ts_created_ns // 1_000_000),
        "updatedTime": str(order.ts_updated_ns // 1_000_000),
    }  # fmt: skip


def wallet_balance(balances: Iterable[AssetBalance]) -> dict[str, Any]:
    """``GET /v5/account/wallet-balance?accountType=UNIFIED``'s ``result``: ``walletBalance``
    is free plus ``locked`` (what open spot orders hold)."""
    coins = []
    for b in balances:
        total = shortest(b.free + b.locked, b.decimals)
        coins.append({
            "availableToBorrow": "", "bonus": "0", "accruedInterest": "0",
            "availableToWithdraw": shortest(b.free, b.decimals), "totalOrderIM": "0",
            "equity": total, "totalPositionMM": "0", "usdValue": "", "spotHedgingQty": "0",
            "unrealisedPnl": "0", "collateralSwitch": True, "borrowAmount": "0",
            "totalPositionIM": "0", "walletBalance": total, "cumRealisedPnl": "0",
            "locked": shortest(b.locked, b.decimals), "marginCollateral": True, "coin": b.asset,
        })  # fmt: skip
    account = {"accountType": "UNIFIED", "accountIMRate": "", "accountMMRate": "",
               "totalEquity": "", "totalWalletBalance": "", "totalMarginBalance": "",
               "totalAvailableBalance": "", "totalPerpUPL": "0", "totalInitialMargin": "",
               "totalMaintenanceMargin": "", "coin": coins}  # fmt: skip
    return {"list": [account]}


def fee_rates(instruments: Iterable[tuple[Instrument, Fraction, Fraction]]) -> dict[str, Any]:
    """``GET /v5/account/fee-rate?category=spot``'s ``result``: ``(instrument, maker, taker)``."""
    entries = [{"symbol": i.native_symbol, "baseCoin": "", "takerFeeRate": rate_text(taker),
                "makerFeeRate": rate_text(maker)} for i, maker, taker in instruments]  # fmt: skip
    return {"list": entries}
