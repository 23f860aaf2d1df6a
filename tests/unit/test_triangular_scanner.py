"""TriangularScanner: Instruments in, sized Opportunities out."""

from __future__ import annotations

import numpy as np
import pytest

from arbcore.errors import GraphError
from arbcore.model import Instrument, OrderSide
from arbcore.strategies.triangular import TriangularScanner
from arbcore_ext.book import L2Book
from arbcore_ext.cycles import CycleEngine


def instrument(symbol: str, tick: str, lot: str, venue: str = "binance") -> Instrument:
    base, quote = symbol.split("/")
    return Instrument.from_text(
        venue=venue, native_symbol=base + quote, base=base, quote=quote,
        tick_size=tick, lot_size=lot, taker_fee=0.001,
    )  # fmt: skip


INSTRUMENTS = [
    instrument("BTC/USDT", "0.01", "0.00001"),
    instrument("ETH/USDT", "0.01", "0.0001"),
    instrument("ETH/BTC", "0.00001", "0.0001"),
]


def one_level_book(spec: Instrument, bid: str, ask: str, qty: str) -> L2Book:
    book = L2Book(spec.price_decimals, spec.size_decimals)
    book.set_level(0, bid, qty)
    book.set_level(1, ask, qty)
    return book


@pytest.fixture
def scanner() -> TriangularScanner:
    return TriangularScanner(INSTRUMENTS, clock=lambda: 1_700_000_000_000_000_000)


def test_scanner_counts_cycles_both_directions(scanner: TriangularScanner) -> None:
    assert scanner.cycle_count == 2
    assert {scanner.cycle_assets(c) for c in range(2)} == {
        ("USDT", "BTC", "ETH"),
        ("USDT", "ETH", "BTC"),
    }


def test_scanner_on_book_emits_sized_opportunity_when_cycle_turns_profitable(
    scanner: TriangularScanner,
) -> None:
    btc, eth, eth_btc = INSTRUMENTS
    assert scanner.on_book("BTC/USDT", one_level_book(btc, "60000", "60000.01", "1")) == ()
    assert scanner.on_book("ETH/USDT", one_level_book(eth, "3000", "3000.01", "10")) == ()
    # ETH at 0.0491 BTC while it sells for 3000 / 60000.01 = 0.049999 BTC via USDT
    (found,) = scanner.on_book("ETH/BTC", one_level_book(eth_btc, "0.049", "0.0491", "10"))
    # USDT -> BTC (buy at 60000.01) -> ETH (buy at 0.0491) -> USDT (sell at 3000), 0.1 % each
    rate = (0.999 / 60000.01) * (0.999 / 0.0491) * (3000 * 0.999)
    assert found.rate == pytest.approx(rate, rel=1e-15)
    assert found.kind == "triangular"
    assert found.venue == "binance"
    assert found.asset == "USDT"
    assert found.detected_at_ns == 1_700_000_000_000_000_000
    assert [(leg.symbol, leg.side) for leg in found.legs] == [
        ("BTC/USDT", OrderSide.BUY),
        ("ETH/BTC", OrderSide.BUY),
        ("ETH/USDT", OrderSide.SELL),
    ]
    # ETH/BTC's 10 ETH is the bottleneck: 0.491 BTC / 0.999 = 0.49149 BTC (lot 0.00001)
    # -> 0.49099851 BTC -> 9.9999 ETH (lot 0.0001) -> 9.9899001 ETH -> sell 9.9899 ETH
    assert [leg.size for leg in found.legs] == pytest.approx([0.49149, 9.9999, 9.9899])
    spent = 0.49149 * 60000.01
    received = 9.9899 * 3000 * 0.999
    assert found.size == pytest.approx(spent)
    assert found.expected_profit == pytest.approx(received - spent)
    assert found.profit_bps == pytest.approx((received - spent) / spent * 1e4)
    assert found.expected_profit_usd == pytest.approx(found.expected_profit)
    assert [leg.price for leg in found.legs] == [60000.01, 0.0491, 3000.0]


def test_scanner_scan_ranks_by_usd_profit_and_prices_unsized_cycles(
    scanner: TriangularScanner,
) -> None:
    scanner.set_top("BTC/USDT", 60000.0, 60000.01)
    scanner.set_top("ETH/USDT", 3000.0, 3000.01)
    scanner.set_top("ETH/BTC", 0.049, 0.0491)
    (only,) = scanner.scan()  # no books attached: the rate, but no size
    assert only.rate > 1.0
    assert only.size == 0.0
    assert only.expected_profit == 0.0
    assert all(np.isnan(leg.price) for leg in only.legs)
    assert scanner.cycle_assets(0) == ("USDT", "BTC", "ETH")
    assert CycleEngine.scan(scanner).tolist() == [0]


def test_scanner_fee_overrides_change_the_rate() -> None:
    cheap = TriangularScanner(INSTRUMENTS, fee_overrides={"ETH/BTC": 0.0})
    normal = TriangularScanner(INSTRUMENTS)
    for engine in (cheap, normal):
        engine.set_top("BTC/USDT", 60000.0, 60000.01)
        engine.set_top("ETH/USDT", 3000.0, 3000.01)
        engine.set_top("ETH/BTC", 0.049, 0.0491)
    assert cheap.rate(0) == pytest.approx(normal.rate(0) / 0.999, rel=1e-15)


def test_scanner_usd_price_of_a_non_dollar_start() -> None:
    scanner = TriangularScanner(INSTRUMENTS, start_assets=("BTC",))
    scanner.on_book("BTC/USDT", one_level_book(INSTRUMENTS[0], "60000", "60000.02", "1"))
    assert scanner.usd_price("BTC") == pytest.approx(60000.01)
    assert scanner.usd_price("ETH") is None
    assert scanner.usd_price("USDC") == 1.0


@pytest.mark.parametrize(
    ("instruments", "kwargs", "message"),
    [
        ([*INSTRUMENTS, instrument("BNB/USDT", "0.01", "0.001", venue="okx")], {}, "one venue"),
        (INSTRUMENTS, {"fee_overrides": {"DOGE/USDT": 0.0}}, "not listed"),
        (INSTRUMENTS, {"start_assets": ("EUR",)}, "EUR"),
        (INSTRUMENTS, {"max_legs": 5}, "max_legs"),
    ],
)
def test_scanner_bad_configuration_raises_graph_error(instruments, kwargs, message) -> None:
    with pytest.raises(GraphError, match=message):
        TriangularScanner(instruments, **kwargs)
