"""HTX (Huobi) spot's JSON, exactly as the venue writes it, from the simulator's values. Pure.

Shapes and key order follow the documentation's examples (``shared/data/vectors/htx``): REST
answers are the v1 envelope ``{"status":"ok","data":...}`` (refusals ``{"status":"error",
"err-code","err-msg","data":null}``) or, for the fee rate, the v2 ``{"code":200,"data",
"success"}``; order decimals are strings, book levels and symbol minimums JSON numbers. Market
frames are built as text here; the server gzips them.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Final

from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import AssetBalance
from arbcore.sim.engine import SimOrder
from arbcore.sim.protocol import compact, rate_text, shortest

__all__ = [
    "balance",
    "depth",
    "envelope",
    "error",
    "fee_rates",
    "gzipped",
    "mbp_delta",
    "mbp_reply",
    "order_detail",
    "ping",
    "sub_ack",
    "symbol_entry",
    "ws_error",
]

Level = tuple[int, int]

_LIMIT_KINDS: Final = {
    TimeInForce.GTC: "limit",
    TimeInForce.IOC: "ioc",
    TimeInForce.POST_ONLY: "limit-maker",
    TimeInForce.FOK: "limit-fok",
}
#: ``canceled-source`` of an order the venue ended by its own rule, by time in force
_EXPIRED_SOURCES: Final = {TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}


def gzipped(text: str) -> bytes:
    """A market frame as HTX sends it: the JSON text, gzip-compressed."""
    return gzip.compress(text.encode(), compresslevel=1, mtime=0)


def envelope(data: Any) -> dict[str, Any]:
    return {"status": "ok", "data": data}


def error(code: str, message: str) -> dict[str, Any]:
    return {"status": "error", "err-code": code, "err-msg": message, "data": None}


def _number(text: str) -> float | int:
    """A decimal text as the JSON number HTX prints (minimums in the symbol list)."""
    value = float(text)
    return int(value) if value.is_integer() else value


def symbol_entry(i: Instrument, *, short: bool) -> dict[str, Any]:
    """One ``data[]`` entry of ``/v1/common/symbols`` (or, ``short``, of
    ``/v1/settings/common/market-symbols``): precisions as decimals, minimums as numbers."""
    min_amount = _number(shortest(i.min_qty, i.size_decimals))
    min_value = _number(shortest(i.min_notional, i.price_decimals))
    pp = len(shortest(i.tick_size, i.price_decimals).partition(".")[2])
    ap = len(shortest(i.lot_size, i.size_decimals).partition(".")[2])
    base, quote = i.base.lower(), i.quote.lower()
    if short:
        return {"symbol": i.native_symbol, "state": "online", "bc": base, "qc": quote, "pp": pp,
                "ap": ap, "sp": "main", "vp": 8, "minoa": min_amount, "minov": min_value,
                "lominoa": min_amount, "smminoa": min_amount, "at": "enabled",
                "tags": ""}  # fmt: skip
    return {"base-currency": base, "quote-currency": quote, "price-precision": pp,
            "amount-precision": ap, "symbol-partition": "main", "symbol": i.native_symbol,
            "state": "online", "value-precision": 8, "min-order-amt": min_amount,
            "min-order-value": min_value, "limit-order-min-order-amt": min_amount,
            "sell-market-min-order-amt": min_amount, "api-trading": "enabled",
            "tags": ""}  # fmt: skip


# -- market data ---------------------------------------------------------------------------------


def _levels(instrument: Instrument, levels: Iterable[Level]) -> str:
    """``[[price,size],...]`` with JSON numbers in their shortest decimal text."""
    pd, sd = instrument.price_decimals, instrument.size_decimals
    return "[" + ",".join(f"[{shortest(p, pd)},{shortest(s, sd)}]" for p, s in levels) + "]"


def _sides(instrument: Instrument, bids: Sequence[Level] | None,
           asks: Sequence[Level] | None) -> str:  # fmt: skip
    """``"bids":[...],"asks":[...]``, a side given as None left out (5/20-level deltas)."""
    parts = [f'"{key}":{_levels(instrument, levels)}'
             for key, levels in (("bids", bids), ("asks", asks)) if levels is not None]  # fmt: skip
    return ",".join(parts)


def mbp_delta(
    channel: str,
    instrument: Instrument,
    *,
    ts_ms: int,
    seq: int,
    prev_seq: int,
    bids: Sequence[Level] | None,
    asks: Sequence[Level] | None,
) -> str:
    """An incremental ``market.<sym>.mbp.<levels>`` push (``ch``, ``ts``, then ``tick``)."""
    sides = _sides(instrument, bids, asks)
    tick = f'{{"seqNum":{seq},"prevSeqNum":{prev_seq}' + (f",{sides}}}" if sides else "}")
    return f'{{"ch":"{channel}","ts":{ts_ms},"tick":{tick}}}'


def mbp_reply(
    request_id: str, channel: str, instrument: Instrument, seq: int,
    bids: Sequence[Level], asks: Sequence[Level],
) -> str:  # fmt: skip
    """The answer to ``{"req": "market.<sym>.mbp.<levels>"}``: the image at ``seqNum``."""
    data = f'{{"seqNum":{seq},{_sides(instrument, bids, asks)}}}'
    head = compact({"id": request_id, "rep": channel, "status": "ok"})[:-1]
    return f'{head},"data":{data}}}'


def sub_ack(request_id: str, key: str, channel: str, ts_ms: int) -> str:
    """``{"id","status":"ok","subbed"|"unsubbed",...,"ts"}``."""
    return compact({"id": request_id, "status": "ok", key: channel, "ts": ts_ms})


def ws_error(request_id: str | None, code: str, message: str, ts_ms: int) -> str:
    head: dict[str, Any] = {} if request_id is None else {"id": request_id}
    return compact({**head, "status": "error", "ts": ts_ms, "err-code": code, "err-msg": message})


def ping(ts_ms: int) -> str:
    return compact({"ping": ts_ms})


def depth(instrument: Instrument, channel: str, ts_ms: int, version: int,
          bids: Sequence[Level], asks: Sequence[Level]) -> str:  # fmt: skip
    """``GET /market/depth``: ``tick.version`` (no seqNum), levels as numbers."""
    tick = f'{{"ts":{ts_ms},"version":{version},{_sides(instrument, bids, asks)}}}'
    return f'{{"ch":"{channel}","status":"ok","ts":{ts_ms},"tick":{tick}}}'


# -- trading -------------------------------------------------------------------------------------


def order_type(order: SimOrder) -> str:
    kind = "market" if order.type is OrderType.MARKET else _LIMIT_KINDS[order.time_in_force]
    return f"{order.side.value}-{kind}"


def _state(order: SimOrder, voided: bool) -> tuple[str, str | None]:
    """HTX's ``state`` and ``canceled-source`` (None: the account cancelled it)."""
    status = order.status
    if status is OrderStatus.FILLED:
        return "filled", None
    if status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
        return ("partial-filled" if order.filled_raw else "submitted"), None
    state = "partial-canceled" if order.filled_raw else "canceled"
    if voided:
        return state, "limit_maker"
    if status is OrderStatus.EXPIRED and order.time_in_force is not TimeInForce.GTC:
        if order.type is OrderType.MARKET:
            return state, "market"
        return state, _EXPIRED_SOURCES.get(order.time_in_force, "ioc")
    return state, None


