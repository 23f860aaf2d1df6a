"""The simulated market: deterministic from its seed, books on the grid, dislocations on demand."""

from __future__ import annotations

import math

import pytest

from arbcore.errors import ConfigError
from arbcore.exchanges.binance.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim import MarketConfig, SimConfig
from arbcore.sim.catalog import market_spec
from arbcore.sim.market import Market
from arbcore.sim.venues import get_protocol
from arbcore_ext.book import ASK, BID

SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")


def instruments() -> list[Instrument]:
    protocol = get_protocol("binance")
    return [protocol.instrument(market_spec(symbol), DEFAULT_FEES) for symbol in SYMBOLS]


def run(config: MarketConfig, seed: int, steps: int, venues: tuple[str, ...] = ("a",)) -> Market:
    market = Market(config, seed, {venue: instruments() for venue in venues})
    for _ in range(steps):
        market.step()
    return market


def test_market_is_a_pure_function_of_the_seed() -> None:
    config = MarketConfig(dislocation_rate=0.05)
    one, two = (Market(config, 7, {"a": instruments()}) for _ in range(2))
    other = Market(config, 8, {"a": instruments()})
    for _ in range(50):
        first, second, third = one.step(), two.step(), other.step()
        assert first == second
    assert first != third


def test_ladder_levels_are_on_the_grid_and_never_crossed() -> None:
    market = Market(MarketConfig(volatility_bps=5.0), 3, {"a": instruments()})
    by_symbol = {i.symbol: i for i in instruments()}
    for _ in range(100):
        for symbol, targets in market.step()["a"].items():
            instrument = by_symbol[symbol]
            assert all(price % instrument.tick_size == 0 for _, price in targets)
            assert all(size % instrument.lot_size == 0 and size >= instrument.min_qty
                       for size in targets.values())  # fmt: skip
            best_bid = max(price for side, price in targets if side == BID)
            best_ask = min(price for side, price in targets if side == ASK)
            assert best_bid < best_ask


def test_cross_rates_start_free_of_triangular_arbitrage() -> None:
    market = run(MarketConfig(noise_bps=0.0), 1, 200)
    process = market.process
    implied = process.price("ETH/USDT") / process.price("BTC/USDT")
    assert math.isclose(process.price("ETH/BTC"), implied, rel_tol=1e-12)


def test_lagging_venue_shows_the_price_of_steps_ago() -> None:
    config = MarketConfig(noise_bps=0.0, lag_steps={"slow": 5})
    market = run(config, 2, 30, venues=("fast", "slow"))
    fast, slow = market.views["fast"], market.views["slow"]
    assert math.isclose(slow.mid("BTC/USDT"), market.process.price("BTC/USDT", lag=5))
    assert math.isclose(fast.mid("BTC/USDT"), market.process.price("BTC/USDT"))


def test_dislocation_rate_controls_how_often_prices_break_away() -> None:
    def dislocated_steps(rate: float) -> int:
        market = Market(MarketConfig(dislocation_rate=rate, dislocation_steps=3), 5,
                        {"a": instruments()})  # fmt: skip
        count = 0
        for _ in range(300):
            market.step()
            count += sum(market.views["a"].dislocation_bps(s) != 0 for s in SYMBOLS)
        return count

    assert dislocated_steps(0.0) == 0
    assert 0 < dislocated_steps(0.01) < dislocated_steps(0.2)


def test_market_can_be_dislocated_by_hand() -> None:
    market = run(MarketConfig(noise_bps=0.0), 4, 3)
    view = market.views["a"]
    before = view.mid("ETH/BTC")
    view.dislocate("ETH/BTC", 50.0, steps=2)
    assert math.isclose(view.mid("ETH/BTC") / before, math.exp(50e-4))


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"venues": ("binance", "nasdaq")}, "venues"),
        ({"symbols": ("DOGE/USDT",)}, "symbols"),
        ({"step_interval_s": 0.0}, "step_interval_s"),
    ],
)
def test_config_refuses_what_cannot_be_simulated(changes: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SimConfig(**changes)  # type: ignore[arg-type]
    assert caught.value.key == key


def test_unlisted_symbol_is_derived_from_reference_prices() -> None:
    spec = market_spec("XRP/ETH")
    assert (spec.tick_size, spec.lot_size, spec.min_notional) == ("0.0000000001", "0.1", "0.01")
