"""Bybit v5 market data: the feed (frames -> events, sync rule) for live and replay."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import attrs

from arbcore.exchanges.bybit import parsing
from arbcore.exchanges.bybit.constants import (
    BOOK_TOPIC,
    FULL_ORDERBOOK_PATH,
    INSTRUMENTS_PATH,
    MAX_SUBSCRIBE_ARGS,
    ORDERBOOK_PATH,
    PING_FRAME,
    PING_INTERVAL_S,
    REST_BASE_URL,
    VENUE,
    WS_PUBLIC_SPOT_URL,
)
from arbcore.exchanges.bybit.execution import BybitExecution
from arbcore.exchanges.bybit.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec, execution_factory
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import delta_routes, new_book, scan_delta_into
from arbcore.marketdata.sync import BookSync, Continuity, SequenceInfo, register_compiled_rule
from arbcore.model import BookEvent, Instrument, Quote
from arbcore.net.ws import Keepalive
from arbcore_ext.book import LevelBuffer
from arbcore_ext.bybitpath import BybitPath
from arbcore_ext.deltapath import RULE_RANGE, DeltaPath

__all__ = ["DEFAULT_DEPTH", "SPEC", "BybitBookFeed", "BybitDataClient", "BybitRule",
           "topic_messages"]  # fmt: skip

#: Spot book depth the live client subscribes to: 50 levels every 20 ms, the depth the docs'
#: examples use; 200 and 1000 are slower (100 / 200 ms), 1 is top of book only.
DEFAULT_DEPTH = 50

#: ``u`` of the first message after a service restart (a snapshot that overwrites the book).
RESTART_UPDATE_ID = 1


@attrs.frozen
class BybitRule:
    """Each delta's ``u`` is the book's ``u`` plus one; a delta with ``u == 1`` is a restart.

    Documented for ``orderbook.full`` (full-ob.mdx): ``u < book u`` ignore, ``u > book u + 1``
    gap, ``u == 1`` resync. The ``orderbook.<depth>`` topics state no gap rule; the same check is
    applied to them (the recording's ``u`` is contiguous), and their restart arrives as a new
    snapshot, which always resets the book. A plain "``u == id + 1``, skip older" rule would
    silently skip a restarted stream (``u`` 1, 2, ... below the book's ``u``), hence this rule.
    """

    def check(self, book_id: int, event: SequenceInfo) -> Continuity:
        if event.last_seq == RESTART_UPDATE_ID:
            return Continuity.GAP
        if event.last_seq <= book_id:
            return Continuity.SKIP
        return Continuity.APPLY if event.last_seq == book_id + 1 else Continuity.GAP


# The compiled RangeRule (``first = last = u``) is BybitRule for every ``u`` but 1; BybitPath
# hands a delta with ``u == 1`` back (DEFER) for BybitRule to decide.
register_compiled_rule(BybitRule, RULE_RANGE)


class BybitBookFeed:
    """``orderbook.<depth>.<symbol>`` snapshots and deltas by :class:`BybitRule`; no checksum.

    Bybit v5 books carry no checksum (protocols notes 3.3): ``u`` continuity and the crossed-book
    check are the whole guarantee. ``orderbook.1`` gives quotes (see ``parsing``). Deltas take
    the compiled :attr:`delta_path` (read and applied in one call; the live client and replay
    use it); snapshots are read by it too and loaded by the BookSync from :meth:`parse_ws`.
    """

    venue = VENUE

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self.delta_path = BybitPath(delta_routes(symbols))

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, DeltaPath] | None:
        """What :attr:`delta_path` reads from a delta, nothing applied; None for anything else
        (``parse_ws`` reads it)."""
        return scan_delta_into(self.delta_path, frame, ts_recv_ns, levels)

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        path = self.delta_path
        message = path.push_of(frame)
        if message is not None:  # read by the path (a snapshot it declined to apply, mostly)
            return [parsing.path_event(message, path.levels, ts_recv_ns)]
        return parsing.parse_frame(frame, self.symbols, ts_recv_ns)

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        if url is not None and ORDERBOOK_PATH not in url and FULL_ORDERBOOK_PATH not in url:
            return []
        if b'"result"' not in body or b'"u"' not in body:
            return []
        return [parsing.parse_rest_orderbook(body, self.symbols, ts_recv_ns)]

    def new_sync(self, instrument: Instrument) -> BookSync:
        return BookSync(VENUE, instrument.symbol, new_book(instrument), BybitRule())


_request_ids = itertools.count(1)


def topic_messages(op: str, natives: Iterable[str], depth: int | str = DEFAULT_DEPTH) -> list[str]:
    """``subscribe`` / ``unsubscribe`` frames for ``orderbook.<depth>.<symbol>`` topics.

    Spot takes at most MAX_SUBSCRIBE_ARGS args per request, so larger sets are split.
    """
    args = [f"{BOOK_TOPIC}.{depth}.{native}" for native in sorted(natives)]
    step = MAX_SUBSCRIBE_ARGS
    return [
        json.dumps({"req_id": str(next(_request_ids)), "op": op, "args": args[at : at + step]})
        for at in range(0, len(args), step)
    ]


class BybitDataClient(BookClient):
    """Live Bybit v5 books: ``orderbook.<depth>`` snapshots and deltas, no REST at all.

    Bybit pushes a snapshot after every subscribe (and whenever it resets a book), so a gap
    resyncs by unsubscribing and subscribing the symbol again, and a reconnect just waits for
    the snapshot its subscribe brings; the REST book's ``u`` belongs to the 1000-level stream
    only (protocols notes 3.2), so it could not seed a 50-level stream anyway.
    ``rest_url`` is accepted for the common client signature and unused.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        ws_url: str = WS_PUBLIC_SPOT_URL,
        rest_url: str | None = None,
        depth: int | str = DEFAULT_DEPTH,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "keepalive", Keepalive(interval_s=PING_INTERVAL_S, ping=lambda: PING_FRAME)
        )
        super().__init__(
            BybitBookFeed(SymbolMap.of(VENUE, instruments)),
            url=ws_url,
            subscribe=lambda natives: topic_messages("subscribe", natives, depth),
            unsubscribe=lambda natives: topic_messages("unsubscribe", natives, depth),
            **kwargs,
        )


SPEC = VenueSpec(
    VENUE,
    parse_instruments,
    BybitBookFeed,
    "BYBIT.0",
    INSTRUMENTS_PATH,
    BybitDataClient,
    instruments_query="?category=spot",
    rest_url=REST_BASE_URL,
    execution=execution_factory(BybitExecution),
)
