"""The live market-data client: a venue feed over a reconnecting connection, books kept in sync.

Venue-neutral: a venue supplies its :class:`~arbcore.marketdata.feed.VenueFeed`, how to
(un)subscribe, and, for venues that sync against REST snapshots (Binance, KuCoin, Gate.io), the
snapshot URL. Everything that can go wrong is counted and recovered from: a malformed frame is
logged and dropped (the next delta then shows a gap), a gap or bad checksum resyncs that book,
a dropped connection resyncs every book after the reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

import attrs
import httpx

from arbcore.errors import FeedError
from arbcore.marketdata.feed import FastDeltaFeed, VenueFeed
from arbcore.marketdata.recorder import Recorder
from arbcore.marketdata.sync import BookSync
from arbcore.model import Quote
from arbcore.net.ws import Backoff, Keepalive, SubscribeBuilder, WsConnection
from arbcore_ext.book import L2Book, LevelBuffer

__all__ = ["BookClient", "ClientCounters"]

logger = logging.getLogger(__name__)

BookCallback = Callable[[str, L2Book], None]


@attrs.define
class ClientCounters:
    malformed: int = 0
    snapshot_requests: int = 0
    snapshot_failures: int = 0


class BookClient:
    """Books for a set of symbols on one venue, fed from one WebSocket connection."""

    def __init__(
        self,
        feed: VenueFeed,
        *,
        url: str,
        subscribe: SubscribeBuilder,
        unsubscribe: SubscribeBuilder | None = None,
        snapshot_url: Callable[[str], str] | None = None,
        http: httpx.AsyncClient | None = None,
        on_book: BookCallback | None = None,
        on_quote: Callable[[Quote], None] | None = None,
        keepalive: Keepalive | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], int] = time.time_ns,
        recorder: Recorder | None = None,
    ) -> None:
        self.feed = feed
        self.recorder = recorder
        self.syncs: dict[str, BookSync] = {}
        self.counters = ClientCounters()
        self._snapshot_url = snapshot_url
        self._http = http
        self._on_book = on_book
        self._on_quote = on_quote
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._fast: FastDeltaFeed | None = feed if hasattr(feed, "parse_delta_into") else None  # type: ignore[assignment]
        self._levels = LevelBuffer(256)
        self.connection = WsConnection(
            url,
            on_frame=self._on_frame,
            subscribe=lambda symbols: subscribe(self._natives(symbols)),
            unsubscribe=(lambda symbols: unsubscribe(self._natives(symbols)))
            if unsubscribe
            else None,
            on_connect=self._on_connect,
            keepalive=keepalive,
            backoff=backoff,
            name=feed.venue,
            clock=clock,
        )

    def _natives(self, symbols: frozenset[str]) -> frozenset[str]:
        return frozenset(self.feed.symbols.by_symbol[symbol].native_symbol for symbol in symbols)

    # -- public -----------------------------------------------------------------------------------

    def fresh_book(self, symbol: str) -> L2Book | None:
        """The book if it is in sync (never a stale one)."""
        sync = self.syncs.get(symbol)
        return None if sync is None else sync.fresh_book()

    async def add_symbols(self, symbols: Iterable[str]) -> None:
        """Start keeping books for unified symbols (at runtime too)."""
        wanted = [symbol for symbol in symbols if symbol not in self.syncs]
        for symbol in wanted:
            instrument = self.feed.symbols.by_symbol.get(symbol)
            if instrument is None:
                raise KeyError(f"{self.feed.venue} lists no instrument {symbol!r}")
            sync = self.feed.new_sync(instrument)
            sync.on_resync = self._request_snapshot
            self.syncs[symbol] = sync
        await self.connection.add_symbols(wanted)

    async def remove_symbols(self, symbols: Iterable[str]) -> None:
        gone = [symbol for symbol in symbols if symbol in self.syncs]
        await self.connection.remove_symbols(gone)
        for symbol in gone:
            del self.syncs[symbol]
            task = self._pending.pop(symbol, None)
            if task is not None:
                task.cancel()

    async def run(self) -> None:
        await self.connection.run()

    async def close(self) -> None:
        await self.connection.close()
        for task in self._pending.values():
            task.cancel()

    # -- internals --------------------------------------------------------------------------------

    def _on_frame(self, frame: bytes, ts_ns: int) -> None:
        if self.recorder is not None:
            self.recorder.write("ws", ts_ns, frame)
        if self._fast is not None:
            scanned = self._fast.parse_delta_into(frame, ts_ns, 0, self._levels)
            if scanned is not None:
                symbol, seq = scanned
                sync = self.syncs.get(symbol)
                applied = sync is not None and sync.on_levels(seq, self._levels, symbol)
                if applied and sync is not None and self._on_book is not None:
                    self._on_book(symbol, sync.book)
                return
        try:
            events = self.feed.parse_ws(frame, ts_ns, 0)
        except (FeedError, ValueError) as exc:
            self.counters.malformed += 1
            logger.warning("%s: dropped a frame: %s", self.feed.venue, exc)
            return
        for event in events:
            if isinstance(event, Quote):
                if self._on_quote is not None:
                    self._on_quote(event)
                continue
            sync = self.syncs.get(event.symbol)
            if sync is not None and sync.on_event(event) and self._on_book is not None:
                self._on_book(event.symbol, sync.book)

    def _on_connect(self) -> None:
        """After a (re)connect nothing from before is trusted: every book resyncs."""
        for sync in self.syncs.values():
            if sync.in_sync:
                sync.resync("reconnected")
            else:
                self._request_snapshot(sync)

    def _request_snapshot(self, sync: BookSync) -> None:
        if self._snapshot_url is None or sync.symbol in self._pending:
            return  # venues that push snapshots themselves resync by resubscribing
        self._pending[sync.symbol] = asyncio.get_running_loop().create_task(
            self._fetch_snapshot(sync)
        )

    async def _fetch_snapshot(self, sync: BookSync) -> None:
        assert self._snapshot_url is not None
        assert self._http is not None
        instrument = self.feed.symbols.by_symbol[sync.symbol]
        url = self._snapshot_url(instrument.native_symbol)
        self.counters.snapshot_requests += 1
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            received = time.time_ns()
            if self.recorder is not None:
                self.recorder.write("rest", received, response.content, url=url)
            events = self.feed.parse_rest(url, response.content, received)
        except (httpx.HTTPError, FeedError, ValueError) as exc:
            self.counters.snapshot_failures += 1
            logger.warning("%s %s: snapshot failed: %s", self.feed.venue, sync.symbol, exc)
            self._pending.pop(sync.symbol, None)
            await asyncio.sleep(1.0)
            self._request_snapshot(sync)
            return
        self._pending.pop(sync.symbol, None)
        for event in events:
            if sync.on_event(event) and self._on_book is not None:
                self._on_book(sync.symbol, sync.book)
