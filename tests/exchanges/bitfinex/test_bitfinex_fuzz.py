"""Bitfinex parsers under random and mutated frames: documented errors only, never a wrong book.

Which channel is a book is connection state, so each example gets fresh feeds that have read
the recording's subscription acks first: mutated book frames then reach the book parser.
Mutations of the recording's book snapshots, updates and checksum frames must either parse or
raise a documented error. The fast path (``parse_delta_into``) must read exactly the event the
validating path (``parse_ws``) reads, and take no frame the validating path refuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings

from arbcore.exchanges.bitfinex.data import BitfinexBookFeed
from arbcore.model import BookEvent
from arbcore.testing import fuzz
from arbcore_ext.book import LevelBuffer

pytestmark = pytest.mark.recording

VENUE = "bitfinex"


def _feed() -> BitfinexBookFeed:
    recording = fuzz.venue_recording(VENUE)
    assert recording is not None
    feed = fuzz.primed_feed(recording)
    assert isinstance(feed, BitfinexBookFeed)
    return feed


def _with_checksums(frame: bytes) -> bytes:
    """A checksum frame on the update's channel and sequence: the recording has none."""
    chan, _, seq = json.loads(frame)
    return json.dumps([chan, "cs", -931816132, seq], separators=(",", ":")).encode()


def _frames() -> tuple[bytes, ...]:
    updates = fuzz.venue_frames(VENUE)
    checksums = tuple(_with_checksums(f) for f in updates[:20] if f.count(b"[") == 2)
    return updates + checksums


def _one_event(feed: BitfinexBookFeed) -> Callable[[bytes], Any]:
    """``parse_ws`` giving exactly one book event (a fresh primed feed has nothing to lose, so
    a plain frame gives no gap events); anything else is not a delta to compare."""

    def parse(frame: bytes) -> BookEvent:
        events = feed.parse_ws(frame, 0, 0)
        if len(events) != 1 or not isinstance(events[0], BookEvent):
            raise ValueError(f"{len(events)} events")
        return events[0]

    return parse


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
@example(frame=b"[232955,[0.0010262,01,8],30]")  # a leading zero: not JSON, not taken
@example(frame=b"[232955,[0.0010262,1,0],30]")  # amount 0: refused by both
def test_bitfinex_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    fuzz.feed_survives(lambda f: _feed().parse_ws(f, 0, 0), frame)
    reference = fuzz.outcome(_one_event(_feed()), frame)
    if _feed().parse_delta_into(frame, 0, 0, LevelBuffer(8)) is not None:
        assert isinstance(reference, tuple), (frame, reference)  # parse_ws takes it as well
    fuzz.assert_delta_into_matches(_feed(), frame, reference)


@given(fuzz.random_frames())
def test_bitfinex_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    if fuzz.venue_recording(VENUE) is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    fuzz.feed_survives(lambda f: feed.parse_delta_into(f, 0, 0, LevelBuffer(8)), frame)


def _all_frames() -> tuple[bytes, ...]:
    """Every kind of array frame the recording has (snapshots, updates, heartbeats, tickers,
    trades), spread through it: the C readers of ``parse_ws`` see each kind."""
    recording = fuzz.venue_recording(VENUE)
    if recording is None:
        return ()
    frames = [r.payload for r in recording.records if r.kind == "ws" and r.payload[:1] == b"["]
    return fuzz.spread(frames, 300)


def _read(feed: BitfinexBookFeed, frame: bytes) -> tuple[Any, ...]:
    """parse_ws's outcome and the connection state it leaves (sequence, each book's last)."""
    result = fuzz.outcome(lambda f: [fuzz.event_key(e) for e in feed.parse_ws(f, 0, 0)], frame)
    state = feed.delta_path.connections[0]
    return result, state.counter, state.last_seq, dict(state.book_last)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_all_frames))
@example(frame=b"[232955,[[1.1e-7,10,1000000],[2e-8,13,-2600000]],30]")  # exponents
@example(frame=b"[232955,[[0.0010262,1,0]],30]")  # amount 0: refused by both
@example(frame=b"[232955,[],30]")  # an empty book
@example(frame=b'[232955,"hb",30]')
@example(frame=b'[232959,"te",[1,2,-0.5,3e-2]]')  # not a book channel, no sequence
def test_bitfinex_c_readers_of_parse_ws_match_decoding(frame: bytes) -> None:
    """Heartbeats, other channels' frames and snapshots read in C give exactly the events,
    errors and sequence state that decoding the frame gives."""
    if not _all_frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    decoding = _feed()
    decoding.read_in_c = False
    assert _read(_feed(), frame) == _read(decoding, frame)
