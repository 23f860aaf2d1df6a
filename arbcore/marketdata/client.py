"""The live market-data client: a venue feed over a reconnecting connection, books kept in sync.

Venue-neutral: a venue supplies its :class:`~arbcore.marketdata.feed.VenueFeed`, how to
(un)subscribe, and, for venues that sync against REST snapshots (Binance, KuCoin, Gate.io), the
snapshot URL. Everything that can go wrong is counted and recovered from: a malformed frame is
logged and dropped (the next delta then shows a gap), a gap or bad checksum resyncs that book,
a dropped connection resyncs every book after the reconnect.

Three ways to resync, chosen by whether a ``snapshot_url`` or a ``request`` is given:

- REST (Binance, Gate.io, KuCoin, OKX): the book buffers deltas while a snapshot is fetched.
- Request over the WebSocket (HTX mbp): the symbol's ``request`` frames (HTX ``req``) are sent
  on the same connection and the venue's reply is the snapshot; deltas buffer meanwhile. A
  reconnect requests again for every book (a subscribe alone brings no snapshot); a request
  whose reply has not brought the book into sync within ``request_timeout_s`` is sent again,
  and requests are spaced ``request_interval_s`` apart (HTX: one per 100 ms per connection).
- Resubscribe (Bybit): the venue pushes a snapshot after every subscribe, so a gap sends the
  symbol's unsubscribe + subscribe frames, and a reconnect needs nothing at all beyond the
  subscribe the connection sends anyway (a REST snapshot would only race the pushed one).

The URL may be a coroutine function (KuCoin: a token from ``bullet-public`` before every
connect), and a venue that must not subscribe before the server greets it (KuCoin's
``welcome``) passes ``ready``: subscribe frames are held back until a frame satisfies it.

The connection hands each frame to :attr:`BookClient._on_frame`: for a feed with a compiled
``delta_path`` that is a :class:`~arbcore_ext.frametap.FrameTap`, which takes a delta the path
applied to a kept book straight to the book callback in C while no recorder is set and the
connection is ready (:meth:`BookClient._rebind` keeps that contract); every other frame, and
every frame while either condition fails, goes to the Python handler below as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType

import attrs
import httpx
from websockets.exceptions import ConnectionClosed

from arbcore.errors import FeedError
from arbcore.marketdata.feed import FastDeltaFeed, VenueFeed, check_quote
from arbcore.marketdata.recorder import Recorder
from arbcore.marketdata.sync import BookSync
from arbcore.model import Quote
from arbcore.net.ws import Backoff, Keepalive, SubscribeBuilder, WsConnection
from arbcore_ext.book import L2Book, LevelBuffer
from arbcore_ext.deltapath import APPLIED, DECLINED, SKIPPED, DeltaPath
from arbcore_ext.framepath import QUOTED, BboCheck, KindFilter, QuotePath
from arbcore_ext.frametap import FrameTap

__all__ = ["BookCallback", "BookClient", "ClientCounters", "UrlProvider"]

logger = logging.getLogger(__name__)

BookCallback = Callable[[str, L2Book], None]


def _no_callback(symbol: str, book: L2Book) -> None:
    """No one listens for book updates."""


UrlProvider = str | Callable[[], Awaitable[str]]
#: key in ``BookClient._pending`` (work by symbol) of the subscribe held back until ``ready``
_HELD_SUBSCRIBE = ""


@attrs.define
class ClientCounters:
    malformed: int = 0
    snapshot_requests: int = 0
    snapshot_failures: int = 0
    resubscribes: int = 0
    #: snapshot requests sent over the WebSocket (request mode), retries included
    ws_requests: int = 0


class BookClient:
    """Books for a set of symbols on one venue, fed from one WebSocket connection."""

    def __init__(
        self,
        feed: VenueFeed,
        *,
        url: UrlProvider,
        subscribe: SubscribeBuilder,
        unsubscribe: SubscribeBuilder | None = None,
        snapshot_url: Callable[[str], str] | None = None,
        request: Callable[[str], list[str]] | None = None,
        request_interval_s: float = 0.0,
        request_timeout_s: float = 5.0,
        ready: Callable[[bytes], bool] | None = None,
        http: httpx.AsyncClient | None = None,
        on_book: BookCallback | None = None,
        on_quote: Callable[[Quote], None] | None = None,
        keepalive: Keepalive | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], int] = time.time_ns,
        recorder: Recorder | None = None,
    ) -> None:
        self.feed = feed
        self._recorder = recorder
        self.syncs: dict[str, BookSync] = {}
        self.counters = ClientCounters()
        if snapshot_url is not None and request is not None:
            raise ValueError("a client resyncs by REST snapshot or by WebSocket request, not both")
        self._snapshot_url = snapshot_url
        self._request = request
        self._request_interval_ns = int(request_interval_s * 1e9)
        self._request_timeout_s = request_timeout_s
        self._last_request_ns = 0  # monotonic time of the last request sent
        self._http = http
        self._on_book = on_book
        #: the venue's quote stream (Binance bookTicker, KuCoin ticker) read in C and checked
        #: against each book at the update it names, as replay does (:attr:`bbo`)
        self._quotes: QuotePath | None = getattr(feed, "quote_path", None)
        self._bbo: dict[str, BboCheck] = {}
        #: what an applied update goes to: the quote check first when there is one
        self._updated: BookCallback = (
            self._check_quotes if self._quotes is not None else on_book or _no_callback
        )
        self._on_quote = on_quote
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._can_resubscribe = unsubscribe is not None
        self._reconnecting = False  # inside _on_connect: the connection has just subscribed
        self._ready = ready
        self._is_ready = ready is None
        #: plain deltas read and applied in one call, when the feed has the compiled path
        self._path: DeltaPath | None = getattr(feed, "delta_path", None)
        self._fast: FastDeltaFeed | None = (
            feed if self._path is None and hasattr(feed, "parse_delta_into") else None  # type: ignore[assignment]
        )
        self._levels = LevelBuffer(256)
        #: frames of a kind parse_ws ignores (trades, acks), set aside unread as replay does
        self._no_book: KindFilter | None = getattr(feed, "no_book", None)
        #: what the connection calls with each frame: the compiled tap over the delta path, which
        #: takes an applied delta to :attr:`_updated` in C while it is bound (:meth:`_rebind`)
        #: and hands everything else to :meth:`_handle_frame` / :meth:`_after_path`
        self._tap: FrameTap | None = None
        if self._path is not None:
            self._tap = FrameTap(self._path, self._handle_frame, self._after_path)
        self._on_frame: Callable[[bytes, int], None] = (
            self._handle_frame if self._tap is None else self._tap.on_frame
        )
        self._rebind()
        self.connection = WsConnection(
            self._connect_url(url) if ready is not None else url,
            on_frame=self._on_frame,
            subscribe=lambda symbols: subscribe(self._natives(symbols)) if self._is_ready else [],
            unsubscribe=(lambda symbols: unsubscribe(self._natives(symbols)))
            if unsubscribe
            else None,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            keepalive=keepalive,
            backoff=backoff,
            name=feed.venue,
            clock=clock,
        )

    def _connect_url(self, url: UrlProvider) -> Callable[[], Awaitable[str]]:
        """The URL, and a new connection is not ready until the server says so."""

        async def provide() -> str:
            self._set_ready(False)
            return url if isinstance(url, str) else await url()

        return provide

    def _natives(self, symbols: frozenset[str]) -> frozenset[str]:
        return frozenset(self.feed.symbols.by_symbol[symbol].native_symbol for symbol in symbols)

    # -- public -----------------------------------------------------------------------------------

    @property
    def recorder(self) -> Recorder | None:
        """Where every frame and snapshot is recorded (None: nowhere)."""
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Recorder | None) -> None:
        """Record from the next frame on (None: stop)."""
        self._recorder = recorder
        self._rebind()

    @property
    def keepalive(self) -> Keepalive | None:
        """The keepalive the next session uses."""
        return self.connection.keepalive

    def set_keepalive(self, keepalive: Keepalive) -> None:
        """Use ``keepalive`` from the next session on: KuCoin's ping interval comes with each
        connection's token. The connection reads its keepalive when a session starts.
        """
        self.connection.keepalive = keepalive

    @property
    def bbo(self) -> Mapping[str, BboCheck]:
        """Each book's cross-check against the venue's quotes (``matches``, ``mismatches``);
        empty for a venue without a quote stream."""
        return MappingProxyType(self._bbo)

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
            sync.on_resync = self._request_resync
            self.syncs[symbol] = sync
            if self._path is not None:
                self._path.attach(symbol, sync.core, sync)
            if self._quotes is not None:
                check = self._bbo[symbol] = BboCheck(sync.core)
                self._quotes.attach(symbol, check)
        await self.connection.add_symbols(wanted)

    async def remove_symbols(self, symbols: Iterable[str]) -> None:
        # forget the books first: a resync in flight must not subscribe them again
        gone = [symbol for symbol in symbols if symbol in self.syncs]
        for symbol in gone:
            del self.syncs[symbol]
            if self._path is not None:
                self._path.detach(symbol)
            if self._quotes is not None:
                self._quotes.attach(symbol, None)
                del self._bbo[symbol]
            task = self._pending.pop(symbol, None)
            if task is not None:
                task.cancel()
        await self.connection.remove_symbols(gone)

    async def run(self) -> None:
        await self.connection.run()

    async def close(self) -> None:
        await self.connection.close()
        for task in self._pending.values():
            task.cancel()

    # -- internals --------------------------------------------------------------------------------

    def _rebind(self) -> None:
        """Bind the tap when an applied delta may skip the Python handler (no recorder, the
        connection ready), unbind it otherwise; called whenever either changes."""
        if self._tap is None:
            return
        if self._recorder is None and self._is_ready:
            quotes = self._quotes if self._on_quote is None else None  # (on_quote: parse_ws)
            self._tap.bind(self._on_book, self._bbo if self._quotes is not None else None,
                           quotes, None if quotes is None else self._unquoted)  # fmt: skip
        else:
            self._tap.unbind()

    def _set_ready(self, ready: bool) -> None:
        self._is_ready = ready
        self._rebind()

    def _handle_frame(self, frame: bytes, ts_ns: int) -> None:
        """One frame, in Python (every frame while the tap is unbound, or without a path)."""
        if self._recorder is not None:
            self._recorder.write("ws", ts_ns, frame)
        if not self._is_ready:
            assert self._ready is not None
            if self._ready(frame):
                self._set_ready(True)
                self._spawn(_HELD_SUBSCRIBE, self._subscribe_held)
            return
        status = DECLINED if self._path is None else self._path.apply(frame, ts_ns)
        self._after_path(frame, ts_ns, status)

    def _after_path(self, frame: bytes, ts_ns: int, status: int) -> None:
        """A frame the delta path returned ``status`` for (DECLINED: it is not a delta it
        reads, or there is no path)."""
        if status != DECLINED and self._path is not None:
            owner: BookSync | None = self._path.owner  # None: a symbol not kept
            applied = status == APPLIED or (
                owner is not None and status != SKIPPED and owner.on_path(self._path, status)
            )
            if applied and owner is not None:
                self._updated(owner.symbol, owner.book)
            return
        if (
            self._quotes is not None
            and self._on_quote is None
            and self._quotes.read(frame) == QUOTED
        ):
            return  # (read and checked in C; an on_quote callback wants the Quote: parse_ws)
        self._unquoted(frame, ts_ns)

    def _unquoted(self, frame: bytes, ts_ns: int) -> None:
        """A frame neither the delta path nor the quote reader took: the scanner, the kind
        filter, then the validating parse."""
        if self._fast is not None:
            scanned = self._fast.parse_delta_into(frame, ts_ns, 0, self._levels)
            if scanned is not None:
                symbol, seq = scanned
                sync = self.syncs.get(symbol)
                applied = sync is not None and sync.on_levels(seq, self._levels, symbol)
                if applied and sync is not None:
                    self._updated(symbol, sync.book)
                return
        if self._no_book is not None and self._no_book.matches(frame):
            return
        try:
            events = self.feed.parse_ws(frame, ts_ns, 0)
        except (FeedError, ValueError) as exc:
            self.counters.malformed += 1
            logger.warning("%s: dropped a frame: %s", self.feed.venue, exc)
            return
        for event in events:
            if isinstance(event, Quote):
                check = self._bbo.get(event.symbol)
                if check is not None:
                    check_quote(check, event)
                if self._on_quote is not None:
                    self._on_quote(event)
                continue
            sync = self.syncs.get(event.symbol)
            if sync is not None and sync.on_event(event):
                self._updated(event.symbol, sync.book)

    def _check_quotes(self, symbol: str, book: L2Book) -> None:
        """An applied update: the quote waiting for the book's new update id is compared."""
        check = self._bbo.get(symbol)
        if check is not None:
            check.after_update()
        if self._on_book is not None:
            self._on_book(symbol, book)

    def _on_disconnect(self) -> None:
        """A lost connection makes every book stale at once: between the drop and the resync
        after the reconnect, no strategy may read a book that has stopped updating. (A
        deliberate ``close`` keeps the books as they were, for whoever reads them last.)"""
        for sync in self.syncs.values():
            sync.suspend("connection lost")

    def _on_connect(self) -> None:
        """After a (re)connect nothing from before is trusted: every book resyncs.

        Runs after the connection sent its subscribe frames and before it reads a frame, so a
        venue that pushes snapshots has already been asked for fresh ones: no resubscribe then.
        """
        self._reconnecting = True
        try:
            if self._request is not None:  # replies to the old connection's requests are lost
                for symbol in list(self.syncs):
                    task = self._pending.pop(symbol, None)
                    if task is not None:
                        task.cancel()
            for sync in self.syncs.values():
                if sync.in_sync:
                    sync.resync("reconnected")
                else:
                    self._request_resync(sync)
        finally:
            self._reconnecting = False

    def _request_resync(self, sync: BookSync) -> None:
        """A fresh snapshot for ``sync``: fetched over REST, requested over the WebSocket, or
        pushed after a resubscribe."""
        if sync.symbol in self._pending or not self._is_ready:
            return  # in flight already, or asked for once the connection is ready
        if self._snapshot_url is not None:
            self._spawn(sync.symbol, lambda: self._fetch_snapshot(sync))
        elif self._request is not None:
            self._spawn(sync.symbol, lambda: self._request_snapshot(sync))
        elif self._can_resubscribe and not self._reconnecting:
            self._spawn(sync.symbol, lambda: self._resubscribe(sync))
        # else: the subscribe just sent (or the venue's own push) brings the snapshot

    def _spawn(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work()`` as the pending task under ``key`` (at most one per symbol)."""

        async def run() -> None:
            try:
                await work()
            finally:
                if self._pending.get(key) is task:
                    del self._pending[key]

        task = asyncio.get_running_loop().create_task(run())
        self._pending[key] = task

    async def _resubscribe(self, sync: BookSync) -> None:
        """Unsubscribe + subscribe one symbol: the venue answers with a new snapshot.

        The symbol goes back into the connection's set whatever happens to the unsubscribe, so
        a connection lost meanwhile resubscribes it on reconnect; unless the book was removed.
        """
        self.counters.resubscribes += 1
        try:
            with contextlib.suppress(ConnectionClosed):
                await self.connection.remove_symbols([sync.symbol])
        finally:
            if self.syncs.get(sync.symbol) is sync:
                with contextlib.suppress(ConnectionClosed):
                    await self.connection.add_symbols([sync.symbol])

    async def _request_snapshot(self, sync: BookSync) -> None:
        """Send the symbol's request frames until a reply brings the book into sync.

        The reply arrives as an ordinary frame (a snapshot event); this task only waits for it,
        re-sending after ``request_timeout_s``. It ends with the book in sync, with the book
        removed, or cancelled by a reconnect (which requests again on the new connection).
        """
        assert self._request is not None
        native = self.feed.symbols.by_symbol[sync.symbol].native_symbol
        while self.syncs.get(sync.symbol) is sync and not sync.in_sync:
            wait_ns = self._last_request_ns + self._request_interval_ns - time.monotonic_ns()
            if wait_ns > 0:
                await asyncio.sleep(wait_ns / 1e9)
                continue  # another symbol's request may have taken the slot meanwhile
            self._last_request_ns = time.monotonic_ns()
            self.counters.ws_requests += 1
            if not await self._send_frames(self._request(native)):
                return  # no connection: the reconnect requests again
            deadline = time.monotonic() + self._request_timeout_s
            while not sync.in_sync and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            if not sync.in_sync:
                logger.warning("%s %s: no snapshot reply; requesting again",
                               self.feed.venue, sync.symbol)  # fmt: skip

    async def _send_frames(self, frames: list[str]) -> bool:
        """Send ``frames`` on the current connection; False if there is none (or it closed)."""
        try:
            return await self.connection.send(frames)
        except ConnectionClosed:
            return False

    async def _subscribe_held(self) -> None:
        """Send the subscribe frames held back until the server said the connection is ready."""
        held, self.connection.symbols = self.connection.symbols, frozenset()
        with contextlib.suppress(ConnectionClosed):
            await self.connection.add_symbols(held)
        if self._snapshot_url is None:
            return  # a venue that pushes snapshots has just been asked for them
        for sync in list(self.syncs.values()):
            if not sync.in_sync:
                self._request_resync(sync)

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
            if self._recorder is not None:
                self._recorder.write("rest", received, response.content, url=url)
            events = self.feed.parse_rest(url, response.content, received)
        except (httpx.HTTPError, FeedError, ValueError) as exc:
            self.counters.snapshot_failures += 1
            logger.warning("%s %s: snapshot failed: %s", self.feed.venue, sync.symbol, exc)
            await asyncio.sleep(1.0)
            self._pending.pop(sync.symbol, None)
            if self.syncs.get(sync.symbol) is sync:
                self._request_resync(sync)
            return
        self._pending.pop(sync.symbol, None)
        for event in events:
            if sync.on_event(event):
                self._updated(sync.symbol, sync.book)
