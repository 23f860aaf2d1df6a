"""KuCoin parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of the recording's ``trade.l2update`` and ``trade.ticker`` messages must either
parse or raise a documented error; where the validating parser accepts an l2update,
``parse_level2_update`` (the scanner, falling back to the validating parse) must read exactly
the same delta, row sequences included.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings

from arbcore.exchanges.kucoin import parsing
from arbcore.exchanges.kucoin.data import KucoinBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.testing import fuzz

pytestmark = pytest.mark.recording

VENUE = "kucoin"


@cache
def _feed() -> KucoinBookFeed:
    """A feed over the recording's instruments (stateless: one serves every example)."""
    recording = fuzz.venue_recording(VENUE)
    return KucoinBookFeed(SymbolMap.of(VENUE, recording.instruments if recording else []))


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE, book_only=False)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
def test_kucoin_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    symbols = feed.symbols
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_level2_update(f, symbols),
        lambda f: parsing._validated_level2_update(f, symbols, 0),
        frame,
    )


@given(fuzz.random_frames())
def test_kucoin_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    fuzz.feed_survives(lambda f: _feed().parse_ws(f, 0, 0), frame)
