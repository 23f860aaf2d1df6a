"""The cycle engine against its twin, against a brute-force enumeration and against brute-force
sizing in exact rationals.

Rates must agree bit for bit (the contract fixes the float operations and their order); sizes
within 1e-9, since the compiled walk is in floats and the twin's in rationals.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from arbcore.testing.cycles import ENGINE_KINDS, build_engine, make_book
from arbcore_ext.cycles import BUY, SELL

Pair = tuple[str, str]
Legs = tuple[tuple[int, int], ...]
Top = tuple[float, float]

POOL = ("USDT", "BTC", "ETH", "BNB", "SOL", "XRP", "ADA")
FEES = st.sampled_from([0.0, 0.0005, 0.001, 0.002])


# --- random markets and tops ------------------------------------------------------------------
@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Pair], dict[str, Any]]:
    """4-7 assets, a random subset of their pairs in random order and orientation, options."""
    assets = POOL[: draw(st.integers(4, 7))]
    chosen = draw(
        st.lists(st.sampled_from(list(itertools.combinations(assets, 2))), min_size=3, unique=True)
    )
    pairs = [(a, b) if draw(st.booleans()) else (b, a) for a, b in chosen]
    traded = {asset for pair in pairs for asset in pair}
    candidates = [asset for asset in ("USDT", "BTC") if asset in traded]
    assume(candidates)
    starts = draw(st.permutations(candidates))[: draw(st.integers(1, len(candidates)))]
    options = {
        "start_assets": tuple(starts),
        "max_legs": draw(st.sampled_from([3, 4])),
        "taker_fees": draw(
            st.one_of(FEES, st.lists(FEES, min_size=len(pairs), max_size=len(pairs)))
        ),
        "slippage_bps": draw(st.sampled_from([0.0, 2.5])),
        "min_profit_bps": draw(st.sampled_from([0.0, 5.0, 30.0])),
    }
    return pairs, options


@st.composite
def tops(draw: st.DrawFn, pairs: Sequence[Pair]) -> list[tuple[int, Top]]:
    """A sequence of set_top calls near consistent prices, so some cycles are profitable."""
    fair = {asset: draw(st.integers(1, 100_000)) / 100 for asset in POOL}
    updates = []
    for _ in range(draw(st.integers(1, 25))):
        market = draw(st.integers(0, len(pairs) - 1))
        base, quote = pairs[market]
        bid = fair[base] / fair[quote] * (1 + draw(st.integers(-150, 150)) / 1e4)
        ask = bid * (1 + draw(st.integers(0, 20)) / 1e4)
        missing = draw(st.sampled_from([None, None, None, "bid", "ask"]))
        if missing == "bid":
            bid = draw(st.sampled_from([math.nan, 0.0]))
        elif missing == "ask":
            ask = draw(st.sampled_from([math.nan, 0.0]))
        updates.append((market, (bid, ask)))
    return updates


def enumerated(pairs: Sequence[Pair], starts: Sequence[str], max_legs: int) -> list[Legs]:
    """Every cycle by brute force over asset sequences and parallel markets, in the documented
    order: by length, then start asset, then the market ids leg by leg (what depth-first over
    edges in ascending market id produces)."""
    assets = {asset for pair in pairs for asset in pair}
    found = []
    for length in range(3, max_legs + 1):
        for rank, start in enumerate(starts):
            others = sorted(assets - set(starts[: rank + 1]))
            for middle in itertools.permutations(others, length - 1):
                path = (start, *middle, start)
                hops = [
                    [(m, BUY if quote == x else SELL) for m, (base, quote) in enumerate(pairs)
                     if {base, quote} == {x, y}]
                    for x, y in itertools.pairwise(path)
                ]  # fmt: skip
                for legs in itertools.product(*hops):
                    found.append((length, rank, tuple(m for m, _ in legs), legs))
    return [legs for *_, legs in sorted(found)]


def canonical(legs: Legs) -> Legs:
    """One key per directed cycle, whichever asset it is listed from."""
    return min(legs[i:] + legs[:i] for i in range(len(legs)))


@given(graph=graphs())
def test_cycles_enumeration_matches_brute_force_and_twin(
    graph: tuple[list[Pair], dict[str, Any]],
) -> None:
    pairs, options = graph
    compiled = build_engine("compiled", pairs, **options)
    twin = build_engine("twin", pairs, **options)
    expected = enumerated(pairs, options["start_assets"], options["max_legs"])
    for engine in (compiled, twin):
        assert [engine.cycle(c) for c in range(engine.cycle_count)] == expected
    assert len({canonical(legs) for legs in expected}) == len(expected)  # no rotation twice
    assert compiled.assets == twin.assets
    assert compiled.symbols == twin.symbols
    for c in range(twin.cycle_count):
        assert compiled.cycle_assets(c) == twin.cycle_assets(c)
    for m in range(len(pairs)):
        of_market = [c for c, legs in enumerate(expected) if any(mk == m for mk, _ in legs)]
        assert compiled.cycles_of_market(m).tolist() == of_market
        assert twin.cycles_of_market(m).tolist() == of_market


@given(data=st.data(), graph=graphs())
def test_cycles_incremental_rates_match_twin_and_a_full_rescan(
    data: st.DataObject, graph: tuple[list[Pair], dict[str, Any]]
) -> None:
    pairs, options = graph
    updates = data.draw(tops(pairs))
    compiled = build_engine("compiled", pairs, **options)
    twin = build_engine("twin", pairs, **options)
    final: dict[int, Top] = {}
    for market, (bid, ask) in updates:
        before = twin.rates()
        count = compiled.set_top(market, bid, ask)
        assert twin.set_top(market, bid, ask) == count
        after = twin.rates()
        assert np.array_equal(compiled.rates(), after)  # bit for bit
        moved = [c for c in twin.cycles_of_market(market).tolist()
                 if after[c] != before[c] and after[c] > twin.threshold]  # fmt: skip
        assert compiled.changed().tolist() == moved
        assert twin.changed().tolist() == moved
        assert count == len(moved)
        final[market] = (bid, ask)
    fresh = build_engine("twin", pairs, **options)
    for market, (bid, ask) in final.items():
        fresh.set_top(market, bid, ask)
    scan = fresh.scan()
    assert np.array_equal(twin.rates(), fresh.rates())
    assert compiled.scan().tolist() == scan.tolist() == twin.scan().tolist()
    rates = fresh.rates()
    assert scan.tolist() == sorted(
        (c for c in range(fresh.cycle_count) if rates[c] > fresh.threshold),
        key=lambda c: (-rates[c], c),
    )


# --- sizing over depth ------------------------------------------------------------------------
# One triangle: USDT -> BTC -> ETH -> USDT is cycle 0, its reverse cycle 1. Mids near 100 USDT,
# 10 USDT and 0.1 BTC, 3% apart at most, so about half the draws leave something to take.
DEPTH_PAIRS = [("BTC", "USDT"), ("ETH", "USDT"), ("ETH", "BTC")]
PRICE_DECIMALS = (2, 3, 5)  # every mid is near 10_000 raw
Levels = list[tuple[int, int]]
LOTS = st.sampled_from([0, 1, 2, 5, 10])  # in raw size units of the market's book
# no fees half the time: amounts then land exactly on level boundaries, where float dust shows
LEG_FEES = st.one_of(st.just([0.0, 0.0, 0.0]), st.lists(FEES, min_size=3, max_size=3))


@st.composite
def depth_books(draw: st.DrawFn) -> list[tuple[Levels, Levels, int]]:
    """Per market (bids, asks, size_decimals): 2-6 levels a side around a random mid."""
    books = []
    for _ in DEPTH_PAIRS:
        mid = draw(st.integers(9_700, 10_300))
        sides = []
        for sign in (-1, 1):
            gaps = draw(st.lists(st.integers(1, 15), min_size=2, max_size=6))
            sizes = draw(st.lists(st.integers(1, 60), min_size=len(gaps), max_size=len(gaps)))
            prices = [mid + sign * sum(gaps[: i + 1]) for i in range(len(gaps))]
            sides.append(list(zip(prices, sizes, strict=True)))
        books.append((sides[0], sides[1], draw(st.integers(0, 3))))
    return books


def depth_engine(kind: str, books: list[tuple[Levels, Levels, int]], **options: Any) -> Any:
    engine = build_engine(kind, DEPTH_PAIRS, **options)
    for (base, quote), (bids, asks, size_decimals), price_decimals in zip(
        DEPTH_PAIRS, books, PRICE_DECIMALS, strict=True
    ):
        engine.on_book(f"{base}/{quote}", make_book(bids, asks, price_decimals, size_decimals))
    return engine


Segments = list[tuple[Fraction, Fraction]]  # (input the level takes, output per input)


def segments(
    books: list[tuple[Levels, Levels, int]], legs: Legs, fees: Sequence[float]
) -> list[Segments]:
    """Each leg as its levels in exact rationals, in the leg's input units."""
    result = []
    for market, direction in legs:
        bids, asks, size_decimals = books[market]
        keep = Fraction(1.0 - fees[market])
        leg = []
        for raw_price, raw_size in asks if direction == BUY else bids:
            price = Fraction(raw_price, 10 ** PRICE_DECIMALS[market])
            size = Fraction(raw_size, 10**size_decimals)
            leg.append((size * price, keep / price) if direction == BUY else (size, price * keep))
        result.append(leg)
    return result


