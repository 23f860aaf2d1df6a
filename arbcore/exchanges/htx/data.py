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

import attrs

from arbcore.errors import MalformedMessage
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
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, PrevRule, SeqView
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.net.ws import Keepalive
from arbcore_ext.book import LevelBuffer
from arbcore_ext.jsonscan import ScanError

__all__ = ["SPEC", "HTXBookFeed", "HTXDataClient", "answer_ping", "mbp_messages"]

#: A gzip ``{"ping": n}`` is some 40 bytes; longer frames are not decompressed to look for one.
_MAX_PING_FRAME = 128


@attrs.define
class _Opened:
    """The last frame decompressed, and its text.

    ``parse_delta_into`` opens every frame; when it declines one, the caller hands the same
    frame to ``parse_ws``, which takes the text from here instead of a second gunzip. Frames are
    immutable bytes, so identity is enough.
    """

    frame: bytes = b""
    text: bytes = b""

    def text_of(self, frame: bytes) -> bytes:
        """The frame's JSON text; MalformedMessage if it is not valid gzip."""
        if frame is not self.frame:
            self.text = parsing.decompress(frame)
            self.frame = frame
        return self.text


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
        self._opened = _Opened()
        self._seq = SeqView()

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, SeqView] | None:
        """Fast path for ``mbp.<levels>`` deltas: gunzip, then the levels scanned into
        ``levels`` by the same :func:`~arbcore.exchanges.htx.parsing.scan_into` as parse_ws,
        no event objects. None for anything else (snapshots, pings, trades, other shapes, bad
        gzip): use parse_ws, which reuses the decompressed text.
        """
        try:
            text = self._opened.text_of(frame)
        except MalformedMessage:
            return None
        channel = parsing.delta_channel(text)
        instrument = None if channel is None else self.symbols.get(channel[0])
        if channel is None or instrument is None:
            return None
        try:
            seq_num, prev, ts_ms = parsing.scan_into(text, channel, instrument, levels)
        except ScanError:
            return None
        seq = self._seq
        seq.first_seq = seq.last_seq = seq_num
        seq.prev_seq, seq.ts_event_ns = prev, ts_ms * 1_000_000
        return instrument.symbol, seq

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        text = self._opened.text_of(frame)
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
