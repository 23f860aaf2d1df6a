"""Bitfinex v2 market data: the feed (frames -> events, sync rule) for live and replay.

Continuity with SEQ_ALL (conf flag 65536) is per connection, not per book: every message of
every channel ends with the connection's next sequence number. The feed checks it; each book
event names its predecessor on the same channel (``prev_seq``), and a connection gap (or a
frame without a sequence on a SEQ_ALL connection) turns into an empty gap event for every book
of that connection at once, because the lost frame could have been any channel's. The books
follow :class:`~arbcore.marketdata.sync.PrevRule`. Checksum frames (flag 131072) are empty
deltas carrying the venue's checksum, checked by :func:`parsing.book_checksum`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np

from arbcore.errors import MalformedMessage
from arbcore.exchanges.bitfinex import parsing
from arbcore.exchanges.bitfinex.constants import (
    BOOK_CHANNEL,
    CONF_FLAGS,
    INSTRUMENTS_PATH,
    PRECISION,
    VENUE,
    WS_PUBLIC_URL,
)
from arbcore.exchanges.bitfinex.parsing import ChannelMessage, MessageKind
from arbcore.exchanges.bitfinex.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, PrevRule
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.net.ws import Keepalive

__all__ = ["DEFAULT_LENGTH", "PING_INTERVAL_S", "SPEC", "BitfinexBookFeed", "BitfinexDataClient",
           "book_subscribe", "conf_message", "ping_message"]  # fmt: skip

#: Levels per side the live client asks for: the checksum covers 25, so more buys nothing.
DEFAULT_LENGTH = "25"
#: Heartbeats come per idle channel; an application ping keeps a quiet connection provably alive.
PING_INTERVAL_S = 20.0

_EMPTY = (np.empty(0, np.int8), np.empty(0, np.int64), np.empty(0, np.int64))


@attrs.define
class _Connection:
    """One connection's state: book channels, the last sequence, each book's last message."""

    books: dict[int, Instrument] = attrs.Factory(dict)
    last_seq: int | None = None
    book_last: dict[int, int] = attrs.Factory(dict)
    counter: int = 0  # stands in for the sequence on a connection without SEQ_ALL


class BitfinexBookFeed:
    """P0 ``book`` channels: snapshot, then updates; continuity by SEQ_ALL; CRC32 checksums."""

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self._connections: dict[int, _Connection] = {}

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        state = self._connections.setdefault(connection, _Connection())
        if frame[:1] == b"{":
            self._on_event(parsing.decode(frame), state)
            return []
        message = parsing.scan_update(frame)
        if message is None:
            message = parsing.parse_channel_message(parsing.decode(frame))
        events: list[BookEvent | Quote] = self._sequence(state, message, ts_recv_ns)
        instrument = state.books.get(message.chan_id)
        if instrument is None or message.kind in (MessageKind.HEARTBEAT, MessageKind.OTHER):
            return events
        seq = message.seq if message.seq is not None else state.counter
        prev = state.book_last.get(message.chan_id)
        state.book_last[message.chan_id] = seq
        if message.kind is MessageKind.SNAPSHOT:
            kind, levels = BookEventKind.SNAPSHOT, parsing.level_arrays(message.payload, instrument)
        elif message.kind is MessageKind.UPDATE:
            kind, levels = BookEventKind.DELTA, parsing.level_arrays([message.payload], instrument)
        else:
            kind, levels = BookEventKind.DELTA, _EMPTY
        checksum = message.payload if message.kind is MessageKind.CHECKSUM else None
        events.append(_event(instrument, kind, levels, seq, prev, checksum, ts_recv_ns))
        return events

    def _on_event(self, event: Any, state: _Connection) -> None:
        if not isinstance(event, dict):
            raise MalformedMessage("event frame is not a JSON object", venue=VENUE)
        if event.get("event") == "subscribed" and event.get("channel") == BOOK_CHANNEL:
            instrument = self.symbols.get(str(event.get("symbol", "")))
            if instrument is not None:
                state.books[int(event["chanId"])] = instrument
        elif event.get("event") == "unsubscribed":
            chan_id = int(event.get("chanId", -1))
            state.books.pop(chan_id, None)
            state.book_last.pop(chan_id, None)  # its last message no longer matters

    def new_connection(self, connection: int = 0) -> None:
        """Forget ``connection``'s state: a new socket numbers its messages from the start and
        assigns new channel ids, so nothing of the old one may judge the new one's frames."""
        self._connections.pop(connection, None)

    def channels(self, natives: Iterable[str], connection: int = 0) -> list[int]:
        """The book channel ids ``connection`` has for these native symbols (to unsubscribe)."""
        wanted = set(natives)
        state = self._connections.get(connection)
        books = state.books.items() if state is not None else ()
        return sorted(chan for chan, i in books if i.native_symbol in wanted)

    def _sequence(
        self, state: _Connection, message: ChannelMessage, ts_recv_ns: int
    ) -> list[BookEvent | Quote]:
        """Check the connection's sequence; a gap is one empty gap event per synced book."""
        state.counter += 1
        seq, last = message.seq, state.last_seq
        if seq is None and last is None:
            return []  # no SEQ_ALL on this connection: checksums are the only check
        state.last_seq = seq
        if last is not None and seq == last + 1:
            return []
        gap_at = seq if seq is not None else (last or 0) + 1
        events: list[BookEvent | Quote] = []
        for chan_id in list(state.book_last):
            del state.book_last[chan_id]
            instrument = state.books[chan_id]
            events.append(
                _event(instrument, BookEventKind.DELTA, _EMPTY, gap_at, None, None, ts_recv_ns)
            )
        return events

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        return []  # the REST book has no sequence: books come from the WS snapshot

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(
            VENUE, instrument.symbol, new_book(instrument), PrevRule(),
            checksum=parsing.book_checksum,
        )  # fmt: skip


