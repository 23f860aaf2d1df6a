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
from collections.abc import Callable, Iterable, MutableMapping

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


#: (kind, venue, legs as (venue, symbol, bought)): a bool, not the OrderSide, since an enum
#: member hashes through a Python call and a signature is hashed on every admit
Signature = tuple[str, str, tuple[tuple[str, str, bool], ...]]
Spends = tuple[tuple[str, str, bool], ...]  # per leg: (venue, asset spent, bought)


def _plan(signature: Signature) -> tuple[Key, Markets, Spends]:
    """What never changes for opportunities of one signature: the key, the markets, and what
    each leg spends (quote for a buy, base for a sell)."""
    kind, venue, bought_legs = signature
    legs = [(v, symbol, OrderSide.BUY if bought else OrderSide.SELL)
            for v, symbol, bought in bought_legs]  # fmt: skip
    spends = []
    for leg_venue, symbol, bought in bought_legs:
        base, _, quote = symbol.partition("/")
        spends.append((leg_venue, quote if bought else base, bought))
    return key(kind, venue, legs), markets_of(legs), tuple(spends)


#: Counted per refusal beside the orchestrator's own counts: ``found[kind] += 1`` and
#: ``detected[kind, venue] += 1`` (the engine's statistics and metrics).
Tally = tuple[str, MutableMapping[str, int], MutableMapping[tuple[str, str], int]]


_BUY = OrderSide.BUY  # (an enum member read from its class costs 4x a global)


class Orchestrator:
    """Admits, ranks and tracks opportunities from every strategy on one event loop."""

    def __init__(self, cool_off_ms: float, *, clock_ns: Callable[[], int] = time.monotonic_ns,
                 balance_of: Callable[[str, str], float] | None = None) -> None:  # fmt: skip
        self.cool_off_ns = int(cool_off_ms * 1_000_000)
        self._clock_ns = clock_ns
        #: (venue, asset) -> balance held; settable (the engine points it at its venues once
        #: they exist, so a read is one call, not a chain)
        self.balance_of = balance_of
        self._busy: set[tuple[str, str]] = set()
        self._reserved: dict[tuple[str, str], float] = defaultdict(float)
        self._last_taken: dict[Key, int] = {}
        self._plans: dict[Signature, tuple[Key, Markets, Spends]] = {}
        self.offered = self.admitted = 0
        self.refused: dict[str, int] = defaultdict(int)
        self._blocked = self.pre_check()

    def available(self, venue: str, asset: str) -> float:
        """What a strategy may still spend on ``venue``: the balance minus what is reserved."""
        balance_of = self.balance_of
        held = balance_of(venue, asset) if balance_of is not None else float("inf")
        return held - self._reserved.get((venue, asset), 0.0)

    def rank(self, opportunities: Iterable[Opportunity]) -> list[Opportunity]:
        return sorted(opportunities, key=lambda o: -(o.expected_profit_usd or 0.0))

    def blocked(self, key: Key, markets: Markets) -> bool:
        """True (and the refusal counted, as :meth:`admit` counts it) when an opportunity with
        this key and these markets would be refused now for its cool-off or busy liquidity."""
        return self._blocked(key, markets)

    def pre_check(self, tally: Tally | None = None) -> Callable[[Key, Markets], bool]:
        """:meth:`blocked` as one closure, also counting each refusal in ``tally`` (a strategy's
        pre-check runs on nearly every book update, so it is one call, not a chain)."""
        last_taken, busy, refused = self._last_taken, self._busy, self.refused
        kind, found, detected = tally if tally is not None else ("", None, None)

        def blocked(key: Key, markets: Markets) -> bool:
            last = last_taken.get(key)
            if last is not None and self._clock_ns() - last < self.cool_off_ns:
                reason = "cool_off"
            elif busy and not busy.isdisjoint(markets):
                reason = "liquidity_in_use"
            else:
                return False
            self.offered += 1
            refused[reason] += 1
            if found is not None and detected is not None:
                found[kind] += 1
                detected[kind, key[1]] += 1  # (kind, venue, legs): see key()
            return True

        return blocked

    def admit(self, opportunity: Opportunity) -> Ticket | None:
        """A ticket when the opportunity may trade now, else None (and the reason is counted)."""
        legs = opportunity.legs
        signature = (opportunity.kind, opportunity.venue,
                     tuple([(leg.venue, leg.symbol, leg.side is _BUY) for leg in legs])
                     )  # fmt: skip
        plan = self._plans.get(signature)
        if plan is None:
            plan = self._plans[signature] = _plan(signature)
        opportunity_key, markets, spends = plan
        if self._blocked(opportunity_key, markets):
            return None
        self.offered += 1
        needs = tuple([(venue, asset, leg.price * leg.size if bought else leg.size)
                       for (venue, asset, bought), leg in zip(spends, legs, strict=True)]
                      )  # fmt: skip
        for venue, asset, amount in needs:
            if amount > self.available(venue, asset) + 1e-12:
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
