"""OKX spot frames -> arbcore events. Pure functions: bytes in, values out.

``books`` pushes in OKX's one strict shape are read by the feed's compiled path
(``arbcore_ext.okxpath.OKXPath``; :func:`push_event` makes its read an event). Others take the
scanner (``arbcore_ext.jsonscan``), which reads the ``asks``/``bids`` arrays straight from the
frame (levels are ``[px, sz, "0", orders]``; the extra elements are skipped) and the envelope
integers (``seqId``, ``prevSeqId``, ``checksum``, ``ts``) by key. Anything it does not recognise
goes to the validating path, a full cysimdjson parse, which is also the reference both readers
are tested against.

Sequence fields: ``first_seq == last_seq == seqId`` and ``prev_seq = prevSeqId``. Frames from
before OKX added seqId (2022 captures) carry neither: ``prev_seq`` is then None and the checksum
is the only continuity guard. A ``checksum`` of 0 (every frame since the 2026-06-23
deprecation) is reported as None, "absent".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arbcore.errors import MalformedMessage
from arbcore.exchanges import wire
from arbcore.exchanges.okx.constants import BBO_CHANNELS, BOOKS_CHANNEL, CHECKSUM_DEPTH, VENUE
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer
from arbcore_ext.checksum import TextForm, book_crc32
from arbcore_ext.fixedpoint import to_raw, to_raw_array, to_text
from arbcore_ext.jsonscan import ScanError, find_value, scan_int, scan_levels_at

__all__ = [
    "Event",
    "Push",
    "ScannedBook",
    "book_checksum",
    "checksum_text",
    "parse_bbo",
    "parse_book",
    "parse_frame",
    "parse_rest_books",
    "push_event",
    "scan_book",
    "string_at",
]

Event = BookEvent | Quote


#: (seqId or None, prevSeqId or None, checksum or None, ts in ms) of a scanned ``books`` push.
ScannedBook = tuple[int | None, int | None, int | None, int]

#: (symbol, snapshot?, seqId, prevSeqId or None, checksum or None, ts in ms): ``OKXPath.push_of``.
Push = tuple[str, bool, int, int | None, int | None, int]


def string_at(frame: bytes, key: bytes) -> str | None:
    """The first string value of ``"key":`` in the frame, undecoded JSON aside (ASCII ids)."""
    at = find_value(frame, key)
    if at < 0 or frame[at : at + 1] != b'"':
        return None
    end = frame.find(b'"', at + 1)
    return frame[at + 1 : end].decode("ascii") if end > 0 else None


def _optional_int(frame: bytes, key: bytes, start: int) -> int | None:
    at = find_value(frame, key, start)
    return None if at < 0 else scan_int(frame, at)[0]


def scan_book(frame: bytes, instrument: Instrument, levels: LevelBuffer) -> ScannedBook:
    """The fast path's one call: both level arrays appended to ``levels``, envelope ints out.

    Reads OKX's order, ``asks`` then ``bids`` then the integers, and searches each key only
    after the previous one (a byte search costs ~7 ns a byte). Raises ``ScanError`` when the
    frame is not in that one-entry shape (the caller then takes the validating path).
    """
    pd, sd = instrument.price_decimals, instrument.size_decimals
    end = scan_levels_at(frame, b"asks", ASK, pd, sd, levels)
    end = scan_levels_at(frame, b"bids", BID, pd, sd, levels, end)
    ts = _optional_int(frame, b"ts", end)
    if ts is None or find_value(frame, b"asks", end) >= 0:
        raise ScanError("not one data entry of asks, bids, ts", end)
    checksum = _optional_int(frame, b"checksum", end)
    prev = _optional_int(frame, b"prevSeqId", end)
    return _optional_int(frame, b"seqId", end), prev, checksum or None, ts


def _instrument(symbols: SymbolMap, native: str | None) -> Instrument:
    instrument = None if native is None else symbols.get(native)
    if instrument is None:
        raise MalformedMessage(f"unknown instId {native!r}", venue=VENUE)
    return instrument


def _book_event(
    instrument: Instrument,
    kind: BookEventKind,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    scanned: ScannedBook,
    ts_recv_ns: int,
) -> BookEvent:
    seq, prev, checksum, ts = scanned
    return wire.book_event(
        VENUE, instrument.symbol, kind, (arrays[0], arrays[1], arrays[2]), first_seq=seq or 0,
        last_seq=seq or 0, prev_seq=prev, checksum=checksum, ts_event_ns=ts * 1_000_000,
        ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def push_event(push: Push, levels: LevelBuffer, ts_recv_ns: int = 0) -> BookEvent:
    """The event :func:`parse_book` makes of a push the feed's OKXPath read (``push``, its
    levels in ``levels``, copied: the path reuses its buffer)."""
    symbol, snapshot, seq, prev, checksum, ts = push
    kind = BookEventKind.SNAPSHOT if snapshot else BookEventKind.DELTA
    sides, prices, sizes = levels.arrays()
    return wire.book_event(
        VENUE, symbol, kind, (sides.copy(), prices.copy(), sizes.copy()), first_seq=seq,
        last_seq=seq, prev_seq=prev, checksum=checksum, ts_event_ns=ts * 1_000_000,
        ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _kind(action: str | None) -> BookEventKind:
    if action == "snapshot":
        return BookEventKind.SNAPSHOT
    if action == "update":
        return BookEventKind.DELTA
    raise MalformedMessage(f"books push with action {action!r}", venue=VENUE)


def parse_book(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> BookEvent:
    """A ``books`` push (snapshot or update) for an instrument in ``symbols``."""
    instrument = _instrument(symbols, string_at(frame, b"instId"))
    kind = _kind(string_at(frame, b"action"))
    levels = LevelBuffer(256)
    try:
        scanned = scan_book(frame, instrument, levels)
    except ScanError:
        return _validated_book(frame, symbols, ts_recv_ns)
    return _book_event(instrument, kind, levels.arrays(), scanned, ts_recv_ns)


def _json(frame: bytes) -> Any:
    return wire.decode_json(frame, VENUE)


def _levels(
    entries: Any, side: int, instrument: Instrument
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        prices = to_raw_array([entry[0] for entry in entries], instrument.price_decimals)
        sizes = to_raw_array([entry[1] for entry in entries], instrument.size_decimals)
    except (TypeError, IndexError, KeyError) as exc:
        raise MalformedMessage(f"levels are not [px, sz, ...] lists: {exc}", venue=VENUE) from exc
    return np.full(len(prices), side, dtype=np.int8), prices, sizes


def _entry(message: Any, what: str) -> Any:
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        raise MalformedMessage(f"{what} without exactly one data entry", venue=VENUE)
    return data[0]


def _optional(entry: Any, key: str) -> int | None:
    value = entry.get(key)
    return None if value is None else int(value)


def _sides(entry: Any, instrument: Instrument) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ask = _levels(entry["asks"], ASK, instrument)
    bid = _levels(entry["bids"], BID, instrument)
    return (
        np.concatenate([ask[0], bid[0]]),
        np.concatenate([ask[1], bid[1]]),
        np.concatenate([ask[2], bid[2]]),
    )


def _validated_book(frame: bytes, symbols: SymbolMap, ts_recv_ns: int) -> BookEvent:
    """The reference path: a full parse with every field checked."""
    message = _json(frame)
    entry = _entry(message, "books push")
    try:
        if message["arg"]["channel"] != BOOKS_CHANNEL:
            raise MalformedMessage(f"not a books push: {message['arg']!r}", venue=VENUE)
        instrument = _instrument(symbols, message["arg"]["instId"])
        kind = _kind(message.get("action"))
        arrays = _sides(entry, instrument)
        scanned = (
            _optional(entry, "seqId"),
            _optional(entry, "prevSeqId"),
            _optional(entry, "checksum") or None,
            int(entry["ts"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(f"books push without {exc}", venue=VENUE) from exc
    return _book_event(instrument, kind, arrays, scanned, ts_recv_ns)


def parse_rest_books(body: bytes, instrument: Instrument, ts_recv_ns: int = 0) -> BookEvent | None:
    """``GET /api/v5/market/books`` as a SNAPSHOT at its ``seqId``; None without a seqId.

    Responses from before the 2026-08 docs carry no seqId: such a snapshot cannot be aligned
    with the stream, so it is not a snapshot the feed may use.
    """
    message = _json(body)
    if isinstance(message, dict) and message.get("code") not in (None, "0"):
        raise MalformedMessage(f"books request failed: {message.get('msg')!r}", venue=VENUE)
    entry = _entry(message, "books response")
    try:
        seq = _optional(entry, "seqId")
        if seq is None:
            return None
        arrays = _sides(entry, instrument)
        scanned = (seq, None, None, int(entry["ts"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(f"books response without {exc}", venue=VENUE) from exc
    return _book_event(instrument, BookEventKind.SNAPSHOT, arrays, scanned, ts_recv_ns)


def parse_bbo(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> Quote:
    """A ``bbo-tbt`` or ``books5`` push as the best bid/ask at update ``seqId``."""
    message = _json(frame)
    entry = _entry(message, "bbo push")
    try:
        instrument = _instrument(symbols, message["arg"]["instId"])
        bid, ask = entry["bids"][0], entry["asks"][0]
        return Quote(
            venue=VENUE,
            symbol=instrument.symbol,
            bid_price=to_raw(bid[0], instrument.price_decimals),
            bid_size=to_raw(bid[1], instrument.size_decimals),
            ask_price=to_raw(ask[0], instrument.price_decimals),
            ask_size=to_raw(ask[1], instrument.size_decimals),
            update_id=_optional(entry, "seqId") or 0,
            ts_event_ns=int(entry["ts"]) * 1_000_000,
            ts_recv_ns=ts_recv_ns,
        )
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise MalformedMessage(f"bbo push without {exc}", venue=VENUE) from exc


def parse_frame(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> list[Event]:
    """Any public frame: ``books`` pushes and BBO pushes become events; the rest is ignored.

    Subscription acks, errors, ``pong``, ``trades`` and ``tickers`` (no update id to pin them to
    a book state) return ``[]``; so does a push for an instId not in ``symbols`` (futures and
    swaps are not in the spot list).
    """
    if frame[:1] != b"{" or find_value(frame, b"event") >= 0:
        return []
    channel = string_at(frame, b"channel")
    if channel != BOOKS_CHANNEL and channel not in BBO_CHANNELS:
        return []
    native = string_at(frame, b"instId")
    if native is None or symbols.get(native) is None:
        return []
    if channel == BOOKS_CHANNEL:
        return [parse_book(frame, symbols, ts_recv_ns)]
    return [parse_bbo(frame, symbols, ts_recv_ns)]


# -- checksum --------------------------------------------------------------------------------------


def _wire_text(raw: int, decimals: int) -> str:
    """OKX's own rendering: the shortest decimal (no trailing zeros, no trailing point)."""
    text = to_text(raw, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def checksum_text(book: L2Book, depth: int = CHECKSUM_DEPTH) -> str:
    """``bid1px:bid1sz:ask1px:ask1sz:...`` over the best ``depth`` levels, a short side skipped.

    OKX hashes the strings it sent; it sends the shortest decimal form (every one of the 16,528
    price and size strings of the 2022 capture), so re-rendering the integers reproduces them.
    """
    pd, sd = book.price_decimals, book.size_decimals
    bids = [(_wire_text(p, pd), _wire_text(s, sd)) for p, s in _pairs(book, BID, depth)]
    asks = [(_wire_text(p, pd), _wire_text(s, sd)) for p, s in _pairs(book, ASK, depth)]
    parts: list[str] = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    return ":".join(parts)


def _pairs(book: L2Book, side: int, depth: int) -> list[tuple[int, int]]:
    prices, sizes = book.levels(side, depth)
    return list(zip(prices.tolist(), sizes.tolist(), strict=True))


#: :func:`checksum_text`'s rule as data for the compiled kernel, which renders and hashes it
#: without a Python object per level (~50 us per update in Python before).
CHECKSUM_FORM = TextForm(CHECKSUM_DEPTH, interleave=True, separator=":", signed=True)


def book_checksum(book: L2Book) -> int:
    """OKX's legacy book checksum: CRC32 of :func:`checksum_text` as a signed 32-bit int.

    Computed by :func:`arbcore_ext.checksum.book_crc32` (the property tests pin it to
    :func:`checksum_text`, which stays the readable statement of the rule).
    """
    return book_crc32(book, CHECKSUM_FORM)
