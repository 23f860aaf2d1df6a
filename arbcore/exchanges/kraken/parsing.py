"""Kraken spot frames -> arbcore events. Pure functions: bytes in, values out.

WebSocket v1 (the recordings) sends arrays: ``[channelID, {"as": [...], "bs": [...]}, "book-1000",
"XBT/USD"]`` for a snapshot and ``[channelID, {"a": [...]}(, {"b": [...]}), ..., "book-1000",
"XBT/USD"]`` for an update, ``"c"`` (the checksum, a quoted integer) in the last map. Levels are
``[price, volume, timestamp(, "r")]`` strings; ``"r"`` marks a republish, applied like any level;
volume 0 deletes. The pair name in the frame says whose book it is, so no channel-id table is kept.
The compiled one-pass reader (``krakenpath.scan_v1_book``) reads v1 frames in the wire's own
shape straight from the bytes (it only checks the timestamp and flag), the strict key-by-key
scanner what it declines; anything else takes the validating path (``json.loads``), which is
also the readers' reference.

WebSocket v2 sends objects with JSON numbers (``{"price": 0.5666, "qty": 4831.75496356}``); they are
decoded with ``parse_float=str`` so no price is ever a float, and checksummed in snapshots too.

Checksum (both versions): CRC32 (unsigned) of the best 10 asks low->high then the best 10 bids
high->low, each level as price then size with the point removed and leading zeros stripped. The
text is the venue's: v1 pads each pair to its own fixed number of decimals, which is NOT
``pair_decimals`` (XBT/CHF sends "56218.30000" at pair_decimals 1; the recording's checksums pass
only with the wire's places), so :func:`book_format` reads the places from the snapshot's text;
v2 renders at the pair's precision (``pair_decimals``/``lot_decimals``). Before checking, the book
is truncated to the subscribed depth: Kraken sends no delete for a level pushed out of scope.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from arbcore.errors import DecimalFormatError, MalformedMessage
from arbcore.exchanges import wire
from arbcore.exchanges.kraken.constants import (
    BOOK_CHANNEL,
    BOOK_DEPTH,
    BOOK_DEPTHS,
    CHECKSUM_LEVELS,
    DEFAULT_BOOK_DEPTH,
    NO_BOOK_EVENTS,
    TICKER_CHANNEL,
    VENUE,
)
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer
from arbcore_ext.checksum import TextForm, book_crc32
from arbcore_ext.deltapath import Route
from arbcore_ext.fixedpoint import to_raw, to_raw_array
from arbcore_ext.framepath import KindFilter
from arbcore_ext.jsonscan import ScanError, find_value, scan_int, scan_levels
from arbcore_ext.krakenpath import TailPath, scan_v1_book

__all__ = [
    "BookFormat",
    "Event",
    "book_checksum",
    "book_format",
    "checksum_form",
    "checksum_text",
    "compiled_form",
    "no_book_filter",
    "parse_frame",
    "parse_ticker",
    "parse_v1_book",
    "parse_v2_book",
    "scan_v1_update",
    "update_path",
    "v1_book_tails",
    "v2_subscribed_depth",
]

Event = BookEvent | Quote

_BOOK_PREFIX = BOOK_CHANNEL + "-"


@attrs.frozen
class BookFormat:
    """How the venue renders one pair's book: subscribed depth and decimal places on the wire."""

    depth: int
    price_places: int
    size_places: int


#: One decoder for every frame (``json.loads(parse_float=...)`` builds one per call).
_DECODER = json.JSONDecoder(parse_float=str, parse_int=str)


def _decode(frame: bytes) -> Any:
    try:
        return _DECODER.decode(frame.decode())
    except ValueError as exc:
        raise MalformedMessage(f"not JSON: {exc}", venue=VENUE) from exc


def _v1_tail(frame: bytes) -> tuple[str, str] | None:
    """(channel name, pair) of a v1 data frame: its last two strings; None if not that shape.

    Found by its last four quotes from the end (what ``rsplit(b'"', 4)`` splits at), without
    copying the rest of the frame: a snapshot's levels are tens of kilobytes."""
    body = frame.rstrip()
    quotes = [len(body)]
    for _ in range(4):
        at = body.rfind(b'"', 0, quotes[-1])
        if at < 0:
            return None
        quotes.append(at)
    _, last, pair_open, name_close, name_open = quotes
    if body[last + 1 :].strip() != b"]" or body[name_close + 1 : pair_open].strip() != b",":
        return None
    try:
        name, pair = body[name_open + 1 : name_close], body[pair_open + 1 : last]
        return name.decode("ascii"), pair.decode("ascii")
    except UnicodeDecodeError:
        return None


