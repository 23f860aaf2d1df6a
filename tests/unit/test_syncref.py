"""The books' sync cores held in C (arbcore_ext/_syncref.pxd) against walking the tables.

The engine's ``syncs`` maps venue -> the venue client's symbol -> BookSync dict; a subscribe puts
a new sync (a new core) there, an unsubscribe deletes it, a resubscribe puts yet another one, and
the table itself may be given, replaced or lose a venue. Whatever the sequence, a held read must
give what walking the tables gives at that moment.
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from arbcore.marketdata.sync import ArrivalRule, BookSync, SyncState
from arbcore_ext.book import L2Book
from arbcore_ext.crossbook import Check, CrossBook, Gate
from arbcore_ext.deltapath import BookCounters, SyncCore

VENUES = ("binance", "okx", "kraken")
SYMBOLS = ("BTC/USDT", "ETH/USDT")
NAMES = [(venue, symbol) for venue in VENUES for symbol in SYMBOLS]


class _Sync:
    """A sync as the engine reads it: ``core`` (a SyncCore: ``synced``, ``book``)."""

    def __init__(self, synced: bool) -> None:
        self.core = SyncCore(L2Book(2, 4), BookCounters())
        self.core.synced = synced


class _Duck:
    """A sync whose ``core`` is no SyncCore (only walked, never held)."""

    def __init__(self, synced: bool) -> None:
        self.core = self
        self.synced = synced
        self.book = L2Book(2, 4)


def _walk(table: dict[str, Any], venue: str, symbol: str) -> L2Book | None:
    """The engine's ``book``: the sync's book while it is in sync."""
    by_symbol = table.get(venue)
    sync = None if by_symbol is None else by_symbol.get(symbol)
    return sync.core.book if sync is not None and sync.core.synced else None


venue_ = st.sampled_from(VENUES)
symbol_ = st.sampled_from(SYMBOLS)
OPS = st.one_of(
    st.tuples(st.just("subscribe"), venue_, symbol_, st.booleans()),
    st.tuples(st.just("unsubscribe"), venue_, symbol_),
    st.tuples(st.just("synced"), venue_, symbol_, st.booleans()),
    st.tuples(st.just("duck"), venue_, symbol_, st.booleans()),
    st.tuples(st.just("none"), venue_, symbol_),
    st.tuples(st.just("clear"), venue_),
    st.tuples(st.just("table"), venue_),  # the venue's client dict into the table (again)
    st.tuples(st.just("drop"), venue_),  # the venue out of the table
    st.tuples(st.just("new_client"), venue_),  # a new client: a new dict, with new syncs
    st.tuples(st.just("proxy"), venue_),  # the table holds a read-only view of the dict
    st.tuples(st.just("read"), st.lists(st.integers(0, len(NAMES) - 1), max_size=4)),
)


def _apply(op: tuple[Any, ...], table: dict[str, Any], clients: dict[str, dict[str, Any]]
           ) -> None:  # fmt: skip
    kind, venue = op[0], op[1]
    syncs = clients[venue]
    if kind == "subscribe":
        syncs[op[2]] = _Sync(op[3])
    elif kind == "unsubscribe":
        syncs.pop(op[2], None)
    elif kind == "synced":
        sync = syncs.get(op[2])
        if sync is not None:
            sync.core.synced = op[3]
    elif kind == "duck":
        syncs[op[2]] = _Duck(op[3])
    elif kind == "none":
        syncs[op[2]] = None
    elif kind == "clear":
        syncs.clear()
    elif kind == "table":
        table[venue] = syncs
    elif kind == "drop":
        table.pop(venue, None)
    elif kind == "new_client":
        clients[venue] = {symbol: _Sync(True) for symbol in syncs}
    elif kind == "proxy":
        table[venue] = MappingProxyType(syncs)


def _attached(table: dict[str, Any]) -> CrossBook:
    kernel = CrossBook(len(NAMES), [], [[] for _ in NAMES], 0.0)
    kernel.attach(Check(Gate(0, time.monotonic_ns), {}), [], NAMES, table)
    return kernel


@settings(max_examples=300)
@given(st.lists(OPS, max_size=40), st.lists(st.integers(0, len(NAMES) - 1), max_size=6))
def test_a_held_sync_reads_as_the_walk_through_any_subscribe_sequence(
    ops: list[tuple[Any, ...]], first: list[int]
) -> None:
    clients: dict[str, dict[str, Any]] = {venue: {} for venue in VENUES}
    table: dict[str, Any] = {}
    kernel = _attached(table)
    for m in first:  # held before anything is subscribed
        assert kernel.book_of(m) is None
    for op in ops:
        if op[0] == "read":
            markets = op[1]
        else:
            _apply(op, table, clients)
            markets = range(len(NAMES))
        for m in markets:
            expected = _walk(table, *NAMES[m])
            assert kernel.book_of(m) is expected
            assert kernel.walked_book_of(m) is expected
            assert kernel.in_sync(m) is (expected is not None)


def test_a_resubscribe_reads_the_new_sync_not_the_held_one() -> None:
    """The held core is dropped when the client's dict changes: subscribe, read, unsubscribe,
    resubscribe (a new sync, a new core), and the same through a replaced client dict."""
    table: dict[str, Any] = {}
    kernel = _attached(table)
    market = NAMES.index(("okx", "ETH/USDT"))
    assert kernel.book_of(market) is None
    syncs: dict[str, Any] = {}
    table["okx"] = syncs
    assert kernel.book_of(market) is None
    first = syncs["ETH/USDT"] = _Sync(True)
    assert kernel.book_of(market) is first.core.book
    first.core.synced = False  # read from the core at every use
    assert kernel.book_of(market) is None
    assert not kernel.in_sync(market)
    first.core.synced = True
    del syncs["ETH/USDT"]
    assert kernel.book_of(market) is None
    second = syncs["ETH/USDT"] = _Sync(True)
    assert kernel.book_of(market) is second.core.book
    third = _Sync(True)
    table["okx"] = {"ETH/USDT": third}
    assert kernel.book_of(market) is third.core.book
    del table["okx"]
    assert kernel.book_of(market) is None


def test_real_book_syncs_are_held_and_follow_their_state() -> None:
    """BookSyncs as a client keeps them: their cores are held (read in C), their state read at
    every use (``sync.state`` writes ``core.synced``), a resubscribed symbol read anew."""

    def subscribe(symbol: str) -> BookSync:
        sync = BookSync("kraken", symbol, L2Book(2, 4), ArrivalRule())
        sync.state = SyncState.SYNCED
        return sync

    client: dict[str, BookSync] = {}
    table: dict[str, Any] = {"kraken": client}
    kernel = _attached(table)
    market = NAMES.index(("kraken", "BTC/USDT"))
    assert kernel.book_of(market) is None
    sync = client["BTC/USDT"] = subscribe("BTC/USDT")
    assert kernel.book_of(market) is sync.book
    sync.state = SyncState.WAITING_SNAPSHOT  # a gap: resyncing
    assert not kernel.in_sync(market)
    del client["BTC/USDT"]  # unsubscribed while resyncing
    again = client["BTC/USDT"] = subscribe("BTC/USDT")
    assert kernel.book_of(market) is again.book
    assert again.book is not sync.book
