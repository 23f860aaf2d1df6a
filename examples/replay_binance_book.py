"""Replay real Binance BTCUSDT depth into an L2Book and print the top of book as it moves.

Run: python examples/replay_binance_book.py [path/to/btcusdt_20240808.gz]
"""

from __future__ import annotations

import sys
from pathlib import Path

from arbcore import ASK, L2Book
from arbcore.testing.recordings import load_binance_depth, shared_data_dir


def main(path: Path) -> None:
    recording = load_binance_depth(path)
    book = L2Book(recording.price_decimals, recording.size_decimals)
    snapshot = recording.snapshot
    book.apply_snapshot(
        snapshot.bid_prices, snapshot.bid_sizes, snapshot.ask_prices, snapshot.ask_sizes
    )
    for number, diff in enumerate(recording.diffs):
        book.apply_deltas(diff.sides, diff.prices, diff.sizes)
        if number % 1000 == 0:
            bid, ask = book.bbo()
            print(f"update {diff.last_update_id}: bid {bid / 100:.2f}  ask {ask / 100:.2f}")
    _, notional, worst, levels = book.cost_to_fill(ASK, 5 * 10**8)
    print(
        f"{recording.symbol}: {len(recording.diffs)} diffs applied, {book.depth(0)} bids, "
        f"{book.depth(1)} asks, window {book.widths[0]} ticks, {book.nbytes:,} bytes"
    )
    print(
        f"buying 5 BTC now costs {notional:,.2f} USDT over {levels} levels "
        f"(worst price {worst / 100:.2f})"
    )


if __name__ == "__main__":
    data = shared_data_dir()
    default = data / "real/binance/spot/btcusdt_20240808.gz" if data else None
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    if target is None:
        sys.exit("no recording found: pass a path or set ARBCORE_SHARED_DATA")
    main(target)
