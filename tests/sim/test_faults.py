"""Fault injection: armed faults strike exactly once, rates are seeded, settings are checked."""

from __future__ import annotations

import pytest

from arbcore.errors import ConfigError
from arbcore.sim import Fault, FaultConfig, FaultInjector


def test_armed_fault_strikes_exactly_the_times_asked() -> None:
    faults = FaultInjector()
    faults.arm(Fault.GAP, "binance", times=2)
    assert [faults.strikes(Fault.GAP, "binance") for _ in range(4)] == [True, True, False, False]
    assert not faults.strikes(Fault.GAP, "okx")
    faults.arm(Fault.DROP)  # any venue
    assert faults.strikes(Fault.DROP, "okx")
    assert faults.injected == {("binance", Fault.GAP): 2, ("okx", Fault.DROP): 1}


def test_rates_are_drawn_from_the_seed_per_venue() -> None:
    def draws(seed: int) -> list[bool]:
        faults = FaultInjector(FaultConfig(gap=0.3), seed=seed)
        return [faults.strikes(Fault.GAP, "binance") for _ in range(200)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)
    assert 30 < sum(draws(1)) < 90


def test_configure_changes_one_venue_at_runtime() -> None:
    faults = FaultInjector(FaultConfig(), venues={"okx": FaultConfig(reject=1.0)})
    faults.configure("binance", drop=1.0)
    assert faults.strikes(Fault.DROP, "binance")
    assert not faults.strikes(Fault.DROP, "kraken")
    assert faults.strikes(Fault.REJECT, "okx")
    with pytest.raises(ConfigError):
        faults.configure("binance", nonsense=1.0)
    with pytest.raises(ConfigError):
        faults.configure(drop=1.5)
