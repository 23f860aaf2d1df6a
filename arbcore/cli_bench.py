"""``arbcore bench``: replay a real Binance depth recording through arbcore's book and its peers.

Every contender gets the same pre-parsed input in its natural form (numpy arrays for
``apply_deltas``, tuples of raw ints for per-level calls and SortedDict, floats for bmoscon's
``order-book``); per message it applies every level, then reads the best bid and ask once. Snapshot
loading and input conversion are outside the timed region. Peers that are not installed (they are
in the ``dev`` extra) are skipped with a note.

The stream, the contenders and the synthetic generator live here (not under ``benches/``) so the
command works on a fresh install; ``benches/peers.py`` reuses them for pytest-benchmark.
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.reference import ReferenceBook

__all__ = [
    "BASELINE",
    "CONTENDERS",
    "RECORDING_DAY",
    "SYMBOLS",
    "Contender",
    "Levels",
    "Replay",
    "Stream",
    "binance_stream",
    "measure",
    "run_bench",
    "synthetic_stream",
]

Bbo = tuple[int | None, int | None]
Levels = list[tuple[int, int]]
Int64Array = NDArray[np.int64]
Message = tuple[NDArray[np.int8], Int64Array, Int64Array]

#: The contender every ratio is taken against.
BASELINE = "sortedcontainers"
SYMBOLS = ("btcusdt", "ethusdt")
RECORDING_DAY = "20240808"


@dataclass(eq=False)
class Stream:
    """A snapshot and the messages that follow it, as raw scaled int64 arrays."""

    name: str
    price_decimals: int
    size_decimals: int
    snapshot: tuple[Int64Array, Int64Array, Int64Array, Int64Array]
    messages: list[Message]

    @cached_property
    def level_updates(self) -> int:
        return sum(len(prices) for _, prices, _ in self.messages)

    @cached_property
    def tuples(self) -> list[list[tuple[int, int, int]]]:
        """Per message, ``(side, price_raw, size_raw)`` Python ints."""
        return [
            list(zip(s.tolist(), p.tolist(), q.tolist(), strict=True)) for s, p, q in self.messages
        ]

    @cached_property
    def lists(self) -> list[tuple[list[int], list[int], list[int]]]:
        """Per message, the three columns as Python lists (ReferenceBook.apply_deltas)."""
        return [(s.tolist(), p.tolist(), q.tolist()) for s, p, q in self.messages]

    @cached_property
    def floats(self) -> list[list[tuple[int, float, float]]]:
        """Per message, ``(side, price, size)`` with float price and size (order-book's keys)."""
        pu, su = 10**self.price_decimals, 10**self.size_decimals
        return [
            list(zip(s.tolist(), (p / pu).tolist(), (q / su).tolist(), strict=True))
            for s, p, q in self.messages
        ]

    def prefix(self, level_updates: int) -> Stream:
        """The first whole messages holding at most ``level_updates`` level changes."""
        ends = np.cumsum([len(prices) for _, prices, _ in self.messages])
        count = int(np.searchsorted(ends, level_updates, side="right"))
        return Stream(
            f"{self.name}[:{level_updates}]",
            self.price_decimals,
            self.size_decimals,
            self.snapshot,
            self.messages[:count],
        )


def binance_stream(path: str | Path) -> Stream:
    """A synced Binance spot recording (hftbacktest format) as a :class:`Stream`."""
    from arbcore.testing.recordings import load_binance_depth

    rec = load_binance_depth(path)
    snap = rec.snapshot
    return Stream(
        rec.symbol or Path(path).name,
        rec.price_decimals,
        rec.size_decimals,
        (snap.bid_prices, snap.bid_sizes, snap.ask_prices, snap.ask_sizes),
        [(d.sides, d.prices, d.sizes) for d in rec.diffs],
    )


def synthetic_stream(
    level_updates: int = 1_000_000, *, per_message: int = 20, seed: int = 20240808
) -> Stream:
    """A seeded stream: ~20-level messages, mostly in the top 20 levels, 20% deletes, drifting mid.

    The mid moves 0-2 ticks per message; when it moves, the message starts with deletes of the
    levels it passed over, so the book never crosses (as on a real venue).
    """
    rng = np.random.default_rng(seed)
    n_messages = level_updates // per_message
    depth = 1000
    mid = 6_000_000 + np.cumsum(
        rng.choice([-2, -1, 0, 1, 2], size=n_messages, p=[0.05, 0.15, 0.6, 0.15, 0.05])
    )
    offsets = np.where(
        rng.random((n_messages, per_message)) < 0.9,
        np.minimum(rng.geometric(0.12, (n_messages, per_message)) - 1, depth - 1),
        rng.integers(0, depth, (n_messages, per_message)),
    )
    sides = rng.integers(0, 2, (n_messages, per_message)).astype(np.int8)
    sign = np.where(sides == BID, -1, 1)
    prices = mid[:, None] + sign * (1 + offsets)
    sizes = np.where(
        rng.random((n_messages, per_message)) < 0.2,
        0,
        rng.integers(1, 5 * 10**8, (n_messages, per_message)),
    )
    previous = np.concatenate([[6_000_000], mid[:-1]])
    for i in np.flatnonzero(mid != previous):
        step = int(mid[i] - previous[i])
        # up: asks in (old, new] are now at or under the mid; down: bids in [new, old).
        if step > 0:
            passed = np.arange(previous[i] + 1, mid[i] + 1)
        else:
            passed = np.arange(mid[i], previous[i])
        k = len(passed)
        sides[i, :k] = ASK if step > 0 else BID
        prices[i, :k] = passed
        sizes[i, :k] = 0
    ticks = np.arange(1, depth + 1, dtype=np.int64)
    start = 6_000_000
    snapshot = (
        start - ticks,
        rng.integers(1, 5 * 10**8, depth),
        start + ticks,
        rng.integers(1, 5 * 10**8, depth),
    )
    prices = prices.astype(np.int64)
    sizes = sizes.astype(np.int64)
    return Stream(
        f"synthetic-{level_updates // 1000}k",
        2,
        8,
        snapshot,
        [(sides[i], prices[i], sizes[i]) for i in range(n_messages)],
    )


@dataclass(frozen=True)
class Replay:
    """One contender bound to one stream: ``reset`` loads the snapshot, ``run`` replays."""

    reset: Callable[[], None]
    run: Callable[[], object]
    bbo: Callable[[], Bbo]
    top: Callable[[int], tuple[Levels, Levels]]


@dataclass(frozen=True)
class Contender:
    """A book implementation under test; ``requires`` names an optional module it needs."""

    name: str
    prepare: Callable[[Stream], Replay]
    requires: str | None = None

    @property
    def available(self) -> bool:
        if self.requires is None:
            return True
        try:
            importlib.import_module(self.requires)
        except ImportError:
            return False
        return True


def _raw_top(book: Any, n: int) -> tuple[Levels, Levels]:
    """Best n levels per side of an L2Book/ReferenceBook as lists of raw ``(price, size)``."""
    bp, bq, ap, aq = book.top(n)
    return (
        list(zip(bp.tolist(), bq.tolist(), strict=True)),
        list(zip(ap.tolist(), aq.tolist(), strict=True)),
    )


def _book_replay(book: Any, stream: Stream, run: Callable[[], object]) -> Replay:
    """A Replay over an L2Book-shaped book (snapshot, bbo and top read the same way)."""
    return Replay(
        lambda: book.apply_snapshot(*stream.snapshot), run, book.bbo, lambda n: _raw_top(book, n)
    )


def _batch_replay(book: Any, stream: Stream, messages: Sequence[Any]) -> Replay:
    """One ``apply_deltas`` call per message, then the bbo (arbcore's book and its twin)."""

    def run() -> object:
        apply, bbo = book.apply_deltas, book.bbo
        top = None
        for sides, prices, sizes in messages:
            apply(sides, prices, sizes)
            top = bbo()
        return top

    return _book_replay(book, stream, run)


def _arbcore_batch(stream: Stream, window_ticks: int | None = None) -> Replay:
    book = L2Book(stream.price_decimals, stream.size_decimals, window_ticks=window_ticks)
    return _batch_replay(book, stream, stream.messages)


def _arbcore_flat(stream: Stream) -> Replay:
    return _arbcore_batch(stream, window_ticks=0)


def _arbcore_set_level(stream: Stream) -> Replay:
    book = L2Book(stream.price_decimals, stream.size_decimals)
    messages = stream.tuples

    def run() -> object:
        set_level, bbo = book.set_level, book.bbo
        top = None
        for message in messages:
            for side, price, size in message:
                set_level(side, price, size)
            top = bbo()
        return top

    return _book_replay(book, stream, run)


def _reference(stream: Stream) -> Replay:
    book = ReferenceBook(stream.price_decimals, stream.size_decimals)
    return _batch_replay(book, stream, stream.lists)


def _sortedcontainers(stream: Stream) -> Replay:
    from sortedcontainers import SortedDict

    sides: tuple[Any, Any] = (SortedDict(), SortedDict())
    messages = stream.tuples

    def reset() -> None:
        bp, bq, ap, aq = (a.tolist() for a in stream.snapshot)
        sides[BID].clear()
        sides[ASK].clear()
        sides[BID].update(zip(bp, bq, strict=True))
        sides[ASK].update(zip(ap, aq, strict=True))

    def bbo() -> Bbo:
        bids, asks = sides
        return (bids.peekitem(-1)[0] if bids else None, asks.peekitem(0)[0] if asks else None)

    def run() -> object:
        bids, asks = sides
        top: object = None
        for message in messages:
            for side, price, size in message:
                levels = sides[side]
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)
            try:
                top = (bids.peekitem(-1)[0], asks.peekitem(0)[0])
            except IndexError:
                top = bbo()
        return top

    def levels(n: int) -> tuple[Levels, Levels]:
        bids, asks = sides
        return list(reversed(bids.items()[-n:])), list(asks.items()[:n])

    return Replay(reset, run, bbo, levels)


