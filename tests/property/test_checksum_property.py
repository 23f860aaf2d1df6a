"""Venue checksums: the compiled kernel against its twin, the twin against the venues' Python rule.

The chain is kernel == ``reference.checksum`` == each venue's ``checksum_text`` (Kraken, OKX,
Bitfinex: the Python rule the feeds ran before the kernel), on random books wide enough to put
levels in both the book's window and its overflow, at every decimals/places pairing the
renderer can meet, including numbers that do not fit the wire's places.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.errors import MalformedMessage
from arbcore.exchanges.bitfinex import parsing as bitfinex
from arbcore.exchanges.kraken import parsing as kraken
from arbcore.exchanges.okx import parsing as okx
from arbcore_ext import checksum
from arbcore_ext.book import L2Book
from arbcore_ext.errors import DecimalFormatError
from arbcore_ext.reference import checksum as twin

MID = 10**9
sizes = st.one_of(st.integers(1, 10**6), st.integers(1, 10**18 - 1))
# near the touch (the window) and far from it (the overflow)
offsets = st.one_of(st.integers(1, 300), st.integers(1, MID - 1))
sides = st.lists(st.tuples(offsets, sizes), max_size=40, unique_by=lambda level: level[0])
decimals = st.integers(0, 12)
places = st.one_of(st.none(), st.integers(0, 18))


@st.composite
def books(draw: st.DrawFn) -> L2Book:
    """A compiled book: bids below ``MID``, asks above, any price and size decimals."""
    book = L2Book(draw(decimals), draw(decimals))
    bids, asks = draw(sides), draw(sides)
    book.apply_snapshot(
        np.array([MID - offset for offset, _ in bids], dtype=np.int64),
        np.array([size for _, size in bids], dtype=np.int64),
        np.array([MID + offset for offset, _ in asks], dtype=np.int64),
        np.array([size for _, size in asks], dtype=np.int64),
    )
    return book


@st.composite
def forms(draw: st.DrawFn) -> dict[str, object]:
    """Arguments of one TextForm, taken by both the kernel's and the twin's."""
    return {
        "depth": draw(st.integers(0, 45)),
        "interleave": draw(st.booleans()),
        "separator": draw(st.sampled_from(["", ":", ","])),
        "number": draw(st.sampled_from(["digits", "trimmed"])),
        "price_places": draw(places),
        "size_places": draw(places),
        "negate_ask_sizes": draw(st.booleans()),
        "signed": draw(st.booleans()),
    }


def _outcome(fn: Callable[..., object], *args: object) -> object:
    """A result, or the error's class and message: the kernel must fail exactly as the twin."""
    try:
        return fn(*args)
    except DecimalFormatError as exc:
        return type(exc), str(exc)


@given(book=books(), form=forms())
def test_checksum_kernel_any_form_matches_twin(book: L2Book, form: dict[str, object]) -> None:
    compiled, oracle = checksum.TextForm(**form), twin.TextForm(**form)  # type: ignore[arg-type]
    assert _outcome(checksum.book_text, book, compiled) == _outcome(twin.book_text, book, oracle)
    assert _outcome(checksum.book_crc32, book, compiled) == _outcome(twin.book_crc32, book, oracle)


