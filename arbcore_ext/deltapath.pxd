# C state of the one-call delta path (see deltapath.pyx).
from libc.stdint cimport int8_t, int64_t

from arbcore_ext.book cimport L2Book, LevelBuffer
from arbcore_ext.checksum cimport TextForm

# What DeltaPath.apply returns (also read by arbcore_ext.framepath's loop).
cdef enum:
    ST_APPLIED = 0    # applied: the book is in sync and changed; nothing left to do
    ST_DECLINED = 1   # not a delta in the strict shape (or an unknown symbol): use parse_ws
    ST_SKIPPED = 2    # already contained in the book; counted as skipped
    ST_UNROUTED = 3   # a known symbol with no book attached; the scan is in the path
    ST_DEFER = 4      # scanned, not applied: the BookSync decides in Python (gap, waiting...)
    ST_VERIFY = 5     # applied and counted; the BookSync must verify (crossed, checksum)
    ST_SCANNED = 6    # DeltaPath.scan: read into the path, nothing applied
    ST_CROSSED = 7    # applied, counted and its checksum verified in C; the book is crossed


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
    cdef TextForm form          # the checksum verified in C (None: Python verifies)
    cdef Py_ssize_t depth       # levels a side kept before the checksum (0: all)


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
    cdef int64_t connection
    cdef bint has_prev
    cdef int64_t prev_value
    cdef bint has_checksum
    cdef int64_t checksum_value

    cdef _init_routes(self, routes, Py_ssize_t capacity)
    cdef int apply_read(self) noexcept
    cdef bint checksum_matches(self, L2Book book) noexcept
    cdef Route find_route(self, const char* name, Py_ssize_t length)
    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1
    cdef int scanned(self, int64_t first, int64_t last, bint has_prev, int64_t prev,
                     bint has_checksum, int64_t checksum, int64_t ts_event_ns,
                     int64_t ts_recv_ns, Route route) noexcept


cdef enum:
    MAX_LEVEL_KEYS = 4


cdef bint cached_checksum_matches(DeltaPath path, dict caches, L2Book book) noexcept
