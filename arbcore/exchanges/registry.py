"""The venue registry: one :class:`VenueSpec` per venue, found by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs
import httpx

from arbcore.exchanges.base import ParsedInstruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.execution_base import RestExecution
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import VenueTrading
from arbcore.marketdata.feed import VenueFeed
from arbcore.model import Instrument
from arbcore.net.http import HttpClient

__all__ = [
    "VENUE_NAMES",
    "ExecutionFactory",
    "VenueSpec",
    "execution_factory",
    "fetch_instruments",
    "get_venue",
]

#: Every venue arbcore speaks, by the name used everywhere (configuration, CLI, events).
VENUE_NAMES = ("binance", "okx", "htx", "bybit", "kucoin", "gateio", "kraken", "bitfinex")


class ExecutionFactory(Protocol):
    """Builds a venue's trading client; one signature for every venue.

    ``base_url`` None is the venue's real trading endpoint; ``http`` a ready client (with the
    venue's check and budgets), ``transport`` an httpx transport for the client it builds.
    """

    def __call__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        *,
        base_url: str | None = None,
        http: HttpClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> VenueTrading: ...


def execution_factory(cls: type[RestExecution]) -> ExecutionFactory:
    """The :class:`ExecutionFactory` of an ``execution.py`` class: the class itself, whose
    constructor (:class:`~arbcore.exchanges.execution_base.RestExecution`) is the one signature
    every venue shares; ``base_url`` None is the venue's own real endpoint."""
    return cls


@attrs.frozen
class VenueSpec:
    """What the venue-neutral code needs from a venue package."""

    name: str
    parse_instruments: Callable[[Any], ParsedInstruments]
    feed: Callable[[SymbolMap], VenueFeed]
    #: cryptofeed's capture of the instrument list (``BINANCE.0``) and its REST URL's path part
    instruments_file: str
    instruments_path: str
    #: the live client (``BookClient`` subclass) taking instruments, ws_url=, rest_url=, ...
    client: Callable[..., Any] | None = None
    #: what the instrument request needs after the path (Bybit: ``?category=spot``)
    instruments_query: str = ""
    #: the real REST base URL the instrument list is read from
    rest_url: str = ""
    #: the trading client (``<Venue>Execution``) behind one signature
    execution: ExecutionFactory | None = None


def get_venue(name: str) -> VenueSpec:
    """The spec of a venue (``arbcore.exchanges.<name>.data.SPEC``)."""
    if name not in VENUE_NAMES:
        raise KeyError(f"unknown venue {name!r}; known: {', '.join(VENUE_NAMES)}")
    try:
        module = importlib.import_module(f"arbcore.exchanges.{name}.data")
    except ModuleNotFoundError as exc:
        raise KeyError(f"venue {name!r} has no market-data support in this version") from exc
    spec: VenueSpec = module.SPEC
    return spec


async def fetch_instruments(
    name: str, http: httpx.AsyncClient, rest_url: str | None = None
) -> list[Instrument]:
    """A venue's instrument list from its REST API: the real one, or ``rest_url`` (the
    simulator's, a proxy's). Raises what the venue's parser raises for a refusal."""
    spec = get_venue(name)
    base = rest_url or spec.rest_url
    response = await http.get(base + spec.instruments_path + spec.instruments_query)
    response.raise_for_status()
    return list(spec.parse_instruments(response.json()).instruments)
