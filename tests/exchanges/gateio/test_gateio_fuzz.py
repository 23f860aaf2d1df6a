"""Gate.io parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of the recording's ``spot.order_book_update`` messages must either parse or raise a
documented error; where the validating parser accepts one, ``parse_book_update`` (the scanner,
falling back to the validating parse) must read exactly the same event.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, example, given, settings

from arbcore.exchanges.gateio import parsing
from arbcore.exchanges.gateio.data import GateioBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.testing import fuzz

pytestmark = pytest.mark.recording

VENUE = "gateio"


@cache
def _feed() -> GateioBookFeed:
    """A feed over the recording's instruments (stateless: one serves every example)."""
    recording = fuzz.venue_recording(VENUE)
    return GateioBookFeed(SymbolMap.of(VENUE, recording.instruments if recording else []))


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
# "a" flipped to a second "s" holding levels: the validating parse crashed with AttributeError
@example(
    frame=b'{"channel":"spot.order_book_update","event":"update",'
    b'"result":{"s":"NEO_BTC","U":1,"u":1,"b":[],"s":[]}}'
)
def test_gateio_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    symbols = feed.symbols
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_book_update(f, symbols),
        lambda f: parsing._validated_book_update(f, symbols, 0),
        frame,
    )


@given(fuzz.random_frames())
def test_gateio_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    fuzz.feed_survives(lambda f: _feed().parse_ws(f, 0, 0), frame)
