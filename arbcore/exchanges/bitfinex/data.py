"""Bitfinex v2 market data: the feed (frames -> events, sync rule) for live and replay.

Continuity with SEQ_ALL (conf flag 65536) is per connection, not per book: every message of
every channel ends with the connection's next sequence number. The feed checks it; each book
event names its predecessor on the same channel (``prev_seq``), and a connection gap (or a
frame without a sequence on a SEQ_ALL connection) turns into an empty gap event for every book
of that connection at once, because the lost frame could have been any channel's. The books
follow :class:`~arbcore.marketdata.sync.PrevRule`. Checksum frames (flag 131072) are empty
deltas carrying the venue's checksum, checked by :func:`parsing.book_checksum`.

Nearly every frame is a one-level update or a checksum: the feed's compiled
:attr:`BitfinexBookFeed.delta_path` (``arbcore_ext.bitfinexpath.ChannelPath``, the shape of
``parsing.PLAIN_FRAME``) reads, sequences, applies and checksums those in one call, on the same
per-connection state (:class:`~arbcore_ext.bitfinexpath.ChannelState`) as
:meth:`BitfinexBookFeed.parse_ws`, the validating path that decodes everything else (and is the
reference the fast path is tested against).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import numpy as np

from arbcore.errors import MalformedMessage
from arbcore.exchanges import wire
from arbcore.exchanges.bitfinex import parsing
from arbcore.exchanges.bitfinex.constants import (
    BOOK_CHANNEL,
    BOOK_WINDOW_TICKS,
    CONF_FLAGS,
    CONF_PATH,
    HEARTBEAT_INTERVAL_S,
    INFO_MAINTENANCE_END,
    INFO_MAINTENANCE_START,
    INFO_RECONNECT,
    INSTRUMENTS_PATH,
    PRECISION,
    REST_PUBLIC_URL,
    VENUE,
    WS_PUBLIC_URL,
)
from arbcore.exchanges.bitfinex.execution import BitfinexExecution
from arbcore.exchanges.bitfinex.parsing import MessageKind
from arbcore.exchanges.bitfinex.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec, execution_factory
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import delta_routes, scan_delta_into
from arbcore.marketdata.sync import BookSync, PrevRule
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.net.ws import Keepalive
from arbcore_ext.bitfinexpath import ChannelPath, ChannelState
from arbcore_ext.book import L2Book, LevelBuffer
from arbcore_ext.deltapath import DeltaPath

__all__ = ["DEFAULT_LENGTH", "IDLE_TIMEOUT_S", "PING_INTERVAL_S", "SPEC", "BitfinexBookFeed",
           "BitfinexDataClient", "InfoCounters", "book_subscribe", "conf_message",
           "ping_message"]  # fmt: skip

#: Levels per side the live client asks for: the checksum covers 25, so more buys nothing.
DEFAULT_LENGTH = "25"
#: Heartbeats come per idle channel; an application ping keeps a quiet connection provably alive.
PING_INTERVAL_S = 20.0
#: A subscribed connection that sends nothing (no data, heartbeat or pong) for three heartbeat
#: intervals is dead though open: reconnect.
IDLE_TIMEOUT_S = 3 * HEARTBEAT_INTERVAL_S

_EMPTY = (np.empty(0, np.int8), np.empty(0, np.int64), np.empty(0, np.int64))


def _chan_key(chan_id: int) -> bytes:
    """A channel id as the frames spell it: channels are keyed by these bytes, so the fast
    path looks a frame's channel up without converting it."""
    return b"%d" % chan_id


