# The engine's book callback (arbcore.engine.Engine._on_book) in C.
#
# Nearly every book update reaches no decision: it is counted, its time stamped for the books'
# ages, the dollar price of its base dropped from the USD cache (a dollar market's update), and
# its touch handed to the cross-venue kernel (CrossBook) and the venue's cycle engine
# (CycleEngine), both called here at C level through their .pxd. A find is decided in C when
# the engine's compiled decisions take it (CrossDecision for crossing routes, TriangularDecision
# for one paying cycle); only the rest goes back to Python (the engine's ``found``), so the
# usual update makes no Python call at all unless the engine's clocks are Python callables (a
# backtest's virtual clock).
from cpython.dict cimport PyDict_DelItem, PyDict_GetItemWithError, PyDict_SetItem
from cpython.ref cimport PyObject
from cpython.tuple cimport PyTuple_GET_SIZE
from libc.stdint cimport int64_t, uint64_t

from arbcore_ext.clocks cimport monotonic_ns, read_clock
from arbcore_ext.book cimport L2Book
from arbcore_ext.crossbook cimport CrossBook
from arbcore_ext.crossdecide cimport FALLBACK, CrossDecision
from arbcore_ext.cycles cimport CycleEngine
from arbcore_ext.tridecide cimport TriangularDecision

import time

cdef extern from *:
    """
    /* CPython 3.11's dict version (PEP 509): a new value on every change of the dict, so an
       unchanged tag means every entry read from it is still what it was. Later versions have
       no such tag: 0 there, and 0 is never cached. */
    #if PY_VERSION_HEX < 0x030C0000
    #define booktap_dict_version(d) (((PyDictObject*)(d))->ma_version_tag)
    #else
    #define booktap_dict_version(d) ((uint64_t)0)
    #endif
    """
    uint64_t dict_version "booktap_dict_version" (dict d) noexcept

#: the arrival clock read in C when the engine uses it
cdef object _PERF_COUNTER_NS = time.perf_counter_ns
cdef object _CYCLE_ON_BOOK = CycleEngine.on_book


cdef class Tally:
    """Book updates handled by every tap of one engine (``EngineStats.book_updates`` reads and
    sets this count)."""

    cdef public long long book_updates

    def __init__(self, long long book_updates=0):
        self.book_updates = book_updates

    def __repr__(self):
        return f"Tally(book_updates={self.book_updates})"


cdef class _Market:
    """What a tap knows about one symbol: the dollar base whose USD price its update drops (or
    None), and its ids in the bound cross kernel and cycle engine (-1: not there)."""

    cdef object base
    cdef int cross
    cdef int cycle
    cdef bint listed        # in the venue's markets, when the table's version was listed_at
    cdef uint64_t listed_at


cdef inline bint _truthy(object found) except -1:
    """``bool(found)``; a tuple's (what the kernels answer) without a call."""
    if type(found) is tuple:
        return PyTuple_GET_SIZE(found) != 0
    return bool(found)


