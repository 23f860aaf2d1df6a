"""KuCoin spot market data: the feed (frames -> events, sync rule) for live and replay."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import attrs
import httpx

from arbcore.exchanges.kucoin import parsing
from arbcore.exchanges.kucoin.constants import (
    BOOK_SIZE_GUARD_DECIMALS,
    BOOK_SIZE_MIN_DECIMALS,
    BULLET_PUBLIC_PATH,
    LEVEL2_TOPIC,
    MAX_SYMBOLS_PER_TOPIC,
    OK_CODE,
    PING_INTERVAL_S,
    REST_BASE_URL,
    SNAPSHOT_PATH_100,
    VENUE,
)
from arbcore.exchanges.kucoin.execution import KuCoinExecution
from arbcore.exchanges.kucoin.providers import parse_instruments
from arbcore.exchanges.registry import VenueSpec, execution_factory
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.wire import rescaled
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.feed import delta_routes, new_book, scan_delta_into
from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, Instrument, Quote
from arbcore.net.ws import Keepalive
from arbcore_ext.book import LevelBuffer
from arbcore_ext.deltapath import DeltaPath

__all__ = ["SPEC", "KucoinBookFeed", "KucoinBookSync", "KucoinDataClient", "book_instrument",
           "is_welcome", "topic_messages"]  # fmt: skip


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
        routes = delta_routes(self.symbols)
        #: single-sequence l2updates, read and applied in one call
        self.delta_path = parsing.level2_path(routes)
        #: tickers read and checked against the book in C (replay)
        self.quote_path = parsing.ticker_path(routes)
        #: trades, candles, acks: frames parse_ws ignores, set aside unread
        self.no_book = parsing.no_book_filter()

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, DeltaPath] | None:
        """What :attr:`delta_path` reads from a frame, nothing applied; None for anything else
        (tickers, multi-sequence updates, unknown symbols, other shapes: parse_ws reads them)."""
        return scan_delta_into(self.delta_path, frame, ts_recv_ns, levels)

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


_ids = itertools.count(1)


def topic_messages(kind: str, natives: Iterable[str]) -> list[str]:
    """``subscribe`` / ``unsubscribe`` frames for ``/market/level2``, up to
    MAX_SYMBOLS_PER_TOPIC comma-separated symbols a topic; ``response`` asks for an ack."""
    ordered = sorted(natives)
    step = MAX_SYMBOLS_PER_TOPIC
    return [
        json.dumps({"id": next(_ids), "type": kind, "response": True,
                    "topic": LEVEL2_TOPIC.format(symbols=",".join(ordered[at : at + step]))})
        for at in range(0, len(ordered), step)
    ]  # fmt: skip


def ping_message() -> str:
    return json.dumps({"id": str(next(_ids)), "type": "ping"})


def is_welcome(frame: bytes) -> bool:
    """The server's ``{"id":...,"type":"welcome"}``: only then may a client subscribe."""
    return b'"welcome"' in frame[:96] and json.loads(frame).get("type") == "welcome"


class KucoinDataClient(BookClient):
    """Live KuCoin spot books: ``/market/level2`` increments synced to REST level-2 snapshots.

    Every connect first asks ``bullet-public`` for a token and an instance server (the URL is a
    coroutine), connects with the token and a fresh ``connectId``, and subscribes only after
    the server's ``welcome`` (``ready``). The ping interval comes with the token. Snapshots
    default to the public 100-level endpoint: the full one (v3) needs a signed request.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        rest_url: str = REST_BASE_URL,
        ws_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        snapshot_path: str = SNAPSHOT_PATH_100,
        **kwargs: Any,
    ) -> None:
        self._rest_url = rest_url
        self._ws_url = ws_url
        kwargs.setdefault("keepalive", Keepalive(interval_s=PING_INTERVAL_S, ping=ping_message))
        super().__init__(
            KucoinBookFeed(SymbolMap.of(VENUE, instruments)),
            url=self._token_url,
            subscribe=lambda natives: topic_messages("subscribe", natives),
            unsubscribe=lambda natives: topic_messages("unsubscribe", natives),
            snapshot_url=lambda native: rest_url + snapshot_path.format(symbol=native),
            http=http or httpx.AsyncClient(timeout=10.0),
            ready=is_welcome,
            **kwargs,
        )

    async def _token_url(self) -> str:
        """A token from ``bullet-public`` and the URL to connect with it (``ws_url`` overrides
        the instance server the token names, as ``--ws-url`` does for every venue).

        Failures raise ConnectionError: the connection counts them as a failed connect and
        retries after its backoff, as for any other connect that did not work.
        """
        assert self._http is not None
        try:
            response = await self._http.post(self._rest_url + BULLET_PUBLIC_PATH)
            response.raise_for_status()
            body = response.json()
            if body.get("code") != OK_CODE:
                raise ValueError(f"code {body.get('code')}: {body.get('msg')}")
            data = body["data"]
            server = data["instanceServers"][0]
            interval_s = float(server["pingInterval"]) / 1000.0
            token = data["token"]
            endpoint = self._ws_url or server["endpoint"]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise ConnectionError(f"kucoin: bullet-public gave no usable token: {exc}") from exc
        current = self.keepalive or Keepalive(ping=ping_message)
        self.set_keepalive(attrs.evolve(current, interval_s=interval_s))
        return f"{endpoint}?{urlencode({'token': token, 'connectId': uuid.uuid4().hex})}"


#: The capture fetched the v1 path; v1 and v2 answer in the same shape.
SPEC = VenueSpec(
    VENUE,
    parse_instruments,
    KucoinBookFeed,
    "KUCOIN.0",
    "/api/v1/symbols",
    KucoinDataClient,
    rest_url=REST_BASE_URL,
    execution=execution_factory(KuCoinExecution),
)
