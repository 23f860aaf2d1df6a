# C API of arbcore_ext.jsonscan, for kernels that scan a frame and act on it in one call.
from libc.stdint cimport int8_t, int64_t

from arbcore_ext.book cimport LevelBuffer

# Offset of the value after '"key":' (first occurrence from start), or -1.
cdef Py_ssize_t find_value_c(const char* s, Py_ssize_t n, const char* key, Py_ssize_t k,
                             Py_ssize_t start) noexcept nogil

# The offset after the integer (bare or quoted) at `at`, or -1.
cdef Py_ssize_t int_value_c(const char* s, Py_ssize_t n, Py_ssize_t at,
                            int64_t* value) noexcept nogil

# The decimal at i (a string, or also a bare JSON number unless quoted_only) as an int64 at
# `decimals` places (0..18), exactly as parse_decimal_c reads it without a sign: the offset
# after it (after a string's closing quote), or -1. The frame readers' one decimal reader.
cdef Py_ssize_t decimal_value_c(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                bint quoted_only, int64_t* out) noexcept nogil

# Append the level array at i to out; the offset after it, or -1 with reason set
# (reason == OUT_OF_MEMORY when the buffer could not grow).
cdef Py_ssize_t scan_levels_c(const char* s, Py_ssize_t n, Py_ssize_t i, int8_t side,
                              int price_decimals, int size_decimals, LevelBuffer out,
                              const char** reason) noexcept

cdef const char* OUT_OF_MEMORY
