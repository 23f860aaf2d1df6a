"""Binance spot market data: the feed (frames -> events, sync rule) for live and replay."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from arbcore.exchanges.binance import parsing
from arbcore.exchanges.binance.constants import (
    DEPTH_STREAM,
    INSTRUMENTS_PATH,
    REST_BASE_URL,
    SNAPSHOT_LIMIT,
    SNAPSHOT_PATH,
    TICKER_STREAM,
    VENUE,
    WS_URL,
)
from arbcore.exchanges.binance.parsing import DEPTH_INTS, DEPTH_LEVELS
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, RangeRule, SeqView
from arbcore.model import BookEvent, Instrument, Quote
from arbcore_ext.book import LevelBuffer
from arbcore_ext.jsonscan import ScanError, scan_delta

__all__ = ["SPEC", "BinanceBookFeed", "BinanceDataClient", "stream_messages"]


class BinanceBookFeed:
    """Diff-depth streams synced to REST snapshots by Binance's U/u rule; bookTicker as quotes.

    Binance spot has no book checksum: continuity of ``U``/``u`` against the snapshot's
    ``lastUpdateId`` is the whole guarantee (protocols notes 1.2), plus the crossed-book check.
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self._last_symbol: str | None = None  # for snapshots recorded without their URL
        self._wire = {
            native.encode(): (i.price_decimals, i.size_decimals, i)
            for native, i in symbols.by_native.items()
        }
        self._seq = SeqView()

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, SeqView] | None:
        """Fast path for plain depth diffs: levels scanned into ``levels``, no event objects.

        None when the frame is anything else (or not in the strict shape): use parse_ws.
        """
        if frame.find(b'"depthUpdate"', 0, 96) < 0:
            return None
        levels.clear()
        try:
            scanned = scan_delta(frame, self._wire, b"s", DEPTH_INTS, DEPTH_LEVELS, levels)
        except ScanError:
            return None
        if scanned is None:
            return None
        instrument, first, last, event_time = scanned
        seq = self._seq
        seq.first_seq, seq.last_seq, seq.ts_event_ns = first, last, event_time * 1_000_000
        self._last_symbol = instrument.symbol
        return instrument.symbol, seq

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


_request_ids = itertools.count(1)


def stream_messages(method: str, natives: Iterable[str]) -> list[str]:
    """SUBSCRIBE / UNSUBSCRIBE frames for the depth and bookTicker streams of some symbols."""
    params = [
        template.format(symbol=native.lower())
        for native in sorted(natives)
        for template in (DEPTH_STREAM, TICKER_STREAM)
    ]
    return [json.dumps({"method": method, "params": params, "id": next(_request_ids)})]


class BinanceDataClient(BookClient):
    """Live Binance spot books: combined depth + bookTicker streams, REST snapshots to sync."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        ws_url: str = WS_URL,
        rest_url: str = REST_BASE_URL,
        http: httpx.AsyncClient | None = None,
        snapshot_limit: int = SNAPSHOT_LIMIT,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            BinanceBookFeed(SymbolMap.of(VENUE, instruments)),
            url=ws_url,
            subscribe=lambda natives: stream_messages("SUBSCRIBE", natives),
            unsubscribe=lambda natives: stream_messages("UNSUBSCRIBE", natives),
            snapshot_url=lambda native: (
                rest_url + SNAPSHOT_PATH.format(symbol=native, limit=snapshot_limit)
            ),
            http=http or httpx.AsyncClient(timeout=10.0),
            **kwargs,
        )


SPEC = VenueSpec(
    VENUE, parse_instruments, BinanceBookFeed, "BINANCE.0", INSTRUMENTS_PATH, BinanceDataClient
)
