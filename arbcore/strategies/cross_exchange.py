"""Cross-exchange arbitrage with pre-funded inventory: buy where it is cheap, sell where it is
dear, at the same time, from balances already held on both venues (no transfers).

On every book update of a symbol the strategy prices the trade against each other venue that
lists it, both ways, with :func:`~arbcore_ext.profit.price_cross`: the exact size that maximises
net profit over both books' depth after both taker fees, capped by what the buy venue holds in
quote (and ``max_notional_usd``), what the sell venue holds in base, both lots and both minimum
notionals, with limit prices widened by the slippage allowance. A cheap top-of-book test
rejects the usual case (no cross) before any depth is walked.

Inventory drifts as trades move base from the cheap venue to the dear one; :meth:`drift` reports
each venue's share of an asset and :meth:`needs_rebalance` the venues beyond the configured
drift (arbcore makes no withdrawals: rebalancing is the operator's decision).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping

from arbcore.config.schema import CrossExchangeConfig
from arbcore.model import Instrument, Opportunity, OpportunityLeg, OrderSide
from arbcore_ext.book import L2Book
from arbcore_ext.fixedpoint import rescale
from arbcore_ext.profit import CrossQuote, price_cross

__all__ = ["CrossExchangeStrategy"]

KIND = "cross_exchange"

BookOf = Callable[[str, str], L2Book | None]  # (venue, symbol) -> a fresh book, or None
BalanceOf = Callable[[str, str], float]  # (venue, asset) -> free balance
UsdOf = Callable[[str], float | None]  # asset -> USD price


class CrossExchangeStrategy:
    """Finds cross-venue opportunities for the symbols listed on two or more venues."""

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
    ) -> None:
        self.config = config
        self.instruments = instruments
        self._book_of = book_of
        self._balance_of = balance_of
        self._usd = usd
        self._clock_ns = clock_ns
        listed: dict[str, list[str]] = defaultdict(list)
        for venue, by_symbol in sorted(instruments.items()):
            for symbol in by_symbol:
                if not config.symbols or symbol in config.symbols:
                    listed[symbol].append(venue)
        self.venues_of = {s: tuple(v) for s, v in listed.items() if len(v) >= 2}
        self.checked = 0  # venue pairs priced
        self.walked = 0  # of those, pairs that crossed at the top and were walked in depth

    def on_book(self, venue: str, symbol: str) -> Opportunity | None:
        """The best opportunity this update opens between ``venue`` and another venue."""
        best: tuple[float, Opportunity] | None = None
        for other in self.venues_of.get(symbol, ()):
            if other == venue:
                continue
            for buy, sell in ((venue, other), (other, venue)):
                found = self.price(buy, sell, symbol)
                if found is not None and (best is None or found.expected_profit > best[0]):
                    best = (found.expected_profit, found)
        return None if best is None else best[1]

    def price(self, buy: str, sell: str, symbol: str) -> Opportunity | None:
        """Buy ``symbol`` on ``buy`` and sell it on ``sell`` now, if that clears everything."""
        self.checked += 1
        buy_book, sell_book = self._book_of(buy, symbol), self._book_of(sell, symbol)
        if buy_book is None or sell_book is None:
            return None
        bi, si = self.instruments[buy][symbol], self.instruments[sell][symbol]
        ask, bid = buy_book.best_ask(), sell_book.best_bid()
        if ask is None or bid is None:
            return None
        ask_f = ask / 10**bi.price_decimals * (1 + bi.taker_fee)
        bid_f = bid / 10**si.price_decimals * (1 - si.taker_fee)
        if bid_f <= ask_f:
            return None  # no cross at the top: nothing deeper can pay either
        quote_usd = self._usd(bi.quote)
        if quote_usd is None or quote_usd <= 0:
            return None
        self.walked += 1
        config = self.config
        quote = price_cross(
            buy_book, sell_book, bi.taker_fee, si.taker_fee,
            max_base=self._balance_of(sell, si.base),
            max_quote=min(self._balance_of(buy, bi.quote), config.max_notional_usd / quote_usd),
            lot=max(bi.lot_size / 10**bi.size_decimals, si.lot_size / 10**si.size_decimals),
            min_notional=max(bi.min_notional / 10**bi.price_decimals,
                             si.min_notional / 10**si.price_decimals),
            buy_slippage_bps=config.slippage_bps, sell_slippage_bps=config.slippage_bps,
        )  # fmt: skip
        if not quote or quote.limit_profit <= 0:
            return None
        notional = quote.size * quote.buy_vwap
        profit_bps = quote.net_profit / notional * 1e4
        if profit_bps < config.min_profit_bps:
            return None
        return Opportunity(
            kind=KIND, venue=f"{buy}->{sell}",
            legs=(_leg(buy, bi, OrderSide.BUY, quote.buy_limit, quote),
                  _leg(sell, si, OrderSide.SELL, quote.sell_limit, quote)),
            rate=bid_f / ask_f, profit_bps=profit_bps, size=quote.size,
            expected_profit=quote.net_profit, detected_at_ns=self._clock_ns(), asset=bi.quote,
            expected_profit_usd=quote.net_profit * quote_usd,
        )  # fmt: skip

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


def _leg(venue: str, instrument: Instrument, side: OrderSide, limit_raw: int, quote: CrossQuote
         ) -> OpportunityLeg:  # fmt: skip
    size_raw = rescale(quote.size_units, quote.size_decimals, instrument.size_decimals)
    return OpportunityLeg(venue=venue, symbol=instrument.symbol, side=side,
                          price=limit_raw / 10**instrument.price_decimals, size=quote.size,
                          price_raw=limit_raw, size_raw=size_raw)  # fmt: skip
