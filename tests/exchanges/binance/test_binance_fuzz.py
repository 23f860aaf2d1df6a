"""Binance parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of real recorded diffs (flipped, dropped, inserted and truncated bytes) must either
parse or raise one of the documented errors (``FeedError``/``ValueError`` subclasses); and
whenever the validating parser accepts a frame, the fast scanner must produce exactly the same
event from it: the fast path never reads a frame differently from the reference.
"""

from __future__ import annotations

import contextlib
import gzip
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbcore.errors import FeedError
from arbcore.exchanges.binance import parsing
from arbcore.exchanges.binance.data import BinanceBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import Instrument
from arbcore.testing.recordings import shared_data_dir
from arbcore_ext.book import LevelBuffer

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


def _mutate(frame: bytes, data: st.DataObject) -> bytes:
    kind = data.draw(st.sampled_from(["flip", "drop", "insert", "truncate", "digit"]))
    at = data.draw(st.integers(0, len(frame) - 1))
    if kind == "flip":
        return frame[:at] + bytes([frame[at] ^ data.draw(st.integers(1, 255))]) + frame[at + 1 :]
    if kind == "drop":
        return frame[:at] + frame[at + 1 :]
    if kind == "insert":
        return frame[:at] + data.draw(st.binary(min_size=1, max_size=4)) + frame[at:]
    if kind == "truncate":
        return frame[:at]
    digits = [i for i, byte in enumerate(frame) if 48 <= byte <= 57]
    i = data.draw(st.sampled_from(digits))
    return frame[:i] + str(data.draw(st.integers(0, 9))).encode() + frame[i + 1 :]


def _outcome(fn, frame):  # type: ignore[no-untyped-def]
    try:
        event = fn(frame)
    except (FeedError, ValueError) as exc:
        return type(exc)
    return (event.symbol, event.first_seq, event.last_seq, event.sides.tolist(),
            event.prices.tolist(), event.sizes.tolist())  # fmt: skip


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_binance_mutated_frames_raise_only_documented_errors(data: st.DataObject) -> None:
    frames = _frames()
    if not frames:
        pytest.skip("the real recordings (../shared/data) are absent")
    frame = _mutate(data.draw(st.sampled_from(frames)), data)
    feed = BinanceBookFeed(SYMBOLS)
    with contextlib.suppress(FeedError, ValueError):
        feed.parse_ws(frame, 0, 0)
    levels = LevelBuffer(8)
    with contextlib.suppress(FeedError, ValueError):
        feed.parse_delta_into(frame, 0, 0, levels)
    slow = _outcome(lambda f: parsing._validated_depth_update(f, SYMBOLS, 0), frame)
    if isinstance(slow, tuple):  # the reference accepted it: the fast path must agree exactly
        assert _outcome(lambda f: parsing.parse_depth_update(f, SYMBOLS), frame) == slow


@given(st.binary(max_size=300))
def test_binance_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    feed = BinanceBookFeed(SYMBOLS)
    try:
        events = feed.parse_ws(frame, 0, 0)
    except (FeedError, ValueError):
        return
    assert isinstance(events, list)
