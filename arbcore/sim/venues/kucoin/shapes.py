"""KuCoin spot's JSON, exactly as the venue writes it, from the simulator's values. Pure.

Field names and their order follow the documentation's examples (``shared/data/vectors/kucoin``):
decimals as the shortest string (``"67993.3"``, ``"0.1"``, ``"0"``), the REST envelope
``{"code":"200000","data":...}`` and refusals ``{"code":"400100","msg":...}``, the level-2
``sequence`` a string in REST bodies and integers in ``sequenceStart``/``sequenceEnd``, each
``trade.l2update`` row ``[price, size, sequence]`` with the sequence of that row's own change.
:func:`symbol_entry` states a market's rules the way ``arbcore.exchanges.kucoin.providers``
reads them, so the instruments a client parses are the simulator's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Final

from arbcore.exchanges.kucoin.constants import LEVEL2_SUBJECT, OK_CODE, TICKER_SUBJECT
from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import AssetBalance
from arbcore.sim.engine import SimOrder
from arbcore.sim.protocol import compact, rate_text, shortest
from arbcore_ext.book import ASK, BID

__all__ = [
    "LEVEL2_TOPIC",
    "TICKER_TOPIC",
    "Row",
    "accounts",
    "bullet",
    "error",
    "level2_snapshot",
    "level2_update",
    "ok",
    "order_detail",
    "order_id",
    "symbol_entry",
    "ticker",
    "trade_fee",
    "ws_ack",
    "ws_error",
    "ws_pong",
    "ws_welcome",
]

#: topic prefixes (``<prefix>:<symbol>,<symbol>``), one hub stream per symbol
LEVEL2_TOPIC: Final = "/market/level2"
TICKER_TOPIC: Final = "/market/ticker"
_MAX_SIZE: Final = "10000000000"
_MAX_FUNDS: Final = "99999999"
_PRICE_LIMIT_RATE: Final = "0.1"

#: one level-2 change: (side, price, size, the sequence of that change)
Row = tuple[int, int, int, int]


def ok(data: object, **extra: object) -> dict[str, Any]:
    """The success envelope."""
    return {"code": OK_CODE, **extra, "data": data}


def error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "msg": message}


def order_id(order: SimOrder) -> str:
    """A 24-hex order id, shaped like KuCoin's: creation second, then the engine's id."""
    return f"{order.ts_created_ns // 1_000_000_000:08x}{order.order_id:016x}"


# -- market data ----------------------------------------------------------------------------------


def symbol_entry(instrument: Instrument) -> dict[str, Any]:
    """One ``data[]`` entry of ``GET /api/v2/symbols``."""
    i = instrument
    tick = shortest(i.tick_size, i.price_decimals)
    min_funds = shortest(i.min_notional, i.price_decimals)
    return {
        "symbol": i.native_symbol,
        "name": i.native_symbol,
        "baseCurrency": i.base,
        "quoteCurrency": i.quote,
        "feeCurrency": i.quote,
        "market": "USDS" if i.quote in ("USDT", "USDC") else i.quote,
        "baseMinSize": shortest(i.min_qty, i.size_decimals),
        "quoteMinSize": min_funds,
        "baseMaxSize": _MAX_SIZE,
        "quoteMaxSize": _MAX_FUNDS,
        "baseIncrement": shortest(i.lot_size, i.size_decimals),
        "quoteIncrement": tick,
        "priceIncrement": tick,
        "priceLimitRate": _PRICE_LIMIT_RATE,
        "minFunds": min_funds,
        "isMarginEnabled": False,
        "enableTrading": True,
        "feeCategory": 1,
        "makerFeeCoefficient": "1.00",
        "takerFeeCoefficient": "1.00",
        "st": False,
        "callauctionIsEnabled": False,
        "callauctionPriceFloor": None,
        "callauctionPriceCeiling": None,
        "callauctionFirstStageStartTime": None,
        "callauctionSecondStageStartTime": None,
        "callauctionThirdStageStartTime": None,
        "tradingStartTime": None,
    }


def _rows(instrument: Instrument, levels: Iterable[tuple[int, int]]) -> list[list[str]]:
    p, s = instrument.price_decimals, instrument.size_decimals
    return [[shortest(price, p), shortest(size, s)] for price, size in levels]


def level2_snapshot(
    instrument: Instrument,
    sequence: int,
    time_ms: int,
    bids: Sequence[tuple[int, int]],
    asks: Sequence[tuple[int, int]],
) -> dict[str, Any]:
    """``GET /api/v1/market/orderbook/level2_{20,100}`` and ``/api/v3/market/orderbook/level2``."""
    return ok({
        "time": time_ms, "sequence": str(sequence),
        "bids": _rows(instrument, bids), "asks": _rows(instrument, asks),
    })  # fmt: skip


def level2_update(
    instrument: Instrument, rows: Sequence[Row], start: int, end: int, time_ms: int
) -> str:
    """A ``trade.l2update`` message over sequences ``start..end`` (asks, then bids, each in the
    order of their changes). A level changed twice shows once, at its last sequence, so the
    rows need not name every sequence of the range."""
    p, s = instrument.price_decimals, instrument.size_decimals

    def side(which: int) -> list[list[str]]:
        return [[shortest(price, p), shortest(size, s), str(sequence)]
                for row_side, price, size, sequence in rows if row_side == which]  # fmt: skip

    return compact({
        "topic": f"{LEVEL2_TOPIC}:{instrument.native_symbol}",
        "type": "message",
        "subject": LEVEL2_SUBJECT,
        "data": {
            "changes": {"asks": side(ASK), "bids": side(BID)},
            "sequenceEnd": end, "sequenceStart": start,
            "symbol": instrument.native_symbol, "time": time_ms,
        },
    })  # fmt: skip


def ticker(
    instrument: Instrument,
    sequence: int,
    bid: tuple[int, int],
    ask: tuple[int, int],
    last: tuple[int, int],
    time_ms: int,
) -> str:
    """A ``trade.ticker`` message: best bid and ask ``(price, size)`` as of book ``sequence``,
    ``last`` the last trade ``(price, size)``."""
    p, s = instrument.price_decimals, instrument.size_decimals
    return compact({
        "type": "message",
        "topic": f"{TICKER_TOPIC}:{instrument.native_symbol}",
        "subject": TICKER_SUBJECT,
        "data": {
            "sequence": str(sequence),
            "price": shortest(last[0], p), "size": shortest(last[1], s),
            "bestAsk": shortest(ask[0], p), "bestAskSize": shortest(ask[1], s),
            "bestBid": shortest(bid[0], p), "bestBidSize": shortest(bid[1], s),
            "time": time_ms,
        },
    })  # fmt: skip


def bullet(
    token: str, endpoint: str, ping_interval_ms: int, ping_timeout_ms: int
) -> dict[str, Any]:
    """``POST /api/v1/bullet-public``: a token and the instance server to use it on."""
    server = {"endpoint": endpoint, "encrypt": endpoint.startswith("wss:"),
              "protocol": "websocket", "pingInterval": ping_interval_ms,
              "pingTimeout": ping_timeout_ms}  # fmt: skip
    return ok({"token": token, "instanceServers": [server]})


def ws_welcome(connect_id: str) -> str:
    return compact({"id": connect_id, "type": "welcome"})


def ws_ack(request_id: object) -> str:
    return compact({"id": str(request_id), "type": "ack"})


def ws_pong(request_id: object) -> str:
    return compact({"id": str(request_id), "type": "pong"})


def ws_error(request_id: object, code: int, data: str) -> str:
    """KuCoin's WebSocket error (docs-new error-code/websocket): 401 token, 404 topic, ..."""
    return compact({"id": str(request_id), "type": "error", "code": code, "data": data})