def forward(leg: Segments, amount: Fraction) -> Fraction | None:
    """What a leg hands on for ``amount`` (None: the book is too thin)."""
    out = Fraction(0)
    for capacity, rate in leg:
        take = min(capacity, amount)
        out += take * rate
        amount -= take
    return None if amount > 0 else out


def backward(leg: Segments, out: Fraction) -> Fraction | None:
    """The input a leg needs to hand on ``out`` (None: the book is too thin)."""
    amount = Fraction(0)
    for capacity, rate in leg:
        take = min(capacity * rate, out)
        amount += take / rate
        out -= take
    return None if out > 0 else amount


def best_continuous_profit(legs: list[Segments], max_start: float) -> Fraction:
    """max of end(x) - x over every breakpoint mapped back to a start amount, and a grid."""
    starts = {Fraction(0)}
    for i, leg in enumerate(legs):
        boundary = Fraction(0)
        for capacity, _ in leg:
            boundary += capacity
            x: Fraction | None = boundary
            for earlier in reversed(legs[:i]):
                x = backward(earlier, x) if x is not None else None
            if x is not None:
                starts.add(x)
    if not math.isinf(max_start):
        starts.add(Fraction(max_start))
    top = min(max(starts), Fraction(max_start)) if not math.isinf(max_start) else max(starts)
    starts.update(top * k / 64 for k in range(65))
    best = Fraction(0)
    for x in starts:
        amount: Fraction | None = x
        for leg in legs:
            amount = forward(leg, amount) if amount is not None else None
        if x <= max_start and amount is not None:
            best = max(best, amount - x)
    return best


