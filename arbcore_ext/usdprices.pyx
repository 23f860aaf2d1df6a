# The engine's USD price of an asset (Engine.usd), callable from C without a Python frame.
#
# Risk values every leg's assets, the cross strategy its quote, on every decision: as a Python
# method each read was a frame (cold, on a path that runs once in hundreds of frames). Here a
# dollar asset is 1.0, a cached price a dict read, and a miss the same walk as
# arbcore.marketdata.market.dollar_mid (its venues and dollar quotes in order, the first in-sync
# book with both sides), done over the engine's own tables, in C.
#
# A miss happens on nearly every decision (the book callback drops a base's price on each update
# of its dollar market), so the walk's lookups are made once: per asset its candidate markets in
# order (venue, symbol, 10**price_decimals; a _Plan), kept while the instruments' dicts are
# unchanged (CPython 3.11's dict version: the table's and each venue's), and per candidate its
# sync's core held as CrossBook holds its markets' (arbcore_ext/_syncref.pxd). A miss is then a
# loop over C structs: the versions, the core's synced, the book's two best keys. Without dict
# versions (later Pythons), a mapping that is not a dict, or a sync whose core is not a
# SyncCore, the walk itself runs, so the price is always the walk's.
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
from cpython.dict cimport PyDict_GetItemWithError, PyDict_SetItem
from cpython.ref cimport PyObject
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc

from arbcore_ext._syncref cimport (REF_CORE, REF_NONE, SyncRef, dict_version, syncref_clear,
                                    syncref_fresh, syncref_init, syncref_resolve)
from arbcore_ext.book cimport KEY_NONE, L2Book
from arbcore_ext.deltapath cimport SyncCore


cdef class _Plan:
    """One asset's candidate markets, in the walk's order (n < 0: not planned, walk)."""

    def __cinit__(self):
        self.cands = NULL
        self.n = 0

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.cands != NULL:
            for i in range(self.n):
                syncref_clear(&self.cands[i].ref)
            free(self.cands)


cdef inline object _mid(L2Book book, double divisor):
    """The book's mid at ``divisor``, None when a side is empty."""
    if book.sides[0].best == KEY_NONE or book.sides[1].best == KEY_NONE:
        return None
    # (bid + ask) / 2 / 10**decimals: exact integers, then two divisions
    return <double>(book.sides[0].best - book.sides[1].best) / 2.0 / divisor


