# C API of arbcore_ext.fixedpoint: exact decimal text <-> int64 scaled by 10**decimals.
#
# Every function is `noexcept nogil` and reports problems as a Status code from _types.pxd
# (STATUS_OK == 0), writing its result through a pointer, so kernels can call them in a loop
# without the GIL. The `def` wrappers in fixedpoint.pyx turn a status into DecimalFormatError.
from libc.stdint cimport int64_t

cdef enum:
    MAX_DECIMALS = 18           # 10**18 is the largest power of ten that fits int64
    FORMAT_BUFFER_SIZE = 48     # enough for '-', 19 digits, '.', MAX_DECIMALS places

# Parse ASCII decimal text s[0:n] into raw = value * 10**decimals (decimals 0..18).
# Grammar: [+|-] digits [. digits] [(e|E) [+|-] digits]; at least one mantissa digit.
# First problem wins, in this order: STATUS_EMPTY ("", "-", "."), STATUS_NOT_FINITE
# (nan/inf/infinity/snan, any case), STATUS_SYNTAX, STATUS_NEGATIVE (any '-' when
# not allow_negative, even "-0"), STATUS_PRECISION (a non-zero digit beyond the scale),
# STATUS_OVERFLOW (outside int64, or decimals outside 0..18).
cdef int parse_decimal_c(const char* s, Py_ssize_t n, int decimals, bint allow_negative,
                         int64_t* out) noexcept nogil

# Write raw / 10**decimals into buf (FORMAT_BUFFER_SIZE bytes, not NUL-terminated) with
# exactly `places` digits after the point (no point when places == 0). Returns the length,
# or -STATUS_PRECISION when places < decimals would drop a non-zero digit, or
# -STATUS_OVERFLOW when decimals or places is outside 0..18.
cdef Py_ssize_t format_decimal_c(int64_t raw, int decimals, int places, char* buf) noexcept nogil

# 10**k for 0 <= k <= 18 (caller checks the range).
cdef int64_t pow10_c(int k) noexcept nogil

# *out = a * b; STATUS_OVERFLOW (out untouched) when the product does not fit int64.
cdef int mul_checked(int64_t a, int64_t b, int64_t* out) noexcept nogil

# Exact change of scale; STATUS_PRECISION if non-zero digits would be lost,
# STATUS_OVERFLOW if the result does not fit (or a decimals argument is outside 0..18).
cdef int rescale_c(int64_t raw, int from_decimals, int to_decimals, int64_t* out) noexcept nogil

# Multiples of step > 0: down = floor (toward -inf), up = ceiling (toward +inf),
# nearest = closest, ties away from zero. STATUS_OVERFLOW when the multiple does not fit
# int64; STATUS_SYNTAX when step <= 0 (an invalid argument; the def wrapper checks first).
cdef int round_down_to_step(int64_t raw, int64_t step, int64_t* out) noexcept nogil
cdef int round_up_to_step(int64_t raw, int64_t step, int64_t* out) noexcept nogil
cdef int round_nearest_to_step(int64_t raw, int64_t step, int64_t* out) noexcept nogil

# price_raw * qty_raw computed exactly in 128 bits, then divided by 10**out_decimals_drop
# truncating toward zero (a negative drop multiplies instead; drop in -18..36).
# out_decimals_drop = price_decimals + qty_decimals - out_decimals.
# STATUS_OVERFLOW when the result does not fit int64 or the drop is out of range.
cdef int notional_raw_c(int64_t price_raw, int64_t qty_raw, int out_decimals_drop,
                        int64_t* out) noexcept nogil
