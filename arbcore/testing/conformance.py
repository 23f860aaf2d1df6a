"""The conformance kit every venue's market-data tests run: replay, corrupt, detect.

A venue test names its recording and the counts its SOURCES.md states; the kit replays it
through the venue's real feed (the code a live connection runs) and corrupts copies of it: one
delta dropped, one size changed, two messages swapped. Each corruption must be caught (a gap,
a checksum failure or a BBO mismatch, as the venue's protocol allows) and the book resynced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from arbcore.cli_replay import find_instruments
from arbcore.exchanges.registry import get_venue
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, VenueFeed, replay
from arbcore.marketdata.records import Record, read_records
from arbcore.model import BookEvent, BookEventKind, Instrument
from arbcore.testing.instruments import load_rest_body

__all__ = [
    "VENUE_RECORDINGS",
    "Recording",
    "change_one_size",
    "delta_indices",
    "load_recording",
    "load_venue_recording",
    "replay_records",
]


#: Each venue's real recording under ``shared/data``, as one session (files in order).
VENUE_RECORDINGS: dict[str, tuple[str, ...]] = {
    "binance": ("real/binance/spot/btcusdt_20240808.gz",),
    "okx": ("real/okx/OKX.ws.1.0",),
    "htx": ("real/htx/HUOBI.ws.44.0",),
    "bybit": ("real/bybit/xrpusdt-ob500.data.zip",),
    "kucoin": ("real/kucoin/KUCOIN.http.0.0", "real/kucoin/KUCOIN.ws.1.0"),
    "gateio": ("real/gateio/GATEIO.http.0.0", "real/gateio/GATEIO.ws.1.0"),
    "kraken": ("real/kraken/KRAKEN.ws.48.0", "real/kraken/KRAKEN.ws.49.0",
               "real/kraken/KRAKEN.ws.50.0"),
    "bitfinex": ("real/bitfinex/BITFINEX.ws.11.0",),
}  # fmt: skip

#: Instruments a recording needs that no capture beside it lists (Bybit's archive has none).
VENUE_EXTRA_INSTRUMENTS: dict[str, tuple[Instrument, ...]] = {
    "bybit": (
        Instrument.from_text(
            venue="bybit", native_symbol="XRPUSDT", base="XRP", quote="USDT",
            tick_size="0.0001", lot_size="1",
        ),
    ),
}  # fmt: skip


@attrs.frozen
class Recording:
    """A venue's recorded session, ready to replay (and to corrupt)."""

    venue: str
    records: tuple[Record, ...]
    instruments: tuple[Instrument, ...]

    def feed(self) -> VenueFeed:
        spec = get_venue(self.venue)
        return spec.feed(SymbolMap.of(self.venue, self.instruments))


def load_recording(
    venue: str,
    files: Sequence[Path],
    *,
    instruments: Sequence[Instrument] = (),
    fmt: str | None = None,
) -> Recording:
    """Records of ``files`` and the venue's instruments (its capture beside them, plus extras).

    ``instruments`` replace same-symbol entries of the capture: recordings made on a later day
    than the instrument list may need a tick that changed in between.
    """
    spec = get_venue(venue)
    source = find_instruments(spec, Path(files[0]))
    listed: dict[str, Instrument] = {}
    if source is not None:
        parsed = spec.parse_instruments(load_rest_body(source, spec.instruments_path))
        listed = {i.symbol: i for i in parsed.instruments}
    listed.update({i.symbol: i for i in instruments})
    return Recording(venue, tuple(read_records(files, fmt)), tuple(listed.values()))


def load_venue_recording(venue: str, shared_data: Path) -> Recording:
    """The venue's real recording (:data:`VENUE_RECORDINGS`) with the instruments it needs."""
    files = [shared_data / name for name in VENUE_RECORDINGS[venue]]
    return load_recording(venue, files, instruments=VENUE_EXTRA_INSTRUMENTS.get(venue, ()))


def replay_records(recording: Recording, records: Sequence[Record] | None = None) -> ReplayReport:
    """Replay the recording (or a corrupted copy of its records) through a fresh feed."""
    return replay(recording.records if records is None else records, recording.feed())


def delta_indices(recording: Recording, symbol: str) -> list[int]:
    """Positions of the records that carry a delta for ``symbol`` (as the venue parses them)."""
    feed = recording.feed()
    found = []
    for index, record in enumerate(recording.records):
        if record.kind != "ws":
            continue
        try:
            events = feed.parse_ws(record.payload, record.ts_ns, record.connection)
        except ValueError:
            continue
        if any(
            isinstance(event, BookEvent)
            and event.kind is BookEventKind.DELTA
            and event.symbol == symbol
            and len(event.prices)
            for event in events
        ):
            found.append(index)
    return found


_QUOTED_DECIMAL = re.compile(rb'"(\d+\.\d*[1-9]\d*)"')


def change_one_size(
    record: Record, pick: Callable[[list[re.Match[bytes]]], re.Match[bytes]] | None = None
) -> Record:
    """The record with one quoted non-zero decimal changed in its last digit (a size, usually).

    By default the last quoted decimal of the frame is changed, which is a size in venues that
    send ``[price, size]`` pairs.
    """
    matches = list(_QUOTED_DECIMAL.finditer(record.payload))
    if not matches:
        raise ValueError(f"{record.source}: no quoted decimal to change")
    match = (pick or (lambda found: found[-1]))(matches)
    text = match.group(1)
    last = text[-1:]
    changed = text[:-1] + (b"1" if last != b"1" else b"2")
    payload = record.payload[: match.start(1)] + changed + record.payload[match.end(1) :]
    return attrs.evolve(record, payload=payload)
