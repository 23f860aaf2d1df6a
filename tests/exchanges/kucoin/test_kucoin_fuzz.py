"""KuCoin parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of the recording's ``trade.l2update`` and ``trade.ticker`` messages must either
parse or raise a documented error; where the validating parser accepts an l2update,
``parse_level2_update`` (the scanner, falling back to the validating parse) must read exactly
the same delta, row sequences included, and the feed's ``parse_delta_into`` the same levels and
sequences (it takes only single-sequence updates, whose rows need no trimming). The ticker and
REST snapshot scanners are held to their validating parsers the same way.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbcore.exchanges.kucoin import parsing
from arbcore.exchanges.kucoin.data import KucoinBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import Instrument
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
    reference = fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_level2_update(f, symbols),
        lambda f: parsing._validated_level2_update(f, symbols, 0),
        frame,
    )
    fuzz.assert_delta_into_matches(feed, frame, reference)
    fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_ticker(f, symbols),
        lambda f: parsing._validated_ticker(f, symbols, 0),
        frame,
    )


@cache
def _snapshots() -> tuple[tuple[Instrument, bytes], ...]:
    """The recording's REST level2 bodies with the (book) instrument each one is for."""
    recording = fuzz.venue_recording(VENUE)
    if recording is None:
        return ()
    feed = _feed()
    found = []
    for record in recording.records:
        if record.kind == "rest" and record.url and "/orderbook/level2" in record.url:
            native = record.url.rpartition("symbol=")[2]
            instrument = feed.symbols.get(native)
            assert instrument is not None
            found.append((instrument, record.payload))
    return tuple(found)


@st.composite
def _mutated_snapshot(draw: st.DrawFn) -> tuple[Instrument, bytes] | None:
    snapshots = _snapshots()
    if not snapshots:
        return None
    instrument, body = draw(st.sampled_from(snapshots))
    return instrument, fuzz.mutate(body, draw)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(snapshot=_mutated_snapshot())
def test_kucoin_mutated_rest_snapshots_read_as_the_validating_parser_reads_them(
    snapshot: tuple[Instrument, bytes] | None,
) -> None:
    if snapshot is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    instrument, body = snapshot
    fuzz.assert_fast_matches_validating(
        lambda b: parsing.parse_level2_snapshot(b, instrument),
        lambda b: parsing._validated_level2_snapshot(b, instrument, 0),
        body,
    )


@given(fuzz.random_frames())
def test_kucoin_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    fuzz.feed_survives(lambda f: _feed().parse_ws(f, 0, 0), frame)