cdef class UsdPrices:
    """``prices(asset)``: USD per unit of ``asset`` (see usdprices.pyi)."""

    def __cinit__(self):
        self._chosen_ptr = NULL
        self._chosen_at = NULL
        self._n_chosen = 0
        self._instruments_at = 0
        self._plannable = False

    def __init__(self, dollars, tuple dollar_quotes not None, dict cache not None,
                 dict instruments not None, dict syncs not None):
        self.dollars = frozenset(dollars)
        self.dollar_quotes = dollar_quotes
        self.cache = cache
        self.instruments = instruments
        self.syncs = syncs
        self._plans = {}
        self._chosen = []
        self._instruments_at = 0

    def __dealloc__(self):
        free(self._chosen_ptr)
        free(self._chosen_at)

    def __call__(self, asset):
        return self.price(asset)

    def mid(self, asset):
        """The dollar mid a miss reads (nothing cached)."""
        return self.dollar_mid(asset)

    def walked_mid(self, asset):
        """:meth:`mid` by the walk itself (the rule it equals)."""
        return self._walked_mid(asset)

    cdef object price(self, object asset):
        """``Engine.usd(asset)``: 1.0, the cached price, else the dollar mid (cached)."""
        return self._price(asset, True)

    cdef object peek(self, object asset):
        """:meth:`price`'s answer with nothing cached (a rehearsal's read)."""
        return self._price(asset, False)

    cdef object _price(self, object asset, bint keep):
        """1.0, the cached price, else the dollar mid (cached when ``keep``)."""
        cdef PyObject* found
        if asset in self.dollars:
            return 1.0
        found = PyDict_GetItemWithError(self.cache, asset)
        if found != NULL:
            return <object>found
        price = self.dollar_mid(asset)
        if keep:
            PyDict_SetItem(self.cache, asset, price)
        return price

    cdef bint _instruments_fresh(self) noexcept:
        """The plans were made from the instruments as they are (no dict of them changed)."""
        cdef uint64_t at = dict_version(<PyObject*>self.instruments)
        cdef Py_ssize_t i
        if at == 0 or at != self._instruments_at:
            return False
        for i in range(self._n_chosen):
            if dict_version(self._chosen_ptr[i]) != self._chosen_at[i]:
                return False
        return True

    cdef int _replan(self) except -1:
        """Drop the plans; read the instruments' versions (before anything else is read)."""
        cdef Py_ssize_t i, n
        self._plans = {}
        self._instruments_at = 0
        self._plannable = False
        at = dict_version(<PyObject*>self.instruments)
        chosen = list(self.instruments.values())
        n = len(chosen)
        free(self._chosen_ptr)
        free(self._chosen_at)
        self._chosen_ptr = NULL
        self._chosen_at = NULL
        self._n_chosen = 0
        self._chosen = chosen
        self._chosen_ptr = <PyObject**>malloc(max(n, 1) * sizeof(PyObject*))
        self._chosen_at = <uint64_t*>malloc(max(n, 1) * sizeof(uint64_t))
        if self._chosen_ptr == NULL or self._chosen_at == NULL:
            raise MemoryError()
        self._plannable = True
        for i in range(n):
            if type(chosen[i]) is not dict:
                self._plannable = False
            self._chosen_ptr[i] = <PyObject*>chosen[i]
            self._chosen_at[i] = dict_version(<PyObject*>chosen[i])
        self._n_chosen = n
        self._instruments_at = at
        return 0

    cdef _Plan _plan(self, object asset):
        """``asset``'s candidates, read as the walk reads them (n = -1 when one of them cannot
        be read ahead: the walk then runs, and raises where it raises)."""
        cdef _Plan plan = _Plan()
        cdef Py_ssize_t i
        cands = []
        try:
            for venue, chosen in self.instruments.items():
                for quote in self.dollar_quotes:
                    instrument = chosen.get(f"{asset}/{quote}")
                    if instrument is None:
                        continue
                    cands.append((venue, instrument.symbol,
                                  <double>(10 ** <int>instrument.price_decimals)))
        except Exception:
            plan.n = -1
            return plan
        plan._keep = cands
        plan.cands = <Candidate*>malloc(max(len(cands), 1) * sizeof(Candidate))
        if plan.cands == NULL:
            raise MemoryError()
        for i, (venue, symbol, divisor) in enumerate(cands):
            plan.cands[i].venue = <PyObject*>venue
            plan.cands[i].symbol = <PyObject*>symbol
            plan.cands[i].divisor = divisor
            syncref_init(&plan.cands[i].ref)
            plan.n = i + 1
        return plan

    cdef object dollar_mid(self, object asset):
        """``dollar_mid(asset, instruments, engine.book)``: over the asset's plan."""
        cdef PyObject* found
        cdef _Plan plan
        cdef Candidate* cand
        cdef SyncCore core
        cdef Py_ssize_t i
        if dict_version(<PyObject*>self.syncs) == 0:
            return self._walked_mid(asset)  # (no dict versions)
        if not self._instruments_fresh():
            self._replan()
        if not self._plannable:
            return self._walked_mid(asset)
        found = PyDict_GetItemWithError(self._plans, asset)
        if found != NULL:
            plan = <_Plan>found
        else:
            plan = self._plan(asset)
            PyDict_SetItem(self._plans, asset, plan)
        if plan.n < 0:
            return self._walked_mid(asset)
        for i in range(plan.n):
            cand = &plan.cands[i]
            if not syncref_fresh(&cand.ref, <PyObject*>self.syncs):
                syncref_resolve(&cand.ref, self.syncs, <object>cand.venue, <object>cand.symbol)
            if cand.ref.kind == REF_NONE:
                continue
            if cand.ref.kind == REF_CORE:
                core = <SyncCore>cand.ref.core
                if not core.synced:
                    continue
                price = _mid(core.book, cand.divisor)
            else:
                price = self._walked_one(<object>cand.venue, <object>cand.symbol, cand.divisor)
            if price is not None:
                return price
        return None

    cdef object _walked_one(self, object venue, object symbol, double divisor):
        """One candidate as the walk reads it: its mid, or None to go on."""
        cdef PyObject* found = PyDict_GetItemWithError(self.syncs, venue)
        cdef SyncCore core
        if found == NULL:
            return None
        sync = (<dict?>(<object>found)).get(symbol)
        if sync is None:
            return None
        core = <SyncCore?>sync.core
        if not core.synced:
            return None
        return _mid(core.book, divisor)

    cdef object _walked_mid(self, object asset):
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
