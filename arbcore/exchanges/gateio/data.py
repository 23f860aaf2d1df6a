"""Gate.io v4 spot market data: the feed (frames -> events, sync rule) for live and replay."""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from arbcore.exchanges.gateio import parsing
from arbcore.exchanges.gateio.constants import (
    BOOK_PRICE_MIN_DECIMALS,
    BOOK_SIZE_MIN_DECIMALS,
    BOOK_WINDOW_TICKS,
    INSTRUMENTS_PATH,
    ORDER_BOOK_UPDATE_CHANNEL,
    ORDER_BOOK_UPDATE_INTERVAL,
    PING_CHANNEL,
    REST_BASE_URL,
    SNAPSHOT_LIMIT,
    SNAPSHOT_PATH,
    VENUE,
    WS_URL,
)
from arbcore.exchanges.gateio.execution import GateioExecution
from arbcore.exchanges.gateio.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec, execution_factory
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.wire import rescaled
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import delta_routes, scan_delta_into
from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, Instrument, Quote
from arbcore.net.ws import Keepalive
from arbcore_ext.book import L2Book, LevelBuffer
from arbcore_ext.deltapath import DeltaPath

__all__ = ["PING_INTERVAL_S", "SPEC", "GateioBookFeed", "GateioDataClient", "book_instrument",
           "channel_messages", "snapshot_pair"]  # fmt: skip

#: Gate cuts a silent client after a server-side timeout it does not state; the server's own
#: protocol pings keep the socket up, ``spot.ping`` also resets that timer (protocols notes
#: 2.7). 20 s is well inside any timeout a venue documents.
PING_INTERVAL_S = 20.0


def book_instrument(instrument: Instrument) -> Instrument:
    """The pair at the scales Gate's books need (see BOOK_SIZE_MIN_DECIMALS)."""
    return rescaled(instrument, BOOK_PRICE_MIN_DECIMALS, BOOK_SIZE_MIN_DECIMALS)


#: Every Gate book's rule: a RangeRule has no state, so one serves them all (a new one for each
#: book costs an attrs construction per snapshot of a fresh feed).
_RANGE_RULE = RangeRule()


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
        #: plain ``spot.order_book_update`` deltas, read and applied in one call
        self.delta_path = parsing.update_path(delta_routes(self.symbols))
        #: tickers, trades, candles, pongs: frames parse_ws ignores, set aside unread (replay)
        self.no_book = parsing.no_book_filter()

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, DeltaPath] | None:
        """What :attr:`delta_path` reads from a frame, nothing applied; None for anything but a
        plain delta (parse_ws reads it)."""
        return scan_delta_into(self.delta_path, frame, ts_recv_ns, levels)

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int = 0
    ) -> list[BookEvent | Quote]:
        return list(parsing.parse_frame(frame, self.symbols, ts_recv_ns))

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int = 0) -> list[BookEvent]:
        if url is None or "/spot/order_book" not in url:
            return []
        instrument = self.symbols.get(snapshot_pair(url))
        if instrument is None:
            return []
        return [parsing.parse_order_book_snapshot(body, instrument, ts_recv_ns)]

    def new_sync(self, instrument: Instrument) -> BookSync:
        book = L2Book(instrument.price_decimals, instrument.size_decimals,
                      window_ticks=BOOK_WINDOW_TICKS)  # fmt: skip
        return BookSync(VENUE, instrument.symbol, book, _RANGE_RULE)


#: A URL parse_qs reads as the split below does: nothing escaped or stripped, no fragment.
_PLAIN_URL = re.compile(r"[-!$&'()*,./0-9:;=?@A-Z_a-z~]*")


@functools.lru_cache(maxsize=1024)
def snapshot_pair(url: str) -> str:
    """The ``currency_pair`` of a snapshot URL (its first non-empty one; "" if none), exactly as
    ``parse_qs(urlparse(url).query)`` reads it; a plain URL (the client's own) without the cost
    of that general parse. Memoised: a feed asks for the same few URLs again and again (one a
    pair), and the check that a URL is plain costs more than the rest of a snapshot's Python."""
    if _PLAIN_URL.fullmatch(url) is None:
        return parse_qs(urlparse(url).query).get("currency_pair", [""])[0]
    for field in url.partition("?")[2].split("&"):
        name, _, value = field.partition("=")
        if name == "currency_pair" and value:
            return value
    return ""


def channel_messages(event: str, natives: Iterable[str], now_s: int) -> list[str]:
    """``spot.order_book_update`` subscribe / unsubscribe frames, one per pair (Gate's payload
    is one pair and its interval); ``time`` must be within 60 s of Gate's clock."""
    frames = []
    for native in sorted(natives):
        payload = [native, ORDER_BOOK_UPDATE_INTERVAL]
        message = {"time": now_s, "channel": ORDER_BOOK_UPDATE_CHANNEL, "event": event,
                   "payload": payload}  # fmt: skip
        frames.append(json.dumps(message))
    return frames


class GateioDataClient(BookClient):
    """Live Gate.io spot books: ``spot.order_book_update`` at 100 ms, synced to REST snapshots.

    The legacy channel rather than ``spot.obu``: it is the one the recording proves and whose
    sync procedure the docs spell out (U/u against the REST ``id``, protocols notes 2.2).
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        ws_url: str = WS_URL,
        rest_url: str = REST_BASE_URL,
        http: httpx.AsyncClient | None = None,
        snapshot_limit: int = SNAPSHOT_LIMIT,
        clock: Callable[[], int] = time.time_ns,
        **kwargs: Any,
    ) -> None:
        def now_s() -> int:
            return clock() // 1_000_000_000

        kwargs.setdefault(
            "keepalive",
            Keepalive(
                interval_s=PING_INTERVAL_S,
                ping=lambda: json.dumps({"time": now_s(), "channel": PING_CHANNEL}),
            ),
        )
        super().__init__(
            GateioBookFeed(SymbolMap.of(VENUE, instruments)),
            url=ws_url,
            subscribe=lambda natives: channel_messages("subscribe", natives, now_s()),
            unsubscribe=lambda natives: channel_messages("unsubscribe", natives, now_s()),
            snapshot_url=lambda native: (
                rest_url + SNAPSHOT_PATH.format(pair=native, limit=snapshot_limit)
            ),
            http=http or httpx.AsyncClient(timeout=10.0),
            clock=clock,
            **kwargs,
        )


SPEC = VenueSpec(
    VENUE,
    parse_instruments,
    GateioBookFeed,
    "GATEIO.0",
    INSTRUMENTS_PATH,
    GateioDataClient,
    rest_url=REST_BASE_URL,
    execution=execution_factory(GateioExecution),
)
