"""HTX spot market data: the feed (frames -> events, sync rule) for live and replay.

Two book channels, both read by :mod:`arbcore.exchanges.htx.parsing`:

- ``depth.step0`` (what the recording HUOBI.ws.44.0 holds): every message is a full snapshot,
  so nothing is sequence-checked; the docs' "discard older data by version" is kept here, per
  connection and symbol: a snapshot older than the newest one seen is dropped (counted in
  :attr:`HTXBookFeed.stale_snapshots`), so a reordered frame never rolls a book back. An equal
  one is kept: a repeated ``req`` reply must be able to restore a book that went stale.
- ``mbp.<levels>`` on ``/feed``: deltas chained by ``prevSeqNum == previous seqNum`` (sync's
  :class:`~arbcore.marketdata.sync.PrevRule`; seqNum itself is not contiguous), aligned to the
  snapshot that a ``req`` on the same connection returns. Deltas are buffered until it arrives.

Both are read first by :attr:`HTXBookFeed.delta_path` (:class:`~arbcore_ext.htxpath.HTXPath`):
gunzip in C, step0 snapshots and mbp deltas applied there when nothing needs Python; what it
declines, :meth:`HTXBookFeed.parse_ws` reads, from the text (and levels) the path already has.

HTX spot has no book checksum. REST ``/market/depth`` carries ``version``, not ``seqNum``, so it
cannot align an mbp chain: :meth:`HTXBookFeed.parse_rest` returns no events.

:class:`HTXDataClient` is the live client: ``mbp.150`` on ``/feed``, its snapshot by ``req`` on
the same connection (the :class:`~arbcore.marketdata.client.BookClient` request mode), and every
server ``{"ping": n}`` answered ``{"pong": n}``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from arbcore.exchanges.htx import parsing
from arbcore.exchanges.htx.constants import (
    INSTRUMENTS_PATH,
    MBP_CHANNEL,
    MBP_DEFAULT_LEVELS,
    MBP_REQ_LEVELS,
    PING_INTERVAL_S,
    REQUEST_MESSAGE,
    REQUEST_MIN_INTERVAL_S,
    REST_BASE_URL,
    SUBSCRIBE_MESSAGE,
    UNSUBSCRIBE_MESSAGE,
    VENUE,
    WS_FEED_URL,
)
from arbcore.exchanges.htx.execution import HtxExecution
from arbcore.exchanges.htx.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec, execution_factory
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import new_book, scan_delta_into
from arbcore.marketdata.sync import BookSync, PrevRule
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.net.ws import Keepalive
from arbcore_ext.book import LevelBuffer
from arbcore_ext.deltapath import DeltaPath, Route
from arbcore_ext.htxpath import HTXPath

__all__ = ["SPEC", "HTXBookFeed", "HTXDataClient", "answer_ping", "mbp_messages", "path_routes"]

#: A gzip ``{"ping": n}`` is some 40 bytes; longer frames are not decompressed to look for one.
_MAX_PING_FRAME = 128


class HTXBookFeed:
    """HTX market frames (gzip) -> book events; mbp books sync by the prevSeqNum chain."""

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        #: newest snapshot sequence (version or seqNum) per (connection, symbol)
        self._newest: dict[tuple[int, str], int] = {}
        #: snapshots dropped because they were older than one already seen
        self.stale_snapshots = 0
        #: the last ``{"ping": n}`` n per connection, for the live client to answer
        self.pings: dict[int, int] = {}
        #: gunzip, depth.step0 snapshots and mbp deltas in C (replay and the live client use
        #: it); it keeps ``_newest`` with parse_ws, which reads what it declines
        self.delta_path = HTXPath(path_routes(symbols), self._newest)

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, DeltaPath] | None:
        """What :attr:`delta_path` reads from an mbp delta, nothing applied; None for anything
        else (snapshots, pings, trades, other shapes, bad gzip: parse_ws reads those)."""
        return scan_delta_into(self.delta_path, frame, ts_recv_ns, levels, connection)

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        path = self.delta_path
        text = path.text_of(frame)  # the frame the path just declined is not gunzipped again
        if text is None:  # not gzip the path inflates: decompress says why (or reads it)
            text = parsing.decompress(frame)
        ping = parsing.ping_of(text)
        if ping is not None:
            self.pings[connection] = ping
            return []
        channel = parsing.book_channel(text)
        if channel is None:
            return []
        instrument = self.symbols.get(channel[0])
        if instrument is None:
            return []
        snapshot = path.snapshot_of(frame) if channel[1] == parsing.DEPTH else None
        if snapshot is not None and snapshot[0] == instrument.symbol:
            _, version, ts_ms = snapshot
            event = parsing.snapshot_event(instrument, path.levels, version, ts_ms, ts_recv_ns)
        else:
            event = parsing.parse_book(text, channel, instrument, ts_recv_ns)
        if event.kind is BookEventKind.SNAPSHOT and not self._newer(connection, event):
            self.stale_snapshots += 1
            return []
        return [event]

    def forget(self, connection: int) -> None:
        """Forget the newest sequences seen on ``connection``: it was replaced by a new one.

        A live client reuses connection number 0 after a reconnect; the venue's sequences may
        restart on the new connection, and its first snapshot must not be dropped as stale.
        """
        for key in [key for key in self._newest if key[0] == connection]:
            del self._newest[key]
        self.pings.pop(connection, None)

    def _newer(self, connection: int, event: BookEvent) -> bool:
        key = (connection, event.symbol)
        newest = self._newest.get(key)
        if newest is not None and event.last_seq < newest:
            return False
        self._newest[key] = event.last_seq
        return True

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        """None: the mbp snapshot comes by WS ``req`` (REST depth has no seqNum)."""
        return []

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(VENUE, instrument.symbol, new_book(instrument), PrevRule())


_request_ids = itertools.count(1)


def path_routes(symbols: SymbolMap) -> list[Route]:
    """The path's routes: HTX channels carry the native symbol in lowercase."""
    return [
        Route(native.lower().encode(), i.symbol, i.price_decimals, i.size_decimals)
        for native, i in symbols.by_native.items()
    ]


