"""OKX spot's JSON (API v5), exactly as the venue writes it, from the simulator's values. Pure.

Shapes and key order follow the documentation's examples (``shared/data/vectors/okx``): every
REST answer is the ``{"code","msg","data":[...]}`` envelope (``"0"`` success; a failed order
is ``"1"`` with the reason in its entry's ``sCode``/``sMsg``); decimals are strings in their
shortest form (``"8476.98"``, ``"7"``), which is also the text the ``books`` checksum hashes;
book levels are ``[px, sz, "0", orders]``. A ``books`` push lists ``asks`` before ``bids``
and then ``ts, checksum, prevSeqId, seqId``: the order arbcore's scanner reads them in.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Final

from arbcore.model import Instrument, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import AssetBalance
from arbcore.sim.engine import SimOrder
from arbcore.sim.protocol import average_price, compact, rate_text, shortest

__all__ = [
    "CHECKSUM_DEPTH",
    "POST_ONLY_CANCEL_SOURCE",
    "balance",
    "books_push",
    "checksum",
    "envelope",
    "event",
    "fee_rate",
    "instrument_entry",
    "order_entry",
    "order_result",
    "order_type",
    "rest_books",
    "top_push",
]

#: the legacy checksum covers the best 25 levels of each side (protocols notes 2.3)
CHECKSUM_DEPTH: Final = 25
#: when OKX lists the simulated markets (a fixed date: the shapes stay deterministic)
LIST_TIME_MS: Final = 1_606_468_572_000
_MAX_SIZE: Final = "9999999999"
_MAX_AMOUNT: Final = "1000000"
_STATE: Final = {
    OrderStatus.OPEN: "live",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.EXPIRED: "canceled",  # an IOC or market remainder: OKX says canceled
}
_LIMIT_TYPES: Final = {
    TimeInForce.GTC: "limit",
    TimeInForce.IOC: "ioc",
    TimeInForce.POST_ONLY: "post_only",
    TimeInForce.FOK: "fok",
}
#: cancelSource of a post-only order OKX cancelled because it would have taken liquidity
POST_ONLY_CANCEL_SOURCE: Final = "31"
#: cancelSource 13: "FOK order was canceled due to incompletely filled"
FOK_CANCEL_SOURCE: Final = "13"

Level = tuple[int, int]


def envelope(data: list[Any], code: str = "0", msg: str = "") -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": data}


def instrument_entry(i: Instrument) -> dict[str, Any]:
    """One ``data[]`` entry of ``GET /api/v5/public/instruments?instType=SPOT``."""
    return {
        "alias": "", "auctionEndTime": "", "baseCcy": i.base, "category": "1", "ctMult": "",
        "ctType": "", "ctVal": "", "ctValCcy": "", "expTime": "", "instFamily": "",
        "instId": i.native_symbol, "instType": "SPOT", "lever": "",
        "listTime": str(LIST_TIME_MS), "lotSz": shortest(i.lot_size, i.size_decimals),
        "maxIcebergSz": _MAX_SIZE, "maxLmtAmt": _MAX_AMOUNT, "maxLmtSz": _MAX_SIZE,
        "maxMktAmt": _MAX_AMOUNT, "maxMktSz": _MAX_SIZE, "maxStopSz": _MAX_SIZE,
        "maxTriggerSz": _MAX_SIZE, "maxTwapSz": _MAX_SIZE,
        "minSz": shortest(i.min_qty, i.size_decimals), "optType": "", "quoteCcy": i.quote,
        "ruleType": "normal", "settleCcy": "", "state": "live", "stk": "",
        "tickSz": shortest(i.tick_size, i.price_decimals), "uly": "",
    }  # fmt: skip


# -- market data ---------------------------------------------------------------------------------


def _rows(instrument: Instrument, levels: Iterable[Level]) -> list[list[str]]:
    """``[px, sz, "0", orders]`` rows (the deprecated third element is always "0"; the
    simulator does not count orders per level and states one)."""
    pd, sd = instrument.price_decimals, instrument.size_decimals
    return [[shortest(price, pd), shortest(size, sd), "0", "1" if size else "0"]
            for price, size in levels]  # fmt: skip


def checksum(instrument: Instrument, bids: Sequence[Level], asks: Sequence[Level]) -> int:
    """OKX's book checksum: CRC32 (signed 32-bit) of ``bid:size:ask:size:...`` over the best
    25 levels of each side, a side that runs short skipped, in the wire's own text."""
    pd, sd = instrument.price_decimals, instrument.size_decimals
    parts: list[str] = []
    for at in range(CHECKSUM_DEPTH):
        for levels in (bids, asks):
            if at < len(levels):
                price, size = levels[at]
                parts += (shortest(price, pd), shortest(size, sd))
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _arg(channel: str, instrument: Instrument) -> dict[str, str]:
    return {"channel": channel, "instId": instrument.native_symbol}


