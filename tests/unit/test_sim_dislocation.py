"""Dislocations on demand: one venue's market pushed away for exactly as long as asked."""

from __future__ import annotations

import math

import pytest

from arbcore.errors import ConfigError
from arbcore.sim import MarketConfig, SimConfig, Simulator

STILL = MarketConfig(volatility_bps=0.0, burst_probability=0.0, noise_bps=0.0)


def _simulator() -> Simulator:
    """Built, not started: the market and venues exist, nothing listens."""
    config = SimConfig(venues=("binance", "okx"), symbols=("BTC/USDT", "ETH/USDT"), seed=3,
                       step_interval_s=0.1, market=STILL)  # fmt: skip
    return Simulator(config, autostep=False)


def _pushed(sim: Simulator, venue: str, symbol: str = "BTC/USDT") -> float:
    return sim.market.views[venue].dislocation_bps(symbol)


def test_a_dislocation_lasts_the_duration_asked_on_that_venue_and_symbol_only() -> None:
    sim = _simulator()
    sim.step()
    before = {v: sim.market.views[v].mid("BTC/USDT") for v in ("binance", "okx")}
    sim.dislocate("binance", "BTC/USDT", -40.0, duration_s=0.25)  # 3 steps of 0.1 s
    pushed = []
    for _ in range(5):
        sim.step()
        pushed.append(_pushed(sim, "binance"))
        if len(pushed) == 1:
            moved = sim.market.views["binance"].mid("BTC/USDT") / before["binance"]
            assert math.isclose(moved, math.exp(-40e-4), rel_tol=1e-12)
            assert sim.market.views["okx"].mid("BTC/USDT") == before["okx"]
            assert _pushed(sim, "binance", "ETH/USDT") == 0.0
    assert pushed == [-40.0, -40.0, -40.0, 0.0, 0.0]


def test_the_shortest_dislocation_is_one_step() -> None:
    sim = _simulator()
    sim.dislocate("okx", "BTC/USDT", 25.0, duration_s=0.0)
    sim.step()
    assert _pushed(sim, "okx") == 25.0
    sim.step()
    assert _pushed(sim, "okx") == 0.0


@pytest.mark.parametrize(
    ("venue", "symbol", "key"), [("kraken", "BTC/USDT", "venue"), ("binance", "SOL/USDT", "symbol")]
)
def test_a_dislocation_of_what_is_not_simulated_is_a_config_error(
    venue: str, symbol: str, key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _simulator().dislocate(venue, symbol, 10.0, duration_s=1.0)
    assert caught.value.key == key
