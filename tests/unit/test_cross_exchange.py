"""Cross-exchange strategy: prices both directions over depth, within balances and limits."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from arbcore.config.schema import CrossExchangeConfig
from arbcore.model import Instrument, OrderSide
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
