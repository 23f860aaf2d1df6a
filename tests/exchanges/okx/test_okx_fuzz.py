"""OKX parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of the recording's ``books`` pushes must either parse or raise a documented error;
where the validating parser accepts one, ``parse_book`` (the scanner, falling back to the
validating parse) and the feed's ``parse_delta_into`` must read exactly the same event.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings

from arbcore.exchanges.okx import parsing
from arbcore.exchanges.okx.data import OKXBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.testing import fuzz

pytestmark = pytest.mark.recording

VENUE = "okx"


@cache
def _symbols() -> SymbolMap:
    recording = fuzz.venue_recording(VENUE)
    assert recording is not None
    return SymbolMap.of(VENUE, recording.instruments)


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
def test_okx_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    symbols = _symbols()
    feed = OKXBookFeed(symbols)
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    reference = fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_book(f, symbols),
        lambda f: parsing._validated_book(f, symbols, 0),
        frame,
    )
    fuzz.assert_delta_into_matches(feed, frame, reference)


@given(fuzz.random_frames())
def test_okx_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    feed = OKXBookFeed(_symbols() if _frames() else SymbolMap.of(VENUE, []))
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