def _order_book(stream: Stream) -> Replay:
    from order_book import OrderBook

    pu, su = 10**stream.price_decimals, 10**stream.size_decimals
    holder: list[Any] = [OrderBook(max_depth=0)]
    messages = stream.floats
    bp, bq, ap, aq = (
        (a / scale).tolist() for a, scale in zip(stream.snapshot, (pu, su, pu, su), strict=True)
    )

    def reset() -> None:
        book = OrderBook(max_depth=0)
        for price, size in zip(bp, bq, strict=True):
            book.bids[price] = size
        for price, size in zip(ap, aq, strict=True):
            book.asks[price] = size
        holder[0] = book

    def side_levels(levels: Any, n: int) -> Levels:
        return [
            (round(levels.index(i)[0] * pu), round(levels.index(i)[1] * su))
            for i in range(min(n, len(levels)))
        ]

    def bbo() -> Bbo:
        bids, asks = side_levels(holder[0].bids, 1), side_levels(holder[0].asks, 1)
        return (bids[0][0] if bids else None, asks[0][0] if asks else None)

    def run() -> object:
        bids, asks = holder[0].bids, holder[0].asks
        sides = (bids, asks)
        top: object = None
        for message in messages:
            for side, price, size in message:
                if size:
                    sides[side][price] = size
                else:
                    try:  # noqa: SIM105 - contextlib.suppress costs more in this loop
                        del sides[side][price]
                    except KeyError:
                        pass
            try:
                top = (bids.index(0)[0], asks.index(0)[0])
            except IndexError:
                top = bbo()
        return top

    def levels(n: int) -> tuple[Levels, Levels]:
        return side_levels(holder[0].bids, n), side_levels(holder[0].asks, n)

    return Replay(reset, run, bbo, levels)