def _signed_crc(text: str) -> int:
    crc = zlib.crc32(text.encode("ascii"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


@given(book=books())
def test_checksum_twin_okx_form_matches_okx_python_rule(book: L2Book) -> None:
    form = twin.TextForm(25, interleave=True, separator=":", signed=True)
    assert twin.book_text(book, form).decode() == okx.checksum_text(book)
    assert twin.book_crc32(book, form) == _signed_crc(okx.checksum_text(book))
    assert okx.book_checksum(book) == _signed_crc(okx.checksum_text(book))


@given(book=books())
def test_checksum_twin_bitfinex_form_matches_bitfinex_python_rule(book: L2Book) -> None:
    form = twin.TextForm(25, interleave=True, separator=":", negate_ask_sizes=True, signed=True)
    assert twin.book_text(book, form).decode() == bitfinex.checksum_text(book)
    assert twin.book_crc32(book, form) == _signed_crc(bitfinex.checksum_text(book))
    assert bitfinex.book_checksum(book) == _signed_crc(bitfinex.checksum_text(book))


@given(book=books(), price_places=st.integers(0, 18), size_places=st.integers(0, 18))
def test_checksum_twin_kraken_form_matches_kraken_python_rule(
    book: L2Book, price_places: int, size_places: int
) -> None:
    fmt = kraken.BookFormat(1000, price_places, size_places)
    form = twin.TextForm(
        10, interleave=False, number="digits", price_places=price_places, size_places=size_places
    )
    expected, rejected = "", ""
    try:
        expected = kraken.checksum_text(book, fmt)
    except MalformedMessage as exc:
        rejected = str(exc)
    if rejected:  # a number with digits beyond the places: the same one named by all three
        with pytest.raises(DecimalFormatError) as twin_error:
            twin.book_text(book, form)
        assert f"{twin_error.value.text} {twin_error.value.reason}" == rejected
        with pytest.raises(MalformedMessage, match=rejected):
            kraken.book_checksum(book, fmt)
        return
    assert twin.book_text(book, form).decode() == expected
    assert twin.book_crc32(book, form) == zlib.crc32(expected.encode("ascii"))
    assert kraken.book_checksum(book, fmt) == zlib.crc32(expected.encode("ascii"))


def test_checksum_kernel_text_longer_than_its_chunk_hashes_whole() -> None:
    """A text several times the kernel's 2 KiB stack chunk: the flushes lose no byte."""
    book = L2Book(8, 8)
    n = 100
    big = 10**17 + 123456789
    book.apply_snapshot(
        np.arange(MID, MID - n, -1, dtype=np.int64),
        np.full(n, big, dtype=np.int64),
        np.arange(MID + 1, MID + 1 + n, dtype=np.int64),
        np.full(n, big, dtype=np.int64),
    )
    form = checksum.TextForm(n, interleave=True, separator=":")
    text = checksum.book_text(book, form)
    assert len(text) > 2 * 2048
    assert checksum.book_crc32(book, form) == zlib.crc32(text)
    assert text == twin.book_text(book, twin.TextForm(n, interleave=True, separator=":"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"depth": -1},
        {"depth": 100_001},
        {"separator": "::"},
        {"separator": "é"},
        {"number": "shortest"},
        {"price_places": 19},
        {"size_places": -1},
    ],
)
def test_checksum_form_bad_argument_rejected_by_both(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"depth": 10, "interleave": True, **kwargs}
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        checksum.TextForm(**arguments)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        twin.TextForm(**arguments)  # type: ignore[arg-type]


def test_checksum_empty_book_hashes_empty_text() -> None:
    book = L2Book(2, 8)
    form = checksum.TextForm(25, interleave=True, separator=":", signed=True)
    assert checksum.book_text(book, form) == b""
    assert checksum.book_crc32(book, form) == 0


# one level change: side, offset from MID, size (0 deletes)
changes = st.lists(
    st.tuples(st.integers(0, 1), offsets, st.one_of(st.just(0), sizes)), min_size=1, max_size=30
)


@given(book=books(), form=forms(), other=forms(), updates=changes)
def test_checksum_cache_matches_the_kernel_after_every_update(
    book: L2Book, form: dict[str, object], other: dict[str, object],
    updates: list[tuple[int, int, int]],
) -> None:  # fmt: skip
    """A TextCache reuses the texts of unchanged levels: after every update, and when the form
    changes under it, its CRC (or error) is exactly the uncached kernel's."""
    cache = checksum.TextCache()
    compiled = [checksum.TextForm(**form), checksum.TextForm(**other)]  # type: ignore[arg-type]
    for step, (side, offset, size) in enumerate(updates):
        price = MID - offset if side == 0 else MID + offset
        book.apply_deltas(
            np.array([side], np.int8), np.array([price], np.int64), np.array([size], np.int64)
        )
        current = compiled[step * 3 // len(updates) % 2]  # the form changes once or twice
        assert _outcome(cache.crc32, book, current) == _outcome(checksum.book_crc32, book, current)