@given(
    books=depth_books(),
    fees=LEG_FEES,
    cycle=st.sampled_from([0, 1]),
    max_start=st.one_of(st.just(math.inf), st.integers(1, 20_000).map(lambda v: v / 100)),
)
@pytest.mark.parametrize("kind", ENGINE_KINDS)
def test_size_continuous_equals_brute_force_maximum(
    kind: str,
    books: list[tuple[Levels, Levels, int]],
    fees: list[float],
    cycle: int,
    max_start: float,
) -> None:
    engine = depth_engine(kind, books, taker_fees=fees)
    sized = engine.size(cycle, max_start)
    best = best_continuous_profit(segments(books, engine.cycle(cycle), fees), max_start)
    # concave and piecewise linear: the best start is a breakpoint, which the candidates hold
    assert sized.profit == pytest.approx(float(best), rel=1e-9, abs=1e-9 * sized.start_amount)
    assert sized.start_amount <= max_start * (1 + 1e-12)


def lots_of(books: list[tuple[Levels, Levels, int]], units: Sequence[int]) -> list[float]:
    return [unit / 10**decimals for unit, (_, _, decimals) in zip(units, books, strict=True)]


@given(
    books=depth_books(),
    fees=LEG_FEES,
    units=st.lists(LOTS, min_size=3, max_size=3),
    cycle=st.sampled_from([0, 1]),
    max_start=st.one_of(st.just(math.inf), st.integers(1, 20_000).map(lambda v: v / 100)),
    min_qty=st.one_of(st.none(), st.sampled_from([0.001, 0.05, 0.3])),
    min_notional=st.one_of(st.none(), st.sampled_from([0.01, 1.0, 5.0])),
    slippage=st.sampled_from([0.0, 5.0]),
)
@example(  # 0.4 ETH in 0.2 lots fills 0.1 + 0.3 exactly; float dust must not reach 0.09703
    books=[([(9699, 1), (9698, 1)], [(9701, 1), (9702, 1)], 0),
           ([(9699, 1), (9698, 1)], [(9701, 1), (9702, 1)], 0),
           ([(9699, 1), (9698, 1)], [(9701, 1), (9702, 3), (9703, 1)], 1)],
    fees=[0.0, 0.0, 0.0], units=[0, 0, 2], cycle=0, max_start=math.inf,
    min_qty=None, min_notional=None, slippage=0.0,
)  # fmt: skip
def test_size_compiled_matches_twin(
    books: list[tuple[Levels, Levels, int]],
    fees: list[float],
    units: list[int],
    cycle: int,
    max_start: float,
    min_qty: float | None,
    min_notional: float | None,
    slippage: float,
) -> None:
    options = {
        "taker_fees": fees,
        "lots": lots_of(books, units),
        "min_qty": min_qty,
        "min_notional": min_notional,
        "slippage_bps": slippage,
    }
    compiled = depth_engine("compiled", books, **options).size(cycle, max_start)
    twin = depth_engine("twin", books, **options).size(cycle, max_start)
    assert bool(compiled) == bool(twin)
    scale = 1e-9 * max(1.0, twin.start_amount)
    assert compiled.start_amount == pytest.approx(twin.start_amount, rel=1e-9, abs=scale)
    assert compiled.end_amount == pytest.approx(twin.end_amount, rel=1e-9, abs=scale)
    assert compiled.profit == pytest.approx(twin.profit, rel=1e-9, abs=scale)
    assert len(compiled.legs) == len(twin.legs)
    for ours, theirs in zip(compiled.legs, twin.legs, strict=True):
        assert (ours.market, ours.direction, ours.levels, ours.limit_price) == (
            theirs.market, theirs.direction, theirs.levels, theirs.limit_price
        )  # fmt: skip
        assert ours.qty == pytest.approx(theirs.qty, rel=1e-9)
        assert ours.price == pytest.approx(theirs.price, rel=1e-9)


