# C API of the engine's USD prices (see usdprices.pyx).

cdef class UsdPrices:
    cdef frozenset dollars       # assets worth 1 USD
    cdef tuple dollar_quotes     # the quotes a dollar mid is read from, in order
    cdef dict cache              # asset -> price (or None), until its dollar market moves
    cdef dict instruments        # venue -> symbol -> Instrument
    cdef dict syncs              # venue -> symbol -> BookSync

    cdef object price(self, object asset)
    cdef object dollar_mid(self, object asset)
