# C state of the one-call delta path (see deltapath.pyx).
from libc.stdint cimport int8_t, int64_t

from arbcore_ext.book cimport L2Book, LevelBuffer


cdef class BookCounters:
    cdef public int64_t updates
    cdef public int64_t snapshots
    cdef public int64_t skipped
    cdef public int64_t gaps
    cdef public int64_t resyncs
    cdef public int64_t checksum_ok
    cdef public int64_t checksum_failed
    cdef public int64_t crossed
    cdef public int64_t buffer_overflows


cdef class SyncCore:
    cdef readonly L2Book book
    cdef readonly BookCounters counters
    cdef public int64_t book_id
    cdef public bint synced
    cdef public int64_t updated_at_ns
    cdef public int rule
    cdef public bint verify_each


cdef class Route:
    cdef readonly bytes native
    cdef readonly str symbol
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    cdef SyncCore core
    cdef object owner


cdef class DeltaPath:
    cdef bytes anchor
    cdef Py_ssize_t window
    cdef bytes base_key
    cdef bytes reject
    cdef bytes symbol_key
    cdef bytes first_key
    cdef bytes last_key
    cdef bytes time_key
    cdef bint time_required
    cdef int64_t time_unit_ns
    cdef bint single_seq
    cdef bytes levels_key
    cdef tuple level_keys
    cdef int8_t level_sides[4]
    cdef bint drop_zero_prices
    cdef dict by_native
    cdef dict by_symbol
    cdef Route route
    cdef Route last_hit
    cdef readonly LevelBuffer levels
    cdef readonly int64_t first_seq
    cdef readonly int64_t last_seq
    cdef readonly int64_t ts_event_ns
    cdef readonly int64_t ts_recv_ns

    cdef int apply_read(self) noexcept
    cdef Route find_route(self, const char* name, Py_ssize_t length)
    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1
