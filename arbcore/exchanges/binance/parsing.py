"""Binance spot frames -> arbcore events. Pure functions: bytes in, values out.

Depth diffs take the fast path: the strict scanner (``arbcore_ext.jsonscan``) reads the level
arrays straight from the frame into int64 arrays. Anything it does not recognise goes to the
validating path, a full cysimdjson parse, which is also the reference the scanner is tested
against. Both produce the same :class:`~arbcore.model.BookEvent`.

Frames arrive raw (``/ws/<stream>``) or wrapped by the combined endpoint
(``{"stream": "btcusdt@depth@100ms", "data": {...}}``); both are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from arbcore.errors import MalformedMessage
from arbcore.exchanges import wire
from arbcore.exchanges.binance.constants import VENUE
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.deltapath import Route
from arbcore_ext.fixedpoint import to_raw
from arbcore_ext.framepath import KindFilter, QuotePath
from arbcore_ext.jsonscan import ScanError, find_value, scan_int, scan_message

__all__ = [
    "DEPTH_INTS",
    "DEPTH_LEVELS",
    "NO_BOOK_EVENTS",
    "Event",
    "book_ticker_path",
    "no_book_filter",
    "parse_book_ticker",
    "parse_depth_snapshot",
    "parse_depth_update",
    "parse_frame",
    "scan_depth_update",
]

Event = BookEvent | Quote


def _instrument(symbols: SymbolMap, native: str) -> Instrument:
    return wire.find_instrument(symbols, native, VENUE)


_string_at = wire.string_at


#: the integer fields and level arrays of a depthUpdate, in the order the fast path reads them
DEPTH_INTS = (b"U", b"u", b"E")
DEPTH_LEVELS = (b"b", b"a")


def scan_depth_update(frame: bytes, instrument: Instrument, levels: LevelBuffer) -> tuple[int, ...]:
    """The fast path's one call: ``(U, u, E)`` and both level arrays appended to ``levels``.

    Raises ``ScanError`` when the frame is not in the shape Binance sends; the caller then
    takes the validating path.
    """
    return scan_message(
        frame, DEPTH_INTS, DEPTH_LEVELS, instrument.price_decimals, instrument.size_decimals,
        levels,
    )  # fmt: skip


def parse_depth_update(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> BookEvent:
    """A ``depthUpdate`` diff (raw or combined-stream frame) as a DELTA with U/u."""
    native = _string_at(frame, b"s")
    try:
        if native is None:
            raise ScanError("no symbol", 0)
        instrument = _instrument(symbols, native)
        levels = LevelBuffer(64)
        first, last, event_time = scan_depth_update(frame, instrument, levels)
    except ScanError:
        return _validated_depth_update(frame, symbols, ts_recv_ns)
    return wire.book_event(
        VENUE, instrument.symbol, BookEventKind.DELTA, levels.arrays(), first_seq=first,
        last_seq=last, ts_event_ns=event_time * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _payload(frame: bytes) -> Any:
    message = wire.decode_json(frame, VENUE)
    if isinstance(message, dict) and isinstance(message.get("data"), dict):
        return message["data"]
    return message


def _levels(pairs: Any, side: int, instrument: Instrument) -> wire.LevelArrays:
    return wire.level_arrays(pairs, side, instrument, VENUE)


def _validated_depth_update(frame: bytes, symbols: SymbolMap, ts_recv_ns: int) -> BookEvent:
    """The reference path: a full parse with every field checked."""
    data = _payload(frame)
    try:
        if data["e"] != "depthUpdate":
            raise MalformedMessage(f"not a depthUpdate: {data['e']!r}", venue=VENUE)
        instrument = _instrument(symbols, data["s"])
        bid = _levels(data["b"], BID, instrument)
        ask = _levels(data["a"], ASK, instrument)
        first, last, event_time = int(data["U"]), int(data["u"]), int(data["E"])
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"depthUpdate without {exc}", venue=VENUE) from exc
    return wire.book_event(
        VENUE, instrument.symbol, BookEventKind.DELTA, wire.join_sides(bid, ask), first_seq=first,
        last_seq=last, ts_event_ns=event_time * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def parse_depth_snapshot(body: bytes, instrument: Instrument, ts_recv_ns: int = 0) -> BookEvent:
    """``GET /api/v3/depth`` as a SNAPSHOT whose sequence is ``lastUpdateId``."""
    data = _payload(body)
    try:
        bid = _levels(data["bids"], BID, instrument)
        ask = _levels(data["asks"], ASK, instrument)
        last = int(data["lastUpdateId"])
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"depth snapshot without {exc}", venue=VENUE) from exc
    return wire.book_event(
        VENUE, instrument.symbol, BookEventKind.SNAPSHOT, wire.join_sides(bid, ask),
        first_seq=last, last_seq=last, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def parse_book_ticker(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> Quote:
    """A ``bookTicker`` message: best bid/ask at update id ``u``.

    Read field by field from the bytes (five values: a full parse costs more than the quote is
    worth); any irregularity falls back to the validating parse.
    """
    fields = [_string_at(frame, key) for key in (b"s", b"b", b"B", b"a", b"A")]
    at = find_value(frame, b"u")
    native = fields[0]
    if at >= 0 and native is not None and None not in fields:
        instrument = _instrument(symbols, native)
        try:
            return Quote(
                venue=VENUE,
                symbol=instrument.symbol,
                bid_price=to_raw(fields[1] or "", instrument.price_decimals),
                bid_size=to_raw(fields[2] or "", instrument.size_decimals),
                ask_price=to_raw(fields[3] or "", instrument.price_decimals),
                ask_size=to_raw(fields[4] or "", instrument.size_decimals),
                update_id=scan_int(frame, at)[0],
                ts_recv_ns=ts_recv_ns,
            )
        except ScanError:
            pass
    return _validated_book_ticker(frame, symbols, ts_recv_ns)


#: stream events (``"e"``) with no book data: :func:`parse_frame` reads only ``depthUpdate`` (and
#: bookTickers, which have no ``"e"``), so frames of these kinds need no reading at all
NO_BOOK_EVENTS: Final = (b"trade", b"aggTrade", b"kline", b"24hrTicker", b"24hrMiniTicker")

#: the bookTicker fields :func:`parse_book_ticker` reads: best bid, its size, best ask, its size
BOOK_TICKER_VALUES: Final = (b"b", b"B", b"a", b"A")


def book_ticker_path(routes: Iterable[Route]) -> QuotePath:
    """The compiled reader of the bookTickers :func:`parse_book_ticker` reads, for the feed:
    the same keys from the frame's start, only frames without ``"e"`` (as :func:`parse_frame`
    tells them from events), the stream name's ``@bookTicker`` in the first bytes as the quick
    test. Anything it declines goes to :func:`parse_frame`."""
    return QuotePath(
        routes, anchor=b'@bookTicker"', window=48, kind_key=b"e", kind=None, symbol_key=b"s",
        value_keys=BOOK_TICKER_VALUES, update_key=b"u",
    )  # fmt: skip


def no_book_filter() -> KindFilter:
    """Frames of the :data:`NO_BOOK_EVENTS` kinds (for the feed: :func:`parse_frame` returns
    ``[]`` for them)."""
    return KindFilter(b"e", NO_BOOK_EVENTS)


def _validated_book_ticker(frame: bytes, symbols: SymbolMap, ts_recv_ns: int) -> Quote:
    data = _payload(frame)
    try:
        instrument = _instrument(symbols, data["s"])
        return Quote(
            venue=VENUE,
            symbol=instrument.symbol,
            bid_price=to_raw(data["b"], instrument.price_decimals),
            bid_size=to_raw(data["B"], instrument.size_decimals),
            ask_price=to_raw(data["a"], instrument.price_decimals),
            ask_size=to_raw(data["A"], instrument.size_decimals),
            update_id=int(data["u"]),
            ts_recv_ns=ts_recv_ns,
        )
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"bookTicker without {exc}", venue=VENUE) from exc


def parse_frame(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> list[Event]:
    """Any market-data frame: depth diffs and bookTickers become events; the rest is ignored.

    Subscription acknowledgements, trades and klines return ``[]``; a frame for a symbol not in
    ``symbols`` also returns ``[]`` (the caller did not ask for it).
    """
    kind = _string_at(frame, b"e")
    if kind == "depthUpdate":
        native = _string_at(frame, b"s")
        if native is None or symbols.get(native) is None:
            return []
        return [parse_depth_update(frame, symbols, ts_recv_ns)]
    if kind is None and find_value(frame, b"B") >= 0 and find_value(frame, b"A") >= 0:
        native = _string_at(frame, b"s")
        if native is None or symbols.get(native) is None:
            return []
        return [parse_book_ticker(frame, symbols, ts_recv_ns)]
    return []
