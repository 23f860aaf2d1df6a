"""Data-quality monitor: is each book fit to trade on right now?

Per book: staleness (no update for too long), crossed books, sequence gaps and checksum
failures (from its :class:`~arbcore.marketdata.sync.BookSync` counters), price spikes (a mid
move beyond ``spike_sigma`` standard deviations of its recent returns), exchange-to-local
latency, and the top of book compared with the venue's own BBO stream where it has one.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

import attrs

from arbcore.marketdata.sync import BookSync
from arbcore.model import Quote

__all__ = ["BookQuality", "QualityMonitor"]


@attrs.frozen
class BookQuality:
    """One book's quality report."""

    symbol: str
    in_sync: bool
    stale: bool
    seconds_since_update: float | None
    gaps: int
    checksum_failures: int
    crossed: int
    spikes: int
    bbo_matches: int
    bbo_mismatches: int
    latency_p50_ms: float | None
    latency_max_ms: float | None

    @property
    def tradable(self) -> bool:
        return self.in_sync and not self.stale


@attrs.define
class _Book:
    sync: BookSync
    last_update_ns: int = 0
    last_mid: float | None = None
    returns: deque[float] = attrs.Factory(lambda: deque(maxlen=200))
    spikes: int = 0
    bbo_matches: int = 0
    bbo_mismatches: int = 0
    latencies_ms: deque[float] = attrs.Factory(lambda: deque(maxlen=1000))


class QualityMonitor:
    """Watches books as they update; ask :meth:`report` or :meth:`tradable` before trading."""

    def __init__(
        self,
        *,
        stale_after_s: float = 5.0,
        spike_sigma: float = 8.0,
        min_returns: int = 30,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.stale_after_ns = int(stale_after_s * 1e9)
        self.spike_sigma = spike_sigma
        self.min_returns = min_returns
        self._clock = clock
        self._books: dict[str, _Book] = {}

    def watch(self, sync: BookSync) -> None:
        self._books[sync.symbol] = _Book(sync)

    def on_update(self, symbol: str, ts_event_ns: int = 0, ts_recv_ns: int = 0) -> bool:
        """Record an applied update; False when it was a price spike (the book is suspect)."""
        entry = self._books[symbol]
        entry.last_update_ns = ts_recv_ns or self._clock()
        if ts_event_ns and ts_recv_ns:
            entry.latencies_ms.append((ts_recv_ns - ts_event_ns) / 1e6)
        bid, ask = entry.sync.book.bbo()
        if bid is None or ask is None:
            return True
        mid = (bid + ask) / 2
        normal = True
        if entry.last_mid is not None and mid != entry.last_mid:
            change = math.log(mid / entry.last_mid)
            if len(entry.returns) >= self.min_returns:
                sigma = _std(entry.returns)
                if sigma > 0 and abs(change) > self.spike_sigma * sigma:
                    entry.spikes += 1
                    normal = False
            entry.returns.append(change)
        entry.last_mid = mid
        return normal

    def on_quote(self, quote: Quote) -> None:
        """Compare a venue BBO with the book, when the book is at the update the quote names."""
        entry = self._books.get(quote.symbol)
        if entry is None or not entry.sync.in_sync:
            return
        if quote.update_id and quote.update_id != entry.sync.book_id:
            return
        book = entry.sync.book
        shown = (book.best_bid(), book.best_bid_size(), book.best_ask(), book.best_ask_size())
        if shown == (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size):
            entry.bbo_matches += 1
        else:
            entry.bbo_mismatches += 1

    def report(self, symbol: str) -> BookQuality:
        entry = self._books[symbol]
        now = self._clock()
        since = (now - entry.last_update_ns) / 1e9 if entry.last_update_ns else None
        counters = entry.sync.counters
        latencies = sorted(entry.latencies_ms)
        return BookQuality(
            symbol=symbol,
            in_sync=entry.sync.in_sync,
            stale=since is None or since * 1e9 > self.stale_after_ns,
            seconds_since_update=since,
            gaps=counters.gaps,
            checksum_failures=counters.checksum_failed,
            crossed=counters.crossed,
            spikes=entry.spikes,
            bbo_matches=entry.bbo_matches,
            bbo_mismatches=entry.bbo_mismatches,
            latency_p50_ms=latencies[len(latencies) // 2] if latencies else None,
            latency_max_ms=latencies[-1] if latencies else None,
        )

    def tradable(self, symbol: str) -> bool:
        return symbol in self._books and self.report(symbol).tradable


def _std(values: deque[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
