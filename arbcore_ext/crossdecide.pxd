# C API of the engine's compiled cross-exchange decision (see crossdecide.pyx).
from libc.stdint cimport int64_t

from arbcore_ext.book cimport L2Book
from arbcore_ext.crossbook cimport Check, CrossBook, Gate
from arbcore_ext.ledger cimport Ledger
from arbcore_ext.profit cimport CrossQuote
from arbcore_ext.riskcore cimport Exposure, Leg
from arbcore_ext.usdprices cimport UsdPrices

cdef enum:
    NOTHING = 0     # nothing to trade (or refused, and counted)
    FALLBACK = 1    # not this path's configuration: nothing changed, take the Python path
    DECIDED = 2     # a decision was taken and handed to on_decided


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


cdef class CrossDecision:
    cdef readonly CrossBook kernel
    cdef Check check
    cdef Gate gate
    cdef Facts* _facts
    cdef Ids* _ids
    cdef list _legs            # per route: (buy venue, buy symbol, sell venue, sell symbol)
    cdef list _spends          # per route: ((buy venue, quote), (sell venue, base))
    cdef list _assets          # per route: (base, quote, sell base, sell quote)
    cdef double slippage_bps
    cdef double max_notional_usd
    cdef Ledger ledger         # the venues' free balances and the orchestrator's reservations
    cdef object risk
    cdef Exposure exposure         # risk's, read by the compiled check
    cdef object on_decided
    cdef UsdPrices usd
    cdef int _balance_slot     # "balance_reserved" in the orchestrator's refusals
    # the last decision, for on_decided
    cdef readonly int route
    cdef readonly CrossQuote quote
    cdef readonly double top_rate
    cdef readonly double quote_usd      # USD per unit of the buy quote, as the walk valued it
    cdef readonly int64_t detected_at_ns
    cdef readonly int64_t found_ns      # arrival -> the find (before admission and risk)
    cdef readonly int64_t elapsed_ns    # arrival -> the risk verdict: the decision's latency
    cdef readonly tuple reserved_amounts  # ((venue, asset, amount), ...) as the ticket holds them
    cdef readonly object breach        # riskcore's (rule, value, limit, detail), or None
    cdef readonly long long decided
    # rehearsals (see rehearse): how many, the next route in turn, the walk's USD price
    cdef readonly long long rehearsed
    cdef int _turn
    cdef double _rehearsed_usd

    cdef tuple _leg_tuples(self, int r, const Leg* legs)
    cdef object _usd_of(self, object asset, bint rehearse)
    cdef CrossQuote _walk(self, int r, int market, L2Book book, double* top,
                          double* quote_usd, bint rehearse)
    cdef int decide(self, int market, L2Book book, tuple crossing, int64_t now,
                    int64_t arrived) except -1
    cdef int _admit(self, int r, CrossQuote quote, double top, int64_t now,
                    int64_t arrived, bint rehearse) except -1
    cdef int _rehearse_breach(self, const Leg* legs) except -1
    cdef int _rehearse(self, int r) except -2
