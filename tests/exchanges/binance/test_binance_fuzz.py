"""Binance parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of real recorded diffs (flipped, dropped, inserted and truncated bytes) must either
parse or raise one of the documented errors (``FeedError``/``ValueError`` subclasses); and
whenever the validating parser accepts a frame, the fast scanner must produce exactly the same
event from it: the fast path never reads a frame differently from the reference. The mutations
and comparisons are :mod:`arbcore.testing.fuzz`, shared by every venue.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given

from arbcore.exchanges.binance import parsing
from arbcore.exchanges.binance.data import BinanceBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import Instrument
from arbcore.testing import fuzz
from arbcore.testing.recordings import shared_data_dir

BTC = Instrument.from_text(
    venue="binance", native_symbol="BTCUSDT", base="BTC", quote="USDT",
    tick_size="0.01", lot_size="0.00000001",
)  # fmt: skip
SYMBOLS = SymbolMap.of("binance", [BTC])


@cache
def _frames() -> tuple[bytes, ...]:
    root = shared_data_dir()
    if root is None:
        return ()
    path = Path(root) / "real/binance/spot/btcusdt_20240808.gz"
    with gzip.open(path) as handle:
        lines = [line.split(b" ", 1)[1].strip() for line in handle if b"depthUpdate" in line]
    return tuple(lines[:200])


@given(frame=fuzz.mutated_frames(_frames))
def test_binance_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = BinanceBookFeed(SYMBOLS)
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    reference = fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_depth_update(f, SYMBOLS),
        lambda f: parsing._validated_depth_update(f, SYMBOLS, 0),
        frame,
    )
    fuzz.assert_delta_into_matches(feed, frame, reference)


@given(fuzz.random_frames())
def test_binance_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    feed = BinanceBookFeed(SYMBOLS)
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
