# C API of the engine's compiled triangular decision (see tridecide.pyx).
from libc.stdint cimport int64_t

from arbcore_ext.book cimport L2Book
from arbcore_ext.crossdecide cimport CrossDecision
from arbcore_ext.cycles cimport CycleEngine, LegFill
from arbcore_ext.decision cimport Decision


cdef struct MarketFacts:        # one market of the venue, as a cycle's leg spends and values it
    double price_unit           # 10 ** price decimals (exact)
    double size_unit            # 10.0 ** size decimals
    double lot                  # the lot in raw size units
    int base                    # Exposure asset ids
    int quote
    bint dollar_quote           # worth 1.0 USD: no call
    int buy_spends              # the ledger's slot of (venue, quote): what a buy spends
    int sell_spends             # the ledger's slot of (venue, base): what a sell spends


cdef class TriangularDecision(Decision):
    cdef readonly CycleEngine engine
    cdef readonly str venue
    cdef MarketFacts* _markets
    cdef unsigned char* _dollar_start   # per asset of the engine: a dollar asset (USD 1.0)
    cdef list _quotes               # per market: its quote (UsdPrices.price's key)
    cdef list _pairs                # per market: (base, quote)
    cdef double max_start
    cdef double min_profit_bps      # the scanner's tradeable threshold and the engine's floor
    cdef int _venue_id
    cdef LegFill _fills[4]
    cdef double _amounts[4]         # what each leg of the last decision reserved
    cdef readonly int cycle         # the last decision's
    cdef readonly long long ranked  # updates whose several tradeable cycles were ranked here
    cdef readonly long long rehearsed   # rehearsals made (see rehearse)
    cdef int _last                  # the cycle an update last changed (-1: none yet)

    cdef int decide(self, int64_t now, int64_t arrived) except -1
    cdef int decide_with(self, CrossDecision cross, int market, L2Book book, tuple crossing,
                         int64_t now, int64_t arrived) except -1
    cdef int _decide_cross(self, CrossDecision cross, int rank, int64_t now,
                           int64_t arrived) except -1
    cdef bint _tradeable(self, int cycle, LegFill* fills) except -1
    cdef double _fills_profit(self, int cycle, const LegFill* fills) noexcept
    cdef int _admit(self, int cycle, int n, const LegFill* fills, int64_t now, int64_t arrived,
                    bint rehearse) except -1
    cdef int _rehearse(self, int cycle) except -2