# -- v1 book ---------------------------------------------------------------------------------------


#: The level arrays' keys in a snapshot and in an update, asks first (the frames' own order).
_SNAPSHOT_KEYS = (b"as", b"bs")
_UPDATE_KEYS = (b"a", b"b")


def _scan_sides(
    frame: bytes, keys: tuple[bytes, bytes], instrument: Instrument, levels: LevelBuffer
) -> None:
    """Append each level array of ``keys`` present in the frame (asks, then bids): at least one."""
    price_decimals, size_decimals = instrument.price_decimals, instrument.size_decimals
    found = False
    for key, side in zip(keys, (ASK, BID), strict=True):
        at = find_value(frame, key)
        if at >= 0:
            scan_levels(frame, at, side, price_decimals, size_decimals, levels)
            found = True
    if not found:
        raise ScanError("no level array", 0)


def scan_v1_update(frame: bytes, instrument: Instrument, levels: LevelBuffer) -> int | None:
    """A v1 update's levels appended to ``levels`` (asks, then bids); its checksum ``c``, if any.

    The key-by-key scan :func:`parse_v1_book` runs on what the one-pass reader
    (:func:`~arbcore_ext.krakenpath.scan_v1_book`) declines. ScanError for a snapshot (``as``)
    and for anything not in the strict shape: the caller then takes the validating path.
    """
    if find_value(frame, b"as") >= 0:
        raise ScanError("a snapshot, not an update", 0)
    _scan_sides(frame, _UPDATE_KEYS, instrument, levels)
    at = find_value(frame, b"c")
    return None if at < 0 else scan_int(frame, at)[0]


