"""Client-side rate limits from each venue's documented budgets.

Venues state budgets as "at most C units per window W" (Binance: 6,000 request weight a minute
and 100 orders per 10 s; OKX: 60 orders per 2 s; ...). A token bucket with capacity C and
refill C/W lets up to 2C through in some window of length W (a full bucket, then a window of
refill), so it can break the budget it models. :class:`WindowBudget` keeps the log of what it
let through and admits a request only when the sliding window still has room: it never exceeds
C in any window, and still lets a burst of C go at once.

Some budgets are counted per key: OKX limits placements per instrument (60 per 2 s for each
instId), Bitfinex every endpoint on its own (90 a minute each), Kraken's matching engine per pair.
A :class:`BudgetSpec` says which requests it covers (``endpoints``, "METHOD /path"; none: all)
and what it is counted per (``per``: one shared window, one per endpoint, or one per
instrument); :class:`KeyedBudget` keeps one :class:`WindowBudget` per key, so the window logic
exists once.

On top of the budgets, the limiter honours the venue's own verdict: a 429 or 418 (Binance's
ban) blocks every request until its ``Retry-After`` has passed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping

import attrs

__all__ = ["BudgetSpec", "KeyedBudget", "RateLimiter", "WindowBudget"]

logger = logging.getLogger(__name__)

DEFAULT_BLOCK_S = 1.0  # a 429 without Retry-After
GUARD_S = 0.05  # transit jitter allowed for: the venue counts arrivals, not sends
_UNITS = ("weight", "request", "order")
_KEYS = ("", "endpoint", "instrument")


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class BudgetSpec:
    """One documented limit: ``limit`` units per ``window_s`` seconds.

    ``unit`` says what a request spends: ``"weight"`` (its request weight), ``"request"``
    (one per request) or ``"order"`` (one per order placement or cancel). ``endpoints`` limits
    the budget to those requests (``"POST /api/v5/trade/order"``; empty: every request), and
    ``per`` counts it separately per ``"endpoint"`` or per ``"instrument"`` (the native symbol a
    request names; ``""``: one window for all).
    """

    name: str
    limit: float
    window_s: float
    unit: str = "request"
    per: str = ""
    endpoints: tuple[str, ...] = attrs.field(default=(), converter=_texts)

    def __attrs_post_init__(self) -> None:
        if self.limit <= 0 or self.window_s <= 0:
            raise ValueError(f"rate limit {self.name}: limit and window must be positive")
        if self.unit not in _UNITS:
            raise ValueError(f"rate limit {self.name}: unknown unit {self.unit!r}")
        if self.per not in _KEYS:
            raise ValueError(f"rate limit {self.name}: cannot count per {self.per!r}")

    def covers(self, endpoint: str) -> bool:
        return not self.endpoints or endpoint in self.endpoints

    def key(self, endpoint: str, instrument: str) -> str:
        """Which of the budget's windows a request spends from."""
        if self.per == "endpoint":
            return endpoint
        return instrument if self.per == "instrument" else ""


@attrs.define(slots=True, eq=False)
class _Spent:
    """One request's spend in one window, stamped when it was sent and again when answered."""

    stamp: float
    cost: float


#: What :meth:`RateLimiter.acquire` spent for one request, for :meth:`RateLimiter.answered`.
Ticket = list[tuple["WindowBudget", _Spent]]


class WindowBudget:
    """A sliding-window budget: the sum spent in any ``window_s`` never exceeds ``limit``.

    A request counts from when it is sent (:meth:`spend`) until ``window_s`` after it was
    answered (:meth:`restamp`): the venue counts it when it arrives, somewhere in between, and
    a request can spend a long while in transit (a new connection's handshakes).
    """

    def __init__(self, spec: BudgetSpec, *, headroom: float = 1.0, guard_s: float = 0.0) -> None:
        self.spec = spec
        #: how long past the window an entry still counts: requests travel, and the venue
        #: counts them when they arrive, so arrivals must stay inside its budget too
        self.span_s = spec.window_s + guard_s
        self.capacity = spec.limit * headroom
        self._log: deque[_Spent] = deque()
        self._spent = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self.span_s
        while self._log and self._log[0].stamp <= horizon:
            self._spent -= self._log.popleft().cost

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
        for entry in self._log:  # the oldest entries leave the window first
            freed += entry.cost
            if freed >= excess - 1e-9:
                return entry.stamp + self.span_s - now
        return self.span_s  # unreachable: the whole log frees more than any excess

    def spend(self, cost: float, now: float) -> _Spent:
        entry = _Spent(now, cost)
        self._log.append(entry)
        self._spent += cost
        return entry

    def restamp(self, entry: _Spent, now: float) -> None:
        """Count ``entry`` from ``now`` (its answer came): moved to the end of the log, which
        stays in time order (``now`` is the latest time yet); counted again if it had expired."""
        try:
            self._log.remove(entry)  # by identity: entries do not compare equal
        except ValueError:
            self._spent += entry.cost
        entry.stamp = now
        self._log.append(entry)

    def used(self, now: float) -> float:
        self._expire(now)
        return self._spent

    def headroom(self, now: float) -> float:
        """Share of the budget still free (for the metrics)."""
        return max(0.0, 1.0 - self.used(now) / self.capacity)


