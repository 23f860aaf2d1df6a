# One place for the hot path's C types and status codes.
from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t

ctypedef int64_t price_t   # price scaled by 10**price_decimals (one raw unit = one tick step)
ctypedef int64_t qty_t     # size scaled by 10**size_decimals
ctypedef Py_ssize_t idx_t

cdef enum Status:
    STATUS_OK = 0
    STATUS_EMPTY = 1          # no digits
    STATUS_SYNTAX = 2         # a character that is not part of a decimal number
    STATUS_NEGATIVE = 3       # a minus sign where only non-negative values are allowed
    STATUS_PRECISION = 4      # a non-zero digit beyond the scale
    STATUS_OVERFLOW = 5       # does not fit int64 at the scale
    STATUS_NOT_FINITE = 6     # NaN or infinity
    STATUS_NO_MEMORY = 7
    STATUS_BAD_SIDE = 8
    STATUS_BAD_PRICE = 9      # zero or negative price handed to a book
    STATUS_BAD_SIZE = 10      # negative size handed to a book
    STATUS_BAD_ARGUMENT = 11  # any other argument a kernel cannot use

cdef enum:
    BID_SIDE = 0
    ASK_SIDE = 1
