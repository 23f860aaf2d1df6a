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
lookup, not a depth walk and an :class:`~arbcore.model.Opportunity`. ``blocked`` counts its
refusals exactly as :meth:`~Orchestrator.admit` would have. The cool-off and busy state lives in
C (:class:`~arbcore_ext.crossbook.Gate`; ``_last_taken`` and ``_busy`` are its mapping and set
views), so the cross-exchange strategy's compiled touch test refuses a cooling route itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import NamedTuple

from arbcore.model import Opportunity, OrderSide
from arbcore_ext.crossbook import Check, Counts, Gate
from arbcore_ext.ledger import Ledger, Reserved

__all__ = ["Key", "Markets", "Orchestrator", "Ticket", "key", "markets_of"]

Key = tuple[str, str, str]  # (kind, venue, legs)
Markets = tuple[tuple[str, str], ...]


class Ticket(NamedTuple):
    """An admitted opportunity: what it holds until :meth:`Orchestrator.finish` (a named tuple:
    one is made per admitted trade, and a tuple is made without a Python call)."""

    opportunity: Opportunity
    markets: tuple[tuple[str, str], ...]
    reserved: tuple[tuple[str, str, float], ...]  # (venue, asset, amount)


_new_ticket = tuple.__new__  # _new_ticket(Ticket, (opportunity, markets, reserved))


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
#: per leg: (venue, asset spent, bought, (venue, asset): the reservation's key)
Spends = tuple[tuple[str, str, bool, tuple[str, str]], ...]


def _plan(signature: Signature) -> tuple[Key, Markets, Spends]:
    """What never changes for opportunities of one signature: the key, the markets, and what
    each leg spends (quote for a buy, base for a sell)."""
    kind, venue, bought_legs = signature
    legs = [(v, symbol, OrderSide.BUY if bought else OrderSide.SELL)
            for v, symbol, bought in bought_legs]  # fmt: skip
    spends = []
    for leg_venue, symbol, bought in bought_legs:
        base, _, quote = symbol.partition("/")
        asset = quote if bought else base
        spends.append((leg_venue, asset, bought, (leg_venue, asset)))
    return key(kind, venue, legs), markets_of(legs), tuple(spends)


#: Counted per refusal beside the orchestrator's own counts: ``found[kind] += 1`` and
#: ``detected[kind, venue] += 1`` (the engine's statistics and metrics).
Tally = tuple[str, MutableMapping[str, int], MutableMapping[tuple[str, str], int]]


_BUY = OrderSide.BUY  # (an enum member read from its class costs 4x a global)
_INF = float("inf")


class Orchestrator:
    """Admits, ranks and tracks opportunities from every strategy on one event loop."""

    def __init__(self, cool_off_ms: float, *, clock_ns: Callable[[], int] = time.monotonic_ns,
                 balance_of: Callable[[str, str], float] | None = None,
                 ledger: Ledger | None = None) -> None:  # fmt: skip
        """``ledger``: where the reservations live (the engine's, which its venues' balances
        share, so its compiled decision reads both in C); a new one when not given."""
        self.cool_off_ns = int(cool_off_ms * 1_000_000)
        self._clock_ns = clock_ns
        #: (venue, asset) -> balance held; settable (the engine points it at its venues once
        #: they exist, so a read is one call, not a chain)
        self.balance_of = balance_of
        #: the cool-off and busy-liquidity state, in C so a compiled strategy can pre-check
        #: without a Python call: ``_busy`` (a set) and ``_last_taken`` (key -> ns) are its views
        self._gate = Gate(self.cool_off_ns, clock_ns)
        self._busy = self._gate.busy
        self.ledger = Ledger() if ledger is None else ledger
        #: (venue, asset) -> reserved, a defaultdict(float)'s reads over the ledger's C array
        self._reserved: Reserved = self.ledger.reserved
        self._last_taken = self._gate.taken
        self._plans: dict[Signature, tuple[Key, Markets, Spends]] = {}
        self.offered = self.admitted = 0
        #: refusals by reason (a Counts: the compiled pre-checks add theirs in C)
        self.refused: Counts[str] = Counts()
        self._blocked = self.pre_check()

    @property
    def offered(self) -> int:
        """Opportunities offered: admitted, refused by :meth:`admit` or by a pre-check (the
        count is the gate's, so a compiled pre-check adds to it in C)."""
        return self._gate.offered

    @offered.setter
    def offered(self, value: int) -> None:
        self._gate.offered = value

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

    def pre_check(self, tally: Tally | None = None) -> Check:
        """:meth:`blocked` as one compiled callable, also counting each refusal in ``tally``
        (a strategy's pre-check runs on nearly every book update). A strategy with a compiled
        touch test attaches it there (``CrossBook.attach``), so a refusal is no Python call."""
        kind, found, detected = tally if tally is not None else ("", None, None)
        return Check(self._gate, self.refused, kind, found, detected)

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
        self._gate.offered += 1  # (the gate's count: see offered)
        # each leg's spend against what is left of the balance (available(), inlined)
        balance_of, reserved = self.balance_of, self._reserved
        needs = []
        for i, leg in enumerate(legs):
            venue, asset, bought, at = spends[i]
            amount = leg.price * leg.size if bought else leg.size
            held = balance_of(venue, asset) if balance_of is not None else _INF
            if amount > held - reserved.get(at, 0.0) + 1e-12:
                self.refused["balance_reserved"] += 1
                return None
            needs.append((venue, asset, amount))
        for i, need in enumerate(needs):
            reserved[spends[i][3]] += need[2]
        self._busy.update(markets)
        self._last_taken[opportunity_key] = self._clock_ns()
        return self.admitted_ticket(opportunity, markets, tuple(needs))

    def admitted_ticket(self, opportunity: Opportunity, markets: Markets,
                        reserved: tuple[tuple[str, str, float], ...]) -> Ticket:  # fmt: skip
        """The ticket of an opportunity admitted (its reservation, busy markets and cool-off
        already in place: by :meth:`admit`, or by the engine's compiled decision over the same
        state, :class:`~arbcore_ext.crossdecide.CrossDecision`)."""
        self.admitted += 1
        return _new_ticket(Ticket, (opportunity, markets, reserved))

    @property
    def reserved(self) -> Reserved:
        """(venue, asset) -> what admitted trades hold of it (:attr:`ledger`'s reservations)."""
        return self._reserved

    def finish(self, ticket: Ticket) -> None:
        """The trade is over (whatever its outcome): free its markets and reservations."""
        self._busy.difference_update(ticket.markets)
        self.ledger.release(ticket.reserved)  # (reserved[(venue, asset)] -= amount, each)
