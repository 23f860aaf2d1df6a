# C API of what the engine's compiled decisions share (see decision.pyx).
from libc.stdint cimport int64_t

from arbcore_ext.crossbook cimport Check, Gate
from arbcore_ext.ledger cimport Ledger
from arbcore_ext.riskcore cimport Exposure, Leg
from arbcore_ext.usdprices cimport UsdPrices

cdef enum:
    NOTHING = 0     # nothing to trade (or refused, and counted)
    FALLBACK = 1    # not this path's configuration: nothing changed, take the Python path
    DECIDED = 2     # a decision was taken and handed to on_decided


cdef class Decision:
    cdef Check check            # the strategy's pre-check: the gate and the counts it adds to
    cdef Gate gate
    cdef Ledger ledger          # the venues' free balances and the orchestrator's reservations
    cdef object risk
    cdef Exposure exposure      # risk's, read by the compiled check
    cdef object on_decided
    cdef UsdPrices usd
    cdef int _balance_slot      # "balance_reserved" in the orchestrator's refusals
    # the last decision, for on_decided
    cdef readonly int64_t detected_at_ns
    cdef readonly int64_t found_ns      # arrival -> the find (before admission and risk)
    cdef readonly int64_t elapsed_ns    # arrival -> the risk verdict: the decision's latency
    cdef readonly tuple reserved_amounts  # ((venue, asset, amount), ...) as the ticket holds them
    cdef readonly object breach        # riskcore's (rule, value, limit, detail), or None
    cdef readonly long long decided

    cdef int _found(self, int detected_slot, int64_t arrived) except -1
    cdef int _refused_for_balance(self) except -1
    cdef bint _gate_refuses(self, int key, const int* markets, int n, int64_t now) except -1
    cdef int _verdict(self, const Leg* legs, int n, int64_t now, int64_t arrived) except -1
    cdef int _stamped(self) except -1
    cdef tuple _leg_tuples(self, const Leg* legs, int n)
