"""HTX spot frames -> arbcore events. Pure functions: bytes in, values out.

Every market frame is GZIP-compressed JSON; :func:`decompress` opens it (plain JSON passes
through, for tests and documentation vectors). Book messages, by channel:

- ``market.<sym>.depth.step0`` (``ch``): a full 150-level image with ``tick.version``: a SNAPSHOT
  whose sequence is the version.
- ``market.<sym>.mbp.<levels>`` (``ch``): an incremental DELTA, ``tick.seqNum`` as its sequence
  and ``tick.prevSeqNum`` as ``prev_seq`` (a side absent from a 5/20-level message is unchanged).
- ``market.<sym>.mbp.<levels>`` (``rep``, the answer to a ``req``): the SNAPSHOT the chain starts
  from, ``data.seqNum``.
- ``market.<sym>.mbp.refresh.<levels>``: a top-N SNAPSHOT with ``tick.seqNum``.

Levels are ``[price, size]`` JSON numbers. Prices are exact at the tick. Sizes are doubles
(``1.2846957872793565E7``), often finer than any fixed scale that fits int64, so sizes with more
decimals than the instrument holds are rounded half-even from their decimal text. The strict
scanner (:func:`scan_into`) reads the common case straight from the bytes, and a message with
such sizes at a finer scale that holds them exactly, rounding in integers. Any frame it does not
accept (a size no such scale holds, another key order) goes to the validating path,
``json.loads`` with numbers kept as text, which is also the reference the scanner is tested
against.
"""

from __future__ import annotations

import decimal
import json
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from arbcore.errors import MalformedMessage
from arbcore.exchanges import wire
from arbcore.exchanges.htx.constants import PING_KEY, PONG_MESSAGE, VENUE
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.wire import string_at
from arbcore.model import BookEvent, BookEventKind, Instrument
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.fixedpoint import to_raw, to_raw_array
from arbcore_ext.jsonscan import ScanError, find_value, scan_int, scan_levels_at

__all__ = [
    "ROUNDING_SIZE_DECIMALS",
    "BookChannel",
    "book_channel",
    "decompress",
    "parse_book",
    "parse_frame",
    "ping_of",
    "pong_for",
    "scan_book",
    "scan_into",
    "snapshot_event",
    "validated_book",
]

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ROUNDING = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
_SIDES = ((BID, b"bids"), (ASK, b"asks"))

#: Finer size scales a message is scanned at again, in order, when a size has more decimals
#: than the book keeps; the sizes are then rounded half-even in integers (exactly what the
#: validating path does on the text). HTX prints doubles, up to 17 significant digits: 15
#: decimals hold sizes below 9,223 to 15 places, 10 decimals sizes below 922 million to 10. A
#: message neither holds (a size below 1 with 16 decimals, a large one with 11) goes to the
#: validating path.
ROUNDING_SIZE_DECIMALS = (15, 10)

#: The book channel kinds this module reads (the part of the channel after the symbol).
DEPTH = "depth"
MBP = "mbp"
REFRESH = "refresh"

BookChannel = tuple[str, str, bool]
"""``(native symbol, kind, is a req reply)`` of a book message; kind is DEPTH, MBP or REFRESH."""


def decompress(frame: bytes) -> bytes:
    """The JSON text of a market frame (gzip on the wire; plain text is returned as is)."""
    if frame[:2] != _GZIP_MAGIC:
        return frame
    try:
        return zlib.decompress(frame, _GZIP_WBITS)
    except zlib.error as exc:
        raise MalformedMessage(f"frame is not valid gzip: {exc}", venue=VENUE) from exc


def ping_of(text: bytes) -> int | None:
    """The n of a server keepalive ``{"ping": n}``, else None."""
    if len(text) > 64 or not text.lstrip().startswith(b'{"' + PING_KEY.encode() + b'"'):
        return None
    try:
        value, _ = scan_int(text, find_value(text, PING_KEY.encode()))
    except ScanError:
        return None
    return value


def pong_for(frame: bytes) -> str | None:
    """The ``{"pong": n}`` answer a market frame asks for (None unless it is a ping)."""
    ping = ping_of(decompress(frame))
    return None if ping is None else PONG_MESSAGE.format(ping=ping)


def _classify(channel: str, reply: bool) -> BookChannel | None:
    parts = channel.split(".")
    if len(parts) < 4 or parts[0] != "market":
        return None
    native, kind = parts[1], parts[2:]
    if kind == ["depth", "step0"]:
        return native, DEPTH, reply
    if len(kind) == 2 and kind[0] == MBP and kind[1].isdigit():
        return native, MBP, reply
    if len(kind) == 3 and kind[:2] == [MBP, REFRESH] and kind[2].isdigit() and not reply:
        return native, REFRESH, reply
    return None


