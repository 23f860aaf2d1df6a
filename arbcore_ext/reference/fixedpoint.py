"""Plain-Python twin of ``arbcore_ext.fixedpoint``, computed with ``decimal.Decimal``.

It is the oracle for the hypothesis tests: written for obviousness, not speed. The grammar is a
regular expression (``Decimal()`` itself is too lenient: it strips spaces and allows ``_``), the
value is a ``Decimal`` in a context wide enough to be exact, and the checks run in the same order
as the compiled parser, so both raise the same error class with the same reason for every input.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
)
from typing import Literal

import numpy as np
import numpy.typing as npt

from arbcore_ext.errors import DecimalFormatError

__all__ = ["notional", "rescale", "round_to_step", "to_raw", "to_raw_array", "to_text"]

MAX_DECIMALS = 18
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Text = str | bytes | bytearray | memoryview
RoundingMode = Literal["down", "up", "nearest"]

_EMPTY = re.compile(r"[+-]?\.?")
_NOT_FINITE = re.compile(r"[+-]?(?:nan|snan|inf|infinity)", re.IGNORECASE | re.ASCII)
_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?)([0-9]+))?", re.ASCII)
_SYNTAX = "not a decimal number (expected digits, an optional '.' and an optional exponent)"
_ROUNDING = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_UP}


def _context(digits: int) -> Context:
    """A context that holds `digits` significant digits and any exponent: no silent rounding."""
    return Context(prec=digits + 60, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _check_decimals(value: int, name: str) -> int:
    """An int in 0..18, else TypeError / ValueError naming the argument (as the kernel does)."""
    try:
        index = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, was {type(value).__name__}") from None
    if not 0 <= index <= MAX_DECIMALS:
        raise ValueError(f"{name} must be between 0 and {MAX_DECIMALS}, was {index}")
    return index


def _check_int64(value: int) -> int:
    """What the kernel's int64_t argument conversion accepts: an int that fits 64 bits."""
    index = operator.index(value)
    if not INT64_MIN <= index <= INT64_MAX:
        raise OverflowError(f"{index} does not fit in a signed 64-bit integer")
    return index


def _fits(value: Decimal) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def _reason_precision(decimals: int) -> str:
    return f"more decimal places than the scale of {decimals} holds"


def _reason_overflow(decimals: int) -> str:
    return f"does not fit in 64 bits at {decimals} decimals"


def _decode(text: Text) -> str:
    """The text as str; any non-ASCII character stays and fails the grammar."""
    if isinstance(text, str):
        return text
    if isinstance(text, bytes | bytearray | memoryview):
        return bytes(text).decode("latin-1")
    raise TypeError(
        f"decimal text must be str, bytes, bytearray or memoryview, was {type(text).__name__}"
        " (numbers are not accepted: a float has already lost the exact value)"
    )


def _readable(text: Text) -> str | bytes:
    return bytes(text) if isinstance(text, bytearray | memoryview) else text


def _parse(text: str, decimals: int, allow_negative: bool) -> int | str:
    """The raw value, or the reason it was rejected."""
    if _EMPTY.fullmatch(text):
        return "no digits"
    if _NOT_FINITE.fullmatch(text):
        return "not a finite number"
    match = _NUMBER.fullmatch(text)
    if match is None or not (match[2] or match[3]):
        return _SYNTAX
    sign, whole, fraction, exponent_sign, exponent_digits = match.groups(default="")
    if sign == "-" and not allow_negative:
        return "negative values are not allowed here"
    # A larger |exponent| than len(text) + 40 decides the same way (10**40 > 2**63 for any
    # non-zero digit; a zero mantissa is zero), so clamp before making a Python int of it.
    clamp = len(text) + 40
    exponent_digits = exponent_digits.lstrip("0")
    exponent = int(exponent_digits) if 0 < len(exponent_digits) <= 18 else 0
    if len(exponent_digits) > 18 or exponent > clamp:
        exponent = clamp
    if exponent_sign == "-":
        exponent = -exponent
    digits = whole + fraction
    scaled = Decimal(digits).scaleb(exponent - len(fraction) + decimals, _context(len(digits)))
    if scaled != scaled.to_integral_value():
        return _reason_precision(decimals)
    if sign == "-":
        scaled = scaled.copy_negate()
    if not _fits(scaled):
        return _reason_overflow(decimals)
    return int(scaled)


