# The level-array walk the venue paths share (inline: no module of its own to build).

from libc.stdint cimport int8_t, int64_t

from arbcore_ext._match cimport string_end
from arbcore_ext.book cimport LevelBuffer
from arbcore_ext.jsonscan cimport decimal_value_c

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


# The common quoted decimal (``"d[.f]"``: 1-7 integer digits, 1-7 fraction digits, room to
# load 16 bytes past the quote) read inline a word at a time; anything else is left to
# ``decimal_value_c``. Where this reads a value it reads what ``decimal_value_c`` reads (its
# fast path's own steps, without the call and the checks the shape makes moot).
cdef extern from *:
    """
    #ifndef ARB_LV_QUOTED_DEFINED
    #define ARB_LV_QUOTED_DEFINED
    static CYTHON_UNUSED const int64_t arb_lv_pow10[19] = {
        1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
        1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
        100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
        1000000000000000000LL};

    /* how many of w's bytes, from the first, are ASCII digits (0..8): a byte is a digit when
       its high nibble is 3 before and after adding 6 (a carry out of a non-digit byte only
       disturbs later bytes, so the first non-digit is always found) */
    static inline int arb_lv_digit_run(uint64_t w) {
        uint64_t odd = ((w & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL)
                       | (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL)
                          ^ 0x3030303030303030ULL);
        return odd ? __builtin_ctzll(odd) >> 3 : 8;
    }

    /* the first `count` (1..8) bytes of w, ASCII digits, as a number */
    static inline int64_t arb_lv_digits(uint64_t w, int count) {
        w = (w - 0x3030303030303030ULL) << (8 * (8 - count));
        w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;
        w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;
        return (int64_t)((w * 10000 + (w >> 32)) & 0xFFFFFFFFULL);
    }

    /* "d[.f]" at s[i] == '"' at `decimals` places (0..18): the offset after its closing
       quote, or -1 for the exact reader to decide (another shape, a digit beyond the scale
       that is not zero, too near the frame's end) */
    static inline Py_ssize_t arb_lv_quoted(const char* s, Py_ssize_t i, Py_ssize_t n,
                                           int decimals, int64_t* out) {
        const char* p = s + i + 1;
        uint64_t w, beyond;
        int d, f, kept;
        int64_t value, fraction = 0;
        if (i + 18 > n || s[i] != '"' || decimals < 0 || decimals > 18)
            return -1;
        memcpy(&w, p, 8);
        d = arb_lv_digit_run(w);
        if (d == 0 || d == 8 || d + decimals > 18)
            return -1;
        value = arb_lv_digits(w, d);
        if (p[d] == '"') {
            *out = value * arb_lv_pow10[decimals];
            return i + d + 2;
        }
        if (p[d] != '.')
            return -1;
        memcpy(&w, p + d + 1, 8);
        f = arb_lv_digit_run(w);
        if (f == 0 || f == 8 || p[d + 1 + f] != '"')
            return -1;
        kept = f < decimals ? f : decimals;
        if (f > kept) {                     /* the digits beyond the scale must be zeros */
            beyond = ((w ^ 0x3030303030303030ULL) >> (8 * kept))
                     & ((1ULL << (8 * (f - kept))) - 1);
            if (beyond)
                return -1;
        }
        if (kept)
            fraction = arb_lv_digits(w, kept);
        *out = value * arb_lv_pow10[decimals] + fraction * arb_lv_pow10[decimals - kept];
        return i + d + f + 3;
    }
    #endif
    """
    Py_ssize_t lv_quoted "arb_lv_quoted"(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                         int64_t* out) noexcept nogil


cdef inline Py_ssize_t quoted_value_c(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                      bint quoted, int64_t* out) noexcept nogil:
    """``decimal_value_c(s, i, n, decimals, quoted, out)``, a quoted value's common shape read
    inline (a :data:`value_reader`)."""
    cdef Py_ssize_t end = lv_quoted(s, i, n, decimals, out) if quoted else -1
    return end if end >= 0 else decimal_value_c(s, i, n, decimals, quoted, out)


cdef inline Py_ssize_t quoted_level_array_c(const char* s, Py_ssize_t i, Py_ssize_t n,
                                            int8_t side, int price_decimals, int size_decimals,
                                            int extra_strings, LevelBuffer out) except -2:
    """``level_array_c`` over quoted values (OKX, Bybit), each read by
    :func:`quoted_value_c`: the same offsets, levels and refusals."""
    return level_array_c(s, i, n, side, price_decimals, size_decimals, quoted_value_c, True,
                         True, extra_strings, out)


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
