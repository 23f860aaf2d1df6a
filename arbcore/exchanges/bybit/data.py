"""Bybit v5 market data: the feed (frames -> events, sync rule) for live and replay."""

from __future__ import annotations

import attrs

from arbcore.exchanges.bybit import parsing
from arbcore.exchanges.bybit.constants import (
    FULL_ORDERBOOK_PATH,
    INSTRUMENTS_PATH,
    ORDERBOOK_PATH,
    VENUE,
)
from arbcore.exchanges.bybit.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, Continuity, SequenceInfo, SeqView
from arbcore.model import BookEvent, Instrument, Quote
from arbcore_ext.book import LevelBuffer
from arbcore_ext.jsonscan import ScanError

__all__ = ["SPEC", "BybitBookFeed", "BybitRule"]

#: ``u`` of the first message after a service restart (a snapshot that overwrites the book).
RESTART_UPDATE_ID = 1


@attrs.frozen
class BybitRule:
    """Each delta's ``u`` is the book's ``u`` plus one; a delta with ``u == 1`` is a restart.

    Documented for ``orderbook.full`` (full-ob.mdx): ``u < book u`` ignore, ``u > book u + 1``
    gap, ``u == 1`` resync. The ``orderbook.<depth>`` topics state no gap rule; the same check is
    applied to them (the recording's ``u`` is contiguous), and their restart arrives as a new
    snapshot, which always resets the book. ``IncrementRule`` would silently skip a restarted
    stream (``u`` 1, 2, ... below the book's ``u``), hence this rule.
    """

    def check(self, book_id: int, event: SequenceInfo) -> Continuity:
        if event.last_seq == RESTART_UPDATE_ID:
            return Continuity.GAP
        if event.last_seq <= book_id:
            return Continuity.SKIP
        return Continuity.APPLY if event.last_seq == book_id + 1 else Continuity.GAP


class BybitBookFeed:
    """``orderbook.<depth>.<symbol>`` snapshots and deltas by :class:`BybitRule`; no checksum.

    Bybit v5 books carry no checksum (protocols notes 3.3): ``u`` continuity and the crossed-book
    check are the whole guarantee. ``orderbook.1`` gives quotes (see ``parsing``).
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self._seq = SeqView()

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, SeqView] | None:
        """Fast path for deltas: levels scanned into ``levels``, no event objects.

        None for anything else (snapshots, other topics, frames not in the strict shape).
        """
        if b'"type":"delta"' not in frame[:128]:
            return None
        native = parsing.topic_symbol(frame)
        instrument = self.symbols.get(native) if native is not None else None
        if instrument is None:
            return None
        levels.clear()
        try:
            update_id, event_ms = parsing.scan_delta(frame, instrument, levels)
        except ScanError:
            return None
        seq = self._seq
        seq.first_seq = seq.last_seq = update_id
        seq.ts_event_ns = event_ms * 1_000_000
        return instrument.symbol, seq

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        return parsing.parse_frame(frame, self.symbols, ts_recv_ns)

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        if url is not None and ORDERBOOK_PATH not in url and FULL_ORDERBOOK_PATH not in url:
            return []
        if b'"result"' not in body or b'"u"' not in body:
            return []
        return [parsing.parse_rest_orderbook(body, self.symbols, ts_recv_ns)]

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(VENUE, instrument.symbol, new_book(instrument), BybitRule())


SPEC = VenueSpec(VENUE, parse_instruments, BybitBookFeed, "BYBIT.0", INSTRUMENTS_PATH)
