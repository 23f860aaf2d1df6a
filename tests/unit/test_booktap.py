"""BookTap (the engine's book callback in C) against the Python callback it replaced."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.config.schema import CrossExchangeConfig
from arbcore.marketdata.market import DOLLAR_QUOTES
from arbcore.model import Instrument, Opportunity
from arbcore.strategies.cross_exchange import CrossExchangeStrategy
from arbcore.strategies.orchestrator import Orchestrator
from arbcore.strategies.triangular import TriangularScanner
from arbcore_ext.book import L2Book
from arbcore_ext.booktap import BookTap, Tally
from arbcore_ext.clocks import EventClock
from arbcore_ext.crossbook import Counts


def _instrument(venue: str, symbol: str) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument.from_text(venue=venue, native_symbol=base + quote, base=base, quote=quote,
                                tick_size="0.00001" if quote == "BTC" else "0.01",
                                lot_size="0.0001", taker_fee=0.001)  # fmt: skip


LISTED = {"a": ("BTC/USDT", "ETH/USDT", "ETH/BTC"), "b": ("BTC/USDT", "ETH/USDT")}
#: (venue, symbol, the mid's raw price): XRP/USDT is updated but not listed on "a"
MARKETS = [("a", "BTC/USDT", 5_000_000), ("a", "ETH/USDT", 300_000), ("a", "ETH/BTC", 6_000),
           ("b", "BTC/USDT", 5_000_000), ("b", "ETH/USDT", 300_000),
           ("a", "XRP/USDT", 5_000)]  # fmt: skip


class _Synced:
    synced = True


class _Sync:
    """What the cross kernel's pre-check reads: ``sync.core.synced``."""

    core = _Synced()


class _World:
    """What the callback reads of an engine, with real strategies, orchestrator and counts."""

    def __init__(self, counts: type[MutableMapping[Any, int]] = Counts) -> None:
        """``counts``: what the finds are counted in (the engine's Counts, read by the taps'
        world through an EventClock; or a dict, by the Python one through a function)."""
        self.event_clock = EventClock(1_000)
        self.clock_ns: Callable[[], int] = (self.event_clock if counts is Counts
                                            else lambda: self.event_clock.now_ns)  # fmt: skip
        self.arrival_ns: Callable[[], int] = lambda: self.now - 7
        self.instruments = {v: {s: _instrument(v, s) for s in symbols}
                            for v, symbols in LISTED.items()}  # fmt: skip
        self.books = {(v, s): L2Book(2 if s.endswith("USDT") else 5, 4) for v, s, _ in MARKETS}
        self.syncs = {v: {s: _Sync() for s in symbols} for v, symbols in LISTED.items()}
        self.orchestrator = Orchestrator(5.0, clock_ns=lambda: self.now)
        self.orchestrator.refused = counts()  # type: ignore[assignment]
        self.orchestrator._blocked = self.orchestrator.pre_check()  # (admit's, into it too)
        self.opportunities: MutableMapping[str, int] = counts()
        self.detected: MutableMapping[tuple[str, str], int] = counts()
        self.usd_cache: dict[str, float | None] = {"BTC": 1.0, "ETH": 2.0, "XRP": None}
        self.updated: dict[str, dict[str, int]] = {}
        self.found: list[tuple[Any, Any, int]] = []
        self.changed: list[tuple[str, str]] = []
        self.topics: dict[str, Any] = {}
        self.cross: CrossExchangeStrategy | None = None
        self.triangular: dict[str, TriangularScanner] = {}
        self.taps: list[BookTap] = []

    @property
    def now(self) -> int:
        return self.event_clock.now_ns

    @now.setter
    def now(self, ns: int) -> None:
        self.event_clock.now_ns = ns

    def build(self) -> None:
        """The strategies, after the callbacks (as the engine builds them)."""
        pre = self.orchestrator.pre_check
        self.cross = CrossExchangeStrategy(
            CrossExchangeConfig(min_profit_bps=1.0, slippage_bps=0.0, max_notional_usd=1e9),
            self.instruments, book_of=lambda v, s: self.books[v, s],
            balance_of=lambda v, a: 1e6, usd=lambda a: 1.0, clock_ns=self.clock_ns,
            blocked=pre(("cross_exchange", self.opportunities, self.detected)), syncs=self.syncs,
        )  # fmt: skip
        scanner = TriangularScanner(self.instruments["a"].values(), ("USDT",),
                                    clock=self.clock_ns)  # fmt: skip
        scanner.blocked = pre(("triangular", self.opportunities, self.detected))
        self.triangular["a"] = scanner
        self.bind()

    def bind(self) -> None:
        """What the engine does when what its taps call changes."""
        for tap in self.taps:
            tap.bind(self.arrival_ns, self.clock_ns, self.cross, self.triangular)

    def on_found(self, opportunity: Any, emitted: Any, arrived: int) -> None:
        self.found.append((opportunity, emitted, arrived))
        for find in [opportunity, *(emitted or ())]:
            if isinstance(find, Opportunity) and find.legs[0].size_raw:
                ticket = self.orchestrator.admit(find)  # (takes the key: its cool-off starts)
                if ticket is not None:
                    self.orchestrator.finish(ticket)

    def dollar_base(self, venue: str) -> dict[str, str]:
        listed = self.instruments[venue]
        return {s: i.base for s, i in listed.items() if i.quote in DOLLAR_QUOTES}

    def tap(self, venue: str, tally: Tally) -> Callable[[str, L2Book], None]:
        tap = BookTap(venue, tally, self.dollar_base(venue), self.instruments[venue],
                      self.updated.setdefault(venue, {}), self.usd_cache, self.topics,
                      lambda v, s: self.changed.append((v, s)), self.on_found)  # fmt: skip
        self.taps.append(tap)
        self.bind()
        return tap.on_book


