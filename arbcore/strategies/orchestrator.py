"""Several strategies, one pool of liquidity and capital: who gets to trade, and in what order.

Strategies only propose. The orchestrator decides which proposals may go to risk and execution:

- **one trade per piece of liquidity**: while a trade on (venue, symbol) is in flight, no other
  opportunity touching that market is admitted (two strategies seeing the same ask would both
  try to take it);
- **no double spending**: the balances an admitted trade needs are reserved until it finishes,
  and strategies size against what is left (:meth:`available`);
- **cool-off**: the same opportunity (kind, venues, markets, directions) is not taken again
  within ``cool_off_ms``: a dislocation seen on every book update is one trade, not fifty;
- **ranking**: offered together (one book update can open several), the most expected USD
  profit goes first.

Strategies ask :meth:`Orchestrator.blocked` with an opportunity's :func:`key` and markets before
they size it: a dislocation seen on every book update while its key cools off then costs a
dictionary read, not a depth walk and an :class:`~arbcore.model.Opportunity`. ``blocked`` counts
its refusals exactly as :meth:`~Orchestrator.admit` would have.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable

import attrs

from arbcore.model import Opportunity, OrderSide

__all__ = ["Key", "Markets", "Orchestrator", "Ticket", "key", "markets_of"]

Key = tuple[str, str, str]  # (kind, venue, legs)
Markets = tuple[tuple[str, str], ...]


@attrs.frozen
class Ticket:
    """An admitted opportunity: what it holds until :meth:`Orchestrator.finish`."""

    opportunity: Opportunity
    markets: tuple[tuple[str, str], ...]
    reserved: tuple[tuple[str, str, float], ...]  # (venue, asset, amount)


def key(kind: str, venue: str, legs: Iterable[tuple[str, str, OrderSide]]) -> Key:
    """What makes two opportunities "the same" for the cool-off: kind, venues, markets, sides
    (``legs``: ``(venue, symbol, side)`` each). Strings only: the key is hashed on every
    pre-check, and a string caches its hash where an enum's (and its ``.value``) is a Python
    call."""
    return (kind, venue, " ".join(f"{v}:{symbol}:{'buy' if side is OrderSide.BUY else 'sell'}"
                                  for v, symbol, side in legs))  # fmt: skip


def markets_of(legs: Iterable[tuple[str, str, OrderSide]]) -> Markets:
    """The (venue, symbol) pairs an opportunity's legs take liquidity from, sorted."""
    return tuple(sorted({(venue, symbol) for venue, symbol, _ in legs}))


def _legs(opportunity: Opportunity) -> tuple[tuple[str, str, OrderSide], ...]:
    return tuple((leg.venue, leg.symbol, leg.side) for leg in opportunity.legs)


def _needs(opportunity: Opportunity) -> tuple[tuple[str, str, float], ...]:
    """What each leg spends: quote for a buy (price x size), base for a sell."""
    spent = []
    for leg in opportunity.legs:
        base, _, quote = leg.symbol.partition("/")
        if leg.side is OrderSide.BUY:
            spent.append((leg.venue, quote, leg.price * leg.size))
        else:
            spent.append((leg.venue, base, leg.size))
    return tuple(spent)


class Orchestrator:
    """Admits, ranks and tracks opportunities from every strategy on one event loop."""

    def __init__(self, cool_off_ms: float, *, clock_ns: Callable[[], int] = time.monotonic_ns,
                 balance_of: Callable[[str, str], float] | None = None) -> None:  # fmt: skip
        self.cool_off_ns = int(cool_off_ms * 1_000_000)
        self._clock_ns = clock_ns
        self._balance_of = balance_of
        self._busy: set[tuple[str, str]] = set()
        self._reserved: dict[tuple[str, str], float] = defaultdict(float)
        self._last_taken: dict[Key, int] = {}
        self.offered = self.admitted = 0
        self.refused: dict[str, int] = defaultdict(int)

    def available(self, venue: str, asset: str) -> float:
        """What a strategy may still spend on ``venue``: the balance minus what is reserved."""
        held = self._balance_of(venue, asset) if self._balance_of is not None else float("inf")
        return held - self._reserved.get((venue, asset), 0.0)

    def rank(self, opportunities: Iterable[Opportunity]) -> list[Opportunity]:
        return sorted(opportunities, key=lambda o: -(o.expected_profit_usd or 0.0))

    def blocked(self, key: Key, markets: Markets) -> bool:
        """True (and the refusal counted, as :meth:`admit` counts it) when an opportunity with
        this key and these markets would be refused now for its cool-off or busy liquidity."""
        last = self._last_taken.get(key)
        if last is not None and self._clock_ns() - last < self.cool_off_ns:
            reason = "cool_off"
        elif self._busy and not self._busy.isdisjoint(markets):
            reason = "liquidity_in_use"
        else:
            return False
        self.offered += 1
        self.refused[reason] += 1
        return True

    def admit(self, opportunity: Opportunity) -> Ticket | None:
        """A ticket when the opportunity may trade now, else None (and the reason is counted)."""
        legs = _legs(opportunity)
        opportunity_key, markets = key(opportunity.kind, opportunity.venue, legs), markets_of(legs)
        if self.blocked(opportunity_key, markets):
            return None
        self.offered += 1
        needs = _needs(opportunity)
        if any(amount > self.available(venue, asset) + 1e-12 for venue, asset, amount in needs):
            self.refused["balance_reserved"] += 1
            return None
        for venue, asset, amount in needs:
            self._reserved[(venue, asset)] += amount
        self._busy.update(markets)
        self._last_taken[opportunity_key] = self._clock_ns()
        self.admitted += 1
        return Ticket(opportunity, markets, needs)

    def finish(self, ticket: Ticket) -> None:
        """The trade is over (whatever its outcome): free its markets and reservations."""
        self._busy.difference_update(ticket.markets)
        for venue, asset, amount in ticket.reserved:
            self._reserved[(venue, asset)] -= amount