def order_detail(
    instrument: Instrument,
    order: SimOrder,
    *,
    account_id: int,
    client_order_id: str,
    quote_amount: str | None,
    decimals: dict[str, int],
    voided: bool = False,
    listed: bool = False,
) -> dict[str, Any]:
    """``getClientOrder``'s ``data`` (``listed``: an ``openOrders`` entry, ``filled-*`` keys).

    A market buy's ``amount`` is the quote it was given (``quote_amount``); fees are in what
    the order received; ``decimals`` per asset (the ledger's).
    """
    pd, sd = instrument.price_decimals, instrument.size_decimals
    state, source = _state(order, voided)
    fee = sum(trade.fee_of(order.order_id) for trade in order.trades)
    market = order.type is OrderType.MARKET
    amount = quote_amount if quote_amount is not None else shortest(order.size_raw, sd)
    filled = "filled" if listed else "field"
    fee_asset = instrument.base if order.side is OrderSide.BUY else instrument.quote
    entry: dict[str, Any] = {
        "id": order.order_id,
        "symbol": instrument.native_symbol,
        "account-id": account_id,
        "client-order-id": client_order_id,
        "amount": amount,
        "price": "0" if market else shortest(order.price_raw, pd),
        "created-at": order.ts_created_ns // 1_000_000,
        "type": order_type(order),
        f"{filled}-amount": shortest(order.filled_raw, sd),
        f"{filled}-cash-amount": shortest(order.quote_raw, decimals[instrument.quote]),
        f"{filled}-fees": shortest(fee, decimals[fee_asset]),
        "finished-at": order.ts_updated_ns // 1_000_000 if order.status.is_final else 0,
        "source": "spot-api",
        "state": state,
        "canceled-at": order.ts_updated_ns // 1_000_000 if "canceled" in state else 0,
    }
    if source is not None:
        entry["canceled-source"] = source
    return entry


def balance(account_id: int, balances: Iterable[AssetBalance]) -> dict[str, Any]:
    """``GET /v1/account/accounts/{id}/balance``: a ``trade`` and a ``frozen`` entry per
    currency."""
    rows = []
    for b in balances:
        for kind, amount in (("trade", b.free), ("frozen", b.locked)):
            rows.append({"currency": b.asset.lower(), "type": kind,
                         "balance": shortest(amount, b.decimals), "seq-num": "0"})  # fmt: skip
    return envelope({"id": account_id, "type": "spot", "state": "working", "list": rows})


def fee_rates(entries: Iterable[tuple[str, Fraction, Fraction]]) -> dict[str, Any]:
    """``GET /v2/reference/transact-fee-rate``: per symbol, base and actual rates."""
    data = []
    for symbol, maker, taker in entries:
        m, t = rate_text(maker), rate_text(taker)
        data.append({"symbol": symbol, "actualMakerRate": m, "actualTakerRate": t,
                     "takerFeeRate": t, "makerFeeRate": m})  # fmt: skip
    return {"code": 200, "data": data, "success": True}


def side_of(text: str) -> tuple[OrderSide, str] | None:
    """``buy-limit`` -> (BUY, "limit"); None for anything else."""
    side, _, kind = text.partition("-")
    if side not in ("buy", "sell") or not kind:
        return None
    return OrderSide(side), kind


def dumps(body: object) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