class BitfinexBookFeed:
    """P0 ``book`` channels: snapshot, then updates; continuity by SEQ_ALL; CRC32 checksums.

    ``on_info`` (the live client sets it) receives the code of every ``info`` event that has
    one: 20051 (reconnect), 20060 and 20061 (maintenance start and end).
    """

    venue = VENUE
    #: parse_ws reads heartbeats, other channels' frames and book snapshots in C
    #: (``delta_path.skip_frame``/``scan_snapshot``); False decodes every frame, the reference
    #: the tests hold those readers to
    read_in_c = True

    def __init__(self, symbols: SymbolMap, on_info: Callable[[int], None] | None = None) -> None:
        self.symbols = symbols
        self.on_info = on_info
        #: plain updates and checksums, read, sequenced, applied and checksummed in one call
        self.delta_path = ChannelPath(delta_routes(symbols))
        for symbol in symbols.by_symbol:
            self.delta_path.set_checksum(symbol, parsing.CHECKSUM_FORM)

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, DeltaPath] | None:
        """What :attr:`delta_path` reads from a book channel's plain update or checksum frame
        (its level, sequence and predecessor, checksum), nothing applied; None, with no state
        changed, for anything else: other frames, other channels, a frame that breaks the
        connection's sequence (``parse_ws`` turns that into gap events for every book) and
        levels that do not convert (``parse_ws`` raises the error)."""
        return scan_delta_into(self.delta_path, frame, ts_recv_ns, levels, connection)

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        """The validating path: any frame, decoded whole; events for book channels. Heartbeats,
        other channels' number frames and book snapshots in the strict shape are read in C
        (:attr:`read_in_c`) into exactly what decoding them gives; anything else is decoded."""
        state = self.delta_path.state(connection)  # the compiled path reads the same object
        if frame[:1] == b"{":
            self._on_event(parsing.decode(frame), state)
            return []
        path = self.delta_path
        if self.read_in_c and path.skip_frame(frame, connection):
            return []  # a heartbeat or another channel's frame, counted in C
        snapshot = path.scan_snapshot(frame, connection) if self.read_in_c else None
        if snapshot is not None:  # a book snapshot read in C (decoding it cost ~100x more)
            chan, seq = snapshot
            sides, prices, sizes = path.levels.arrays()
            payload = (sides.copy(), prices.copy(), sizes.copy())
            message = parsing.ChannelMessage(int(chan), MessageKind.SNAPSHOT, payload, seq)
        else:
            message = parsing.parse_channel_message(parsing.decode(frame))
            chan = _chan_key(message.chan_id)
        instrument = state.books.get(chan)
        events: list[BookEvent | Quote] = []
        if not state.continues(message.seq):
            events = self._gap(state, message.seq, ts_recv_ns)
        if instrument is None or message.kind in (MessageKind.HEARTBEAT, MessageKind.OTHER):
            state.count_frame(message.seq)
            return events
        seq, prev = state.count_frame(message.seq, chan)
        if message.kind is MessageKind.SNAPSHOT:
            payload = message.payload
            if snapshot is None:
                payload = parsing.level_arrays(payload, instrument)
            kind, levels = BookEventKind.SNAPSHOT, payload
        elif message.kind is MessageKind.UPDATE:
            kind, levels = BookEventKind.DELTA, parsing.level_arrays([message.payload], instrument)
        else:
            kind, levels = BookEventKind.DELTA, _EMPTY
        checksum = message.payload if message.kind is MessageKind.CHECKSUM else None
        events.append(_event(instrument, kind, levels, seq, prev, checksum, ts_recv_ns))
        return events

    def _on_event(self, event: Any, state: ChannelState) -> None:
        if not isinstance(event, dict):
            raise MalformedMessage("event frame is not a JSON object", venue=VENUE)
        name = event.get("event")
        if name == "subscribed" and event.get("channel") == BOOK_CHANNEL:
            instrument = self.symbols.get(str(event.get("symbol", "")))
            if instrument is not None:
                state.add_book(_chan_key(int(event["chanId"])), instrument)
        elif name == "unsubscribed":
            state.drop_book(_chan_key(int(event.get("chanId", -1))))
        elif name == "info" and self.on_info is not None:
            code = parsing.info_code(event)
            if code is not None:
                self.on_info(code)

    def new_connection(self, connection: int = 0) -> None:
        """Forget ``connection``'s state: a new socket numbers its messages from the start and
        assigns new channel ids, so nothing of the old one may judge the new one's frames."""
        self.delta_path.forget(connection)

    def channels(self, natives: Iterable[str], connection: int = 0) -> list[int]:
        """The book channel ids ``connection`` has for these native symbols (to unsubscribe)."""
        wanted = set(natives)
        state = self.delta_path.connections.get(connection)
        books = state.books.items() if state is not None else ()
        return sorted(int(chan) for chan, i in books if i.native_symbol in wanted)

    def _gap(
        self, state: ChannelState, seq: int | None, ts_recv_ns: int
    ) -> list[BookEvent | Quote]:
        """The connection lost a frame: one empty gap event per book that had a message."""
        gap_at = seq if seq is not None else (state.last_seq or 0) + 1
        events: list[BookEvent | Quote] = [
            _event(state.books[chan], BookEventKind.DELTA, _EMPTY, gap_at, None, None, ts_recv_ns)
            for chan in state.book_last
        ]
        state.clear_book_last()
        return events

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        return []  # the REST book has no sequence: books come from the WS snapshot

    def new_sync(self, instrument: Instrument) -> BookSync:
        book = L2Book(instrument.price_decimals, instrument.size_decimals,
                      window_ticks=BOOK_WINDOW_TICKS)  # fmt: skip
        return BookSync(VENUE, instrument.symbol, book, PrevRule(), checksum=parsing.book_checksum)