def to_raw(text: Text, decimals: int, *, allow_negative: bool = False) -> int:
    """Parse decimal text exactly into an int scaled by 10**decimals."""
    scale = _check_decimals(decimals, "decimals")
    result = _parse(_decode(text), scale, allow_negative)
    if isinstance(result, str):
        raise DecimalFormatError(_readable(text), result)
    return result


def to_raw_array(
    texts: Sequence[Text], decimals: int, *, allow_negative: bool = False
) -> npt.NDArray[np.int64]:
    """Parse many decimal texts into one int64 array."""
    scale = _check_decimals(decimals, "decimals")
    items = list(texts)
    raws = []
    for i, text in enumerate(items):
        result = _parse(_decode(text), scale, allow_negative)
        if isinstance(result, str):
            raise DecimalFormatError(_readable(text), f"{result} (item {i} of {len(items)})")
        raws.append(result)
    return np.array(raws, dtype=np.int64)


def to_text(raw: int, decimals: int, places: int | None = None) -> str:
    """Render raw / 10**decimals with exactly `places` digits after the point."""
    raw = _check_int64(raw)
    scale = _check_decimals(decimals, "decimals")
    digits = scale if places is None else _check_decimals(places, "places")
    context = _context(40)
    value = Decimal(raw).scaleb(-scale, context)
    quantum = Decimal(1).scaleb(-digits, context)
    if context.remainder(value, quantum) != 0:
        raise DecimalFormatError(
            to_text(raw, scale), f"more decimal places than the {digits} places asked for hold"
        )
    return format(value.quantize(quantum, context=context), "f")


def rescale(raw: int, from_decimals: int, to_decimals: int) -> int:
    """The same value at another scale, exactly."""
    raw = _check_int64(raw)
    source = _check_decimals(from_decimals, "from_decimals")
    target = _check_decimals(to_decimals, "to_decimals")
    scaled = Decimal(raw).scaleb(target - source, _context(40))
    if scaled != scaled.to_integral_value():
        raise DecimalFormatError(to_text(raw, source), _reason_precision(target))
    if not _fits(scaled):
        raise DecimalFormatError(to_text(raw, source), _reason_overflow(target))
    return int(scaled)


def round_to_step(raw: int, step: int, mode: RoundingMode = "down") -> int:
    """Round to a multiple of step: floor, ceiling, or nearest with ties away from zero."""
    raw = _check_int64(raw)
    step = _check_int64(step)
    if not isinstance(mode, str):
        raise TypeError(f"mode must be str, was {type(mode).__name__}")
    if step <= 0:
        raise ValueError(f"step must be positive, was {step}")
    if mode not in _ROUNDING:
        raise ValueError(f"mode must be 'down', 'up' or 'nearest', was {mode!r}")
    # 80 digits: the quotient (at most 19 integer digits) is never within 10**-19 of a rounding
    # boundary (an integer or a half) unless it is exactly on it, so rounding it here is exact.
    context = _context(20)
    quotient = context.divide(Decimal(raw), Decimal(step))
    result = context.multiply(quotient.to_integral_value(_ROUNDING[mode], context), step)
    if not _fits(result):
        raise DecimalFormatError(
            raw, f"rounding {mode} to a multiple of {step} does not fit in 64 bits"
        )
    return int(result)


def notional(
    price_raw: int, qty_raw: int, price_decimals: int, qty_decimals: int, out_decimals: int
) -> int:
    """price * qty at out_decimals, exact and truncated toward zero."""
    price_raw = _check_int64(price_raw)
    qty_raw = _check_int64(qty_raw)
    price_scale = _check_decimals(price_decimals, "price_decimals")
    qty_scale = _check_decimals(qty_decimals, "qty_decimals")
    out_scale = _check_decimals(out_decimals, "out_decimals")
    context = _context(60)
    price = Decimal(price_raw).scaleb(-price_scale, context)
    qty = Decimal(qty_raw).scaleb(-qty_scale, context)
    scaled = context.multiply(price, qty).scaleb(out_scale, context)
    result = scaled.to_integral_value(ROUND_DOWN, context)
    if not _fits(result):
        raise DecimalFormatError(
            f"{to_text(price_raw, price_scale)} * {to_text(qty_raw, qty_scale)}",
            f"the notional does not fit in 64 bits at {out_scale} decimals",
        )
    return int(result)
