"""Fault injection: what goes wrong, how often, and switches to make it go wrong now.

:class:`FaultConfig` gives each kind of fault a rate (the chance per WebSocket frame, per REST
request or per order that it strikes); the :class:`FaultInjector` the venue servers consult holds
one config for every venue and optional per-venue overrides, all replaceable at runtime, plus
one-shot triggers (:meth:`FaultInjector.arm`) that make the next occasion fail for certain, which
is how a test provokes exactly one dropped connection or one sequence gap. Draws come from a
seeded generator per venue, so a run with faults is as repeatable as the market.

What each kind does on the wire (venue servers implement them; see docs/sim.md for which):

- ``DROP``: the WebSocket connection is closed before a frame goes out;
- ``DELAY``: a frame is held back ``delay_ms`` (and everything behind it);
- ``REORDER``: a frame is held back and sent after the next one;
- ``GAP``: a book delta is never sent (the client sees a sequence gap);
- ``CHECKSUM``: a book message carries a wrong checksum (venues that send one);
- ``LATENCY``: a REST answer waits ``rest_latency_ms``;
- ``RATE_LIMIT``: a REST request is answered with the venue's 429 and a Retry-After;
- ``BAN``: a REST request is answered with the venue's IP ban (Binance: 418 with a Retry-After of
  ``ban_s``; every request until then gets 418 too). Binance also bans by its own rule, fault or
  not: a request that arrives while a 429's Retry-After is still running;
- ``SERVER_ERROR``: a REST request is answered with a 5xx; for an order placement after the
  order was accepted (the venue's "status unknown": the client must look it up or retry with
  the same client order id);
- ``REJECT``: an order is refused by the venue;
- ``PARTIAL_FILL``: an order may fill at most half its size on arrival (IOC and market orders
  expire the rest, GTC orders rest it);
- ``STUCK``: an order is accepted (its funds locked, its state open with nothing filled) but not
  matched for ``stuck_ms``, then arrives normally: an IOC stays open past any read-back a client
  makes at once. A cancel meanwhile cancels it untouched (the venue holds it, as an order queued
  behind a busy matching engine).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from typing import Any

import attrs

from arbcore.errors import ConfigError

__all__ = ["Fault", "FaultConfig", "FaultInjector"]


class Fault(enum.Enum):
    DROP = "drop"
    DELAY = "delay"
    REORDER = "reorder"
    GAP = "gap"
    CHECKSUM = "checksum"
    LATENCY = "latency"
    RATE_LIMIT = "rate_limit"
    BAN = "ban"
    SERVER_ERROR = "server_error"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    STUCK = "stuck"


def _rate(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"a rate must be between 0 and 1, was {value}", key=attribute.name)


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ConfigError(f"must be >= 0, was {value}", key=attribute.name)


@attrs.frozen(kw_only=True)
class FaultConfig:
    """The chance of each fault per occasion (0 = never, the default), and its size."""

    drop: float = attrs.field(default=0.0, validator=_rate)
    delay: float = attrs.field(default=0.0, validator=_rate)
    delay_ms: float = attrs.field(default=200.0, validator=_non_negative)
    reorder: float = attrs.field(default=0.0, validator=_rate)
    gap: float = attrs.field(default=0.0, validator=_rate)
    checksum: float = attrs.field(default=0.0, validator=_rate)
    latency: float = attrs.field(default=0.0, validator=_rate)
    rest_latency_ms: float = attrs.field(default=100.0, validator=_non_negative)
    rate_limit: float = attrs.field(default=0.0, validator=_rate)
    retry_after_s: int = attrs.field(default=1, validator=_non_negative)
    ban: float = attrs.field(default=0.0, validator=_rate)
    ban_s: int = attrs.field(default=120, validator=_non_negative)
    server_error: float = attrs.field(default=0.0, validator=_rate)
    reject: float = attrs.field(default=0.0, validator=_rate)
    partial_fill: float = attrs.field(default=0.0, validator=_rate)
    stuck: float = attrs.field(default=0.0, validator=_rate)
    stuck_ms: float = attrs.field(default=2000.0, validator=_non_negative)

    def rate(self, fault: Fault) -> float:
        rate: float = getattr(self, fault.value)
        return rate


class FaultInjector:
    """The faults in force, per venue; consulted by the venue servers at every occasion."""

    def __init__(
        self,
        config: FaultConfig | None = None,
        *,
        seed: int = 0,
        venues: Mapping[str, FaultConfig] | None = None,
    ) -> None:
        self.default = config or FaultConfig()
        self._venues: dict[str, FaultConfig] = dict(venues or {})
        self._seed = seed
        self._rngs: dict[str, random.Random] = {}
        self._armed: dict[tuple[str | None, Fault], int] = {}
        self.injected: dict[tuple[str, Fault], int] = {}

    def config(self, venue: str) -> FaultConfig:
        return self._venues.get(venue, self.default)

    def configure(self, venue: str | None = None, **changes: Any) -> FaultConfig:
        """Change rates at runtime, for one venue or (``venue=None``) the default."""
        try:
            updated = attrs.evolve(self.default if venue is None else self.config(venue), **changes)
        except TypeError as exc:
            raise ConfigError(f"unknown fault setting: {exc}") from exc
        if venue is None:
            self.default = updated
        else:
            self._venues[venue] = updated
        return updated

    def arm(self, fault: Fault, venue: str | None = None, times: int = 1) -> None:
        """Make the next ``times`` occasions of ``fault`` (on ``venue``, or any) strike."""
        key = (venue, fault)
        self._armed[key] = self._armed.get(key, 0) + times

    def armed(self, fault: Fault, venue: str | None = None) -> int:
        return self._armed.get((venue, fault), 0)

    def strikes(self, fault: Fault, venue: str) -> bool:
        """Whether ``fault`` strikes now on ``venue``: an armed trigger, else a seeded draw."""
        for key in ((venue, fault), (None, fault)):
            if self._armed.get(key, 0) > 0:
                self._armed[key] -= 1
                return self._count(venue, fault)
        rate = self.config(venue).rate(fault)
        if rate <= 0.0 or self._rng(venue).random() >= rate:
            return False
        return self._count(venue, fault)

    def _count(self, venue: str, fault: Fault) -> bool:
        self.injected[venue, fault] = self.injected.get((venue, fault), 0) + 1
        return True

    def _rng(self, venue: str) -> random.Random:
        rng = self._rngs.get(venue)
        if rng is None:
            rng = self._rngs[venue] = random.Random(f"{self._seed}/faults/{venue}")
        return rng
