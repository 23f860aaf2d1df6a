# C API of the engine's balances and reservations (see ledger.pyx).


cdef class Ledger:
    cdef dict _slots            # (venue, asset) -> slot
    cdef list _keys             # slot -> (venue, asset)
    cdef double* _free          # per slot: the venue's free balance of the asset (0.0: none)
    cdef double* _reserved      # per slot: what admitted trades hold of it (0.0: none)
    cdef char* _has_free        # per slot: the asset is in the venue's balances
    cdef char* _has_reserved    # per slot: the key is in the reservations
    cdef Py_ssize_t _size, _cap
    cdef dict _venues           # venue -> its Balances (one per venue, made on first ask)
    cdef readonly Reserved reserved

    cdef int slot(self, object venue, object asset) except -1
    cdef int _key_slot(self, object key) except -1
    cdef int reserve(self, int slot, double amount) except -1


cdef class _SlotView:
    cdef readonly Ledger ledger
    cdef list _order            # the slots present, in the order their keys came in

    cdef double* _values(self) noexcept
    cdef char* _has(self) noexcept
    cdef int _slot(self, object key) except -1
    cdef int _present(self, object key) except -2
    cdef object _key_of(self, int slot)
    cdef int _add(self, int slot) except -1


cdef class Balances(_SlotView):
    cdef readonly object venue
    cdef dict _slots            # asset -> slot in the ledger


cdef class Reserved(_SlotView):
    pass


cdef inline double available(Ledger ledger, int slot) noexcept:
    """What may still be spent of the slot's (venue, asset): free minus reserved (each 0.0 when
    absent, as ``free.get(asset, 0.0) - reserved.get((venue, asset), 0.0)``)."""
    return ledger._free[slot] - ledger._reserved[slot]
