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
from arbcore.exchanges.binance.execution import BinanceExecution
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec, execution_factory
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import delta_routes, new_book, scan_delta_into
from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, Instrument, Quote
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.deltapath import DeltaPath

__all__ = ["SPEC", "BinanceBookFeed", "BinanceDataClient", "stream_messages"]


class BinanceBookFeed:
    """Diff-depth streams synced to REST snapshots by Binance's U/u rule; bookTicker as quotes.

    Binance spot has no book checksum: continuity of ``U``/``u`` against the snapshot's
    ``lastUpdateId`` is the whole guarantee (protocols notes 1.2), plus the crossed-book check.
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        routes = delta_routes(symbols)
        #: plain depth diffs, read and applied in one call (the live client and replay use it)
        self.delta_path = DeltaPath(
            routes, anchor=b'"depthUpdate"', window=96, symbol_key=b"s",
            first_key=b"U", last_key=b"u", time_key=b"E", time_required=True,
            time_unit_ns=1_000_000, level_keys=((b"b", BID), (b"a", ASK)),
        )  # fmt: skip
        #: bookTickers read and checked against the book in C (replay); its ``last_symbol`` is
        #: also the last symbol parse_ws saw (for snapshots recorded without their URL)
        self.quote_path = parsing.book_ticker_path(routes)
        #: trades and other events parse_ws ignores, set aside unread
        self.no_book = parsing.no_book_filter()

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, DeltaPath] | None:
        """What :attr:`delta_path` reads from a frame, nothing applied; None when it declines
        (the frame is not a plain depth diff in the strict shape: parse_ws reads it)."""
        return scan_delta_into(self.delta_path, frame, ts_recv_ns, levels)

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        events = parsing.parse_frame(frame, self.symbols, ts_recv_ns)
        if events:
            self.quote_path.last_symbol = events[-1].symbol
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
        # hftbacktest: the snapshot line carries no symbol (and a file holds one): the last seen
        last = self.delta_path.symbol or self.quote_path.last_symbol
        if last is not None:
            return self.symbols.by_symbol.get(last)
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
    VENUE,
    parse_instruments,
    BinanceBookFeed,
    "BINANCE.0",
    INSTRUMENTS_PATH,
    BinanceDataClient,
    rest_url=REST_BASE_URL,
    execution=execution_factory(BinanceExecution),
)
