"""KuCoin spot market data: the feed (frames -> events, sync rule) for live and replay."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from arbcore.exchanges.kucoin import parsing
from arbcore.exchanges.kucoin.constants import (
    BOOK_SIZE_GUARD_DECIMALS,
    BOOK_SIZE_MIN_DECIMALS,
    VENUE,
)
from arbcore.exchanges.kucoin.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.wire import rescaled
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, Instrument, Quote

__all__ = ["SPEC", "KucoinBookFeed", "KucoinBookSync", "book_instrument"]


def book_instrument(instrument: Instrument) -> Instrument:
    """The instrument at the size scale KuCoin's books need (see BOOK_SIZE_GUARD_DECIMALS)."""
    decimals = max(instrument.size_decimals + BOOK_SIZE_GUARD_DECIMALS, BOOK_SIZE_MIN_DECIMALS)
    return rescaled(instrument, instrument.price_decimals, decimals)


class KucoinBookSync(BookSync):
    """KuCoin's calibration (protocol notes 4.2): message and row sequences against the book's.

    Messages: skip ``sequenceEnd <= id``, gap if ``sequenceStart > id + 1`` (that is
    :class:`RangeRule`). Rows: a message that straddles the book's sequence (the first one after
    a snapshot) applies only the rows whose own sequence is newer than it.
    """

    def _delta(self, event: BookEvent) -> bool:
        if isinstance(event, parsing.KucoinDelta):
            event = event.after(self.book_id)
        return super()._delta(event)


class KucoinBookFeed:
    """``/market/level2`` increments synced to REST level2 snapshots; tickers as quotes.

    KuCoin spot has no book checksum: sequence continuity against the snapshot's ``sequence``
    is the whole guarantee, plus the crossed-book check and the ticker cross-check (its
    ``sequence`` names the book update its best bid/ask reflect).
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = SymbolMap.of(VENUE, map(book_instrument, symbols.by_native.values()))

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        return parsing.parse_frame(frame, self.symbols, ts_recv_ns)

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        if url is None or "/orderbook/level2" not in url:
            return []
        native = parse_qs(urlparse(url).query).get("symbol", [""])[0]
        instrument = self.symbols.get(native)
        if instrument is None:
            return []
        return [parsing.parse_level2_snapshot(body, instrument, ts_recv_ns)]

    def new_sync(self, instrument: Instrument) -> BookSync:
        return KucoinBookSync(VENUE, instrument.symbol, new_book(instrument), RangeRule())


#: The capture fetched the v1 path; v1 and v2 answer in the same shape.
SPEC = VenueSpec(VENUE, parse_instruments, KucoinBookFeed, "KUCOIN.0", "/symbols")
