"""Strict scanner for the parts of venue frames that matter per level: straight from bytes.

Reading level arrays out of a JSON parser's Python objects costs microseconds a message, more
than the book itself. These functions read the venue's level arrays (``[["61737.63","0.5"],...]``,
or bare JSON numbers for Bitfinex and Kraken v2) from the frame's bytes into a
:class:`~arbcore_ext.book.LevelBuffer`, exactly (fixed point, never a float), and find envelope
values by key. They accept only the shapes venues send; anything else raises
:class:`ScanError` with the offset, and the caller falls back to its validating parser (a full
cysimdjson parse), which is also the reference the scanner is tested against.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int8_t, int64_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy

from arbcore_ext._types cimport STATUS_OK
from arbcore_ext.book cimport LevelBuffer, ctz64
from arbcore_ext.fixedpoint cimport parse_decimal_c

from arbcore_ext.errors import ArbcoreError


class ScanError(ArbcoreError, ValueError):
    """The frame is not in the strict shape the scanner reads; use the validating parser."""

    def __init__(self, reason: str, offset: int) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(f"{reason} at byte {offset}")


cdef inline Py_ssize_t skip_ws(const char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    # one compare for the common case: every JSON whitespace byte is <= ' '
    if i < n and <unsigned char>s[i] > 32:
        return i
    while i < n and (s[i] == b' ' or s[i] == b'\n' or s[i] == b'\r' or s[i] == b'\t'):
        i += 1
    return i


cdef inline Py_ssize_t scalar_end(const char* s, Py_ssize_t i, Py_ssize_t n,
                                  Py_ssize_t* start, Py_ssize_t* length) noexcept nogil:
    """Bounds of a string (without quotes; no escapes) or bare number at i; -1 if neither."""
    cdef Py_ssize_t j
    if i >= n:
        return -1
    if s[i] == b'"':
        j = i + 1
        while j < n and s[j] != b'"':
            if s[j] == b'\\':
                return -1
            j += 1
        if j >= n:
            return -1
        start[0] = i + 1
        length[0] = j - i - 1
        return j + 1
    j = i
    while j < n and (b'0' <= s[j] <= b'9' or s[j] == b'.' or s[j] == b'-' or s[j] == b'+'
                     or s[j] == b'e' or s[j] == b'E'):
        j += 1
    if j == i:
        return -1
    start[0] = i
    length[0] = j - i
    return j


# SWAR ("SIMD within a register"): eight text bytes at a time in one 64-bit word, first byte in
# the low bits (x86-64 and aarch64 are little-endian; setup.py builds for those).
#
# The quoted compact level (``["61737.63000000","0.00012000"]``, Binance's and most venues'
# shape) in one pass per value: the value's 16 bytes are two words; the integer digits and the
# kept fraction digits are joined into one word (the dot taken out) and converted once, and
# the digits past the scale are checked to be zeros with one mask. C, so the shifts stay in
# their defined ranges (a shift by 64 is undefined) and nothing is checked twice.
cdef extern from *:
    """
    #include <string.h>
    #define ARB_ASCII_ZEROS 0x3030303030303030ULL
    static const int64_t arb_pow10[19] = {
        1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
        1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
        100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
        1000000000000000000LL};

    /* mask of the low `count` bytes (0..8) */
    static inline uint64_t arb_low_bytes(int count) {
        return ~((~0ULL << (4 * count)) << (4 * count));
    }

    /* non-zero high nibble in every byte that is not an ASCII digit */
    static inline uint64_t arb_not_digit(uint64_t w) {
        return ((w & 0xF0F0F0F0F0F0F0F0ULL) ^ ARB_ASCII_ZEROS)
               | (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) ^ ARB_ASCII_ZEROS);
    }

    /* the value of the first `count` (1..8) digit bytes of w: the digits moved to the top
       (zero bytes fill in as leading zeros), then combined pairwise (1-digit lanes into 2, 2
       into 4, 4 into 8): three multiplications instead of eight dependent multiply-adds */
    static inline int64_t arb_digits_top(uint64_t w, int shift) {
        w = (w - ARB_ASCII_ZEROS) << shift;
        w = w * 10 + (w >> 8);
        w = (((w & 0x000000FF000000FFULL) * 0x000F424000000064ULL)
             + (((w >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >> 32;
        return (int64_t)(w & 0xFFFFFFFFULL);
    }

    static inline int64_t arb_digits8(uint64_t w, int count) {
        return arb_digits_top(w, 8 * (8 - count));
    }

    /* How many plain digits start at p (p[0..16) readable) and their value in *value: 0 when
       none, or when there are 16 or more (the caller's bytewise reader takes those). */
    static inline int arb_digit_run(const char* p, int64_t* value) {
        uint64_t lo, hi, nd;
        int d;
        memcpy(&lo, p, 8);
        nd = arb_not_digit(lo);
        if (nd) {
            d = __builtin_ctzll(nd) >> 3;
            if (d) *value = arb_digits_top(lo, 8 * (8 - d));
            return d;
        }
        memcpy(&hi, p + 8, 8);
        nd = arb_not_digit(hi);
        if (!nd) return 0;
        d = __builtin_ctzll(nd) >> 3;
        *value = d ? arb_digits_top(lo, 0) * arb_pow10[d] + arb_digits_top(hi, 8 * (8 - d))
                   : arb_digits_top(lo, 0);
        return 8 + d;
    }

    /* A quoted value's shape: `d` integer digits, '.', `f` fraction digits (`kept` of them at
       the scale, the rest must be zeros), the closing quote at `end`. The numbers convert a
       value of that shape; the masks recognise one (arb_vshape_match) in its 16 bytes. */
    typedef struct {
        uint64_t int_mask, kept_mask;
        int64_t int_scale, frac_scale;
        int d, kept, end;
        int joined;                    /* d + kept <= 8: one conversion */
        int int_bits, hi_shift;        /* 8 d, 56 - 8 d: the fraction word (arb_fraction_word) */
        int int_top, kept_top, join_top;   /* the shifts that move digits to the top */
        /* d + 1 + kept <= 8: every converted digit is in the first word, the dot taken out with
           one shift (arb_low_value; frac_mask: the kept digits' bytes after that shift) */
        int low;
        uint64_t frac_mask;
        int tail_in;                   /* the masks also check the bytes after the value */
        /* the 16 bytes from the first digit: the text ('0' for a digit, the dot, the zeros past
           the scale, the closing quote), the bits that must match it (0xF0 for a digit, 0xFF
           for the rest), and 0xF0 for each digit */
        uint64_t text_lo, text_hi, fixed_lo, fixed_hi, digit_lo, digit_hi;
    } arb_vshape;

    static inline void arb_vshape_numbers(arb_vshape* v, int d, int f, int decimals) {
        v->d = d;
        v->kept = f < decimals ? f : decimals;
        v->end = d + 1 + f;
        v->int_mask = arb_low_bytes(d);
        v->kept_mask = arb_low_bytes(v->kept);
        v->int_scale = arb_pow10[decimals];
        v->frac_scale = arb_pow10[decimals - v->kept];
        v->joined = d + v->kept <= 8;
        v->int_bits = 8 * d;
        v->hi_shift = 56 - 8 * d;
        v->int_top = 8 * (8 - d);
        v->kept_top = 8 * (8 - v->kept);
        v->join_top = 8 * (8 - d - v->kept);
        v->low = d + 1 + v->kept <= 8;
        v->frac_mask = v->low ? v->kept_mask << (8 * d) : 0;
    }

    /* bytes p[d+1 .. d+8] (the fraction digits) of the value whose first words are lo, hi */
    static inline uint64_t arb_fraction_word(uint64_t lo, uint64_t hi, int int_bits, int hi_shift) {
        return ((lo >> int_bits) >> 8) | (hi << hi_shift);             /* 8 d, 56 - 8 d */
    }

    /* the value at the scale: integer and kept fraction digits joined into one word and
       converted once when they fit 8 digits */
    static inline int64_t arb_vshape_value(const arb_vshape* v, uint64_t lo, uint64_t w) {
        if (v->joined)
            return arb_digits_top((lo & v->int_mask) | ((w & v->kept_mask) << v->int_bits),
                                  v->join_top) * v->frac_scale;
        /* e.g. "0.00012000" at 8 places: a one-digit integer part */
        return (v->d == 1 ? (int64_t)(lo & 0xFF) - '0' : arb_digits_top(lo, v->int_top))
               * v->int_scale + (v->kept ? arb_digits_top(w, v->kept_top) * v->frac_scale : 0);
    }

    /* arb_vshape_value of the value whose first words are lo, hi; from lo alone when the shape
       is `low` (the dot taken out with one shift, no fraction word) */
    static inline int64_t arb_shape_value(const arb_vshape* v, uint64_t lo, uint64_t hi) {
        if (v->low)
            return arb_digits_top((lo & v->int_mask) | ((lo >> 8) & v->frac_mask), v->join_top)
                   * v->frac_scale;
        return arb_vshape_value(v, lo, arb_fraction_word(lo, hi, v->int_bits, v->hi_shift));
    }

    /* A quoted plain decimal whose opening quote is just before p: 1..7 integer digits, '.',
       1..8 fraction digits, the closing quote. Its value at
       `decimals` places in *out, its shape in *v and the closing quote's offset from p; -1 for
       anything else (including digits past the scale that are not zeros): the general reader
       decides those. p[0..16] must be readable. */
    static inline Py_ssize_t arb_short_quoted(const char* p, int decimals, int64_t* out,
                                              arb_vshape* v) {
        uint64_t lo, hi, nd, w;
        int d, f;
        memcpy(&lo, p, 8);
        memcpy(&hi, p + 8, 8);
        nd = arb_not_digit(lo);
        if (nd == 0) return -1;
        d = __builtin_ctzll(nd) >> 3;
        if (d == 0 || ((lo >> (8 * d)) & 0xFF) != '.' || decimals < 0 || d + decimals > 18)
            return -1;
        w = arb_fraction_word(lo, hi, 8 * d, 56 - 8 * d);
        nd = arb_not_digit(w);
        f = nd ? (__builtin_ctzll(nd) >> 3) : 8;
        if (f == 0 || p[d + 1 + f] != '"') return -1;          /* also a ninth fraction digit */
        arb_vshape_numbers(v, d, f, decimals);
        if ((w ^ ARB_ASCII_ZEROS) & arb_low_bytes(f) & ~v->kept_mask)
            return -1;
        *out = arb_vshape_value(v, lo, w);
        return v->end;
    }

    /* mask of the low `count` bytes (0..16) of 16 */
    static inline unsigned __int128 arb_low_bytes16(int count) {
        return count >= 16 ? ~(unsigned __int128)0 : (((unsigned __int128)1) << (8 * count)) - 1;
    }

    /* The masks of v's shape, when the value and its closing quote fit 16 bytes (else 0), and
       of the `tail_len` bytes `tail` that must follow the quote, as many as fit (tail_in: all).
       Built as 16-byte words, a few operations a mask (this runs for every level array). */
    static inline int arb_vshape_masks(arb_vshape* v, const char* tail, int tail_len) {
        const unsigned __int128 ones = ~(unsigned __int128)0 / 0xFF;    /* 0x01 in each byte */
        unsigned __int128 digits, text, fixed, digit;
        int b, t = tail_len;
        if (v->end > 15) return 0;
        if (v->end + t > 15) t = 15 - v->end;
        digits = arb_low_bytes16(v->d) | (arb_low_bytes16(v->kept) << (8 * (v->d + 1)));
        text = (ones * '0') & arb_low_bytes16(v->end) & ~((unsigned __int128)0xFF << (8 * v->d));
        text |= ((unsigned __int128)'.' << (8 * v->d)) | ((unsigned __int128)'"' << (8 * v->end));
        for (b = 0; b < t; b++)
            text |= (unsigned __int128)(unsigned char)tail[b] << (8 * (v->end + 1 + b));
        fixed = arb_low_bytes16(v->end + 1 + t) & ~digits;
        digit = digits & (ones * 0xF0);
        v->text_lo = (uint64_t)text;
        v->text_hi = (uint64_t)(text >> 64);
        v->fixed_lo = (uint64_t)fixed;
        v->fixed_hi = (uint64_t)(fixed >> 64);
        v->digit_lo = (uint64_t)digit;
        v->digit_hi = (uint64_t)(digit >> 64);
        v->tail_in = t == tail_len;
        return 1;
    }

    /* non-zero unless the 8 bytes w match the text t under the masks: x = w ^ t is 0 where a
       fixed byte matches and 0..9 where a digit is; 0x0A..0x0F (':' to '?') carry into the high
       nibble when 6 is added, and 0x10 and up have it set already (x itself is tested too:
       0xFA..0xFF, bytes 0xCA..0xCF in a digit's place, would wrap to 0..5 when 6 is added).
       A carry out of a byte only happens from one already flagged. */
    static inline uint64_t arb_mismatch(uint64_t w, uint64_t t, uint64_t fixed, uint64_t digit) {
        uint64_t x = w ^ t;
        return (x & fixed) | (((x + 0x0606060606060606ULL) | x) & digit);
    }

    /* the 16 bytes lo, hi hold a value of v's shape, exactly */
    static inline int arb_vshape_match(const arb_vshape* v, uint64_t lo, uint64_t hi) {
        return (arb_mismatch(lo, v->text_lo, v->fixed_lo, v->digit_lo)
                | arb_mismatch(hi, v->text_hi, v->fixed_hi, v->digit_hi)) == 0;
    }

    /* the 16 bytes at p, zeros past `end` (a frame's last level: its values' bytes are all
       before `end`, the rest of their 16 bytes is never compared) */
    static __attribute__((noinline)) void arb_load_tail(const char* p, const char* end,
                                                         uint64_t* lo, uint64_t* hi) {
        unsigned char tail[16] = {0};
        memcpy(tail, p, end - p);
        memcpy(lo, tail, 8);
        memcpy(hi, tail + 8, 8);
    }

    static inline void arb_load16(const char* p, const char* end, uint64_t* lo, uint64_t* hi) {
        if (end - p < 16) {
            arb_load_tail(p, end, lo, hi);   /* out of line: no buffer to clear per level */
            return;
        }
        memcpy(lo, p, 8);
        memcpy(hi, p + 8, 8);
    }

    /* The shape of a whole quoted level: price, size, and where the size starts (from '['). */
    typedef struct {
        arb_vshape price, size;
        Py_ssize_t size_at;
        int fast;        /* the ',' after the price and the ']' after the size are in the
                            values' masks: arb_shaped_level's short path */
    } arb_lshape;

    /* ["price","size"] at s[i] == '[' (both values short quoted decimals, no whitespace): the
       offset after its ']', or -1 (the compact and general readers then take the level).
       *shape is the level's shape (its masks not filled in: arb_lshape_masks does that). */
    static inline Py_ssize_t arb_quoted_level(const char* s, Py_ssize_t i, Py_ssize_t n,
                                              int price_decimals, int size_decimals,
                                              int64_t* price, int64_t* size,
                                              arb_lshape* shape) {
        const char* p = s + i + 2;
        Py_ssize_t end;
        if (i + 40 > n || s[i + 1] != '"') return -1;
        end = arb_short_quoted(p, price_decimals, price, &shape->price);
        if (end < 0 || p[end + 1] != ',' || p[end + 2] != '"') return -1;
        p += end + 3;
        end = arb_short_quoted(p, size_decimals, size, &shape->size);
        if (end < 0 || p[end + 1] != ']') return -1;
        shape->size_at = shape->price.end + 5;
        return (p - s) + end + 2;
    }

    /* Make a level shape read by arb_quoted_level recognisable; 0 when a value is too long. */
    static inline int arb_lshape_masks(arb_lshape* shape) {
        if (!arb_vshape_masks(&shape->price, ",", 1) || !arb_vshape_masks(&shape->size, "]", 1))
            return 0;
        shape->fast = shape->price.tail_in && shape->size.tail_in;
        return 1;
    }

    /* The level at s[i] == '[' when it has exactly `shape` (the shape of a level
       arb_quoted_level read): what arb_quoted_level gives for it, without finding the shape
       again (a frame's levels mostly share one: Binance's prices all have 5 integer and 8
       fraction digits, its sizes 1 and 8); -1 for any other level. */
    static inline Py_ssize_t arb_shaped_level(
            const char* s, Py_ssize_t i, Py_ssize_t n, const arb_lshape* shape, int64_t* price,
            int64_t* size) {
        const char* p = s + i + 2;
        const char* q = s + i + shape->size_at;
        uint64_t plo, phi, qlo, qhi;
        if (shape->fast && i + shape->size_at + 16 <= n) {   /* the same checks, fewer steps */
            memcpy(&plo, p, 8);
            memcpy(&phi, p + 8, 8);
            memcpy(&qlo, q, 8);
            memcpy(&qhi, q + 8, 8);
            if (s[i + 1] != '"' || q[-1] != '"'
                    || (arb_mismatch(plo, shape->price.text_lo, shape->price.fixed_lo,
                                     shape->price.digit_lo)
                        | arb_mismatch(phi, shape->price.text_hi, shape->price.fixed_hi,
                                       shape->price.digit_hi)
                        | arb_mismatch(qlo, shape->size.text_lo, shape->size.fixed_lo,
                                       shape->size.digit_lo)
                        | arb_mismatch(qhi, shape->size.text_hi, shape->size.fixed_hi,
                                       shape->size.digit_hi)))
                return -1;
            *price = arb_shape_value(&shape->price, plo, phi);
            *size = arb_shape_value(&shape->size, qlo, qhi);
            return (q - s) + shape->size.end + 2;
        }
        if (i + shape->size_at + shape->size.end + 1 >= n) return -1;   /* the ']' is in */
        arb_load16(p, s + n, &plo, &phi);
        arb_load16(q, s + n, &qlo, &qhi);
        if (s[i + 1] != '"' || !arb_vshape_match(&shape->price, plo, phi)
                || p[shape->price.end + 1] != ',' || p[shape->price.end + 2] != '"'
                || !arb_vshape_match(&shape->size, qlo, qhi) || q[shape->size.end + 1] != ']')
            return -1;
        *price = arb_vshape_value(&shape->price, plo, arb_fraction_word(
            plo, phi, shape->price.int_bits, shape->price.hi_shift));
        *size = arb_vshape_value(&shape->size, qlo, arb_fraction_word(
            qlo, qhi, shape->size.int_bits, shape->size.hi_shift));
        return (q - s) + shape->size.end + 2;
    }

    /* A level template: the exact bytes of one quoted level from its '[' to the ',' after its
       ']', its digits free (the integer and kept fraction digits; the zeros past the scale
       are fixed), in four or five words. A run of levels of one template (a Binance frame's
       levels nearly all are) is then read with one mask test of its words a level and each
       value converted the template's one way: no per-level search for the quotes or shape
       checks, no function call. */
    typedef struct {
        Py_ssize_t at;                  /* the value's first byte, from the level's '[' */
        uint64_t int_mask;              /* its integer digits' bytes (the dot follows them) */
        int top1, top2;                 /* arb_digits_top shifts of its digit groups (8, rest) */
        int two;                        /* more than 8 digits at the scale: two groups */
        int one_more;                   /* exactly 9: the second group is one byte */
        int64_t mul1, scale;            /* 10 ** (digits - 8) for two groups; 10 ** unkept */
    } arb_tvalue;

    /* 16 bytes as one vector (GCC/Clang vector extensions: SSE2 on x86-64, NEON on aarch64);
       its + adds byte by byte, without carries between bytes */
    typedef unsigned char arb_v16 __attribute__((vector_size(16)));

    typedef struct {
        arb_v16 vtext[3], vfixed[3], vdigit[3];   /* bytes 0..15, 16..31, 24..39 of the words */
        int valid, price_decimals, size_decimals;
        int words;                      /* 4 or 5: the words a level's test loads */
        Py_ssize_t stride;              /* the level and its ',': where the next one starts */
        Py_ssize_t need;                /* bytes from '[' a level's loads read */
        int end_word;                   /* the word holding that ',' */
        uint64_t end_flip;              /* turns that ',' into the ']' closing the array */
        uint64_t text[5], fixed[5], digit[5];
        arb_tvalue price, size;
    } arb_ltemplate;

    /* The last two templates learnt, by any caller (the frame readers all hold the GIL): a
       venue's frames mostly share one, so it is learnt once, not per level array, and a rare
       level of another shape (Binance: a size of two integer digits) is learnt into the slot
       not last read with, so the common one stays. A template accepts only levels of its exact
       shape, so a stale one costs a miss, never a wrong value. */
    static arb_ltemplate arb_templates[2];
    static int arb_template_hit;                  /* the slot that read the last run */

    /* the digits and numbers of the value of shape v at `at` */
    static inline void arb_template_value(arb_tvalue* tv, unsigned char* text,
                                          unsigned char* fixed, unsigned char* digit, int at,
                                          const arb_vshape* v) {
        int b, count = v->d + v->kept;
        for (b = 0; b < v->d + 1 + v->kept; b++) {
            if (b == v->d) continue;                            /* the dot stays fixed */
            text[at + b] = '0';
            fixed[at + b] = 0;
            digit[at + b] = 0xF0;
        }
        tv->at = at;
        tv->int_mask = arb_low_bytes(v->d);
        tv->two = count > 8;
        tv->one_more = count == 9;
        tv->top1 = tv->two ? 0 : 8 * (8 - count);
        tv->top2 = tv->two ? 8 * (16 - count) : 0;
        tv->mul1 = tv->two ? arb_pow10[count - 8] : 1;
        tv->scale = v->frac_scale;
    }

    /* the value whose 16 bytes from its first digit are lo, hi: the dot taken out, the first
       eight digits converted, then the rest */
    static inline int64_t arb_tvalue_read(const arb_tvalue* tv, uint64_t lo, uint64_t hi) {
        uint64_t joined = (lo & tv->int_mask) | (((lo >> 8) | (hi << 56)) & ~tv->int_mask);
        int64_t value = arb_digits_top(joined, tv->top1);
        if (tv->one_more)         /* Binance's sizes: one integer and eight fraction digits */
            value = value * 10 + (int64_t)((hi >> 8) & 0xFF) - '0';
        else if (tv->two)
            value = value * tv->mul1 + arb_digits_top(hi >> 8, tv->top2);
        return value * tv->scale;
    }

    /* Learn the template of the level at s[i] == '[' that arb_quoted_level just read (its
       shape in *shape; the level is within the frame): 0, and no template, when the level
       and its ',' take more than 40 bytes. */
    static int arb_template_learn(arb_ltemplate* t, const char* s, Py_ssize_t i,
                                  const arb_lshape* shape, int price_decimals,
                                  int size_decimals) {
        unsigned char text[40] = {0}, fixed[40] = {0}, digit[40] = {0};
        int len = (int)shape->size_at + shape->size.end + 2;      /* '[' .. ']' */
        int b;
        t->valid = 0;
        if (len + 1 > 40) return 0;
        for (b = 0; b < len; b++) {
            text[b] = (unsigned char)s[i + b];
            fixed[b] = 0xFF;
        }
        text[len] = ',';
        fixed[len] = 0xFF;
        arb_template_value(&t->price, text, fixed, digit, 2, &shape->price);
        arb_template_value(&t->size, text, fixed, digit, (int)shape->size_at, &shape->size);
        memcpy(t->text, text, 40);
        memcpy(t->fixed, fixed, 40);
        memcpy(t->digit, digit, 40);
        for (b = 0; b < 3; b++) {
            memcpy(&t->vtext[b], text + (b < 2 ? 16 * b : 24), 16);
            memcpy(&t->vfixed[b], fixed + (b < 2 ? 16 * b : 24), 16);
            memcpy(&t->vdigit[b], digit + (b < 2 ? 16 * b : 24), 16);
        }
        t->words = len + 1 > 32 ? 5 : 4;
        t->stride = len + 1;
        t->need = shape->size_at + 16 > 8 * t->words ? shape->size_at + 16 : 8 * t->words;
        t->end_word = len / 8;
        t->end_flip = (uint64_t)(',' ^ ']') << (8 * (len % 8));
        t->price_decimals = price_decimals;
        t->size_decimals = size_decimals;
        t->valid = 1;
        return 1;
    }

    /* the level at p closes its array (its ',' is a ']') and otherwise matches the template */
    static int arb_template_closes(const arb_ltemplate* t, const char* p) {
        uint64_t bad = 0, w;
        int k;
        for (k = 0; k < t->words; k++) {
            memcpy(&w, p + 8 * k, 8);
            bad |= arb_mismatch(w, t->text[k] ^ (k == t->end_word ? t->end_flip : 0),
                                t->fixed[k], t->digit[k]);
        }
        return bad == 0;
    }

    /* arb_mismatch of the 16 bytes at p + at with the template's vector v, byte by byte (no
       carries: a byte in a digit's place is 0..9 after the XOR when x + 6 and x both keep the
       high nibble clear) */
    static inline arb_v16 arb_tvector(const arb_ltemplate* t, const char* p, int v, int at) {
        const arb_v16 six = {6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6};
        arb_v16 x;
        memcpy(&x, p + at, 16);
        x ^= t->vtext[v];
        return (x & t->vfixed[v]) | (((x + six) | x) & t->vdigit[v]);
    }

    /* One level of the run at p: 1 read and stored at c, 2 read and closing its array, 0 not
       of the template. `tail`: the frame may end within the 16 bytes of a value. */
    static inline int arb_template_level(const arb_ltemplate* t, const char* p,
                                         const char* end, int words, int tail,
                                         int64_t* price, int64_t* size) {
        uint64_t lo, hi;
        int status = 1;
        arb_v16 bad = arb_tvector(t, p, 0, 0) | arb_tvector(t, p, 1, 16);
        if (words == 5)
            bad |= arb_tvector(t, p, 2, 24);
        memcpy(&lo, &bad, 8);
        memcpy(&hi, (const char*)&bad + 8, 8);
        if (lo | hi) {
            if (!arb_template_closes(t, p))
                return 0;
            status = 2;
        }
        if (tail) arb_load16(p + t->price.at, end, &lo, &hi);
        else { memcpy(&lo, p + t->price.at, 8); memcpy(&hi, p + t->price.at + 8, 8); }
        *price = arb_tvalue_read(&t->price, lo, hi);
        if (tail) arb_load16(p + t->size.at, end, &lo, &hi);
        else { memcpy(&lo, p + t->size.at, 8); memcpy(&hi, p + t->size.at + 8, 8); }
        *size = arb_tvalue_read(&t->size, lo, hi);
        return status;
    }

    static inline Py_ssize_t arb_template_run_w(
            const arb_ltemplate* t, const char* s, Py_ssize_t i, Py_ssize_t n, int8_t side,
            int8_t* sides, int64_t* prices, int64_t* sizes, Py_ssize_t* count,
            Py_ssize_t capacity, int* closed, const int words) {
        const Py_ssize_t stride = t->stride, need = t->need;
        Py_ssize_t c = *count;
        int status = 1;
        while (i + need <= n && c < capacity) {
            status = arb_template_level(t, s + i, s + n, words, 0, prices + c, sizes + c);
            if (!status) break;
            sides[c++] = side;
            i += stride;
            if (status == 2) break;
        }
        /* the frame's last levels: the same, with loads that stop at its end */
        while (status == 1 && i + 8 * words <= n && c < capacity) {
            status = arb_template_level(t, s + i, s + n, words, 1, prices + c, sizes + c);
            if (!status) break;
            sides[c++] = side;
            i += stride;
        }
        *closed = status == 2;
        *count = c;
        return i;
    }

    /* Levels from s[i] == '[' read with the template while they match it and the buffer has
       room: the offset after the last one read (after its ',', or after the array's ']' with
       *closed set), i when none was. */
    static inline Py_ssize_t arb_template_run(
            const char* s, Py_ssize_t i, Py_ssize_t n, int price_decimals, int size_decimals,
            int8_t side, int8_t* sides, int64_t* prices, int64_t* sizes, Py_ssize_t* count,
            Py_ssize_t capacity, int* closed) {
        int k, slot;
        Py_ssize_t j;
        *closed = 0;
        for (k = 0; k < 2; k++) {
            slot = arb_template_hit ^ k;
            const arb_ltemplate* t = &arb_templates[slot];
            if (!t->valid || t->price_decimals != price_decimals
                    || t->size_decimals != size_decimals)
                continue;
            j = t->words == 4
                ? arb_template_run_w(t, s, i, n, side, sides, prices, sizes, count, capacity,
                                     closed, 4)
                : arb_template_run_w(t, s, i, n, side, sides, prices, sizes, count, capacity,
                                     closed, 5);
            if (j != i) {
                arb_template_hit = slot;
                return j;
            }
        }
        return i;
    }

    /* learn into the slot not last read with */
    static inline int arb_template_learn_next(const char* s, Py_ssize_t i,
                                              const arb_lshape* shape, int price_decimals,
                                              int size_decimals) {
        return arb_template_learn(&arb_templates[arb_template_hit ^ 1], s, i, shape,
                                  price_decimals, size_decimals);
    }
    """
    const uint64_t ASCII_ZEROS "ARB_ASCII_ZEROS"
    const int64_t* POW10 "arb_pow10"
    uint64_t not_digit "arb_not_digit"(uint64_t word) noexcept nogil
    int64_t digits8 "arb_digits8"(uint64_t word, int count) noexcept nogil
    int leading_digits "arb_digit_run"(const char* p, int64_t* value) noexcept nogil
    ctypedef struct LevelShape "arb_lshape":
        Py_ssize_t size_at
    Py_ssize_t quoted_level "arb_quoted_level"(const char* s, Py_ssize_t i, Py_ssize_t n,
                                               int price_decimals, int size_decimals,
                                               int64_t* price, int64_t* size,
                                               LevelShape* shape) noexcept nogil
    bint shape_masks "arb_lshape_masks"(LevelShape* shape) noexcept nogil
    Py_ssize_t shaped_level "arb_shaped_level"(const char* s, Py_ssize_t i, Py_ssize_t n,
                                               const LevelShape* shape, int64_t* price,
                                               int64_t* size) noexcept nogil
    bint learn_template "arb_template_learn_next"(const char* s, Py_ssize_t i,
                                                  const LevelShape* shape, int price_decimals,
                                                  int size_decimals) noexcept nogil
    Py_ssize_t template_run "arb_template_run"(const char* s, Py_ssize_t i, Py_ssize_t n,
                                               int price_decimals, int size_decimals,
                                               int8_t side, int8_t* sides, int64_t* prices,
                                               int64_t* sizes, Py_ssize_t* count,
                                               Py_ssize_t capacity, int* closed) noexcept nogil


cdef inline Py_ssize_t read_decimal_bytewise(const char* s, Py_ssize_t i, Py_ssize_t n,
                                             int decimals, int64_t* out) noexcept nogil:
    """Read a quoted or bare plain decimal at i one byte at a time; the offset after it, or -1.

    Exponents, signs, escapes, more than 18 significant digits and every error return -1: the
    caller then hands the value's bounds to ``parse_decimal_c``, which decides (and classifies
    errors) exactly.
    """
    cdef int64_t value = 0
    cdef int places = 0, int_digits = 0
    cdef unsigned int digit
    cdef bint quoted = i < n and s[i] == 34          # '"'
    if quoted:
        i += 1
    cdef Py_ssize_t start = i
    while i < n:
        digit = <unsigned char>s[i] - 48
        if digit > 9:
            break
        value = value * 10 + digit
        i += 1
    int_digits = <int>(i - start)
    if int_digits == 0 or int_digits + decimals > 18:
        return -1
    if i < n and s[i] == 46:                          # '.'
        i += 1
        while i < n:
            digit = <unsigned char>s[i] - 48
            if digit > 9:
                break
            if places < decimals:
                value = value * 10 + digit
                places += 1
            elif digit:
                return -1                             # a non-zero digit beyond the scale
            i += 1
    return finish_decimal(s, i, n, quoted, value * POW10[decimals - places], out)


cdef inline Py_ssize_t finish_decimal(const char* s, Py_ssize_t i, Py_ssize_t n, bint quoted,
                                      int64_t value, int64_t* out) noexcept nogil:
    """Close a quoted value (or refuse an exponent on a bare one) and store it."""
    if quoted:
        if i >= n or s[i] != 34:
            return -1
        i += 1
    elif i < n and (s[i] == 101 or s[i] == 69):       # 'e' / 'E'
        return -1
    out[0] = value
    return i


cdef inline uint64_t load8(const char* p) noexcept nogil:
    cdef uint64_t word
    memcpy(&word, p, 8)
    return word


cdef inline int digit_run(uint64_t word) noexcept nogil:
    """How many of the word's bytes, from the first, are ASCII digits (0..8).

    A byte is a digit when its high nibble is 3 before and after adding 6. A carry out of a
    non-digit byte can only disturb later bytes, so the first non-digit is always found.
    """
    cdef uint64_t mask = not_digit(word)
    if mask == 0:
        return 8
    return ctz64(mask) >> 3


cdef inline Py_ssize_t read_decimal(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                    int64_t* out) noexcept nogil:
    """Read a quoted or bare plain decimal at i; the offset after it, or -1 (see the bytewise
    reader, which this matches exactly).

    The common venue shape (at most 8 integer and 8 fraction digits, with room to load eight
    bytes) is read eight bytes at a time; anything else goes to the bytewise reader.
    """
    cdef bint quoted = i < n and s[i] == 34
    cdef Py_ssize_t j = i + quoted
    cdef int int_digits, frac_digits, kept
    cdef int64_t value, fraction = 0
    cdef uint64_t word, beyond
    if j + 17 > n:
        return read_decimal_bytewise(s, i, n, decimals, out)
    word = load8(s + j)
    int_digits = digit_run(word)
    if int_digits == 0 or int_digits == 8 or int_digits + decimals > 18:
        return read_decimal_bytewise(s, i, n, decimals, out)
    value = digits8(word, int_digits)
    j += int_digits
    if s[j] != 46:                                    # no fraction
        return finish_decimal(s, j, n, quoted, value * POW10[decimals], out)
    j += 1
    word = load8(s + j)
    frac_digits = digit_run(word)
    if frac_digits == 8 and <unsigned int>(<unsigned char>s[j + 8] - 48) <= 9:
        return read_decimal_bytewise(s, i, n, decimals, out)  # more than 8 fraction digits
    kept = frac_digits if frac_digits < decimals else decimals
    if frac_digits > kept:                            # digits beyond the scale must be zeros
        beyond = (word ^ ASCII_ZEROS) >> (8 * kept)
        if frac_digits - kept < 8:
            beyond &= ((<uint64_t>1) << (8 * (frac_digits - kept))) - 1
        if beyond:
            return -1
    if kept:
        fraction = digits8(word, kept)
    return finish_decimal(s, j + frac_digits, n, quoted,
                          value * POW10[decimals] + fraction * POW10[decimals - kept], out)


cdef inline Py_ssize_t decimal_value(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                     int64_t* out) noexcept nogil:
    """The fast reader, or the exact parser on the value's bounds when it declines.

    A bare (unquoted) number must be a JSON number: ``007`` is not one, so it is refused.
    """
    cdef Py_ssize_t end, start, length
    if i + 1 < n and s[i] == 48 and 48 <= s[i + 1] <= 57:
        return -1
    end = read_decimal(s, i, n, decimals, out)
    if end >= 0:
        return end
    end = scalar_end(s, i, n, &start, &length)
    if end < 0 or parse_decimal_c(s + start, length, decimals, False, out) != STATUS_OK:
        return -1
    return end


cdef Py_ssize_t decimal_value_c(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                bint quoted_only, int64_t* out) noexcept nogil:
    """decimal_value for the other frame readers (see jsonscan.pxd), one copy of the reader."""
    if decimals < 0 or decimals > 18 or (quoted_only and (i >= n or s[i] != 34)):
        return -1
    return decimal_value(s, i, n, decimals, out)


cdef inline Py_ssize_t plain_value(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                   int64_t* out) noexcept nogil:
    """decimal_value without its exact-parser fallback: -1 wherever that fallback would decide."""
    if i + 1 < n and s[i] == 48 and 48 <= s[i + 1] <= 57:
        return -1
    return read_decimal(s, i, n, decimals, out)


cdef inline Py_ssize_t compact_level(const char* s, Py_ssize_t i, Py_ssize_t n,
                                     int price_decimals, int size_decimals, int64_t* price,
                                     int64_t* size) noexcept nogil:
    """The level at ``s[i] == '['`` when venues' compact shape holds (``[p,q]``: no whitespace,
    no extra elements, both values read by the fast reader): the offset after its ``]``, else
    -1 and the general reader, which accepts a superset, takes the level from the start."""
    i = plain_value(s, i + 1, n, price_decimals, price)
    if i < 0 or i >= n or s[i] != 44:                 # ','
        return -1
    i = plain_value(s, i + 1, n, size_decimals, size)
    if i < 0 or i >= n or s[i] != 93:                 # ']'
        return -1
    return i + 1


cdef enum:
    MAX_SHAPES = 4    # level shapes remembered per array at most (see scan_levels_c)


cdef int grow(LevelBuffer out) noexcept:
    """Room for one more level; -1 when memory ran out (the scan then declines the frame)."""
    try:
        out.reserve(1)
    except MemoryError:
        return -1
    return 0


cdef const char* OUT_OF_MEMORY = "out of memory for the levels"


cdef Py_ssize_t general_level(const char* s, Py_ssize_t n, Py_ssize_t i, int price_decimals,
                              int size_decimals, int64_t* price, int64_t* size,
                              const char** reason) noexcept nogil:
    """Any level the scanner accepts, at ``s[i] == '['``: the offset after its ``]``, or -1."""
    cdef Py_ssize_t start, length
    i = decimal_value(s, skip_ws(s, i + 1, n), n, price_decimals, price)
    if i < 0:
        reason[0] = "level price is not a decimal at the price scale"
        return -1
    i = skip_ws(s, i, n)
    if i >= n or s[i] != b',':
        reason[0] = "expected ',' after the price"
        return -1
    i = decimal_value(s, skip_ws(s, i + 1, n), n, size_decimals, size)
    if i < 0:
        reason[0] = "level size is not a decimal at the size scale"
        return -1
    i = skip_ws(s, i, n)
    while i < n and s[i] == b',':       # extra elements: order counts, timestamps, flags
        i = scalar_end(s, skip_ws(s, i + 1, n), n, &start, &length)
        if i < 0:
            reason[0] = "unreadable extra element in a level"
            return -1
        i = skip_ws(s, i, n)
    if i >= n or s[i] != b']':
        reason[0] = "expected ']' closing a level"
        return -1
    return i + 1


cdef Py_ssize_t scan_levels_c(const char* s, Py_ssize_t n, Py_ssize_t i, int8_t side,
                              int price_decimals, int size_decimals, LevelBuffer out,
                              const char** reason) noexcept:
    """Parse ``[[p, q, ...], ...]`` at i into out; the offset after the closing bracket, or -1
    with ``reason`` set (:data:`OUT_OF_MEMORY` when the buffer could not grow).

    Each level is first tried in the shape of an earlier quoted level of this array (one mask
    test a value, nothing found again), then in the quoted compact shape (short values, one
    pass each), then in the compact shape; only a level in none of them goes through the
    general reader, so every accepted level reads the same whichever reader took it. The
    remembered shape is the first quoted level's, replaced when two levels in a row miss it
    (at most MAX_SHAPES times an array, so values too long for it cost little).
    """
    cdef Py_ssize_t j
    cdef int64_t price, size
    cdef LevelShape shape, seen
    cdef bint have_shape = False, missed = False
    cdef int shapes = 0, closed = 0
    i = skip_ws(s, i, n)
    if i >= n or s[i] != b'[':
        reason[0] = "expected '[' opening the level array"
        return -1
    i = skip_ws(s, i + 1, n)
    if i < n and s[i] == b']':
        return i + 1
    while True:
        if i >= n or s[i] != b'[':
            reason[0] = "expected '[' opening a level"
            return -1
        j = template_run(s, i, n, price_decimals, size_decimals, side, out.sides, out.prices,
                         out.sizes, &out.count, out.capacity, &closed)
        if j != i:
            if closed:
                return j
            i = skip_ws(s, j, n)
            continue
        j = shaped_level(s, i, n, &shape, &price, &size) if have_shape else -1
        if j >= 0:
            missed = False
        else:
            if have_shape:
                j = quoted_level(s, i, n, price_decimals, size_decimals, &price, &size, &seen)
                if j >= 0 and missed and shapes < MAX_SHAPES:
                    shapes += 1
                    shape = seen
                    have_shape = shape_masks(&shape)
                    learn_template(s, i, &shape, price_decimals, size_decimals)
            else:    # no shape in use: learn straight into it (no copy of the struct)
                j = quoted_level(s, i, n, price_decimals, size_decimals, &price, &size, &shape)
                if j >= 0 and shapes < MAX_SHAPES:
                    shapes += 1
                    have_shape = shape_masks(&shape)
                    learn_template(s, i, &shape, price_decimals, size_decimals)
            missed = True
            if j < 0:
                j = compact_level(s, i, n, price_decimals, size_decimals, &price, &size)
            if j < 0:
                j = general_level(s, n, i, price_decimals, size_decimals, &price, &size, reason)
                if j < 0:
                    return -1
        if out.count == out.capacity and grow(out) < 0:
            reason[0] = OUT_OF_MEMORY
            return -1
        out.push(side, price, size)
        i = j
        if i + 1 < n and s[i] == b',' and s[i + 1] == b'[':   # the compact separator
            i += 1
            continue
        i = skip_ws(s, i, n)
        if i < n and s[i] == b',':
            i = skip_ws(s, i + 1, n)
            continue
        if i < n and s[i] == b']':
            return i + 1
        reason[0] = "expected ',' or ']' after a level"
        return -1


cdef raise_scan(const char* reason, Py_ssize_t offset):
    if reason == OUT_OF_MEMORY:
        raise MemoryError(reason.decode())
    raise ScanError(reason.decode(), offset)


def scan_levels(bytes frame not None, Py_ssize_t offset, int side, int price_decimals,
                int size_decimals, LevelBuffer out not None):
    """Append the level array at ``offset`` to ``out``; returns the offset after it."""
    cdef const char* reason = NULL
    cdef Py_ssize_t end = scan_levels_c(PyBytes_AS_STRING(frame), PyBytes_GET_SIZE(frame), offset,
                                        side, price_decimals, size_decimals, out, &reason)
    if end < 0:
        raise_scan(reason, offset)
    return end


cdef extern from "string.h":
    void* memmem(const void* haystack, size_t haystacklen, const void* needle,
                 size_t needlelen) noexcept nogil


cdef Py_ssize_t find_value_c(const char* s, Py_ssize_t n, const char* key, Py_ssize_t k,
                             Py_ssize_t start) noexcept nogil:
    """Offset of the value after ``"key":`` (first occurrence from start), or -1.

    memmem finds the key's text (vectorised in libc; a one-byte key, most venues' envelope
    keys, straight through memchr, without memmem's set-up); each hit is accepted only when
    quotes close around it and a colon follows, so a value that merely contains the text is
    skipped.
    """
    cdef const char* p
    cdef Py_ssize_t i = start, j
    while i + k + 2 <= n:
        if k == 1:
            p = <const char*>memchr(s + i, key[0], n - i)
        else:
            p = <const char*>memmem(s + i, n - i, key, k)
        if p == NULL:
            return -1
        j = p - s
        if j > 0 and s[j - 1] == 34 and j + k < n and s[j + k] == 34:
            j = skip_ws(s, j + k + 1, n)
            if j < n and s[j] == 58:                  # ':'
                return skip_ws(s, j + 1, n)
        i = (p - s) + 1
    return -1


def find_value(bytes frame not None, bytes key not None, Py_ssize_t start=0):
    """Offset of the value of ``"key":`` in frame (searching from start), or -1.

    A byte search, not a parse: the caller names keys that occur once per frame in the
    venue's documented shape (``"U"``, ``"b"``, ``"seqId"``).
    """
    return find_value_c(PyBytes_AS_STRING(frame), PyBytes_GET_SIZE(frame), key,
                        PyBytes_GET_SIZE(key), start)


cdef Py_ssize_t int_value_c(const char* s, Py_ssize_t n, Py_ssize_t at,
                            int64_t* value) noexcept nogil:
    """The offset after the integer (bare or quoted) at ``at``, or -1 (also for ``at`` outside
    the frame: a missing key's -1 must not read the byte before it).

    Plain digits (the venues' sequence ids and times) are read here; anything else goes to
    ``parse_decimal_c``, which decides exactly as before.
    """
    cdef Py_ssize_t start, length, end, i
    cdef int64_t v = 0
    cdef unsigned int digit
    cdef bint quoted
    if at < 0 or at >= n:
        return -1
    quoted = s[at] == 34
    i = at + quoted
    start = i
    if i + 16 <= n:              # up to 15 digits at once (sequence ids, times)
        i += leading_digits(s + i, &v)
    if i == start:               # else one at a time, at most 18
        while i < n and i - start < 18:
            digit = <unsigned char>s[i] - 48
            if digit > 9:
                break
            v = v * 10 + digit
            i += 1
    if i > start and i < n:
        if quoted and s[i] == 34:
            value[0] = v
            return i + 1
        if not quoted and not (b'0' <= s[i] <= b'9' or s[i] == b'.' or s[i] == b'-'
                               or s[i] == b'+' or s[i] == b'e' or s[i] == b'E'):
            value[0] = v
            return i
    end = scalar_end(s, at, n, &start, &length)
    if end < 0 or parse_decimal_c(s + start, length, 0, True, value) != STATUS_OK:
        return -1
    return end


def scan_int(bytes frame not None, Py_ssize_t offset):
    """``(value, end)`` of the integer (bare or quoted) at offset."""
    cdef int64_t value
    cdef Py_ssize_t end = int_value_c(PyBytes_AS_STRING(frame), PyBytes_GET_SIZE(frame), offset,
                                      &value)
    if end < 0:
        raise ScanError("expected an integer", offset)
    return value, end


def scan_levels_at(bytes frame not None, bytes key not None, int side, int price_decimals,
                   int size_decimals, LevelBuffer out not None, Py_ssize_t start=0):
    """Find ``"key":`` then scan its level array into out; returns the offset after it."""
    cdef const char* s = PyBytes_AS_STRING(frame)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(frame)
    cdef Py_ssize_t at = find_value_c(s, n, key, PyBytes_GET_SIZE(key), start)
    cdef const char* reason = NULL
    if at < 0:
        raise ScanError(f"no {key.decode()!r} key", start)
    cdef Py_ssize_t end = scan_levels_c(s, n, at, side, price_decimals, size_decimals, out,
                                        &reason)
    if end < 0:
        raise_scan(reason, at)
    return end


cdef tuple scan_message_c(bytes frame, tuple int_keys, tuple level_keys, int price_decimals,
                          int size_decimals, LevelBuffer out):
    cdef const char* s = PyBytes_AS_STRING(frame)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), at, end = 0
    cdef const char* reason = NULL
    cdef int64_t value
    cdef int8_t side = 0
    cdef bytes key
    values = []
    for key in int_keys:
        at = find_value_c(s, n, key, PyBytes_GET_SIZE(key), 0)
        if at < 0:
            raise ScanError(f"no {key.decode()!r} key", 0)
        if int_value_c(s, n, at, &value) < 0:
            raise ScanError(f"{key.decode()!r} is not an integer", at)
        values.append(value)
    for key in level_keys:
        at = find_value_c(s, n, key, PyBytes_GET_SIZE(key), end)
        if at < 0:
            raise ScanError(f"no {key.decode()!r} key", end)
        end = scan_levels_c(s, n, at, side, price_decimals, size_decimals, out, &reason)
        if end < 0:
            raise_scan(reason, at)
        side += 1
    return tuple(values)


def scan_message(bytes frame not None, tuple int_keys not None, tuple level_keys not None,
                 int price_decimals, int size_decimals, LevelBuffer out not None):
    """One call for a whole delta frame: the integers of ``int_keys`` (a tuple of ints, in order)
    and the level arrays of ``level_keys`` appended to ``out`` (the i-th key as side i: bids
    first, then asks). Raises ScanError when any of them is missing or out of shape."""
    return scan_message_c(frame, int_keys, level_keys, price_decimals, size_decimals, out)


def scan_delta(bytes frame not None, dict instruments not None, bytes symbol_key not None,
               tuple int_keys not None, tuple level_keys not None, LevelBuffer out not None):
    """The whole fast path of one delta frame in one call.

    Reads the symbol (the string value of ``symbol_key``), looks it up in ``instruments``
    (wire symbol bytes -> ``(price_decimals, size_decimals, tag)``), then the integers of
    ``int_keys`` and the level arrays of ``level_keys`` into ``out``. Returns
    ``(tag, *ints)``, or None when the symbol is not in ``instruments``; raises ScanError when
    the frame is not in the strict shape.
    """
    cdef const char* s = PyBytes_AS_STRING(frame)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(frame)
    cdef Py_ssize_t at = find_value_c(s, n, symbol_key, PyBytes_GET_SIZE(symbol_key), 0)
    cdef const char* close
    if at < 0 or s[at] != 34:
        raise ScanError(f"no {symbol_key.decode()!r} string", 0)
    close = <const char*>memchr(s + at + 1, 34, n - at - 1)
    if close == NULL:
        raise ScanError("unterminated symbol", at)
    entry = instruments.get(frame[at + 1:close - s])
    if entry is None:
        return None
    price_decimals, size_decimals, tag = entry
    values = scan_message_c(frame, int_keys, level_keys, price_decimals, size_decimals, out)
    return (tag, *values)


def string_value(bytes frame not None, bytes key not None, Py_ssize_t start=0):
    """The string value of the first ``"key":`` from ``start`` on (ASCII, no escapes), or None
    when the key is absent or its value is not a plain string."""
    cdef const char* s = PyBytes_AS_STRING(frame)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(frame)
    cdef Py_ssize_t at = find_value_c(s, n, key, PyBytes_GET_SIZE(key), start), end
    if at < 0 or at >= n or s[at] != 34:
        return None
    end = at + 1
    while end < n and s[end] != 34:
        if s[end] == 92:                     # a backslash: not a plain string
            return None
        end += 1
    if end >= n:
        return None
    return s[at + 1:end].decode("ascii", "replace")
