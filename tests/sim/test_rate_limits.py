"""Rate limiting as the venue sees it: a burst never exceeds the documented budget, judged on
the simulator's own log of the requests it received."""

from __future__ import annotations

import asyncio

import attrs
import pytest
from test_okx_live import running, trading

from arbcore.exchanges.okx import constants
from arbcore.sim import SimConfig


@pytest.fixture
def okx(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("okx",))


def test_a_burst_of_okx_balance_requests_stays_inside_the_weight_budget(okx: SimConfig) -> None:
    (budget,) = [spec for spec in constants.RATE_LIMITS if spec.unit == "weight"]
    per_request = constants.WEIGHT_BALANCE  # 6 of 60 per 2 s: ten balance reads per window
    burst = int(budget.limit / per_request) + 5

    async def scenario() -> list[float]:
        async with running(okx) as (sim, _), trading(sim) as execution:
            sim.requests["okx"].clear()  # time sync and setup are not part of the burst
            await asyncio.gather(*(execution.fetch_balances() for _ in range(burst)))
            return [r.monotonic_s for r in sim.requests["okx"] if "balance" in r.path]

    arrivals = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert len(arrivals) == burst  # every request was sent...
    for start in arrivals:  # ...and no window of the venue's ever held more than its budget
        in_window = [t for t in arrivals if start <= t < start + budget.window_s]
        assert len(in_window) * per_request <= budget.limit
    assert arrivals[-1] - arrivals[0] >= budget.window_s  # so the burst had to be spread out
