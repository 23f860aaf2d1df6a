# The engine's USD price of an asset (Engine.usd), callable from C without a Python frame.
#
# Risk values every leg's assets, the cross strategy its quote, on every decision: as a Python
# method each read was a frame (cold, on a path that runs once in hundreds of frames). Here a
# dollar asset is 1.0, a cached price a dict read, and a miss the same walk as
# arbcore.marketdata.market.dollar_mid (its venues and dollar quotes in order, the first in-sync
# book with both sides), done over the engine's own tables, in C.
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
from cpython.dict cimport PyDict_GetItemWithError, PyDict_SetItem
from cpython.ref cimport PyObject

from arbcore_ext.book cimport KEY_NONE, L2Book
from arbcore_ext.deltapath cimport SyncCore


cdef class UsdPrices:
    """``prices(asset)``: USD per unit of ``asset`` (see usdprices.pyi)."""

    def __init__(self, dollars, tuple dollar_quotes not None, dict cache not None,
                 dict instruments not None, dict syncs not None):
        self.dollars = frozenset(dollars)
        self.dollar_quotes = dollar_quotes
        self.cache = cache
        self.instruments = instruments
        self.syncs = syncs

    def __call__(self, asset):
        return self.price(asset)

    cdef object price(self, object asset):
        """``Engine.usd(asset)``: 1.0, the cached price, else the dollar mid (cached)."""
        cdef PyObject* found
        if asset in self.dollars:
            return 1.0
        found = PyDict_GetItemWithError(self.cache, asset)
        if found != NULL:
            return <object>found
        price = self.dollar_mid(asset)
        PyDict_SetItem(self.cache, asset, price)
        return price

    cdef object dollar_mid(self, object asset):
        """``dollar_mid(asset, instruments, engine.book)``, operation for operation."""
        cdef PyObject* found
        cdef L2Book book
        cdef SyncCore core
        for venue, chosen in self.instruments.items():
            for quote in self.dollar_quotes:
                symbol = f"{asset}/{quote}"
                instrument = chosen.get(symbol)
                if instrument is None:
                    continue
                found = PyDict_GetItemWithError(self.syncs, venue)
                if found == NULL:
                    continue
                sync = (<dict?>(<object>found)).get(instrument.symbol)
                if sync is None:
                    continue
                core = <SyncCore?>sync.core
                if not core.synced:
                    continue
                book = core.book
                if book.sides[0].best == KEY_NONE or book.sides[1].best == KEY_NONE:
                    continue
                # (bid + ask) / 2 / 10**decimals: exact integers, then two divisions
                return <double>(book.sides[0].best - book.sides[1].best) / 2.0 / \
                    <double>(10 ** <int>instrument.price_decimals)
        return None
