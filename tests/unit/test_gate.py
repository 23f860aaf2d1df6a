"""The orchestrator's compiled pre-check (arbcore_ext.crossbook Gate/Check, CrossBook.attach,
CycleEngine.attach) against the plain-Python pre-check it replaced."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.config.schema import CrossExchangeConfig
from arbcore.strategies.cross_exchange import CrossExchangeStrategy
from arbcore.strategies.orchestrator import Orchestrator
from arbcore_ext.book import L2Book
from arbcore_ext.crossbook import Check, CrossBook, Gate
from arbcore_ext.cycles import CycleEngine
from tests.unit.test_cross_exchange import CHEAP, DEAR, _instrument
from tests.unit.test_crossbook import _book, _world

Market = tuple[str, str]
Key = tuple[str, str, str]
KEYS: list[Key] = [("k", f"v{i}", f"legs{i}") for i in range(4)]
MARKETS: list[Market] = [(f"v{i}", "BTC/USDT") for i in range(4)]
COOL_OFF_NS = 100


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class Reference:
    """The orchestrator's pre-check as it was in Python (a dict, a set, a closure)."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.offered = clock, 0
        self.refused: defaultdict[str, int] = defaultdict(int)
        self.last_taken: dict[Key, int] = {}
        self.busy: set[Market] = set()
        self.found: Counter[str] = Counter()
        self.detected: defaultdict[tuple[str, str], int] = defaultdict(int)

    def blocked(self, key: Key, markets: Iterable[Market]) -> bool:
        last = self.last_taken.get(key)
        if last is not None and self.clock() - last < COOL_OFF_NS:
            reason = "cool_off"
        elif self.busy and not self.busy.isdisjoint(markets):
            reason = "liquidity_in_use"
        else:
            return False
        self.offered += 1
        self.refused[reason] += 1
        self.found["k"] += 1
        self.detected["k", key[1]] += 1
        return True


class Compiled:
    """The same through a Gate and a Check."""

    def __init__(self, clock: Clock) -> None:
        self.gate = Gate(COOL_OFF_NS, clock)
        self.refused: defaultdict[str, int] = defaultdict(int)
        self.last_taken, self.busy = self.gate.taken, self.gate.busy
        self.found: Counter[str] = Counter()
        self.detected: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.blocked = Check(self.gate, self.refused, "k", self.found, self.detected)


def _same(reference: Reference, compiled: Compiled) -> None:
    assert compiled.gate.offered == reference.offered
    assert compiled.refused == reference.refused
    assert compiled.found == reference.found
    assert compiled.detected == reference.detected
    assert dict((key, compiled.last_taken[key]) for key in compiled.last_taken) == \
        reference.last_taken  # fmt: skip
    assert set(compiled.busy) == reference.busy
    assert bool(compiled.busy) == bool(reference.busy)
    assert len(compiled.busy) == len(reference.busy)


markets = st.lists(st.sampled_from(MARKETS), max_size=3).map(lambda m: tuple(sorted(set(m))))
steps = st.lists(st.one_of(
    st.tuples(st.just("take"), st.integers(0, 3), st.integers(0, 50)),
    st.tuples(st.just("busy"), markets),
    st.tuples(st.just("free"), markets),
    st.tuples(st.just("check"), st.integers(0, 3), markets, st.integers(0, 150)),
), max_size=30)  # fmt: skip


@given(steps=steps)
def test_the_compiled_check_refuses_and_counts_as_the_python_pre_check(
    steps: list[tuple[Any, ...]],
) -> None:
    clock = Clock()
    reference, compiled = Reference(clock), Compiled(clock)
    for step in steps:
        if step[0] == "take":  # what admit writes
            clock.now += step[2]
            for side in (reference, compiled):
                side.last_taken[KEYS[step[1]]] = clock.now
        elif step[0] == "busy":
            reference.busy.update(step[1])
            compiled.busy.update(step[1])
        elif step[0] == "free":  # what finish writes
            reference.busy.difference_update(step[1])
            compiled.busy.difference_update(step[1])
        else:
            clock.now += step[3]
            key, held = KEYS[step[1]], step[2]
            assert compiled.blocked(key, held) == reference.blocked(key, held)
            assert compiled.busy.isdisjoint(held) == reference.busy.isdisjoint(held)
        _same(reference, compiled)


def test_the_views_behave_as_the_dict_and_set_they_replace() -> None:
    gate = Gate(COOL_OFF_NS, Clock())
    taken, busy = gate.taken, gate.busy
    assert taken.get(KEYS[0]) is None
    assert KEYS[0] not in taken
    assert len(taken) == 0
    with pytest.raises(KeyError):
        taken[KEYS[0]]
    taken[KEYS[0]] = 7
    assert taken[KEYS[0]] == 7
    assert taken.get(KEYS[0]) == 7
    assert list(taken) == [KEYS[0]]
    del taken[KEYS[0]]
    assert KEYS[0] not in taken
    assert len(taken) == 0
    assert not busy
    busy.update([MARKETS[0], MARKETS[1], MARKETS[0]])
    assert len(busy) == 2
    assert MARKETS[1] in busy
    assert MARKETS[2] not in busy
    busy.difference_update([MARKETS[0], MARKETS[3]])
    assert list(busy) == [MARKETS[1]]
    assert gate.refusal(KEYS[1], [MARKETS[1]]) == "liquidity_in_use"
    assert gate.refusal(KEYS[1], [MARKETS[0]]) is None
    with pytest.raises(TypeError):
        Gate(COOL_OFF_NS, None)  # type: ignore[arg-type]


