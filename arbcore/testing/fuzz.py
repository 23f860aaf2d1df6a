"""Parser fuzzing shared by every venue's ``test_<venue>_fuzz.py``: mutations and comparisons.

Each venue test mutates frames of its real recording (flipped, dropped, inserted, truncated
bytes and changed digits) and checks three things:

- the feed (the code a live connection runs) either parses a mutated frame or raises one of
  the documented errors, :data:`DOCUMENTED_ERRORS` (``FeedError``/``ValueError`` subclasses);
- whenever the venue's validating parser accepts a mutated frame, its fast path gives exactly
  the same event (:func:`assert_fast_matches_validating`, :func:`assert_delta_into_matches`);
- random bytes never crash the feed.

Needs ``hypothesis`` (a dev dependency): import this module from tests only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np
from hypothesis import strategies as st

from arbcore.errors import FeedError
from arbcore.marketdata.sync import SeqView
from arbcore.model import BookEvent, BookEventKind
from arbcore.testing.conformance import Recording, load_venue_recording
from arbcore.testing.recordings import shared_data_dir
from arbcore_ext.book import LevelBuffer

if TYPE_CHECKING:  # a runtime import here would come before the venue registry's
    from arbcore.marketdata.feed import VenueFeed

__all__ = [
    "DOCUMENTED_ERRORS",
    "MUTATIONS",
    "DeltaIntoFeed",
    "Outcome",
    "assert_delta_into_matches",
    "assert_fast_matches_validating",
    "event_frames",
    "event_key",
    "feed_survives",
    "mutate",
    "mutated_frames",
    "outcome",
    "primed_feed",
    "random_frames",
    "spread",
    "venue_frames",
    "venue_recording",
]

#: What a parser may raise on a frame it cannot read: every other exception is a bug.
DOCUMENTED_ERRORS: tuple[type[Exception], ...] = (FeedError, ValueError)

#: The mutations :func:`mutate` applies to a real frame.
MUTATIONS = ("flip", "drop", "insert", "truncate", "digit")

#: A parse's result as a comparable value: the event's fields, or the error type it raised.
Outcome = tuple[Any, ...] | type[BaseException]


def mutate(frame: bytes, draw: st.DrawFn) -> bytes:
    """``frame`` with one mutation: a flipped, dropped or inserted byte, a cut, a changed digit."""
    if not frame:
        return draw(st.binary(min_size=1, max_size=4))
    kind = draw(st.sampled_from(MUTATIONS))
    at = draw(st.integers(0, len(frame) - 1))
    digits = [i for i, byte in enumerate(frame) if 48 <= byte <= 57]
    if kind == "digit" and digits:
        i = draw(st.sampled_from(digits))
        return frame[:i] + str(draw(st.integers(0, 9))).encode() + frame[i + 1 :]
    if kind == "drop":
        return frame[:at] + frame[at + 1 :]
    if kind == "insert":
        return frame[:at] + draw(st.binary(min_size=1, max_size=4)) + frame[at:]
    if kind == "truncate":
        return frame[:at]
    return frame[:at] + bytes([frame[at] ^ draw(st.integers(1, 255))]) + frame[at + 1 :]


def mutated_frames(frames: Callable[[], Sequence[bytes]]) -> st.SearchStrategy[bytes]:
    """Mutations of one of ``frames()`` (called at the first draw, so a test module imports
    without the recordings; with none it draws ``b""`` and the test should skip)."""

    @st.composite
    def strategy(draw: st.DrawFn) -> bytes:
        available = frames()
        if not available:
            return b""
        return mutate(draw(st.sampled_from(available)), draw)

    return st.deferred(strategy)


def random_frames(max_size: int = 300) -> st.SearchStrategy[bytes]:
    """Random bytes, and random bytes behind a JSON array or object opening (to get past the
    first-byte dispatch of array venues)."""
    raw = st.binary(max_size=max_size)
    return st.one_of(raw, raw.map(lambda body: b"[" + body), raw.map(lambda body: b"{" + body))


def spread(items: Sequence[bytes], limit: int) -> tuple[bytes, ...]:
    """At most ``limit`` of ``items``, evenly spaced through them (not just the first ones)."""
    if len(items) <= limit:
        return tuple(items)
    step = len(items) / limit
    return tuple(items[int(i * step)] for i in range(limit))


def event_frames(
    recording: Recording,
    *,
    book_only: bool = True,
    transform: Callable[[bytes], bytes] | None = None,
) -> list[bytes]:
    """The recording's WebSocket frames that give events when replayed in order through one
    feed (book events only, unless ``book_only`` is false); ``transform`` applied to each."""
    feed = recording.feed()
    found: list[bytes] = []
    for record in recording.records:
        if record.kind != "ws":
            continue
        try:
            events = feed.parse_ws(record.payload, record.ts_ns, record.connection)
        except DOCUMENTED_ERRORS:
            continue
        if any(not book_only or isinstance(event, BookEvent) for event in events):
            found.append(transform(record.payload) if transform else record.payload)
    return found


def _value(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


@cache
def venue_recording(venue: str) -> Recording | None:
    """The venue's real recording (``conformance.VENUE_RECORDINGS``); None when it is absent."""
    root = shared_data_dir()
    return None if root is None else load_venue_recording(venue, root)