def _event(
    instrument: Instrument,
    kind: BookEventKind,
    levels: parsing.Levels,
    seq: int,
    prev: int | None,
    checksum: int | None,
    ts_recv_ns: int,
) -> BookEvent:
    sides, prices, sizes = levels
    return BookEvent(
        venue=VENUE,
        symbol=instrument.symbol,
        kind=kind,
        sides=sides,
        prices=prices,
        sizes=sizes,
        first_seq=seq,
        last_seq=seq,
        prev_seq=prev,
        checksum=checksum,
        ts_recv_ns=ts_recv_ns,
    )


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


class BitfinexDataClient(BookClient):
    """Live Bitfinex books: P0 ``book`` channels, SEQ_ALL and checksums, resynced by resubscribing.

    Bitfinex pushes a snapshot after every subscribe and its REST book has no sequence, so a
    gap or checksum failure sends unsubscribe (by channel id) + subscribe, and a reconnect waits
    for the snapshot its subscribe brings (protocols notes 4.2). The ``conf`` flags
    (SEQ_ALL | OB_CHECKSUM) are per connection, so they go ahead of each connection's first
    subscribe; before every connect the feed forgets the old connection, whose sequence and
    channel ids mean nothing on the new one. Heartbeats are sequence-numbered frames the feed
    counts and otherwise ignores. ``rest_url`` is accepted for the common client signature.
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
        kwargs.setdefault("keepalive", Keepalive(interval_s=PING_INTERVAL_S, ping=ping_message))
        self._configured = False  # conf sent on the current connection
        feed = BitfinexBookFeed(SymbolMap.of(VENUE, instruments))

        async def connect_url() -> str:
            feed.new_connection()
            self._configured = False
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


SPEC = VenueSpec(
    VENUE, parse_instruments, BitfinexBookFeed, "BITFINEX.0", INSTRUMENTS_PATH, BitfinexDataClient
)
