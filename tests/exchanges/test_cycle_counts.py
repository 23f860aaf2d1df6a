"""Triangles through USDT on four venues' real instrument lists (the recorded exchange info).

The count comes three ways: the twin's depth-first enumeration, the compiled engine, and a plain
nested loop over markets written here; all three must agree and equal the pinned number.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from arbcore.exchanges.base import ParsedInstruments
from arbcore.exchanges.binance.providers import parse_instruments as parse_binance
from arbcore.exchanges.gateio.providers import parse_instruments as parse_gateio
from arbcore.exchanges.kucoin.providers import parse_instruments as parse_kucoin
from arbcore.exchanges.okx.providers import parse_instruments as parse_okx
from arbcore.testing.cycles import build_engine
from arbcore.testing.instruments import load_rest_body

Parser = Callable[[Any], ParsedInstruments]

VENUES = [
    # venue, recording, URL of the instrument list, parser, markets, 3-cycles through USDT
    ("binance", "BINANCE.0", "/api/v3/exchangeInfo", parse_binance, 1222, 1692),
    ("okx", "OKX.0", "instType=SPOT", parse_okx, 513, 316),
    ("kucoin", "KUCOIN.0", "/api/v1/symbols", parse_kucoin, 633, 520),
    ("gateio", "GATEIO.0", "/spot/currency_pairs", parse_gateio, 1408, 1192),
]


def triangles_through(pairs: Sequence[tuple[str, str]], start: str) -> int:
    """start -> A -> B -> start over any market joining each two assets (either orientation)."""
    neighbours: defaultdict[str, list[str]] = defaultdict(list)  # one entry per market
    joining: Counter[frozenset[str]] = Counter()
    for base, quote in pairs:
        neighbours[base].append(quote)
        neighbours[quote].append(base)
        joining[frozenset((base, quote))] += 1
    count = 0
    for a in neighbours[start]:
        for b in neighbours[a]:
            if b != start:
                count += joining[frozenset((b, start))]
    return count


@pytest.mark.recording
@pytest.mark.parametrize(
    ("venue", "recording", "url", "parse", "markets", "triangles"),
    VENUES,
    ids=[venue[0] for venue in VENUES],
)
def test_cycle_count_three_legs_through_usdt_matches_nested_loops(
    shared_data: Path,
    venue: str,
    recording: str,
    url: str,
    parse: Parser,
    markets: int,
    triangles: int,
) -> None:
    instruments = parse(load_rest_body(shared_data / "real" / venue / recording, url)).instruments
    pairs = [(instrument.base, instrument.quote) for instrument in instruments]
    twin = build_engine("twin", pairs)
    compiled = build_engine("compiled", pairs)
    print(f"{venue}: {len(pairs)} markets, {twin.cycle_count} three-leg cycles through USDT")
    assert twin.cycle_count == triangles_through(pairs, "USDT")
    assert compiled.cycle_count == twin.cycle_count
    assert (len(pairs), twin.cycle_count) == (markets, triangles)
