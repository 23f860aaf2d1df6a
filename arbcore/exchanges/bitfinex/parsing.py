"""Bitfinex v2 frames -> values. Pure functions: bytes in, values out; no connection state.

Channel frames are JSON arrays ``[chanId, payload, seq?]`` whose numbers are bare JSON numbers;
the validating path decodes them with floats kept as text (``parse_float=str``) so a price never
passes through a float. The frames that matter per message, a one-level book update
``[chanId,[price,count,amount],seq]`` and a checksum ``[chanId,"cs",checksum,seq]``, have a fast
path: one strict regular expression (:data:`PLAIN_FRAME`, JSON's own number grammar without
exponents or spaces) splits the frame's bytes and :func:`append_level` reads the level straight
into a LevelBuffer. The compiled scanner cannot read these levels (it takes the size from the
second element; here that is the order count and the size is the third, signed). Which channel
is a book, and for which symbol, is connection state: ``data.BitfinexBookFeed`` keeps it.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Any, Final

import attrs
import numpy as np

from arbcore.errors import MalformedMessage
from arbcore.exchanges.bitfinex.constants import CHECKSUM_DEPTH, VENUE
from arbcore.model import Instrument
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer
from arbcore_ext.checksum import TextForm, book_crc32
from arbcore_ext.fixedpoint import to_raw, to_raw_array, to_text

__all__ = [
    "PLAIN_FRAME",
    "ChannelMessage",
    "Levels",
    "MessageKind",
    "append_level",
    "book_checksum",
    "checksum_text",
    "decode",
    "info_code",
    "level_arrays",
    "parse_channel_message",
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


#: One decoder for every frame (``json.loads(parse_float=...)`` would build one per call, most
#: of the cost of a heartbeat).
_DECODER = json.JSONDecoder(parse_float=str)


def decode(frame: bytes) -> Any:
    """The frame (UTF-8) as JSON with every non-integer number kept as its text."""
    try:
        return _DECODER.decode(frame.decode())
    except ValueError as exc:
        raise MalformedMessage(f"not JSON: {exc}", venue=VENUE) from exc


# Possessive quantifiers (``*+``, ``++``): a number never gives digits back, which spares the
# matcher its backtracking bookkeeping (a fifth of the match's cost).
_UINT = rb"(?:0|[1-9][0-9]*+)"
_DECIMAL = _UINT + rb"(?:\.[0-9]++)?+"
#: A plain book update ``[chanId,[price,count,amount](,seq)]`` or checksum frame
#: ``[chanId,"cs",checksum(,seq)]``, matched whole (``fullmatch``). Groups: chanId, price, count,
#: amount (the update's), checksum, seq; the other kind's are None. Only frames the JSON decoder
#: reads the same way match: no spaces, leading zeros or exponents (those take the validating
#: path), so the fast path never accepts a frame the validating one would refuse.
PLAIN_FRAME: Final = re.compile(
    rb"\[(" + _UINT + rb"),(?:\[(" + _DECIMAL + rb"),(" + _UINT + rb"),(-?" + _DECIMAL + rb")\]"
    rb'|"cs",(-?' + _UINT + rb"))(?:,(" + _UINT + rb"))?\]"
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


def info_code(event: dict[str, Any]) -> int | None:
    """The ``code`` of an ``info`` event (``constants.INFO_*``); None for the greeting, which
    carries a version and platform status instead."""
    code = event.get("code")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessage(f"expected an integer, was {value!r}", venue=VENUE)
    return value


def _count(value: Any) -> int:
    """A level's order count: a JSON integer, 0 or more (only whether it is 0 matters)."""
    count = _int(value)
    if count < 0:
        raise MalformedMessage(f"negative order count {count}", venue=VENUE)
    return count


def _seq(message: list[Any], fixed: int) -> int | None:
    if len(message) <= fixed:
        return None
    seq = _int(message[fixed])
    if not 0 <= seq < 2**63:  # the channel state counts in int64
        raise MalformedMessage(f"sequence number {seq} out of range", venue=VENUE)
    return seq


def _text(value: Any) -> Text:
    if isinstance(value, bytes | str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedMessage(f"level value {value!r} is not a number", venue=VENUE)


def append_level(
    levels: LevelBuffer, price: Text, deleted: bool, amount: Text, instrument: Instrument
) -> None:
    """One ``[price, count, amount]`` entry into ``levels``: amount > 0 bid, < 0 ask; a count
    of 0 (``deleted``) removes the level. The one rule both paths apply."""
    raw = to_raw(amount, instrument.size_decimals, allow_negative=True)
    if raw == 0:
        raise MalformedMessage("level amount 0 has no side", venue=VENUE)
    size = 0 if deleted else abs(raw)
    levels.append(BID if raw > 0 else ASK, to_raw(price, instrument.price_decimals), size)


def level_arrays(entries: Any, instrument: Instrument) -> Levels:
    """Decoded ``[price, count, amount]`` entries as (sides, prices, sizes), by
    :func:`append_level`'s rule, converted in two array calls (snapshots hold hundreds)."""
    try:
        rows = [
            (_text(price), _count(count) == 0, _text(amount)) for price, count, amount in entries
        ]
        prices, deleted, amounts = zip(*rows, strict=True) if rows else ((), (), ())
        raw_amounts = to_raw_array(amounts, instrument.size_decimals, allow_negative=True)
        raw_prices = to_raw_array(prices, instrument.price_decimals)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, MalformedMessage):
            raise
        raise MalformedMessage(
            f"levels are not [price, count, amount]: {exc}", venue=VENUE
        ) from exc
    if not raw_amounts.all():
        raise MalformedMessage("level amount 0 has no side", venue=VENUE)
    sides = np.where(raw_amounts > 0, BID, ASK).astype(np.int8)
    sizes = np.where(np.asarray(deleted, dtype=bool), 0, np.abs(raw_amounts))
    return sides, raw_prices, sizes.astype(np.int64)


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