class KeyedBudget:
    """One spec's windows, one per key (a single one for an unkeyed spec), made when a key is
    first seen: a venue has few endpoints and instruments, so they are kept."""

    def __init__(self, spec: BudgetSpec, *, headroom: float = 1.0, guard_s: float = 0.0) -> None:
        self.spec = spec
        self._headroom = headroom
        self._guard_s = guard_s
        self.windows: dict[str, WindowBudget] = {}

    def window(self, key: str) -> WindowBudget:
        budget = self.windows.get(key)
        if budget is None:
            budget = self.windows[key] = WindowBudget(
                self.spec, headroom=self._headroom, guard_s=self._guard_s
            )
        return budget

    def headroom(self, now: float) -> float:
        """The tightest window's free share (1.0 before any request)."""
        return min((budget.headroom(now) for budget in self.windows.values()), default=1.0)


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
        self.budgets = [KeyedBudget(spec, headroom=headroom, guard_s=guard_s) for spec in specs]
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.blocked_until = 0.0
        self.throttled = 0  # requests that had to wait
        self.venue_blocks = 0  # 429/418 replies honoured

    def _costs(
        self, weight: float, is_order: bool, endpoint: str, instrument: str
    ) -> list[tuple[WindowBudget, float]]:
        costs = []
        for budget in self.budgets:
            spec = budget.spec
            if not spec.covers(endpoint):
                continue
            cost = weight if spec.unit == "weight" else 1.0
            if spec.unit != "order" or is_order:
                costs.append((budget.window(spec.key(endpoint, instrument)), cost))
        return costs

    def try_acquire(
        self,
        weight: float = 1.0,
        *,
        is_order: bool = False,
        endpoint: str = "",
        instrument: str = "",
        now: float | None = None,
    ) -> float:
        """Spend for one request if it fits every budget now and no block runs (returns 0);
        otherwise spend nothing and return the seconds until it would fit. A venue's server
        (the simulator) decides with it whether to throttle a request."""
        return self._try(weight, is_order, endpoint, instrument, now)[0]

    def _try(
        self, weight: float, is_order: bool, endpoint: str, instrument: str, now: float | None
    ) -> tuple[float, Ticket]:
        now = self._clock() if now is None else now
        costs = self._costs(weight, is_order, endpoint, instrument)
        delay = max([self.blocked_until - now]
                    + [budget.wait_for(cost, now) for budget, cost in costs])  # fmt: skip
        if delay > 0:
            return delay, []
        return 0.0, [(budget, budget.spend(cost, now)) for budget, cost in costs]

    async def acquire(
        self,
        weight: float = 1.0,
        *,
        is_order: bool = False,
        endpoint: str = "",
        instrument: str = "",
    ) -> Ticket:
        """Wait until the request fits every budget and no venue block is running, then spend;
        pass what it returns to :meth:`answered` when the request's answer (or failure) comes.

        ``endpoint`` ("METHOD /path") and ``instrument`` (a native symbol) pick the budgets that
        cover the request and the window each spends from.
        """
        async with self._lock:  # one waiter at a time keeps the order of requests
            while True:
                delay, ticket = self._try(weight, is_order, endpoint, instrument, None)
                if delay <= 0:
                    return ticket
                self.throttled += 1
                await self._sleep(delay)

    def answered(self, ticket: Ticket) -> None:
        """The request's answer came: it counts from now (it arrived at some point between)
        until a window later."""
        now = self._clock()
        for budget, entry in ticket:
            budget.restamp(entry, now)

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
