"""HTX parsers under random and mutated frames: documented errors only, never a wrong book.

HTX frames are gzip on the wire; the mutations are made to the recording's decompressed book
messages (plain JSON passes through ``decompress``) and each is also fed gzipped. Where the
validating parser accepts a mutated message, ``parse_book`` (the scanner, falling back to the
validating parse) must read exactly the same event. The feed is stateful (newest snapshot per
connection), so each example gets a fresh one.
"""

from __future__ import annotations

import gzip
from functools import cache

import pytest
from hypothesis import HealthCheck, example, given, settings

from arbcore.exchanges.htx import parsing
from arbcore.exchanges.htx.data import HTXBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.testing import fuzz

pytestmark = pytest.mark.recording

VENUE = "htx"


@cache
def _symbols() -> SymbolMap:
    recording = fuzz.venue_recording(VENUE)
    return SymbolMap.of(VENUE, recording.instruments if recording is not None else [])


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE, transform=parsing.decompress)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
# a size digit turned into an exponent far past any scale: decimal.InvalidOperation escaped
@example(
    frame=b'{"ch":"market.btcusdt.depth.step0","ts":1,'
    b'"tick":{"bids":[[1,1E100]],"asks":[],"version":1}}'
)
def test_htx_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    symbols = _symbols()
    fuzz.feed_survives(lambda f: HTXBookFeed(symbols).parse_ws(f, 0, 0), frame)
    fuzz.feed_survives(lambda f: HTXBookFeed(symbols).parse_ws(gzip.compress(f), 0, 0), frame)
    channel = parsing.book_channel(frame)
    instrument = None if channel is None else symbols.get(channel[0])
    if channel is None or instrument is None:
        return
    fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_book(f, channel, instrument),
        lambda f: parsing.validated_book(f, channel, instrument),
        frame,
    )


@given(fuzz.random_frames())
def test_htx_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    feed = HTXBookFeed(_symbols())
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    fuzz.feed_survives(lambda f: feed.parse_ws(gzip.compress(f), 0, 1), frame)
