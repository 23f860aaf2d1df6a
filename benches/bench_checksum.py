"""Venue book checksums per call: the venues' former Python rendering vs the compiled kernel.

Each venue's checksum ran in Python on every book update (arrays -> ints -> text per number ->
join -> CRC32); ``arbcore_ext.checksum.book_crc32`` renders and hashes the same text in C. Both
contenders hash the real BTCUSDT snapshot at the venue's depth (Kraken 10 a side, OKX and
Bitfinex 25, interleaved), and every result is checked against the Python rule.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import pytest
from peers import Stream, bench_calls, call_loop

from arbcore.exchanges.bitfinex import parsing as bitfinex
from arbcore.exchanges.kraken import parsing as kraken
from arbcore.exchanges.okx import parsing as okx
from arbcore_ext.book import L2Book
from arbcore_ext.checksum import TextForm, book_crc32

pytestmark = pytest.mark.recording

CALLS = 2_000
PYTHON = "Python rendering (former venue code)"
KERNEL = "book_crc32 kernel"


def _signed(crc: int) -> int:
    return crc - (1 << 32) if crc >= 1 << 31 else crc


@pytest.fixture(scope="module")
def book(btcusdt: Stream) -> L2Book:
    """The full BTCUSDT snapshot: real prices and sizes at the recording's decimals."""
    compiled = L2Book(btcusdt.price_decimals, btcusdt.size_decimals)
    compiled.apply_snapshot(*btcusdt.snapshot)
    return compiled


def _cases(book: L2Book) -> dict[str, tuple[Callable[[], int], TextForm]]:
    """Per venue: the former Python checksum, and the form of the kernel call it now makes."""
    fmt = kraken.BookFormat(1000, book.price_decimals, book.size_decimals)
    kraken_form = kraken.checksum_form(fmt.price_places, fmt.size_places)
    return {
        "kraken": (
            lambda: zlib.crc32(kraken.checksum_text(book, fmt).encode("ascii")),
            kraken_form,
        ),
        "okx": (
            lambda: _signed(zlib.crc32(okx.checksum_text(book).encode("ascii"))),
            okx.CHECKSUM_FORM,
        ),
        "bitfinex": (
            lambda: _signed(zlib.crc32(bitfinex.checksum_text(book).encode("ascii"))),
            bitfinex.CHECKSUM_FORM,
        ),
    }


@pytest.mark.parametrize("venue", ["kraken", "okx", "bitfinex"])
@pytest.mark.parametrize("contender", [PYTHON, KERNEL])
def test_checksum(benchmark: Any, book: L2Book, venue: str, contender: str) -> None:
    """One checksum of the snapshot's top levels, as the venue's feed computes it per update."""
    python, form = _cases(book)[venue]
    if contender == PYTHON:
        loop = call_loop(python, (), CALLS)
    else:  # the bare call the feed makes, no wrapper frame
        loop = call_loop(book_crc32, (book, form), CALLS)
    result = bench_calls(
        benchmark,
        loop,
        CALLS,
        group=f"checksum per book: {venue} (BTCUSDT snapshot)",
        contender=contender,
        baseline=PYTHON,
    )
    assert result == python() == book_crc32(book, form)
