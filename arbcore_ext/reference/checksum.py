"""Plain-Python twin of ``arbcore_ext.checksum``: the venues' former Python checksums, generalised.

Its two number styles are Kraken's ``_digits`` (the value scaled to the wire's places as an
integer: the point removed, the leading zeros never written) and OKX's/Bitfinex's shortest text
(fixed places, then trailing zeros and a bare point stripped); its two orders are Kraken's asks
then bids and OKX's/Bitfinex's bid/ask interleave, a short side skipped. The property tests hold
the kernel to it and it to the venues' own ``checksum_text`` functions, which stay in Python as
the readable statement of each venue's rule.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from arbcore_ext.errors import DecimalFormatError

__all__ = ["TextForm", "book_crc32", "book_text"]

MAX_DECIMALS = 18
MAX_DEPTH = 100_000
Number = Literal["digits", "trimmed"]


class Book(Protocol):
    """What the twin reads of a book: the compiled ``L2Book`` and the reference twin both fit."""

    @property
    def price_decimals(self) -> int: ...
    @property
    def size_decimals(self) -> int: ...
    def levels(self, side: int, n: int = -1) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class TextForm:
    """The twin of ``checksum.TextForm``: same arguments, same checks."""

    depth: int
    interleave: bool
    separator: str = ""
    number: Number = "trimmed"
    price_places: int | None = None
    size_places: int | None = None
    negate_ask_sizes: bool = False
    signed: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.depth <= MAX_DEPTH:
            raise ValueError(f"depth must be 0..{MAX_DEPTH}, was {self.depth}")
        if len(self.separator) > 1 or not self.separator.isascii():
            raise ValueError(
                f"separator must be one ASCII character or empty, was {self.separator!r}"
            )
        if self.number not in ("digits", "trimmed"):
            raise ValueError(f"number must be 'digits' or 'trimmed', was {self.number!r}")
        for name in ("price_places", "size_places"):
            places = getattr(self, name)
            if places is not None and not 0 <= places <= MAX_DECIMALS:
                raise ValueError(f"{name} must be None or 0..{MAX_DECIMALS}, was {places!r}")


def _fixed(raw: int, decimals: int, places: int) -> str:
    """raw / 10**decimals with exactly ``places`` decimals; DecimalFormatError if digits drop."""
    if places < decimals and raw % 10 ** (decimals - places):
        raise DecimalFormatError(raw, f"at {decimals} decimals does not fit {places} places")
    sign = "-" if raw < 0 else ""
    scaled = abs(raw) * 10**places // 10**decimals
    if places == 0:
        return f"{sign}{scaled}"
    whole, fraction = divmod(scaled, 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}"


def _number(raw: int, decimals: int, places: int | None, number: Number) -> str:
    text = _fixed(raw, decimals, decimals if places is None else places)
    if number == "digits":  # Kraken: the scaled integer, so no point and no leading zeros
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        return sign + (digits.replace(".", "").lstrip("0") or "0")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _levels(book: Book, side: int, depth: int) -> list[tuple[int, int, int]]:
    prices, sizes = book.levels(side, depth)
    return [(side, p, q) for p, q in zip(prices.tolist(), sizes.tolist(), strict=True)]


def book_text(book: Book, form: TextForm) -> bytes:
    """The text the venue hashes: every number of the top ``depth`` levels, in the form's order.

    Rendered in that order, so the first number that does not fit its places is the one named.
    """
    bids, asks = _levels(book, 0, form.depth), _levels(book, 1, form.depth)
    if form.interleave:
        ordered = [
            level
            for index in range(max(len(bids), len(asks)))
            for level in (bids[index : index + 1] + asks[index : index + 1])
        ]
    else:
        ordered = asks + bids
    parts: list[str] = []
    for side, price, size in ordered:
        negate = "-" if side == 1 and form.negate_ask_sizes else ""
        parts.append(_number(price, book.price_decimals, form.price_places, form.number))
        parts.append(negate + _number(size, book.size_decimals, form.size_places, form.number))
    return form.separator.join(parts).encode("ascii")


def book_crc32(book: Book, form: TextForm) -> int:
    """CRC32 of :func:`book_text`, as a signed 32-bit integer when ``form.signed``."""
    crc = zlib.crc32(book_text(book, form))
    return crc - (1 << 32) if form.signed and crc >= 1 << 31 else crc
