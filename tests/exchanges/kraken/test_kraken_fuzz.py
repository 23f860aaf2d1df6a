"""Kraken parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of the recording's v1 ``book-1000`` snapshots and updates and ``ticker`` frames must
either parse or raise a documented error; where ``validated_v1_book`` accepts a mutated book
frame, ``parse_v1_book`` (the scanner, falling back to the validating parse) must read exactly
the same event. v1 frames name their pair, so the parsers need no channel table; the feed
still gets the recording's subscription acks first, as a live one would have, and a fresh feed
per example (it keeps each pair's wire format).
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings

from arbcore.exchanges.kraken import parsing
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import VenueFeed
from arbcore.testing import fuzz

pytestmark = pytest.mark.recording

VENUE = "kraken"
BOOK_CONNECTION = 2000  # the recording's book-1000 connection


@cache
def _symbols() -> SymbolMap:
    recording = fuzz.venue_recording(VENUE)
    return SymbolMap.of(VENUE, recording.instruments if recording is not None else [])


def _feed() -> VenueFeed:
    recording = fuzz.venue_recording(VENUE)
    assert recording is not None
    return fuzz.primed_feed(recording)


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE, book_only=False)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
def test_kraken_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, BOOK_CONNECTION), frame)
    tail = parsing._v1_tail(frame)
    instrument = None if tail is None else _symbols().get(tail[1])
    if instrument is None:
        return
    fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_v1_book(f, instrument),
        lambda f: parsing.validated_v1_book(f, instrument),
        frame,
    )


@given(fuzz.random_frames())
def test_kraken_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    if fuzz.venue_recording(VENUE) is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, BOOK_CONNECTION), frame)
