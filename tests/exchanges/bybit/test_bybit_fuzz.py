"""Bybit parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of the recording's ``orderbook`` snapshots and deltas must either parse or raise a
documented error; where the validating parser accepts one, ``parse_book_message`` (the
scanner, falling back to the validating parse), the feed's ``parse_delta_into`` and its
compiled path (``BybitPath``, snapshots included) must read exactly the same event; the path
must read nothing the validating parser refuses.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, example, given, settings

from arbcore.exchanges.bybit import parsing
from arbcore.exchanges.bybit.data import BybitBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.testing import fuzz
from arbcore.testing.conformance import VENUE_EXTRA_INSTRUMENTS

VENUE = "bybit"
SYMBOLS = SymbolMap.of(VENUE, VENUE_EXTRA_INSTRUMENTS[VENUE])


@cache
def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
# "cts" mutated into a second "ts": the scanner read the first, the validating parse the last
@example(
    frame=b'{"topic":"orderbook.50.XRPUSDT","type":"delta","ts":2,'
    b'"data":{"s":"XRPUSDT","b":[],"a":[],"u":1},"ts":1}'
)
@pytest.mark.recording
def test_bybit_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = BybitBookFeed(SYMBOLS)
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    reference = fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_book_message(f, SYMBOLS),
        lambda f: parsing._validated_book_message(f, SYMBOLS, 0),
        frame,
    )
    fuzz.assert_delta_into_matches(feed, frame, reference)
    read = feed.delta_path.push_of(frame)  # the compiled path accepts nothing the parser refuses
    if read is not None:
        assert fuzz.event_key(parsing.path_event(read, feed.delta_path.levels)) == reference, frame


@given(fuzz.random_frames())
def test_bybit_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    feed = BybitBookFeed(SYMBOLS)
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
