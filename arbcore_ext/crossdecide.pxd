# C API of the engine's compiled cross-exchange decision (see crossdecide.pyx).
from libc.stdint cimport int64_t

from arbcore_ext.book cimport L2Book
from arbcore_ext.crossbook cimport CrossBook
from arbcore_ext.decision cimport DECIDED, FALLBACK, NOTHING, Decision
from arbcore_ext.profit cimport CrossQuote

cdef enum:
    FIND_FALLBACK = -2  # CrossDecision.find: a route this path does not decide


cdef struct Facts:
    double buy_fee          # the buy market's taker fee
    double sell_fee         # the sell proceeds' fee as the walk reads it: 1 - 1.0 * (1 - fee)
    double lot
    double min_notional
    double buy_unit         # 10 ** buy price decimals (exact)
    double sell_unit
    bint fast               # the same quote on both ends: this path may decide it
    bint dollar_quote       # the buy quote is a dollar asset: worth 1.0 USD, no call
    int buy_spends          # the ledger's slot of (buy venue, quote): what the buy spends
    int sell_spends         # the ledger's slot of (sell venue, base): what the sell spends


cdef struct Ids:                # a route's venues and assets in risk's Exposure
    int buy_venue
    int base
    int quote                   # (the same on both ends)
    int sell_venue
    int sell_base


cdef class CrossDecision(Decision):
    cdef readonly CrossBook kernel
    cdef Facts* _facts
    cdef Ids* _ids
    cdef list _legs            # per route: (buy venue, buy symbol, sell venue, sell symbol)
    cdef list _spends          # per route: ((buy venue, quote), (sell venue, base))
    cdef list _assets          # per route: (base, quote, sell base, sell quote)
    cdef double slippage_bps
    cdef double max_notional_usd
    # the last decision, for on_decided (with Decision's)
    cdef readonly int route
    cdef readonly CrossQuote quote
    cdef readonly double top_rate
    cdef readonly double quote_usd      # USD per unit of the buy quote, as the walk valued it
    cdef double _amounts[2]             # what the buy and the sell reserved
    # rehearsals (see rehearse): how many, the next route in turn, the walk's USD price
    cdef readonly long long rehearsed
    cdef int _turn
    cdef double _rehearsed_usd
    # what find found: the best route, its quote and top rate (its USD price is quote_usd)
    cdef int _best_route
    cdef CrossQuote _best_quote
    cdef double _best_top

    cdef object _usd_of(self, object asset, bint rehearse)
    cdef CrossQuote _walk(self, int r, int market, L2Book book, double* top,
                          double* quote_usd, bint rehearse)
    cdef int decide(self, int market, L2Book book, tuple crossing, int64_t now,
                    int64_t arrived) except -1
    cdef int find(self, int market, L2Book book, tuple crossing) except -3
    cdef double found_usd(self) noexcept
    cdef int admit_found(self, int64_t now, int64_t arrived) except -1
    cdef int _admit(self, int r, CrossQuote quote, double top, int64_t now,
                    int64_t arrived, bint rehearse) except -1
    cdef int _rehearse(self, int r) except -2
