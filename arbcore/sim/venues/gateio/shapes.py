"""Gate.io spot's (APIv4) JSON, exactly as the venue writes it, from the simulator's values. Pure.

Field names and their order follow the documentation's examples (``shared/data/vectors/gateio``):
decimals as the shortest string (``"1.52"``), WebSocket frames ``time``, ``time_ms``,
``channel``, ``event``, ``result`` in that order (arbcore's fast scanner finds a plain
``spot.order_book_update`` by exactly that head), REST refusals ``{"label","message"}``, the
order book with its ``id`` first. :func:`currency_pair` states a market's rules the way
``arbcore.exchanges.gateio.providers`` reads them: ``precision`` and ``amount_precision`` are
numbers of decimals, so the instruments a client parses are the simulator's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Final

from arbcore.exchanges.gateio.constants import (
    OBU_CHANNEL,
    ORDER_BOOK_UPDATE_CHANNEL,
    PING_CHANNEL,
    TRADABLE,
)
from arbcore.model import Instrument, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import AssetBalance
from arbcore.sim.engine import SimOrder
from arbcore.sim.protocol import average_price, compact, rate_text, shortest
from arbcore_ext.book import ASK, BID

__all__ = [
    "BOOK_TICKER_CHANNEL",
    "OrderView",
    "accounts",
    "book_ticker",
    "currency_pair",
    "error",
    "fee",
    "finish_as",
    "obu_snapshot",
    "obu_update",
    "order",
    "order_ack",
    "order_book",
    "order_book_update",
    "pong",
    "ws_answer",
]

BOOK_TICKER_CHANNEL: Final = "spot.book_ticker"
PONG_CHANNEL: Final = PING_CHANNEL.replace("ping", "pong")
_MAX_BASE: Final = "10000000"
_MAX_QUOTE: Final = "100000000"
_LISTED_S: Final = 1516378650  # sell_start / buy_start of the docs' example pair
_FEE_FIELDS: Final = ("fee", "fee_currency", "point_fee", "gt_fee", "gt_discount",
                      "rebated_fee", "rebated_fee_currency")  # fmt: skip


def error(label: str, message: str) -> dict[str, str]:
    """A refusal body: every non-2xx answer carries one."""
    return {"label": label, "message": message}


# -- market data ----------------------------------------------------------------------------------


def currency_pair(instrument: Instrument, maker: Fraction) -> dict[str, Any]:
    """One entry of ``GET /api/v4/spot/currency_pairs`` (``fee`` in percent, deprecated)."""
    i = instrument
    return {
        "id": i.native_symbol,
        "base": i.base,
        "base_name": i.base,
        "quote": i.quote,
        "quote_name": i.quote,
        "fee": rate_text(maker * 100),
        "min_base_amount": shortest(i.min_qty, i.size_decimals),
        "min_quote_amount": shortest(i.min_notional, i.price_decimals),
        "max_base_amount": _MAX_BASE,
        "max_quote_amount": _MAX_QUOTE,
        "amount_precision": i.size_decimals,
        "precision": i.price_decimals,
        "trade_status": TRADABLE,
        "sell_start": _LISTED_S,
        "buy_start": _LISTED_S,
        "delisting_time": 0,
        "trade_url": f"https://www.gate.io/trade/{i.native_symbol}",
        "st_tag": False,
    }


def _rows(instrument: Instrument, levels: Iterable[tuple[int, int]]) -> list[list[str]]:
    p, s = instrument.price_decimals, instrument.size_decimals
    return [[shortest(price, p), shortest(size, s)] for price, size in levels]


def order_book(
    instrument: Instrument,
    book_id: int | None,
    now_ms: int,
    update_ms: int,
    bids: Sequence[tuple[int, int]],
    asks: Sequence[tuple[int, int]],
) -> dict[str, Any]:
    """``GET /api/v4/spot/order_book``: ``id`` (with ``with_id=true``) first, asks, then bids."""
    body: dict[str, Any] = {} if book_id is None else {"id": book_id}
    body.update(current=now_ms, update=update_ms, asks=_rows(instrument, asks),
                bids=_rows(instrument, bids))  # fmt: skip
    return body


def _push(channel: str, result: dict[str, Any], now_ms: int) -> str:
    return compact({"time": now_ms // 1000, "time_ms": now_ms, "channel": channel,
                    "event": "update", "result": result})  # fmt: skip


def order_book_update(
    instrument: Instrument,
    first_id: int,
    last_id: int,
    levels: Iterable[tuple[int, int, int]],
    now_ms: int,
) -> str:
    """A ``spot.order_book_update`` notification: the changed levels ``(side, price, size)``
    of update ids ``first_id..last_id`` (bids best first, then asks best first; size 0: gone)."""
    bids = sorted(((p, s) for side, p, s in levels if side == BID), reverse=True)
    asks = sorted((p, s) for side, p, s in levels if side == ASK)
    return _push(ORDER_BOOK_UPDATE_CHANNEL, {
        "t": now_ms, "e": "depthUpdate", "E": now_ms // 1000, "s": instrument.native_symbol,
        "U": first_id, "u": last_id,
        "b": _rows(instrument, bids), "a": _rows(instrument, asks),
    }, now_ms)  # fmt: skip


def obu_update(
    stream: str,
    instrument: Instrument,
    first_id: int,
    last_id: int,
    levels: Iterable[tuple[int, int, int]],
    now_ms: int,
) -> str:
    """An incremental ``spot.obu`` message of ``stream`` (``ob.<pair>.<depth>``) over update
    ids ``U..u``: the levels of the view that changed (size 0: left it)."""
    bids = [(p, s) for side, p, s in levels if side == BID]
    asks = [(p, s) for side, p, s in levels if side == ASK]
    result = {"t": now_ms, "s": stream, "U": first_id, "u": last_id,
              "b": _rows(instrument, bids), "a": _rows(instrument, asks)}  # fmt: skip
    return compact({"channel": OBU_CHANNEL, "result": result, "time_ms": now_ms})


def obu_snapshot(
    stream: str,
    instrument: Instrument,
    last_id: int,
    bids: Sequence[tuple[int, int]],
    asks: Sequence[tuple[int, int]],
    now_ms: int,
) -> str:
    """The ``full`` snapshot a ``spot.obu`` subscription starts with (only ``u``)."""
    result = {"t": now_ms, "full": True, "s": stream, "u": last_id,
              "b": _rows(instrument, bids), "a": _rows(instrument, asks)}  # fmt: skip
    return compact({"channel": OBU_CHANNEL, "result": result, "time_ms": now_ms})


def book_ticker(
    instrument: Instrument,
    update_id: int,
    bid: tuple[int, int],
    ask: tuple[int, int],
    now_ms: int,
) -> str:
    """A ``spot.book_ticker`` update: best bid and ask ``(price, size)`` at ``update_id``."""
    p, s = instrument.price_decimals, instrument.size_decimals
    return _push(BOOK_TICKER_CHANNEL, {
        "t": now_ms, "u": update_id, "s": instrument.native_symbol,
        "b": shortest(bid[0], p), "B": shortest(bid[1], s),
        "a": shortest(ask[0], p), "A": shortest(ask[1], s),
    }, now_ms)  # fmt: skip


def ws_answer(
    request: dict[str, Any],
    now_ms: int,
    conn_id: str,
    *,
    failure: tuple[int, str] | None = None,
) -> str:
    """The answer to a subscribe / unsubscribe: success, or ``failure`` ``(code, message)``
    (1 bad request body, 2 bad argument)."""
    answer: dict[str, Any] = {"time": now_ms // 1000, "time_ms": now_ms}
    if "id" in request:
        answer["id"] = request["id"]
    answer.update(conn_id=conn_id, trace_id=f"{now_ms:032x}", channel=request.get("channel", ""),
                  event=request.get("event", ""), payload=request.get("payload", []))  # fmt: skip
    if failure is None:
        answer.update(error=None, result={"status": "success"})
    else:
        answer.update(error={"code": failure[0], "message": failure[1]},
                      result={"status": "fail"})  # fmt: skip
    return compact(answer)


def pong(now_s: int) -> str:
    """The answer to ``spot.ping``."""
    return compact({"time": now_s, "channel": PONG_CHANNEL, "event": "", "error": None,
                    "result": None})  # fmt: skip


# -- trading --------------------------------------------------------------------------------------


class OrderView:
    """What Gate says of one order beyond the engine's state: its ``text``, and for a market
    buy the quote ``amount`` it was given (Gate sizes market buys in the quote asset)."""

    def __init__(self, text: str, quote_amount: str | None = None) -> None:
        self.text = text
        self.quote_amount = quote_amount


def finish_as(order: SimOrder) -> str:
    """Why a finished order ended, in Gate's words (``open`` while it is not finished)."""
    status = order.status
    if not status.is_final:
        return "open"
    if status is OrderStatus.FILLED:
        return "filled"
    if status is OrderStatus.CANCELED:
        return "cancelled"
    if order.type is OrderType.MARKET:
        return "depth_not_enough"
    if order.time_in_force.is_immediate:
        return order.time_in_force.value  # ioc, or fok: "not filled immediately because FOK"
    return "stp"  # a resting order expired by self-trade prevention


