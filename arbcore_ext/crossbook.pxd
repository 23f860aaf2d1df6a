# C API of the cross-venue touch test's orchestrator gate (see crossbook.pyx).
from libc.stdint cimport int64_t

from arbcore_ext.book cimport L2Book
from arbcore_ext._syncref cimport SyncRef


cdef enum:              # why the orchestrator's gate would refuse an opportunity (Gate.reason)
    OPEN = 0            # it would take it
    COOL_OFF = 1        # the same key was taken less than cool_off_ns ago
    IN_USE = 2          # a market it trades is busy with a trade in flight


cdef class Gate:
    cdef public int64_t cool_off_ns
    cdef object clock
    cdef dict _key_ids          # key -> slot
    cdef list _keys
    cdef int64_t* _taken_at     # per key slot: clock ns when last taken
    cdef char* _taken           # per key slot: taken at all
    cdef Py_ssize_t _n_keys, _key_cap
    cdef dict _market_ids       # (venue, symbol) -> slot
    cdef list _markets
    cdef char* _busy            # per market slot: a trade in flight
    cdef Py_ssize_t _n_markets, _market_cap
    cdef readonly Py_ssize_t n_taken
    cdef readonly Py_ssize_t n_busy
    cdef public long long offered  # refusals counted by the pre-checks, and admit's offers

    cdef int key_slot(self, key) except -1
    cdef int market_slot(self, market) except -1
    cdef int mark_busy(self, int market) except -1
    cdef int take(self, int key, int64_t ns) except -1
    cdef int _cooling(self, int key, int64_t* now, bint* known) except -1
    cdef int reason(self, int key, const int* markets, int n, int64_t* now, bint* known) except -1
    cdef int _reason_of(self, key, markets) except -1


cdef class Counts:
    cdef dict _slots            # key -> slot
    cdef list _keys             # slot -> key
    cdef int64_t* _n            # per slot: the count
    cdef char* _in              # per slot: the key is in the mapping (set or added to)
    cdef list _order            # the slots in the mapping, in the order their keys came in
    cdef Py_ssize_t _size, _cap

    cdef int slot(self, key) except -1
    cdef int add(self, int slot) except -1
    cdef int _present(self, key)


cdef class Check:
    cdef readonly Gate gate
    cdef object refused
    cdef readonly object kind
    cdef bint tallied
    cdef bint fast                 # every count is a dict, Counter or defaultdict
    cdef object found
    cdef object detected
    # the counts kept in C (each a Counts, else None: counted through the mapping)
    cdef Counts _refused_c
    cdef Counts _found_c
    cdef Counts _detected_c
    cdef int _reason_slot[3]
    cdef int _kind_slot

    cdef int detected_slot(self, object detected_key) except -2
    cdef int count(self, int reason, object detected_key, Py_hash_t detected_hash,
                   int detected_slot) except -1


cdef struct Route:
    int buy             # market bought (its ask)
    int sell            # market sold (its bid)
    double ask_factor   # raw ask -> cost per base unit, taker fee included
    double bid_factor   # raw bid -> proceeds per base unit, taker fee deducted
    double ask_unit     # raw ask -> price
    bint always         # the quotes differ: the live rate is Python's, so every top goes back


cdef class CrossBook:
    cdef int64_t* _bid
    cdef int64_t* _ask
    cdef char* _known
    cdef int64_t* _stamped  # per market: its last update's clock time (NEVER: none seen)
    cdef Route* _routes
    cdef int* _start    # market m's routes: _order[_start[m] : _start[m + 1]]
    cdef int* _order
    cdef readonly int n_markets
    cdef readonly int n_routes
    cdef readonly int n_known   # markets whose touch is known
    cdef readonly double min_profit_bps
    cdef public long long checked
    cdef public long long walked   # the strategy's count (CrossExchangeStrategy.walked): its
                                   # Python walk and the compiled decision both add to it here
    # attached to an orchestrator's Check (see attach): per route its key's slot (-1: the route
    # is not pre-checked here) and its two markets' slots in the gate, and what a refusal counts
    cdef Check _pre
    cdef int* _key
    cdef int* _ends
    cdef list _detected
    cdef Py_hash_t* _detected_hash
    cdef int* _detected_slot
    cdef dict _syncs
    cdef list _venues
    cdef list _symbols
    cdef SyncRef* _refs         # per market: its sync's core, resolved through _syncs (_syncref)

    cdef void stamp(self, int market, int64_t ns) noexcept
    cdef double age_ms(self, int market, int64_t now) noexcept
    cdef int _check(self, int market) except -1
    cdef void _read(self, int m, L2Book book) noexcept
    cdef void _learn(self, int m) noexcept
    cdef object _synced_core(self, int market)
    cdef object _walked_core(self, int market)
    cdef SyncRef* _ref(self, int market) except NULL
    cdef void _drop_refs(self) noexcept
    cdef L2Book synced_book(self, int market)
    cdef bint _in_sync(self, int market) except -1
    cdef object _crossing(self, int market, now_ns)
    cdef object crossing_at(self, int market, int64_t now, bint known)
