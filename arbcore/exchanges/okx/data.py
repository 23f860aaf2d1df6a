"""OKX spot market data: the feed (frames -> events, sync rule, checksum) for live and replay."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlparse

import attrs

from arbcore.exchanges.okx import parsing
from arbcore.exchanges.okx.constants import (
    BBO_CHANNELS,
    BOOKS_CHANNEL,
    INSTRUMENTS_PATH,
    PING,
    PING_INTERVAL_S,
    REST_BASE_URL,
    VENUE,
    WS_URL,
)
from arbcore.exchanges.okx.execution import OKXExecution
from arbcore.exchanges.okx.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec, execution_factory
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import delta_routes, new_book, scan_delta_into
from arbcore.marketdata.sync import BookSync, Continuity, SequenceInfo, register_compiled_rule
from arbcore.model import BookEvent, Instrument, Quote
from arbcore.net.ws import Keepalive
from arbcore_ext.book import LevelBuffer
from arbcore_ext.deltapath import RULE_PREV, DeltaPath
from arbcore_ext.okxpath import OKXPath

__all__ = ["SPEC", "OKXBookFeed", "OKXDataClient", "OKXSeqRule", "subscribe_messages"]


@attrs.frozen
class OKXSeqRule:
    """OKX's ``books`` continuity (protocols notes 2.2), one rule for both ways to get a snapshot.

    - ``prevSeqId == book id``: apply. This covers the keep-alive push (``prevSeqId == seqId``,
      no levels) and the maintenance reset (``seqId < prevSeqId``, its prevSeqId still chains).
    - ``seqId <= book id``: skip, already in a REST snapshot (buffered while it loaded).
    - ``prevSeqId < book id < seqId``: apply; the first push after a REST snapshot straddles
      it. An intact chain never straddles, so this accepts nothing a gap would explain.
    - otherwise a gap: resync.
    - no ``prevSeqId`` at all (pushes from before OKX added seqId): apply, and the checksum
      every such push carries is the only guard.
    """

    def check(self, book_id: int, event: SequenceInfo) -> Continuity:
        prev = event.prev_seq
        if prev is None:
            return Continuity.APPLY
        if prev == book_id:
            return Continuity.APPLY
        if event.last_seq <= book_id and prev < book_id:
            return Continuity.SKIP
        if prev < book_id < event.last_seq:
            return Continuity.APPLY
        return Continuity.GAP


# The compiled PrevRule agrees with OKXSeqRule wherever it applies or skips; OKXPath applies
# the rest of what OKXSeqRule applies, and defers everything else to it.
register_compiled_rule(OKXSeqRule, RULE_PREV)


class OKXBookFeed:
    """``books`` pushes synced by seqId/prevSeqId and the legacy checksum; BBO pushes as quotes.

    Every push names its ``instId``, so no per-connection state is kept (``connection`` is
    unused); seqIds are per instId and identical across connections. ``books`` updates take
    the compiled :attr:`delta_path` (read, applied by OKX's rule and checksummed in one call:
    the live client and replay use it); snapshots are read by it too and loaded by the
    BookSync from :meth:`parse_ws`.
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        channels = (BOOKS_CHANNEL, *BBO_CHANNELS)
        self.delta_path = OKXPath(
            delta_routes(symbols), parsing.CHECKSUM_FORM, [c.encode() for c in channels]
        )

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, DeltaPath] | None:
        """What :attr:`delta_path` reads from a ``books`` update, nothing applied; None for
        anything else (``parse_ws`` reads it)."""
        return scan_delta_into(self.delta_path, frame, ts_recv_ns, levels)

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        path = self.delta_path
        if path.ignores(frame):  # trades, tickers, instIds not listed: nothing to parse
            return []
        push = path.push_of(frame)
        if push is not None:  # read by the path (a snapshot it declined to apply, mostly)
            return [parsing.push_event(push, path.levels, ts_recv_ns)]
        return parsing.parse_frame(frame, self.symbols, ts_recv_ns)

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        """A ``/api/v5/market/books`` response with a seqId; [] for any other body."""
        if url is None or "/market/books?" not in url:
            return []
        native = parse_qs(urlparse(url).query).get("instId", [""])[0]
        instrument = self.symbols.get(native)
        if instrument is None:
            return []
        event = parsing.parse_rest_books(body, instrument, ts_recv_ns)
        return [] if event is None else [event]

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(
            VENUE,
            instrument.symbol,
            new_book(instrument),
            OKXSeqRule(),
            checksum=parsing.book_checksum,
        )


_request_ids = itertools.count(1)


def subscribe_messages(op: str, natives: Iterable[str]) -> list[str]:
    """``subscribe`` / ``unsubscribe`` frames for the ``books`` channel of some instIds."""
    args = [{"channel": BOOKS_CHANNEL, "instId": native} for native in sorted(natives)]
    return [json.dumps({"id": str(next(_request_ids)), "op": op, "args": args})]


class OKXDataClient(BookClient):
    """Live OKX spot books: the ``books`` channel, resynced by resubscribing.

    OKX pushes an ``action:"snapshot"`` after every subscribe, and its documented recovery from
    a gap is to resubscribe for a new one (protocols notes 2.2); a reconnect just waits for the
    snapshot its subscribe brings, where a REST snapshot would only race it. :class:`OKXSeqRule`
    still aligns a seqId'd REST book, should OKX delist the pushed snapshot as announced: that
    path needs only ``snapshot_url`` back. ``rest_url`` is accepted for the common client
    signature and unused.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        ws_url: str = WS_URL,
        rest_url: str = REST_BASE_URL,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("keepalive", Keepalive(interval_s=PING_INTERVAL_S, ping=lambda: PING))
        super().__init__(
            OKXBookFeed(SymbolMap.of(VENUE, instruments)),
            url=ws_url,
            subscribe=lambda natives: subscribe_messages("subscribe", natives),
            unsubscribe=lambda natives: subscribe_messages("unsubscribe", natives),
            **kwargs,
        )


SPEC = VenueSpec(
    VENUE,
    parse_instruments,
    OKXBookFeed,
    "OKX.0",
    INSTRUMENTS_PATH,
    OKXDataClient,
    rest_url=REST_BASE_URL,
    execution=execution_factory(OKXExecution),
)
