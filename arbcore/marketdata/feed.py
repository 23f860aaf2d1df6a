"""The contract every venue's market-data package fills in, and the replay that drives it.

A venue's ``data.py`` provides a :class:`VenueFeed`: it turns the venue's frames and REST bodies
into :class:`~arbcore.model.BookEvent` and :class:`~arbcore.model.Quote` values (through its
``parsing.py``) and says how a book of that venue stays in sync (its
:class:`~arbcore.marketdata.sync.SequenceRule` and checksum). Everything after that is
venue-neutral: :func:`replay` runs recorded traffic through exactly the code a live feed runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import attrs

from arbcore.errors import FeedError
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.records import Record
from arbcore.marketdata.sync import BookSync, SeqView
from arbcore.model import BookEvent, Instrument, Quote
from arbcore_ext.book import L2Book, LevelBuffer
from arbcore_ext.deltapath import DECLINED, SCANNED, DeltaPath, Route
from arbcore_ext.fixedpoint import to_text
from arbcore_ext.framepath import BboCheck, FrameLoop, KindFilter, QuotePath

__all__ = ["BookReport", "ReplayReport", "VenueFeed", "check_quote", "delta_routes", "replay",
           "scan_delta_into"]  # fmt: skip

logger = logging.getLogger(__name__)


class VenueFeed(Protocol):
    """One venue's market-data protocol, minus the socket."""

    venue: str
    symbols: SymbolMap

    def parse_ws(
        self, frame: bytes, ts_recv_ns: int, connection: int
    ) -> Sequence[BookEvent | Quote]:
        """Events in one WebSocket frame; [] for frames that carry none (acks, trades, pongs)."""
        ...

    def parse_rest(self, url: str | None, body: bytes, ts_recv_ns: int) -> Sequence[BookEvent]:
        """Snapshots in one REST body; [] for bodies that are not book snapshots."""
        ...

    def new_sync(self, instrument: Instrument) -> BookSync:
        """A book for one instrument with the venue's sequencing rule and checksum."""
        ...


@attrs.define
class BookReport:
    """One book's replay outcome (the ``books`` entries of ``arbcore replay --json``).

    ``check`` is the book's BBO cross-check: the compiled loop feeds it the quotes it reads and
    the updates it applies, :func:`replay` the quotes ``parse_ws`` reads and the updates the
    BookSync applies in Python.
    """

    sync: BookSync
    instrument: Instrument
    check: BboCheck = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.check = BboCheck(self.sync.core)

    @property
    def bbo_matches(self) -> int:
        return self.check.matches

    @property
    def bbo_mismatches(self) -> int:
        return self.check.mismatches

    def as_json(self) -> dict[str, Any]:
        counters = self.sync.counters
        bid, ask = self.sync.book.bbo() if self.sync.in_sync else (None, None)
        decimals = self.instrument.price_decimals
        return {
            "updates": counters.updates,
            "snapshots": counters.snapshots,
            "gaps": counters.gaps,
            "resyncs": counters.resyncs,
            "checksum_ok": counters.checksum_ok,
            "checksum_failed": counters.checksum_failed,
            "crossed": counters.crossed,
            "best_bid": None if bid is None else to_text(bid, decimals),
            "best_ask": None if ask is None else to_text(ask, decimals),
            "bbo_matches": self.bbo_matches,
            "bbo_mismatches": self.bbo_mismatches,
        }


@attrs.define
class ReplayReport:
    venue: str
    messages: int = 0
    book_events: int = 0
    malformed: int = 0
    elapsed_s: float = 0.0
    books: dict[str, BookReport] = attrs.Factory(dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "messages": self.messages,
            "book_events": self.book_events,
            "malformed": self.malformed,
            "elapsed_s": round(self.elapsed_s, 6),
            "messages_per_s": round(self.messages / self.elapsed_s, 1) if self.elapsed_s else None,
            "books": {symbol: report.as_json() for symbol, report in sorted(self.books.items())},
        }


def check_quote(check: BboCheck, quote: Quote) -> None:
    """Check a venue BBO against the book at exactly the update it names (it may come first):
    a quote ``parse_ws`` read, where the compiled ``quote_path`` declined it (replay and the
    live client alike)."""
    check.on_quote(
        quote.update_id, quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size
    )


class FastDeltaFeed(Protocol):
    """Optional fast path of a feed: plain deltas scanned straight into a LevelBuffer."""

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, SeqView] | None:
        """The delta's symbol and sequence (``ts_recv_ns`` stamped on it: the book's age counts
        from there), its levels in ``levels``; None for any other frame."""
        ...


class PathFeed(Protocol):
    """Optional compiled path of a feed: plain deltas read and applied in one call."""

    delta_path: DeltaPath


class QuoteFeed(Protocol):
    """Optional compiled readers of a feed's other frames: its quotes (read and checked in C)
    and the kinds of frame its ``parse_ws`` ignores (set aside unread)."""

    quote_path: QuotePath
    no_book: KindFilter


