"""Cross-exchange strategy: prices both directions over depth, within balances and limits."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping

import numpy as np
import pytest

from arbcore.config.schema import CrossExchangeConfig
from arbcore.model import Instrument, Opportunity, OrderSide
from arbcore.strategies.cross_exchange import CrossExchangeStrategy
from arbcore_ext.book import L2Book


def _instrument(venue: str, fee: float = 0.001) -> Instrument:
    return Instrument.from_text(venue=venue, native_symbol="BTCUSDT", base="BTC", quote="USDT",
                                tick_size="0.01", lot_size="0.0001", min_notional="5",
                                taker_fee=fee)  # fmt: skip


def _book(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> L2Book:
    book = L2Book(2, 4)
    (bp, bq), (ap, aq) = zip(*bids, strict=True), zip(*asks, strict=True)
    book.apply_snapshot(*(np.array(v, dtype=np.int64) for v in (bp, bq, ap, aq)))
    return book


BALANCES = {("cheap", "USDT"): 1e6, ("cheap", "BTC"): 10.0, ("dear", "USDT"): 1e6,
            ("dear", "BTC"): 10.0}  # fmt: skip


def _strategy(books: Mapping[str, L2Book | None], balances: dict[tuple[str, str], float] = BALANCES,
              **config: float) -> CrossExchangeStrategy:  # fmt: skip
    settings = {"min_profit_bps": 1.0, "slippage_bps": 0.0, "max_notional_usd": 1e9, **config}
    return CrossExchangeStrategy(
        CrossExchangeConfig(**settings),  # type: ignore[arg-type]
        {venue: {"BTC/USDT": _instrument(venue)} for venue in books},
        book_of=lambda venue, symbol: books[venue],
        balance_of=lambda venue, asset: balances.get((venue, asset), 0.0),
        usd=lambda asset: 1.0 if asset == "USDT" else None,
        clock_ns=lambda: 42,
    )


# cheap: asks 100.00 x 1, 100.10 x 2; dear: bids 100.50 x 1.5, 100.20 x 1 (profit < 0 at 100.20)
CHEAP = _book([(9_990, 10_000)], [(10_000, 10_000), (10_010, 20_000)])
DEAR = _book([(10_050, 15_000), (10_020, 10_000)], [(10_100, 10_000)])


def test_the_cross_is_found_in_either_direction_and_sized_over_depth() -> None:
    strategy = _strategy({"cheap": CHEAP, "dear": DEAR})
    for updated in ("cheap", "dear"):
        opportunity = strategy.on_book(updated, "BTC/USDT")
        assert opportunity is not None
        buy, sell = opportunity.legs
        assert (buy.venue, buy.side, sell.venue, sell.side) == (
            "cheap", OrderSide.BUY, "dear", OrderSide.SELL)  # fmt: skip
        assert opportunity.size == 1.5
        assert buy.size_raw == sell.size_raw == 15_000
        assert (buy.price_raw, sell.price_raw) == (10_010, 10_050)  # worst levels reached
        assert opportunity.expected_profit == pytest.approx(0.3992, abs=1e-4)
        assert opportunity.expected_profit_usd == pytest.approx(opportunity.expected_profit)
        assert opportunity.venue == "cheap->dear"
        assert opportunity.detected_at_ns == 42


def test_balances_cap_the_size() -> None:
    balances = {**BALANCES, ("dear", "BTC"): 0.4}  # only 0.4 BTC to sell on the dear venue
    opportunity = _strategy({"cheap": CHEAP, "dear": DEAR}, balances).on_book("cheap", "BTC/USDT")
    assert opportunity is not None
    assert opportunity.size == 0.4


@pytest.mark.parametrize("asset", ["BTC", "USDT"])
def test_less_held_than_reserved_is_no_trade_and_no_error(asset: str) -> None:
    """What may be spent can be negative (in-flight trades' fills land before their
    reservations end): the route is walked and not traded, it does not raise."""
    venue = "dear" if asset == "BTC" else "cheap"
    balances = {**BALANCES, (venue, asset): -0.25}
    strategy = _strategy({"cheap": CHEAP, "dear": DEAR}, balances)
    assert strategy.on_book("cheap", "BTC/USDT") is None
    assert strategy.walked == 1


def test_no_cross_at_the_top_walks_no_depth() -> None:
    flat = _book([(9_990, 10_000)], [(10_000, 10_000)])
    strategy = _strategy({"cheap": CHEAP, "dear": flat})
    assert strategy.on_book("cheap", "BTC/USDT") is None
    assert strategy.checked == 2
    assert strategy.walked == 0


def test_thresholds_stale_books_and_minimums_are_respected() -> None:
    books = {"cheap": CHEAP, "dear": DEAR}
    assert _strategy(books, min_profit_bps=50).on_book("cheap", "BTC/USDT") is None
    assert _strategy({"cheap": CHEAP, "dear": None}).on_book("cheap", "BTC/USDT") is None
    tiny = _strategy(books, max_notional_usd=1.0)  # below the 5 USDT minimum notional
    assert tiny.on_book("cheap", "BTC/USDT") is None


def test_inventory_drift_is_reported_per_venue() -> None:
    balances = {**BALANCES, ("cheap", "BTC"): 1.0, ("dear", "BTC"): 9.0}
    strategy = _strategy({"cheap": CHEAP, "dear": DEAR}, balances, rebalance_drift=0.3)
    assert strategy.drift("BTC") == {"cheap": 0.1, "dear": 0.9}
    assert strategy.needs_rebalance("BTC") == [("cheap", 0.1), ("dear", 0.9)]
    assert strategy.needs_rebalance("USDT") == []


def _market(venue: str, base: str, quote: str, tick: str = "0.01") -> Instrument:
    return Instrument.from_text(venue=venue, native_symbol=f"{base}{quote}", base=base,
                                quote=quote, tick_size=tick, lot_size="0.0001", min_notional="5",
                                taker_fee=0.001)  # fmt: skip


def _two_quotes(usdc_bid: int, rate_book: L2Book | None) -> CrossExchangeStrategy:
    """BTC/USDT asks 100.00 on "a"; BTC/USDC bids ``usdc_bid`` (cents) on "b", whose USDC/USDT
    book (ticks of 0.0001) is ``rate_book``."""
    instruments = {"a": {"BTC/USDT": _market("a", "BTC", "USDT")},
                   "b": {"BTC/USDC": _market("b", "BTC", "USDC"),
                         "USDC/USDT": _market("b", "USDC", "USDT", "0.0001")}}  # fmt: skip
    books = {("a", "BTC/USDT"): _book([(9_990, 10_000)], [(10_000, 10_000)]),
             ("b", "BTC/USDC"): _book([(usdc_bid, 10_000)], [(usdc_bid + 100, 10_000)]),
             ("b", "USDC/USDT"): rate_book}  # fmt: skip
    balances = {("a", "USDT"): 1e6, ("b", "BTC"): 10.0}
    return CrossExchangeStrategy(
        CrossExchangeConfig(min_profit_bps=1.0, slippage_bps=0.0, max_notional_usd=1e9),
        instruments, book_of=lambda venue, symbol: books[(venue, symbol)],
        balance_of=lambda venue, asset: balances.get((venue, asset), 0.0),
        usd=lambda asset: 1.0, clock_ns=lambda: 42,
    )  # fmt: skip


def _usdc_at(bid: int, ask: int) -> L2Book:
    return _book([(bid, 1_000_000)], [(ask, 1_000_000)])


def test_a_usdc_quote_is_converted_to_usdt_at_the_live_rate() -> None:
    rate = _usdc_at(9_989, 9_991)  # USDC trades at 0.999 USDT (mid)
    # 100.30 USDC is 100.1997 USDT: after two 0.1 % fees it does not beat a 100.00 USDT ask
    assert _two_quotes(10_030, rate).on_book("a", "BTC/USDT") is None
    # 100.50 USDC = 100.3995 USDT: 1 BTC nets 100.3995 * 0.999 - 100 * 1.001 = 0.1989 USDT
    found = _two_quotes(10_050, rate).on_book("b", "BTC/USDC")
    assert found is not None
    buy, sell = found.legs
    assert (buy.venue, buy.symbol, sell.venue, sell.symbol) == ("a", "BTC/USDT", "b", "BTC/USDC")
    assert found.asset == "USDT"
    assert found.size == 1.0
    assert found.expected_profit == pytest.approx(100.5 * 0.999 * 0.999 - 100 * 1.001, abs=1e-9)
    assert found.rate == pytest.approx(100.5 * 0.999 * 0.999 / (100 * 1.001))
    assert (buy.price_raw, sell.price_raw) == (10_000, 10_050)  # each in its own quote


def test_a_usdc_premium_and_a_missing_rate_are_handled() -> None:
    # USDC at 1.001 USDT: 100.15 USDC is 100.250 USDT, a cross the 1:1 view would miss
    assert _two_quotes(10_015, _usdc_at(9_999, 10_001)).on_book("a", "BTC/USDT") is None
    found = _two_quotes(10_015, _usdc_at(10_009, 10_011)).on_book("a", "BTC/USDT")
    assert found is not None
    assert found.expected_profit == pytest.approx(100.15 * 1.001 * 0.999 - 100 * 1.001, abs=1e-9)
    # a premium beyond both fees cannot be expressed to the depth walk: skipped, not mispriced
    assert _two_quotes(10_015, _usdc_at(10_049, 10_051)).on_book("a", "BTC/USDT") is None
    # no USDC/USDT book in sync: never assume 1:1, whatever the prices
    assert _two_quotes(10_050, None).on_book("a", "BTC/USDT") is None


BookOf = Callable[[str, str], L2Book | None]


def _reference_on_book(strategy: CrossExchangeStrategy, venue: str, symbol: str,
                       book_of: BookOf) -> Opportunity | None:  # fmt: skip
    """The strategy before its compiled touch test: every route through the market priced by
    the Python path (``_try``), with both books read live."""
    best: Opportunity | None = None
    for route in strategy._routes:
        if (venue, symbol) not in ((route.buy.venue, route.buy.symbol),
                                   (route.sell.venue, route.sell.symbol)):  # fmt: skip
            continue
        buy_book = book_of(route.buy.venue, route.buy.symbol)
        sell_book = book_of(route.sell.venue, route.sell.symbol)
        if buy_book is None or sell_book is None:
            continue
        ask, bid = buy_book.best_ask(), sell_book.best_bid()
        if ask is None or bid is None:
            continue
        found = strategy._try(route, buy_book, sell_book, ask, bid)
        if found is not None and (best is None or found.expected_profit > best.expected_profit):
            best = found
    return best


def test_a_replayed_stream_gives_every_opportunity_the_python_path_gives() -> None:
    """Random books on three USDT venues and a USDC one (with its USDC/USDT rate book), with
    dislocations, a venue that leaves sync for a while, and one route the orchestrator blocks:
    the compiled pre-test changes no opportunity, no walk and no call to ``blocked``."""
    rng = random.Random(5)
    markets = [("a", "BTC/USDT"), ("b", "BTC/USDT"), ("c", "BTC/USDT"), ("d", "BTC/USDC"),
               ("d", "USDC/USDT")]  # fmt: skip
    instruments: dict[str, dict[str, Instrument]] = {}
    for venue, symbol in markets:
        base, quote = symbol.split("/")
        tick = "0.0001" if base == "USDC" else "0.01"
        instruments.setdefault(venue, {})[symbol] = _market(venue, base, quote, tick)
    books = {market: _book([(9_990, 10_000)], [(10_000, 10_000)]) for market in markets}
    books[("d", "USDC/USDT")] = _usdc_at(9_999, 10_001)
    stale: set[tuple[str, str]] = set()

    def book_of(venue: str, symbol: str) -> L2Book | None:
        return None if (venue, symbol) in stale else books[(venue, symbol)]

    calls: dict[str, Counter[str]] = {"kernel": Counter(), "python": Counter()}

    def strategy(name: str) -> CrossExchangeStrategy:
        def blocked(key: tuple[str, str, str], markets: object) -> bool:
            calls[name][key[1]] += 1
            return key[1] == "b->a"

        return CrossExchangeStrategy(
            CrossExchangeConfig(min_profit_bps=2.0, slippage_bps=1.0, max_notional_usd=1e9),
            instruments, book_of=book_of, balance_of=lambda venue, asset: 1e6,
            usd=lambda asset: 1.0, clock_ns=lambda: 42, blocked=blocked,
        )  # fmt: skip

    fast, python = strategy("kernel"), strategy("python")
    mid, shift, found = 10_000, {"a": 0, "b": 0, "c": 0, "d": 0}, 0
    for step in range(4_000):
        mid += rng.choice((-2, -1, 0, 1, 2))
        if rng.random() < 0.02:  # a dislocation on one venue, or its end
            shift[rng.choice("abcd")] = rng.choice((0, 0, 0, 0, -30, 25, 60))
        market = markets[rng.randrange(len(markets))]
        venue, symbol = market
        if step % 500 == 250:
            stale.symmetric_difference_update({("c", "BTC/USDT")})  # out of sync, then back
        if market in stale:
            continue  # a stale book's updates never reach the strategy
        if symbol == "USDC/USDT":
            centre = 10_000 + rng.randrange(-20, 21)
            books[market] = _usdc_at(centre - 1, centre + 1)
        else:
            top = mid + shift[venue] + rng.randrange(-3, 4)
            spread = rng.randrange(1, 6)
            bids = [(top - spread, rng.randrange(1, 30_000)), (top - 20, 50_000)]
            books[market] = _book(bids, [(top + spread, rng.randrange(1, 30_000)),
                                         (top + 20, 50_000)])  # fmt: skip
        expected = _reference_on_book(python, venue, symbol, book_of)
        assert fast.on_book(venue, symbol, books[market]) == expected
        found += expected is not None
    assert found > 100  # the stream does cross, both ways
    assert fast.walked == python.walked > found
    assert calls["kernel"] == calls["python"]
    assert calls["kernel"]["b->a"] > 0  # the blocked route was asked (and refused)
    assert calls["kernel"]["a->d"] + calls["kernel"]["d->a"] > 0  # the USDC routes crossed


def test_each_leg_is_sized_at_its_own_markets_decimals() -> None:
    """A leg's size_raw is the quote's units rescaled to its market's size decimals (the
    identity when they match), its price the limit over its market's price scale."""
    from types import SimpleNamespace

    from arbcore.strategies.cross_exchange import _opportunity, _Route
    from arbcore_ext.fixedpoint import rescale

    fine = Instrument.from_text(venue="fine", native_symbol="BTCUSDT", base="BTC", quote="USDT",
                                tick_size="0.001", lot_size="0.00000001", min_notional="5",
                                taker_fee=0.001)  # fmt: skip
    coarse = _instrument("coarse")
    for buy, sell in ((fine, coarse), (coarse, fine), (coarse, coarse)):
        decimals = max(buy.size_decimals, sell.size_decimals)
        quote = SimpleNamespace(
            size=1.2345,
            size_units=12_345 * 10 ** (decimals - 4),
            size_decimals=decimals,
            buy_limit=100_012,
            sell_limit=100_517,
        )
        made = _opportunity(_Route.of(buy, sell), quote, 1.001, 0.5, 4.0, 1.0, 42)  # type: ignore[arg-type]
        for leg, instrument, limit in zip(made.legs, (buy, sell), (100_012, 100_517), strict=True):
            assert leg.size_raw == rescale(quote.size_units, decimals, instrument.size_decimals)
            assert leg.price == limit / 10**instrument.price_decimals
            assert (leg.venue, leg.price_raw, leg.size) == (instrument.venue, limit, 1.2345)
        assert [leg.side for leg in made.legs] == [OrderSide.BUY, OrderSide.SELL]
