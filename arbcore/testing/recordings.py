"""Readers for the real recordings the tests and benchmarks replay.

``load_binance_depth`` reads hftbacktest's collector format (``<local ns> <raw JSON>`` per line,
gzip): Binance spot ``depthUpdate`` diffs, ``bookTicker`` and the REST depth snapshot. It applies
Binance's documented sync rule (drop diffs with ``u <= lastUpdateId``; the first kept diff has
``U <= lastUpdateId + 1 <= u``; then every ``U`` is the previous ``u + 1``) and hands back flat
int64 arrays per message, so a replay measures the book and not JSON decoding.

This is a test and benchmark kit, not the venue adapter (that is ``arbcore.exchanges.binance``).
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np
from numpy.typing import NDArray

from arbcore.errors import MalformedMessage, SequenceGap
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import to_raw, to_raw_array

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


def _levels(
    pairs: list[list[str]], side: int, price_decimals: int, size_decimals: int
) -> tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.int64]]:
    prices = to_raw_array([pair[0] for pair in pairs], price_decimals)
    sizes = to_raw_array([pair[1] for pair in pairs], size_decimals)
    return np.full(len(pairs), side, dtype=np.int8), prices, sizes


def _lines(path: Path) -> Iterator[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            _, _, payload = line.partition(" ")
            try:
                yield json.loads(payload)
            except json.JSONDecodeError as exc:
                raise MalformedMessage(f"{path.name} line {number}: {exc}") from exc


def load_binance_depth(
    path: str | Path,
    *,
    price_decimals: int = BINANCE_PRICE_DECIMALS,
    size_decimals: int = BINANCE_SIZE_DECIMALS,
) -> BinanceDepthRecording:
    """Read and sync an hftbacktest Binance spot recording; raises ``SequenceGap`` on a gap."""
    path = Path(path)
    snapshot: DepthSnapshot | None = None
    raw_diffs: list[DepthDiff] = []
    tickers: list[BookTicker] = []
    symbol = ""
    for message in _lines(path):
        if "lastUpdateId" in message and "stream" not in message:
            _, bid_prices, bid_sizes = _levels(message["bids"], BID, price_decimals, size_decimals)  # type: ignore[arg-type]
            _, ask_prices, ask_sizes = _levels(message["asks"], ASK, price_decimals, size_decimals)  # type: ignore[arg-type]
            snapshot = DepthSnapshot(
                int(message["lastUpdateId"]),  # type: ignore[call-overload]
                bid_prices,
                bid_sizes,
                ask_prices,
                ask_sizes,
            )
            continue
        data = message.get("data")
        if not isinstance(data, dict):
            continue
        if data.get("e") == "depthUpdate":
            symbol = str(data["s"])
            bid = _levels(data["b"], BID, price_decimals, size_decimals)
            ask = _levels(data["a"], ASK, price_decimals, size_decimals)
            raw_diffs.append(
                DepthDiff(
                    int(data["U"]),
                    int(data["u"]),
                    np.concatenate([bid[0], ask[0]]),
                    np.concatenate([bid[1], ask[1]]),
                    np.concatenate([bid[2], ask[2]]),
                )
            )
        elif "b" in data and "a" in data and "u" in data and "e" not in data:
            tickers.append(
                BookTicker(
                    int(data["u"]),
                    to_raw(data["b"], price_decimals),
                    to_raw(data["B"], size_decimals),
                    to_raw(data["a"], price_decimals),
                    to_raw(data["A"], size_decimals),
                )
            )
    if snapshot is None:
        raise MalformedMessage(f"{path.name}: no REST depth snapshot (a line with lastUpdateId)")
    return BinanceDepthRecording(
        symbol=symbol,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        snapshot=snapshot,
        diffs=_synced(raw_diffs, snapshot.last_update_id, symbol),
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
