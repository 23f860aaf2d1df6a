"""Bybit v5 frames -> arbcore events. Pure functions: bytes in, values out.

Book messages in Bybit's compact shape are read by the feed's compiled ``BybitPath``
(``arbcore_ext.bybitpath``; :func:`path_event` makes its snapshots events). Here, book messages
(``orderbook.<depth>.<symbol>``, ``orderbook.full.<symbol>``) take the fast path:
the strict scanner (``arbcore_ext.jsonscan``) reads ``data.b`` / ``data.a`` straight from the
frame into int64 arrays. Anything it does not recognise goes to the validating path, a full
cysimdjson parse (Bybit sends prices and sizes as quoted decimals, so no float is involved),
which is also the reference the scanner is tested against. Both give the same
:class:`~arbcore.model.BookEvent`, whose ``first_seq == last_seq == data.u``.

``orderbook.1`` is top-of-book only and snapshot-only: it becomes a :class:`~arbcore.model.Quote`,
never a book event, so it cannot reset a deeper book of the same symbol. Its ``u`` counts that
stream's own updates, not the deep book's, so the quote carries ``update_id = 0`` (nothing to
compare it with by id).
"""

from __future__ import annotations

from typing import Any

from arbcore.errors import MalformedMessage
from arbcore.exchanges import wire
from arbcore.exchanges.bybit.constants import BOOK_TOPIC, TOP_DEPTH, VENUE
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.fixedpoint import to_raw
from arbcore_ext.jsonscan import ScanError, find_value, scan_int, scan_levels_at

__all__ = [
    "Event",
    "PathMessage",
    "book_topic",
    "parse_book_message",
    "parse_frame",
    "parse_rest_orderbook",
    "parse_top_of_book",
    "path_event",
]

Event = BookEvent | Quote

_KINDS = {"snapshot": BookEventKind.SNAPSHOT, "delta": BookEventKind.DELTA}


def book_topic(topic: str) -> tuple[str, str] | None:
    """``(depth, native symbol)`` of an ``orderbook.<depth>.<symbol>`` topic, else None."""
    name, _, rest = topic.partition(".")
    depth, _, native = rest.partition(".")
    if name != BOOK_TOPIC or not depth or not native:
        return None
    return depth, native


_string_at = wire.string_at


def _int_at(frame: bytes, key: bytes, start: int = 0) -> int:
    at = find_value(frame, key, start)
    if at < 0:
        raise ScanError(f"no {key.decode()!r} key", start)
    value, _ = scan_int(frame, at)
    return value


#: (symbol, snapshot?, u, cts ms): what ``BybitPath.push_of`` read from a book message.
PathMessage = tuple[str, bool, int, int]


