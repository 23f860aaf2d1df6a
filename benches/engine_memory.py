"""Memory at the seed's limits: 8 venues x 500 symbols, 1000 levels a side, both strategies.

``PYTHONPATH=. python benches/engine_memory.py [venues symbols levels]`` builds a real
:class:`~arbcore.engine.Engine` (each venue's own ``BookSync`` and book, the snapshot applied,
then strategies, shadow venues and router exactly as ``arbcore run`` wires them) and prints the
process's RSS after each stage as JSON, plus the books' own native bytes (``L2Book.nbytes``).
Levels sit 1 to 10 ticks apart (uniform) on either side of each market's mid, sizes vary; the
symbols are BTC/USDT, ETH/USDT, ETH/BTC and made-up bases against USDT, BTC and ETH, so the
triangular scanners have their full cycle sets. tests/unit/test_engine_memory.py runs it in a
fresh process.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import numpy as np

from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.exchanges.registry import get_venue
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEvent, BookEventKind, Instrument

ROOT = Path(__file__).resolve().parent.parent
VENUES = ("binance", "okx", "bybit", "kraken", "gateio", "kucoin", "htx", "bitfinex")
QUOTES = ("USDT", "BTC", "ETH")
MID_TICKS = 10_000_000  # every market's mid, in ticks


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def instruments(venue: str, symbols: int) -> list[Instrument]:
    pairs = [("BTC", "USDT"), ("ETH", "USDT"), ("ETH", "BTC")]
    pairs += [(f"X{n:03d}", quote) for n in range(symbols) for quote in QUOTES]
    return [Instrument.from_text(venue=venue, native_symbol=f"{base}{quote}", base=base,
                                 quote=quote, tick_size="0.000001", lot_size="0.0001",
                                 min_notional="0.0001")
            for base, quote in pairs[:symbols]]  # fmt: skip


def snapshot(venue: str, symbol: str, levels: int, rng: np.random.Generator) -> BookEvent:
    ticks = np.cumsum(rng.integers(1, 11, levels)).astype(np.int64)
    prices = np.concatenate([MID_TICKS - ticks, MID_TICKS + ticks])
    sizes = rng.integers(1, 1_000_000, 2 * levels).astype(np.int64)
    sides = np.repeat(np.array([0, 1], dtype=np.int8), levels)
    return BookEvent(venue=venue, symbol=symbol, kind=BookEventKind.SNAPSHOT, sides=sides,
                     prices=prices, sizes=sizes, last_seq=1)  # fmt: skip


def measure(venues: int = 8, symbols: int = 500, levels: int = 1000) -> dict[str, float]:
    """RSS (bytes) at each stage of building the engine, and the books' native bytes."""
    gc.collect()
    stages: dict[str, float] = {"start": rss_bytes()}
    config = load_config(ROOT / "config" / "demo.toml", {})
    engine = Engine(config)
    rng = np.random.default_rng(7)
    nbytes = 0
    for venue in VENUES[:venues]:
        listed = instruments(venue, symbols)
        engine.instruments[venue] = {i.symbol: i for i in listed}
        feed = get_venue(venue).feed(SymbolMap.of(venue, listed))
        engine.syncs[venue] = {}
        for instrument in listed:
            sync = engine.syncs[venue][instrument.symbol] = feed.new_sync(instrument)
            sync.on_event(snapshot(venue, instrument.symbol, levels, rng))
            assert sync.in_sync, (venue, instrument.symbol)
            nbytes += sync.book.nbytes
    gc.collect()
    stages["books"] = rss_bytes()
    engine._build_trading()  # no audit trail is opened: only what books and strategies hold
    gc.collect()
    stages["strategies"] = rss_bytes()
    cycles = sum(len(scanner.cycles_of_market("BTC/USDT")) for scanner in
                 engine.triangular.values())  # fmt: skip
    return {**stages, "book_nbytes": nbytes, "books_count": venues * symbols,
            "btc_usdt_cycles": cycles}  # fmt: skip


def main() -> None:
    args = [int(a) for a in sys.argv[1:4]]
    print(json.dumps(measure(*args)))


if __name__ == "__main__":
    main()
