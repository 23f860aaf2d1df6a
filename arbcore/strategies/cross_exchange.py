"""Cross-exchange arbitrage with pre-funded inventory: buy where it is cheap, sell where it is
dear, at the same time, from balances already held on both venues (no transfers).

On every book update of a market the strategy checks it against the same base asset on each
other venue, both ways: first at the top of both books (fees included, in the buy market's
quote; every route of the market in one call of the compiled
:class:`~arbcore_ext.crossbook.CrossBook`, which keeps each market's touch), and only when that
crosses by ``min_profit_bps`` and the orchestrator would not refuse
the pair for its cool-off or busy liquidity (``blocked``) does it walk depth with
:func:`~arbcore_ext.profit.price_cross`: the exact size that maximises net profit over both
books after both taker fees, capped by what the buy venue holds in quote (and
``max_notional_usd``), what the sell venue holds in base, both lots and both minimum notionals,
with limit prices widened by the slippage allowance. So the usual update (no cross, or a cross
already being traded) builds no Python object at all; an :class:`~arbcore.model.Opportunity`
exists only for a trade that may go ahead.

Quote assets that differ (BTC/USDT on one venue, BTC/USDC or Kraken's BTC/USD on another) are
compared at the live rate: the mid of a market between the two quotes (USDC/USDT, USDT/USD, ...)
on the sell venue, else the buy venue, else any venue. The sell proceeds are valued in the buy
quote at that rate (folded into the effective sell fee for the depth walk, so the walk, the size
and the profit are all in the buy quote). With no such market the pair is not traded: a stable
coin is never assumed to be worth exactly another.

Inventory drifts as trades move base from the cheap venue to the dear one; :meth:`drift` reports
each venue's share of an asset and :meth:`needs_rebalance` the venues beyond the configured
drift (arbcore makes no withdrawals: rebalancing is the operator's decision).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from arbcore.config.schema import CrossExchangeConfig
from arbcore.model import USD_ASSETS, Instrument, Opportunity, OpportunityLeg, OrderSide
from arbcore.strategies.orchestrator import Key, Markets, key, markets_of
from arbcore_ext.book import L2Book
from arbcore_ext.crossbook import Check, CrossBook
from arbcore_ext.fixedpoint import rescale
from arbcore_ext.profit import CrossQuote, price_cross
from arbcore_ext.slotted import Maker

__all__ = ["CrossExchangeStrategy", "top_cross"]

KIND = "cross_exchange"
_BUY, _SELL = OrderSide.BUY, OrderSide.SELL  # (a member read from the enum costs 4x a global)
#: the decision's objects without attrs' generated __init__ (see arbcore_ext.slotted)
_new_opportunity, _new_leg = Maker(Opportunity), Maker(OpportunityLeg)

BookOf = Callable[[str, str], L2Book | None]  # (venue, symbol) -> a fresh book, or None
BalanceOf = Callable[[str, str], float]  # (venue, asset) -> free balance
UsdOf = Callable[[str], float | None]  # asset -> USD price
Blocked = Callable[[Key, Markets], bool]  # the orchestrator would refuse this now


@attrs.frozen
class _Route:
    """Buy ``buy``'s market, sell ``sell``'s: everything about the pair that never changes."""

    buy: Instrument
    sell: Instrument
    ask_factor: float  # raw ask -> buy-quote cost per base unit, taker fee included
    bid_factor: float  # raw bid -> sell-quote proceeds per base unit, taker fee deducted
    ask_unit: float  # raw ask -> price
    lot: float
    min_notional: float
    label: str
    key: Key
    markets: Markets
    converts: bool  # the quotes differ: the sell proceeds are valued at the live rate
    buy_scale: int  # 10 ** price decimals: a leg's limit price is raw / scale
    sell_scale: int

    @classmethod
    def of(cls, buy: Instrument, sell: Instrument) -> _Route:
        legs = ((buy.venue, buy.symbol, OrderSide.BUY), (sell.venue, sell.symbol, OrderSide.SELL))
        label = f"{buy.venue}->{sell.venue}"
        return cls(
            buy=buy, sell=sell,
            ask_factor=(1 + buy.taker_fee) / 10**buy.price_decimals,
            bid_factor=(1 - sell.taker_fee) / 10**sell.price_decimals,
            ask_unit=1 / 10**buy.price_decimals,
            lot=max(buy.lot_size / 10**buy.size_decimals, sell.lot_size / 10**sell.size_decimals),
            min_notional=max(buy.min_notional / 10**buy.price_decimals,
                             sell.min_notional / 10**sell.price_decimals),
            label=label, key=key(KIND, label, legs), markets=markets_of(legs),
            converts=buy.quote != sell.quote,
            buy_scale=10**buy.price_decimals, sell_scale=10**sell.price_decimals,
        )  # fmt: skip


def _tradeable(config: CrossExchangeConfig, instrument: Instrument) -> bool:
    return not config.symbols or instrument.symbol in config.symbols


def _same_money(first: str, second: str) -> bool:
    """Quotes comparable directly (the same asset) or at a live rate (two dollar assets)."""
    return first == second or (first in USD_ASSETS and second in USD_ASSETS)


class CrossExchangeStrategy:
    """Finds cross-venue opportunities for the base assets listed on two or more venues."""

    kind = KIND

    def __init__(
        self,
        config: CrossExchangeConfig,
        instruments: Mapping[str, Mapping[str, Instrument]],  # venue -> symbol -> Instrument
        *,
        book_of: BookOf,
        balance_of: BalanceOf,
        usd: UsdOf,
        clock_ns: Callable[[], int] = time.time_ns,
        blocked: Blocked | None = None,
        syncs: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """``syncs``: venue -> symbol -> BookSync, what ``book_of`` reads (a book only while
        its sync is in sync); with it and a compiled ``blocked`` (``Orchestrator.pre_check``),
        the touch test also pre-checks its crossing routes (see ``CrossBook.attach``)."""
        self.config = config
        self.instruments = instruments
        self._book_of = book_of
        self._balance_of = balance_of
        self._usd = usd
        self._clock_ns = clock_ns
        self._blocked = blocked
        by_base: dict[str, list[Instrument]] = defaultdict(list)
        for _, by_symbol in sorted(instruments.items()):
            for instrument in by_symbol.values():
                if _tradeable(config, instrument):
                    by_base[instrument.base].append(instrument)
        #: per compared market, its index in the kernel; per route, the _Route and its markets
        self._index: dict[tuple[str, str], int] = {}
        self._routes: list[_Route] = []
        self._ends: list[tuple[int, int]] = []
        route_ids: dict[tuple[int, int], int] = {}
        by_market: list[list[int]] = []
        for listed in by_base.values():
            for here in listed:
                others = [there for there in listed if there.venue != here.venue
                          and _same_money(here.quote, there.quote)]  # fmt: skip
                if not others:
                    continue
                market = self._market(here, by_market)
                for there in others:
                    other = self._market(there, by_market)
                    for buy, sell, ends in ((here, there, (market, other)),
                                            (there, here, (other, market))):  # fmt: skip
                        if ends not in route_ids:
                            route_ids[ends] = len(self._routes)
                            self._routes.append(_Route.of(buy, sell))
                            self._ends.append(ends)
                        by_market[market].append(route_ids[ends])
        self._route_ids = route_ids
        self._markets = tuple(self._index)
        #: each market's touch and its routes: the top-of-book test in one compiled call
        self._touch = CrossBook(len(self._markets), [
            (buy, sell, r.ask_factor, r.bid_factor, r.ask_unit, r.converts)
            for r, (buy, sell) in zip(self._routes, self._ends, strict=True)
        ], by_market, config.min_profit_bps)  # fmt: skip
        #: the touch test asks the orchestrator itself (a route between two quotes is asked in
        #: Python, after its live rate)
        self._gated = False
        if isinstance(blocked, Check) and isinstance(syncs, dict):
            self._touch.attach(blocked, [None if r.converts else r.key for r in self._routes],
                               self._markets, syncs)  # fmt: skip
            self._gated = True
        #: markets whose touch the kernel has not seen yet: read through ``book_of`` until then
        self._unseen = set(range(len(self._markets)))
        #: the venues each traded market's base is compared across
        self.venues_of = {symbol: tuple(sorted({venue} | {self._markets[o][0]
                                                           for r in by_market[m]
                                                           for o in self._ends[r]}))
                          for (venue, symbol), m in self._index.items()}  # fmt: skip
        #: dollar-to-dollar markets (USDC/USDT, USDT/USD, ...) a rate can be read from
        self._rate_markets = {(i.base, i.quote): i.symbol for by_symbol in instruments.values()
                              for i in by_symbol.values()
                              if i.base in USD_ASSETS and i.quote in USD_ASSETS}  # fmt: skip

    def _market(self, instrument: Instrument, by_market: list[list[int]]) -> int:
        found = self._index.setdefault((instrument.venue, instrument.symbol), len(by_market))
        if found == len(by_market):
            by_market.append([])
        return found

    @property
    def walked(self) -> int:
        """Directions that crossed at the top and were walked in depth: one count in C (the
        kernel's), which this walk and the engine's compiled decision both add to."""
        return self._touch.walked

    @walked.setter
    def walked(self, value: int) -> None:
        self._touch.walked = value

    @property
    def checked(self) -> int:
        """Directions priced at the top of both books (the other book's touch known)."""
        return self._touch.checked

    def on_book(self, venue: str, symbol: str, book: L2Book | None = None,
                now_ns: int | None = None) -> Opportunity | None:  # fmt: skip
        """The best opportunity this update opens between ``venue`` and another venue.

        ``book``: the updated book when the caller has it (saves a lookup). The other markets'
        touches are the ones earlier calls gave (a market not given yet is read through
        ``book_of``), so every update of a compared market must come through here, as the
        engine's and MarketData's book callbacks do. ``now_ns``: the event's clock time, for
        the compiled pre-check's cool-off (None: it reads the orchestrator's clock).
        """
        market = self._index.get((venue, symbol))
        if market is None:
            return None
        if book is None:
            book = self._book_of(venue, symbol)
            if book is None:
                return None
        if self._unseen:
            self._unseen.discard(market)
            self._read_unseen()
        crossing = self._touch.update(market, book, now_ns)
        return self._best(market, book, crossing) if crossing else None

    def touch_of(self, venue: str) -> tuple[CrossBook, dict[str, int]]:
        """The kernel and ``venue``'s symbol -> market ids, for a caller that updates touches
        itself (the engine's callback: ``kernel.touch(markets, symbol, book, now_ns)``, then
        :meth:`crossed` when routes cross, or :meth:`on_book` when it answers None)."""
        return self._touch, {symbol: m for (v, symbol), m in self._index.items() if v == venue}

    def crossed(self, venue: str, symbol: str, book: L2Book, crossing: tuple[int, ...]
                ) -> Opportunity | None:  # fmt: skip
        """:meth:`on_book` after the kernel's update of ``book`` gave ``crossing``."""
        return self._best(self._index[venue, symbol], book, crossing)

    def _best(self, market: int, book: L2Book, crossing: tuple[int, ...]) -> Opportunity | None:
        """The best opportunity among the routes the kernel found crossing on ``market``."""
        best: Opportunity | None = None
        routes, ends, book_of = self._routes, self._ends, self._book_of
        blocked = None if self._gated else self._blocked  # (gated: the kernel has asked)
        buy_book: L2Book | None
        sell_book: L2Book | None
        for route_id in crossing:
            # A route the kernel found crossing at the top: the other book (a book that left
            # sync since its last update reads None and is skipped), the orchestrator's word
            # (the common end: a dislocation cooling off), then the depth walk (_price).
            route = routes[route_id]
            if ends[route_id][0] == market:
                buy_book, sell_book = book, book_of(route.sell.venue, route.sell.symbol)
            else:
                buy_book, sell_book = book_of(route.buy.venue, route.buy.symbol), book
            if buy_book is None or sell_book is None:
                continue
            if not route.converts and blocked is not None and blocked(route.key, route.markets):
                continue  # (the kernel's verdict is top_cross's: asked as _try would)
            found = self._price(route, buy_book, sell_book)
            if found is not None and (best is None or found.expected_profit >
                                      best.expected_profit):  # fmt: skip
                best = found
        return best

    def _read_unseen(self) -> None:
        """Give the kernel the touch of each market no update has come through for yet."""
        for market in tuple(self._unseen):
            book = self._book_of(*self._markets[market])
            if book is not None:
                self._touch.load(market, book)
                self._unseen.discard(market)

    def _price(self, route: _Route, buy_book: L2Book, sell_book: L2Book) -> Opportunity | None:
        """A crossing route the orchestrator would take: the depth walk. A route between two
        quotes takes the whole Python test (the live rate)."""
        ask, bid = buy_book.best_ask(), sell_book.best_bid()
        if ask is None or bid is None:
            return None
        if route.converts:
            return self._try(route, buy_book, sell_book, ask, bid)
        top_rate = top_cross(ask, bid, route.ask_factor, route.bid_factor, route.ask_unit,
                             self.config.min_profit_bps)  # fmt: skip
        if top_rate is None:
            return None
        return self._walk(route, buy_book, sell_book, 1.0, top_rate)

    def price(self, buy: str, sell: str, symbol: str) -> Opportunity | None:
        """Buy ``symbol`` on ``buy`` and sell it on ``sell`` now, if that clears everything."""
        ends = (self._index.get((buy, symbol), -1), self._index.get((sell, symbol), -1))
        route_id = self._route_ids.get(ends)
        buy_book, sell_book = self._book_of(buy, symbol), self._book_of(sell, symbol)
        if route_id is None or buy_book is None or sell_book is None:
            return None
        ask, bid = buy_book.best_ask(), sell_book.best_bid()
        if ask is None or bid is None:
            return None
        return self._try(self._routes[route_id], buy_book, sell_book, ask, bid)

    def _try(self, route: _Route, buy_book: L2Book, sell_book: L2Book, ask: int, bid: int
             ) -> Opportunity | None:  # fmt: skip
        """One direction: the top test, the orchestrator's word, then the depth walk."""
        rate = 1.0
        if route.converts:
            found_rate = self.rate(route.sell.quote, route.buy.quote, route.sell.venue,
                                   route.buy.venue)  # fmt: skip
            if found_rate is None:
                return None
            rate = found_rate
        top_rate = top_cross(ask, bid, route.ask_factor, route.bid_factor, route.ask_unit,
                             self.config.min_profit_bps, rate)  # fmt: skip
        if top_rate is None:
            return None
        if self._blocked is not None and self._blocked(route.key, route.markets):
            return None
        return self._walk(route, buy_book, sell_book, rate, top_rate)

    def _walk(self, route: _Route, buy_book: L2Book, sell_book: L2Book, rate: float,
              top_rate: float) -> Opportunity | None:  # fmt: skip
        bi, si = route.buy, route.sell
        quote_usd = self._usd(bi.quote)
        if quote_usd is None or quote_usd <= 0:
            return None
        self._touch.walked += 1
        config = self.config
        # the sell proceeds are worth `rate` buy-quote units each: fold that into the sell fee
        # (rate <= 1), or scale the walk by c = 1 / (rate * (1 - sell fee)) (rate > 1), which
        # moves it into the buy fee; profit and quote budget are scaled back by c
        buy_fee, sell_fee, scale = bi.taker_fee, 1 - rate * (1 - si.taker_fee), 1.0
        if sell_fee < 0:
            scale = 1 / (rate * (1 - si.taker_fee))
            buy_fee, sell_fee = (1 + bi.taker_fee) * scale - 1, 0.0
            if buy_fee < 0:
                return None  # a premium larger than both fees: no walk can express it
        max_base = self._balance_of(si.venue, si.base)
        max_quote = min(self._balance_of(bi.venue, bi.quote),
                        config.max_notional_usd / quote_usd) * scale  # fmt: skip
        if max_base <= 0 or max_quote <= 0:
            # nothing left to spend: what a venue holds can be less than what in-flight trades
            # reserved of it (their fills land before their reservations end)
            return None
        slippage = config.slippage_bps
        # (positional: keywords cost a dict per call) max_base, max_quote, lot, min_notional,
        # buy and sell slippage allowances
        quote = price_cross(buy_book, sell_book, buy_fee, sell_fee, max_base, max_quote,
                            route.lot, route.min_notional, slippage, slippage)  # fmt: skip
        if not quote or quote.limit_profit <= 0:
            return None
        net_profit = quote.net_profit / scale
        profit_bps = net_profit / (quote.size * quote.buy_vwap) * 1e4
        if profit_bps < config.min_profit_bps:
            return None
        return _opportunity(route, quote, top_rate, net_profit, profit_bps, quote_usd,
                            self._clock_ns())  # fmt: skip

    # -- the engine's compiled decision -----------------------------------------------------------

    def decision_facts(self) -> list[tuple[Any, ...]]:
        """Per route (the kernel's order), what :class:`~arbcore_ext.crossdecide.CrossDecision`
        needs to decide it in C: both markets, both taker fees, the lot, the minimum notional,
        both price decimals, and whether it may (the same quote on both ends: no live rate)."""
        return [(r.buy.venue, r.buy.symbol, r.sell.venue, r.sell.symbol, r.buy.taker_fee,
                 r.sell.taker_fee, r.lot, r.min_notional, r.buy.price_decimals,
                 r.sell.price_decimals, not r.converts)
                for r in self._routes]  # fmt: skip

    @property
    def kernel(self) -> CrossBook:
        """The compiled touch test (its routes in the order :meth:`decision_facts` lists)."""
        return self._touch

    @property
    def gated(self) -> bool:
        """The touch test asks the orchestrator itself (the engine's compiled pre-check)."""
        return self._gated

    def decided(self, route_id: int, quote: CrossQuote, top_rate: float, quote_usd: float,
                detected_at_ns: int) -> tuple[Opportunity, Markets]:  # fmt: skip
        """The Opportunity a compiled decision took on route ``route_id`` (what :meth:`_walk`
        makes for it: a route the compiled path decides is at rate 1, its quote worth
        ``quote_usd``), and the markets it trades."""
        route = self._routes[route_id]
        net_profit = quote.net_profit  # (/ scale: 1 at rate 1)
        profit_bps = net_profit / (quote.size * quote.buy_vwap) * 1e4
        return _opportunity(route, quote, top_rate, net_profit, profit_bps, quote_usd,
                            detected_at_ns), route.markets  # fmt: skip

    # -- quote conversion -------------------------------------------------------------------------

    def rate(self, have: str, want: str, *venues: str) -> float | None:
        """``want`` per unit of ``have`` (two dollar assets) at the live mid: on ``venues`` in
        order, then any venue; None when no market between them is in sync."""
        if have == want:
            return 1.0
        direct, inverse = self._rate_markets.get((have, want)), self._rate_markets.get((want, have))
        if direct is None and inverse is None:
            return None
        for venue in (*venues, *sorted(self.instruments)):
            listed = self.instruments.get(venue, {})
            for symbol, invert in ((direct, False), (inverse, True)):
                if symbol is None or symbol not in listed:
                    continue
                mid = self._mid(venue, listed[symbol])
                if mid:
                    return 1 / mid if invert else mid
        return None

    def _mid(self, venue: str, instrument: Instrument) -> float | None:
        book = self._book_of(venue, instrument.symbol)
        if book is None:
            return None
        bid, ask = book.bbo()
        if bid is None or ask is None:
            return None
        mid: float = (bid + ask) / 2 / 10**instrument.price_decimals
        return mid

    # -- inventory --------------------------------------------------------------------------------

    def drift(self, asset: str) -> dict[str, float]:
        """Each venue's share of ``asset`` across the venues trading it (1/n is balanced)."""
        venues = sorted({v for vs in self.venues_of.values() for v in vs})
        held = {venue: max(self._balance_of(venue, asset), 0.0) for venue in venues}
        total = sum(held.values())
        return {venue: (amount / total if total else 0.0) for venue, amount in held.items()}

    def needs_rebalance(self, asset: str) -> list[tuple[str, float]]:
        """Venues whose share of ``asset`` is further than ``rebalance_drift`` from even."""
        shares = self.drift(asset)
        even = 1 / len(shares) if shares else 0.0
        return [(venue, share) for venue, share in shares.items()
                if abs(share - even) > self.config.rebalance_drift]  # fmt: skip


def top_cross(ask: int, bid: int, ask_factor: float, bid_factor: float, ask_unit: float,
              min_profit_bps: float, rate: float = 1.0) -> float | None:  # fmt: skip
    """Proceeds over cost per base unit at the top of both books (fees in; the proceeds valued
    in the buy quote at ``rate``) when the raw ``ask`` and ``bid`` cross by ``min_profit_bps``
    of the ask, else None. The top's net spread bounds what any size can make (depth only
    worsens it). :class:`arbcore_ext.crossbook.CrossBook` runs this test in C for ``rate`` 1,
    operation for operation, so both give the same verdicts."""
    ask_f, bid_f = ask * ask_factor, bid * bid_factor * rate
    if bid_f <= ask_f or (bid_f - ask_f) / (ask * ask_unit) * 1e4 < min_profit_bps:
        return None
    return bid_f / ask_f


def _opportunity(route: _Route, quote: CrossQuote, top_rate: float, net_profit: float,
                 profit_bps: float, quote_usd: float, detected_at_ns: int
                 ) -> Opportunity:  # fmt: skip
    """The opportunity of a route priced at ``quote`` (its legs at the quote's limits; each
    leg's size is the quote's, rescaled to its market's decimals when they differ)."""
    bi, si = route.buy, route.sell
    size, units, decimals = quote.size, quote.size_units, quote.size_decimals
    buy_limit, sell_limit = quote.buy_limit, quote.sell_limit
    # (rescale to the same decimals is the value itself)
    buy_units = units if decimals == bi.size_decimals else rescale(units, decimals,
                                                                    bi.size_decimals)  # fmt: skip
    sell_units = units if decimals == si.size_decimals else rescale(units, decimals,
                                                                     si.size_decimals)  # fmt: skip
    # OpportunityLeg(venue, symbol, side, price, size, price_raw, size_raw) and
    # Opportunity(kind, venue, legs, rate, profit_bps, size, expected_profit, detected_at_ns,
    # asset, expected_profit_usd), made without attrs' Python __init__
    legs = (_new_leg(bi.venue, bi.symbol, _BUY, buy_limit / route.buy_scale, size, buy_limit,
                     buy_units),
            _new_leg(si.venue, si.symbol, _SELL, sell_limit / route.sell_scale, size, sell_limit,
                     sell_units))  # fmt: skip
    return _new_opportunity(KIND, route.label, legs, top_rate, profit_bps, size, net_profit,
                            detected_at_ns, bi.quote, net_profit * quote_usd)  # fmt: skip
