"""Builders for the cycle-engine tests: one engine of either kind from ``(base, quote)`` pairs.

Every cycle test runs one body against the compiled ``arbcore_ext.cycles`` and its plain-Python
twin ``arbcore_ext.reference.cycles``; these helpers keep the tests to what they check.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from arbcore_ext import cycles as compiled_cycles
from arbcore_ext.book import L2Book
from arbcore_ext.reference import cycles as twin_cycles

__all__ = ["ENGINE_KINDS", "build_engine", "engine_module", "make_book"]

#: The parameter every cycle test runs over.
ENGINE_KINDS = ("compiled", "twin")


def engine_module(kind: str) -> ModuleType:
    """``arbcore_ext.cycles`` for ``"compiled"``, its twin for ``"twin"``."""
    return {"compiled": compiled_cycles, "twin": twin_cycles}[kind]


def build_engine(kind: str, pairs: Sequence[tuple[str, str]], **options: Any) -> Any:
    """A ``CycleEngine`` over markets ``BASE/QUOTE`` in the order given (ids are positions)."""
    symbols = [f"{base}/{quote}" for base, quote in pairs]
    bases = [base for base, _ in pairs]
    quotes = [quote for _, quote in pairs]
    return engine_module(kind).CycleEngine(symbols, bases, quotes, **options)


def make_book(
    bids: Sequence[tuple[int, int]],
    asks: Sequence[tuple[int, int]],
    price_decimals: int,
    size_decimals: int,
) -> L2Book:
    """A compiled ``L2Book`` holding ``(price_raw, size_raw)`` levels (both engines read it)."""
    book = L2Book(price_decimals, size_decimals)
    book.apply_snapshot(
        np.array([price for price, _ in bids], dtype=np.int64),
        np.array([size for _, size in bids], dtype=np.int64),
        np.array([price for price, _ in asks], dtype=np.int64),
        np.array([size for _, size in asks], dtype=np.int64),
    )
    return book
