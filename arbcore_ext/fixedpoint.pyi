"""Exact decimal text <-> int64 scaled by 10**decimals; never through a float.

Errors: bad text, lost digits and 64-bit overflow raise ``DecimalFormatError`` (an
``ArbcoreError`` and a ``ValueError``); a decimals argument outside 0..18 or a non-positive
step raises ``ValueError``; a wrong argument type raises ``TypeError``; a raw argument that
does not fit int64 raises ``OverflowError``.
"""

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

Text = str | bytes | bytearray | memoryview

def to_raw(text: Text, decimals: int, *, allow_negative: bool = False) -> int:
    """Parse decimal text exactly into an int scaled by 10**decimals."""

def to_raw_array(
    texts: Sequence[Text], decimals: int, *, allow_negative: bool = False
) -> npt.NDArray[np.int64]:
    """Parse many decimal texts into one new int64 array (one call, not one per value)."""

def to_text(raw: int, decimals: int, places: int | None = None) -> str:
    """Render raw / 10**decimals with exactly `places` (default decimals) digits after the point."""

def rescale(raw: int, from_decimals: int, to_decimals: int) -> int:
    """The same value at another scale, exactly (error rather than dropping a digit)."""

def round_to_step(raw: int, step: int, mode: Literal["down", "up", "nearest"] = "down") -> int:
    """Round to a multiple of step: floor, ceiling, or nearest with ties away from zero."""

def notional(
    price_raw: int, qty_raw: int, price_decimals: int, qty_decimals: int, out_decimals: int
) -> int:
    """price * qty at out_decimals, exact in 128 bits and truncated toward zero."""