def path_event(message: PathMessage, levels: LevelBuffer, ts_recv_ns: int = 0) -> BookEvent:
    """The event :func:`parse_book_message` makes of a message the feed's BybitPath read
    (``message``, its levels in ``levels``, copied: the path reuses its buffer)."""
    symbol, snapshot, update_id, event_ms = message
    kind = BookEventKind.SNAPSHOT if snapshot else BookEventKind.DELTA
    sides, prices, sizes = levels.arrays()
    return wire.book_event(
        VENUE, symbol, kind, (sides.copy(), prices.copy(), sizes.copy()), first_seq=update_id,
        last_seq=update_id, ts_event_ns=event_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _instrument(symbols: SymbolMap, native: str) -> Instrument:
    return wire.find_instrument(symbols, native, VENUE)


def parse_book_message(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> BookEvent:
    """An ``orderbook`` snapshot or delta; sequence ``data.u``, event time ``cts`` (or ``ts``)."""
    try:
        topic = book_topic(_string_at(frame, b"topic") or "")
        kind = _KINDS.get(_string_at(frame, b"type") or "")
        if topic is None or kind is None:
            raise ScanError("not an orderbook snapshot or delta", 0)
        instrument = _instrument(symbols, topic[1])
        data_at = find_value(frame, b"data")
        if data_at < 0:
            raise ScanError("no 'data' key", 0)
        if _string_at(frame, b"s", data_at) != topic[1]:  # the validating path names the error
            raise ScanError("data.s is not the topic's symbol", data_at)
        levels = LevelBuffer(64)
        price_decimals, size_decimals = instrument.price_decimals, instrument.size_decimals
        scan_levels_at(frame, b"b", BID, price_decimals, size_decimals, levels, data_at)
        scan_levels_at(frame, b"a", ASK, price_decimals, size_decimals, levels, data_at)
        update_id = _int_at(frame, b"u", data_at)
        cts_at = find_value(frame, b"cts")
        if cts_at < 0 or find_value(frame, b"cts", cts_at) >= 0:
            raise ScanError("not one 'cts': the validating path reads the frame", 0)
        event_ms, _ = scan_int(frame, cts_at)
        if not event_ms:  # "cts": 0 stands for absent, as in the validating path
            raise ScanError("cts 0", cts_at)
    except ScanError:
        return _validated_book_message(frame, symbols, ts_recv_ns)
    return wire.book_event(
        VENUE, instrument.symbol, kind, levels.arrays(), first_seq=update_id,
        last_seq=update_id, ts_event_ns=event_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _decode(frame: bytes) -> Any:
    return wire.decode_json(frame, VENUE)


def _levels(pairs: Any, side: int, instrument: Instrument) -> wire.LevelArrays:
    return wire.level_arrays(pairs, side, instrument, VENUE)


def _book(
    data: Any, instrument: Instrument, kind: BookEventKind, event_ms: int, ts_recv_ns: int
) -> BookEvent:
    try:
        bid = _levels(data["b"], BID, instrument)
        ask = _levels(data["a"], ASK, instrument)
        update_id = int(data["u"])
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"orderbook data without {exc}", venue=VENUE) from exc
    return wire.book_event(
        VENUE, instrument.symbol, kind, wire.join_sides(bid, ask), first_seq=update_id,
        last_seq=update_id, ts_event_ns=event_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _validated_book_message(frame: bytes, symbols: SymbolMap, ts_recv_ns: int) -> BookEvent:
    """The reference path: a full parse with every field checked."""
    message = _decode(frame)
    try:
        topic = book_topic(str(message["topic"]))
        kind = _KINDS.get(message["type"])
        if topic is None or kind is None:
            raise MalformedMessage(
                f"not an orderbook snapshot or delta: {message['topic']!r} {message['type']!r}",
                venue=VENUE,
            )
        data = message["data"]
        if data["s"] != topic[1]:
            raise MalformedMessage(f"data.s {data['s']!r} is not the topic's symbol", venue=VENUE)
        event_ms = int(message.get("cts") or message["ts"])
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"orderbook message without {exc}", venue=VENUE) from exc
    return _book(data, _instrument(symbols, topic[1]), kind, event_ms, ts_recv_ns)


def parse_rest_orderbook(body: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> BookEvent:
    """``GET /v5/market/orderbook`` (or ``full_orderbook``) as a SNAPSHOT at ``result.u``."""
    message = _decode(body)
    try:
        if message["retCode"] != 0:
            raise MalformedMessage(f"orderbook request failed: {message['retMsg']!r}", venue=VENUE)
        data = message["result"]
        instrument = _instrument(symbols, str(data["s"]))
        event_ms = int(data.get("cts") or data["ts"])
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"orderbook response without {exc}", venue=VENUE) from exc
    return _book(data, instrument, BookEventKind.SNAPSHOT, event_ms, ts_recv_ns)


def parse_top_of_book(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> Quote:
    """An ``orderbook.1`` message as a Quote (update_id 0: see the module docstring)."""
    message = _decode(frame)
    try:
        data = message["data"]
        instrument = _instrument(symbols, str(data["s"]))
        (bid_price, bid_size), (ask_price, ask_size) = data["b"][0], data["a"][0]
        return Quote(
            venue=VENUE,
            symbol=instrument.symbol,
            bid_price=to_raw(bid_price, instrument.price_decimals),
            bid_size=to_raw(bid_size, instrument.size_decimals),
            ask_price=to_raw(ask_price, instrument.price_decimals),
            ask_size=to_raw(ask_size, instrument.size_decimals),
            ts_event_ns=int(message.get("cts") or message["ts"]) * 1_000_000,
            ts_recv_ns=ts_recv_ns,
        )
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise MalformedMessage(f"orderbook.1 message without a two-sided top: {exc}") from exc


def parse_frame(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> list[Event]:
    """Any public frame: book topics become events; acks, pongs and other topics give ``[]``.

    A book frame for a symbol not in ``symbols`` also gives ``[]`` (the caller did not ask).
    """
    topic = book_topic(_string_at(frame, b"topic") or "")
    if topic is None or symbols.get(topic[1]) is None:
        return []
    if topic[0] == TOP_DEPTH:
        return [parse_top_of_book(frame, symbols, ts_recv_ns)]
    return [parse_book_message(frame, symbols, ts_recv_ns)]