# -- trading --------------------------------------------------------------------------------------


def _time_in_force(order: SimOrder) -> str:
    """A limit order's IOC or FOK; GTC otherwise (post-only says GTC with ``postOnly``)."""
    immediate = order.time_in_force.is_immediate and order.type is OrderType.LIMIT
    return order.time_in_force.value.upper() if immediate else "GTC"


def order_detail(
    instrument: Instrument, order: SimOrder, decimals: Mapping[str, int]
) -> dict[str, Any]:
    """An HF order object (``GET /api/v1/hf/orders/client-order/{clientOid}``, active orders);
    ``decimals`` per asset (the ledger's).

    ``active`` is whether the order can still trade; a done order that did not fill completely
    was cancelled (by the user, as an IOC or market remainder, or as a post-only that would
    have taken), and its remainder shows as ``cancelledSize``.
    """
    i = instrument
    p, s, q = i.price_decimals, i.size_decimals, decimals[i.quote]
    limit = order.type is OrderType.LIMIT
    active = not order.status.is_final
    remaining = order.size_raw - order.filled_raw
    cancelled = 0 if active or order.status is OrderStatus.FILLED else remaining
    fee_asset = i.base if order.side is OrderSide.BUY else i.quote
    fee = sum(trade.fee_of(order.order_id) for trade in order.trades)

    def funds(size: int) -> str:
        return shortest(order.price_raw * size, p + s) if limit else "0"

    return {
        "id": order_id(order),
        "clientOid": order.client_order_id,
        "symbol": i.native_symbol,
        "opType": "DEAL",
        "type": order.type.value,
        "side": order.side.value,
        "price": shortest(order.price_raw, p),
        "size": shortest(order.size_raw, s),
        "funds": funds(order.size_raw),
        "dealSize": shortest(order.filled_raw, s),
        "dealFunds": shortest(order.quote_raw, q),
        "remainSize": shortest(remaining if active else 0, s),
        "remainFunds": funds(remaining if active else 0),
        "cancelledSize": shortest(cancelled, s),
        "cancelledFunds": funds(cancelled),
        "fee": shortest(fee, decimals[fee_asset]),
        "feeCurrency": fee_asset,
        "stp": None,
        "timeInForce": _time_in_force(order),
        "postOnly": order.time_in_force is TimeInForce.POST_ONLY,
        "hidden": False,
        "iceberg": False,
        "visibleSize": "0",
        "cancelAfter": 0,
        "channel": "API",
        "remark": None,
        "tags": None,
        "cancelExist": cancelled > 0,
        "tradeType": "TRADE",
        "inOrderBook": active and limit,
        "active": active,
        "tax": "0",
        "createdAt": order.ts_created_ns // 1_000_000,
        "lastUpdatedAt": order.ts_updated_ns // 1_000_000,
    }


def accounts(account_ids: Mapping[str, str], balances: Iterable[AssetBalance]) -> list[Any]:
    """``GET /api/v1/accounts?type=trade``: per currency, ``available`` and ``holds``."""
    return [
        {
            "id": account_ids[b.asset],
            "currency": b.asset,
            "type": "trade",
            "balance": shortest(b.free + b.locked, b.decimals),
            "available": shortest(b.free, b.decimals),
            "holds": shortest(b.locked, b.decimals),
        }
        for b in balances
    ]


def trade_fee(native_symbol: str, maker: Fraction, taker: Fraction) -> dict[str, str]:
    """One entry of ``GET /api/v1/trade-fees`` (docs' key order: taker first)."""
    return {"symbol": native_symbol, "takerFeeRate": rate_text(taker),
            "makerFeeRate": rate_text(maker)}  # fmt: skip
