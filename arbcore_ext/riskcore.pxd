# C API of risk's compiled check (see riskcore.pyx).
from libc.stdint cimport int64_t


cdef struct Leg:                # a LegTuple with ids (Exposure.venue_id / asset_id)
    int venue
    int base
    int quote
    bint buy
    double base_qty
    double notional_usd
    double age_ms


cdef class Exposure:
    cdef dict _venue_ids, _asset_ids
    cdef list _venues, _assets   # id -> name
    cdef readonly int n_venues, n_assets
    cdef int venue_cap, asset_cap
    cdef double* _qty            # [venue * asset_cap + asset]: the position (0 when never told)
    cdef unsigned char* _held    # same layout: reported at least once
    cdef int* _order             # [venue * asset_cap + k]: the k-th asset reported on venue
    cdef int* _n_held            # per venue: assets reported
    cdef int* _rank              # per venue: its place among the venues by name
    cdef double* _price          # per asset: the check's price read
    cdef int64_t* _priced_at     # per asset: the check that read it
    cdef unsigned char* _dollar  # per asset: a dollar asset of the engine's UsdPrices (1.0)
    cdef object _acc             # the checks' sum (a _Sum, made once)
    cdef int64_t _epoch
    cdef double* _times          # ring of order times (s), oldest at _time_head
    cdef Py_ssize_t _time_cap, _time_head, _time_count
    cdef public long long open_orders
    cdef public bint fast        # ACTIVE with no correlations: the compiled check applies
    cdef readonly object limits
    cdef double max_position, max_exposure, min_freshness, max_rate
    cdef long long max_open
    cdef object _price_usd, _usd, _clock, _seconds
    cdef bint _rehearsing        # a rehearsal's check: it reads, and changes nothing

    cpdef int venue_id(self, venue) except -1
    cpdef int asset_id(self, asset) except -1
    cdef int _reserve(self, int venues, int assets) except -1
    cdef Py_ssize_t _orders_since(self, double horizon) noexcept
    cdef double _price_of(self, int asset) except? -1.0
    cdef bint _is_dollar(self, asset) except -1
    cdef double _now(self) except? -1.0
    cdef object breach(self, const Leg* legs, Py_ssize_t n, int* oldest_leg)
    cdef int rehearse_breach(self, const Leg* legs, Py_ssize_t n) except -1
    cdef int fill_leg(self, Leg* leg, tuple row) except -1
