# C API of the cross-venue touch test's orchestrator gate (see crossbook.pyx).
from libc.stdint cimport int64_t


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
    cdef int _cooling(self, int key, int64_t* now, bint* known) except -1
    cdef int reason(self, int key, const int* markets, int n, int64_t* now, bint* known) except -1
    cdef int _reason_of(self, key, markets) except -1


cdef class Check:
    cdef readonly Gate gate
    cdef object refused
    cdef readonly object kind
    cdef bint tallied
    cdef bint fast                 # every count is a dict, Counter or defaultdict
    cdef object found
    cdef object detected

    cdef int count(self, int reason, object detected_key, Py_hash_t detected_hash) except -1
