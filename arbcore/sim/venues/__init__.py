"""The venue protocols the simulator speaks, one package per venue, found by name.

Each ``arbcore.sim.venues.<name>`` package exposes ``PROTOCOL``, a :class:`VenueProtocol`: how
the venue states a market's rules (its :class:`~arbcore.model.Instrument`, exactly what arbcore's
own instrument parser reads back from the venue's exchange-info answer), and how to build its
server around a :class:`~arbcore.sim.exchange.SimVenue`.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from starlette.types import ASGIApp

from arbcore.errors import ConfigError
from arbcore.exchanges.base import FeeSchedule
from arbcore.model import Instrument
from arbcore.sim.catalog import MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector

__all__ = ["SPOKEN", "VenueProtocol", "VenueServer", "get_protocol"]

#: the venues whose protocol the simulator speaks so far
SPOKEN = (
    "binance",
    "bitfinex",
    "bybit",
    "gateio",
    "htx",
    "kraken",
    "kucoin",
    "okx",
)


class VenueServer(Protocol):
    """One venue's ASGI app and what the simulator asks of it every step."""

    @property
    def app(self) -> ASGIApp: ...

    #: the WebSocket URL path clients connect to (Binance: ``/stream``)
    ws_path: str

    def publish(self) -> None:
        """Send what changed since the last call (book deltas, quotes) to subscribers."""
        ...


class VenueProtocol(Protocol):
    name: str

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """The venue's instrument for a market, as its exchange-info answer states it."""
        ...

    def server(self, venue: SimVenue, faults: FaultInjector) -> VenueServer: ...


def get_protocol(name: str) -> VenueProtocol:
    if name not in SPOKEN:
        raise ConfigError(
            f"the simulator does not speak {name!r} yet; it speaks {', '.join(SPOKEN)}",
            key="venues",
        )
    module = importlib.import_module(f"arbcore.sim.venues.{name}")
    protocol: VenueProtocol = module.PROTOCOL
    return protocol
