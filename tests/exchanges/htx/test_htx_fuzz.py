"""HTX parsers under random and mutated frames: documented errors only, never a wrong book.

HTX frames are gzip on the wire; the mutations are made to decompressed book messages (plain
JSON passes through ``decompress``) and each is also fed gzipped: the recording's depth.step0
snapshots, and the mbp deltas and req replies derived from them (``arbcore.testing.htx_mbp``),
where the fast path reads deltas. Where the validating parser accepts a mutated message,
``parse_book`` (the scanner, falling back to the validating parse) and the feed's
``parse_delta_into`` must read exactly the same event. The feed is stateful (newest snapshot
per connection, the last frame it opened), so each check gets a fresh one.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from functools import cache
from types import SimpleNamespace
from typing import cast

import pytest
from hypothesis import HealthCheck, example, given, settings

from arbcore.errors import MalformedMessage
from arbcore.exchanges.htx import parsing
from arbcore.exchanges.htx.data import HTXBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import VenueFeed, replay
from arbcore.marketdata.records import Record
from arbcore.testing import fuzz, htx_mbp
from arbcore_ext.book import ASK, BID

pytestmark = pytest.mark.recording

VENUE = "htx"


@cache
def _symbols() -> SymbolMap:
    recording = fuzz.venue_recording(VENUE)
    return SymbolMap.of(VENUE, recording.instruments if recording is not None else [])


def _frames() -> tuple[bytes, ...]:
    return fuzz.venue_frames(VENUE, transform=parsing.decompress)


@cache
def _mbp_frames() -> tuple[bytes, ...]:
    recording = fuzz.venue_recording(VENUE)
    if recording is None:
        return ()
    session = htx_mbp.mbp_session(recording)
    return fuzz.spread([parsing.decompress(record.payload) for record in session], 200)


def _fast(symbols: SymbolMap) -> fuzz.DeltaIntoFeed:
    """A fresh feed as the fuzz kit's delta reader (its path is the SequenceInfo it returns)."""
    return cast(fuzz.DeltaIntoFeed, HTXBookFeed(symbols))


def _only(events: Sequence[object]) -> object:
    (event,) = events
    return event


def _check(frame: bytes) -> None:
    """The feed survives ``frame`` (plain and gzipped), and every fast reading of it that the
    validating parser also accepts is exactly the validating reading."""
    symbols = _symbols()
    fuzz.feed_survives(lambda f: HTXBookFeed(symbols).parse_ws(f, 0, 0), frame)
    fuzz.feed_survives(lambda f: HTXBookFeed(symbols).parse_ws(gzip.compress(f), 0, 0), frame)
    channel = parsing.book_channel(frame)
    instrument = None if channel is None else symbols.get(channel[0])
    reference: fuzz.Outcome = MalformedMessage  # not a book message of a known symbol
    if channel is not None and instrument is not None:
        reference = fuzz.assert_fast_matches_validating(
            lambda f: parsing.parse_book(f, channel, instrument),
            lambda f: parsing.validated_book(f, channel, instrument),
            frame,
        )
        # the feed's own reading (snapshots through the compiled path's scanner), gzipped
        fuzz.assert_fast_matches_validating(
            lambda f: _only(HTXBookFeed(symbols).parse_ws(gzip.compress(f), 0, 0)),
            lambda f: parsing.validated_book(f, channel, instrument),
            frame,
        )
    fuzz.assert_delta_into_matches(_fast(symbols), frame, reference)
    fuzz.assert_delta_into_matches(_fast(symbols), gzip.compress(frame), reference)
    if channel is not None and instrument is not None and channel[1] == parsing.DEPTH:
        # twice: the first builds the book in Python, the path applies the second in C
        assert _replayed(frame, compiled=True) == _replayed(frame, compiled=False), frame


def _replayed(frame: bytes, *, compiled: bool) -> object:
    """Report, books and stale count of the frame (gzipped) replayed twice, through the feed's
    compiled path or through parse_ws alone."""
    feed = HTXBookFeed(_symbols())
    reader: VenueFeed = feed
    if not compiled:
        reader = cast(VenueFeed, SimpleNamespace(
            venue=feed.venue, symbols=feed.symbols, parse_ws=feed.parse_ws,
            parse_rest=feed.parse_rest, new_sync=feed.new_sync,
        ))  # fmt: skip
    report = replay([Record("ws", index + 1, gzip.compress(frame)) for index in range(2)], reader)
    document = report.as_json()
    del document["elapsed_s"], document["messages_per_s"]
    books = {
        symbol: [array.tolist() for side in (BID, ASK) for array in book.sync.book.levels(side)]
        for symbol, book in report.books.items()
    }
    return document, books, feed.stale_snapshots


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_frames))
# a size digit turned into an exponent far past any scale: decimal.InvalidOperation escaped
@example(
    frame=b'{"ch":"market.btcusdt.depth.step0","ts":1,'
    b'"tick":{"bids":[[1,1E100]],"asks":[],"version":1}}'
)
def test_htx_mutated_frames_raise_only_documented_errors(frame: bytes) -> None:
    if not _frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    _check(frame)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(frame=fuzz.mutated_frames(_mbp_frames))
# sizes on the tie and past it, read at a finer scale and rounded in integers
@example(
    frame=b'{"ch":"market.yfihusd.mbp.150","ts":1,"tick":{"seqNum":3,"prevSeqNum":1,'
    b'"bids":[[50000.5,0.123456785],[49999.5,1.5E-8]],"asks":[[50100.5,26.755973959140651]]}}'
)
# a size no finer scale holds beside one that needs rounding: the validating path reads it
@example(
    frame=b'{"ch":"market.yfihusd.mbp.150","ts":1,"tick":{"seqNum":3,"prevSeqNum":1,'
    b'"bids":[[50000.5,123456789.12345678901]],"asks":[[50100.5,0.123456785]]}}'
)
# no prevSeqNum: not a delta the fast path can chain
@example(frame=b'{"ch":"market.yfihusd.mbp.150","ts":1,"tick":{"seqNum":3,"bids":[]}}')
def test_htx_mutated_mbp_messages_read_the_same_on_every_path(frame: bytes) -> None:
    if not _mbp_frames():
        pytest.skip("the real recordings (../shared/data) are absent")
    _check(frame)


@given(fuzz.random_frames())
def test_htx_random_bytes_never_crash_the_feed(frame: bytes) -> None:
    feed = HTXBookFeed(_symbols())
    fuzz.feed_survives(lambda f: feed.parse_ws(f, 0, 0), frame)
    fuzz.feed_survives(lambda f: feed.parse_ws(gzip.compress(f), 0, 1), frame)
    fuzz.assert_delta_into_matches(cast(fuzz.DeltaIntoFeed, feed), frame, MalformedMessage)
    fuzz.assert_delta_into_matches(
        cast(fuzz.DeltaIntoFeed, feed), gzip.compress(frame), MalformedMessage
    )
