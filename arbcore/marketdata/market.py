"""Live books from several venues behind one object: what a bot or the engine reads.

:class:`MarketData` owns one book client per venue (the venue's instrument list fetched over
REST first, so every book has the venue's own tick and lot), runs them, and answers the three
questions every strategy and risk check asks: the venue's book if it is in sync (never a stale
one), how old that book is, and what an asset is worth in dollars. Each book update reaches
``on_book(venue, symbol, book)`` synchronously, inside the client's frame handler, so a decision
taken there is taken within the event that caused it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from arbcore.errors import ConfigError, ExchangeError
from arbcore.exchanges.registry import fetch_instruments, get_venue
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.sync import BookSync
from arbcore.model import USD_ASSETS, Instrument
from arbcore_ext.book import L2Book

__all__ = ["DOLLAR_QUOTES", "BookHandler", "MarketData", "dollar_mid"]

logger = logging.getLogger(__name__)

#: the quotes an asset's dollar price is read from, in order of preference
DOLLAR_QUOTES = ("USDT", "USD", "USDC")

BookHandler = Callable[[str, str, L2Book], None]  # (venue, symbol, book)


def dollar_mid(
    asset: str,
    instruments: Mapping[str, Mapping[str, Instrument]],
    book_of: Callable[[str, str], L2Book | None],
) -> float | None:
    """The mid of the first in-sync ``asset``/dollar market (``DOLLAR_QUOTES`` order, venues in
    ``instruments`` order), or None when there is none."""
    for venue, chosen in instruments.items():
        for quote in DOLLAR_QUOTES:
            instrument = chosen.get(f"{asset}/{quote}")
            book = book_of(venue, instrument.symbol) if instrument is not None else None
            if instrument is None or book is None:
                continue
            bid, ask = book.bbo()
            if bid is not None and ask is not None:
                mid: float = (bid + ask) / 2 / 10**instrument.price_decimals
                return mid
    return None


class MarketData:
    """Several venues' live books; see the module docstring. Use as an async context manager
    (``async with market:`` runs the clients and closes them on exit)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        on_book: BookHandler | None = None,
        client_options: Mapping[str, Any] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.http = http
        self.clock_ns = clock_ns
        #: called on every applied update of an in-sync book (set it before the clients run)
        self.on_book = on_book
        self.instruments: dict[str, dict[str, Instrument]] = {}  # venue -> symbol -> Instrument
        self.clients: dict[str, BookClient] = {}
        self.syncs: dict[str, dict[str, BookSync]] = {}  # venue -> symbol -> its sync
        self._options = dict(client_options or {})
        self._usd: dict[str, float | None] = {}  # asset -> mid, until one of its markets moves
        self._runners: list[asyncio.Task[None]] = []

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(self.instruments)

    async def add_venue(
        self,
        venue: str,
        symbols: Iterable[str] = (),
        *,
        rest_url: str | None = None,
        ws_url: str | None = None,
    ) -> dict[str, Instrument]:
        """Fetch the venue's instruments and subscribe ``symbols`` (empty: every one listed).

        Returns the instruments chosen. Raises ConfigError when the venue has no live client,
        cannot list its instruments, or lists none of ``symbols``.
        """
        spec = get_venue(venue)
        if spec.client is None:
            raise ConfigError(f"{venue} has no live client", key=f"venues.{venue}")
        try:
            listed = {i.symbol: i for i in await fetch_instruments(venue, self.http, rest_url)}
        except (ExchangeError, httpx.HTTPError, ValueError) as exc:
            raise ConfigError(
                f"{venue}: no instrument list ({exc})", key=f"venues.{venue}"
            ) from exc
        wanted = tuple(symbols) or tuple(sorted(listed))
        chosen = {symbol: listed[symbol] for symbol in wanted if symbol in listed}
        if not chosen:
            raise ConfigError(f"{venue} lists none of {', '.join(wanted)}", key=f"venues.{venue}")
        urls = {k: v for k, v in (("rest_url", rest_url), ("ws_url", ws_url)) if v}
        client = spec.client(list(chosen.values()), http=self.http, on_book=self._handler(venue),
                             **urls, **self._options)  # fmt: skip
        await client.add_symbols(list(chosen))
        self.instruments[venue] = chosen
        self.clients[venue] = client
        self.syncs[venue] = client.syncs
        return chosen

    async def __aenter__(self) -> MarketData:
        self._runners = [asyncio.create_task(client.run()) for client in self.clients.values()]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every client and wait for its runner (a book stays as it was, for reading)."""
        for client in self.clients.values():
            await client.close()
        await asyncio.gather(*self._runners, return_exceptions=True)
        self._runners = []

    # -- what strategies and risk read ------------------------------------------------------------

    def instrument(self, venue: str, symbol: str) -> Instrument:
        return self.instruments[venue][symbol]

    def book(self, venue: str, symbol: str) -> L2Book | None:
        """The venue's book for ``symbol`` if it is in sync, else None (never a stale book)."""
        sync = self.syncs.get(venue, {}).get(symbol)
        return sync.fresh_book() if sync is not None else None

    def books_of(self, venue: str) -> Callable[[str], L2Book | None]:
        """``symbol -> book`` for one venue (what a venue's shadow fills read)."""
        return lambda symbol: self.book(venue, symbol)

    def book_age_ms(self, venue: str, symbol: str) -> float:
        """How old the book is now (by ``clock_ns``, the receive clock's: wall time live,
        recorded time in a replay); infinite when it is out of sync or never updated, so a
        freshness limit refuses it."""
        sync = self.syncs.get(venue, {}).get(symbol)
        age = sync.age_ns(self.clock_ns()) if sync is not None else None
        return math.inf if age is None else age / 1e6

    def usd(self, asset: str) -> float | None:
        """USD per unit of ``asset``: 1 for dollar assets, else the mid of a dollar market of it
        (cached until one of those markets moves: a decision asks for the same price often)."""
        if asset in USD_ASSETS:
            return 1.0
        if asset in self._usd:
            return self._usd[asset]
        price = self._dollar_mid(asset)
        self._usd[asset] = price
        return price

    def _dollar_mid(self, asset: str) -> float | None:
        return dollar_mid(asset, self.instruments, self.book)

    def _handler(self, venue: str) -> Callable[[str, L2Book], None]:
        """The client's callback: drop the cached dollar price an update may change, then hand
        the update on (looked up per call, so ``on_book`` can be set after the venue is added)."""
        dollar_base: dict[str, str] = {}  # symbol -> its base if quoted in dollars, else ""
        cache = self._usd

        def on_book(symbol: str, book: L2Book) -> None:
            base = dollar_base.get(symbol)
            if base is None:
                instrument = self.instruments.get(venue, {}).get(symbol)
                base = ""
                if instrument is not None and instrument.quote in DOLLAR_QUOTES:
                    base = instrument.base
                dollar_base[symbol] = base
            if base:
                cache.pop(base, None)
            handler = self.on_book
            if handler is not None:
                handler(venue, symbol, book)

        return on_book
