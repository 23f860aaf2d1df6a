"""``arbcore record``: keep live books for some symbols and write every frame to a file.

The file is in the arbcore record format (gzip JSON lines, see ``arbcore.marketdata.records``)
and replays with ``arbcore replay FILE --venue NAME``. Instruments come from a capture of the
venue's instrument list (``--instruments``) or its REST API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

import httpx

from arbcore.exchanges.registry import VENUE_NAMES, VenueSpec, get_venue
from arbcore.marketdata.recorder import Recorder
from arbcore.testing.instruments import load_rest_body

__all__ = ["run_record"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbcore record", description=__doc__.splitlines()[0])
    parser.add_argument("--venue", required=True, choices=VENUE_NAMES)
    parser.add_argument("--symbols", nargs="+", required=True, help="unified, e.g. BTC/USDT")
    parser.add_argument("--out", type=Path, required=True, help="file to write (.gz)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to record")
    parser.add_argument("--instruments", type=Path, help="capture of the instrument list")
    parser.add_argument("--ws-url", help="override the venue's WebSocket URL")
    parser.add_argument("--rest-url", help="override the venue's REST base URL")
    return parser


async def _instruments(spec: VenueSpec, source: Path | None, rest_url: str | None) -> object:
    if source is not None:
        return load_rest_body(source, spec.instruments_path)
    if rest_url is None:
        raise ValueError("pass --instruments (a capture) or --rest-url to fetch them")
    async with httpx.AsyncClient(timeout=10.0) as http:
        response = await http.get(rest_url + spec.instruments_path)
        response.raise_for_status()
        return response.json()


async def _record(args: argparse.Namespace, spec: VenueSpec) -> int:
    payload = await _instruments(spec, args.instruments, args.rest_url)
    instruments = spec.parse_instruments(payload).instruments
    overrides = {key: value for key, value in (("ws_url", args.ws_url), ("rest_url", args.rest_url))
                 if value}  # fmt: skip
    with Recorder(args.out) as recorder:
        assert spec.client is not None
        client = spec.client(instruments, recorder=recorder, **overrides)
        await client.add_symbols(args.symbols)
        runner = asyncio.create_task(client.run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(runner), timeout=args.duration)
        await client.close()
        await runner
        print(f"{args.out}: {recorder.records} records")
    return 0


def run_record(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        spec = get_venue(args.venue)
    except KeyError as exc:
        print(f"arbcore record: {exc.args[0]}", file=sys.stderr)
        return 2
    if spec.client is None:
        print(f"arbcore record: {args.venue} has no live client yet", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_record(args, spec))
    except (ValueError, KeyError, OSError, httpx.HTTPError) as exc:
        print(f"arbcore record: {exc}", file=sys.stderr)
        return 2