def delta_routes(symbols: SymbolMap) -> list[Route]:
    """The :class:`~arbcore_ext.deltapath.Route` of every instrument (at its book scales)."""
    return [
        Route(native.encode(), i.symbol, i.price_decimals, i.size_decimals)
        for native, i in symbols.by_native.items()
    ]


def scan_delta_into(
    path: DeltaPath, frame: bytes, ts_recv_ns: int, levels: LevelBuffer, connection: int = 0
) -> tuple[str, DeltaPath] | None:
    """``parse_delta_into`` of a feed with a DeltaPath: the same C reader, nothing applied, the
    levels copied into ``levels`` (for checks of what the path reads; not the hot path)."""
    if path.scan(frame, ts_recv_ns, connection) != SCANNED:
        return None
    levels.clear()
    sides, prices, sizes = (array.tolist() for array in path.levels.arrays())
    for side, price, size in zip(sides, prices, sizes, strict=True):
        levels.append(side, price, size)
    symbol = path.symbol
    assert symbol is not None
    return symbol, path


def _report(result: ReplayReport, feed: VenueFeed, loop: FrameLoop, symbol: str) -> BookReport:
    report = result.books.get(symbol)
    if report is None:
        instrument = feed.symbols.by_symbol[symbol]
        report = result.books[symbol] = BookReport(feed.new_sync(instrument), instrument)
        path: DeltaPath | None = getattr(feed, "delta_path", None)
        if path is not None:
            path.attach(symbol, report.sync.core, report)
        loop.attach(symbol, report.check)
    return report


def _on_path(
    result: ReplayReport, feed: VenueFeed, loop: FrameLoop, path: DeltaPath, status: int
) -> None:
    """A delta the feed's DeltaPath read and left to Python (``status``: UNROUTED, DEFER,
    VERIFY or CROSSED; the loop counted it and handled APPLIED and SKIPPED itself)."""
    report: BookReport | None = path.owner
    if report is None:  # the symbol's first frame: its book starts now
        symbol = path.symbol
        assert symbol is not None
        report = _report(result, feed, loop, symbol)
    if report.sync.on_path(path, status):
        report.check.after_update()


def replay(records: Iterable[Record], feed: VenueFeed) -> ReplayReport:
    """Run recorded traffic through the feed's parsing and sync, as fast as it goes.

    A compiled :class:`~arbcore_ext.framepath.FrameLoop` takes the records first: plain deltas
    go through the feed's ``delta_path`` (read and applied in one call, exactly as the live
    client does), quotes through its ``quote_path`` (read and checked against the book) and
    frames of a kind its parser ignores are set aside by its ``no_book`` filter. Only what
    needs a decision comes back here: deltas the BookSync decides, the fast parser's
    (``parse_delta_into``) for feeds without a compiled path, and everything else through
    ``parse_ws``/``parse_rest``.
    """
    result = ReplayReport(feed.venue)
    path: DeltaPath | None = getattr(feed, "delta_path", None)
    fast: FastDeltaFeed | None = getattr(feed, "parse_delta_into", None) and feed  # type: ignore[assignment]
    if path is not None:
        fast = None
    loop = FrameLoop(path, getattr(feed, "quote_path", None), getattr(feed, "no_book", None))
    levels = LevelBuffer(256)
    started = time.perf_counter()
    pending = iter(records)
    while (record := loop.run(pending)) is not None:
        if loop.status != DECLINED:
            assert path is not None
            _on_path(result, feed, loop, path, loop.status)
            continue
        if fast is not None and record.kind == "ws":
            scanned = fast.parse_delta_into(record.payload, record.ts_ns, record.connection, levels)
            if scanned is not None:
                symbol, seq = scanned
                report = _report(result, feed, loop, symbol)
                result.book_events += 1
                if report.sync.on_levels(seq, levels, symbol):
                    report.check.after_update()
                continue
        try:
            events: Sequence[BookEvent | Quote]
            if record.kind == "ws":
                events = feed.parse_ws(record.payload, record.ts_ns, record.connection)
            else:
                events = feed.parse_rest(record.url, record.payload, record.ts_ns)
        except (FeedError, ValueError) as exc:
            result.malformed += 1
            logger.warning("%s: %s", record.source, exc)
            continue
        for event in events:
            report = _report(result, feed, loop, event.symbol)
            if isinstance(event, Quote):
                check_quote(report.check, event)
                continue
            result.book_events += 1
            if report.sync.on_event(event):
                report.check.after_update()
    result.elapsed_s = time.perf_counter() - started
    result.messages = loop.messages
    result.book_events += loop.book_events
    return result


def new_book(instrument: Instrument) -> L2Book:
    """The book a venue feed keeps for an instrument."""
    return L2Book(instrument.price_decimals, instrument.size_decimals)
