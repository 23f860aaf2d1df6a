# The level-array walk the venue paths share (inline: no module of its own to build).

from libc.stdint cimport int8_t, int64_t

from arbcore_ext._match cimport string_end
from arbcore_ext.book cimport LevelBuffer

# A value reader: the number at i as an int64 at ``decimals`` places (``flag``: the reader's
# own option), the offset after it, or -1 (jsonscan.decimal_value_c, htxpath.number_c).
ctypedef Py_ssize_t (*value_reader)(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                    bint flag, int64_t* out) noexcept nogil


cdef inline Py_ssize_t level_array_c(const char* s, Py_ssize_t i, Py_ssize_t n, int8_t side,
                                     int price_decimals, int size_decimals, value_reader read,
                                     bint price_flag, bint size_flag, int extra_strings,
                                     LevelBuffer out) except -2:
    """The compact level array at i (``[[p,q(,"x"...)],...]``, no whitespace, each level
    ``extra_strings`` JSON strings after its size, skipped) appended to ``out``: the offset
    after its ``]``, or -1 for any other shape or a value ``read`` refuses (also for i < 0, so
    a failed step's -1 carries through)."""
    cdef int64_t price = 0, size = 0
    cdef int extra
    if i < 0 or i >= n or s[i] != 91:                # '['
        return -1
    i += 1
    if i < n and s[i] == 93:                         # ']'
        return i + 1
    while True:
        if i >= n or s[i] != 91:
            return -1
        i = read(s, i + 1, n, price_decimals, price_flag, &price)
        if i < 0 or i >= n or s[i] != 44:            # ','
            return -1
        i = read(s, i + 1, n, size_decimals, size_flag, &size)
        for extra in range(extra_strings):
            if i < 0 or i >= n or s[i] != 44:
                return -1
            i = string_end(s, i + 1, n)
        if i < 0 or i >= n or s[i] != 93:
            return -1
        i += 1
        if out.count == out.capacity:
            out.reserve(1)
        out.push(side, price, size)
        if i + 1 < n and s[i] == 44 and s[i + 1] == 91:
            i += 1
            continue
        if i < n and s[i] == 93:
            return i + 1
        return -1


cdef inline void drop_zero_prices(LevelBuffer levels) noexcept:
    """Remove the price-0 rows (KuCoin's sequence-only rows), keeping the others' order."""
    cdef Py_ssize_t i, kept = 0
    for i in range(levels.count):
        if levels.prices[i]:
            levels.sides[kept] = levels.sides[i]
            levels.prices[kept] = levels.prices[i]
            levels.sizes[kept] = levels.sizes[i]
            kept += 1
    levels.count = kept
