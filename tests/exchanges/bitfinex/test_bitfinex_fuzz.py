"""Bitfinex parsers under random and mutated frames: documented errors only, never a wrong book.

Which channel is a book is connection state, so each example gets a fresh feed that has read
the recording's subscription acks first: mutated book frames then reach the book parser.
Mutations of the recording's book snapshots, updates and checksum frames must either parse or
raise a documented error; where the validating parse (``decode`` + ``parse_channel_message``)
accepts a frame, the byte-splitting fast path (``scan_update``) must give the same message and
the same levels.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from arbcore.exchanges.bitfinex import parsing
from arbcore.exchanges.bitfinex.parsing import ChannelMessage, MessageKind
from arbcore.marketdata.feed import VenueFeed
from arbcore.model import Instrument
from arbcore.testing import fuzz

pytestmark = pytest.mark.recording

VENUE = "bitfinex"


def _feed() -> VenueFeed:
    recording = fuzz.venue_recording(VENUE)
    assert recording is not None
    return fuzz.primed_feed(recording)


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE)


@cache
def _instrument() -> Instrument:
    """The book instrument the levels are read at (the first one the recording subscribes)."""
    recording = fuzz.venue_recording(VENUE)
    assert recording is not None
    (first, *_) = sorted(recording.instruments, key=lambda i: i.symbol)
    return first


def _message(message: ChannelMessage | None) -> tuple[Any, ...]:
    if message is None:
        raise ValueError("not a single-level update")
    levels = None
    if message.kind is MessageKind.UPDATE:
        levels = [a.tolist() for a in parsing.level_arrays([message.payload], _instrument())]
    return message.chan_id, message.kind, message.seq, levels


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
def test_bitfinex_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    fast = parsing.scan_update(frame)
    if fast is None:
        return
    reference = fuzz.outcome(
        lambda f: _message(parsing.parse_channel_message(parsing.decode(f))), frame
    )
    if isinstance(reference, tuple):
        assert fuzz.outcome(lambda f: _message(parsing.scan_update(f)), frame) == reference


@given(fuzz.random_frames())
def test_bitfinex_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    if fuzz.venue_recording(VENUE) is None:
        pytest.skip("the real recordings (../shared/data) are absent")
    feed = _feed()
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