# -- the touch test with its routes pre-checked in C -------------------------------------------


class Sync:
    """What ``book_of`` reads: ``sync.core.synced``."""

    def __init__(self, synced: bool) -> None:
        self.core = self
        self.synced = synced


tops = st.tuples(st.integers(9_950, 10_050), st.integers(9_950, 10_050))


@given(
    n=st.integers(2, 4),
    always=st.lists(st.booleans(), min_size=1, max_size=3),
    tops=st.lists(tops, min_size=4, max_size=4),
    synced=st.lists(st.booleans(), min_size=4, max_size=4),
    taken=st.lists(st.one_of(st.none(), st.integers(0, 200)), min_size=12, max_size=12),
    busy=st.lists(st.integers(0, 3), max_size=2),
    now=st.one_of(st.none(), st.just(150)),
)
def test_an_attached_touch_test_drops_what_the_strategys_loop_would_drop(
    n: int, always: list[bool], tops: list[tuple[int, int]], synced: list[bool],
    taken: list[int | None], busy: list[int], now: int | None,
) -> None:  # fmt: skip
    routes, by_market = _world(n, [0.0] * n, [2] * n, always)
    names = [(f"v{m}", "BTC/USDT") for m in range(n)]
    keys = [None if spec[5] else ("k", f"{spec[0]}->{spec[1]}", f"legs{r}")
            for r, spec in enumerate(routes)]  # fmt: skip
    syncs: dict[str, Any] = {
        venue: {symbol: Sync(synced[m])} for m, (venue, symbol) in enumerate(names)
    }
    clock = Clock()
    clock.now = 150
    reference, compiled = Reference(clock), Compiled(clock)
    for r, key in enumerate(keys):
        at = taken[r]
        if key is not None and at is not None:
            reference.last_taken[key] = compiled.last_taken[key] = at
    for side in (reference, compiled):
        side.busy.update(names[m] for m in busy if m < n)
    plain, attached = CrossBook(n, routes, by_market, 0.0), CrossBook(n, routes, by_market, 0.0)
    attached.attach(compiled.blocked, keys, names, syncs)
    for market in range(n):
        for kernel in (plain, attached):
            kernel.set_top(market, *tops[market])
    for market in range(n):
        expected = []
        for r in plain.crossing(market):  # the strategy's loop over the plain kernel's routes
            buy, sell = routes[r][:2]
            other = sell if buy == market else buy
            if keys[r] is not None:
                if not synced[other]:
                    continue
                markets = tuple(sorted({names[buy], names[sell]}))
                if reference.blocked(keys[r], markets):  # type: ignore[arg-type]
                    continue
            expected.append(r)
        assert attached.crossing(market, now) == tuple(expected)
        _same(reference, compiled)
    assert attached.checked == plain.checked


def test_attach_refuses_tables_that_do_not_fit() -> None:
    routes, by_market = _world(2, [0.0, 0.0], [2, 2], [False])
    kernel = CrossBook(2, routes, by_market, 0.0)
    check = Compiled(Clock()).blocked
    with pytest.raises(ValueError, match="keys"):
        kernel.attach(check, [None], [("a", "X/Y"), ("b", "X/Y")], {})
    kernel.attach(check, [None, None], [("a", "X/Y"), ("b", "X/Y")], {})
    assert kernel.update(0, _book(9_990, 10_000)) == ()


def test_touch_answers_as_update_once_every_touch_is_known() -> None:
    routes, by_market = _world(3, [0.0] * 3, [2] * 3, [False])
    plain, fast = CrossBook(3, routes, by_market, 0.0), CrossBook(3, routes, by_market, 0.0)
    markets = {"A": 0, "B": 1}  # one venue's symbols -> market ids (2 is another venue's)
    book = _book(10_010, 10_020)
    assert fast.touch(markets, "A", book) is None  # a touch unknown: nothing read
    assert fast.n_known == 0
    for kernel in (plain, fast):
        kernel.set_top(0, 10_000, 10_010)
        kernel.set_top(1, 10_100, 10_200)  # bids 101.00 over market 0's asks: crosses
        kernel.load(2, book)
    assert fast.n_known == 3
    assert fast.touch(markets, "C", book) == ()  # not a compared market
    crossing = fast.touch(markets, "A", book)
    assert crossing
    assert crossing == plain.update(0, book)
    assert fast.checked == plain.checked
    fast.forget(1)
    assert fast.n_known == 2
    assert fast.touch(markets, "A", book) is None


# -- the cycle engine with its cycles pre-checked in C -------------------------------------------


