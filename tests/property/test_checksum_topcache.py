"""The per-book top cache (``checksum.TopCache``): the CRC of every form (OKX's interleaved
``bid:size:ask:size`` top 25, Kraken's asks-then-bids, any separator) by re-chaining the levels'
own CRCs, held to the uncached kernel over random update sequences; and the CRC-32 step it
starts separated texts from is zlib's, undone.

The updates are the ones a feed makes: levels entering and leaving the top, sizes changing, a
side or the whole book emptied and refilled, snapshots (resyncs), a change the cache is not told
about, deep levels only.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.exchanges.okx import parsing as okx
from arbcore_ext import checksum
from arbcore_ext.book import L2Book, LevelBuffer
from arbcore_ext.errors import DecimalFormatError
from tests.property.test_checksum_property import MID, _outcome, forms, sizes

# a narrow band around the touch (the top 25 and its edge) and the odd far level
_OFFSETS = st.one_of(st.integers(1, 40), st.integers(1, 40), st.integers(41, 10**6))
_LEVEL = st.tuples(st.integers(0, 1), _OFFSETS, st.one_of(st.just(0), sizes, st.integers(1, 9)))
# one step: an update of 1-4 levels, one then truncated to the best 1-40 levels a side (as a
# delta path keeps a venue's depth; the cache is told the update only), the whole book emptied,
# a snapshot, an untold change
_STEP = st.one_of(
    st.tuples(st.just("update"), st.lists(_LEVEL, min_size=1, max_size=4)),
    st.tuples(
        st.sampled_from(["truncate1", "truncate10", "truncate25", "truncate26", "truncate40"]),
        st.lists(_LEVEL, min_size=1, max_size=4),
    ),
    st.tuples(st.just("update"), st.lists(_LEVEL, min_size=1, max_size=4)),
    st.tuples(st.just("update"), st.lists(_LEVEL, min_size=1, max_size=4)),
    st.tuples(st.just("empty"), st.just([])),
    st.tuples(st.just("snapshot"), st.lists(_LEVEL, max_size=60)),
    st.tuples(st.just("untold"), st.lists(_LEVEL, min_size=1, max_size=2)),
)


Steps = list[tuple[str, list[tuple[int, int, int]]]]


def _price(side: int, offset: int) -> int:
    return MID - offset if side == 0 else MID + offset


def _snapshot(book: L2Book, levels: list[tuple[int, int, int]]) -> None:
    sides: list[dict[int, int]] = [{}, {}]
    for side, offset, size in levels:
        if size:
            sides[side][_price(side, offset)] = size
    (bids, asks) = ([(p, q) for p, q in side.items()] for side in sides)
    book.apply_snapshot(
        np.array([p for p, _ in bids], np.int64), np.array([q for _, q in bids], np.int64),
        np.array([p for p, _ in asks], np.int64), np.array([q for _, q in asks], np.int64),
    )  # fmt: skip


def _run(book: L2Book, form: checksum.TextForm, steps: Steps) -> None:
    cache = checksum.TopCache()
    for kind, levels in steps:
        buffer = LevelBuffer()
        if kind == "empty":
            for side in (0, 1):
                prices, _ = book.levels(side, 10**6)
                for price in prices.tolist():
                    buffer.append(side, price, 0)
        elif kind == "snapshot":
            _snapshot(book, levels)
        else:
            for side, offset, size in levels:
                buffer.append(side, _price(side, offset), size)
        told_kind = kind in ("update", "empty") or kind.startswith("truncate")
        if told_kind or kind == "untold":
            book.apply_buffer(buffer)
        if kind.startswith("truncate"):
            book.truncate(int(kind.removeprefix("truncate")))
        # what the cache is told was applied since its last checksum: an untold change or a
        # snapshot tells it nothing (the book's counters must give it away)
        told = buffer if told_kind else LevelBuffer()
        expected = _outcome(checksum.book_crc32, book, form)
        assert _outcome(cache.crc32, book, form, told) == expected, (kind, levels)


@given(data=st.data(), form=forms(), steps=st.lists(_STEP, min_size=1, max_size=25))
def test_top_cache_matches_the_kernel_after_every_step(
    data: st.DataObject, form: dict[str, object], steps: Steps
) -> None:
    """Any form the cache takes (depth <= 32), any price/size decimals, any book layout (the
    automatic window, flat, a 256-tick window with the far levels below it): after every update,
    emptying, snapshot or change it was not told of, its CRC (or error) is the kernel's."""
    form["depth"] = data.draw(st.sampled_from([0, 1, 2, 10, 25, 32]))
    book = L2Book(
        data.draw(st.integers(0, 8)),
        data.draw(st.integers(0, 8)),
        window_ticks=data.draw(st.sampled_from([None, 0, 256])),
    )
    _snapshot(book, data.draw(st.lists(_LEVEL, max_size=60)))
    _run(book, checksum.TextForm(**form), steps)  # type: ignore[arg-type]


