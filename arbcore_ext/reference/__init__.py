"""Plain-Python twins of the compiled kernels: slow, obvious, and the oracle for property tests.

One module per compiled module, with the same names (``reference.book.L2Book`` beside
``book.L2Book``), so a test can run one body against both: the kernel must give the twin's
answer on every random input hypothesis finds.
"""

from __future__ import annotations

from arbcore_ext.reference import affinity, book, checksum, cycles, fixedpoint, jsonscan, profit
from arbcore_ext.reference.book import DepthFill, L2Book, ReferenceBook
from arbcore_ext.reference.profit import CrossQuote, limit_price, price_cross

__all__ = [
    "CrossQuote",
    "DepthFill",
    "L2Book",
    "ReferenceBook",
    "affinity",
    "book",
    "checksum",
    "cycles",
    "fixedpoint",
    "jsonscan",
    "limit_price",
    "price_cross",
    "profit",
]
