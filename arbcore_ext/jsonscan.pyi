"""Strict scanner for venue frames: level arrays straight from bytes into a LevelBuffer."""

from collections.abc import Mapping
from typing import Any

from arbcore_ext.book import LevelBuffer
from arbcore_ext.errors import ArbcoreError

class ScanError(ArbcoreError, ValueError):
    """The frame is not in the strict shape the scanner reads; use the validating parser."""

    reason: str
    offset: int
    def __init__(self, reason: str, offset: int) -> None: ...

def scan_levels(
    frame: bytes,
    offset: int,
    side: int,
    price_decimals: int,
    size_decimals: int,
    out: LevelBuffer,
) -> int:
    """Append the level array at offset to out; the offset after it."""

def find_value(frame: bytes, key: bytes, start: int = 0) -> int:
    """Offset of the value of "key": in frame, or -1."""

def scan_int(frame: bytes, offset: int) -> tuple[int, int]:
    """(value, end) of the integer (bare or quoted) at offset."""

def scan_levels_at(
    frame: bytes,
    key: bytes,
    side: int,
    price_decimals: int,
    size_decimals: int,
    out: LevelBuffer,
    start: int = 0,
) -> int:
    """Find "key": then scan its level array into out; the offset after it."""

def scan_message(
    frame: bytes,
    int_keys: tuple[bytes, ...],
    level_keys: tuple[bytes, ...],
    price_decimals: int,
    size_decimals: int,
    out: LevelBuffer,
) -> tuple[int, ...]:
    """Integers of int_keys and the level arrays of level_keys (side i) in one call."""

def scan_delta(
    frame: bytes,
    instruments: Mapping[bytes, tuple[int, int, Any]],
    symbol_key: bytes,
    int_keys: tuple[bytes, ...],
    level_keys: tuple[bytes, ...],
    out: LevelBuffer,
) -> tuple[Any, ...] | None:
    """Symbol lookup, integers and level arrays of one delta frame in one call."""

def string_value(frame: bytes, key: bytes, start: int = 0) -> str | None:
    """The plain string value of "key": from start on, or None."""