@given(steps=st.lists(_STEP, min_size=1, max_size=40))
def test_top_cache_gives_okx_checksum_after_every_step(steps: Steps) -> None:
    """OKX's form (interleaved top 25, ':' between numbers, signed) at BTC-USDT's scales,
    held to the kernel and to the validating Python text."""
    book = L2Book(1, 8)
    _run(book, okx.CHECKSUM_FORM, steps)
    text = okx.checksum_text(book).encode()
    crc = zlib.crc32(text)
    assert checksum.TopCache().crc32(book, okx.CHECKSUM_FORM) == crc - (crc >> 31 << 32)


def test_top_cache_keeps_a_side_whose_update_lies_below_its_top() -> None:
    # 30 levels a side; deep updates (beyond 25) and one-sided updates, each checked
    book = L2Book(1, 8)
    _snapshot(book, [(side, i, 100 + i) for side in (0, 1) for i in range(1, 31)])
    cache = checksum.TopCache()
    assert cache.crc32(book, okx.CHECKSUM_FORM) == okx.book_checksum(book)
    for side, offset, size in [(0, 28, 5), (1, 30, 0), (1, 26, 7), (0, 3, 9), (1, 1, 0),
                               (0, 25, 0), (0, 40, 1), (1, 2, 3)]:  # fmt: skip
        buffer = LevelBuffer()
        buffer.append(side, _price(side, offset), size)
        book.apply_buffer(buffer)
        assert cache.crc32(book, okx.CHECKSUM_FORM, buffer) == okx.book_checksum(book)


@pytest.mark.parametrize("window_ticks", [None, 0, 256])
@pytest.mark.parametrize("depth", [1, 3, 10])
def test_top_cache_refills_a_full_top_from_below_its_last_level(
    window_ticks: int | None, depth: int
) -> None:
    # levels leave a full top (deletes at its best, inside, at its last level; a delete and an
    # insert in one update): the levels taking their place are the book's next ones, read from
    # below the last kept level, in the window or in the overflow below it (a 256-tick window
    # holds the six near levels a side, the top 10 reaches the far ones), or a flat book walked
    book = L2Book(2, 2, window_ticks=window_ticks)
    far = [(side, offset, 5) for side in (0, 1) for offset in (300, 301, 400, 10**5, 10**6)]
    _snapshot(book, [(side, offset, 5 + offset) for side in (0, 1) for offset in range(1, 7)]
              + far)  # fmt: skip
    form = checksum.TextForm(depth, interleave=True, separator=":")
    cache = checksum.TopCache()
    assert cache.crc32(book, form) == checksum.book_crc32(book, form)
    for update in ([(0, 1, 0)], [(1, 2, 0), (1, 3, 0)], [(0, depth, 0)], [(1, 1, 0), (1, 4, 9)],
                   [(0, offset, 0) for offset in range(2, 7)], [(1, 300, 0), (0, 300, 0)],
                   [(side, offset, 0) for side in (0, 1) for offset in range(1, 7)]):  # fmt: skip
        buffer = LevelBuffer()
        for side, offset, size in update:
            buffer.append(side, _price(side, offset), size)
        book.apply_buffer(buffer)
        assert cache.crc32(book, form, buffer) == checksum.book_crc32(book, form), update


def test_top_cache_reports_a_number_that_does_not_render_as_the_kernel() -> None:
    book = L2Book(2, 2)
    book.set_level(0, 12345, 7)  # 123.45 at a form of 1 price place: does not fit
    form = checksum.TextForm(25, interleave=True, separator=":", price_places=1)
    with pytest.raises(DecimalFormatError):
        checksum.TopCache().crc32(book, form)


def test_top_cache_takes_at_most_32_levels_a_side() -> None:
    with pytest.raises(ValueError, match="at most 32"):
        checksum.TopCache().crc32(L2Book(1, 1), checksum.TextForm(33, interleave=True))


@given(crc=st.integers(0, 2**32 - 1), byte=st.integers(0, 255))
def test_crc_unstep_is_the_register_one_byte_takes_to_crc(crc: int, byte: int) -> None:
    start = checksum.crc32_unstep(crc, byte)
    assert zlib.crc32(bytes([byte]), start) == crc


@given(data=st.binary(max_size=100), start=st.integers(0, 2**32 - 1))
def test_crc_by_parts_is_zlibs(data: bytes, start: int) -> None:
    # lengths 0-64 take the shift tables, longer texts are hashed: both are zlib's
    assert checksum.crc32(data, start) == zlib.crc32(data, start)
    assert checksum.crc32_append(data, start) == zlib.crc32(data, start)