def _status(order: SimOrder) -> str:
    if not order.status.is_final:
        return "open"
    return "closed" if order.status is OrderStatus.FILLED else "cancelled"


def _time_in_force(order: SimOrder) -> str:
    if order.type is OrderType.MARKET:
        return "ioc"
    if order.time_in_force is TimeInForce.POST_ONLY:
        return "poc"
    return str(order.time_in_force.value)  # gtc, ioc, fok


def order(
    instrument: Instrument,
    placed: SimOrder,
    view: OrderView,
    decimals: dict[str, int],
    *,
    full: bool = True,
) -> dict[str, Any]:
    """A spot order (create with ``action_mode`` RESULT or FULL, get, cancel, lists); fee
    fields only in FULL. ``decimals`` per asset (the ledger's)."""
    i = instrument
    p, s, q = i.price_decimals, i.size_decimals, decimals[i.quote]
    market_buy = placed.type is OrderType.MARKET and view.quote_amount is not None
    left = placed.size_raw - placed.filled_raw if not placed.status.is_final else 0
    if market_buy:
        assert view.quote_amount is not None
        amount, left_text = view.quote_amount, "0"
    else:
        amount, left_text = shortest(placed.size_raw, s), shortest(left, s)
    average = average_price(placed.quote_raw, q, placed.filled_raw, s, q) or "0"
    fee_asset = i.base if placed.side.value == "buy" else i.quote
    fee = sum(trade.fee_of(placed.order_id) for trade in placed.trades)
    created, updated = placed.ts_created_ns // 1_000_000, placed.ts_updated_ns // 1_000_000
    body: dict[str, Any] = {
        "id": str(placed.order_id),
        "text": view.text,
        "amend_text": "-",
        "create_time": str(created // 1000),
        "update_time": str(updated // 1000),
        "create_time_ms": created,
        "update_time_ms": updated,
        "status": _status(placed),
        "currency_pair": i.native_symbol,
        "type": placed.type.value,
        "account": "spot",
        "side": placed.side.value,
        "amount": amount,
        "price": shortest(placed.price_raw, p),
        "time_in_force": _time_in_force(placed),
        "iceberg": "0",
        "auto_borrow": False,
        "left": left_text,
        "filled_amount": shortest(placed.filled_raw, s),
        "filled_total": shortest(placed.quote_raw, q),
        "avg_deal_price": average,
        "fee": shortest(fee, decimals[fee_asset]),
        "fee_currency": fee_asset,
        "point_fee": "0",
        "gt_fee": "0",
        "gt_discount": False,
        "rebated_fee": "0",
        "rebated_fee_currency": i.quote,
        "stp_id": 0,
        "stp_act": "-",
        "finish_as": finish_as(placed),
    }
    if not full:
        for key in _FEE_FIELDS:
            del body[key]
    return body


def order_ack(placed: SimOrder, view: OrderView) -> dict[str, str]:
    """``action_mode`` ACK: the id and text only."""
    return {"id": str(placed.order_id), "text": view.text, "amend_text": "-"}


def accounts(balances: Iterable[AssetBalance], update_id: int) -> list[dict[str, Any]]:
    """``GET /api/v4/spot/accounts``: per currency, ``available`` and ``locked``."""
    return [
        {
            "currency": b.asset,
            "available": shortest(b.free, b.decimals),
            "locked": shortest(b.locked, b.decimals),
            "update_id": update_id,
        }
        for b in balances
    ]


def fee(native_symbol: str, maker: Fraction, taker: Fraction, user_id: int) -> dict[str, Any]:
    """``GET /api/v4/spot/fee?currency_pair=``."""
    return {
        "user_id": user_id,
        "taker_fee": rate_text(taker),
        "maker_fee": rate_text(maker),
        "gt_discount": False,
        "gt_taker_fee": "0",
        "gt_maker_fee": "0",
        "loan_fee": "0.18",
        "point_type": "1",
        "currency_pair": native_symbol,
        "debit_fee": 3,
    }