def _engine() -> CycleEngine:
    return CycleEngine(["BTC/USDT", "ETH/BTC", "ETH/USDT"], ["BTC", "ETH", "ETH"],
                       ["USDT", "BTC", "USDT"], taker_fees=0.0)  # fmt: skip


def _cycle_key(engine: CycleEngine, cycle: int) -> tuple[Key, tuple[Market, ...]]:
    legs = [(engine.symbols[market], direction) for market, direction in engine.cycle(cycle)]
    markets = tuple(sorted({("v", symbol) for symbol, _ in legs}))
    return ("k", "v", " ".join(f"{s}:{d}" for s, d in legs)), markets


def _top(bid: int, ask: int) -> L2Book:
    return _book(bid, ask)


@pytest.mark.parametrize("taken_at", [None, 0, 120])
@pytest.mark.parametrize("busy", [False, True])
def test_an_attached_cycle_engine_emits_what_emit_asking_blocked_would_keep(
    taken_at: int | None, busy: bool
) -> None:
    clock = Clock()
    clock.now = 150
    reference, compiled = Reference(clock), Compiled(clock)
    plain, attached = _engine(), _engine()
    attached.attach(compiled.blocked, lambda cycle: _cycle_key(attached, cycle))
    if taken_at is not None:  # every cycle was taken then (120: still cooling off at 150)
        for cycle in range(plain.cycle_count):
            key = _cycle_key(plain, cycle)[0]
            reference.last_taken[key] = compiled.last_taken[key] = taken_at
    if busy:
        reference.busy.add(("v", "ETH/BTC"))
        compiled.busy.add(("v", "ETH/BTC"))
    # BTC 100, ETH 10 USDT and 0.09 BTC: USDT -> BTC -> ETH -> USDT pays 11 %
    books = {"BTC/USDT": _top(9_999, 10_000), "ETH/BTC": _top(8, 9),
             "ETH/USDT": _top(1_000, 1_001)}  # fmt: skip
    opened = 0
    for symbol, book in books.items():
        emitted = plain.on_book(symbol, book)
        opened += len(emitted)
        kept = tuple(c for c in emitted if not reference.blocked(*_cycle_key(plain, c)))  # type: ignore[arg-type]
        assert attached.on_book(symbol, book, None if busy else 150) == kept
        assert tuple(attached.changed()) == kept
        _same(reference, compiled)
    assert opened == 1
    assert (compiled.gate.offered == 1) == (busy or taken_at == 120)
    attached.attach(None)  # detached: emits as the plain engine does
    assert attached.on_book("ETH/BTC", _top(8, 10)) == plain.on_book("ETH/BTC", _top(8, 10))
    with pytest.raises(TypeError, match="key_of"):
        attached.attach(compiled.blocked)


# -- the strategy: pre-checked in its kernel or in its Python loop, the same answers ------------


def _orchestrated(
    gated: bool, synced: dict[str, Sync]
) -> tuple[CrossExchangeStrategy, Orchestrator]:
    books = {"cheap": CHEAP, "dear": DEAR}
    clock = Clock()
    orchestrator = Orchestrator(1.0, clock_ns=clock)
    found: Counter[str] = Counter()
    detected: defaultdict[tuple[str, str], int] = defaultdict(int)
    strategy = CrossExchangeStrategy(
        CrossExchangeConfig(min_profit_bps=1.0, slippage_bps=0.0, max_notional_usd=1e9),
        {venue: {"BTC/USDT": _instrument(venue)} for venue in books},
        book_of=lambda venue, symbol: books[venue] if synced[venue].synced else None,
        balance_of=lambda venue, asset: 10.0, usd=lambda asset: 1.0, clock_ns=clock,
        blocked=orchestrator.pre_check(("cross_exchange", found, detected)),
        syncs={venue: {"BTC/USDT": sync} for venue, sync in synced.items()} if gated else None,
    )  # fmt: skip
    return strategy, orchestrator


def test_a_gated_strategy_answers_and_counts_as_its_python_loop() -> None:
    synced = {"cheap": Sync(True), "dear": Sync(True)}
    (loop, by_loop), (gated, by_kernel) = (_orchestrated(False, synced),
                                           _orchestrated(True, synced))  # fmt: skip
    touch, markets = gated.touch_of("cheap")
    for step in range(4):  # taken, then cooling off; then the other book out of sync
        synced["dear"].synced = step < 3
        expected = loop.on_book("cheap", "BTC/USDT", CHEAP)
        crossing = touch.touch(markets, "BTC/USDT", CHEAP)
        found = gated.on_book("cheap", "BTC/USDT", CHEAP) if crossing is None else (
            gated.crossed("cheap", "BTC/USDT", CHEAP, crossing) if crossing else None)  # fmt: skip
        assert (found is None) == (expected is None) == (step > 0)
        if expected is not None and found is not None:
            assert found.legs == expected.legs
            assert by_loop.admit(expected) is not None
            assert by_kernel.admit(found) is not None
        assert (by_kernel.offered, dict(by_kernel.refused)) == (by_loop.offered,
                                                                dict(by_loop.refused))  # fmt: skip
    assert by_loop.refused == {"cool_off": 2}
