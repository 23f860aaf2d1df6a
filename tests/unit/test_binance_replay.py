"""Replay real Binance spot diffs and check the rebuilt top of book against every bookTicker.

Binance's bookTicker carries the update id ``u`` of the book state it shows; whenever it equals
the last applied diff's ``u``, best bid/ask price and size must match exactly (SOURCES.md of the
recording: 1,072/1,072 for BTCUSDT over two days). The ticker often arrives before the diff batch
that contains it, so tickers are matched by id, not by arrival order.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from arbcore.testing.recordings import load_binance_depth
from arbcore_ext.book import L2Book


@pytest.mark.recording
@pytest.mark.parametrize("window", [None, 0, 1024], ids=["adaptive", "flat", "w1024"])
@pytest.mark.parametrize(("symbol", "expected_matches"), [("btcusdt", 564), ("ethusdt", 577)])
def test_binance_replay_top_of_book_equals_every_book_ticker(
    shared_data: Path, symbol: str, expected_matches: int, window: int | None
) -> None:
    recording = load_binance_depth(shared_data / f"real/binance/spot/{symbol}_20240808.gz")
    tickers = defaultdict(list)
    for ticker in recording.tickers:
        tickers[ticker.update_id].append(ticker)
    book = L2Book(recording.price_decimals, recording.size_decimals, window_ticks=window)
    snapshot = recording.snapshot
    book.apply_snapshot(
        snapshot.bid_prices, snapshot.bid_sizes, snapshot.ask_prices, snapshot.ask_sizes
    )
    matches = mismatches = 0
    for diff in recording.diffs:
        book.apply_deltas(diff.sides, diff.prices, diff.sizes)
        assert not book.is_crossed()
        for ticker in tickers.get(diff.last_update_id, ()):
            bid, ask = book.bbo()
            shown = (bid, book.best_bid_size(), ask, book.best_ask_size())
            if shown == (ticker.bid_price, ticker.bid_size, ticker.ask_price, ticker.ask_size):
                matches += 1
            else:
                mismatches += 1
    assert mismatches == 0
    assert matches == expected_matches
