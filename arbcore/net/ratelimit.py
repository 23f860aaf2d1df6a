"""Client-side rate limits from each venue's documented budgets.

Venues state budgets as "at most C units per window W" (Binance: 6,000 request weight a minute
and 100 orders per 10 s; OKX: 60 orders per 2 s; ...). A token bucket with capacity C and
refill C/W lets up to 2C through in some window of length W (a full bucket, then a window of
refill), so it can break the budget it models. :class:`WindowBudget` keeps the log of what it
let through and admits a request only when the sliding window still has room: it never exceeds
C in any window, and still lets a burst of C go at once.

On top of the budgets, the limiter honours the venue's own verdict: a 429 or 418 (Binance's
ban) blocks every request until its ``Retry-After`` has passed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

import attrs

__all__ = ["BudgetSpec", "RateLimiter", "WindowBudget"]

logger = logging.getLogger(__name__)

DEFAULT_BLOCK_S = 1.0  # a 429 without Retry-After
GUARD_S = 0.05  # transit jitter allowed for: the venue counts arrivals, not sends


@attrs.frozen
class BudgetSpec:
    """One documented limit: ``limit`` units per ``window_s`` seconds.

    ``unit`` says what a request spends: ``"weight"`` (its request weight), ``"request"``
    (one per request) or ``"order"`` (one per order placement or cancel).
    """

    name: str
    limit: float
    window_s: float
    unit: str = "request"

    def __attrs_post_init__(self) -> None:
        if self.limit <= 0 or self.window_s <= 0:
            raise ValueError(f"rate limit {self.name}: limit and window must be positive")
        if self.unit not in ("weight", "request", "order"):
            raise ValueError(f"rate limit {self.name}: unknown unit {self.unit!r}")


class WindowBudget:
    """A sliding-window budget: the sum spent in any ``window_s`` never exceeds ``limit``."""

    def __init__(self, spec: BudgetSpec, *, headroom: float = 1.0, guard_s: float = 0.0) -> None:
        self.spec = spec
        #: how long past the window an entry still counts: requests travel, and the venue
        #: counts them when they arrive, so arrivals must stay inside its budget too
        self.span_s = spec.window_s + guard_s
        self.capacity = spec.limit * headroom
        self._log: deque[tuple[float, float]] = deque()
        self._spent = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self.span_s
        while self._log and self._log[0][0] <= horizon:
            self._spent -= self._log.popleft()[1]

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` fits (0 when it fits now)."""
        if cost > self.capacity:
            raise ValueError(
                f"rate limit {self.spec.name}: one request costs {cost}, more than the whole "
                f"budget of {self.capacity:g} per {self.spec.window_s:g}s"
            )
        self._expire(now)
        excess = self._spent + cost - self.capacity
        if excess <= 1e-9:
            return 0.0
        freed = 0.0
        for stamp, spent in self._log:  # the oldest entries leave the window first
            freed += spent
            if freed >= excess - 1e-9:
                return stamp + self.span_s - now
        return self.span_s  # unreachable: the whole log frees more than any excess

    def spend(self, cost: float, now: float) -> None:
        self._log.append((now, cost))
        self._spent += cost

    def used(self, now: float) -> float:
        self._expire(now)
        return self._spent

    def headroom(self, now: float) -> float:
        """Share of the budget still free (for the metrics)."""
        return max(0.0, 1.0 - self.used(now) / self.capacity)


class RateLimiter:
    """All of one venue's budgets; :meth:`acquire` waits until a request fits every one."""

    def __init__(
        self,
        specs: list[BudgetSpec] | tuple[BudgetSpec, ...],
        *,
        headroom: float = 1.0,
        guard_s: float = GUARD_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.budgets = [WindowBudget(spec, headroom=headroom, guard_s=guard_s) for spec in specs]
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.blocked_until = 0.0
        self.throttled = 0  # requests that had to wait
        self.venue_blocks = 0  # 429/418 replies honoured

    def _costs(self, weight: float, is_order: bool) -> list[tuple[WindowBudget, float]]:
        costs = []
        for budget in self.budgets:
            unit = budget.spec.unit
            if unit == "weight":
                costs.append((budget, weight))
            elif unit == "request" or is_order:
                costs.append((budget, 1.0))
        return costs

    async def acquire(self, weight: float = 1.0, *, is_order: bool = False) -> None:
        """Wait until the request fits every budget and no venue block is running, then spend."""
        costs = self._costs(weight, is_order)
        async with self._lock:  # one waiter at a time keeps the order of requests
            while True:
                now = self._clock()
                delay = max([self.blocked_until - now]
                            + [budget.wait_for(cost, now) for budget, cost in costs])  # fmt: skip
                if delay <= 0:
                    break
                self.throttled += 1
                await self._sleep(delay)
            for budget, cost in costs:
                budget.spend(cost, now)

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Honour a venue's throttling reply: block until its Retry-After has passed."""
        if status in (418, 429):
            self.block(_seconds(headers.get("retry-after")), f"HTTP {status}")

    def block(self, seconds: float | None, why: str = "the venue throttled us") -> None:
        """Send nothing for ``seconds`` (a default second when the venue did not say).

        For venues whose throttling answer is not a plain 429 + Retry-After (Bybit's 403 IP
        ban, KuCoin's reset header in ms): their error mapping knows the time and says so.
        """
        block = seconds if seconds is not None else DEFAULT_BLOCK_S
        until = self._clock() + block
        if until > self.blocked_until:
            self.blocked_until = until
            self.venue_blocks += 1
            logger.warning("%s: pausing requests for %.3fs", why, block)

    def headroom(self) -> dict[str, float]:
        now = self._clock()
        return {budget.spec.name: budget.headroom(now) for budget in self.budgets}


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
