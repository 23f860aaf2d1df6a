"""Bitfinex v2 frames -> values. Pure functions: bytes in, values out; no connection state.

Channel frames are JSON arrays ``[chanId, payload, seq?]`` whose numbers are bare JSON numbers;
the validating path decodes them with floats kept as text (``parse_float=str``) so a price never
passes through a float. Single-level book updates ``[chanId,[price,count,amount],seq]`` take a
fast path that splits the frame's bytes (the strict scanner reads ``[price, size, ...]`` levels
and cannot take the size from the third element, signed). Which channel is a book, and for which
symbol, is connection state: ``data.BitfinexBookFeed`` keeps it.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import attrs
import numpy as np

from arbcore.errors import MalformedMessage
from arbcore.exchanges.bitfinex.constants import CHECKSUM_DEPTH, VENUE
from arbcore.model import Instrument
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.checksum import TextForm, book_crc32
from arbcore_ext.fixedpoint import to_raw, to_text

__all__ = [
    "ChannelMessage",
    "Levels",
    "MessageKind",
    "book_checksum",
    "checksum_text",
    "decode",
    "level_arrays",
    "parse_channel_message",
    "scan_update",
]

Text = str | bytes
Levels = tuple[np.ndarray, np.ndarray, np.ndarray]


class MessageKind(enum.Enum):
    SNAPSHOT = "snapshot"  # [chanId, [[...], ...]]
    UPDATE = "update"  # [chanId, [...]]
    CHECKSUM = "checksum"  # [chanId, "cs", checksum]
    HEARTBEAT = "heartbeat"  # [chanId, "hb"]
    OTHER = "other"  # trades ("te"/"tu") and anything else on a channel


@attrs.frozen
class ChannelMessage:
    """One channel frame: its channel, kind, payload (entries as text) and SEQ_ALL number."""

    chan_id: int
    kind: MessageKind
    payload: Any
    seq: int | None = None


#: Elements before the optional sequence number, by the second element.
_FIXED_LENGTH = {"hb": 2, "cs": 3, "te": 3, "tu": 3}


def decode(frame: bytes) -> Any:
    """The frame as JSON with every non-integer number kept as its text."""
    try:
        return json.loads(frame, parse_float=str)
    except ValueError as exc:
        raise MalformedMessage(f"not JSON: {exc}", venue=VENUE) from exc


def scan_update(frame: bytes) -> ChannelMessage | None:
    """Fast path: ``[chanId,[price,count,amount],seq?]`` by splitting bytes, else None."""
    open_at = frame.find(b"[", 1)
    close_at = frame.find(b"]", open_at)
    if frame[:1] != b"[" or open_at < 0 or close_at < 0 or b'"' in frame:
        return None
    if frame.find(b"[", open_at + 1, close_at) >= 0:
        return None
    fields = frame[open_at + 1 : close_at].split(b",")
    head = frame[1:open_at].rstrip(b" ,")
    tail = frame[close_at + 1 :].strip(b" ,]")
    if len(fields) != 3 or not head.isdigit() or not (tail.isdigit() or not tail):
        return None
    price, count, amount = (field.strip() for field in fields)
    return ChannelMessage(
        int(head), MessageKind.UPDATE, (price, count, amount), int(tail) if tail else None
    )


def parse_channel_message(message: Any) -> ChannelMessage:
    """A decoded channel array as a :class:`ChannelMessage` (``decode`` first)."""
    if not isinstance(message, list) or len(message) < 2 or not isinstance(message[0], int):
        raise MalformedMessage(f"not a channel message: {str(message)[:80]}", venue=VENUE)
    chan_id, body = message[0], message[1]
    if isinstance(body, str):
        fixed = _FIXED_LENGTH.get(body, 2)
        seq = _seq(message, fixed)
        if body == "hb":
            return ChannelMessage(chan_id, MessageKind.HEARTBEAT, None, seq)
        if body == "cs":
            return ChannelMessage(chan_id, MessageKind.CHECKSUM, _int(message[2]), seq)
        return ChannelMessage(chan_id, MessageKind.OTHER, message[2:fixed], seq)
    if not isinstance(body, list):
        raise MalformedMessage(f"channel {chan_id}: payload is not an array", venue=VENUE)
    seq = _seq(message, 2)
    if body and all(isinstance(entry, list) for entry in body):
        return ChannelMessage(chan_id, MessageKind.SNAPSHOT, body, seq)
    if not body:  # an empty book snapshot
        return ChannelMessage(chan_id, MessageKind.SNAPSHOT, body, seq)
    return ChannelMessage(chan_id, MessageKind.UPDATE, body, seq)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessage(f"expected an integer, was {value!r}", venue=VENUE)
    return value


def _seq(message: list[Any], fixed: int) -> int | None:
    if len(message) <= fixed:
        return None
    return _int(message[fixed])


def _text(value: Any) -> Text:
    if isinstance(value, bytes | str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedMessage(f"level value {value!r} is not a number", venue=VENUE)


def level_arrays(entries: Any, instrument: Instrument) -> Levels:
    """``[price, count, amount]`` entries as (sides, prices, sizes): amount > 0 bid, < 0 ask;
    count 0 deletes (size 0)."""
    count_levels = len(entries)
    sides = np.empty(count_levels, dtype=np.int8)
    prices = np.empty(count_levels, dtype=np.int64)
    sizes = np.empty(count_levels, dtype=np.int64)
    try:
        for index, (price, count, amount) in enumerate(entries):
            raw = to_raw(_text(amount), instrument.size_decimals, allow_negative=True)
            if raw == 0:
                raise MalformedMessage("level amount 0 has no side", venue=VENUE)
            sides[index] = BID if raw > 0 else ASK
            prices[index] = to_raw(_text(price), instrument.price_decimals)
            sizes[index] = 0 if to_raw(_text(count), 0) == 0 else abs(raw)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, MalformedMessage):
            raise
        raise MalformedMessage(
            f"levels are not [price, count, amount]: {exc}", venue=VENUE
        ) from exc
    return sides, prices, sizes


def _number_text(raw: int, decimals: int) -> str:
    """The shortest fixed-notation text of raw / 10**decimals, as the checksum wants it."""
    text = to_text(raw, decimals)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def checksum_text(book: L2Book) -> str:
    """``bid_price:bid_amount:ask_price:-ask_amount`` for the best 25 levels, interleaved."""
    bid_prices, bid_sizes, ask_prices, ask_sizes = book.top(CHECKSUM_DEPTH)
    price_decimals, size_decimals = book.price_decimals, book.size_decimals
    parts: list[str] = []
    for index in range(max(len(bid_prices), len(ask_prices))):
        if index < len(bid_prices):
            parts.append(_number_text(int(bid_prices[index]), price_decimals))
            parts.append(_number_text(int(bid_sizes[index]), size_decimals))
        if index < len(ask_prices):
            parts.append(_number_text(int(ask_prices[index]), price_decimals))
            parts.append("-" + _number_text(int(ask_sizes[index]), size_decimals))
    return ":".join(parts)


#: :func:`checksum_text`'s rule as data for the compiled kernel, which renders and hashes it
#: without a Python object per level (the Python rendering was most of a replayed update's cost).
CHECKSUM_FORM = TextForm(
    CHECKSUM_DEPTH, interleave=True, separator=":", negate_ask_sizes=True, signed=True
)


def book_checksum(book: L2Book) -> int:
    """Bitfinex's book checksum: CRC32 of :func:`checksum_text` as a signed 32-bit integer.

    Computed by :func:`arbcore_ext.checksum.book_crc32` (the property tests pin it to
    :func:`checksum_text`, which stays the readable statement of the rule).
    """
    return book_crc32(book, CHECKSUM_FORM)
