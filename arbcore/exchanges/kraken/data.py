"""Kraken spot market data: the feed (frames -> events, checksum rule) for live and replay."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from arbcore.exchanges.kraken import parsing
from arbcore.exchanges.kraken.constants import DEFAULT_BOOK_DEPTH, INSTRUMENTS_PATH, VENUE
from arbcore.exchanges.kraken.parsing import BookFormat
from arbcore.exchanges.kraken.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, ChecksumOnlyRule
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore_ext.book import L2Book

__all__ = ["SPEC", "KrakenBookFeed", "KrakenChecksum"]


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

    Every update applies (:class:`ChecksumOnlyRule`); the book is truncated to the subscribed
    depth and its top 10 checksummed after each one (protocols notes 3.2-3.3). A mismatch
    resyncs; the next snapshot (a resubscribe) restores the book. Kraken has no REST snapshot
    that can be aligned with the stream, so :meth:`parse_rest` yields nothing.
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self._formats: dict[str, BookFormat] = {}
        self._v2_depths: dict[str, int] = {}  # unified symbol -> depth from the subscribe ack

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        events = parsing.parse_frame(frame, self.symbols, ts_recv_ns)
        if not events:
            acked = parsing.v2_subscribed_depth(frame) if frame[:1] == b"{" else None
            if acked is not None:
                self._v2_depths[acked[0]] = acked[1]
            return events
        for event in events:
            if isinstance(event, BookEvent) and event.kind is BookEventKind.SNAPSHOT:
                instrument = self.symbols.by_symbol[event.symbol]
                depth = self._v2_depths.get(event.symbol, DEFAULT_BOOK_DEPTH)
                self._formats[event.symbol] = parsing.book_format(frame, instrument, depth)
        return events

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        return []

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(
            VENUE,
            instrument.symbol,
            new_book(instrument),
            ChecksumOnlyRule(),
            checksum=KrakenChecksum(instrument, self._formats),
        )


SPEC = VenueSpec(VENUE, parse_instruments, KrakenBookFeed, "KRAKEN.0", INSTRUMENTS_PATH)
