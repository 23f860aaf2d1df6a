"""Contenders, streams and timing helpers shared by the bench files.

The book adapters (arbcore's three ways in, the pure-Python reference, bmoscon's ``order-book``,
``sortedcontainers``) live in :mod:`arbcore.cli_bench` so ``arbcore bench`` works on a fresh
install; this module adds what pytest-benchmark needs: parameters that skip missing peers, an
independent oracle for the final book, and ``pedantic`` wrappers that record ``extra_info`` for
``benches/report.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from itertools import repeat
from typing import Any

import numpy as np
import pytest

from arbcore.cli_bench import BASELINE, CONTENDERS, Contender, Levels, Replay, Stream
from arbcore_ext.book import ASK, BID

__all__ = [
    "BASELINE",
    "CONTENDERS",
    "SLOW_PEERS",
    "SYNTHETIC_PREFIX",
    "SYNTHETIC_UPDATES",
    "TOP_N",
    "Contender",
    "Replay",
    "Stream",
    "bench_calls",
    "bench_replay",
    "call_loop",
    "contender_params",
    "final_book",
]

#: Size of the timed synthetic stream, and of the prefix used for smoke runs and slow peers.
SYNTHETIC_UPDATES = 1_000_000
SYNTHETIC_PREFIX = 100_000
#: Peers too slow (> 2 µs per update) to replay the full synthetic stream inside the suite budget.
SLOW_PEERS = frozenset({"reference book", "order-book (bmoscon)"})
#: Levels per side compared between every contender and the oracle after a replay.
TOP_N = 10
#: Wall-time budget per benchmark (seconds) when rounds are picked from a calibration run.
ROUND_BUDGET_S = 0.8
MIN_ROUNDS, MAX_ROUNDS = 5, 200
WARMUP_BELOW_S = 0.05


def contender_params(names: tuple[str, ...] | None = None) -> list[Any]:
    """``pytest.param`` per contender, skipped with a reason when its module is missing."""
    return [
        pytest.param(
            c,
            id=c.name,
            marks=pytest.mark.skipif(
                not c.available, reason=f"{c.requires} is not installed (dev extra)"
            ),
        )
        for c in CONTENDERS
        if names is None or c.name in names
    ]


@cache
def final_book(stream: Stream, n: int = TOP_N) -> tuple[Levels, Levels]:
    """The best ``n`` levels per side after the stream, by last-write-wins over all updates.

    Independent of every book under test: numpy keeps each (side, price)'s last size and drops
    zeros, so it doubles as the oracle for the ReferenceBook too.
    """
    bp, bq, ap, aq = stream.snapshot
    sides = np.concatenate(
        [np.full(len(bp), BID), np.full(len(ap), ASK)] + [m[0] for m in stream.messages]
    ).astype(np.int64)
    prices = np.concatenate([bp, ap] + [m[1] for m in stream.messages])
    sizes = np.concatenate([bq, aq] + [m[2] for m in stream.messages])
    keys = (prices * 2 + sides)[::-1]
    _, last = np.unique(keys, return_index=True)
    last = len(keys) - 1 - last
    kept = last[sizes[last] > 0]
    out: list[Levels] = []
    for side in (BID, ASK):
        idx = kept[sides[kept] == side]
        order = np.argsort(prices[idx])
        if side == BID:
            order = order[::-1]
        best = idx[order[:n]]
        out.append(list(zip(prices[best].tolist(), sizes[best].tolist(), strict=True)))
    return out[0], out[1]


def _pedantic(
    benchmark: Any,
    target: Callable[[], object],
    setup: Callable[[], None] | None,
    once: Callable[[], float],
) -> Any:
    """Run ``target`` under ``benchmark.pedantic`` with rounds fitting ``ROUND_BUDGET_S``.

    One untimed calibration run picks the rounds; fast targets get two more warm-up rounds, as
    L2Book adapts its window over the first replays (steady state is what a live feed sees).
    """
    if benchmark.disabled:
        return benchmark.pedantic(target, setup=setup)
    seconds = max(once(), 1e-9)
    rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(ROUND_BUDGET_S / seconds)))
    warmup = 2 if seconds < WARMUP_BELOW_S else 0
    return benchmark.pedantic(target, setup=setup, rounds=rounds, warmup_rounds=warmup)


def bench_replay(
    benchmark: Any, contender: Contender, stream: Stream, *, group: str, note: str = ""
) -> Replay:
    """Time full replays of ``stream`` (snapshot reloaded untimed before each round)."""
    replay = contender.prepare(stream)

    def once() -> float:
        replay.reset()
        start = time.perf_counter()
        replay.run()
        return time.perf_counter() - start

    benchmark.group = group
    benchmark.extra_info.update(
        contender=contender.name,
        stream=stream.name,
        messages=len(stream.messages),
        level_updates=stream.level_updates,
        ops=stream.level_updates,
        unit="level update",
        baseline=BASELINE,
        note=note,
    )
    _pedantic(benchmark, replay.run, replay.reset, once)
    return replay


def call_loop(fn: Callable[..., object], args: tuple[Any, ...], n: int) -> Callable[[], object]:
    """A loop of ``n`` calls ``fn(*args)``, unpacked ahead so the loop adds no star-call cost."""
    if not args:

        def loop0() -> object:
            out = None
            for _ in repeat(None, n):
                out = fn()
            return out

        return loop0
    if len(args) == 1:
        (a,) = args

        def loop1() -> object:
            out = None
            for _ in repeat(None, n):
                out = fn(a)
            return out

        return loop1
    if len(args) == 2:
        a, b = args

        def loop2() -> object:
            out = None
            for _ in repeat(None, n):
                out = fn(a, b)
            return out

        return loop2
    if len(args) == 4:
        a, b, c, d = args

        def loop4() -> object:
            out = None
            for _ in repeat(None, n):
                out = fn(a, b, c, d)
            return out

        return loop4
    raise ValueError(f"call_loop: {len(args)} arguments are not supported")


def bench_calls(
    benchmark: Any,
    loop: Callable[[], object],
    ops: int,
    *,
    group: str,
    contender: str,
    unit: str = "call",
    baseline: str = "",
    target_ns: float | None = None,
    setup: Callable[[], None] | None = None,
    note: str = "",
) -> Any:
    """Time ``loop`` (``ops`` operations per round) and record what report.py needs."""

    def once() -> float:
        if setup is not None:
            setup()
        start = time.perf_counter()
        loop()
        return time.perf_counter() - start

    benchmark.group = group
    benchmark.extra_info.update(
        contender=contender, ops=ops, unit=unit, baseline=baseline, note=note
    )
    if target_ns is not None:
        benchmark.extra_info["target_ns"] = target_ns
    return _pedantic(benchmark, loop, setup, once)
