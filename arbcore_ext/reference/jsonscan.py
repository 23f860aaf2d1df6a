"""Twin of ``arbcore_ext.jsonscan``: the same reads done with the json module and Decimal.

The scanner is strict and declines (ScanError) anything outside the shapes venues send; this
twin is lenient JSON. The property tests therefore hold the scanner to one rule: whatever it
accepts, it reads exactly as this twin does, and whatever the twin rejects, it rejects too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from arbcore_ext.errors import ArbcoreError
from arbcore_ext.reference import fixedpoint
from arbcore_ext.reference.book import BID

__all__ = [
    "ScanError",
    "find_value",
    "scan_int",
    "scan_levels",
    "scan_levels_at",
    "scan_message",
    "string_value",
]

_WS = rb"[ \t\r\n]*"
_decoder = json.JSONDecoder(parse_float=str, parse_int=str)


class ScanError(ArbcoreError, ValueError):
    def __init__(self, reason: str, offset: int) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(f"{reason} at byte {offset}")


class Levels:
    """A LevelBuffer stand-in: appended ``(side, price, size)`` triples."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int]] = []

    def append(self, side: int, price: int, size: int) -> None:
        self.rows.append((side, price, size))


def find_value(frame: bytes, key: bytes, start: int = 0) -> int:
    found = re.compile(b'"' + re.escape(key) + b'"' + _WS + b":" + _WS).search(
        frame, max(0, start - 1)
    )
    return -1 if found is None else found.end()


def _decode(frame: bytes, offset: int) -> tuple[Any, int]:
    text = frame.decode("utf-8", "surrogateescape")
    try:
        value, end = _decoder.raw_decode(text, offset)
    except ValueError as exc:
        raise ScanError("not JSON", offset) from exc
    return value, len(text[:end].encode("utf-8", "surrogateescape"))


def _decimal(value: Any, decimals: int) -> int:
    if not isinstance(value, str):
        raise ScanError("not a decimal", 0)
    try:
        return fixedpoint.to_raw(value, decimals)
    except ValueError as exc:
        raise ScanError("not a decimal at the scale", 0) from exc


def scan_levels(
    frame: bytes, offset: int, side: int, price_decimals: int, size_decimals: int, out: Levels
) -> int:
    while offset < len(frame) and frame[offset : offset + 1] in b" \t\r\n":
        offset += 1
    levels, end = _decode(frame, offset)
    if not isinstance(levels, list):
        raise ScanError("not a level array", offset)
    parsed = []
    for level in levels:
        if not isinstance(level, list) or len(level) < 2:
            raise ScanError("not a level", offset)
        if any(isinstance(extra, list | dict) for extra in level[2:]):
            raise ScanError("a nested extra element", offset)
        parsed.append((side, _decimal(level[0], price_decimals), _decimal(level[1], size_decimals)))
    out.rows.extend(parsed)
    return end


def scan_int(frame: bytes, offset: int) -> tuple[int, int]:
    value, end = _decode(frame, offset)  # bare or quoted: both come back as text
    try:
        return fixedpoint.to_raw(value, 0, allow_negative=True), end
    except (TypeError, ValueError) as exc:
        raise ScanError("expected an integer", offset) from exc


def scan_levels_at(
    frame: bytes, key: bytes, side: int, price_decimals: int, size_decimals: int, out: Levels,
    start: int = 0,
) -> int:  # fmt: skip
    at = find_value(frame, key, start)
    if at < 0:
        raise ScanError(f"no {key.decode()!r} key", start)
    return scan_levels(frame, at, side, price_decimals, size_decimals, out)


def scan_message(
    frame: bytes, int_keys: tuple[bytes, ...], level_keys: tuple[bytes, ...],
    price_decimals: int, size_decimals: int, out: Levels,
) -> tuple[int, ...]:  # fmt: skip
    values = []
    for key in int_keys:
        at = find_value(frame, key)
        if at < 0:
            raise ScanError(f"no {key.decode()!r} key", 0)
        values.append(scan_int(frame, at)[0])
    end = 0
    for side, key in enumerate(level_keys, start=BID):
        end = scan_levels_at(frame, key, side, price_decimals, size_decimals, out, end)
    return tuple(values)


def string_value(frame: bytes, key: bytes, start: int = 0) -> str | None:
    at = find_value(frame, key, start)
    if at < 0 or frame[at : at + 1] != b'"':
        return None
    end = frame.find(b'"', at + 1)
    if end < 0 or b"\\" in frame[at + 1 : end]:
        return None
    return frame[at + 1 : end].decode("ascii", "replace")


def scan_delta(
    frame: bytes, instruments: Mapping[bytes, tuple[int, int, Any]], symbol_key: bytes,
    int_keys: tuple[bytes, ...], level_keys: tuple[bytes, ...], out: Levels,
) -> tuple[Any, ...] | None:  # fmt: skip
    symbol = string_value(frame, symbol_key)
    if symbol is None:
        raise ScanError("no symbol", 0)
    entry = instruments.get(symbol.encode())
    if entry is None:
        return None
    price_decimals, size_decimals, tag = entry
    return (tag, *scan_message(frame, int_keys, level_keys, price_decimals, size_decimals, out))
