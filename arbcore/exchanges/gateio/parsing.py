"""Gate.io v4 spot frames -> arbcore events. Pure functions: bytes in, values out.

Book messages take the fast path: the strict scanner (``arbcore_ext.jsonscan``) reads the
``b``/``a`` level arrays of ``result`` (``bids``/``asks`` of a REST order book) straight from the
frame into int64 arrays. Anything it does not recognise goes to the validating path, a full
cysimdjson parse, which is also the reference the scanner is tested against. Two channels:

- ``spot.order_book_update`` (legacy): ``result.s`` is the pair, ``U``/``u`` the first/last update
  id; a DELTA synced against the REST snapshot's ``id``. ``full: true`` (a complete book) becomes
  a SNAPSHOT at ``u``.
- ``spot.obu`` (Order Book V2): ``result.s`` is ``ob.<pair>.<depth>``; ``full: true`` (only ``u``)
  is a SNAPSHOT, incrementals carry ``U``/``u``.

Plain legacy deltas also have a compiled reader, :func:`update_path` (``arbcore_ext.gatepath``):
the feed reads and applies them in one call, no event built. REST order books in Gate's own shape
are read in one pass by ``gatepath.read_order_book``.

Gate's ``spot.tickers`` carry no sizes and no update id, so they give no quote.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arbcore.errors import MalformedMessage
from arbcore.exchanges import wire
from arbcore.exchanges.gateio.constants import (
    ACK_EVENTS,
    NO_BOOK_CHANNELS,
    OBU_CHANNEL,
    ORDER_BOOK_UPDATE_CHANNEL,
    VENUE,
)
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.wire import find_instrument, level_arrays, string_at
from arbcore.model import BookEvent, BookEventKind, Instrument
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.deltapath import DeltaPath, Route
from arbcore_ext.framepath import KindFilter
from arbcore_ext.gatepath import GatePath, read_order_book
from arbcore_ext.jsonscan import ScanError, find_value, scan_int, scan_levels_at
from arbcore_ext.slotted import Maker

__all__ = [
    "no_book_filter",
    "parse_book_update",
    "parse_frame",
    "parse_order_book_snapshot",
    "update_path",
]

#: A plain legacy delta right from its (first) ``channel`` key on. Gate puts ``time`` and
#: ``time_ms`` before it, so it starts within the first bytes.
_UPDATE_HEAD = b'"channel":"spot.order_book_update","event":"update","result":'
_HEAD_WINDOW = 128


def _native(channel: str, stream: str) -> str:
    """The pair a book message names: ``OMG_USDT``, or the middle of ``ob.OMG_USDT.50``."""
    if not isinstance(stream, str):
        raise MalformedMessage(f"result.s is not a string: {stream!r}", venue=VENUE)
    if channel == OBU_CHANNEL:
        parts = stream.split(".")
        if len(parts) != 3 or parts[0] != "ob":
            raise MalformedMessage(f"not an ob.<pair>.<depth> stream: {stream!r}", venue=VENUE)
        return parts[1]
    return stream


def _channel(frame: bytes) -> str | None:
    return string_at(frame, b"channel")


def update_path(routes: Iterable[Route]) -> DeltaPath:
    """The compiled reader of plain ``spot.order_book_update`` deltas of some pairs: ``U``/``u``,
    ``t`` and the ``b``/``a`` levels of a result that follows Gate's head, in one pass over it
    (:class:`~arbcore_ext.gatepath.GatePath`). A ``full`` result (a snapshot), any other key and
    every other frame (or shape) are declined, for :func:`parse_frame`."""
    return GatePath(
        routes, anchor=_UPDATE_HEAD, window=_HEAD_WINDOW, symbol_key=b"s", first_key=b"U",
        last_key=b"u", time_key=b"t", time_required=True, time_unit_ns=1_000_000,
        level_keys=((b"b", BID), (b"a", ASK)),
    )  # fmt: skip


def no_book_filter() -> KindFilter:
    """Frames of the :data:`NO_BOOK_CHANNELS` (their first ``channel``; :func:`parse_frame`
    returns ``[]`` for every channel but the two book ones) and acks (their first ``event``
    one of :data:`ACK_EVENTS`: :func:`parse_frame` returns ``[]`` for any event but ``update``
    and ``all``)."""
    acks = KindFilter(b"event", [event.encode() for event in ACK_EVENTS])
    return KindFilter(b"channel", [channel.encode() for channel in NO_BOOK_CHANNELS], acks)


def parse_book_update(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> BookEvent:
    """A ``spot.order_book_update`` or ``spot.obu`` message: DELTA over U..u, or SNAPSHOT at u."""
    try:
        channel = _channel(frame)
        result = find_value(frame, b"result")
        stream = string_at(frame, b"s", result)
        if channel is None or result < 0 or stream is None:
            raise ScanError("no channel or result.s", 0)
        instrument = find_instrument(symbols, _native(channel, stream), VENUE)
        full_at = find_value(frame, b"full", result)
        full = full_at >= 0 and frame[full_at : full_at + 4] == b"true"
        last_at, first_at = find_value(frame, b"u", result), find_value(frame, b"U", result)
        if last_at < 0 or (first_at < 0 and not full):  # scan_int(frame, -1) reads s[-1]
            raise ScanError("no u, or no U in an increment", result)
        last, _ = scan_int(frame, last_at)
        first = last if first_at < 0 else scan_int(frame, first_at)[0]
        time_at = find_value(frame, b"t", result)
        event_ms = scan_int(frame, time_at)[0] if time_at >= 0 else 0
        levels = LevelBuffer(32)
        price_decimals, size_decimals = instrument.price_decimals, instrument.size_decimals
        scan_levels_at(frame, b"b", BID, price_decimals, size_decimals, levels, result)
        scan_levels_at(frame, b"a", ASK, price_decimals, size_decimals, levels, result)
    except ScanError:
        return _validated_book_update(frame, symbols, ts_recv_ns)
    kind = BookEventKind.SNAPSHOT if full else BookEventKind.DELTA
    return wire.book_event(
        VENUE, instrument.symbol, kind, levels.arrays(), first_seq=first, last_seq=last,
        ts_event_ns=event_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _decode(frame: bytes) -> Any:
    return wire.decode_json(frame, VENUE)


#: The level keys of a WebSocket result and of a REST order book.
_WS_KEYS = ("b", "a")
_REST_KEYS = ("bids", "asks")


def _book_event(
    data: Any,
    keys: tuple[str, str],
    instrument: Instrument,
    kind: BookEventKind,
    first: int,
    last: int,
    **times: int,
) -> BookEvent:
    try:
        bid = level_arrays(data[keys[0]], BID, instrument, VENUE)
        ask = level_arrays(data[keys[1]], ASK, instrument, VENUE)
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"book without {exc}", venue=VENUE) from exc
    return wire.book_event(
        VENUE, instrument.symbol, kind, wire.join_sides(bid, ask), first_seq=first,
        last_seq=last, **times,
    )  # fmt: skip


def _validated_book_update(frame: bytes, symbols: SymbolMap, ts_recv_ns: int) -> BookEvent:
    """The reference path: a full parse with every field checked."""
    message = _decode(frame)
    try:
        channel, result = message["channel"], message["result"]
        if channel not in (ORDER_BOOK_UPDATE_CHANNEL, OBU_CHANNEL):
            raise MalformedMessage(f"not a book channel: {channel!r}", venue=VENUE)
        instrument = find_instrument(symbols, _native(channel, result["s"]), VENUE)
        full = result.get("full") is True
        last = int(result["u"])
        first = int(result["U"]) if "U" in result or not full else last
        event_ms = int(result.get("t", 0))
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"book update without {exc}", venue=VENUE) from exc
    kind = BookEventKind.SNAPSHOT if full else BookEventKind.DELTA
    return _book_event(
        result, _WS_KEYS, instrument, kind, first, last,
        ts_event_ns=event_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def parse_order_book_snapshot(
    body: bytes, instrument: Instrument, ts_recv_ns: int = 0
) -> BookEvent:
    """``GET /spot/order_book?...&with_id=true`` as a SNAPSHOT whose sequence is ``id``.

    Gate's own shape (``{"id":`` first, then the level arrays) is read in one pass straight
    from the bytes; anything else goes to the validating path.
    """
    event = _scan_order_book(body, instrument, ts_recv_ns)
    return _validated_order_book(body, instrument, ts_recv_ns) if event is None else event


def _scan_order_book(body: bytes, instrument: Instrument, ts_recv_ns: int) -> BookEvent | None:
    """The one-pass reader (:func:`~arbcore_ext.gatepath.read_order_book`); None: not Gate's
    compact shape."""
    read = read_order_book(body, instrument.price_decimals, instrument.size_decimals)
    if read is None:
        return None
    book_id, update_ms, levels = read
    if _EVENT_FIELDS_SET:
        sides, prices, sizes = levels
        return _new_event(
            VENUE, instrument.symbol, BookEventKind.SNAPSHOT, sides, prices, sizes, book_id,
            book_id, None, None, update_ms * 1_000_000, ts_recv_ns,
        )  # fmt: skip
    return wire.book_event(
        VENUE, instrument.symbol, BookEventKind.SNAPSHOT, levels, first_seq=book_id,
        last_seq=book_id, ts_event_ns=update_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


#: BookEvent's fields in the order :func:`_scan_order_book` fills them.
_EVENT_FIELDS = ("venue", "symbol", "kind", "sides", "prices", "sizes", "first_seq", "last_seq",
                 "prev_seq", "checksum", "ts_event_ns", "ts_recv_ns")  # fmt: skip
#: BookEvent built in one C call (no keyword call: it costs more than the rest of a snapshot's
#: Python), as ``BookEvent(...)`` builds it: read_order_book's arrays are already what the
#: converters make (C-contiguous int8/int64, one length), so they convert to themselves and pass
#: the length check. Used only while those are exactly BookEvent's fields, in that order; any
#: other BookEvent takes the keyword call.
_new_event = Maker(BookEvent, trusted=True)
_EVENT_FIELDS_SET = _new_event.names == _EVENT_FIELDS


def _validated_order_book(body: bytes, instrument: Instrument, ts_recv_ns: int) -> BookEvent:
    """The reference path of :func:`parse_order_book_snapshot`: a full parse, every field
    checked."""
    data = _decode(body)
    if not isinstance(data, dict):
        raise MalformedMessage("order book response is not a JSON object", venue=VENUE)
    if "id" not in data:
        raise MalformedMessage("order book without id: request it with with_id=true", venue=VENUE)
    try:
        update_ms = int(data.get("update", 0))
        book_id = int(data["id"])
    except TypeError as exc:  # null, a list, an object
        raise MalformedMessage(
            f"order book id or update is not a number: {exc}", venue=VENUE
        ) from exc
    return _book_event(
        data, _REST_KEYS, instrument, BookEventKind.SNAPSHOT, book_id, book_id,
        ts_event_ns=update_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def parse_frame(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> list[BookEvent]:
    """Any market-data frame: book messages become events; the rest is ignored.

    Subscription acks, tickers, trades, candles and pongs return ``[]``; so does a book message
    for a pair not in ``symbols`` (the caller did not ask for it).
    """
    channel = _channel(frame)
    if channel not in (ORDER_BOOK_UPDATE_CHANNEL, OBU_CHANNEL):
        return []
    if string_at(frame, b"event") not in (None, "update", "all"):
        return []  # subscribe / unsubscribe acks
    result = find_value(frame, b"result")
    stream = string_at(frame, b"s", max(result, 0))
    if stream is None:
        return []
    try:
        native = _native(channel, stream)
    except MalformedMessage:
        return []
    if symbols.get(native) is None:
        return []
    return [parse_book_update(frame, symbols, ts_recv_ns)]
