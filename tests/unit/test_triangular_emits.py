"""TriangularScanner's emits: ``tradeable_only`` against the plain scanner + the engine's filter,
and the Maker-built Opportunity against the one attrs' ``__init__`` builds the way it always did.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from typing import cast

import attrs
from hypothesis import given
from hypothesis import strategies as st

from arbcore.model import Instrument, Opportunity, OpportunityLeg, OrderSide
from arbcore.strategies.triangular import TriangularScanner, raw_size
from arbcore_ext.book import L2Book
from arbcore_ext.cycles import BUY, SizedCycle

#: (base, quote, fair price in quote, price decimals); six markets, several cycles per start
MARKETS = (
    ("BTC", "USDT", 60_000.0, 2),
    ("ETH", "USDT", 3_000.0, 2),
    ("SOL", "USDT", 150.0, 3),
    ("ETH", "BTC", 0.05, 6),
    ("SOL", "BTC", 0.0025, 7),
    ("SOL", "ETH", 0.05, 5),
)


def engine_keeps(opportunity: Opportunity, floor: float) -> bool:
    """``Engine._on_book``'s ``found``: what it keeps of a scanner's emit."""
    return bool(opportunity.legs[0].size_raw and opportunity.expected_profit > 0
                and opportunity.profit_bps >= floor)  # fmt: skip


def instruments(rng: random.Random) -> list[Instrument]:
    """The markets with random fees, lots and minimum notionals."""
    listed = []
    for base, quote, _, price_decimals in MARKETS:
        size_decimals = rng.choice([2, 3, 4])
        listed.append(Instrument.from_text(
            venue="binance", native_symbol=base + quote, base=base, quote=quote,
            tick_size=f"{10.0**-price_decimals:.{price_decimals}f}",
            lot_size=f"{rng.choice([1, 5, 20]) * 10.0**-size_decimals:.{size_decimals}f}",
            min_notional=rng.choice(["0", "0.001", "10"]) if quote != "USDT"
            else rng.choice(["0", "10", "5000"]),
            taker_fee=rng.choice([0.0, 0.0005, 0.001]),
        ))  # fmt: skip
    return listed


def emits(scanner: TriangularScanner, symbol: str, book: L2Book) -> tuple[Opportunity, ...]:
    return cast(tuple[Opportunity, ...], scanner.on_book(symbol, book))


def play(rng: random.Random, updates: int) -> tuple[list[Opportunity], list[Opportunity], float]:
    """Random books fed to a plain scanner and a ``tradeable_only`` one (the same book objects,
    each with its own counting clock); every update's emits, concatenated, and the floor."""
    listed = instruments(rng)
    floor = rng.choice([-50.0, 0.0, 5.0, 30.0])  # (below 0: emits that lose money)
    starts = tuple(rng.sample(["USDT", "BTC"], rng.choice([1, 2])))
    max_start = rng.choice([math.inf, 0.05, 2_000.0])
    plain, traded = (TriangularScanner(listed, starts, min_profit_bps=floor, max_start=max_start,
                                       clock=itertools.count(1).__next__)
                     for _ in range(2))  # fmt: skip
    traded.tradeable_only = True
    books = [L2Book(i.price_decimals, i.size_decimals) for i in listed]
    everything: list[Opportunity] = []
    kept: list[Opportunity] = []
    for _ in range(updates):
        m = rng.randrange(len(listed))
        spec, book, fair = listed[m], books[m], MARKETS[m][2]
        bid = round(fair * (1 + rng.randint(-120, 120) / 1e4) * 10**spec.price_decimals)
        ask = bid + max(1, round(bid * rng.randint(0, 15) / 1e4))
        book.clear()
        for level in range(rng.randint(1, 3)):
            step = level * max(1, bid // 2000)
            for side, price in ((0, bid - step), (1, ask + step)):
                size = rng.choice([1, 30, 1_000, 50_000]) * rng.randint(1, 9)
                book.set_level(side, price, max(1, size * 10**spec.size_decimals // 100))
        everything += emits(plain, spec.symbol, book)
        kept += emits(traded, spec.symbol, book)
    return everything, kept, floor


@given(seed=st.integers(0, 2**64 - 1), updates=st.integers(1, 80))
def test_tradeable_only_emits_exactly_what_the_engine_keeps(seed: int, updates: int) -> None:
    """(A seed, not ``st.randoms()``: its every draw is a hypothesis draw, 50x slower.)"""
    everything, kept, floor = play(random.Random(seed), updates)
    assert kept == [o for o in everything if engine_keeps(o, floor)]


def test_tradeable_only_drops_each_kind_of_emit_the_engine_drops() -> None:
    """A fixed stream where the plain scanner emits cycles the engine drops for each reason."""
    reasons: Counter[str] = Counter()
    for seed in range(12):
        everything, kept, floor = play(random.Random(seed), 120)
        assert kept == [o for o in everything if engine_keeps(o, floor)]
        for o in everything:
            reasons["no lot" if not o.legs[0].size_raw else "no profit"
                    if not o.expected_profit > 0 else "below floor"
                    if o.profit_bps < floor else "kept"] += 1  # fmt: skip
    assert set(reasons) == {"no lot", "no profit", "below floor", "kept"}, reasons
    assert reasons["kept"] >= 10, reasons


def reference(scanner: TriangularScanner, cycle: int, now: int) -> Opportunity:
    """The Opportunity as ``opportunity`` built it before Maker: attrs' keyword __init__."""
    start = scanner.cycle_assets(cycle)[0]
    try:
        sized = scanner.size(cycle, scanner.max_start)
    except ValueError:
        sized = None
    if sized:
        legs = tuple(
            OpportunityLeg(
                venue=scanner.venue, symbol=scanner.symbols[leg.market],
                side=OrderSide.BUY if leg.direction == BUY else OrderSide.SELL,
                price=leg.limit_price / 10 ** scanner.instruments[leg.market].price_decimals,
                size=leg.qty, price_raw=leg.limit_price,
                size_raw=raw_size(leg.qty, scanner.instruments[leg.market]),
            )
            for leg in sized.legs
        )  # fmt: skip
    else:
        legs = tuple(
            OpportunityLeg(venue=scanner.venue, symbol=scanner.symbols[market],
                           side=OrderSide.BUY if direction == BUY else OrderSide.SELL,
                           price=math.nan, size=0.0)
            for market, direction in scanner.cycle(cycle)
        )  # fmt: skip
    profit = sized.profit if sized else 0.0
    usd = scanner.usd_price(start)
    return Opportunity(
        kind="triangular", venue=scanner.venue, legs=legs, rate=scanner.rate(cycle),
        profit_bps=sized.profit_bps if sized else 0.0, size=sized.start_amount if sized else 0.0,
        expected_profit=profit, detected_at_ns=now, asset=start,
        expected_profit_usd=None if usd is None else profit * usd,
    )  # fmt: skip


def same(made: Opportunity, built: Opportunity) -> None:
    """The same object: type, fields (repr: an unsized leg's nan price is equal to nothing),
    eq and hash."""
    assert type(made) is Opportunity
    assert all(type(leg) is OpportunityLeg for leg in made.legs)
    assert repr(made) == repr(built)
    assert hash(made) == hash(built)
    if made.size:
        assert made == built


def test_maker_built_opportunities_equal_attrs_built_ones() -> None:
    rng = random.Random(3)
    listed = instruments(rng)
    scanner = TriangularScanner(listed, ("USDT", "BTC"), clock=lambda: 7)
    books = [L2Book(i.price_decimals, i.size_decimals) for i in listed]
    sized = 0
    for _ in range(200):
        m = rng.randrange(len(listed))
        spec, fair = listed[m], MARKETS[m][2]
        bid = round(fair * (1 + rng.randint(-120, 120) / 1e4) * 10**spec.price_decimals)
        books[m].clear()
        books[m].set_level(0, bid, rng.randint(1, 10**6))
        books[m].set_level(1, bid + 1 + bid // 10_000, rng.randint(1, 10**6))
        emitted = emits(scanner, spec.symbol, books[m])
        for cycle, found in zip(scanner.changed().tolist(), emitted, strict=True):
            same(found, reference(scanner, cycle, 7))
            sized += found.size > 0
    assert sized >= 5
    # unsized: the cycles of a scanner that saw tops but no books are priced at their rate only
    fresh = TriangularScanner(listed, clock=lambda: 9)
    for m, (_, _, fair, _) in enumerate(MARKETS):
        fresh.set_top(m, fair, fair * 1.001)
    for c in range(fresh.cycle_count):
        found = fresh.opportunity(c, detected_at_ns=9)
        assert found.size == 0.0
        assert math.isnan(found.legs[0].price)
        assert found.rate > 0
        same(found, reference(fresh, c, 9))
        assert repr(fresh.opportunity(c)) == repr(found)  # detected at the clock's time


def test_tradeable_only_is_a_constructor_option_and_off_by_default() -> None:
    listed = instruments(random.Random(0))
    assert TriangularScanner(listed).tradeable_only is False
    assert TriangularScanner(listed, tradeable_only=True).tradeable_only is True
    assert TriangularScanner(listed, min_profit_bps=12.5).min_profit_bps == 12.5


@attrs.frozen
class _Leg:
    market: int
    qty: float


@attrs.frozen
class _Sized:
    """Stands in for a SizedCycle: ``tradeable`` reads these fields (SizedCycle has no
    Python constructor)."""

    profit: float
    profit_bps: float
    legs: tuple[_Leg, ...]

    def __bool__(self) -> bool:
        return bool(self.legs)


def test_tradeable_needs_a_lot_a_profit_and_the_floor_after_sizing() -> None:
    """Each of the engine's three tests alone refuses (lot_size 0.05 BTC on BTC/USDT, floor 5)."""
    btc = Instrument.from_text(venue="binance", native_symbol="BTCUSDT", base="BTC", quote="USDT",
                               tick_size="0.01", lot_size="0.05")  # fmt: skip
    others = [Instrument.from_text(venue="binance", native_symbol=b + q, base=b, quote=q,
                                   tick_size="0.01", lot_size="0.01")
              for b, q in (("ETH", "USDT"), ("ETH", "BTC"))]  # fmt: skip
    scanner = TriangularScanner([btc, *others], min_profit_bps=5.0)

    def tradeable(profit: float, bps: float, qty: float) -> bool:
        return scanner.tradeable(cast(SizedCycle, _Sized(profit, bps, (_Leg(0, qty),))))

    assert tradeable(1.0, 5.0, 0.05)
    assert not tradeable(1.0, 5.0, 0.049)  # below one lot: size_raw 0
    assert not tradeable(0.0, 5.0, 0.05)
    assert not tradeable(1.0, 4.99, 0.05)
    assert not scanner.tradeable(cast(SizedCycle, _Sized(1.0, 5.0, ())))  # sized to nothing
    assert not scanner.tradeable(None)  # a book not seen yet
    losing = TriangularScanner([btc, *others], min_profit_bps=-10.0)
    sized = cast(SizedCycle, _Sized(-0.5, -5.0, (_Leg(0, 0.05),)))
    assert not losing.tradeable(sized)  # a floor below 0 still needs a profit
    assert losing.tradeable(cast(SizedCycle, _Sized(0.5, -5.0, (_Leg(0, 0.05),))))


def test_raw_size_floors_onto_the_lot_grid_past_float_dust() -> None:
    btc = Instrument.from_text(venue="binance", native_symbol="BTCUSDT", base="BTC", quote="USDT",
                               tick_size="0.01", lot_size="0.01")  # fmt: skip
    assert 0.29 * 100 < 29  # 28.999999999999996
    assert raw_size(0.29, btc) == 29
    assert raw_size(0.2899, btc) == 28
    coarse = attrs.evolve(btc, lot_size=5)
    assert raw_size(0.29, coarse) == 25