def mbp_messages(
    template: str, natives: Iterable[str], levels: int = MBP_DEFAULT_LEVELS
) -> list[str]:
    """One ``sub`` / ``unsub`` / ``req`` frame (``template``) per ``market.<sym>.mbp.<levels>``.

    HTX's documented single-channel form (``{"sub": "market.btcusdt.mbp.150", "id": "id1"}``),
    each with its own id.
    """
    channels = [MBP_CHANNEL.format(symbol=native, levels=levels) for native in sorted(natives)]
    return [template.format(channel=channel, id=f"id{next(_request_ids)}") for channel in channels]


def answer_ping(frame: bytes) -> str | None:
    """The ``{"pong": n}`` a server ``{"ping": n}`` frame (gzip) asks for, else None.

    Frames longer than any ping are not decompressed: book frames pass at no cost.
    """
    return None if len(frame) > _MAX_PING_FRAME else parsing.pong_for(frame)


class HTXDataClient(BookClient):
    """Live HTX books: ``market.<sym>.mbp.<levels>`` deltas on ``/feed``, snapshots by ``req``.

    The mbp chain starts from the reply to ``{"req": "market.<sym>.mbp.<levels>"}`` sent on the
    same connection as the ``sub`` (REST depth has no seqNum): after a gap or a reconnect the
    book is stale, deltas buffer and a ``req`` is sent; the reply is the snapshot. ``req``
    supports 5, 20 and 150 levels, so those are the levels accepted (default 150, which sends
    both sides every 100 ms). Requests are spaced by the venue's 100 ms limit. Server pings
    are answered with pongs (two unanswered ones close the connection); ``rest_url`` is
    accepted for the common client signature and unused.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        ws_url: str = WS_FEED_URL,
        rest_url: str | None = None,
        levels: int = MBP_DEFAULT_LEVELS,
        **kwargs: Any,
    ) -> None:
        if levels not in MBP_REQ_LEVELS:
            raise ValueError(f"mbp levels must be one of {MBP_REQ_LEVELS} (req), not {levels}")
        kwargs.setdefault("keepalive", Keepalive(interval_s=PING_INTERVAL_S, answer=answer_ping))
        kwargs.setdefault("request_interval_s", REQUEST_MIN_INTERVAL_S)
        self.htx_feed = HTXBookFeed(SymbolMap.of(VENUE, instruments))
        super().__init__(
            self.htx_feed,
            url=ws_url,
            subscribe=lambda natives: mbp_messages(SUBSCRIBE_MESSAGE, natives, levels),
            unsubscribe=lambda natives: mbp_messages(UNSUBSCRIBE_MESSAGE, natives, levels),
            request=lambda native: mbp_messages(REQUEST_MESSAGE, [native], levels),
            **kwargs,
        )

    def _on_connect(self) -> None:
        """A new connection: sequences seen on the old one no longer hold, then every book
        resyncs by ``req`` (see :meth:`BookClient._on_connect`)."""
        self.htx_feed.forget(0)
        super()._on_connect()


SPEC = VenueSpec(
    VENUE,
    parse_instruments,
    HTXBookFeed,
    "HUOBI.0",
    INSTRUMENTS_PATH,
    HTXDataClient,
    rest_url=REST_BASE_URL,
    execution=execution_factory(HtxExecution),
)
