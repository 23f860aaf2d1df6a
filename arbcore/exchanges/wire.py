"""Frame helpers every venue parser shares: one copy, not one per venue.

Venues send levels as ``[price, size, ...]`` rows and name the symbol in a plain string field,
so the same small readers serve them all.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import cysimdjson
import numpy as np
from numpy.typing import NDArray

from arbcore.errors import MalformedMessage
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEvent, BookEventKind, Instrument
from arbcore_ext.fixedpoint import rescale, to_raw_array
from arbcore_ext.jsonscan import string_value

__all__ = [
    "LevelArrays",
    "book_event",
    "decode_json",
    "find_instrument",
    "join_sides",
    "level_arrays",
    "rescaled",
    "string_at",
]

#: ``(sides, prices, sizes)`` of one side's levels.
LevelArrays = tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.int64]]


_parser = cysimdjson.JSONParser()


def decode_json(frame: bytes, venue: str) -> Any:
    """The validating path's full parse; a frame that is not JSON is malformed.

    A key repeated inside one object is refused too: parsers disagree on which copy wins (the
    scanner reads the first, a JSON parser the last), so such a frame is never read at all.
    JSON numbers come back as floats: callers read prices and sizes only from strings (or use
    ``json.loads(parse_float=str)`` for venues that send numbers).
    """
    try:
        return _parser.parse(frame).export() if not _has_duplicate_keys(frame) else _refuse()
    except ValueError as exc:
        raise MalformedMessage(f"not JSON: {exc}", venue=venue) from exc


def _refuse() -> Any:
    raise ValueError("a key is repeated inside one object")


def _has_duplicate_keys(frame: bytes) -> bool:
    """Exact check with the json module, only when a cheap count says a repeat is possible."""
    keys = _KEY.findall(frame)
    if len(keys) == len(set(keys)):
        return False
    repeated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        if len({key for key, _ in items}) != len(items):
            repeated = True
        return dict(items)

    try:
        json.loads(frame, object_pairs_hook=pairs)
    except ValueError:
        return False  # not JSON at all: cysimdjson reports that
    return repeated


_KEY = re.compile(rb'"([^"\\]{1,64})"\s*:')


#: The string value of the first ``"key":`` from ``start`` on; None if absent or not text.
string_at = string_value


def find_instrument(symbols: SymbolMap, native: str, venue: str) -> Instrument:
    """The instrument of a native symbol; a frame naming an unknown one is malformed."""
    instrument = symbols.get(native)
    if instrument is None:
        raise MalformedMessage(f"unknown symbol {native!r}", venue=venue)
    return instrument


def level_arrays(rows: Any, side: int, instrument: Instrument, venue: str) -> LevelArrays:
    """``(sides, prices, sizes)`` of decoded ``[price, size, ...]`` rows, exact.

    Prices and sizes must be text: a JSON number decoded to a float is refused (TypeError from
    ``to_raw_array``), so a float can never slip into a book.
    """
    try:
        prices = to_raw_array([row[0] for row in rows], instrument.price_decimals)
        sizes = to_raw_array([row[1] for row in rows], instrument.size_decimals)
    except (TypeError, IndexError, KeyError) as exc:
        raise MalformedMessage(f"levels are not [price, size] rows: {exc}", venue=venue) from exc
    return np.full(len(prices), side, dtype=np.int8), prices, sizes


def rescaled(instrument: Instrument, price_decimals: int, size_decimals: int) -> Instrument:
    """The same instrument with prices and sizes held at finer scales (steps kept exact).

    For venues whose books carry more digits than the instrument list states: a book at the
    stated scale would reject those levels.
    """
    price_decimals = max(price_decimals, instrument.price_decimals)
    size_decimals = max(size_decimals, instrument.size_decimals)
    if (price_decimals, size_decimals) == (instrument.price_decimals, instrument.size_decimals):
        return instrument
    old_price, old_size = instrument.price_decimals, instrument.size_decimals
    return attrs.evolve(
        instrument,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        tick_size=rescale(instrument.tick_size, old_price, price_decimals),
        min_notional=rescale(instrument.min_notional, old_price, price_decimals),
        lot_size=rescale(instrument.lot_size, old_size, size_decimals),
        min_qty=rescale(instrument.min_qty, old_size, size_decimals),
    )


def join_sides(*parts: LevelArrays) -> LevelArrays:
    """One message's sides (bids, then asks) as one set of flat arrays."""
    return (
        np.concatenate([part[0] for part in parts]),
        np.concatenate([part[1] for part in parts]),
        np.concatenate([part[2] for part in parts]),
    )


def book_event(
    venue: str,
    symbol: str,
    kind: BookEventKind,
    levels: LevelArrays,
    *,
    first_seq: int = 0,
    last_seq: int = 0,
    prev_seq: int | None = None,
    checksum: int | None = None,
    ts_event_ns: int = 0,
    ts_recv_ns: int = 0,
) -> BookEvent:
    """The BookEvent of one parsed message (the call every venue parser ends with)."""
    sides, prices, sizes = levels
    return BookEvent(
        venue=venue,
        symbol=symbol,
        kind=kind,
        sides=sides,
        prices=prices,
        sizes=sizes,
        first_seq=first_seq,
        last_seq=last_seq,
        prev_seq=prev_seq,
        checksum=checksum,
        ts_event_ns=ts_event_ns,
        ts_recv_ns=ts_recv_ns,
    )
