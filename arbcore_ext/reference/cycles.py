"""Twin of ``arbcore_ext.cycles``: the cycle engine in plain loops, the oracle for its tests.

Rates are the same float operations in the same order as docs/triangular.md specifies, so they
match the compiled engine bit for bit. Sizing walks the books in exact rationals and takes only
its decisions in floats (is the marginal rate above 1? how many lots?), as the kernel does, so
both stop at the same level and the amounts differ only by the kernel's rounding.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from arbcore_ext.errors import BookError, GraphError
from arbcore_ext.reference.book import ASK, BID
from arbcore_ext.reference.profit import limit_price

__all__ = ["BUY", "SELL", "CycleEngine", "SizedCycle", "SizedLeg"]

BUY = 0
SELL = 1

#: A level this close to used up (relative to the leg's input) counts as used up: float dust
#: must not move the start amount's breakpoint or reach, and price, another level.
EXHAUSTED = 1e-12
#: The slack of the minimum checks, so a minimum met exactly in decimal is met in floats.
MIN_SLACK = 1e-12

PerMarket = float | Sequence[float | None] | None
Leg = tuple[int, int]


class SizedLeg(NamedTuple):
    """One leg to send: ``qty`` base units, VWAP ``price``, ``limit_price`` raw (book decimals)."""

    market: int
    direction: int
    qty: float
    price: float
    limit_price: int
    levels: int


class SizedCycle(NamedTuple):
    """A cycle sized over depth; falsy (all zero, no legs) when it cannot be traded."""

    cycle: int
    start_amount: float
    end_amount: float
    profit: float
    profit_bps: float
    legs: tuple[SizedLeg, ...]

    def __bool__(self) -> bool:
        return self.start_amount > 0.0


class _Level(NamedTuple):
    price_raw: int
    price: Fraction  # quote per base
    size: Fraction  # base units
    rate: float  # output per input at this level, in floats as the kernel computes it


class _Fill(NamedTuple):
    qty: Fraction  # base units traded
    notional: Fraction  # quote units, before the fee
    spent: Fraction  # the leg's input actually used
    out: Fraction  # what the leg hands to the next one, after the fee
    worst_raw: int
    levels: int


def _per_market(value: PerMarket, n: int, name: str) -> list[float]:
    """One float per market from None (0 = no constraint), a number or a sequence."""
    if value is None:
        return [0.0] * n
    if isinstance(value, int | float):
        values = [float(value)] * n
    else:
        if len(value) != n:
            raise GraphError(f"{name} must be one number or one per market ({n}), was {len(value)}")
        values = [0.0 if item is None else float(item) for item in value]
    for item in values:
        if math.isnan(item) or item < 0.0:
            raise GraphError(f"{name} must be non-negative numbers")
    return values


def _floor_lot(amount: Fraction, lot: float) -> Fraction:
    """Round down to the lot grid; the 1e-9 keeps an amount a hair under a lot from losing it."""
    if lot <= 0.0:
        return amount
    return math.floor(float(amount) / lot + 1e-9) * Fraction(lot)


class CycleEngine:
    """Every 3- (and 4-) leg cycle through the start assets; rates kept current per market."""

    def __init__(
        self,
        symbols: Sequence[str],
        bases: Sequence[str],
        quotes: Sequence[str],
        *,
        start_assets: Sequence[str] = ("USDT",),
        max_legs: int = 3,
        taker_fees: PerMarket = 0.001,
        slippage_bps: float = 0.0,
        min_profit_bps: float = 0.0,
        lots: PerMarket = None,
        min_qty: PerMarket = None,
        min_notional: PerMarket = None,
    ) -> None:
        n = len(symbols)
        if len(bases) != n or len(quotes) != n:
            raise GraphError("symbols, bases and quotes must have one entry per market")
        if max_legs not in (3, 4):
            raise GraphError(f"max_legs must be 3 or 4, was {max_legs}")
        if not slippage_bps >= 0.0:
            raise GraphError("slippage_bps must be >= 0")
        if len(set(symbols)) != n:
            raise GraphError("symbols must be unique")
        if not start_assets or len(set(start_assets)) != len(start_assets):
            raise GraphError("start_assets must be distinct and not empty")
        names: list[str] = []
        for asset in [*bases, *quotes]:
            if asset not in names:
                names.append(asset)
        for start in start_assets:
            if start not in names:
                raise GraphError(f"start asset {start!r} is not traded in any market")
        for base, quote in zip(bases, quotes, strict=True):
            if base == quote:
                raise GraphError("a market's base and quote must differ")
        fees = _per_market(taker_fees, n, "taker_fees")
        if any(fee >= 1.0 for fee in fees):
            raise GraphError("taker_fees must be fractions below 1")

        self.n_markets = n
        self.n_assets = len(names)
        self.max_legs = max_legs
        self.assets = tuple(names)
        self.symbols = tuple(symbols)
        self.pairs = tuple(zip(bases, quotes, strict=True))
        self.slippage_bps = slippage_bps
        self.threshold = 1.0 + min_profit_bps / 1e4
        self._market_ids = {symbol: m for m, symbol in enumerate(symbols)}
        self._keep = [1.0 - fee for fee in fees]
        self._lots = _per_market(lots, n, "lots")
        self._min_qty = _per_market(min_qty, n, "min_qty")
        self._min_notional = _per_market(min_notional, n, "min_notional")
        self._books: list[Any] = [None] * n

        # each asset's outgoing edges (market, direction, to), ascending market id
        self._outgoing: dict[str, list[tuple[int, int, str]]] = {name: [] for name in names}
        for market, (base, quote) in enumerate(self.pairs):
            self._outgoing[quote].append((market, BUY, base))
            self._outgoing[base].append((market, SELL, quote))
        self._cycles: list[tuple[Leg, ...]] = []
        self._cycle_assets: list[tuple[str, ...]] = []
        for length in range(3, max_legs + 1):
            for rank, start in enumerate(start_assets):
                self._enumerate(start, set(start_assets[:rank]), length, [start], [])
        self.cycle_count = len(self._cycles)
        self._by_market: list[list[int]] = [[] for _ in range(n)]
        for c, legs in enumerate(self._cycles):
            for market, _ in legs:
                self._by_market[market].append(c)

        self._edge_rates = [0.0] * (2 * n)  # index 2 * market + direction
        self._rates = [0.0] * self.cycle_count
        self._changed: list[int] = []

    # -- enumeration ---------------------------------------------------------------------------
    def _enumerate(
        self, start: str, earlier: set[str], length: int, path: list[str], legs: list[Leg]
    ) -> None:
        """Depth first from ``path[-1]``; the last leg must come home to ``start``."""
        for market, direction, to in self._outgoing[path[-1]]:
            leg = (market, direction)
            if len(legs) == length - 1:
                if to == start:
                    self._cycles.append((*legs, leg))
                    self._cycle_assets.append(tuple(path))
            elif to != start and to not in path and to not in earlier:
                self._enumerate(start, earlier, length, [*path, to], [*legs, leg])

    # -- the index -----------------------------------------------------------------------------
    def market_id(self, symbol: str) -> int:
        return self._market_ids[symbol]

    def _market(self, key: int | str) -> int:
        if isinstance(key, str):
            return self._market_ids[key]
        market = operator.index(key)
        if not 0 <= market < self.n_markets:
            raise GraphError(f"market id {market} is out of range (0..{self.n_markets - 1})")
        return market

    def _check_cycle(self, cycle: int) -> None:
        if not 0 <= cycle < self.cycle_count:
            raise GraphError(f"cycle {cycle} is out of range (0..{self.cycle_count - 1})")

    def cycle(self, cycle: int) -> tuple[Leg, ...]:
        self._check_cycle(cycle)
        return self._cycles[cycle]

    def cycle_assets(self, cycle: int) -> tuple[str, ...]:
        self._check_cycle(cycle)
        return self._cycle_assets[cycle]

    def cycles_of_market(self, market: int | str) -> npt.NDArray[np.int32]:
        return np.array(self._by_market[self._market(market)], dtype=np.int32)

    # -- rates ---------------------------------------------------------------------------------
    def _evaluate(self, cycle: int) -> float:
        """The legs' edge rates multiplied left to right."""
        legs = self._cycles[cycle]
        rate = self._edge_rates[2 * legs[0][0] + legs[0][1]]
        for market, direction in legs[1:]:
            rate = rate * self._edge_rates[2 * market + direction]
        return rate

    def set_top(self, market: int | str, bid: float, ask: float) -> int:
        """New touch for one market; re-evaluates its cycles only (see ``changed()``)."""
        m = self._market(market)
        keep = self._keep[m]
        # "not > 0" is true for nan, zero and negative: a missing side prices its edge at 0
        self._edge_rates[2 * m + BUY] = (
            keep / (ask * (1.0 + self.slippage_bps / 1e4)) if ask > 0.0 else 0.0
        )
        self._edge_rates[2 * m + SELL] = (
            bid * (1.0 - self.slippage_bps / 1e4) * keep if bid > 0.0 else 0.0
        )
        self._changed = []
        for c in self._by_market[m]:
            rate = self._evaluate(c)
            if rate != self._rates[c]:
                self._rates[c] = rate
                if rate > self.threshold:
                    self._changed.append(c)
        return len(self._changed)

    def on_book(self, symbol: str, book: Any) -> Any:
        """``set_top`` from a book's best levels; remembers the book for ``size``."""
        m = self._market_ids[symbol]
        self._books[m] = book
        scale = 10**book.price_decimals
        bid, ask = book.best_bid(), book.best_ask()
        bid_price = int(bid) / scale if bid is not None else math.nan
        ask_price = int(ask) / scale if ask is not None else math.nan
        if self.set_top(m, bid_price, ask_price) == 0:
            return ()
        return self._emit(tuple(self._changed))

    def set_book(self, symbol: str, book: Any) -> None:
        """Attach the book ``size`` walks for a market without touching its top."""
        self._books[self._market_ids[symbol]] = book

    def _emit(self, ids: tuple[int, ...]) -> Any:
        """Hook for subclasses: what ``on_book`` returns when cycles changed and are profitable."""
        return ids

    def book(self, market: int | str) -> Any:
        """The book last given for a market (symbol or id), or None."""
        return self._books[self._market(market)]

    def changed(self) -> npt.NDArray[np.int32]:
        return np.array(self._changed, dtype=np.int32)

    def rate(self, cycle: int) -> float:
        self._check_cycle(cycle)
        return self._rates[cycle]

    def rates(self) -> npt.NDArray[np.float64]:
        return np.array(self._rates, dtype=np.float64)

    def scan(self) -> npt.NDArray[np.int32]:
        """Every profitable cycle, best rate first, ties by lower id."""
        profitable = []
        for c in range(self.cycle_count):
            self._rates[c] = self._evaluate(c)
            if self._rates[c] > self.threshold:
                profitable.append(c)
        profitable.sort(key=lambda c: (-self._rates[c], c))
        return np.array(profitable, dtype=np.int32)

    # -- sizing --------------------------------------------------------------------------------
    def _levels(self, market: int, direction: int) -> list[_Level]:
        """The side a leg walks (asks to buy, bids to sell), best first, in exact units."""
        book = self._books[market]
        if book is None:
            raise BookError(f"no book for {self.symbols[market]}: call on_book or set_book first")
        price_scale, size_scale = 10**book.price_decimals, 10**book.size_decimals
        keep = self._keep[market]
        levels = []
        prices, sizes = book.levels(ASK if direction == BUY else BID)
        for raw_price, raw_size in zip(prices, sizes, strict=True):
            price_float = int(raw_price) / price_scale
            rate = keep / price_float if direction == BUY else price_float * keep
            price = Fraction(int(raw_price), price_scale)
            levels.append(_Level(int(raw_price), price, Fraction(int(raw_size), size_scale), rate))
        return levels

    def _marginal_walk(
        self, cycle: int, books: list[list[_Level]], max_start: float
    ) -> Fraction | float:
        """The start amount where the marginal rate of the whole cycle stops exceeding 1."""
        legs = self._cycles[cycle]
        n = len(legs)
        index = [0] * n  # each leg's current level
        room: list[Fraction] = []  # input the current level still takes, in the leg's input units
        for i in range(n):
            if not books[i]:
                return Fraction(0)
            room.append(self._capacity(legs[i][1], books[i][0]))
        x = Fraction(0)
        while x < max_start:
            product = 1.0
            for i in range(n):
                product *= books[i][index[i]].rate
            if product <= 1.0:
                break
            through = [Fraction(1)]  # input of leg i per unit of start amount, exact
            for i in range(n - 1):
                through.append(through[i] * self._exact_rate(legs[i], books[i][index[i]]))
            step = min(room[i] / through[i] for i in range(n))
            if x + step >= max_start:
                return max_start
            x += step
            for i in range(n):
                room[i] -= step * through[i]
                if room[i] <= EXHAUSTED * through[i] * x:
                    index[i] += 1
                    if index[i] == len(books[i]):
                        return x  # a book ran out
                    room[i] = self._capacity(legs[i][1], books[i][index[i]])
        return x

    @staticmethod
    def _capacity(direction: int, level: _Level) -> Fraction:
        """A level's size in the leg's input units: quote for a BUY leg, base for a SELL leg."""
        return level.size * level.price if direction == BUY else level.size

    def _exact_rate(self, leg: Leg, level: _Level) -> Fraction:
        keep = Fraction(self._keep[leg[0]])
        return keep / level.price if leg[1] == BUY else level.price * keep

    def _fill(self, leg: Leg, levels: list[_Level], amount: Fraction) -> _Fill:
        """Trade ``amount`` of the leg's input: the base it buys or is, on the lot grid, walked."""
        market, direction = leg
        qty, left = Fraction(0), amount
        for level in levels:  # how much base the input is worth on this side
            if left <= 0:
                break
            take = min(left, self._capacity(direction, level))
            qty += take / level.price if direction == BUY else take
            left -= take
        qty = _floor_lot(qty, self._lots[market])
        filled, notional, worst, used = Fraction(0), Fraction(0), 0, 0
        left = qty
        for level in levels:
            if left <= EXHAUSTED * qty:  # float dust of the lot rounding reaches no level
                break
            take = min(left, level.size)
            filled += take
            notional += take * level.price
            worst = level.price_raw
            used += 1
            left -= take
        keep = Fraction(self._keep[market])
        if direction == BUY:
            return _Fill(filled, notional, notional, filled * keep, worst, used)
        return _Fill(filled, notional, filled, notional * keep, worst, used)

    def size(self, cycle: int, max_start: float = math.inf) -> SizedCycle:
        """Depth-aware sizing: marginal walk to the best start amount, then a lot-rounded trade."""
        self._check_cycle(cycle)
        empty = SizedCycle(cycle, 0.0, 0.0, 0.0, 0.0, ())
        if not max_start > 0.0:
            return empty
        legs = self._cycles[cycle]
        books = [self._levels(market, direction) for market, direction in legs]
        x = self._marginal_walk(cycle, books, max_start)
        if x <= 0:
            return empty
        amount = Fraction(x)
        fills = []
        for leg, levels in zip(legs, books, strict=True):
            fill = self._fill(leg, levels, amount)
            market = leg[0]
            if (
                fill.qty <= 0
                or float(fill.qty) < self._min_qty[market] * (1.0 - MIN_SLACK)
                or float(fill.notional) < self._min_notional[market] * (1.0 - MIN_SLACK)
            ):
                return empty
            fills.append(fill)
            amount = fill.out
        start, end = float(fills[0].spent), float(fills[-1].out)
        sized_legs = tuple(
            SizedLeg(
                market=market,
                direction=direction,
                qty=float(fill.qty),
                price=float(fill.notional / fill.qty),
                limit_price=limit_price(fill.worst_raw, direction == BUY, self.slippage_bps),
                levels=fill.levels,
            )
            for (market, direction), fill in zip(legs, fills, strict=True)
        )
        profit = end - start
        return SizedCycle(cycle, start, end, profit, profit / start * 1e4, sized_legs)
