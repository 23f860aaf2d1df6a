"""UsdPrices (the engine's USD prices in C) against the Python rule it replaced."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
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


# -- a miss over the held plans, through any change of the instruments and the syncs ----------

PLAN_VENUES = ("binance", "okx")
PLAN_SYMBOLS = ("BTC/USDT", "BTC/USD", "ETH/USDT")
PLAN_ASSETS = ("BTC", "ETH")
pv = st.sampled_from(PLAN_VENUES)
ps = st.sampled_from(PLAN_SYMBOLS)
price_ = st.integers(1, 10**9)
PLAN_OPS = st.one_of(
    st.tuples(st.just("list"), pv, ps, st.integers(0, 8)),  # a new Instrument in its dict
    st.tuples(st.just("unlist"), pv, ps),
    st.tuples(st.just("instruments"), pv),  # the venue's instrument dict into the table (again)
    st.tuples(st.just("no_instruments"), pv),  # the venue out of the instruments
    st.tuples(st.just("subscribe"), pv, ps, st.booleans(), price_, price_),
    st.tuples(st.just("unsubscribe"), pv, ps),
    st.tuples(st.just("synced"), pv, ps, st.booleans()),
    st.tuples(st.just("bid"), pv, ps, price_),  # a book's touch moves
    st.tuples(st.just("empty"), pv, ps),  # a book loses its levels
    st.tuples(st.just("syncs"), pv),  # the client's dict into the engine's table (again)
    st.tuples(st.just("no_syncs"), pv),
    st.tuples(st.just("new_client"), pv),  # a new dict of new syncs
    st.tuples(st.just("ask"), st.sampled_from(PLAN_ASSETS), st.booleans()),  # drop it first?
    st.tuples(st.just("ask"), st.sampled_from(PLAN_ASSETS), st.just(True)),
)


def _plan_op(op: tuple[Any, ...], listed: dict[str, dict[str, Instrument]],
             instruments: dict[str, dict[str, Instrument]], clients: dict[str, dict[str, Any]],
             syncs: dict[str, Any]) -> None:  # fmt: skip
    kind, venue = op[0], op[1]
    mine = clients[venue]
    sync = mine.get(op[2]) if len(op) > 2 and isinstance(op[2], str) else None
    if kind == "list":
        listed[venue][op[2]] = _instrument(venue, op[2], op[3])
    elif kind == "unlist":
        listed[venue].pop(op[2], None)
    elif kind == "instruments":
        instruments[venue] = listed[venue]
    elif kind == "no_instruments":
        instruments.pop(venue, None)
    elif kind == "subscribe":
        book = L2Book(4, 4)
        book.set_level(0, op[4], 1)
        book.set_level(1, op[4] + op[5], 1)
        mine[op[2]] = _Sync(book, op[3])
    elif kind == "unsubscribe":
        mine.pop(op[2], None)
    elif kind == "synced" and sync is not None:
        sync.core.synced = op[3]
    elif kind == "bid" and sync is not None:
        sync.book.set_level(0, op[3], 1)
        if sync.book.is_crossed():
            sync.book.clear()
    elif kind == "empty" and sync is not None:
        sync.book.clear()
    elif kind == "syncs":
        syncs[venue] = mine
    elif kind == "no_syncs":
        syncs.pop(venue, None)
    elif kind == "new_client":
        clients[venue] = {s: _Sync(old.book, old.core.synced) for s, old in mine.items()}


@settings(max_examples=400)
@given(st.booleans(), st.lists(PLAN_OPS, max_size=50))
def test_a_miss_over_held_plans_is_dollar_mid_through_any_change(
    running: bool, ops: list[tuple[Any, ...]]
) -> None:
    """Instruments listed and unlisted, venues added and dropped, books subscribed,
    unsubscribed and resubscribed, in and out of sync, moving: every miss is ``dollar_mid`` at
    that moment, cached as ``Engine.usd`` caches it (the book callback's drop included).
    ``running``: every market listed, subscribed and in sync at the start."""
    listed: dict[str, dict[str, Instrument]] = {venue: {} for venue in PLAN_VENUES}
    instruments: dict[str, dict[str, Instrument]] = {}
    clients: dict[str, dict[str, Any]] = {venue: {} for venue in PLAN_VENUES}
    syncs: dict[str, Any] = {}
    if running:
        for i, (venue, symbol) in enumerate(itertools.product(PLAN_VENUES, PLAN_SYMBOLS)):
            for op in (("list", venue, symbol, 2), ("subscribe", venue, symbol, True, 10**6 + i, 7),
                       ("instruments", venue), ("syncs", venue)):  # fmt: skip
                _plan_op(op, listed, instruments, clients, syncs)

    def book_of(venue: str, symbol: str) -> L2Book | None:
        sync = syncs.get(venue, {}).get(symbol)
        return sync.book if sync is not None and sync.core.synced else None

    cache: dict[str, float | None] = {}
    expected_cache: dict[str, float | None] = {}
    prices = UsdPrices(USD_ASSETS, DOLLAR_QUOTES, cache, instruments, syncs)
    for op in ops:
        if op[0] != "ask":
            _plan_op(op, listed, instruments, clients, syncs)
            continue
        asset, drop = op[1], op[2]
        if drop:
            cache.pop(asset, None)
            expected_cache.pop(asset, None)
        expected = dollar_mid(asset, instruments, book_of)
        assert prices.mid(asset) == expected
        assert prices.walked_mid(asset) == expected
        if asset not in expected_cache:
            expected_cache[asset] = expected
        price = prices(asset)
        assert price == expected_cache[asset]
        assert type(price) is type(expected_cache[asset])
        assert cache == expected_cache
