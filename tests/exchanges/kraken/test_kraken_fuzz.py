"""Kraken parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of the recording's v1 ``book-1000`` snapshots and updates and ``ticker`` frames must
either parse or raise a documented error; where ``validated_v1_book`` accepts a mutated book
frame, ``parse_v1_book`` (the scanner, falling back to the validating parse) and the feed's
``parse_delta_into`` must read exactly the same event. v1 frames name their pair, so the parsers
need no channel table; the feed still gets the recording's subscription acks first, as a live
one would have, and a fresh feed per example (it keeps each pair's wire format and numbers book
events by arrival: a fresh feed's first is number 1).
"""

from __future__ import annotations

from functools import cache

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from arbcore.exchanges.kraken import parsing
from arbcore.exchanges.kraken.data import KrakenBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import VenueFeed
from arbcore.model import BookEvent
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


def _first_arrival(event: BookEvent) -> BookEvent:
    """The event as a fresh feed hands it on: the first book event it reads is number 1."""
    return attrs.evolve(event, first_seq=1, last_seq=1)


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
    reference = fuzz.assert_fast_matches_validating(
        lambda f: _first_arrival(parsing.parse_v1_book(f, instrument)),
        lambda f: _first_arrival(parsing.validated_v1_book(f, instrument)),
        frame,
    )
    fresh = _feed()
    assert isinstance(fresh, KrakenBookFeed)
    fuzz.assert_delta_into_matches(fresh, frame, reference)


@given(fuzz.random_frames())
def test_kraken_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    if fuzz.venue_recording(VENUE) is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, BOOK_CONNECTION), frame)
