"""One conformance suite, run once per venue: the contract every venue package fills in.

Registry entry, instrument list, snapshot + delta handling on the venue's real recording (no
malformed frame, no gap, no checksum failure, no crossed book, books in sync at the end), and
the resync path: a dropped delta is detected (as a gap or a checksum failure), the book is
resynced, and it is not served while out of sync.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from arbcore.exchanges.registry import VENUE_NAMES, get_venue
from arbcore.testing.conformance import (
    delta_indices,
    load_venue_recording,
    replay_records,
)
from arbcore.testing.instruments import load_rest_body

pytestmark = pytest.mark.recording


@pytest.fixture(scope="module", params=VENUE_NAMES)
def venue(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_conformance_registry_and_instruments(venue: str, shared_data: Path) -> None:
    spec = get_venue(venue)
    assert spec.name == venue
    capture = shared_data / "real" / venue / spec.instruments_file
    if not capture.is_file():
        pytest.skip(f"no instrument capture for {venue} in shared/data (its tests build one)")
    parsed = spec.parse_instruments(load_rest_body(capture, spec.instruments_path))
    assert parsed.instruments
    assert all(i.venue == venue and i.tick_size > 0 and i.lot_size > 0 for i in parsed.instruments)
    assert len({i.symbol for i in parsed.instruments}) == len(parsed.instruments)


def test_conformance_recording_replays_clean(venue: str, shared_data: Path) -> None:
    report = replay_records(load_venue_recording(venue, shared_data)).as_json()
    assert report["malformed"] == 0
    books = report["books"]
    assert books
    for symbol, book in books.items():
        assert (book["gaps"], book["checksum_failed"], book["crossed"]) == (0, 0, 0), symbol
        assert book["bbo_mismatches"] == 0, symbol
    assert any(book["updates"] or book["snapshots"] > 1 for book in books.values())
    assert all(book["best_bid"] is not None for book in books.values() if book["snapshots"])


def test_conformance_dropped_delta_is_detected_and_never_served(
    venue: str, shared_data: Path
) -> None:
    recording = load_venue_recording(venue, shared_data)
    clean = replay_records(recording).as_json()["books"]
    symbol = max(clean, key=lambda s: clean[s]["updates"])
    deltas = delta_indices(recording, symbol)
    if len(deltas) < 3:
        pytest.skip(f"{venue}'s recording streams full snapshots only: nothing to drop")
    records = list(recording.records)
    del records[deltas[len(deltas) // 2]]  # mid-session: the book is in sync by then
    book = replay_records(recording, records).as_json()["books"][symbol]
    assert book["gaps"] + book["checksum_failed"] >= 1
    assert book["resyncs"] >= 1
    assert book["updates"] < clean[symbol]["updates"]