cdef class BookTap:
    """One venue's book callback: ``tap.on_book(symbol, book)``.

    What it calls is given by :meth:`bind` (the engine binds its taps again whenever one of
    those changes); ``dollar_base``: symbol -> the base of a dollar market;
    ``listed``: the venue's markets (the cycle engine hears only of them); ``updated``: symbol
    -> the update's clock time (what ``BookAges`` reads); ``usd_cache``: asset -> USD price;
    ``topics``: the event hub's topic -> subscribers (a ``market-data`` listener hears of each
    update through ``changed(venue, symbol)``); ``found(opportunity, emitted, arrived_ns)``:
    called only when a strategy found something.
    """

    cdef readonly str venue
    cdef Tally tally
    cdef dict _markets
    cdef dict dollar_base
    cdef dict listed
    cdef dict updated
    cdef dict usd_cache
    cdef dict topics
    cdef object changed
    cdef object found
    # the cross strategy bound (its kernel and this venue's symbol -> market id), on first use
    cdef object _cross
    cdef object _touch
    cdef CrossBook _kernel
    cdef dict _cross_ids
    # the venue's triangular scanner bound, on first use; _cycles: it is a plain CycleEngine's
    # on_book (called in C)
    cdef object _scanner
    cdef CycleEngine _cycles
    # what bind() gave; the venue's scanner as the triangular table held it at _scanners_at,
    # and whether market-data was listened to at topic version _topics_at
    cdef bint _bound
    cdef object _arrival_of
    cdef object _clock_of
    cdef object _cross_of
    cdef object _scanners_of
    cdef object _decision_of
    cdef object _cycle_decision_of
    cdef uint64_t _scanners_at
    cdef object _scanner_of
    cdef uint64_t _topics_at
    cdef bint _listened

    def __init__(self, str venue not None, Tally tally not None,
                 dict dollar_base not None, dict listed not None, dict updated not None,
                 dict usd_cache not None, dict topics not None, changed not None,
                 found not None):
        self.venue = venue
        self.tally = tally
        self._markets = {}
        self.dollar_base = dollar_base
        self.listed = listed
        self.updated = updated
        self.usd_cache = usd_cache
        self.topics = topics
        self.changed = changed
        self.found = found
        self._cross = self._scanner = None
        self._scanners_at = self._topics_at = 0
        self._bound = False

    def bind(self, arrival_ns not None, clock_ns not None, cross, dict triangular not None,
             decision=None, cycle_decision=None):
        """What the callback calls: ``arrival_ns()`` (when the frame arrived, perf_counter ns),
        ``clock_ns()`` (the event clock), the cross strategy (or None), the venue -> scanner
        table (read on each update: a scanner added later is found), the engine's compiled
        cross decision and its compiled triangular decision for this venue's scanner (or None).
        The owner calls it again whenever one of them changes."""
        self._arrival_of, self._clock_of = arrival_ns, clock_ns
        self._cross_of, self._scanners_of, self._decision_of = cross, triangular, decision
        self._cycle_decision_of = cycle_decision
        self._scanners_at = 0
        self._bound = True
        if cross is not None and cross is not self._cross:  # (now: its kernel gets the times)
            self._bind_cross(cross)
        scanner = triangular.get(self.venue)  # (now too; one added later binds on an update)
        if scanner is not self._scanner:
            self._bind_scanner(scanner)

    cdef object _scanner_now(self):
        """``triangular.get(venue)``, cached while that table has not changed."""
        cdef dict scanners = self._scanners_of
        cdef PyObject* found
        cdef uint64_t version
        version = dict_version(scanners)
        if version == 0 or version != self._scanners_at:
            found = PyDict_GetItemWithError(scanners, self.venue)
            self._scanner_of = None if found == NULL else <object>found
            self._scanners_at = version
        return self._scanner_of

    cdef bint _is_listed(self, _Market market, symbol) except -1:
        """``symbol in listed``, cached per market while the table has not changed."""
        cdef uint64_t version = dict_version(self.listed)
        if version == 0 or version != market.listed_at:
            market.listed = symbol in self.listed
            market.listed_at = version
        return market.listed

    cdef bint _market_data(self) except -1:
        """``"market-data" in topics``, cached while the topic table has not changed."""
        cdef uint64_t version = dict_version(self.topics)
        if version == 0 or version != self._topics_at:
            self._listened = "market-data" in self.topics
            self._topics_at = version
        return self._listened

    cdef _Market _market(self, symbol):
        cdef PyObject* found = PyDict_GetItemWithError(self._markets, symbol)
        cdef _Market market
        if found != NULL:
            return <_Market>found
        market = _Market.__new__(_Market)
        market.base = self.dollar_base.get(symbol)
        market.cross = self._cross_id(symbol)
        market.cycle = self._cycles.market_of(symbol) if self._cycles is not None else -1
        market.listed_at = 0
        self._markets[symbol] = market
        return market

    cdef int _cross_id(self, symbol) except -2:
        if self._kernel is None:
            return -1
        found = self._cross_ids.get(symbol)
        if found is None:
            return -1
        self._kernel._check(found)
        return found

    cdef int _bind_cross(self, cross) except -1:
        """Bind the cross strategy's kernel: its market ids, and its book times (each market's
        last update, as the engine's table has it)."""
        cdef _Market market
        self._touch, self._cross_ids = cross.touch_of(self.venue)
        self._kernel = self._touch if type(self._touch) is CrossBook else None
        self._cross = cross
        for symbol, market in self._markets.items():
            market.cross = self._cross_id(symbol)
        if self._kernel is not None:  # (every market of the venue the table has a time for)
            for symbol, market_id in self._cross_ids.items():
                at = self.updated.get(symbol)
                if at is not None:
                    self._kernel.stamp(market_id, at)
        return 0

    cdef int _bind_scanner(self, scanner) except -1:
        """Bind the venue's scanner (None: none): its market ids and, a plain CycleEngine's,
        its book times (each market's last update, as the engine's table has it)."""
        cdef _Market market
        cdef CycleEngine cycles = None
        if isinstance(scanner, CycleEngine) and type(scanner).on_book is _CYCLE_ON_BOOK:
            cycles = scanner
        self._cycles = cycles
        self._scanner = scanner
        for symbol, market in self._markets.items():
            market.cycle = cycles.market_of(symbol) if cycles is not None else -1
        if cycles is not None:
            for m, symbol in enumerate(cycles.symbols):
                at = self.updated.get(symbol)
                if at is not None:
                    cycles.stamp(m, at)
        return 0

    cdef bint _decide(self, int market, L2Book book, tuple crossing, int64_t now,
                      int64_t arrived) except -1:
        """The crossing routes decided by the engine's compiled decision (True), or not its
        configuration (False: nothing changed)."""
        cdef object decision = self._decision_of
        if type(decision) is not CrossDecision or (<CrossDecision>decision).kernel is not \
                self._kernel:
            return False
        return (<CrossDecision>decision).decide(market, book, crossing, now, arrived) != FALLBACK

    cdef bint _decide_cycles(self, int64_t now, int64_t arrived) except -1:
        """The cycles the cycle engine kept, decided by the engine's compiled triangular
        decision (True), or not its configuration (False: nothing changed)."""
        cdef object decision = self._cycle_decision_of
        if type(decision) is not TriangularDecision or (<TriangularDecision>decision).engine \
                is not self._cycles:
            return False
        return (<TriangularDecision>decision).decide(now, arrived) != FALLBACK

    cdef bint _decide_both(self, int market, L2Book book, tuple crossing, int64_t now,
                           int64_t arrived) except -1:
        """The cycles the cycle engine kept and the routes crossing on the same update, ranked
        and decided by the engine's compiled decisions together (True), or not their
        configuration (False: nothing changed)."""
        cdef object decision = self._cycle_decision_of
        cdef object cross = self._decision_of
        if type(decision) is not TriangularDecision or (<TriangularDecision>decision).engine \
                is not self._cycles or type(cross) is not CrossDecision or \
                (<CrossDecision>cross).kernel is not self._kernel:
            return False
        return (<TriangularDecision>decision).decide_with(
            <CrossDecision>cross, market, book, crossing, now, arrived) != FALLBACK

    def on_book(self, symbol, book):
        """The engine's callback for one update of ``symbol``'s ``book`` (see the class)."""
        cdef _Market market
        cdef object now_ns, crossing = None, opportunity = None, emitted = None, arrived = None
        cdef int64_t now = 0, arrived_ns = 0
        cdef bint converted = False, crossed = False, timed = False
        cdef CycleEngine cycles
        if not self._bound:
            raise RuntimeError(f"{self.venue}: BookTap.bind() before the first update")
        if self._arrival_of is _PERF_COUNTER_NS:  # (boxed only if something is found)
            arrived_ns = monotonic_ns()
        else:
            arrived = self._arrival_of()
        self.tally.book_updates += 1
        now_ns = read_clock(self._clock_of)
        PyDict_SetItem(self.updated, symbol, now_ns)
        market = self._market(symbol)
        if market.base is not None and PyDict_GetItemWithError(self.usd_cache, market.base):
            PyDict_DelItem(self.usd_cache, market.base)
        cross = self._cross_of
        if cross is not None:
            if self._kernel is not None and market.cross >= 0:  # (bind() bound it)
                self._kernel.stamp(market.cross, now_ns)  # (the book's age, for the decision)
            if self._kernel is None:
                crossing = self._touch.touch(self._cross_ids, symbol, book, now_ns)
            elif self._kernel.n_known < self._kernel.n_markets:
                crossing = None
            elif market.cross < 0:
                crossing = ()
            else:
                now = now_ns  # (the kernels' int64; the dict and Python calls get the object)
                converted = timed = True
                self._kernel._read(market.cross, <L2Book?>book)
                crossing = self._kernel.crossing_at(market.cross, now, True)
            if crossing is None:  # a market's touch still unknown: the strategy reads it
                opportunity = cross.on_book(self.venue, symbol, book, now_ns)
            else:
                crossed = _truthy(crossing)  # (priced after the cycles: see below)
        scanner = self._scanner_now()
        if scanner is not self._scanner:
            self._bind_scanner(scanner)
        cycles = self._cycles
        if cycles is not None and market.cycle >= 0:
            if not timed:
                now, timed = now_ns, True
            cycles.stamp(market.cycle, now)  # (the book's age, for the decision)
        if scanner is not None and self._is_listed(market, symbol):
            if cycles is not None and market.cycle >= 0:
                if cycles.touch_at(market.cycle, <L2Book?>book, now, True) == 0:
                    emitted = ()
                elif opportunity is not None:  # (ranked with the cycles in Python)
                    emitted = cycles.emit_changed()
                elif crossed:  # routes crossing too: ranked with the cycles, in C if it can
                    if converted and self._decide_both(
                            market.cross, <L2Book>book, <tuple?>crossing, now,
                            arrived_ns if arrived is None else arrived):
                        crossed = False  # (decided: nothing left for the cross path below)
                    else:
                        emitted = cycles.emit_changed()
                elif not self._decide_cycles(now, arrived_ns if arrived is None else arrived):
                    emitted = cycles.emit_changed()
            else:
                emitted = scanner.on_book(symbol, book, now_ns)
        if crossed:
            # Routes crossing at the top: decided in C (the engine's CrossDecision) when the
            # cycles found nothing to rank them with, else priced by the strategy in Python.
            # (Pricing reads nothing the cycle engine's update changes.)
            if not (converted and not (emitted is not None and _truthy(emitted))
                    and self._decide(market.cross, <L2Book>book, <tuple?>crossing, now,
                                     arrived_ns if arrived is None else arrived)):
                opportunity = cross.crossed(self.venue, symbol, book, crossing)
        if opportunity is not None or (emitted is not None and _truthy(emitted)):
            self.found(opportunity, emitted, arrived_ns if arrived is None else arrived)
        if self._market_data():  # after the decision: a stream never delays one
            self.changed(self.venue, symbol)
