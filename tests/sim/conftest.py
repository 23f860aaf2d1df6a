"""Shared pieces of the simulator tests: a small three-market configuration."""

from __future__ import annotations

import pytest

from arbcore.sim import MarketConfig, SimConfig

SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")


@pytest.fixture
def config() -> SimConfig:
    """Binance with three markets, a busy market (so every step changes books), fast steps."""
    return SimConfig(
        venues=("binance",),
        symbols=SYMBOLS,
        seed=7,
        step_interval_s=0.02,
        market=MarketConfig(volatility_bps=2.0, churn=0.3, levels=15),
    )