def book_channel(text: bytes) -> BookChannel | None:
    """The book channel of a decompressed message, or None (acks, trades, pings, errors)."""
    channel = string_at(text, b"ch")
    reply = channel is None
    if channel is None:
        channel = string_at(text, b"rep")
    return None if channel is None else _classify(channel, reply)


def _event(
    instrument: Instrument,
    kind: BookEventKind,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    seq: int,
    prev: int | None,
    ts_ms: int,
    ts_recv_ns: int,
) -> BookEvent:
    sides, prices, sizes = arrays
    if len(prices) and (prices.min() <= 0 or sizes.min() < 0):
        # a level no book holds (the book would refuse it mid-replay): the message is bad
        raise MalformedMessage("a level price is not positive or a size is negative", venue=VENUE)
    return wire.book_event(
        VENUE, instrument.symbol, kind, (sides, prices, sizes), first_seq=seq, last_seq=seq,
        prev_seq=prev, ts_event_ns=ts_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _seq_keys(channel: BookChannel) -> tuple[bytes, bytes | None]:
    """The sequence key and, for an mbp delta, the predecessor's."""
    if channel[1] == DEPTH:
        return b"version", None
    return b"seqNum", (b"prevSeqNum" if _is_delta(channel) else None)


def _is_delta(channel: BookChannel) -> bool:
    return channel[1] == MBP and not channel[2]


def _int_at(text: bytes, key: bytes, start: int) -> int:
    at = find_value(text, key, start)
    if at < 0:
        raise ScanError(f"no {key.decode()!r} key", start)
    return scan_int(text, at)[0]


def _scan_levels(
    text: bytes, body: int, delta: bool, instrument: Instrument, decimals: int, levels: LevelBuffer
) -> None:
    """Both sides of the body into ``levels`` (cleared first), sizes at ``decimals``."""
    levels.clear()
    for side, key in _SIDES:
        if delta and find_value(text, key, body) < 0:
            continue  # 5/20 levels: only the side that changed is sent
        scan_levels_at(text, key, side, instrument.price_decimals, decimals, levels, body)


def _round_half_even(sizes: NDArray[np.int64], places: int) -> None:
    """Sizes scanned ``places`` decimals finer than the book, rounded to it in place, ties to
    even: the integer twin of ``_rounded`` (the scan was exact, so nothing else can differ).

    ``remainder + odd > half`` is "above half, or on it with an odd quotient".
    """
    quotient, remainder = np.divmod(sizes, 10**places)
    remainder += quotient & 1
    quotient += remainder > 10**places // 2
    sizes[:] = quotient


def _scan_sizes_rounded(
    text: bytes, body: int, delta: bool, instrument: Instrument, levels: LevelBuffer
) -> None:
    """The levels at the book's scale; if a size is finer, again at each of
    ``ROUNDING_SIZE_DECIMALS`` until one holds every size exactly, then rounded."""
    decimals = instrument.size_decimals
    try:
        _scan_levels(text, body, delta, instrument, decimals, levels)
        return
    except ScanError as exc:
        declined = exc
    for finer in ROUNDING_SIZE_DECIMALS:
        if finer <= decimals:
            continue
        try:
            _scan_levels(text, body, delta, instrument, finer, levels)
        except ScanError:
            continue
        _round_half_even(levels.arrays()[2], finer - decimals)
        return
    raise declined


def scan_into(
    text: bytes, channel: BookChannel, instrument: Instrument, levels: LevelBuffer
) -> tuple[int, int | None, int]:
    """``(seq, prev_seq, ts ms)`` of a decompressed book message, its levels scanned into
    ``levels`` (the scanner straight from the bytes); ScanError if it declines.

    What :func:`scan_book` reads (the feed's compiled path, ``arbcore_ext.htxpath``, reads
    snapshots and deltas itself and is tested against the validating path).
    """
    body = find_value(text, b"data" if channel[2] else b"tick")
    if body < 0:
        raise ScanError("no message body", 0)
    seq_key, prev_key = _seq_keys(channel)
    seq = _int_at(text, seq_key, body)
    prev = _int_at(text, prev_key, body) if prev_key else None
    ts_at = find_value(text, b"ts")
    if ts_at > body:
        raise ScanError("ts after the body: maybe the body's own ts", ts_at)
    ts_ms = scan_int(text, ts_at)[0] if ts_at >= 0 else 0
    _scan_sizes_rounded(text, body, _is_delta(channel), instrument, levels)
    return seq, prev, ts_ms


def scan_book(
    text: bytes, channel: BookChannel, instrument: Instrument, ts_recv_ns: int = 0
) -> BookEvent:
    """The fast path: :func:`scan_into` a new buffer; ScanError if it declines."""
    levels = LevelBuffer(320)
    seq, prev, ts_ms = scan_into(text, channel, instrument, levels)
    event_kind = BookEventKind.DELTA if _is_delta(channel) else BookEventKind.SNAPSHOT
    return _event(instrument, event_kind, levels.arrays(), seq, prev, ts_ms, ts_recv_ns)


def snapshot_event(
    instrument: Instrument, levels: LevelBuffer, version: int, ts_ms: int, ts_recv_ns: int = 0
) -> BookEvent:
    """The depth.step0 SNAPSHOT of levels a compiled reader scanned (the feed's HTXPath, which
    reads them as :func:`scan_book` does); copied, as the reader reuses its buffer."""
    sides, prices, sizes = (array.copy() for array in levels.arrays())
    arrays = (sides, prices, sizes)
    return _event(instrument, BookEventKind.SNAPSHOT, arrays, version, None, ts_ms, ts_recv_ns)


def parse_book(
    text: bytes, channel: BookChannel, instrument: Instrument, ts_recv_ns: int = 0
) -> BookEvent:
    """A decompressed book message: the scanner, or the validating path where it declines."""
    try:
        return scan_book(text, channel, instrument, ts_recv_ns)
    except ScanError:
        return validated_book(text, channel, instrument, ts_recv_ns)


def _rounded(text: str, decimals: int) -> int:
    """A size finer than the scale, rounded half-even on its decimal text (never a float)."""
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise MalformedMessage(f"size {text!r} is not a number", venue=VENUE) from None
    if not value.is_finite():
        raise MalformedMessage(f"size {text!r} is not a finite number", venue=VENUE)
    try:
        quantized = value.quantize(decimal.Decimal(1).scaleb(-decimals), context=_ROUNDING)
    except decimal.InvalidOperation:  # more digits than the context holds: far too large
        raise MalformedMessage(f"size {text!r} is out of range", venue=VENUE) from None
    return to_raw(format(quantized, "f"), decimals)


def _sizes(texts: Sequence[str], decimals: int) -> np.ndarray:
    try:
        return to_raw_array(texts, decimals)
    except ValueError:
        pass
    out = np.empty(len(texts), dtype=np.int64)
    for index, text in enumerate(texts):
        try:
            out[index] = to_raw(text, decimals)
        except ValueError:
            out[index] = _rounded(text, decimals)
    return out


def _levels(pairs: Any, side: int, instrument: Instrument) -> tuple[np.ndarray, ...]:
    if not isinstance(pairs, list):
        raise MalformedMessage(f"levels are not a list: {pairs!r}", venue=VENUE)
    try:
        prices = to_raw_array([pair[0] for pair in pairs], instrument.price_decimals)
        sizes = _sizes([pair[1] for pair in pairs], instrument.size_decimals)
    except (TypeError, IndexError, KeyError) as exc:
        raise MalformedMessage(f"levels are not [price, size] pairs: {exc}", venue=VENUE) from exc
    return np.full(len(prices), side, dtype=np.int8), prices, sizes


def validated_book(
    text: bytes, channel: BookChannel, instrument: Instrument, ts_recv_ns: int = 0
) -> BookEvent:
    """The reference path: a full parse (numbers kept as text) with every field checked."""
    _, kind, reply = channel
    delta = _is_delta(channel)
    try:
        message = json.loads(text, parse_float=str, parse_int=str)
    except ValueError as exc:
        raise MalformedMessage(f"not JSON: {exc}", venue=VENUE) from exc
    try:
        body = message["data" if reply else "tick"]
        sides = [
            _levels(body.get(key, []) if delta else body[key], side, instrument)
            for side, key in ((BID, "bids"), (ASK, "asks"))
        ]
        seq_key, prev_key = _seq_keys(channel)
        seq = int(body[seq_key.decode()])
        prev = int(body[prev_key.decode()]) if prev_key else None
        ts_ms = int(message.get("ts", 0))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, MalformedMessage):
            raise
        raise MalformedMessage(f"unreadable {kind} message: {exc!r}", venue=VENUE) from exc
    arrays = (
        np.concatenate([sides[0][0], sides[1][0]]),
        np.concatenate([sides[0][1], sides[1][1]]),
        np.concatenate([sides[0][2], sides[1][2]]),
    )
    event_kind = BookEventKind.DELTA if delta else BookEventKind.SNAPSHOT
    return _event(instrument, event_kind, arrays, seq, prev, ts_ms, ts_recv_ns)


def parse_frame(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> list[BookEvent]:
    """Any market frame: book messages of known symbols become events; the rest is ``[]``.

    Pings, subscription acks, errors, trades and symbols not in ``symbols`` return ``[]`` (the
    live client answers pings through :func:`pong_for`).
    """
    text = decompress(frame)
    channel = book_channel(text)
    if channel is None:
        return []
    instrument = symbols.get(channel[0])
    if instrument is None:
        return []
    return [parse_book(text, channel, instrument, ts_recv_ns)]
