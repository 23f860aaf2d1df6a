"""A long run of updates must not grow memory beyond the book's own levels."""

from __future__ import annotations

import gc
import os
import tracemalloc

import numpy as np

from arbcore_ext.book import L2Book


def _stream(seed: int, messages: int, levels: int) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(messages):
        sides = rng.integers(0, 2, levels).astype(np.int8)
        offsets = rng.integers(0, 200, levels)
        prices = np.where(sides == 0, 1_000_000 - offsets, 1_000_001 + offsets).astype(np.int64)
        sizes = np.where(rng.random(levels) < 0.3, 0, rng.integers(1, 10_000, levels))
        out.append((sides, prices, sizes.astype(np.int64)))
    return out


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_book_million_updates_do_not_grow_memory() -> None:
    book = L2Book(2, 8)
    messages = _stream(7, 1000, 50)  # 50,000 level updates, replayed 20 times: 1M updates
    for message in messages:  # warm up: every level that will ever exist now exists
        book.apply_deltas(*message)
    gc.collect()
    native_before = book.nbytes
    rss_before = _rss_bytes()
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    for _ in range(20):
        for message in messages:
            book.apply_deltas(*message)
            book.bbo()
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert current - baseline < 16 * 1024  # no Python objects accumulate
    assert _rss_bytes() - rss_before < 2 * 1024 * 1024  # nor native memory
    # native memory stays bounded by the levels it holds (the adaptive window may only shrink
    # here: these updates sit within 200 ticks of the touch)
    assert book.nbytes <= native_before
    assert book.stats["bid"]["updates"] + book.stats["ask"]["updates"] == 21 * 50_000


def test_book_memory_is_window_plus_overflow() -> None:
    book = L2Book(2, 8, window_ticks=1024)
    book.set_level(0, 1_000_000, 1)
    # 16 bytes per tick for window and bitmap across both sides: 8 bytes of size and 1 bit each
    assert book.nbytes == 2 * (1024 * 8 + 1024 // 8)
    for price in range(1, 1001):  # far below the window: overflow at 16 bytes a level
        book.set_level(0, price, 1)
    overflow_bytes = book.nbytes - 2 * (1024 * 8 + 1024 // 8)
    assert 1000 * 16 <= overflow_bytes <= 4 * 1000 * 16
