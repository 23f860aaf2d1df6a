"""Readers for the real recordings the tests and benchmarks replay.

``load_binance_depth`` reads hftbacktest's collector format (``<local ns> <raw JSON>`` per line,
gzip): Binance spot ``depthUpdate`` diffs, ``bookTicker`` and the REST depth snapshot, through
the Binance adapter's own parser. It applies Binance's documented sync rule (drop diffs with
``u <= lastUpdateId``; the first kept diff has ``U <= lastUpdateId + 1 <= u``; then every ``U``
is the previous ``u + 1``) and hands back flat int64 arrays per message, so a replay measures
the book and not JSON decoding.

This is a test and benchmark kit over the venue adapter (``arbcore.exchanges.binance``), which
does the parsing.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import attrs
import numpy as np
from numpy.typing import NDArray

from arbcore.errors import MalformedMessage, SequenceGap
from arbcore.exchanges.binance.constants import VENUE
from arbcore.exchanges.binance.parsing import parse_depth_snapshot, parse_frame
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.records import read_records
from arbcore.marketdata.sync import split_sides
from arbcore.model import Instrument, Quote
from arbcore_ext.jsonscan import string_value

__all__ = [
    "BinanceDepthRecording",
    "BookTicker",
    "DepthDiff",
    "DepthSnapshot",
    "load_binance_depth",
    "shared_data_dir",
]

#: Binance spot BTCUSDT/ETHUSDT: 0.01 tick; sizes are sent with 8 decimals.
BINANCE_PRICE_DECIMALS = 2
BINANCE_SIZE_DECIMALS = 8


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the project (or ``$ARBCORE_SHARED_DATA``), if present."""
    env = os.environ.get("ARBCORE_SHARED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [parent / "shared" / "data" for parent in here.parents]
    candidates.append(Path.cwd().parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "real").is_dir():
            return candidate
    return None


@attrs.frozen(eq=False)
class DepthDiff:
    first_update_id: int
    last_update_id: int
    sides: NDArray[np.int8]
    prices: NDArray[np.int64]
    sizes: NDArray[np.int64]


@attrs.frozen(eq=False)
class DepthSnapshot:
    last_update_id: int
    bid_prices: NDArray[np.int64]
    bid_sizes: NDArray[np.int64]
    ask_prices: NDArray[np.int64]
    ask_sizes: NDArray[np.int64]


@attrs.frozen
class BookTicker:
    update_id: int
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int


@attrs.frozen(eq=False)
class BinanceDepthRecording:
    """A synced recording: the snapshot, then the diffs that follow it without a gap."""

    symbol: str
    price_decimals: int
    size_decimals: int
    snapshot: DepthSnapshot
    diffs: list[DepthDiff]
    tickers: list[BookTicker]

    @property
    def level_updates(self) -> int:
        return sum(len(diff.prices) for diff in self.diffs)


_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH", "BNB", "EUR")


def _instrument(native: str, price_decimals: int, size_decimals: int) -> Instrument:
    """A stand-in Instrument for the recording's symbol at the requested scales."""
    quote = next((q for q in _QUOTES if native.endswith(q) and native != q), native[-4:])
    return Instrument(venue=VENUE, symbol=f"{native[: -len(quote)]}/{quote}",
                      native_symbol=native, base=native[: -len(quote)], quote=quote,
                      price_decimals=price_decimals, size_decimals=size_decimals,
                      tick_size=1, lot_size=1)  # fmt: skip


def load_binance_depth(
    path: str | Path,
    *,
    price_decimals: int = BINANCE_PRICE_DECIMALS,
    size_decimals: int = BINANCE_SIZE_DECIMALS,
) -> BinanceDepthRecording:
    """Read and sync an hftbacktest Binance spot recording; raises ``SequenceGap`` on a gap.

    The lines go through :func:`~arbcore.marketdata.records.read_records` and the venue's own
    parser (:mod:`arbcore.exchanges.binance.parsing`), so this kit reads exactly what the
    adapter reads; it only keeps the results as flat arrays for the book benchmarks.
    """
    path = Path(path)
    records = list(read_records([path], "hftbacktest"))
    native = next((string_value(r.payload, b"s") for r in records
                   if r.kind == "ws" and b"depthUpdate" in r.payload[:96]), None)  # fmt: skip
    if native is None:
        raise MalformedMessage(f"{path.name}: no depthUpdate message")
    instrument = _instrument(native, price_decimals, size_decimals)
    symbols = SymbolMap.of(VENUE, [instrument])
    snapshot: DepthSnapshot | None = None
    raw_diffs: list[DepthDiff] = []
    tickers: list[BookTicker] = []
    for record in records:
        if record.kind == "rest":
            event = parse_depth_snapshot(record.payload, instrument)
            snapshot = DepthSnapshot(event.last_seq, *split_sides(event))
            continue
        for parsed in parse_frame(record.payload, symbols):
            if isinstance(parsed, Quote):
                tickers.append(BookTicker(parsed.update_id or 0, parsed.bid_price, parsed.bid_size,
                                          parsed.ask_price, parsed.ask_size))  # fmt: skip
            else:
                raw_diffs.append(DepthDiff(parsed.first_seq, parsed.last_seq, parsed.sides,
                                           parsed.prices, parsed.sizes))  # fmt: skip
    if snapshot is None:
        raise MalformedMessage(f"{path.name}: no REST depth snapshot (a line with lastUpdateId)")
    return BinanceDepthRecording(
        symbol=native,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        snapshot=snapshot,
        diffs=_synced(raw_diffs, snapshot.last_update_id, native),
        tickers=tickers,
    )


def _synced(diffs: list[DepthDiff], last_update_id: int, symbol: str) -> list[DepthDiff]:
    """Binance spot rule: drop ``u <= lastUpdateId``, then require an unbroken U/u chain."""
    kept = [diff for diff in diffs if diff.last_update_id > last_update_id]
    expected = last_update_id + 1
    if kept and not kept[0].first_update_id <= expected <= kept[0].last_update_id:
        raise SequenceGap(expected, kept[0].first_update_id, venue="binance", symbol=symbol)
    for previous, diff in itertools.pairwise(kept):
        if diff.first_update_id != previous.last_update_id + 1:
            raise SequenceGap(
                previous.last_update_id + 1, diff.first_update_id, venue="binance", symbol=symbol
            )
    return kept
