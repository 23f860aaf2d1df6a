"""Book benchmarks: whole-stream replays per contender, the per-level call cost, memory."""

from __future__ import annotations

from typing import Any

import pytest
from peers import (
    SLOW_PEERS,
    SYNTHETIC_PREFIX,
    SYNTHETIC_UPDATES,
    TOP_N,
    Contender,
    Stream,
    bench_calls,
    bench_replay,
    call_loop,
    contender_params,
    final_book,
)

from arbcore_ext.book import ASK, BID, L2Book

#: Venues x symbols for the memory estimate.
VENUES, SYMBOLS_PER_VENUE = 8, 500


@pytest.mark.recording
@pytest.mark.parametrize("contender", contender_params())
def test_replay_real(benchmark: Any, real_stream: Stream, contender: Contender) -> None:
    """Replay a real Binance recording; every contender ends with the oracle's top levels."""
    replay = bench_replay(benchmark, contender, real_stream, group=f"replay {real_stream.name}")
    assert replay.top(TOP_N) == final_book(real_stream)


@pytest.mark.parametrize("contender", contender_params())
def test_replay_synthetic(
    benchmark: Any, synthetic: Stream, synthetic_prefix: Stream, contender: Contender
) -> None:
    """Replay the seeded synthetic stream (a 100k prefix for slow peers and for smoke runs)."""
    slow = contender.name in SLOW_PEERS
    stream = synthetic_prefix if slow or benchmark.disabled else synthetic
    note = f"first {SYNTHETIC_PREFIX // 1000}k updates only (too slow for 1M)" if slow else ""
    replay = bench_replay(
        benchmark,
        contender,
        stream,
        group=f"replay synthetic {SYNTHETIC_UPDATES // 1_000_000}M",
        note=note,
    )
    assert replay.top(TOP_N) == final_book(stream)


class _Noop:
    """A trivial Python object: the floor for any one-call-per-level API."""

    def set_level(self, side: int, price: int, size: int) -> None:
        return None


@pytest.mark.recording
@pytest.mark.parametrize("kind", ["L2Book.set_level", "empty method call", "bare loop"])
def test_set_level_call(benchmark: Any, btcusdt: Stream, kind: str) -> None:
    """Every BTCUSDT level update as one Python call with raw ints, vs an empty method call."""
    updates = [level for message in btcusdt.tuples for level in message]
    book = L2Book(btcusdt.price_decimals, btcusdt.size_decimals)
    target = book.set_level if kind == "L2Book.set_level" else _Noop().set_level

    def calls() -> None:
        for side, price, size in updates:
            target(side, price, size)

    def bare() -> None:
        for _side, _price, _size in updates:
            pass

    bench_calls(
        benchmark,
        bare if kind == "bare loop" else calls,
        len(updates),
        group="one call per level (BTCUSDT updates)",
        contender=kind,
        unit="level update",
        baseline="empty method call",
        target_ns=80.0 if kind == "L2Book.set_level" else None,
        setup=lambda: book.apply_snapshot(*btcusdt.snapshot),
    )
    assert len(updates) == btcusdt.level_updates
    if kind == "L2Book.set_level":
        book.apply_snapshot(*btcusdt.snapshot)
        calls()
        bids, asks = final_book(btcusdt)
        assert book.bbo() == (bids[0][0], asks[0][0])


@pytest.mark.recording
@pytest.mark.parametrize("layout", ["window", "flat"])
def test_memory_after_replay(benchmark: Any, real_stream: Stream, layout: str) -> None:
    """``nbytes`` after a full replay (recorded for the report); times ``top(20)`` on that book."""
    book = L2Book(
        real_stream.price_decimals,
        real_stream.size_decimals,
        window_ticks=0 if layout == "flat" else None,
    )
    book.apply_snapshot(*real_stream.snapshot)
    for message in real_stream.messages:
        book.apply_deltas(*message)
    n = 10_000
    benchmark.extra_info.update(
        symbol=real_stream.name,
        layout=layout,
        nbytes=book.nbytes,
        levels=[book.depth(BID), book.depth(ASK)],
        widths=list(book.widths),
        books=VENUES * SYMBOLS_PER_VENUE,
    )
    print(
        f"\n{real_stream.name} {layout}: {book.nbytes:,} B for {book.depth(BID)}+"
        f"{book.depth(ASK)} levels; x{VENUES * SYMBOLS_PER_VENUE} books = "
        f"{book.nbytes * VENUES * SYMBOLS_PER_VENUE / 2**30:.2f} GiB"
    )
    top = bench_calls(
        benchmark,
        call_loop(book.top, (20,), n),
        n,
        group="top(20) after replay",
        contender=f"{real_stream.name} {layout}",
    )
    bids, asks = final_book(real_stream, 20)
    assert top is not None
    bp, bq, ap, aq = top
    assert list(zip(bp.tolist(), bq.tolist(), strict=True)) == bids
    assert list(zip(ap.tolist(), aq.tolist(), strict=True)) == asks
    assert 0 < book.nbytes < 64 * 2**20