def _event(
    instrument: Instrument,
    kind: BookEventKind,
    levels: parsing.Levels,
    seq: int,
    prev: int | None,
    checksum: int | None,
    ts_recv_ns: int,
) -> BookEvent:
    return wire.book_event(
        VENUE, instrument.symbol, kind, levels, first_seq=seq, last_seq=seq, prev_seq=prev,
        checksum=checksum, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


_request_ids = itertools.count(1)


def conf_message(flags: int = CONF_FLAGS) -> str:
    """``{"event":"conf","flags":...}``: sent before a connection's first subscribe."""
    return json.dumps({"event": "conf", "flags": flags})


def book_subscribe(natives: Iterable[str], length: str = DEFAULT_LENGTH) -> list[str]:
    """One P0 ``book`` subscribe per symbol (Bitfinex takes one channel per request)."""
    return [json.dumps({"event": "subscribe", "channel": BOOK_CHANNEL, "symbol": native,
                        "prec": PRECISION, "len": length})
            for native in sorted(natives)]  # fmt: skip


def ping_message() -> str:
    """Application ping ``{"event":"ping","cid":n}``; the server answers ``pong``."""
    return json.dumps({"event": "ping", "cid": next(_request_ids)})


@attrs.define
class InfoCounters:
    """The ``info`` events a client acted on (ws-general's info codes)."""

    restarts: int = 0  # 20051: the server restarts
    maintenance_starts: int = 0  # 20060
    maintenance_ends: int = 0  # 20061


class BitfinexDataClient(BookClient):
    """Live Bitfinex books: P0 ``book`` channels, SEQ_ALL and checksums, resynced by resubscribing.

    Bitfinex pushes a snapshot after every subscribe and its REST book has no sequence, so a
    gap or checksum failure sends unsubscribe (by channel id) + subscribe, and a reconnect waits
    for the snapshot its subscribe brings (protocols notes 4.2). The ``conf`` flags
    (SEQ_ALL | OB_CHECKSUM) are per connection, so they go ahead of each connection's first
    subscribe; before every connect the feed forgets the old connection, whose sequence and
    channel ids mean nothing on the new one. Heartbeats are sequence-numbered frames the feed
    counts and otherwise ignores. ``rest_url`` is accepted for the common client signature.

    Info events (docs ws-general): 20051, the server is stopping, reconnects; 20060, maintenance
    starts, marks every book stale and asks for nothing (the connection stays) until 20061,
    maintenance ended, resubscribes every book as the docs advise. A new connection starts out
    of maintenance: its subscribe brings fresh snapshots.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        ws_url: str = WS_PUBLIC_URL,
        rest_url: str | None = None,
        length: str = DEFAULT_LENGTH,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "keepalive",
            Keepalive(interval_s=PING_INTERVAL_S, ping=ping_message, idle_timeout_s=IDLE_TIMEOUT_S),
        )
        self._configured = False  # conf sent on the current connection
        self.in_maintenance = False  # between 20060 and 20061 on the current connection
        self.info = InfoCounters()
        feed = BitfinexBookFeed(SymbolMap.of(VENUE, instruments), on_info=self._on_info)

        async def connect_url() -> str:
            feed.new_connection()
            self._configured = False
            self.in_maintenance = False
            return ws_url

        def subscribe(natives: frozenset[str]) -> list[str]:
            conf = [] if self._configured else [conf_message()]
            self._configured = True
            return conf + book_subscribe(natives, length)

        def unsubscribe(natives: frozenset[str]) -> list[str]:
            return [json.dumps({"event": "unsubscribe", "chanId": chan_id})
                    for chan_id in feed.channels(natives)]  # fmt: skip

        super().__init__(
            feed, url=connect_url, subscribe=subscribe, unsubscribe=unsubscribe, **kwargs
        )

    def _on_info(self, code: int) -> None:
        if code == INFO_RECONNECT:
            self.info.restarts += 1
            self.connection.reconnect("the server is restarting (info 20051)")
        elif code == INFO_MAINTENANCE_START:
            self.info.maintenance_starts += 1
            self.in_maintenance = True
            self._resync_all("maintenance (info 20060)")
        elif code == INFO_MAINTENANCE_END:
            self.info.maintenance_ends += 1
            self.in_maintenance = False
            self._resync_all("maintenance ended (info 20061)")

    def _resync_all(self, reason: str) -> None:
        for sync in list(self.syncs.values()):
            if sync.in_sync:
                sync.resync(reason)
            else:
                self._request_resync(sync)

    def _request_resync(self, sync: BookSync) -> None:
        """As the base client, except during maintenance: then books wait for 20061, which
        resubscribes them all (a snapshot taken meanwhile may be of a book about to change)."""
        if not self.in_maintenance:
            super()._request_resync(sync)


SPEC = VenueSpec(
    VENUE,
    parse_instruments,
    BitfinexBookFeed,
    "BITFINEX.0",
    CONF_PATH + INSTRUMENTS_PATH,
    BitfinexDataClient,
    rest_url=REST_PUBLIC_URL,
    execution=execution_factory(BitfinexExecution),
)