CONTENDERS: tuple[Contender, ...] = (
    Contender("arbcore apply_deltas", _arbcore_batch),
    Contender("arbcore set_level", _arbcore_set_level),
    Contender("arbcore flat layout", _arbcore_flat),
    Contender("reference book", _reference),
    Contender("order-book (bmoscon)", _order_book, requires="order_book"),
    Contender("sortedcontainers", _sortedcontainers, requires="sortedcontainers"),
)


def measure(replay: Replay, repeat: int) -> float:
    """Best wall time in seconds of ``repeat`` replays, each after an untimed snapshot reload.

    A fast contender (under 50 ms a replay) first gets two untimed warm-up replays: L2Book
    adapts its window over the first replays, and steady state is what a live feed sees.
    """

    def once() -> float:
        replay.reset()
        start = time.perf_counter()
        replay.run()
        return time.perf_counter() - start

    first = once()
    if first < 0.05:
        once()
        once()
        return min(once() for _ in range(repeat))
    return min([first] + [once() for _ in range(repeat - 1)])


def _default_recording(symbol: str) -> Path | None:
    from arbcore.testing.recordings import shared_data_dir

    root = shared_data_dir()
    path = None if root is None else root / "real/binance/spot" / f"{symbol}_{RECORDING_DAY}.gz"
    return path if path is not None and path.is_file() else None


