"""UsdPrices (the engine's USD prices in C) against the Python rule it replaced."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from arbcore.marketdata.market import DOLLAR_QUOTES, dollar_mid
from arbcore.model import USD_ASSETS, Instrument
from arbcore_ext.book import L2Book
from arbcore_ext.deltapath import BookCounters, SyncCore
from arbcore_ext.usdprices import UsdPrices

VENUES = ("binance", "okx", "kraken")
SYMBOLS = ("BTC/USDT", "BTC/USD", "BTC/USDC", "ETH/USDT", "ETH/BTC", "SOL/USDC")
ASSETS = ("BTC", "ETH", "SOL", "USDT", "USD", "DOGE")


class _Sync:
    def __init__(self, book: L2Book, synced: bool) -> None:
        self.book = book
        self.core = SyncCore(book, BookCounters())
        self.core.synced = synced


def _instrument(venue: str, symbol: str, decimals: int) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument.from_text(venue=venue, native_symbol=base + quote, base=base, quote=quote,
                                tick_size=f"{10**-decimals:.{decimals}f}" if decimals else "1",
                                lot_size="0.0001")  # fmt: skip


#: per (venue, symbol): listed?, its price decimals, in sync?, bid, ask (raw; 0: that side empty)
MARKET = st.tuples(st.booleans(), st.integers(0, 8), st.booleans(),
                   st.integers(0, 10**12), st.integers(0, 10**12))  # fmt: skip


@given(st.lists(MARKET, min_size=len(VENUES) * len(SYMBOLS), max_size=len(VENUES) * len(SYMBOLS)),
       st.dictionaries(st.sampled_from(ASSETS), st.none() | st.floats(0, 1e6)),
       st.lists(st.sampled_from(ASSETS), min_size=1, max_size=12))  # fmt: skip
def test_prices_are_the_python_rules(
    markets: list[tuple[bool, int, bool, int, int]],
    cached: dict[str, float | None],
    asked: list[str],
) -> None:
    """1.0 for a dollar asset, a cached price as cached, else the first in-sync dollar mid
    (``dollar_mid``, exactly), which is then cached; None when there is none."""
    instruments: dict[str, dict[str, Instrument]] = {}
    syncs: dict[str, dict[str, Any]] = {}
    cells = iter(markets)
    for venue in VENUES:
        for symbol in SYMBOLS:
            listed, decimals, synced, bid, ask = next(cells)
            if not listed:
                continue
            instrument = _instrument(venue, symbol, decimals)
            instruments.setdefault(venue, {})[symbol] = instrument
            book = L2Book(instrument.price_decimals, 4)
            if bid:
                book.set_level(0, bid, 1)
            if ask:
                book.set_level(1, bid + ask, 1)  # never crossed
            syncs.setdefault(venue, {})[symbol] = _Sync(book, synced)

    def book_of(venue: str, symbol: str) -> L2Book | None:
        sync = syncs.get(venue, {}).get(symbol)
        return sync.book if sync is not None and sync.core.synced else None

    cache = dict(cached)
    prices = UsdPrices(USD_ASSETS, DOLLAR_QUOTES, cache, instruments, syncs)
    expected_cache = dict(cached)
    for asset in asked:
        if asset in USD_ASSETS:
            expected: float | None = 1.0
        elif asset in expected_cache:
            expected = expected_cache[asset]
        else:
            expected = expected_cache[asset] = dollar_mid(asset, instruments, book_of)
        price = prices(asset)
        assert price == expected
        assert type(price) is type(expected)
    assert cache == expected_cache
