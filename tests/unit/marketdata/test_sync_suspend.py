"""A book whose feed was lost is stale until it resyncs: ``BookSync.suspend``."""

from __future__ import annotations

import numpy as np

from arbcore.marketdata.sync import BookSync, RangeRule
from arbcore.model import BookEvent, BookEventKind
from arbcore_ext.book import ASK, BID, L2Book


def _snapshot(last: int) -> BookEvent:
    return BookEvent(venue="binance", symbol="BTC/USDT", kind=BookEventKind.SNAPSHOT,
                     sides=np.array([BID, ASK], dtype=np.int8),
                     prices=np.array([100, 101], dtype=np.int64),
                     sizes=np.array([5, 5], dtype=np.int64),
                     first_seq=last, last_seq=last)  # fmt: skip


def test_a_suspended_book_is_never_handed_out_until_a_snapshot_restores_it() -> None:
    asked: list[str] = []
    sync = BookSync("binance", "BTC/USDT", L2Book(0, 0), RangeRule(),
                    on_resync=lambda s: asked.append(s.symbol))  # fmt: skip
    assert sync.on_event(_snapshot(10))
    assert sync.fresh_book() is not None
    sync.suspend("connection lost")
    assert sync.fresh_book() is None  # stale from the drop on
    assert sync.counters.resyncs == 1
    assert asked == []  # nothing to ask while disconnected: the reconnect asks
    sync.suspend("connection lost")  # a second drop before the resync counts nothing more
    assert sync.counters.resyncs == 1
    assert sync.on_event(_snapshot(20))
    assert sync.fresh_book() is not None
    assert sync.book.bbo() == (100, 101)
