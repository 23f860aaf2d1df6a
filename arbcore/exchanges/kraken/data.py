"""Kraken spot market data: the feed (frames -> events, checksum rule) for live and replay."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from arbcore.exchanges.kraken import parsing
from arbcore.exchanges.kraken.constants import (
    BOOK_CHANNEL,
    BOOK_DEPTH,
    BOOK_WINDOW_TICKS,
    DEFAULT_BOOK_DEPTH,
    INSTRUMENTS_PATH,
    PING_INTERVAL_S,
    REST_BASE_URL,
    VENUE,
    WS_V1_URL,
)
from arbcore.exchanges.kraken.execution import KrakenExecution
from arbcore.exchanges.kraken.parsing import BookFormat
from arbcore.exchanges.kraken.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec, execution_factory
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import scan_delta_into
from arbcore.marketdata.sync import ArrivalRule, BookSync
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore.net.ws import Keepalive
from arbcore_ext.book import L2Book, LevelBuffer
from arbcore_ext.deltapath import DeltaPath

__all__ = ["SPEC", "KrakenBookFeed", "KrakenChecksum", "KrakenDataClient",
           "book_messages", "ping_message"]  # fmt: skip


@attrs.frozen
class KrakenChecksum:
    """The checksum hook of one pair's BookSync.

    ``formats`` is the feed's live table: the format (depth, wire places) is only known once the
    pair's snapshot has been read, after the BookSync was made. Truncating to the subscribed depth
    happens here because the hook runs after every applied update and before the comparison,
    which is exactly where Kraken's rule puts it.
    """

    instrument: Instrument
    formats: Mapping[str, BookFormat]

    def __call__(self, book: L2Book) -> int:
        fmt = self.formats.get(self.instrument.symbol) or BookFormat(
            DEFAULT_BOOK_DEPTH, self.instrument.price_decimals, self.instrument.size_decimals
        )
        return parsing.book_checksum(book, fmt)


class KrakenBookFeed:
    """WebSocket books checked by Kraken's CRC32 alone (no sequence numbers exist).

    Each book event is numbered by arrival per pair (:class:`ArrivalRule`); the book is
    truncated to the subscribed depth and its top 10 checksummed after each update (protocols
    notes 3.2-3.3). A mismatch resyncs; the next snapshot (a resubscribe) restores the book.
    Kraken has no REST snapshot that can be aligned with the stream, so :meth:`parse_rest`
    yields nothing.

    v1 updates take the compiled :attr:`delta_path` (read, numbered, applied, truncated and
    checksummed in one call); both paths draw from its one arrival counter, so a book sees the
    same numbering whichever path read each frame.
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self._formats: dict[str, BookFormat] = {}
        self._v2_depths: dict[str, int] = {}  # unified symbol -> depth from the subscribe ack
        #: v1 updates read, applied and checksummed in one call (the live client and replay use
        #: it); its arrival counter numbers every book event, whichever path reads it
        self.delta_path = parsing.update_path(symbols)
        #: heartbeats and status events parse_ws ignores, set aside unread
        self.no_book = parsing.no_book_filter()

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, DeltaPath] | None:
        """What :attr:`delta_path` reads from a v1 update (its levels, arrival number and
        checksum), nothing applied; None for anything else (parse_ws reads it)."""
        return scan_delta_into(self.delta_path, frame, ts_recv_ns, levels)

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        events = parsing.parse_frame(frame, self.symbols, ts_recv_ns)
        if not events:
            acked = parsing.v2_subscribed_depth(frame) if frame[:1] == b"{" else None
            if acked is not None:
                self._v2_depths[acked[0]] = acked[1]
            return events
        numbered: list[BookEvent | Quote] = []
        for event in events:
            if isinstance(event, BookEvent):
                if event.kind is BookEventKind.SNAPSHOT:
                    instrument = self.symbols.by_symbol[event.symbol]
                    depth = self._v2_depths.get(event.symbol, DEFAULT_BOOK_DEPTH)
                    self._set_format(event.symbol, parsing.book_format(frame, instrument, depth))
                arrival = self.delta_path.next_arrival()
                event = attrs.evolve(event, first_seq=arrival, last_seq=arrival)
            numbered.append(event)
        return numbered

    def _set_format(self, symbol: str, fmt: BookFormat) -> None:
        """The pair's checksum format, for both checks: the BookSync's hook reads the table, the
        compiled path gets the same truncation depth and form."""
        self._formats[symbol] = fmt
        self.delta_path.set_checksum(symbol, parsing.compiled_form(fmt), fmt.depth)

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        return []

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(
            VENUE,
            instrument.symbol,
            L2Book(
                instrument.price_decimals, instrument.size_decimals, window_ticks=BOOK_WINDOW_TICKS
            ),
            ArrivalRule(),
            checksum=KrakenChecksum(instrument, self._formats),
        )


_request_ids = itertools.count(1)


def book_messages(event: str, natives: Iterable[str], depth: int = BOOK_DEPTH) -> list[str]:
    """v1 ``subscribe`` / ``unsubscribe`` frames of the ``book`` channel for some wsnames."""
    subscription = {"name": BOOK_CHANNEL, "depth": depth}
    return [json.dumps({"event": event, "pair": sorted(natives), "subscription": subscription})]


def ping_message() -> str:
    """v1 application ping ``{"event":"ping","reqid":n}``; the server answers ``pong``."""
    return json.dumps({"event": "ping", "reqid": next(_request_ids)})


class KrakenDataClient(BookClient):
    """Live Kraken spot books over WebSocket v1 (``book-<depth>``), resynced by resubscribing.

    Kraken has no sequence numbers and no REST book that lines up with the stream (protocols
    notes 3.2, 3.4): the snapshot it pushes after every subscribe is the only way back in sync,
    so a checksum failure sends unsubscribe + subscribe and a reconnect waits for the snapshot
    its subscribe brings. Heartbeats (about one a second when idle) are ignored by the feed;
    an application ping goes out every ``PING_INTERVAL_S``. ``rest_url`` is accepted for the
    common client signature and unused.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        ws_url: str = WS_V1_URL,
        rest_url: str | None = None,
        depth: int = BOOK_DEPTH,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("keepalive", Keepalive(interval_s=PING_INTERVAL_S, ping=ping_message))
        super().__init__(
            KrakenBookFeed(SymbolMap.of(VENUE, instruments)),
            url=ws_url,
            subscribe=lambda natives: book_messages("subscribe", natives, depth),
            unsubscribe=lambda natives: book_messages("unsubscribe", natives, depth),
            **kwargs,
        )


SPEC = VenueSpec(
    VENUE,
    parse_instruments,
    KrakenBookFeed,
    "KRAKEN.0",
    INSTRUMENTS_PATH,
    KrakenDataClient,
    rest_url=REST_BASE_URL,
    execution=execution_factory(KrakenExecution),
)