def parse_v1_book(frame: bytes, instrument: Instrument, ts_recv_ns: int = 0) -> BookEvent:
    """A v1 ``book-N`` snapshot or update of ``instrument`` (the pair the frame names).

    The compiled one-pass reader (:func:`~arbcore_ext.krakenpath.scan_v1_book`, the delta
    path's) takes the wire's own shape, snapshots included; the key-by-key scan and then the
    validating parser take what it declines."""
    levels = LevelBuffer(max(64, len(frame) // 48))  # a wire level is about 50 bytes
    scanned = scan_v1_book(frame, instrument.price_decimals, instrument.size_decimals, levels)
    if scanned is not None:
        snapshot, checksum = scanned
        kind = BookEventKind.SNAPSHOT if snapshot else BookEventKind.DELTA
        return wire.book_event(
            VENUE, instrument.symbol, kind, levels.arrays(), checksum=checksum,
            ts_recv_ns=ts_recv_ns,
        )  # fmt: skip
    try:
        if find_value(frame, b"as") >= 0:
            _scan_sides(frame, _SNAPSHOT_KEYS, instrument, levels)
            kind, checksum = BookEventKind.SNAPSHOT, None
        else:
            kind, checksum = BookEventKind.DELTA, scan_v1_update(frame, instrument, levels)
    except ScanError:
        return validated_v1_book(frame, instrument, ts_recv_ns)
    return wire.book_event(
        VENUE, instrument.symbol, kind, levels.arrays(), checksum=checksum, ts_recv_ns=ts_recv_ns
    )


def v1_book_tails(symbols: SymbolMap) -> dict[bytes, Instrument]:
    """Every ``"book-N","PAIR"]`` a v1 book frame of ``symbols`` can end with, to its instrument.

    A frame that ends with one of these is dispatched by :func:`parse_frame` to
    :func:`parse_v1_book` for that pair (its last two strings are exactly these), so the fast
    path finds its book with one ``rfind`` and one lookup instead of splitting the frame. Depths
    outside ``BOOK_DEPTHS``, and names :func:`parse_frame` would read differently (non-ASCII,
    holding a quote, or not found as they are by ``symbols.get``), are not listed: those frames
    take ``parse_frame``.
    """
    return {
        f'"{_BOOK_PREFIX}{depth}","{native}"]'.encode(): instrument
        for native, instrument in symbols.by_native.items()
        if native.isascii() and '"' not in native and symbols.get(native) is instrument
        for depth in BOOK_DEPTHS
    }


def update_path(symbols: SymbolMap) -> TailPath:
    """The compiled path of v1 book updates: the one-pass reader :func:`parse_v1_book` runs
    first (:func:`~arbcore_ext.krakenpath.scan_v1_book`), the pair found by
    :func:`v1_book_tails`, applied and checksummed in one call. Snapshots (``as``) and anything
    else are declined to :func:`parse_frame`."""
    routes = [
        Route(tail, instrument.symbol, instrument.price_decimals, instrument.size_decimals)
        for tail, instrument in v1_book_tails(symbols).items()
    ]
    return TailPath(routes, tail_mark=b'"' + _BOOK_PREFIX.encode())


def _v1_levels(levels: Any, side: int, instrument: Instrument) -> tuple[Any, ...]:
    if not isinstance(levels, list):
        raise MalformedMessage(f"levels are not an array: {levels!r}", venue=VENUE)
    for level in levels:
        if not (isinstance(level, list) and 3 <= len(level) <= 4):
            raise MalformedMessage(f"level is not [price, volume, time(, flag)]: {level!r}")
        if not all(isinstance(value, str) for value in level):
            raise MalformedMessage(f"v1 level values must be strings: {level!r}", venue=VENUE)
    prices = to_raw_array([level[0] for level in levels], instrument.price_decimals)
    sizes = to_raw_array([level[1] for level in levels], instrument.size_decimals)
    return np.full(len(prices), side, dtype=np.int8), prices, sizes


def validated_v1_book(frame: bytes, instrument: Instrument, ts_recv_ns: int = 0) -> BookEvent:
    """The reference path for v1 book frames: a full parse with every field checked."""
    message = _decode(frame)
    if not (isinstance(message, list) and len(message) >= 4):
        raise MalformedMessage("v1 book frame is not [id, {...}, channel, pair]", venue=VENUE)
    maps = message[1:-2]
    if not maps or not all(isinstance(item, dict) for item in maps):
        raise MalformedMessage("v1 book frame carries no level maps", venue=VENUE)
    fields: dict[str, Any] = {}
    for item in maps:
        fields.update(item)
    snapshot = "as" in fields or "bs" in fields
    keys = ("as", "bs") if snapshot else ("a", "b")
    unknown = set(fields) - {*keys, "c"}
    if unknown or (snapshot and "c" in fields):
        raise MalformedMessage(f"unexpected v1 book fields {sorted(fields)}", venue=VENUE)
    parts = [
        _v1_levels(fields[key], side, instrument)
        for key, side in zip(keys, (ASK, BID), strict=True)
        if key in fields
    ]
    if not parts:
        raise MalformedMessage("v1 book frame has no asks or bids", venue=VENUE)
    checksum = fields.get("c")
    if checksum is not None and not (isinstance(checksum, str) and checksum.isdigit()):
        raise MalformedMessage(f"checksum is not a quoted integer: {checksum!r}", venue=VENUE)
    kind = BookEventKind.SNAPSHOT if snapshot else BookEventKind.DELTA
    return wire.book_event(
        VENUE, instrument.symbol, kind, wire.join_sides(*parts),
        checksum=None if checksum is None else int(checksum), ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _places(frame: bytes, key: bytes) -> tuple[int, int] | None:
    """Decimal places of the price and volume of the first level under ``key``, if any."""
    at = find_value(frame, key)
    if at < 0 or frame[at : at + 3] != b'[["':
        return None
    price_end = frame.index(b'"', at + 3)
    size_start = frame.index(b'"', price_end + 1) + 1
    size_end = frame.index(b'"', size_start)
    price, size = frame[at + 3 : price_end], frame[size_start:size_end]
    return _decimals(price), _decimals(size)


def _decimals(text: bytes) -> int:
    point = text.find(b".")
    return 0 if point < 0 else len(text) - point - 1


def book_format(
    frame: bytes, instrument: Instrument, v2_depth: int = DEFAULT_BOOK_DEPTH
) -> BookFormat:
    """The format a snapshot frame fixes for its pair's checksums (module docstring).

    v1: depth from the channel name (``book-1000``), places from the first level's text (the
    instrument's decimals when both sides are empty). v2: ``v2_depth`` (the subscribe ack's) and
    the instrument's decimals, which are ``pair_decimals``/``lot_decimals``.
    """
    default = BookFormat(v2_depth, instrument.price_decimals, instrument.size_decimals)
    if not frame.lstrip().startswith(b"["):
        return default
    tail = _v1_tail(frame)
    depth = BOOK_DEPTH
    if tail is not None and tail[0].startswith(_BOOK_PREFIX) and tail[0][5:].isdigit():
        depth = int(tail[0][5:])
    places = _places(frame, b"as") or _places(frame, b"bs")
    if places is None:
        return BookFormat(depth, default.price_places, default.size_places)
    return BookFormat(depth, *places)


# -- checksum -----------------------------------------------------------------------------------

#: The most places the compiled renderer takes (``fixedpoint.MAX_DECIMALS``).
MAX_PLACES = 18


def _digits(raw: int, decimals: int, places: int) -> str:
    """Text of ``raw`` at ``places`` decimals with the point removed and leading zeros stripped.

    For a positive value that is just the integer scaled to ``places``: the point only separates
    digits and the leading zeros are exactly the padding ``str`` never writes.
    """
    if places >= decimals:
        return str(raw * 10 ** (places - decimals))
    factor = 10 ** (decimals - places)
    if raw % factor:
        raise MalformedMessage(f"{raw} at {decimals} decimals does not fit {places} places")
    return str(raw // factor)


def checksum_text(book: L2Book, fmt: BookFormat) -> str:
    """The string Kraken's CRC32 covers: 10 asks low->high, then 10 bids high->low."""
    bid_prices, bid_sizes, ask_prices, ask_sizes = book.top(CHECKSUM_LEVELS)
    decimals = (book.price_decimals, book.size_decimals)
    out = []
    for prices, sizes in ((ask_prices, ask_sizes), (bid_prices, bid_sizes)):
        for price, size in zip(prices.tolist(), sizes.tolist(), strict=True):
            out.append(_digits(price, decimals[0], fmt.price_places))
            out.append(_digits(size, decimals[1], fmt.size_places))
    return "".join(out)


@functools.lru_cache(maxsize=64)
def checksum_form(price_places: int, size_places: int) -> TextForm:
    """:func:`checksum_text`'s rule at one pair's wire places, as data for the compiled kernel.

    Cached: the places are fixed per pair by its snapshot, and the kernel call should not pay
    for building the form on every update.
    """
    return TextForm(
        CHECKSUM_LEVELS,
        interleave=False,
        number="digits",
        price_places=price_places,
        size_places=size_places,
    )


def compiled_form(fmt: BookFormat) -> TextForm | None:
    """The kernel's form of ``fmt`` (what :func:`book_checksum` hashes after truncating), or
    None for places beyond the kernel's (that checksum stays in Python)."""
    if fmt.price_places > MAX_PLACES or fmt.size_places > MAX_PLACES:
        return None
    return checksum_form(fmt.price_places, fmt.size_places)


def book_checksum(book: L2Book, fmt: BookFormat) -> int:
    """Truncate ``book`` to the subscribed depth, then Kraken's unsigned CRC32 of its top 10.

    Computed by :func:`arbcore_ext.checksum.book_crc32` (the property tests pin it to
    :func:`checksum_text`, which stays the readable statement of the rule). Places beyond the
    kernel's 18 (padding only a malformed frame would carry) keep the Python path.
    """
    book.truncate(fmt.depth)
    form = compiled_form(fmt)
    if form is None:
        return zlib.crc32(checksum_text(book, fmt).encode("ascii"))
    try:
        return book_crc32(book, form)
    except DecimalFormatError as exc:  # the same error _digits raises
        raise MalformedMessage(f"{exc.text} {exc.reason}") from exc


# -- v2 book ------------------------------------------------------------------------------------


def no_book_filter() -> KindFilter:
    """v1 event frames of the :data:`~arbcore.exchanges.kraken.constants.NO_BOOK_EVENTS` kinds,
    for which :func:`parse_frame` returns ``[]`` and the feed reads nothing (the replay loop
    sets them aside in C). Book data comes in arrays, which are never searched for the key."""
    return KindFilter(b"event", tuple(kind.encode() for kind in NO_BOOK_EVENTS), objects_only=True)


def _v2_levels(levels: Any, side: int, instrument: Instrument) -> tuple[Any, ...]:
    if not isinstance(levels, list):
        raise MalformedMessage(f"levels are not an array: {levels!r}", venue=VENUE)
    try:
        prices = to_raw_array([level["price"] for level in levels], instrument.price_decimals)
        sizes = to_raw_array([level["qty"] for level in levels], instrument.size_decimals)
    except (TypeError, KeyError) as exc:
        raise MalformedMessage(f"levels are not {{price, qty}}: {exc}", venue=VENUE) from exc
    return np.full(len(prices), side, dtype=np.int8), prices, sizes


def parse_v2_book(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> list[BookEvent]:
    """A v2 ``book`` snapshot or update: one event per known symbol in ``data``.

    v2 names pairs the way arbcore does (``BTC/USD``), so they are looked up by unified symbol.
    """
    message = _decode(frame)
    if not isinstance(message, dict) or message.get("channel") != BOOK_CHANNEL:
        raise MalformedMessage("not a v2 book message", venue=VENUE)
    kind = {"snapshot": BookEventKind.SNAPSHOT, "update": BookEventKind.DELTA}.get(
        message.get("type", "")
    )
    data = message.get("data")
    if kind is None or not isinstance(data, list):
        raise MalformedMessage("v2 book message without type or data", venue=VENUE)
    events = []
    for entry in data:
        if not isinstance(entry, dict):
            raise MalformedMessage("v2 book data entry is not an object", venue=VENUE)
        instrument = symbols.by_symbol.get(str(entry.get("symbol")))
        if instrument is None:
            continue
        asks = _v2_levels(entry.get("asks", []), ASK, instrument)
        bids = _v2_levels(entry.get("bids", []), BID, instrument)
        checksum = entry.get("checksum")
        if checksum is not None and not (isinstance(checksum, str) and checksum.isdigit()):
            raise MalformedMessage(f"checksum is not an integer: {checksum!r}", venue=VENUE)
        events.append(
            BookEvent(
                venue=VENUE,
                symbol=instrument.symbol,
                kind=kind,
                sides=np.concatenate([asks[0], bids[0]]),
                prices=np.concatenate([asks[1], bids[1]]),
                sizes=np.concatenate([asks[2], bids[2]]),
                checksum=None if checksum is None else int(checksum),
                ts_recv_ns=ts_recv_ns,
            )
        )
    return events


def v2_subscribed_depth(frame: bytes) -> tuple[str, int] | None:
    """(symbol, depth) of a successful v2 book subscribe ack; None for any other frame."""
    if b'"subscribe"' not in frame or b'"result"' not in frame:
        return None
    message = _decode(frame)
    result = message.get("result") if isinstance(message, dict) else None
    if not (isinstance(result, dict) and message.get("success") is True):
        return None
    if result.get("channel") != BOOK_CHANNEL:
        return None
    depth, symbol = result.get("depth", str(DEFAULT_BOOK_DEPTH)), result.get("symbol")
    if not (isinstance(symbol, str) and isinstance(depth, str) and depth.isdigit()):
        return None
    return symbol, int(depth)


# -- ticker -------------------------------------------------------------------------------------


def parse_ticker(frame: bytes, instrument: Instrument, ts_recv_ns: int = 0) -> Quote:
    """A v1 ``ticker``: best ask/bid ``[price, whole lot volume, lot volume]`` as a Quote.

    Kraken's ticker names no book update, so ``update_id`` is 0 (no exact-update comparison).
    """
    message = _decode(frame)
    fields = message[1] if isinstance(message, list) and len(message) == 4 else None
    if not isinstance(fields, Mapping):
        raise MalformedMessage("v1 ticker frame is not [id, {...}, channel, pair]", venue=VENUE)
    try:
        ask, bid = fields["a"], fields["b"]
        return Quote(
            venue=VENUE,
            symbol=instrument.symbol,
            bid_price=to_raw(bid[0], instrument.price_decimals),
            bid_size=to_raw(bid[2], instrument.size_decimals),
            ask_price=to_raw(ask[0], instrument.price_decimals),
            ask_size=to_raw(ask[2], instrument.size_decimals),
            ts_recv_ns=ts_recv_ns,
        )
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedMessage(f"ticker without best bid/ask: {exc}", venue=VENUE) from exc


# -- dispatch -----------------------------------------------------------------------------------


def parse_frame(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> list[Event]:
    """Any market-data frame: books and tickers become events; the rest is ignored.

    Events (heartbeat, systemStatus, subscriptionStatus), trades and frames for pairs not in
    ``symbols`` (the caller did not ask for them) return ``[]``.
    """
    head = frame.lstrip()[:1]
    if head == b"{":
        if b'"channel":"book"' in frame[:40] or b'"channel": "book"' in frame[:40]:
            return list(parse_v2_book(frame, symbols, ts_recv_ns))
        return []
    if head != b"[":
        return []
    tail = _v1_tail(frame)
    if tail is None:
        return []
    channel, pair = tail
    instrument = symbols.get(pair)
    if instrument is None:
        return []
    if channel.startswith(_BOOK_PREFIX):
        return [parse_v1_book(frame, instrument, ts_recv_ns)]
    if channel == TICKER_CHANNEL:
        return [parse_ticker(frame, instrument, ts_recv_ns)]
    return []
