"""HTX spot market data: the feed (frames -> events, sync rule) for live and replay.

Two book channels, both read by :mod:`arbcore.exchanges.htx.parsing`:

- ``depth.step0`` (what the recording HUOBI.ws.44.0 holds): every message is a full snapshot,
  so nothing is sequence-checked; the docs' "discard older data by version" is kept here, per
  connection and symbol: a snapshot older than the newest one seen is dropped (counted in
  :attr:`HTXBookFeed.stale_snapshots`), so a reordered frame never rolls a book back. An equal
  one is kept: a repeated ``req`` reply must be able to restore a book that went stale.
- ``mbp.<levels>`` on ``/feed``: deltas chained by ``prevSeqNum == previous seqNum`` (sync's
  :class:`~arbcore.marketdata.sync.PrevRule`; seqNum itself is not contiguous), aligned to the
  snapshot that a ``req`` on the same connection returns. Deltas are buffered until it arrives.

HTX spot has no book checksum. REST ``/market/depth`` carries ``version``, not ``seqNum``, so it
cannot align an mbp chain: :meth:`HTXBookFeed.parse_rest` returns no events.
"""

from __future__ import annotations

from arbcore.exchanges.htx import parsing
from arbcore.exchanges.htx.constants import INSTRUMENTS_PATH, VENUE
from arbcore.exchanges.htx.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import new_book
from arbcore.marketdata.sync import BookSync, PrevRule
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote

__all__ = ["SPEC", "HTXBookFeed"]


class HTXBookFeed:
    """HTX market frames (gzip) -> book events; mbp books sync by the prevSeqNum chain."""

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        #: newest snapshot sequence (version or seqNum) per (connection, symbol)
        self._newest: dict[tuple[int, str], int] = {}
        #: snapshots dropped because they were older than one already seen
        self.stale_snapshots = 0
        #: the last ``{"ping": n}`` n per connection, for the live client to answer
        self.pings: dict[int, int] = {}

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        text = parsing.decompress(frame)
        ping = parsing.ping_of(text)
        if ping is not None:
            self.pings[connection] = ping
            return []
        channel = parsing.book_channel(text)
        if channel is None:
            return []
        instrument = self.symbols.get(channel[0])
        if instrument is None:
            return []
        event = parsing.parse_book(text, channel, instrument, ts_recv_ns)
        if event.kind is BookEventKind.SNAPSHOT and not self._newer(connection, event):
            self.stale_snapshots += 1
            return []
        return [event]

    def _newer(self, connection: int, event: BookEvent) -> bool:
        key = (connection, event.symbol)
        newest = self._newest.get(key)
        if newest is not None and event.last_seq < newest:
            return False
        self._newest[key] = event.last_seq
        return True

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        """None: the mbp snapshot comes by WS ``req`` (REST depth has no seqNum)."""
        return []

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(VENUE, instrument.symbol, new_book(instrument), PrevRule())


SPEC = VenueSpec(VENUE, parse_instruments, HTXBookFeed, "HUOBI.0", INSTRUMENTS_PATH)
