# C API of the triangular-cycle engine.
from libc.stdint cimport int8_t, int32_t, int64_t

cimport numpy as cnp

from arbcore_ext.book cimport L2Book
from arbcore_ext.crossbook cimport Check


cdef struct LegFill:         # one leg of a cycle sized over depth (CycleEngine.size)
    double qty              # base units traded
    double notional         # quote units (before fee)
    double out              # what the leg hands to the next (after fee)
    double spent            # input actually used
    int64_t worst_raw
    Py_ssize_t levels


cdef class SizedCycle:
    cdef readonly int cycle
    cdef readonly double start_amount
    cdef readonly double end_amount
    cdef readonly double profit
    cdef readonly double profit_bps
    cdef readonly tuple legs


cdef struct Ranked:
    double rate
    int32_t cycle


cdef class CycleEngine:
    cdef readonly int n_assets
    cdef readonly int n_markets
    cdef readonly int cycle_count
    cdef readonly int max_legs
    cdef readonly double threshold
    cdef readonly tuple assets
    cdef readonly tuple symbols
    cdef readonly tuple pairs           # (base, quote) per market
    cdef readonly double slippage_bps

    # flat arrays (numpy-owned; the pointers below point into them)
    cdef object _edges_arr          # int32 [cycle_count * max_legs], edge = 2 * market + direction
    cdef object _lengths_arr        # int8 [cycle_count]
    cdef object _starts_arr         # int32 [cycle_count]: start asset id
    cdef object _edge_rate_arr      # float64 [2 * n_markets + 1]; the last edge is 1.0 (padding)
    cdef object _cycle_rate_arr     # float64 [cycle_count]
    cdef object _ptr_arr            # int32 [n_markets + 1]: CSR market -> cycles
    cdef object _idx_arr            # int32 [sum of legs]: cycle ids, market by market
    cdef object _member_edges_arr   # int32 [sum of legs * max_legs]: those cycles' edges
    cdef object _ranked_arr         # Ranked [cycle_count] scratch for scan()
    cdef object _changed_arr        # int32 [most cycles on one market]
    cdef object _scan_arr           # int32 [cycle_count]
    cdef object _keep_fee_arr       # float64 [n_markets]: 1 - taker fee
    cdef object _lot_arr            # float64 [n_markets], base units, 0 = any
    cdef object _min_qty_arr        # float64 [n_markets], base units
    cdef object _min_notional_arr   # float64 [n_markets], quote units
    cdef int32_t* _edges
    cdef int8_t* _lengths
    cdef int32_t* _starts
    cdef double* _edge_rate
    cdef double* _cycle_rate
    cdef int32_t* _ptr
    cdef int32_t* _idx
    cdef int32_t* _member_edges
    cdef Ranked* _ranked
    cdef int32_t* _changed
    cdef int32_t* _scan
    cdef double* _keep_fee
    cdef const double* _lot
    cdef const double* _min_qty
    cdef const double* _min_notional
    cdef object _stamped_arr        # int64 [n_markets]: each market's last update (INT64_MIN: none)
    cdef int64_t* _stamped
    cdef double _slip_up
    cdef double _slip_down
    cdef Py_ssize_t _n_changed
    cdef dict _market_ids
    cdef list _books
    # attached to an orchestrator's Check (see attach): per cycle its key's slot in the gate
    # (-1: not asked for yet) then its markets' slots (-1: none), max_legs + 1 ints a cycle
    cdef Check _pre
    cdef object _key_of
    cdef object _gate_arr
    cdef int* _gate
    cdef list _detected
    cdef object _detected_hash_arr
    cdef Py_hash_t* _detected_hash
    cdef object _detected_slot_arr
    cdef int* _detected_slot

    cdef _build(self, cnp.ndarray base_ids, cnp.ndarray quote_ids, cnp.ndarray starts)
    cdef int _market(self, object key) except -1
    cdef _check_cycle(self, int cycle)
    cdef tuple _changed_tuple(self)
    cdef Py_ssize_t _update(self, int market, double bid, double ask) noexcept nogil
    cdef int _register(self, int cycle) except -1
    cdef Py_ssize_t _pre_check(self, int64_t now, bint known) except -1
    cdef int market_of(self, symbol) except -2
    cdef Py_ssize_t touch_at(self, int m, L2Book book, int64_t now, bint known) except -1
    cdef object on_book_at(self, int m, L2Book book, int64_t now, bint known)
    cdef object emit_changed(self)
    cdef void stamp(self, int market, int64_t ns) noexcept
    cdef double age_ms(self, int market, int64_t now) noexcept
    cdef bint size_into(self, int cycle, double max_start, LegFill* fills) except -1
    cdef SizedCycle sized_of(self, int cycle, const LegFill* fills)