def books_push(
    instrument: Instrument,
    action: str,
    bids: Iterable[Level],
    asks: Iterable[Level],
    *,
    ts_ms: int,
    checksum: int,
    prev_seq: int,
    seq: int,
) -> str:
    """A ``books`` push: ``action`` "snapshot" (``prev_seq`` -1) or "update"."""
    entry = {"asks": _rows(instrument, asks), "bids": _rows(instrument, bids), "ts": str(ts_ms),
             "checksum": checksum, "prevSeqId": prev_seq, "seqId": seq}  # fmt: skip
    return compact({"arg": _arg("books", instrument), "action": action, "data": [entry]})


def top_push(
    channel: str,
    instrument: Instrument,
    bids: Iterable[Level],
    asks: Iterable[Level],
    *,
    ts_ms: int,
    seq: int,
) -> str:
    """A ``books5`` or ``bbo-tbt`` push: the top levels whole, at the books' ``seqId``."""
    entry: dict[str, Any] = {"asks": _rows(instrument, asks), "bids": _rows(instrument, bids)}
    if channel == "books5":
        entry["instId"] = instrument.native_symbol
    entry.update(ts=str(ts_ms), seqId=seq)
    return compact({"arg": _arg(channel, instrument), "data": [entry]})


def rest_books(
    instrument: Instrument, bids: Iterable[Level], asks: Iterable[Level], ts_ms: int, seq: int
) -> dict[str, Any]:
    """``GET /api/v5/market/books``: the book at ``seqId`` (as the 2026-08 docs give it)."""
    entry = {"asks": _rows(instrument, asks), "bids": _rows(instrument, bids), "ts": str(ts_ms),
             "seqId": seq}  # fmt: skip
    return envelope([entry])


def event(name: str, request_id: str | None, conn_id: str, **fields: Any) -> str:
    """A WebSocket event (``subscribe``, ``unsubscribe``, ``error``), the request's ``id``
    echoed when it had one."""
    head: dict[str, Any] = {} if request_id is None else {"id": request_id}
    return compact({**head, "event": name, **fields, "connId": conn_id})


# -- trading -------------------------------------------------------------------------------------


def order_result(
    client_order_id: str, order_id: str, ts_ms: int, code: str = "0", msg: str = ""
) -> dict[str, Any]:
    """One ``data[]`` entry of a placement or cancel answer (``sCode`` "0": accepted)."""
    return {"clOrdId": client_order_id, "ordId": order_id, "tag": "", "ts": str(ts_ms),
            "sCode": code, "sMsg": msg, "subCode": ""}  # fmt: skip


def order_type(order: SimOrder) -> str:
    if order.type is OrderType.MARKET:
        return "market"
    return _LIMIT_TYPES[order.time_in_force]


def _cancel_source(order: SimOrder, post_only_cancelled: bool) -> str:
    if post_only_cancelled:
        return POST_ONLY_CANCEL_SOURCE
    killed = order.time_in_force is TimeInForce.FOK and order.status is OrderStatus.EXPIRED
    return FOK_CANCEL_SOURCE if killed else ""


