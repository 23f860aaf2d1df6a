"""Keyed rate budgets: one window per endpoint or per instrument, and budgets that cover only
some endpoints; exact on a virtual clock."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_trading_core import FakeClock

from arbcore.net.ratelimit import BudgetSpec, RateLimiter

PLACE = "POST /order"
READ = "GET /order"


def per_instrument(limit: int = 3) -> BudgetSpec:
    return BudgetSpec("place per instrument", limit, 1.0, per="instrument", endpoints=(PLACE,))


def test_each_instrument_has_its_own_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter([per_instrument()], clock=clock, sleep=clock.sleep, guard_s=0.0)

    async def burst() -> None:
        for symbol in ("BTCUSDT", "ETHUSDT"):
            for _ in range(3):
                await limiter.acquire(endpoint=PLACE, instrument=symbol)

    asyncio.run(burst())
    assert (clock.now, limiter.throttled) == (1000.0, 0)  # six at once: three per instrument
    asyncio.run(limiter.acquire(endpoint=PLACE, instrument="BTCUSDT"))
    assert clock.now == pytest.approx(1001.0)  # the fourth on one instrument waits its window
    assert limiter.throttled == 1


def test_a_budget_covers_only_its_endpoints() -> None:
    clock = FakeClock()
    limiter = RateLimiter([per_instrument(1)], clock=clock, sleep=clock.sleep, guard_s=0.0)
    assert limiter.try_acquire(endpoint=PLACE, instrument="BTCUSDT") == 0.0
    assert limiter.try_acquire(endpoint=READ, instrument="BTCUSDT") == 0.0  # not covered
    assert limiter.try_acquire(endpoint=READ, instrument="BTCUSDT") == 0.0
    assert limiter.try_acquire(endpoint=PLACE, instrument="BTCUSDT") == pytest.approx(1.0)


def test_per_endpoint_budgets_count_each_endpoint_apart() -> None:
    clock = FakeClock()
    spec = BudgetSpec("per endpoint", 2, 60.0, per="endpoint")
    limiter = RateLimiter([spec], clock=clock, sleep=clock.sleep, guard_s=0.0)
    for endpoint in (PLACE, PLACE, READ, READ):
        assert limiter.try_acquire(endpoint=endpoint) == 0.0
    assert limiter.try_acquire(endpoint=READ) == pytest.approx(60.0)
    assert sorted(limiter.budgets[0].windows) == [READ, PLACE]


def test_a_refused_try_spends_nothing() -> None:
    clock = FakeClock()
    limiter = RateLimiter([BudgetSpec("requests", 1, 1.0)], clock=clock, sleep=clock.sleep,
                          guard_s=0.0)  # fmt: skip
    assert limiter.try_acquire() == 0.0
    for _ in range(5):
        assert limiter.try_acquire() == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.try_acquire() == 0.0  # the refusals did not fill the window


def test_a_budget_counted_per_something_unknown_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot count per 'account'"):
        BudgetSpec("x", 1, 1.0, per="account")


@given(
    symbols=st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=120),
    gaps=st.lists(st.sampled_from([0.0, 0.0, 0.05, 0.4]), min_size=120, max_size=120),
)
def test_no_instrument_ever_exceeds_its_budget_in_any_window(
    symbols: list[str], gaps: list[float]
) -> None:
    clock = FakeClock()
    limiter = RateLimiter([per_instrument(4)], clock=clock, sleep=clock.sleep, guard_s=0.0)
    log: list[tuple[float, str]] = []

    async def burst() -> None:
        for symbol, gap in zip(symbols, gaps, strict=False):
            clock.now += gap
            await limiter.acquire(endpoint=PLACE, instrument=symbol)
            log.append((clock.now, symbol))

    asyncio.run(burst())
    for start, symbol in log:
        assert sum(1 for t, s in log if s == symbol and start <= t < start + 1.0) <= 4


def test_a_request_counts_until_a_window_after_its_answer() -> None:
    """The venue counts a request when it arrives, which may be long after it was sent (a new
    connection's handshakes): the budget counts it until a window after its answer."""
    clock = FakeClock()
    limiter = RateLimiter([BudgetSpec("requests", 1, 1.0)], clock=clock, sleep=clock.sleep,
                          guard_s=0.0)  # fmt: skip
    ticket = asyncio.run(limiter.acquire())
    clock.now += 0.3  # in transit all that time
    limiter.answered(ticket)
    clock.now += 0.9
    assert limiter.try_acquire() == pytest.approx(0.1)  # a window after the answer, not the send
    clock.now += 0.1
    assert limiter.try_acquire() == 0.0
