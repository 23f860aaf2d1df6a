# C API of the profit kernels: depth walks with unit conversion, for cross-venue and cycle sizing.
from libc.math cimport floor
from libc.stdint cimport int64_t

from arbcore_ext.book cimport L2Book, Side, Walker, walker_init, walker_next


cdef class CrossQuote:
    cdef readonly double size
    cdef readonly int64_t size_units
    cdef readonly int size_decimals
    cdef readonly double buy_vwap
    cdef readonly double sell_vwap
    cdef readonly double gross_profit
    cdef readonly double net_profit
    cdef readonly Py_ssize_t buy_levels
    cdef readonly Py_ssize_t sell_levels
    cdef readonly int64_t buy_limit
    cdef readonly int64_t sell_limit
    cdef readonly double limit_profit


cdef struct CrossResult:
    int64_t size
    double buy_notional      # sum ask * units, in quote units * 10**size_scale
    double sell_notional
    Py_ssize_t buy_levels
    Py_ssize_t sell_levels
    int64_t buy_worst        # raw
    int64_t sell_worst


cdef struct Leg:
    Walker walker
    int64_t price_raw
    double price             # quote units
    int64_t left             # units at the common scale
    int64_t unit_factor      # book size raw -> common units
    double price_unit
    Py_ssize_t used          # levels something was taken from
    bint touched             # the current level has been taken from


cdef inline bint leg_start(Leg* leg, const Side* side, int64_t unit_factor,
                           double price_unit) noexcept nogil:
    walker_init(&leg.walker, side)
    leg.unit_factor = unit_factor
    leg.price_unit = price_unit
    leg.used = 0
    return leg_advance(leg)


cdef inline bint leg_advance(Leg* leg) noexcept nogil:
    cdef int64_t key, size
    if not walker_next(&leg.walker, &key, &size):
        return False
    leg.price_raw = key if key > 0 else -key
    leg.price = leg.price_raw * leg.price_unit
    leg.left = size * leg.unit_factor
    leg.touched = False
    return True


cdef inline void leg_take(Leg* leg, int64_t q) noexcept nogil:
    leg.left -= q
    if not leg.touched:
        leg.touched = True
        leg.used += 1


cdef inline double net_of(const CrossResult* r, double buy_fee, double sell_fee) noexcept nogil:
    return r.sell_notional * (1.0 - sell_fee) - r.buy_notional * (1.0 + buy_fee)


cdef inline int64_t limit_raw(int64_t price_raw, bint is_buy, double slippage_bps) noexcept nogil:
    """Widen a limit by the slippage allowance, in whole raw units, never past the allowance."""
    cdef int64_t allowance = <int64_t>floor(price_raw * slippage_bps / 10000.0)
    return price_raw + allowance if is_buy else price_raw - allowance


cdef void cross_walk(const Side* asks, const Side* bids, int64_t ask_factor, int64_t bid_factor,
                     double ask_unit, double bid_unit, double buy_fee, double sell_fee,
                     int64_t max_units, double max_quote_scaled, bint stop_at_margin,
                     CrossResult* out) noexcept nogil


cdef CrossQuote quote_cross(L2Book buy_book, L2Book sell_book, double buy_fee, double sell_fee,
                            double max_base, double max_quote, double lot, double min_notional,
                            double buy_slippage_bps, double sell_slippage_bps)
