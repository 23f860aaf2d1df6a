# C API of the engine's USD prices (see usdprices.pyx).
from libc.stdint cimport uint64_t
from cpython.ref cimport PyObject

from arbcore_ext._syncref cimport SyncRef


cdef struct Candidate:
    PyObject* venue     # (held by the plan's _keep)
    PyObject* symbol    # the instrument's symbol, the key in the venue's syncs
    double divisor      # <double>(10 ** price_decimals)
    SyncRef ref         # its sync's core


cdef class _Plan:
    # one asset's candidate markets, in the walk's order (n < 0: not planned, walk)
    cdef Candidate* cands
    cdef Py_ssize_t n
    cdef list _keep


cdef class UsdPrices:
    cdef frozenset dollars       # assets worth 1 USD
    cdef tuple dollar_quotes     # the quotes a dollar mid is read from, in order
    cdef dict cache              # asset -> price (or None), until its dollar market moves
    cdef dict instruments        # venue -> symbol -> Instrument
    cdef dict syncs              # venue -> symbol -> BookSync
    # per asset its candidate books in order (a _Plan), made from the instruments as they were
    # when _instruments_at and _chosen_at were read; dropped when one of those dicts changed
    cdef dict _plans
    cdef list _chosen            # the venues' symbol -> Instrument dicts, in order
    cdef PyObject** _chosen_ptr  # (the same, for the version loop)
    cdef uint64_t* _chosen_at
    cdef Py_ssize_t _n_chosen
    cdef uint64_t _instruments_at  # 0: no plans (nothing read yet, or no dict versions)
    cdef bint _plannable         # every venue's instruments a plain dict (else: the walk)

    cdef object price(self, object asset)
    cdef object peek(self, object asset)
    cdef object _price(self, object asset, bint keep)
    cdef object dollar_mid(self, object asset)
    cdef object _walked_mid(self, object asset)
    cdef object _walked_one(self, object venue, object symbol, double divisor)
    cdef _Plan _plan(self, object asset)
    cdef bint _instruments_fresh(self) noexcept
    cdef int _replan(self) except -1
