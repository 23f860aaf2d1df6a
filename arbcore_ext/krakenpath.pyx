"""Kraken v1 book frames in one pass: :class:`TailPath` finds the book by the frame's tail, reads
the update's maps, levels and checksum in one walk over the frame, numbers it by arrival and
applies it through the DeltaPath machinery (see deltapath.pyx), verifying the CRC32 in C through
a per-book cache of the top levels' text (``arbcore_ext.checksum.TopCache``). :func:`scan_v1_book` is the same
reader for Python (snapshots included), so the two cannot read a frame differently.

The reader takes only the wire's own shape (``[id,{"a":[...]},{"b":[...],"c":"..."},"book-N",
"PAIR"]``, no whitespace, keys ``a``/``b``/``c`` or ``as``/``bs`` once each, asks before bids,
levels of 3 or 4 strings); anything else is declined to the validating path, which is also the
reference it is tested against.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int8_t, int64_t, uint64_t
from libc.string cimport memcmp

cdef extern from "string.h":
    void* memrchr(const void* s, int c, size_t n) noexcept nogil

from arbcore_ext.book cimport L2Book, LevelBuffer
from arbcore_ext.checksum cimport TOP_LEVELS, TextForm, top_checksum_matches
from arbcore_ext.deltapath cimport ST_DECLINED, DeltaPath, Route, cached_checksum_matches
from arbcore_ext.jsonscan cimport decimal_value_c


cdef enum:
    ROUTE_SLOTS_MASK = 63       # TailPath.find_route's table: 64 slots
    # the keys a v1 book map may hold, as bits (each at most once a frame)
    KEY_A = 1
    KEY_B = 2
    KEY_C = 4
    KEY_AS = 8
    KEY_BS = 16
    V1_DECLINED = -1
    V1_UPDATE = 0
    V1_SNAPSHOT = 1
    CHECKSUM_DIGITS = 18        # the most digits of a checksum read here (int64)


from arbcore_ext.checksum import crc32, crc32_append  # noqa: F401  (the tests' name for them)


# -- the one-pass reader ----------------------------------------------------------------------

# SWAR (eight bytes in one 64-bit word, first byte lowest; x86-64 and aarch64 are little-endian):
# a word is flagged when any byte may be a quote, a backslash, a control byte or not ASCII. A
# flag can be false only after a true one (a borrow), so the exact byte loop decides from there.
cdef extern from *:
    """
    #define ARB_ONES 0x0101010101010101ULL
    #define ARB_HIGHS 0x8080808080808080ULL
    static inline uint64_t arb_zero_byte(uint64_t w) { return (w - ARB_ONES) & ~w & ARB_HIGHS; }
    static inline int arb_plain_word(const char* p) {
        uint64_t w;
        memcpy(&w, p, 8);
        return ((arb_zero_byte(w ^ (0x22 * ARB_ONES)) | arb_zero_byte(w ^ (0x5C * ARB_ONES))
                 | arb_zero_byte(w ^ (0x7F * ARB_ONES)) | ((w - 0x20 * ARB_ONES) & ~w & ARB_HIGHS)
                 | (w & ARB_HIGHS)) == 0);
    }
    """
    bint plain_word "arb_plain_word"(const char* p) noexcept nogil


cdef inline Py_ssize_t string_end(const char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """At ``s[i] == '"'``: the offset after the closing quote of a string of printable ASCII
    without escapes (what any JSON parser reads as the same text), or -1."""
    cdef unsigned char c
    if i >= n or s[i] != 34:
        return -1
    i += 1
    while i + 8 <= n and plain_word(s + i):
        i += 8
    while i < n:
        c = <unsigned char>s[i]
        if c == 34:
            return i + 1
        if c < 32 or c > 126 or c == 92:              # control, non-ASCII, '\'
            return -1
        i += 1
    return -1


# A quoted decimal eight bytes at a time: ``digit_run`` counts a word's leading ASCII digits
# (a byte is a digit when its high nibble is 3 before and after adding 6), ``digits_value``
# converts up to eight of them with three multiplications (pairs, then quads, then the eight;
# the digits are first moved to the top of the word, so the bytes below read as leading zeros).
cdef extern from *:
    """
    static inline uint64_t arb_kraken_load(const char* p) {
        uint64_t w;
        memcpy(&w, p, 8);
        return w;
    }

    static inline int arb_kraken_digit_run(uint64_t w) {
        uint64_t odd = ((w & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL)
                       | (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL)
                          ^ 0x3030303030303030ULL);
        return odd ? __builtin_ctzll(odd) >> 3 : 8;
    }

    static inline int64_t arb_kraken_digits(uint64_t w, int count) {   /* count 1..8 */
        w = (w - 0x3030303030303030ULL) << (8 * (8 - count));
        w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;
        w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;
        return (int64_t)((w * 10000 + (w >> 32)) & 0xFFFFFFFFULL);
    }

    /* bytes past the first `kept` of w's first `count` that are not '0' (non-zero: some) */
    static inline uint64_t arb_kraken_beyond(uint64_t w, int kept, int count) {
        uint64_t x = (w ^ 0x3030303030303030ULL) >> (8 * kept);
        return count - kept >= 8 ? x : x & ((1ULL << (8 * (count - kept))) - 1);
    }
    """
    uint64_t load8 "arb_kraken_load"(const char* p) noexcept nogil
    int digit_run "arb_kraken_digit_run"(uint64_t w) noexcept nogil
    int64_t digits_value "arb_kraken_digits"(uint64_t w, int count) noexcept nogil
    uint64_t beyond_scale "arb_kraken_beyond"(uint64_t w, int kept, int count) noexcept nogil


# Kraken's plain quoted decimal (1-7 integer digits, then '.' and 1-16 digits, zeros past the
# scale; at most 18 digits at the scale) a word at a time: the offset after its closing quote,
# or -1 for the exact reader to decide (a longer form, an error). Nine to sixteen fraction
# digits (prices of 9 places are common) take a second word, out of line so the common case
# stays small enough to inline.
cdef extern from *:
    """
    static int64_t ARB_KRAKEN_POW10[19];     /* 10**i, filled at import */

    static void arb_kraken_pow10_init(void) {
        int k;
        ARB_KRAKEN_POW10[0] = 1;
        for (k = 1; k < 19; k++)
            ARB_KRAKEN_POW10[k] = ARB_KRAKEN_POW10[k - 1] * 10;
    }

    static __attribute__((noinline)) Py_ssize_t arb_kraken_long_fraction(
            const char* s, Py_ssize_t i, Py_ssize_t n, int decimals, int64_t value, int d,
            uint64_t word, int64_t* out) {
        const char* p = s + i + 1;
        uint64_t word2;
        int more, kept;
        int64_t fraction;
        if (i + d + 18 > n)
            return -1;
        word2 = arb_kraken_load(p + d + 9);
        more = arb_kraken_digit_run(word2);
        if (more == 8 || p[d + 9 + more] != '"')
            return -1;
        kept = 8 + more < decimals ? 8 + more : decimals;
        if (kept <= 8) {
            if ((kept < 8 && arb_kraken_beyond(word, kept, 8)) || arb_kraken_beyond(word2, 0, more))
                return -1;
            fraction = kept ? arb_kraken_digits(word, kept) : 0;
        } else {
            if (more > kept - 8 && arb_kraken_beyond(word2, kept - 8, more))
                return -1;
            fraction = arb_kraken_digits(word, 8) * ARB_KRAKEN_POW10[kept - 8]
                       + arb_kraken_digits(word2, kept - 8);
        }
        *out = value * ARB_KRAKEN_POW10[decimals] + fraction * ARB_KRAKEN_POW10[decimals - kept];
        return i + d + 11 + more;   /* after the closing quote at p[d + 9 + more] */
    }

    static inline Py_ssize_t arb_kraken_decimal(const char* s, Py_ssize_t i, Py_ssize_t n,
                                                int decimals, int64_t* out) {
        const char* p = s + i + 1;
        int d, f = 0, kept = 0;
        int64_t value, fraction = 0;
        uint64_t word;
        if (i + 19 > n || s[i] != '"' || decimals < 0 || decimals > 18)
            return -1;
        word = arb_kraken_load(p);
        d = arb_kraken_digit_run(word);
        if (d == 0 || d == 8 || d + decimals > 18)
            return -1;
        value = arb_kraken_digits(word, d);
        if (p[d] == '.') {
            word = arb_kraken_load(p + d + 1);
            f = arb_kraken_digit_run(word);
            if (f == 0)
                return -1;
            if (f == 8 && p[d + 9] >= '0' && p[d + 9] <= '9')
                return arb_kraken_long_fraction(s, i, n, decimals, value, d, word, out);
            kept = f < decimals ? f : decimals;
            if (f > kept && arb_kraken_beyond(word, kept, f))
                return -1;
            if (kept)
                fraction = arb_kraken_digits(word, kept);
            f += 1;
        }
        if (p[d + f] != '"')
            return -1;
        *out = value * ARB_KRAKEN_POW10[decimals] + fraction * ARB_KRAKEN_POW10[decimals - kept];
        return i + 1 + d + f + 1;
    }
    """
    Py_ssize_t plain_decimal "arb_kraken_decimal"(const char* s, Py_ssize_t i, Py_ssize_t n,
                                                  int decimals, int64_t* out) noexcept nogil
    void pow10_init "arb_kraken_pow10_init"() noexcept nogil

pow10_init()


# The checksum's digits (a uint32 in decimal: 1-10 digits) in at most two words: the offset
# after them and their value, or -1 (none, sixteen or more, or too near the end) for the byte
# loop to read.
cdef extern from *:
    """
    static inline Py_ssize_t arb_kraken_short_digits(const char* s, Py_ssize_t i, Py_ssize_t n,
                                                     int64_t* value) {
        uint64_t word;
        int d, more;
        if (i + 16 > n)
            return -1;
        word = arb_kraken_load(s + i);
        d = arb_kraken_digit_run(word);
        if (d == 0)
            return -1;
        if (d < 8) {
            *value = arb_kraken_digits(word, d);
            return i + d;
        }
        *value = arb_kraken_digits(word, 8);
        word = arb_kraken_load(s + i + 8);
        more = arb_kraken_digit_run(word);
        if (more == 8)
            return -1;
        if (more)
            *value = *value * ARB_KRAKEN_POW10[more] + arb_kraken_digits(word, more);
        return i + 8 + more;
    }
    """
    Py_ssize_t short_digits "arb_kraken_short_digits"(const char* s, Py_ssize_t i, Py_ssize_t n,
                                                      int64_t* value) noexcept nogil


cdef inline Py_ssize_t quoted_decimal(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                      int64_t* out) noexcept nogil:
    """The quoted decimal at ``s[i]`` at ``decimals`` places: the offset after its closing
    quote, or -1. Kraken's plain form is read a word at a time (``plain_decimal``); anything
    else goes to the scanner's exact reader (``decimal_value_c``), which decides it as
    ``to_raw`` does."""
    cdef Py_ssize_t end = plain_decimal(s, i, n, decimals, out)
    return end if end >= 0 else decimal_value_c(s, i, n, decimals, True, out)


cdef inline Py_ssize_t read_level(const char* s, Py_ssize_t i, Py_ssize_t n, int price_decimals,
                                  int size_decimals, int64_t* price, int64_t* size) noexcept nogil:
    """``["price","volume","time"(,"flag")]`` at ``s[i] == '['``: the offset after its ``]``, or
    -1. Price and volume are read exactly (:func:`quoted_decimal`); the time and the republish
    flag are only checked to be plain strings."""
    i = quoted_decimal(s, i + 1, n, price_decimals, price)
    if i < 0 or i >= n or s[i] != 44:                  # ','
        return -1
    i = quoted_decimal(s, i + 1, n, size_decimals, size)
    if i < 0 or i >= n or s[i] != 44:
        return -1
    i = string_end(s, i + 1, n)
    if i >= 0 and i < n and s[i] == 44:                # the fourth element (a flag)
        i = string_end(s, i + 1, n)
    if i < 0 or i >= n or s[i] != 93:                  # ']'
        return -1
    return i + 1


cdef Py_ssize_t read_side(const char* s, Py_ssize_t i, Py_ssize_t n, int8_t side,
                          int price_decimals, int size_decimals, LevelBuffer out) except -2:
    """The level array at ``s[i] == '['`` appended to ``out``: the offset after it, or -1."""
    cdef int64_t price = 0, size = 0
    i += 1
    if i < n and s[i] == 93:
        return i + 1
    while i < n and s[i] == 91:                        # '['
        i = read_level(s, i, n, price_decimals, size_decimals, &price, &size)
        if i < 0:
            return -1
        if out.count == out.capacity:
            out.reserve(1)
        out.push(side, price, size)
        if i < n and s[i] == 44:
            i += 1
        elif i < n and s[i] == 93:
            return i + 1
        else:
            return -1
    return -1


cdef struct V1Read:
    Py_ssize_t end          # offset of the channel name (the first string after the maps)
    bint has_checksum
    int64_t checksum


cdef int read_v1_book(const char* s, Py_ssize_t n, int price_decimals, int size_decimals,
                      LevelBuffer out, V1Read* r, bint updates_only) except -2:
    """A v1 book frame's id and maps in one pass: V1_UPDATE or V1_SNAPSHOT with the levels in
    ``out`` (asks, then bids) and ``r`` filled in, else V1_DECLINED.

    Declined is everything the validating parser might read differently or reject: another
    key, a key twice (it keeps the last), bids before asks (it lists asks first), an update
    without levels, a snapshot with update keys or a checksum, any whitespace or escape.
    ``updates_only`` declines a snapshot at its first key, before reading its levels."""
    cdef Py_ssize_t i = 1, start, k
    cdef int seen = 0, bit, maps = 0
    cdef int8_t side
    cdef int64_t value
    out.count = 0
    r.has_checksum = False
    r.checksum = 0
    if n < 2 or s[0] != 91:
        return V1_DECLINED
    start = i                                          # the channel id: a JSON integer >= 0
    while i < n and 48 <= s[i] <= 57:
        i += 1
    if i == start or i - start > 18 or (s[start] == 48 and i - start > 1):
        return V1_DECLINED
    if i >= n or s[i] != 44:
        return V1_DECLINED
    i += 1
    while i < n and s[i] == 123:                       # '{': one map
        i += 1
        maps += 1
        while True:
            if i + 4 >= n or s[i] != 34:
                return V1_DECLINED
            if s[i + 2] == 34:                         # a one-letter key
                k = 1
                bit = KEY_A if s[i + 1] == 97 else KEY_B if s[i + 1] == 98 else (
                    KEY_C if s[i + 1] == 99 else 0)
            elif s[i + 3] == 34 and s[i + 2] == 115:   # "as" / "bs"
                k = 2
                bit = KEY_AS if s[i + 1] == 97 else KEY_BS if s[i + 1] == 98 else 0
            else:
                return V1_DECLINED
            if bit == 0 or seen & bit or s[i + k + 2] != 58:     # ':'
                return V1_DECLINED
            if updates_only and k == 2:
                return V1_DECLINED
            seen |= bit
            i += k + 3
            if bit == KEY_C:
                if i >= n or s[i] != 34:
                    return V1_DECLINED
                start = i + 1
                i = short_digits(s, start, n, &value)     # 1-15 digits a word at a time
                if i < 0:
                    i = start
                    value = 0
                    while i < n and 48 <= s[i] <= 57 and i - start < CHECKSUM_DIGITS:
                        value = value * 10 + (s[i] - 48)
                        i += 1
                if i == start or i >= n or s[i] != 34:
                    return V1_DECLINED
                i += 1
                r.has_checksum = True
                r.checksum = value
            else:
                if (bit & (KEY_A | KEY_AS)) and seen & (KEY_B | KEY_BS):
                    return V1_DECLINED                 # asks after bids
                side = 1 if bit & (KEY_A | KEY_AS) else 0
                if i >= n or s[i] != 91:
                    return V1_DECLINED
                i = read_side(s, i, n, side, price_decimals, size_decimals, out)
                if i < 0:
                    return V1_DECLINED
            if i < n and s[i] == 44:
                i += 1
                continue
            if i < n and s[i] == 125:                  # '}'
                i += 1
                break
            return V1_DECLINED
        if i >= n or s[i] != 44:
            return V1_DECLINED
        i += 1
    if maps == 0 or i >= n or s[i] != 34:
        return V1_DECLINED
    r.end = i
    if seen & (KEY_AS | KEY_BS):
        return V1_DECLINED if seen & (KEY_A | KEY_B | KEY_C) else V1_SNAPSHOT
    return V1_UPDATE if seen & (KEY_A | KEY_B) else V1_DECLINED


def scan_v1_book(bytes frame not None, int price_decimals, int size_decimals,
                 LevelBuffer levels not None):
    """A v1 book frame read in one pass (:class:`TailPath`'s reader): its levels into
    ``levels`` (cleared first; asks, then bids) and ``(is_snapshot, checksum or None)``; None
    when the frame is not in the wire's strict shape (the validating parser reads it)."""
    cdef const char* s = PyBytes_AS_STRING(frame)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i
    cdef V1Read r
    cdef int status = read_v1_book(s, n, price_decimals, size_decimals, levels, &r, False)
    if status == V1_DECLINED:
        return None
    i = string_end(s, r.end, n)                        # "book-N","PAIR"] and the end
    if i < 0 or i >= n or s[i] != 44:
        return None
    i = string_end(s, i + 1, n)
    if i != n - 1 or s[i] != 93:
        return None
    return status == V1_SNAPSHOT, (r.checksum if r.has_checksum else None)


# -- the path ---------------------------------------------------------------------------------

cdef class TailPath(DeltaPath):
    """Delta frames that are JSON arrays naming their book at the end (Kraken v1):
    ``[id, {"a": [...]}, {"b": [...], "c": "123"}, "book-10", "XBT/USD"]``.

    Routes are keyed by the frame's tail from ``tail_mark`` (``"book-``) to its end, e.g.
    ``"book-10","XBT/USD"]``; the rest of the frame is read by :func:`scan_v1_book`'s one-pass
    reader (a snapshot, or anything it declines, is left to ``parse_ws``). Frames carry no
    sequence: each frame read gets the next number of :attr:`arrivals` (first = last), the
    order :class:`~arbcore.marketdata.sync.ArrivalRule` judges; whoever numbers the venue's
    other book events (snapshots read by Python) draws from the same counter with
    :meth:`next_arrival`.
    """

    def __init__(self, routes, *, bytes tail_mark not None, Py_ssize_t capacity=256):
        if not tail_mark:
            raise ValueError("TailPath needs a tail mark")
        self.anchor = tail_mark
        self.arrivals = 0
        self.caches = {}
        self.tops = {}
        self.slots = [None] * (ROUTE_SLOTS_MASK + 1)
        self._init_routes(routes, capacity)

    cdef bint checksum_matches(self, L2Book book) noexcept:
        """The route's CRC through the book's ``checksum.TopCache`` (a form of at most
        TOP_LEVELS a side; a deeper one through the shared TextCache). The same truncation
        first, the same verdict."""
        cdef Route route = self.route
        cdef TextForm form = route.form
        if form.form.depth > TOP_LEVELS:
            return cached_checksum_matches(self, self.caches, book)
        if route.depth:
            book._truncate(route.depth)
        return top_checksum_matches(self.tops, route, book, form, self.checksum_value,
                                    self.levels)

    cdef Route find_route(self, const char* name, Py_ssize_t length):
        """DeltaPath.find_route through a small table keyed by a hash of the tail (its ends and
        length; a collision only costs the dict lookup): the frames
        cycle through many pairs, so the last hit rarely helps, and a bytes object and a dict
        lookup per frame cost more than one hash and one compare. The dict decides on a miss
        (the table only remembers what it answered)."""
        cdef uint64_t h = <uint64_t>length
        cdef Py_ssize_t i
        cdef Route route
        if length >= 8:     # the first and last eight bytes and the length (depth and pair)
            h ^= load8(name) * 0x9E3779B97F4A7C15ULL ^ load8(name + length - 8) * 0xC2B2AE3D27D4EB4FULL
            h ^= h >> 29
            h ^= h >> 13
        i = <Py_ssize_t>(h & ROUTE_SLOTS_MASK)
        cached = self.slots[i]
        if cached is not None:
            route = <Route>cached
            if (PyBytes_GET_SIZE(route.native) == length
                    and memcmp(PyBytes_AS_STRING(route.native), name, length) == 0):
                return route
        route = self.by_native.get(PyBytes_FromStringAndSize(name, length))
        if route is not None:
            self.slots[i] = route
        return route

    def next_arrival(self):
        """The next arrival number (for a book event read elsewhere)."""
        self.arrivals += 1
        return self.arrivals

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), k, tail, i
        cdef const char* mark = PyBytes_AS_STRING(self.anchor)
        cdef const char* p
        cdef Route route
        cdef V1Read r
        self.route = None
        k = PyBytes_GET_SIZE(self.anchor)
        if n < k + 2 or s[0] != 91 or s[n - 1] != 93:        # '[' ... ']'
            return ST_DECLINED
        # the tail opens at the fourth quote from the end ("book-N","PAIR"]: no route's pair
        # holds a quote); it must start with the mark
        p = s + n - 1
        for i in range(4):
            p = <const char*>memrchr(s, 34, p - s)
            if p == NULL:
                return ST_DECLINED
        tail = p - s
        if n - tail < k or memcmp(p, mark, k) != 0:
            return ST_DECLINED
        route = self.find_route(s + tail, n - tail)
        if route is None:
            return ST_DECLINED
        if (read_v1_book(s, n, route.price_decimals, route.size_decimals, self.levels, &r, True)
                != V1_UPDATE or r.end != tail):
            return ST_DECLINED
        self.arrivals += 1
        return self.scanned(self.arrivals, self.arrivals, False, 0, r.has_checksum, r.checksum,
                            0, ts_recv_ns, route)
