"""Gate.io parsers under random and mutated frames: documented errors only, never a wrong book.

Mutations of the recording's ``spot.order_book_update`` messages must either parse or raise a
documented error; where the validating parser accepts one, ``parse_book_update`` (the scanner,
falling back to the validating parse) and the feed's ``parse_delta_into`` must read exactly the
same event. The same holds for mutated REST order books and ``parse_order_book_snapshot``.
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


@cache
def _rest_bodies() -> tuple[bytes, ...]:
    recording = fuzz.venue_recording(VENUE)
    records = recording.records if recording is not None else ()
    return tuple(record.payload for record in records if record.kind == "rest")


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
# "a" flipped to a second "s" holding levels: the validating parse crashed with AttributeError
@example(
    frame=b'{"channel":"spot.order_book_update","event":"update",'
    b'"result":{"s":"NEO_BTC","U":1,"u":1,"b":[],"s":[]}}'
)
# a full snapshot in the plain delta's shape: the fast path must not read it as a delta
@example(
    frame=b'{"time":1,"channel":"spot.order_book_update","event":"update","result":{"t":2,'
    b'"full":true,"s":"NEO_BTC","U":1,"u":3,"b":[["0.001","1"]],"a":[]}}'
)
# REST's bids/asks beside b/a: the validating path reads only b/a in a WebSocket result
@example(
    frame=b'{"time":1,"channel":"spot.order_book_update","event":"update","result":{"t":2,'
    b'"s":"NEO_BTC","U":1,"u":3,"bids":[["0.002","1"]],"b":[["0.001","1"]],"a":[]}}'
)
# an event time in ms that no int64 holds in ns: the compiled path overflowed into a negative
@example(
    frame=b'{"time":1,"channel":"spot.order_book_update","event":"update","result":{'
    b'"t":10619093532978,"s":"NEO_BTC","U":1,"u":3,"b":[["0.001","1"]],"a":[]}}'
)
def test_gateio_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    symbols = feed.symbols
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    reference = fuzz.assert_fast_matches_validating(
        lambda f: parsing.parse_book_update(f, symbols),
        lambda f: parsing._validated_book_update(f, symbols, 0),
        frame,
    )
    fuzz.assert_delta_into_matches(feed, frame, reference)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(body=fuzz.mutated_frames(_rest_bodies))
# an id that is no number: the validating path raised TypeError
@example(body=b'{"id":null,"update":1,"asks":[],"bids":[]}')
def test_gateio_mutated_rest_order_books_read_the_same_on_both_paths(body: bytes) -> None:
    if not _rest_bodies():
        pytest.skip("the real recordings (../shared/data) are absent")
    instrument = _feed().symbols.get("OMG_USDT")  # a body names no pair; the book scales are
    assert instrument is not None  # the same for every recorded pair (8 and 10 decimals)
    fuzz.feed_survives(lambda b: parsing.parse_order_book_snapshot(b, instrument), body)
    fuzz.assert_fast_matches_validating(
        lambda b: parsing.parse_order_book_snapshot(b, instrument),
        lambda b: parsing._validated_order_book(b, instrument, 0),
        body,
    )


@given(fuzz.random_frames())
def test_gateio_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    fuzz.feed_survives(lambda f: _feed().parse_ws(f, 0, 0), frame)
