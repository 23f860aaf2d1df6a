"""Binance spot market data: the feed (frames -> events, sync rule) for live and replay."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from arbcore.exchanges.binance import parsing
from arbcore.exchanges.binance.constants import INSTRUMENTS_PATH, VENUE
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, Instrument, Quote

__all__ = ["SPEC", "BinanceBookFeed"]


class BinanceBookFeed:
    """Diff-depth streams synced to REST snapshots by Binance's U/u rule; bookTicker as quotes.

    Binance spot has no book checksum: continuity of ``U``/``u`` against the snapshot's
    ``lastUpdateId`` is the whole guarantee (protocols notes 1.2), plus the crossed-book check.
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self._last_symbol: str | None = None  # for snapshots recorded without their URL

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        events = parsing.parse_frame(frame, self.symbols, ts_recv_ns)
        if events:
            self._last_symbol = events[-1].symbol
        return events

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        if b'"lastUpdateId"' not in body[:64]:
            return []
        instrument = self._snapshot_instrument(url)
        if instrument is None:
            return []
        return [parsing.parse_depth_snapshot(body, instrument, ts_recv_ns)]

    def _snapshot_instrument(self, url: str | None) -> Instrument | None:
        if url is not None:
            native = parse_qs(urlparse(url).query).get("symbol", [""])[0]
            return self.symbols.get(native)
        if self._last_symbol is not None:  # hftbacktest: the snapshot line carries no symbol
            return self.symbols.by_symbol.get(self._last_symbol)
        return None

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(VENUE, instrument.symbol, new_book(instrument), RangeRule())


SPEC = VenueSpec(VENUE, parse_instruments, BinanceBookFeed, "BINANCE.0", INSTRUMENTS_PATH)
