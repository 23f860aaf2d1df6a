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
scanner reads the common case straight from the bytes; any frame it does not accept (such a size,
another key order) goes to the validating path, ``json.loads`` with numbers kept as text, which
is also the reference the scanner is tested against.
"""

from __future__ import annotations

import decimal
import json
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

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
    "BookChannel",
    "book_channel",
    "decompress",
    "parse_book",
    "parse_frame",
    "ping_of",
    "pong_for",
    "scan_book",
    "validated_book",
]

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ROUNDING = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)

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


def scan_book(
    text: bytes, channel: BookChannel, instrument: Instrument, ts_recv_ns: int = 0
) -> BookEvent:
    """The fast path: the strict scanner straight from the bytes; ScanError if it declines."""
    reply = channel[2]
    delta = _is_delta(channel)
    body = find_value(text, b"data" if reply else b"tick")
    if body < 0:
        raise ScanError("no message body", 0)
    levels = LevelBuffer(320)
    for side, key in ((BID, b"bids"), (ASK, b"asks")):
        if delta and find_value(text, key, body) < 0:
            continue  # 5/20 levels: only the side that changed is sent
        scan_levels_at(
            text, key, side, instrument.price_decimals, instrument.size_decimals, levels, body
        )
    seq_key, prev_key = _seq_keys(channel)
    seq, _ = scan_int(text, find_value(text, seq_key, body))
    prev = scan_int(text, find_value(text, prev_key, body))[0] if prev_key else None
    ts_at = find_value(text, b"ts")
    if ts_at > body:
        raise ScanError("ts after the body: maybe the body's own ts", ts_at)
    ts_ms = scan_int(text, ts_at)[0] if ts_at >= 0 else 0
    event_kind = BookEventKind.DELTA if delta else BookEventKind.SNAPSHOT
    return _event(instrument, event_kind, levels.arrays(), seq, prev, ts_ms, ts_recv_ns)


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
