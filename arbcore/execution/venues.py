"""The venues the router trades on, built in one place: shadow (the default) or live.

Shadow and live share every line but the venue client: the router gets one
:class:`~arbcore.exchanges.trading.VenueTrading` per venue either way, and the engine reads the
balances its orchestrator spends and the positions its risk engine watches from
:class:`TradingVenues` either way.

- **shadow**: a :class:`~arbcore.execution.shadow.ShadowVenue` per venue, filling against the
  live book from the configured paper balances;
- **live**: the venue's own trading client (``VenueSpec.execution``) signed with the credentials
  in the environment. Live needs ``mode = "live"`` *and* the caller's explicit opt-in
  (``arbcore run --live``); every venue's credentials are checked before anything starts.
  Balances are the venue's: read at the start (after the clock is synced) and read again after
  every trade on the venue, never derived from the fills.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

import attrs
import httpx

from arbcore.config.schema import AppConfig, SystemConfig
from arbcore.errors import ArbcoreError, ConfigError
from arbcore.exchanges.credentials import Credentials, env_names
from arbcore.exchanges.registry import get_venue
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import VenueTrading
from arbcore.execution.shadow import ShadowVenue
from arbcore.model import Balance, Instrument
from arbcore_ext.book import L2Book
from arbcore_ext.ledger import Balances, Ledger

__all__ = ["TradingVenues", "build_venues", "live_credentials", "traded_venues"]

logger = logging.getLogger(__name__)

#: what a live venue call fails with: the venue's refusal or outage, or the transport
_VENUE_ERRORS = (ArbcoreError, httpx.HTTPError)


class _Endpoint(Protocol):
    @property
    def rest_url(self) -> str: ...


def traded_venues(system: SystemConfig) -> list[str]:
    """The venues a run trades on: the enabled ones, and with ``[sim]`` only those simulated."""
    simulated = None if system.sim is None else set(system.sim.venues)
    return [venue for venue, settings in sorted(system.venues.items())
            if settings.enabled and (simulated is None or venue in simulated)]  # fmt: skip


def live_credentials(
    system: SystemConfig, *, live: bool, environ: Mapping[str, str] | None = None
) -> dict[str, Credentials]:
    """Every traded venue's credentials for a live run; ``{}`` for a shadow one.

    Live needs both ``mode = "live"`` and ``live`` (the caller's explicit opt-in); either alone
    is a :class:`ConfigError`, and so is any variable missing, all of them named in one
    message (names only, never a value).
    """
    if system.mode != "live":
        if live:
            raise ConfigError('live trading was asked for but the configuration says mode = '
                              f'"{system.mode}"; set mode = "live" in it', key="mode")  # fmt: skip
        return {}
    if not live:
        raise ConfigError('the configuration says mode = "live": trading with real orders '
                          "needs the explicit opt-in too (`arbcore run --live`)",
                          key="mode")  # fmt: skip
    env = os.environ if environ is None else environ
    venues = traded_venues(system)
    missing = [name for venue in venues for name in env_names(venue) if not env.get(name)]
    if missing:
        raise ConfigError(f"live trading needs credentials in the environment: set "
                          f"{', '.join(missing)}", key=missing[0])  # fmt: skip
    return {venue: Credentials.from_env(venue, env) for venue in venues}


@attrs.define
class _Held:
    """One venue's balances: ``free`` is what may be spent, ``total`` includes what is locked."""

    free: Balances  # the ledger's view of the venue (one copy: the compiled decision reads it)
    total: Mapping[str, float]
    start: Mapping[str, float]  # ``total`` when trading began: positions are changes from it
    lock: asyncio.Lock = attrs.Factory(asyncio.Lock)  # one read at a time: never an older one last


@attrs.define
class TradingVenues:
    """The router's venue clients, and the balances and positions the engine sees."""

    clients: dict[str, VenueTrading] = attrs.Factory(dict)
    live: bool = False
    _held: dict[str, _Held] = attrs.Factory(dict)
    #: balance reads that failed after a trade (the old figures stay until the next read)
    refresh_failures: int = 0
    #: where every venue's free balances live (``held[venue].free`` is its view), shared with
    #: the orchestrator's reservations in the engine
    ledger: Ledger = attrs.Factory(Ledger)

    def add_shadow(self, paper: ShadowVenue, start: Mapping[str, float]) -> None:
        """Trade on ``paper``; its balances (which it moves itself) are the view, as they change
        (a paper account kept in another ledger moves into this one)."""
        free = self.ledger.balances(paper.venue)
        if paper.balances is not free:
            free.replace(paper.balances)
            paper.balances = free
        self.clients[paper.venue] = paper
        self._held[paper.venue] = _Held(free, free, dict(start))

    @property
    def held(self) -> Mapping[str, _Held]:
        """venue -> its balances (``free``: what may be spent): the table :meth:`balance` reads,
        for the engine's compiled decision, which reads it the same way."""
        return self._held

    def balance(self, venue: str, asset: str) -> float:
        """What ``venue`` holds of ``asset`` free to spend (the orchestrator's view)."""
        held = self._held.get(venue)
        return held.free.get(asset, 0.0) if held is not None else 0.0

    def balances(self, venue: str) -> Mapping[str, float]:
        """Everything ``venue`` holds, locked included."""
        held = self._held.get(venue)
        return held.total if held is not None else {}

    def positions(self, venue: str) -> dict[str, float]:
        """Per asset, what ``venue`` holds beyond what it held when trading began."""
        held = self._held.get(venue)
        if held is None:
            return {}
        total, start = held.total, held.start
        return {asset: total.get(asset, 0.0) - start.get(asset, 0.0)
                for asset in sorted(set(total) | set(start))}  # fmt: skip

    async def start(self) -> list[str]:
        """Live: sync each venue's clock and read its balances (what trading starts from).
        Returns the venues that could not answer, as ``"venue: why"``; shadow: nothing to do."""
        if not self.live:
            return []
        answers = await asyncio.gather(*(self._start(venue) for venue in self.clients))
        return [failure for failure in answers if failure]

    async def _start(self, venue: str) -> str | None:
        client = self.clients[venue]
        sync: Callable[[], Awaitable[Any]] | None = getattr(client, "sync_time", None)
        try:
            if sync is not None:  # Kraken and Bitfinex sign a nonce, not a time
                await sync()
            balances = await client.fetch_balances()
        except _VENUE_ERRORS as error:
            return f"{venue}: {error}"
        free, total = _split(balances)
        view = self.ledger.balances(venue)
        view.replace(free)
        self._held[venue] = _Held(view, total, dict(total))
        return None

    async def refresh(self, venues: Iterable[str]) -> None:
        """Live: read the balances of ``venues`` again (after a trade on them)."""
        if self.live:
            await asyncio.gather(*(self._refresh(venue) for venue in set(venues)
                                   if venue in self._held))  # fmt: skip

    async def _refresh(self, venue: str) -> None:
        held = self._held[venue]
        async with held.lock:
            try:
                balances = await self.clients[venue].fetch_balances()
            except _VENUE_ERRORS as error:
                self.refresh_failures += 1
                logger.warning("%s: balances not read after a trade (%s); the last kept",
                               venue, error)  # fmt: skip
                return
            free, held.total = _split(balances)
            held.free.replace(free)

    async def open_orders(self) -> tuple[dict[str, int], list[str]]:
        """Live: how many orders each venue has open, and the venues that could not say."""
        counts: dict[str, int] = {}
        failures: list[str] = []
        if self.live:
            for venue, client in sorted(self.clients.items()):
                try:
                    counts[venue] = len(await client.fetch_open_orders())
                except _VENUE_ERRORS as error:
                    failures.append(f"{venue}: {error}")
        return counts, failures

    async def aclose(self) -> None:
        """Close the live clients' connections."""
        for client in self.clients.values():
            close = getattr(client, "aclose", None) or getattr(
                getattr(client, "http", None), "aclose", None
            )
            if self.live and close is not None:
                await close()


def _split(balances: Iterable[Balance]) -> tuple[dict[str, float], dict[str, float]]:
    free: dict[str, float] = {}
    total: dict[str, float] = {}
    for balance in balances:
        free[balance.asset] = free.get(balance.asset, 0.0) + balance.free
        total[balance.asset] = total.get(balance.asset, 0.0) + balance.total
    return free, total


def build_venues(
    config: AppConfig,
    instruments: Mapping[str, Mapping[str, Instrument]],
    *,
    credentials: Mapping[str, Credentials],
    endpoints: Mapping[str, _Endpoint],
    book_of: Callable[[str], Callable[[str], L2Book | None]],
    clock_ns: Callable[[], int],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ledger: Ledger | None = None,
) -> TradingVenues:
    """A venue client for every venue in ``instruments``: live ones when ``credentials`` are
    given (from :func:`live_credentials`), shadow ones otherwise.

    Live clients talk to the simulator's endpoint when there is one, else the venue's
    configured ``rest_url``, else its real one. ``book_of(venue)`` is the venue's book getter,
    ``sleep`` how a shadow order waits out its latency (the backtest's virtual clock),
    ``ledger`` where the balances live (the engine's; a new one when not given).
    """
    ledger = Ledger() if ledger is None else ledger
    if credentials:
        venues = TradingVenues(live=True, ledger=ledger)
        for venue, chosen in instruments.items():
            if venue not in credentials:
                raise ConfigError(f"no credentials for {venue}", key=f"venues.{venue}")
            factory = get_venue(venue).execution
            if factory is None:
                raise ConfigError(f"{venue} has no trading client", key=f"venues.{venue}")
            endpoint = endpoints.get(venue)
            settings = config.system.venues.get(venue)
            url = endpoint.rest_url if endpoint else settings.rest_url if settings else None
            venues.clients[venue] = factory(credentials[venue], chosen.values(), base_url=url)
        return venues
    shadow = config.shadow
    venues = TradingVenues(ledger=ledger)
    for venue, chosen in instruments.items():
        paper = ShadowVenue(venue, SymbolMap.of(venue, chosen.values()), book_of(venue),
                            dict(shadow.balances), latency_s=shadow.latency_ms / 1_000,
                            fill_ratio=shadow.fill_ratio, clock_ns=clock_ns,
                            sleep=sleep, ledger=ledger)  # fmt: skip
        venues.add_shadow(paper, shadow.balances)
    return venues