def order_entry(
    instrument: Instrument,
    order: SimOrder,
    decimals: dict[str, int],
    *,
    client_order_id: str,
    post_only_cancelled: bool = False,
) -> dict[str, Any]:
    """``GET /api/v5/trade/order`` (and each ``orders-pending`` entry); ``decimals`` per asset.

    Fees are negative (paid), in what the order received: base for a buy, quote for a sell.
    """
    pd, sd = instrument.price_decimals, instrument.size_decimals
    fee_ccy = instrument.base if order.side is OrderSide.BUY else instrument.quote
    fee = sum(trade.fee_of(order.order_id) for trade in order.trades)
    last = order.trades[-1] if order.trades else None
    market = order.type is OrderType.MARKET
    quote_decimals = decimals[instrument.quote]
    return {
        "accFillSz": shortest(order.filled_raw, sd),
        "avgPx": average_price(order.quote_raw, quote_decimals, order.filled_raw, sd, pd + sd),
        "cTime": str(order.ts_created_ns // 1_000_000),
        "cancelSource": _cancel_source(order, post_only_cancelled),
        "category": "normal",
        "ccy": "",
        "clOrdId": client_order_id,
        "fee": f"-{shortest(fee, decimals[fee_ccy])}" if fee else "0",
        "feeCcy": fee_ccy,
        "fillPx": "" if last is None else shortest(last.price_raw, pd),
        "fillSz": "0" if last is None else shortest(last.size_raw, sd),
        "fillTime": "" if last is None else str(last.ts_ns // 1_000_000),
        "instId": instrument.native_symbol,
        "instType": "SPOT",
        "lever": "",
        "ordId": str(order.order_id),
        "ordType": "post_only" if post_only_cancelled else order_type(order),
        "px": "" if market else shortest(order.price_raw, pd),
        "rebate": "0",
        "rebateCcy": instrument.quote if order.side is OrderSide.BUY else instrument.base,
        "side": order.side.value,
        "source": "",
        "state": _STATE[order.status],
        "stpMode": "cancel_maker",
        "sz": shortest(order.size_raw, sd),
        "tag": "",
        "tdMode": "cash",
        "tgtCcy": "base_ccy" if market else "",
        "tradeId": "" if last is None else str(last.trade_id),
        "uTime": str(order.ts_updated_ns // 1_000_000),
    }


def balance(balances: Iterable[AssetBalance], update_ms: int) -> dict[str, Any]:
    """``GET /api/v5/account/balance``: one account entry, a detail per currency held
    (``availBal`` free, ``frozenBal`` locked by open orders)."""
    details = []
    for b in balances:
        total = shortest(b.free + b.locked, b.decimals)
        details.append({
            "availBal": shortest(b.free, b.decimals), "availEq": "", "cashBal": total,
            "ccy": b.asset, "disEq": "", "eq": total, "eqUsd": "",
            "frozenBal": shortest(b.locked, b.decimals),
            "ordFrozen": shortest(b.locked, b.decimals), "uTime": str(update_ms),
        })  # fmt: skip
    return envelope([{"adjEq": "", "details": details, "imr": "", "isoEq": "", "mgnRatio": "",
                      "mmr": "", "notionalUsd": "", "ordFroz": "", "totalEq": "",
                      "uTime": str(update_ms)}])  # fmt: skip


def fee_rate(maker: Fraction, taker: Fraction, ts_ms: int) -> dict[str, Any]:
    """``GET /api/v5/account/trade-fee?instType=SPOT``: rates negative (commission paid)."""
    maker_text, taker_text = _paid(maker), _paid(taker)
    group = {"groupId": "1", "maker": maker_text, "taker": taker_text}
    return envelope([{"category": "1", "delivery": "", "exercise": "", "feeGroup": [group],
                      "instType": "SPOT", "level": "Lv1", "maker": maker_text,
                      "taker": taker_text, "ts": str(ts_ms)}])  # fmt: skip


def _paid(rate: Fraction) -> str:
    """A fee paid as OKX states it: negative ("-0.0008"); a rebate positive."""
    text = rate_text(abs(rate))
    return text if text == "0" or rate < 0 else f"-{text}"