def _format_table(rows: Sequence[tuple[str, float | None, float | None, str]]) -> str:
    header = ("contender", "ns/level update", "updates/s", f"speed-up vs {BASELINE}")
    cells = [header] + [
        (
            name,
            "-" if ns is None else f"{ns:,.1f}",
            "-" if rate is None else f"{rate:,.0f}",
            ratio,
        )
        for name, ns, rate, ratio in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arbcore bench",
        description="Replay a Binance depth recording through arbcore's book and its peers.",
    )
    parser.add_argument("--symbol", choices=SYMBOLS, default="btcusdt", help="bundled recording")
    parser.add_argument("--recording", type=Path, help="an hftbacktest Binance spot .gz file")
    parser.add_argument(
        "--synthetic", type=int, metavar="N", help="use a seeded synthetic stream of N updates"
    )
    parser.add_argument("--repeat", type=int, default=3, help="replays per contender (best kept)")
    return parser


def run_bench(argv: list[str] | None = None) -> int:
    """Entry point of ``arbcore bench``; returns the process exit status."""
    args = _parser().parse_args(argv)
    notes: list[str] = []
    if args.synthetic:
        stream = synthetic_stream(args.synthetic)
    else:
        path = args.recording or _default_recording(args.symbol)
        if path is None:
            notes.append(
                f"no recording found for {args.symbol} (../shared/data or $ARBCORE_SHARED_DATA); "
                "used a 200k-update synthetic stream instead"
            )
            stream = synthetic_stream(200_000)
        else:
            stream = binance_stream(path)
    print(
        f"{stream.name}: {len(stream.messages):,} messages, {stream.level_updates:,} level "
        f"updates; best of {args.repeat} replays (snapshot load untimed)"
    )
    results: dict[str, float] = {}
    final: dict[str, Bbo] = {}
    for contender in CONTENDERS:
        if not contender.available:
            notes.append(
                f"{contender.name}: skipped, `{contender.requires}` is not installed "
                "(pip install 'arbcore[dev]')"
            )
            continue
        replay = contender.prepare(stream)
        results[contender.name] = measure(replay, max(1, args.repeat))
        final[contender.name] = replay.bbo()
    base = results.get(BASELINE)
    rows = []
    for name, seconds in results.items():
        ns = seconds * 1e9 / max(1, stream.level_updates)
        ratio = "-" if base is None else f"{base / seconds:.2f}x"
        rows.append((name, ns, 1e9 / ns if ns else None, ratio))
    print(_format_table(rows))
    for note in notes:
        print(f"note: {note}")
    if len(set(final.values())) > 1:
        print(f"error: contenders disagree on the final best bid/ask: {final}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(run_bench())
