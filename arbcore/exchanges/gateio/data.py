"""Gate.io v4 spot market data: the feed (frames -> events, sync rule) for live and replay."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from arbcore.exchanges.gateio import parsing
from arbcore.exchanges.gateio.constants import (
    BOOK_PRICE_MIN_DECIMALS,
    BOOK_SIZE_MIN_DECIMALS,
    INSTRUMENTS_PATH,
    VENUE,
)
from arbcore.exchanges.gateio.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.wire import rescaled
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, Instrument, Quote

__all__ = ["SPEC", "GateioBookFeed", "book_instrument"]


def book_instrument(instrument: Instrument) -> Instrument:
    """The pair at the scales Gate's books need (see BOOK_SIZE_MIN_DECIMALS)."""
    return rescaled(instrument, BOOK_PRICE_MIN_DECIMALS, BOOK_SIZE_MIN_DECIMALS)


class GateioBookFeed:
    """``spot.order_book_update`` synced to REST snapshots by U/u; ``spot.obu`` to its own.

    The documented procedure (protocol notes 2.2) is :class:`RangeRule` with the REST ``id`` as
    the book's sequence: drop ``u <= id``; the first kept has ``U <= id + 1 <= u``; any later
    ``U > id + 1`` is lost updates, so resync. Gate spot books have no checksum and its tickers
    no update id, so continuity and the crossed-book check are the whole guarantee.
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = SymbolMap.of(VENUE, map(book_instrument, symbols.by_native.values()))

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        return list(parsing.parse_frame(frame, self.symbols, ts_recv_ns))

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        if url is None or "/spot/order_book" not in url:
            return []
        native = parse_qs(urlparse(url).query).get("currency_pair", [""])[0]
        instrument = self.symbols.get(native)
        if instrument is None:
            return []
        return [parsing.parse_order_book_snapshot(body, instrument, ts_recv_ns)]

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(VENUE, instrument.symbol, new_book(instrument), RangeRule())


SPEC = VenueSpec(VENUE, parse_instruments, GateioBookFeed, "GATEIO.0", INSTRUMENTS_PATH)