def simulate(
    books: list[tuple[Levels, Levels, int]],
    legs: Legs,
    fees: Sequence[float],
    lots: Sequence[float],
    first_qty: Fraction,
) -> Fraction | None:
    """Profit of buying exactly ``first_qty`` on leg 0 and trading the rest as the contract
    does (each later leg's base rounded down to its lot); None when a book is too thin."""
    amount = Fraction(0)
    spent = Fraction(0)
    for i, (market, direction) in enumerate(legs):
        bids, asks, size_decimals = books[market]
        levels = [(Fraction(p, 10 ** PRICE_DECIMALS[market]), Fraction(q, 10**size_decimals))
                  for p, q in (asks if direction == BUY else bids)]  # fmt: skip
        if i == 0:
            qty = first_qty
        else:
            qty, left = Fraction(0), amount  # the base this leg's input is worth
            for price, size in levels:
                take = min(left, size * price if direction == BUY else size)
                qty += take / price if direction == BUY else take
                left -= take
            qty = math.floor(float(qty) / lots[market] + 1e-9) * Fraction(lots[market])
        notional, left = Fraction(0), qty
        for price, size in levels:
            take = min(left, size)
            notional += take * price
            left -= take
        if left > 0:
            return None
        keep = Fraction(1.0 - fees[market])
        amount = qty * keep if direction == BUY else notional * keep
        spent = notional if i == 0 else spent
    return amount - spent


@given(
    books=depth_books(),
    fees=LEG_FEES,
    units=st.lists(LOTS.filter(bool), min_size=3, max_size=3),
    cycle=st.sampled_from([0, 1]),
)
@pytest.mark.parametrize("kind", ENGINE_KINDS)
def test_size_with_lots_within_a_lot_of_brute_force(
    kind: str,
    books: list[tuple[Levels, Levels, int]],
    fees: list[float],
    units: list[int],
    cycle: int,
) -> None:
    lots = lots_of(books, units)
    engine = depth_engine(kind, books, taker_fees=fees, lots=lots)
    sized = engine.size(cycle)
    legs = engine.cycle(cycle)
    assert legs[0][1] == BUY  # both cycles start by buying with USDT: the start is leg 0's lot
    first_market = legs[0][0]
    depth = sum(Fraction(q, 10 ** books[first_market][2]) for _, q in books[first_market][1])
    best = Fraction(0)  # trading nothing
    for k in range(1, math.floor(depth / Fraction(lots[first_market])) + 1):
        profit = simulate(books, legs, fees, lots, k * Fraction(lots[first_market]))
        if profit is not None:
            best = max(best, profit)
    # Bound. Any rounded trade is worth at most the continuous optimum P* (rounding down only
    # leaves input unconverted, and every leg is increasing), so best <= P*. The engine trades
    # at P*'s start x* and rounds each leg down by less than one lot of its base; a leg's loss,
    # carried to the end of the cycle, is at most that lot converted onward at top-of-book rates
    # t_j (every marginal rate is at most the top one): lot_i * (1 - fee_i) * prod_{j>i} t_j for
    # a BUY leg (the lot it did not receive), lot_i * prod_{j>=i} t_j for a SELL leg (the lot it
    # did not sell). Leg 0 spends less when it rounds, which is the same bound. So
    #     engine >= P* - sum_i lot_i * value_i >= best - sum_i lot_i * value_i.
    tops = [segment[0][1] for segment in segments(books, legs, fees)]
    slack = Fraction(0)
    for i, (market, direction) in enumerate(legs):
        onward = math.prod(tops[i + 1 :], start=Fraction(1))
        lot = Fraction(lots[market])
        keep = Fraction(1.0 - fees[market])
        slack += lot * keep * onward if direction == BUY else lot * tops[i] * onward
    tolerance = float(slack) + 1e-9 * max(1.0, sized.start_amount)
    assert sized.profit >= float(best) - tolerance
