"""Triangular arbitrage on one venue: the compiled cycle engine fed by live books.

``TriangularScanner`` is :class:`arbcore_ext.cycles.CycleEngine` built from a venue's
``Instrument`` list: taker fees, lots and minimums come from the instruments, and results come
back as :class:`arbcore.model.Opportunity` values sized over book depth. ``on_book`` stays in
compiled code unless a cycle actually changed and became profitable, so the common case (a book
moved and nothing crossed) costs one call. When a paying cycle is emitted, :attr:`blocked` (the
orchestrator's pre-check, set by the engine) is asked first: a cycle cooling off after a trade
is neither sized nor turned into an Opportunity. The engine's pre-check is compiled and is asked
inside ``on_book`` (``CycleEngine.attach``), so such a cycle costs no Python call either.
With ``tradeable_only`` an emitted cycle is sized first and becomes an Opportunity only when it
could be traded (a first leg of at least one lot, positive profit, ``min_profit_bps`` met after
sizing): most top-of-book crossings size to nothing, and the engine would drop them anyway.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping

from arbcore.errors import GraphError
from arbcore.model import USD_ASSETS, Instrument, Opportunity, OpportunityLeg, OrderSide
from arbcore.strategies.orchestrator import Key, Markets, key, markets_of
from arbcore_ext.crossbook import Check
from arbcore_ext.cycles import BUY, CycleEngine, SizedCycle
from arbcore_ext.slotted import Maker

__all__ = ["USD_ASSETS", "TriangularScanner"]

_BUY, _SELL = OrderSide.BUY, OrderSide.SELL  # (a member read from the enum costs 4x a global)
#: the emitted objects without attrs' generated __init__ (see arbcore_ext.slotted)
_new_opportunity, _new_leg = Maker(Opportunity), Maker(OpportunityLeg)


class TriangularScanner(CycleEngine):
    """Every cycle through ``start_assets`` on one venue, re-evaluated as books change.

    ``min_profit_bps`` is the threshold on the top-of-book rate after fees (and the slippage
    allowance, ``slippage_bps``); ``max_start`` caps what one trade commits (start-asset units);
    ``fee_overrides`` maps a unified symbol to its taker fee when
    the account's tier differs from the instrument's. ``clock`` returns nanoseconds (inject one
    for replay and tests). ``tradeable_only`` (also settable later): ``on_book`` emits only the
    cycles that size to a trade (see :meth:`tradeable`), not every crossing of the touch.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        start_assets: tuple[str, ...] = ("USDT",),
        max_legs: int = 3,
        min_profit_bps: float = 0.0,
        fee_overrides: Mapping[str, float] | None = None,
        *,
        slippage_bps: float = 0.0,
        max_start: float = math.inf,
        clock: Callable[[], int] = time.time_ns,
        tradeable_only: bool = False,
    ) -> None:
        listed = tuple(instruments)
        venues = {instrument.venue for instrument in listed}
        if len(venues) != 1:
            raise GraphError(f"a triangular scanner needs one venue's instruments, had {venues}")
        overrides = dict(fee_overrides or {})
        unknown = set(overrides) - {instrument.symbol for instrument in listed}
        if unknown:
            raise GraphError(f"fee_overrides name symbols that are not listed: {sorted(unknown)}")
        super().__init__(
            [i.symbol for i in listed],
            [i.base for i in listed],
            [i.quote for i in listed],
            start_assets=tuple(start_assets),
            max_legs=max_legs,
            taker_fees=[overrides.get(i.symbol, i.taker_fee) for i in listed],
            slippage_bps=slippage_bps,
            min_profit_bps=min_profit_bps,
            lots=[i.lot_size / 10**i.size_decimals for i in listed],
            min_qty=[i.min_qty / 10**i.size_decimals for i in listed],
            min_notional=[i.min_notional / 10**i.price_decimals for i in listed],
        )
        self.venue = venues.pop()
        self.instruments = listed
        self.max_start = max_start  # the most of the start asset one trade commits
        self._min_profit_bps = min_profit_bps
        self.tradeable_only = tradeable_only
        #: per market id: symbol, raw price -> price divisor, qty -> raw multiplier, lot (raw)
        self._units = tuple((i.symbol, 10**i.price_decimals, 10.0**i.size_decimals, i.lot_size)
                            for i in listed)  # fmt: skip
        self._starts: dict[int, str] = {}
        self._clock = clock
        self._keys: dict[int, tuple[Key, Markets]] = {}
        self._blocked: Callable[[Key, Markets], bool] | None = None
        self._gated = False

    @property
    def min_profit_bps(self) -> float:
        """The threshold given (read-only: the compiled engine's ``threshold`` is built from it)."""
        return self._min_profit_bps

    @property
    def blocked(self) -> Callable[[Key, Markets], bool] | None:
        """Would the orchestrator refuse this cycle now (its cool-off)? Asked before sizing; a
        compiled one (``Orchestrator.pre_check``) is asked in ``on_book`` itself, in C."""
        return self._blocked

    @blocked.setter
    def blocked(self, blocked: Callable[[Key, Markets], bool] | None) -> None:
        self._blocked = blocked
        self._gated = isinstance(blocked, Check)
        self.attach(blocked if isinstance(blocked, Check) else None, self.cycle_key)

    # CycleEngine calls this from on_book only when cycles changed and are profitable
    def _emit(self, ids: tuple[int, ...]) -> tuple[Opportunity, ...]:
        blocked = self._blocked
        if blocked is not None and not self._gated:  # (gated: on_book has asked)
            keys, kept = self._keys, []
            for cycle in ids:
                found = keys.get(cycle) or self.cycle_key(cycle)
                if not blocked(found[0], found[1]):
                    kept.append(cycle)
            if not kept:
                return ()
            ids = tuple(kept)
        now = self._clock()
        if self.tradeable_only:
            traded = []
            for cycle in ids:
                sized = self._sized(cycle)
                if self.tradeable(sized):
                    traded.append(self.priced(cycle, sized, now))
            return tuple(traded)
        return tuple(self.priced(cycle, self._sized(cycle), now) for cycle in ids)

    def tradeable(self, sized: SizedCycle | None) -> bool:
        """Would its Opportunity be traded: a first leg of at least one lot, profit > 0 and
        ``profit_bps >= min_profit_bps`` after sizing (what the engine keeps of an emit)?"""
        if not sized or not sized.profit > 0 or not sized.profit_bps >= self._min_profit_bps:
            return False
        first = sized.legs[0]
        _, _, size_unit, lot = self._units[first.market]
        return _raw(first.qty, size_unit, lot) > 0

    def cycle_key(self, cycle: int) -> tuple[Key, Markets]:
        """The orchestrator's key and markets of a cycle's opportunity (computed once)."""
        found = self._keys.get(cycle)
        if found is None:
            legs = tuple((self.venue, self.symbols[market],
                          OrderSide.BUY if direction == BUY else OrderSide.SELL)
                         for market, direction in self.cycle(cycle))  # fmt: skip
            found = self._keys[cycle] = (key("triangular", self.venue, legs), markets_of(legs))
        return found

    def scan(self) -> list[Opportunity]:  # type: ignore[override]
        """Every profitable cycle now, sized over depth, most expected profit (USD) first.

        (``CycleEngine.scan(scanner)`` gives the bare cycle ids, best rate first.)
        """
        now = self._clock()
        cycles = CycleEngine.scan(self)
        found = [self.opportunity(int(cycle), detected_at_ns=now) for cycle in cycles]
        return sorted(found, key=_ranking)

    def opportunity(self, cycle: int, *, detected_at_ns: int | None = None) -> Opportunity:
        """Price one cycle: top-of-book rate, and the depth-aware size when its books are known."""
        sized = self._sized(cycle)  # (sized before the clock is read, as it always was)
        now = self._clock() if detected_at_ns is None else detected_at_ns
        return self.priced(cycle, sized, now)

    def _sized(self, cycle: int) -> SizedCycle | None:
        try:
            return self.size(cycle, self.max_start)
        except ValueError:  # a leg's book has not been seen yet: rate only
            return None

    def priced(self, cycle: int, sized: SizedCycle | None, now: int) -> Opportunity:
        """The Opportunity of a cycle sized once (``sized``), detected at ``now`` (also how the
        engine's compiled decision, :class:`~arbcore_ext.tridecide.TriangularDecision`, has
        the cycle it decided made)."""
        start = self._starts.get(cycle)
        if start is None:
            start = self._starts[cycle] = self.cycle_assets(cycle)[0]
        usd = self.usd_price(start)
        if sized:
            bps, size, profit = sized.profit_bps, sized.start_amount, sized.profit
        else:
            bps = size = profit = 0.0
        return _new_opportunity("triangular", self.venue, self._legs(cycle, sized),
                                self.rate(cycle), bps, size, profit, now, start,
                                None if usd is None else profit * usd)  # fmt: skip

    def units(self) -> list[tuple[int, float, int]]:
        """Per market id: (10 ** price decimals, 10.0 ** size decimals, the lot in raw size
        units), what an Opportunity's legs are priced and rounded with."""
        return [(price_unit, size_unit, lot) for _, price_unit, size_unit, lot in self._units]

    def _legs(self, cycle: int, sized: SizedCycle | None) -> tuple[OpportunityLeg, ...]:
        venue, units = self.venue, self._units
        if sized:
            legs = []
            for leg in sized.legs:
                symbol, price_unit, size_unit, lot = units[leg.market]
                legs.append(_new_leg(venue, symbol, _BUY if leg.direction == BUY else _SELL,
                                     leg.limit_price / price_unit, leg.qty, leg.limit_price,
                                     _raw(leg.qty, size_unit, lot)))  # fmt: skip
            return tuple(legs)
        return tuple(_new_leg(venue, units[market][0], _BUY if direction == BUY else _SELL,
                              math.nan, 0.0, 0, 0)
                     for market, direction in self.cycle(cycle))  # fmt: skip

    def usd_price(self, asset: str) -> float | None:
        """USD value of one unit of ``asset``: 1 for dollar assets, else a dollar market's mid."""
        if asset in USD_ASSETS:
            return 1.0
        for market, (base, quote) in enumerate(self.pairs):
            if base == asset and quote in USD_ASSETS:
                mid = self._mid(market)
                if mid is not None:
                    return mid
        return None

    def _mid(self, market: int) -> float | None:
        book = self.book(market)
        if book is None:
            return None
        bid, ask = book.bbo()
        if bid is None or ask is None:
            return None
        return float((bid + ask) / 2 / 10**book.price_decimals)


def _ranking(opportunity: Opportunity) -> tuple[float, float]:
    usd = opportunity.expected_profit_usd
    return (-(usd if usd is not None else opportunity.expected_profit), -opportunity.rate)


def raw_size(qty: float, instrument: Instrument) -> int:
    """A sized float quantity as raw units on the instrument's lot grid, never rounded up."""
    return _raw(qty, 10.0**instrument.size_decimals, instrument.lot_size)


def _raw(qty: float, size_unit: float, lot: int) -> int:
    """:func:`raw_size` with the instrument's ``10.0**size_decimals`` and lot already read."""
    raw: int = math.floor(qty * size_unit * (1 + 1e-12))
    return raw - raw % lot
