"""``arbcore replay``: recorded traffic through the live parsing and sync code, counted.

Prints one JSON object (``--json``) or a table: per book the updates, gaps, resyncs, checksum
results, crossed books, the final best bid/ask and how the top compared with the venue's BBO
stream. Exit status 0 when everything was read, 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from arbcore.errors import MalformedMessage
from arbcore.exchanges.registry import VENUE_NAMES, VenueSpec, get_venue
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import replay
from arbcore.marketdata.records import FORMATS, read_records
from arbcore.testing.instruments import load_rest_body

__all__ = ["find_instruments", "run_replay"]


def find_instruments(spec: VenueSpec, near: Path) -> Path | None:
    """The venue's instrument capture (``BINANCE.0``) beside a recording or a level above."""
    for folder in (near.parent, near.parent.parent):
        candidate = folder / spec.instruments_file
        if candidate.is_file():
            return candidate
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbcore replay", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="one session, in order")
    parser.add_argument("--venue", required=True, choices=VENUE_NAMES)
    parser.add_argument("--format", choices=FORMATS, help="default: detected per file")
    parser.add_argument("--instruments", type=Path, help="the venue's instrument list capture")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run_replay(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        spec = get_venue(args.venue)
    except KeyError as exc:
        print(f"arbcore replay: {exc.args[0]}", file=sys.stderr)
        return 2
    source = args.instruments or find_instruments(spec, args.files[0])
    if source is None:
        print(
            f"arbcore replay: no {spec.instruments_file} beside the recording; pass --instruments",
            file=sys.stderr,
        )
        return 2
    try:
        parsed = spec.parse_instruments(load_rest_body(source, spec.instruments_path))
        feed = spec.feed(SymbolMap.of(spec.name, parsed.instruments))
        report = replay(read_records(args.files, args.format), feed)
    except (MalformedMessage, OSError, UnicodeDecodeError) as exc:
        print(f"arbcore replay: unreadable input: {exc}", file=sys.stderr)
        return 2
    document = report.as_json()
    if args.json:
        print(json.dumps(document))
        return 0
    print(
        f"{document['venue']}: {document['messages']:,} messages, "
        f"{document['book_events']:,} book events, {document['messages_per_s']} msg/s"
    )
    for symbol, book in document["books"].items():
        print(f"  {symbol}: " + ", ".join(f"{key} {value}" for key, value in book.items()))
    return 0