@cache
def venue_frames(
    venue: str,
    limit: int = 200,
    *,
    book_only: bool = True,
    transform: Callable[[bytes], bytes] | None = None,
) -> tuple[bytes, ...]:
    """Up to ``limit`` event frames (:func:`event_frames`) of the venue's recording, spread
    through it; ``()`` without the recordings."""
    recording = venue_recording(venue)
    if recording is None:
        return ()
    return spread(event_frames(recording, book_only=book_only, transform=transform), limit)


def primed_feed(recording: Recording) -> VenueFeed:
    """A fresh feed that has read the recording's control frames (JSON objects: info, conf and
    subscription acks) on their connections, so channel-id venues know their book channels."""
    feed = recording.feed()
    for record in recording.records:
        if record.kind == "ws" and record.payload[:1] == b"{":
            with contextlib.suppress(*DOCUMENTED_ERRORS):
                feed.parse_ws(record.payload, record.ts_ns, record.connection)
    return feed


def event_key(event: Any) -> tuple[Any, ...]:
    """Every field of an attrs event (BookEvent, its subclasses, Quote) as comparable values;
    any other result (a tuple of values) as itself, arrays as lists."""
    if not attrs.has(type(event)):
        return tuple(_value(value) for value in event)
    names = [field.name for field in attrs.fields(type(event))]
    return (type(event).__name__, *((name, _value(getattr(event, name))) for name in names))


def outcome(parse: Callable[[bytes], Any], frame: bytes) -> Outcome:
    """:func:`event_key` of ``parse(frame)``, or the type of the documented error it raised."""
    try:
        event = parse(frame)
    except DOCUMENTED_ERRORS as exc:
        return type(exc)
    return event_key(event)


def feed_survives(parse: Callable[[bytes], Any], frame: bytes) -> None:
    """``parse(frame)``, with documented errors swallowed: anything else fails the test."""
    with contextlib.suppress(*DOCUMENTED_ERRORS):
        parse(frame)


def assert_fast_matches_validating(
    fast: Callable[[bytes], Any], validating: Callable[[bytes], Any], frame: bytes
) -> Outcome:
    """Where the validating parser accepts ``frame``, the fast one gives exactly its event.

    Returns the validating parser's outcome (to check other fast paths against it).
    """
    reference = outcome(validating, frame)
    if isinstance(reference, tuple):
        assert outcome(fast, frame) == reference, frame
    return reference


class DeltaIntoFeed(Protocol):
    """A feed with the allocation-free delta path (Binance, OKX, Bybit)."""

    def parse_delta_into(
        self, frame: bytes, ts_recv_ns: int, connection: int, levels: LevelBuffer
    ) -> tuple[str, SeqView] | None: ...


_SEQ_FIELDS = ("first_seq", "last_seq", "prev_seq", "checksum", "ts_event_ns")


def assert_delta_into_matches(feed: DeltaIntoFeed, frame: bytes, reference: Outcome) -> None:
    """``feed.parse_delta_into`` never crashes and, where it accepts a frame the validating
    parser also accepted (``reference``, an :func:`outcome`), it reads the same delta."""
    levels = LevelBuffer(8)
    try:
        scanned = feed.parse_delta_into(frame, 0, 0, levels)
    except DOCUMENTED_ERRORS:
        return
    if scanned is None or not isinstance(reference, tuple):
        return
    expected = dict(reference[1:])
    symbol, seq = scanned
    sides, prices, sizes = levels.arrays()
    got = {"symbol": symbol, "kind": BookEventKind.DELTA, "sides": sides.tolist(),
           "prices": prices.tolist(), "sizes": sizes.tolist(),
           **{name: getattr(seq, name) for name in _SEQ_FIELDS}}  # fmt: skip
    assert {name: expected[name] for name in got} == got, frame