def _reference(world: _World, venue: str, counts: list[int]) -> Callable[[str, L2Book], None]:
    """The engine's callback before BookTap, in Python (its find goes to ``on_found``)."""
    cache, updated = world.usd_cache, world.updated.setdefault(venue, {})
    listed = world.instruments[venue]
    dollar_base = world.dollar_base(venue)
    bound: Any = None
    touch: Any = None
    markets: dict[str, int] = {}

    def on_book(symbol: str, book: L2Book) -> None:
        nonlocal bound, touch, markets
        arrived = world.arrival_ns()
        counts[0] += 1
        updated[symbol] = now = world.clock_ns()
        base = dollar_base.get(symbol)
        if base is not None:
            cache.pop(base, None)
        cross, opportunity = world.cross, None
        if cross is not None:
            if cross is not bound:
                bound, (touch, markets) = cross, cross.touch_of(venue)
            crossing = touch.touch(markets, symbol, book, now)
            if crossing is None:
                opportunity = cross.on_book(venue, symbol, book, now)
            elif crossing:
                opportunity = cross.crossed(venue, symbol, book, crossing)
        scanner = world.triangular.get(venue)
        emitted = scanner.on_book(symbol, book, now) if scanner is not None \
            and symbol in listed else None  # fmt: skip
        if emitted or opportunity is not None:
            world.on_found(opportunity, emitted, arrived)
        if "market-data" in world.topics:
            world.changed.append((venue, symbol))

    return on_book


#: per step: which market, its mid's move (ticks), spread (ticks), ns since the last step, and
#: whether market-data has a listener
STEP = st.tuples(st.integers(0, len(MARKETS) - 1), st.integers(-40, 40), st.integers(1, 4),
                 st.integers(0, 4_000_000), st.booleans())  # fmt: skip


def _state(world: _World, count: int) -> tuple[Any, ...]:
    orchestrator = world.orchestrator
    counted = (world.opportunities, world.detected, orchestrator.refused)
    return (count, world.found, world.changed, world.updated, world.usd_cache,
            [list(c.items()) for c in counted], orchestrator.offered,
            world.cross.checked if world.cross else None)  # fmt: skip


def _assert_stamps_are_the_table(world: _World) -> None:
    """The cross kernel's and the cycle engine's book times (what the compiled decisions read
    the books' ages from) are the engine's table's, for every market, updates from before the
    kernel or the scanner was bound included."""
    if world.cross is None:
        return
    for venue in LISTED:
        kernel, ids = world.cross.touch_of(venue)
        for symbol, market in ids.items():
            assert kernel.stamped(market) == world.updated[venue].get(symbol), (venue, symbol)
    for venue, scanner in world.triangular.items():
        for symbol in scanner.symbols:
            assert scanner.stamped(symbol) == world.updated[venue].get(symbol), symbol


def _replay(steps: list[tuple[int, int, int, int, bool]], built_after: int) -> _World:
    """The steps through a tapped world and a Python one, their states compared after each;
    the tapped world."""
    tapped, python = _World(), _World(Counter)  # (the Python one counts in dicts)
    tally, counts = Tally(), [0]
    taps = {venue: tapped.tap(venue, tally) for venue in LISTED}
    references = {venue: _reference(python, venue, counts) for venue in LISTED}
    offsets = dict.fromkeys(range(len(MARKETS)), 0)
    for i, (index, move, spread, elapsed, listened) in enumerate(steps):
        if i == built_after:
            tapped.build()
            python.build()
        venue, symbol, mid = MARKETS[index]
        offsets[index] += move
        top = mid + offsets[index] + (40 if venue == "b" and i % 7 == 0 else 0)
        for world, callback in ((tapped, taps[venue]), (python, references[venue])):
            world.now += elapsed
            world.topics.clear()
            if listened:
                world.topics["market-data"] = object()
            book = world.books[venue, symbol]
            book.clear()
            book.set_level(0, top - spread, 10_000)
            book.set_level(1, top + spread, 10_000)
            callback(symbol, book)
        assert _state(tapped, tally.book_updates) == _state(python, counts[0])
        _assert_stamps_are_the_table(tapped)
    return tapped


@given(st.lists(STEP, min_size=1, max_size=80), st.integers(0, 6))
def test_the_tap_does_what_the_python_callback_did(steps: list[tuple[int, int, int, int, bool]],
                                                   built_after: int) -> None:  # fmt: skip
    """Random tops on two venues (a cross route and a triangle), the strategies built after
    ``built_after`` updates, cool-offs taken by the finds: every find, count, book time, cache
    entry and listener call is the Python callback's."""
    _replay(steps, built_after)


def test_a_long_stream_finds_and_refuses_as_the_python_callback_did() -> None:
    """A fixed stream that crosses both ways, opens cycles and hits cool-offs."""
    rng = random.Random(11)
    steps = [(rng.randrange(len(MARKETS)), rng.randrange(-30, 31), rng.randrange(1, 4),
              rng.randrange(0, 3_000_000), rng.random() < 0.2) for _ in range(3_000)]  # fmt: skip
    tapped = _replay(steps, 3)
    finds = [o for o, _, _ in tapped.found if o is not None]
    cycles = [e for _, e, _ in tapped.found if e]
    assert len(finds) > 10
    assert len(cycles) > 10
    assert tapped.orchestrator.refused["cool_off"] > 10


def test_the_tap_counts_reads_the_clocks_in_c_and_forgets_the_dollar_price() -> None:
    world = _World()
    world.clock_ns, world.arrival_ns = time.time_ns, time.perf_counter_ns
    tally = Tally(5)
    on_book = world.tap("a", tally)
    before = time.time_ns()
    on_book("BTC/USDT", world.books["a", "BTC/USDT"])
    on_book("ETH/BTC", world.books["a", "ETH/BTC"])  # (not a dollar market: ETH stays)
    assert tally.book_updates == 7
    assert before <= world.updated["a"]["BTC/USDT"] <= world.updated["a"]["ETH/BTC"]
    assert world.updated["a"]["ETH/BTC"] <= time.time_ns()
    assert world.usd_cache == {"ETH": 2.0, "XRP": None}
    world.build()
    book = world.books["a", "BTC/USDT"]
    book.set_level(0, 4_999_000, 10_000)
    book.set_level(1, 5_001_000, 10_000)
    on_book("BTC/USDT", book)  # the cross kernel still lacks touches: the strategy reads them
    assert world.found == []
    assert tally.book_updates == 8
    assert world.cross is not None
    assert world.cross.checked == 2  # (b's books are empty: both routes tested, none crosses)


def test_a_tap_calls_what_it_was_bound_to() -> None:
    """Nothing is read from the owner behind its back: an unbound tap refuses to run, and a
    clock changed and bound again is the one read."""
    world = _World()
    tap = BookTap("a", Tally(), {}, {}, {}, {}, {}, lambda v, s: None, world.on_found)
    book = world.books["a", "BTC/USDT"]
    with pytest.raises(RuntimeError, match="bind"):
        tap.on_book("BTC/USDT", book)
    updated: dict[str, int] = {}
    tap = BookTap("a", Tally(), {}, {}, updated, {}, {}, lambda v, s: None, world.on_found)
    tap.bind(world.arrival_ns, EventClock(5), None, {})
    tap.on_book("BTC/USDT", book)
    assert updated == {"BTC/USDT": 5}
    tap.bind(world.arrival_ns, EventClock(9), None, {})
    tap.on_book("BTC/USDT", book)
    assert updated == {"BTC/USDT": 9}


def test_seconds_are_the_clock_it_holds_now() -> None:
    """Risk's clock: ``clock() / 1e9``, whichever clock it holds now (an EventClock read in C,
    a Python function called)."""
    from arbcore_ext.clocks import Seconds

    seconds = Seconds(EventClock(1_700_000_000_123_456_789))
    assert seconds() == 1_700_000_000_123_456_789 / 1e9
    seconds.clock = lambda: 1_234_567_891
    assert seconds() == 1_234_567_891 / 1e9
    seconds.clock = time.time_ns
    before = time.time_ns() / 1e9
    assert before <= seconds() <= time.time_ns() / 1e9
