"""Venue book checksums: the book's top levels rendered as the venue's text and CRC32'd, in C.

Kraken, OKX and Bitfinex check a book by a CRC32 over their own text of its top levels. Built in
Python (arrays -> ints -> str per number -> join -> encode) that costs tens of microseconds per
update, more than parsing and applying the update; it ran on every update. Here one call walks
both sides with the book's C walkers, renders each number with ``format_decimal_c`` into a stack
buffer and feeds zlib's ``crc32`` as the buffer fills: no Python object per level, no GIL.

What differs between venues is data, a :class:`TextForm`: depth, order (interleaved bid/ask or
asks then bids), separator, number style, the wire's decimal places, a '-' on ask sizes. The
plain-Python twin is ``arbcore_ext.reference.checksum``.

Per update, the delta paths (Kraken, OKX) verify through a :class:`TopCache`: each top level's
text and raw CRC kept, only the changed levels rendered, and the CRC re-chained from the first
changed position by CRC-32's linearity (a shift table a level) instead of hashing the text again.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove
from libc.stdlib cimport calloc, malloc, free

from arbcore_ext._types cimport STATUS_OK, STATUS_PRECISION
from arbcore_ext.book cimport (L2Book, LevelBuffer, Side, Walker, clz64, ctz64, key_to_price,
                              side_level_count, walker_init, walker_next)
from arbcore_ext.fixedpoint cimport FORMAT_BUFFER_SIZE, MAX_DECIMALS, format_decimal_c

from arbcore_ext.errors import DecimalFormatError

cdef extern from "zlib.h":
    unsigned long zlib_crc32 "crc32"(unsigned long crc, const unsigned char* buf,
                                     unsigned int len) nogil

cdef enum:
    HASH_CHUNK = 2048        # stack buffer of the hashing sink
    NUMBER_ROOM = FORMAT_BUFFER_SIZE + 2   # separator + '-' + the widest number
    MAX_DEPTH = 100000       # bounds book_text's allocation; venues hash 10 or 25

_STYLES = {"digits": NUMBER_DIGITS, "trimmed": NUMBER_TRIMMED}


cdef inline void out_make_room(Out* o) noexcept nogil:
    # the text sink is sized for the whole text up front; only the hashing sink flushes
    if o.hashing and o.cap - o.len < NUMBER_ROOM:
        o.crc = zlib_crc32(o.crc, <const unsigned char*>o.buf, <unsigned int>o.len)
        o.len = 0


cdef extern from *:
    """
    static const char ARB_DIGIT_PAIRS[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    static const unsigned long long ARB_POW10_U64[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};
    static inline int arb_umul_overflow(uint64_t a, uint64_t b, uint64_t* out) {
        return __builtin_mul_overflow(a, b, out);
    }
    """
    const char* DIGIT_PAIRS "ARB_DIGIT_PAIRS"
    const uint64_t* POW10_U64 "ARB_POW10_U64"
    int umul_overflow "arb_umul_overflow"(uint64_t a, uint64_t b, uint64_t* out) noexcept nogil


cdef inline int digit_count(uint64_t value) noexcept nogil:
    """Decimal digits of ``value`` (1 for 0): the bit length's estimate, corrected once
    (``value | 1`` has the same digits and at least one bit)."""
    value |= 1
    cdef int guess = ((64 - clz64(value)) * 1233) >> 12         # floor(log10(2**bits))
    return guess + (value >= POW10_U64[guess])


cdef inline Py_ssize_t put_digits(char* out, uint64_t value, int width) noexcept nogil:
    """``value`` in decimal at ``out``, left-padded with zeros to ``width`` (0: no padding);
    written in place from the last digit back, two digits per step from a pair table."""
    cdef int count = digit_count(value), r
    cdef char* p
    if count < width:
        count = width
    p = out + count
    while value >= 100:
        r = <int>(value % 100) * 2
        value //= 100
        p -= 2
        p[0] = DIGIT_PAIRS[r]
        p[1] = DIGIT_PAIRS[r + 1]
    if value >= 10:
        r = <int>value * 2
        p -= 2
        p[0] = DIGIT_PAIRS[r]
        p[1] = DIGIT_PAIRS[r + 1]
    else:
        p -= 1
        p[0] = <char>(48 + value)
    while p > out:
        p -= 1
        p[0] = 48
    return count


cdef int put_number_slow(Out* o, const ChecksumForm* f, int64_t raw, int decimals, int places,
                         bint negate) noexcept nogil:
    """The general renderer (through ``format_decimal_c``): values whose scaled digits do not
    fit 64 bits, and the error statuses exactly as that function reports them."""
    cdef char tmp[FORMAT_BUFFER_SIZE]
    cdef Py_ssize_t n, j, start = 0
    cdef char c
    cdef bint leading = True
    n = format_decimal_c(raw, decimals, places, tmp)
    if n < 0:
        o.bad_raw = raw
        o.bad_decimals = decimals
        o.bad_places = places
        return <int>-n
    if f.number == NUMBER_TRIMMED:
        if places > 0:
            while tmp[n - 1] == c'0':
                n -= 1
            if tmp[n - 1] == c'.':
                n -= 1
        memcpy(o.buf + o.len, tmp, n)
        o.len += n
        return STATUS_OK
    # NUMBER_DIGITS: the value scaled to `places` as a plain integer
    if tmp[0] == c'-':
        o.buf[o.len] = c'-'
        o.len += 1
        start = 1
    for j in range(start, n):
        c = tmp[j]
        if c == c'.' or (leading and c == c'0'):
            continue
        leading = False
        o.buf[o.len] = c
        o.len += 1
    if leading:
        o.buf[o.len] = c'0'
        o.len += 1
    return STATUS_OK


cdef int put_number(Out* o, const ChecksumForm* f, int64_t raw, int decimals, int places,
                    bint negate) noexcept nogil:
    """One number of the text, with its separator (and '-' for ``negate``).

    Integer arithmetic on the magnitude: "digits" is the value scaled to ``places`` as an
    integer; "trimmed" is the whole part, then the fraction at ``places`` without its trailing
    zeros. Anything out of that easy range goes to :func:`put_number_slow`.
    """
    cdef uint64_t magnitude, whole, fraction, drop
    cdef int digits
    if places < 0:
        places = decimals
    out_make_room(o)
    if o.started and f.separator != 0:
        o.buf[o.len] = f.separator
        o.len += 1
    o.started = True
    if negate:
        o.buf[o.len] = c'-'
        o.len += 1
    if decimals < 0 or decimals > MAX_DECIMALS or places > MAX_DECIMALS:
        return put_number_slow(o, f, raw, decimals, places, negate)  # reports the range
    magnitude = (0 - <uint64_t>raw) if raw < 0 else <uint64_t>raw
    if f.number == NUMBER_DIGITS:
        if places >= decimals:
            if umul_overflow(magnitude, POW10_U64[places - decimals], &whole):
                return put_number_slow(o, f, raw, decimals, places, negate)
        else:
            drop = POW10_U64[decimals - places]
            if magnitude % drop:
                return put_number_slow(o, f, raw, decimals, places, negate)  # the error
            whole = magnitude // drop
        if raw < 0:
            o.buf[o.len] = c'-'
            o.len += 1
        o.len += put_digits(o.buf + o.len, whole, 0)
        return STATUS_OK
    # NUMBER_TRIMMED
    whole = magnitude // POW10_U64[decimals]
    fraction = magnitude % POW10_U64[decimals]
    digits = decimals
    if places < decimals:
        drop = POW10_U64[decimals - places]
        if fraction % drop:
            return put_number_slow(o, f, raw, decimals, places, negate)  # the error
        fraction //= drop
        digits = places
    if raw < 0:
        o.buf[o.len] = c'-'
        o.len += 1
    o.len += put_digits(o.buf + o.len, whole, 0)
    if fraction:
        while fraction % 10 == 0:
            fraction //= 10
            digits -= 1
        o.buf[o.len] = c'.'
        o.len += 1
        o.len += put_digits(o.buf + o.len, fraction, digits)
    return STATUS_OK


cdef inline int put_level(Out* o, const ChecksumForm* f, int side, int64_t key, int64_t size,
                          int price_decimals, int size_decimals) noexcept nogil:
    cdef int status = put_number(o, f, key_to_price(side, key), price_decimals, f.price_places,
                                 False)
    if status != STATUS_OK:
        return status
    return put_number(o, f, size, size_decimals, f.size_places, side == 1 and f.negate_ask_sizes)


cdef int render_book_c(const Side* sides, int price_decimals, int size_decimals,
                       const ChecksumForm* form, Out* out) noexcept nogil:
    cdef Walker walkers[2]
    cdef int64_t key[2]
    cdef int64_t size[2]
    cdef bint has[2]
    cdef Py_ssize_t i
    cdef int side, status
    walker_init(&walkers[0], &sides[0])
    walker_init(&walkers[1], &sides[1])
    if form.interleave:
        for i in range(form.depth):
            has[0] = walker_next(&walkers[0], &key[0], &size[0])
            has[1] = walker_next(&walkers[1], &key[1], &size[1])
            if not has[0] and not has[1]:
                break
            for side in range(2):
                if has[side]:
                    status = put_level(out, form, side, key[side], size[side],
                                       price_decimals, size_decimals)
                    if status != STATUS_OK:
                        return status
    else:
        for side in range(1, -1, -1):   # asks, then bids
            for i in range(form.depth):
                if not walker_next(&walkers[side], &key[side], &size[side]):
                    break
                status = put_level(out, form, side, key[side], size[side],
                                   price_decimals, size_decimals)
                if status != STATUS_OK:
                    return status
    return STATUS_OK


cdef int _places(object places, str name) except -2:
    if places is None:
        return -1
    if not 0 <= places <= MAX_DECIMALS:
        raise ValueError(f"{name} must be None or 0..{MAX_DECIMALS}, was {places!r}")
    return places


cdef class TextForm:
    """How one venue writes its book for the checksum; build once per venue (or pair), reuse.

    ``number``: ``"digits"`` renders at the places, removes the point and strips leading zeros
    (Kraken); ``"trimmed"`` renders at the places and strips trailing zeros and a bare point
    (OKX, Bitfinex). ``price_places``/``size_places`` are the wire's places, ``None`` for the
    book's decimals. ``signed`` gives the CRC as a signed 32-bit integer (OKX, Bitfinex).
    """

    def __cinit__(self, Py_ssize_t depth, *, bint interleave, str separator not None="",
                  str number not None="trimmed", price_places=None, size_places=None,
                  bint negate_ask_sizes=False, bint signed=False):
        if not 0 <= depth <= MAX_DEPTH:
            raise ValueError(f"depth must be 0..{MAX_DEPTH}, was {depth}")
        if len(separator) > 1 or not separator.isascii():
            raise ValueError(f"separator must be one ASCII character or empty, was {separator!r}")
        if number not in _STYLES:
            raise ValueError(f"number must be 'digits' or 'trimmed', was {number!r}")
        self.form.depth = depth
        self.form.interleave = interleave
        self.form.separator = ord(separator) if separator else 0
        self.form.number = _STYLES[number]
        self.form.price_places = _places(price_places, "price_places")
        self.form.size_places = _places(size_places, "size_places")
        self.form.negate_ask_sizes = negate_ask_sizes
        self.separator = separator
        self.number = number
        self.signed = signed

    @property
    def depth(self):
        return self.form.depth

    @property
    def interleave(self):
        return bool(self.form.interleave)

    @property
    def price_places(self):
        return None if self.form.price_places < 0 else self.form.price_places

    @property
    def size_places(self):
        return None if self.form.size_places < 0 else self.form.size_places

    @property
    def negate_ask_sizes(self):
        return bool(self.form.negate_ask_sizes)

    def __repr__(self):
        return (f"TextForm({self.depth}, interleave={self.interleave}, "
                f"separator={self.separator!r}, number={self.number!r}, "
                f"price_places={self.price_places!r}, size_places={self.size_places!r}, "
                f"negate_ask_sizes={self.negate_ask_sizes}, signed={bool(self.signed)})")


cdef _raise_unrenderable(const Out* out):
    raise DecimalFormatError(
        out.bad_raw, f"at {out.bad_decimals} decimals does not fit {out.bad_places} places")


cdef inline void hash_sink(Out* out, char* chunk) noexcept nogil:
    """``out`` as the hashing sink over ``chunk`` (HASH_CHUNK bytes on the caller's frame)."""
    out.buf = chunk
    out.cap = HASH_CHUNK
    out.len = 0
    out.crc = 0
    out.hashing = True
    out.started = False


cdef inline int64_t sink_crc(Out* out, TextForm form) noexcept nogil:
    """The CRC of everything written to the hashing sink (signed when ``form.signed``)."""
    cdef int64_t crc
    if out.len:
        out.crc = zlib_crc32(out.crc, <const unsigned char*>out.buf, <unsigned int>out.len)
    out.buf = NULL  # the chunk lives on the caller's frame only
    crc = <int64_t>out.crc
    if form.signed and crc >= (<int64_t>1 << 31):
        crc -= (<int64_t>1 << 32)
    return crc


cdef int book_crc32_c(L2Book book, TextForm form, int64_t* crc, Out* out) noexcept nogil:
    """:func:`book_crc32` for C callers: STATUS_OK and the CRC (signed when ``form.signed``)
    in ``crc``, or the status of the number that does not fit (``out.bad_*`` say which)."""
    cdef char chunk[HASH_CHUNK]
    cdef int status
    hash_sink(out, chunk)
    status = render_book_c(book.sides, book.price_decimals, book.size_decimals, &form.form, out)
    if status != STATUS_OK:
        return status
    crc[0] = sink_crc(out, form)
    return STATUS_OK


def book_crc32(L2Book book not None, TextForm form not None):
    """CRC32 of ``form``'s text of ``book``: unsigned, or signed 32-bit when ``form.signed``.

    Raises DecimalFormatError when a number has non-zero digits beyond the form's places.
    """
    cdef Out out
    cdef int64_t crc = 0
    cdef int status
    with nogil:
        status = book_crc32_c(book, form, &crc, &out)
    if status != STATUS_OK:
        _raise_unrenderable(&out)
    return crc


def book_text(L2Book book not None, TextForm form not None):
    """The exact bytes :func:`book_crc32` hashes: for tests and for reading a mismatch."""
    cdef Out out
    cdef int status
    out.cap = 4 * form.form.depth * NUMBER_ROOM + 1
    out.buf = <char*>malloc(out.cap)
    if out.buf == NULL:
        raise MemoryError()
    out.len = 0
    out.crc = 0
    out.hashing = False
    out.started = False
    try:
        with nogil:
            status = render_book_c(book.sides, book.price_decimals, book.size_decimals,
                                   &form.form, &out)
        if status != STATUS_OK:
            _raise_unrenderable(&out)
        return out.buf[:out.len]
    finally:
        free(out.buf)


cdef enum:
    LEVEL_ROOM = 2 * NUMBER_ROOM + 2


cdef class TextCache:
    """The rendered levels of one book's last checksum (see checksum.pxd): the next checksum
    renders only the levels whose price or size changed. Keep one per book; a cache follows
    one form at a time (another form, or other book scales, start it afresh)."""

    def __dealloc__(self):
        free(self.slots)

    cdef int reset(self, L2Book book, TextForm form) noexcept:
        """Empty, for ``form`` and ``book``'s scales; -1 when out of memory (nothing cached)."""
        if self.slots == NULL or self.depth != form.form.depth:
            free(self.slots)
            self.depth = form.form.depth
            self.slots = <LevelText*>calloc(4 * max(self.depth, 1), sizeof(LevelText))
            if self.slots == NULL:
                self.form = None
                return -1
        self.form = form
        self.price_decimals = book.price_decimals
        self.size_decimals = book.size_decimals
        self.generation = 0
        self.counts[0] = self.counts[1] = 0
        return 0

    def crc32(self, L2Book book not None, TextForm form not None):
        """:func:`book_crc32` of ``book`` through this cache (for tests and Python callers)."""
        cdef Out out
        cdef int64_t crc = 0
        cdef int status = book_crc32_cached_c(book, form, self, &crc, &out)
        if status != STATUS_OK:
            _raise_unrenderable(&out)
        return crc


cdef int level_text_c(const ChecksumForm* f, int side, int64_t key, int64_t size,
                      int price_decimals, int size_decimals, LevelText* level,
                      Out* out, bint lead) noexcept nogil:
    """One level's text (the form's separator first when ``lead``) into ``level`` (key and
    size too): STATUS_OK, or the status of the number that does not fit (``out.bad_*`` say
    which)."""
    cdef int status
    out.buf = level.text
    out.cap = LEVEL_ROOM
    out.len = 0
    out.hashing = False
    out.started = lead
    status = put_level(out, f, side, key, size, price_decimals, size_decimals)
    level.key = key
    level.size = size
    level.len = out.len
    return status


cdef inline LevelText* slots_of(TextCache cache, int generation, int side) noexcept nogil:
    """The first of a generation's ``depth`` texts of one side."""
    return cache.slots + (2 * generation + side) * cache.depth


cdef inline LevelText* reuse(const LevelText* old, Py_ssize_t count, Py_ssize_t i, int64_t key,
                             int64_t size) noexcept nogil:
    """The text of level (key, size) among the ``count`` current ones near position ``i``
    (the same position, or one off: a level inserted or removed above it), or NULL."""
    if i < count and old[i].key == key and old[i].size == size:
        return &old[i]
    if 0 < i <= count and old[i - 1].key == key and old[i - 1].size == size:
        return &old[i - 1]
    if i + 1 < count and old[i + 1].key == key and old[i + 1].size == size:
        return &old[i + 1]
    return NULL


cdef inline void put_text(Out* out, const ChecksumForm* f, const LevelText* level) noexcept nogil:
    """A level's cached text into the hashing sink, after a separator when one came before."""
    if out.cap - out.len < LEVEL_ROOM + 1:
        out.crc = zlib_crc32(out.crc, <const unsigned char*>out.buf, <unsigned int>out.len)
        out.len = 0
    if out.started and f.separator != 0:
        out.buf[out.len] = f.separator
        out.len += 1
    out.started = True
    memcpy(out.buf + out.len, level.text, level.len)
    out.len += level.len


cdef int book_crc32_cached_c(L2Book book, TextForm form, TextCache cache, int64_t* crc,
                             Out* out) noexcept:
    cdef char chunk[HASH_CHUNK]
    cdef const ChecksumForm* f = &form.form
    cdef Walker walker
    cdef Out text
    cdef LevelText* level
    cdef const LevelText* current
    cdef const LevelText* old
    cdef Py_ssize_t counts[2]
    cdef Py_ssize_t i
    cdef int side, status, fresh
    if (cache.form is not form or cache.price_decimals != book.price_decimals
            or cache.size_decimals != book.size_decimals):
        if cache.reset(book, form) < 0:
            return book_crc32_c(book, form, crc, out)
    fresh = 1 - cache.generation
    # each side's top levels into the fresh generation: reused texts copied, the rest rendered
    for side in range(2):
        walker_init(&walker, &book.sides[side])
        current = slots_of(cache, cache.generation, side)
        level = slots_of(cache, fresh, side)
        counts[side] = 0
        for i in range(f.depth):
            if not walker_next(&walker, &level.key, &level.size):
                break
            old = reuse(current, cache.counts[side], i, level.key, level.size)
            if old != NULL:
                level.len = old.len
                memcpy(level.text, old.text, old.len)
            else:
                status = level_text_c(f, side, level.key, level.size, book.price_decimals,
                                      book.size_decimals, level, &text, False)
                if status != STATUS_OK:
                    # the current generation stays as it was; the uncached kernel names the
                    # first number that does not render in the text's own order
                    return book_crc32_c(book, form, crc, out)
            counts[side] += 1
            level += 1
    cache.generation = fresh
    cache.counts[0], cache.counts[1] = counts[0], counts[1]
    # the text in the form's order, hashed
    hash_sink(out, chunk)
    if f.interleave:
        for i in range(max(counts[0], counts[1])):
            for side in range(2):
                if i < counts[side]:
                    put_text(out, f, slots_of(cache, fresh, side) + i)
    else:
        for side in range(1, -1, -1):   # asks, then bids
            level = slots_of(cache, fresh, side)
            for i in range(counts[side]):
                put_text(out, f, level + i)
    crc[0] = sink_crc(out, form)
    return STATUS_OK



# -- CRC-32 by parts: the per-book top cache ---------------------------------------------------

# CRC-32 (zlib's: reflected, polynomial 0xEDB88320, inverted in and out) eight bytes a step:
# the cache hashes the text of a level at a time, where a call into zlib costs more than the
# bytes. The tests pin it to zlib.crc32.
cdef extern from *:
    """
    static uint32_t arb_crc_table[8][256];

    static void arb_crc_init(void) {
        uint32_t c;
        int i, k;
        for (i = 0; i < 256; i++) {
            c = (uint32_t)i;
            for (k = 0; k < 8; k++)
                c = (c & 1) ? (c >> 1) ^ 0xEDB88320U : c >> 1;
            arb_crc_table[0][i] = c;
        }
        for (i = 0; i < 256; i++)
            for (k = 1; k < 8; k++)
                arb_crc_table[k][i] = (arb_crc_table[k - 1][i] >> 8)
                                      ^ arb_crc_table[0][arb_crc_table[k - 1][i] & 0xFF];
    }

    static inline uint32_t arb_crc_update(uint32_t crc, const char* p, Py_ssize_t n) {
        uint64_t w;
        uint32_t c = ~crc;
        while (n >= 8) {
            memcpy(&w, p, 8);
            w ^= c;
            c = arb_crc_table[7][w & 0xFF] ^ arb_crc_table[6][(w >> 8) & 0xFF]
                ^ arb_crc_table[5][(w >> 16) & 0xFF] ^ arb_crc_table[4][(w >> 24) & 0xFF]
                ^ arb_crc_table[3][(w >> 32) & 0xFF] ^ arb_crc_table[2][(w >> 40) & 0xFF]
                ^ arb_crc_table[1][(w >> 48) & 0xFF] ^ arb_crc_table[0][w >> 56];
            p += 8;
            n -= 8;
        }
        while (n-- > 0)
            c = arb_crc_table[0][(c ^ (unsigned char)*p++) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    /* the register that one byte `b` takes to `c`: a byte step is c' = T[(c ^ b) & 0xFF] ^
       (c >> 8), and the table's top bytes are all different, so c' names the entry */
    static uint32_t arb_crc_unstep(uint32_t c, unsigned char b) {
        int i;
        for (i = 0; i < 256; i++)
            if ((arb_crc_table[0][i] >> 24) == (c >> 24))
                return ((c ^ arb_crc_table[0][i]) << 8) | (uint32_t)(i ^ b);
        return 0;   /* unreachable */
    }
    """
    void crc_init "arb_crc_init"() noexcept nogil
    uint32_t crc_update "arb_crc_update"(uint32_t crc, const char* p, Py_ssize_t n) noexcept nogil
    uint32_t crc_unstep "arb_crc_unstep"(uint32_t c, unsigned char b) noexcept nogil


# CRC-32 is linear: appending a text of n bytes to a register c gives shift(c, n) ^ raw(text),
# where shift(c, n) is c followed by n zero bytes and raw(text) the register of the text alone
# from zero. The cache keeps each level's raw CRC, so re-chaining the levels after a changed one
# costs four table look-ups a level (a table per length) instead of hashing their text again.
cdef extern from *:
    """
    #define ARB_SHIFT_MAX 64
    static uint32_t arb_shift_table[ARB_SHIFT_MAX + 1][4][256];

    static void arb_shift_init(void) {   /* after arb_crc_init */
        int n, j, b;
        uint32_t x;
        for (j = 0; j < 4; j++)
            for (b = 0; b < 256; b++)
                arb_shift_table[0][j][b] = (uint32_t)b << (8 * j);
        for (n = 1; n <= ARB_SHIFT_MAX; n++)
            for (j = 0; j < 4; j++)
                for (b = 0; b < 256; b++) {
                    x = arb_shift_table[n - 1][j][b];
                    arb_shift_table[n][j][b] = arb_crc_table[0][x & 0xFF] ^ (x >> 8);
                }
    }

    /* the register c (not inverted) followed by `text`: by its raw CRC when the text's length
       has a shift table, else by hashing the text */
    static inline uint32_t arb_crc_append(uint32_t c, uint32_t raw, const char* text,
                                          Py_ssize_t n) {
        const uint32_t (*t)[256];
        if (n > ARB_SHIFT_MAX)
            return ~arb_crc_update(~c, text, n);
        t = arb_shift_table[n];
        return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF]
               ^ t[3][c >> 24] ^ raw;
    }
    """
    void shift_init "arb_shift_init"() noexcept nogil
    uint32_t crc_append "arb_crc_append"(uint32_t c, uint32_t raw, const char* text,
                                         Py_ssize_t n) noexcept nogil

crc_init()
shift_init()


cdef inline uint32_t crc_raw(const char* p, Py_ssize_t n) noexcept nogil:
    """The CRC register of ``p[:n]`` alone, from zero (no inversion in or out)."""
    return ~crc_update(0xFFFFFFFFU, p, n)


def crc32(bytes data not None, uint32_t crc=0):
    """zlib.crc32 of ``data`` continuing from ``crc``, by the cache's own CRC (for the tests)."""
    return crc_update(crc, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


def crc32_append(bytes data not None, uint32_t crc=0):
    """zlib.crc32 of ``data`` continuing from ``crc`` as the cache chains a level's text: the
    register shifted by the text's length, then its raw CRC (for the tests)."""
    cdef const char* p = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    return ~crc_append(~crc, crc_raw(p, n), p, n) & 0xFFFFFFFFU


def crc32_unstep(uint32_t crc, unsigned char byte):
    """The register (zlib's value, inverted) from which ``byte`` gives ``crc``: zlib.crc32 of
    ``bytes([byte])`` continuing from it is ``crc`` (for the tests)."""
    return ~crc_unstep(~crc, byte) & 0xFFFFFFFFU


# A level's text in the "digits" form without separator (Kraken's: digits at the wire's places,
# no point, no leading zeros; the price's, then the size's) for the common numbers: a positive
# value whose digits and the zeros that scale it to the places fit 19 digits is its own digits
# followed by those zeros, exactly what put_number writes for it (its integer path: no u64
# overflow below 10**19).
cdef extern from *:
    """
    /* x < 10**8 as eight ASCII digits (leading zeros), first digit in the lowest byte: split
       into 4 + 4 digits, each half into 2 + 2 (x * 10486 >> 20 is x / 100 below 10**4), each
       pair into 1 + 1 (x * 103 >> 10 is x / 10 below 100), every lane in one multiply */
    static inline uint64_t arb_ascii8(uint64_t x) {
        uint64_t w = (x / 10000) | ((x % 10000) << 32), hi;
        hi = ((w * 10486) >> 20) & 0x0000007F0000007FULL;
        w = hi | ((w - hi * 100) << 16);
        hi = ((w * 103) >> 10) & 0x000F000F000F000FULL;
        w = hi | ((w - hi * 10) << 8);
        return w + 0x3030303030303030ULL;
    }

    /* v > 0 in decimal, then `zeros` '0's, at out (which has room for 19 + 24 bytes past it):
       the length, or -1 when that is more than 19 digits or v is 10**16 or more */
    static inline int arb_put_scaled(char* out, uint64_t v, int zeros) {
        uint64_t words[2];
        int count = 1;
        const uint64_t z = 0x3030303030303030ULL;
        if (v >= 10000000000000000ULL)
            return -1;
        while (count < 16 && v >= ARB_POW10_U64[count])
            count++;
        if (count + zeros > 19)
            return -1;
        words[0] = arb_ascii8(v / 100000000);
        words[1] = arb_ascii8(v % 100000000);
        memcpy(out, (const char*)words + 16 - count, (size_t)count);
        memcpy(out + count, &z, 8);
        memcpy(out + count + 8, &z, 8);
        memcpy(out + count + 16, &z, 8);
        return count + zeros;
    }

    /* v at `decimals` places (0-8) in the trimmed style at out (room for 17 bytes): the whole
       part, then, when the fraction is not zero, '.' and its digits without trailing zeros.
       Each part is eight ASCII digits in one word, first digit in the lowest byte: the whole
       part's leading zeros shifted out, the fraction scaled to eight digits (the last byte that
       is not '0' ends it). The length, or -1 when the whole part has more than eight digits. */
    static inline int arb_put_trimmed(char* out, uint64_t v, int decimals) {
        uint64_t whole = v / ARB_POW10_U64[decimals], fraction, w;
        int count, guess;
        if (whole >= 100000000ULL)
            return -1;
        guess = ((64 - __builtin_clzll(whole | 1)) * 1233) >> 12;   /* digits, or one less */
        count = guess + ((whole | 1) >= ARB_POW10_U64[guess]);      /* 0 has one digit */
        w = arb_ascii8(whole) >> (8 * (8 - count));
        memcpy(out, &w, 8);
        fraction = v - whole * ARB_POW10_U64[decimals];
        if (fraction == 0)
            return count;
        w = arb_ascii8(fraction * ARB_POW10_U64[8 - decimals]);
        out[count] = '.';
        memcpy(out + count + 1, &w, 8);
        return count + 1 + 8 - (__builtin_clzll(w ^ 0x3030303030303030ULL) >> 3);
    }
    """
    int put_scaled "arb_put_scaled"(char* out, uint64_t v, int zeros) noexcept nogil
    int put_trimmed "arb_put_trimmed"(char* out, uint64_t v, int decimals) noexcept nogil


cdef inline int number_zeros(int decimals, int places) noexcept nogil:
    """Zeros that scale a value at ``decimals`` to the form's ``places`` (-1: the book's), or
    -1 when the fast text does not apply (fewer places: a division, and maybe an error)."""
    if places < 0:
        places = decimals
    if decimals < 0 or places > MAX_DECIMALS or places < decimals:
        return -1
    return places - decimals


cdef inline bint trimmed_fast(int decimals, int places) noexcept nogil:
    """put_trimmed writes a number at ``decimals`` as put_number does at ``places`` (-1: the
    book's): at most eight decimals, and no fewer places (fewer: a division, maybe an error;
    more: trimmed to the same text)."""
    return 0 <= decimals <= 8 and (places < 0 or places >= decimals)


cdef inline int trimmed_text(const ChecksumForm* f, int side, int64_t price, int64_t size,
                             int price_decimals, int size_decimals, char* out) noexcept nogil:
    """The trimmed form's unit of a level (the separator, when the form has one, then the
    level's text) at ``out`` by put_trimmed: its length, or -1 when a number is out of range."""
    cdef int n = 0, m
    if f.separator != 0:
        out[n] = f.separator
        n += 1
    m = put_trimmed(out + n, <uint64_t>price, price_decimals)
    if m < 0:
        return -1
    n += m
    if f.separator != 0:
        out[n] = f.separator
        n += 1
    if side == 1 and f.negate_ask_sizes:
        out[n] = c'-'
        n += 1
    m = put_trimmed(out + n, <uint64_t>size, size_decimals)
    return -1 if m < 0 else n + m


cdef inline int scaled_text(int64_t price, int64_t size, int zp, int zs, char* out) noexcept nogil:
    """The digits form's text of a level (no separator) at ``out`` by put_scaled: its length,
    or -1 when a number is out of range."""
    cdef int n = put_scaled(out, <uint64_t>price, zp), m
    if n < 0:
        return -1
    m = put_scaled(out + n, <uint64_t>size, zs)
    return -1 if m < 0 else n + m


cdef inline int top_level_text(const ChecksumForm* f, int side, int64_t key, int64_t size,
                               int price_decimals, int size_decimals,
                               LevelText* level) noexcept nogil:
    """A level's unit of the text as the cache chains it: the separator (when the form has
    one) and the level's text. Common numbers are written here (the trimmed form by
    put_trimmed, the digits form without separator by put_scaled); anything else, and every
    error, goes through the shared renderer."""
    cdef int64_t price = key_to_price(side, key)
    cdef int zp, zs, n = -1
    cdef Out out
    if f.number == NUMBER_TRIMMED:
        if (price >= 0 and size >= 0 and trimmed_fast(price_decimals, f.price_places)
                and trimmed_fast(size_decimals, f.size_places)):
            n = trimmed_text(f, side, price, size, price_decimals, size_decimals, level.text)
    elif f.separator == 0 and not f.negate_ask_sizes and price > 0 and size > 0:
        zp = number_zeros(price_decimals, f.price_places)
        zs = number_zeros(size_decimals, f.size_places)
        if zp >= 0 and zs >= 0:
            n = scaled_text(price, size, zp, zs, level.text)
    if n >= 0:
        level.key = key
        level.size = size
        level.len = n
        return STATUS_OK
    return level_text_c(f, side, key, size, price_decimals, size_decimals, level, &out,
                        f.separator != 0)


cdef enum:
    UNCHANGED = 1 << 20     # refresh_side: no kept level (nor the count) changed


cdef class TopCache:
    """One book's top levels as of its last checksum here (see checksum.pxd): their keys,
    sizes and text, each text's raw CRC, and the CRC register before each position of the
    text. An update that leaves a side's top levels as they were (most of a deep book's
    updates land below them) costs no walk of that side and no hashing; one that changes a
    side renders only the levels that changed and re-chains from the first of them.

    The cache knows the book only through the levels it is told were applied: it is trusted
    only while it is of this book and the book's snapshot count and per-side update counts are
    exactly what those updates made them (anything else that touched the book, a snapshot, a
    delta applied in Python, starts it afresh), and a side it skips must still hold its best
    level and enough levels."""

    def crc32(self, L2Book book not None, TextForm form not None, LevelBuffer levels=None):
        """:func:`book_crc32` of ``book`` through this cache; ``levels``: the levels applied to
        the book since this cache's last checksum, None when not known (a fresh walk)."""
        cdef int64_t crc = 0
        if form.form.depth > TOP_LEVELS:
            raise ValueError(f"a TopCache keeps at most {TOP_LEVELS} levels a side")
        if top_crc32_c(self, book, form, levels, &crc) != STATUS_OK:
            return book_crc32(book, form)             # raises the renderer's error
        return crc


cdef inline uint64_t count_asks(LevelBuffer levels) noexcept:
    """Asks in ``levels`` (each applied level counts one update of its side; the rest are
    bids)."""
    cdef Py_ssize_t i
    cdef uint64_t count = 0
    for i in range(levels.count):
        count += levels.sides[i] == 1
    return count


cdef inline bint side_kept(TopCache cache, L2Book book, int side, Py_ssize_t depth,
                           LevelBuffer levels) noexcept:
    """The cached top of ``side`` is still the book's: the cache holds ``depth`` levels and
    every level of this update on that side is below the last of them (so no level it keeps
    changed, and none moved in above it)."""
    cdef const TopSide* top = &cache.sides[side]
    cdef const Side* s = &book.sides[side]
    cdef int64_t floor, key
    cdef Py_ssize_t i
    if top.count != depth or depth == 0 or side_level_count(s) < depth:
        return False
    if s.best != top.slots[top.order[0]].key:
        return False
    floor = top.slots[top.order[depth - 1]].key
    for i in range(levels.count):
        if levels.sides[i] == side:
            key = -levels.prices[i] if side else levels.prices[i]
            if key >= floor:
                return False
    return True


cdef inline bint same_level(const LevelText* level, int64_t key, int64_t size) noexcept nogil:
    return level.key == key and level.size == size


cdef Py_ssize_t refresh_side(TopCache cache, L2Book book, int side, TextForm form) noexcept:
    """Walk ``side``'s best levels into the cache: the index of the first level whose text
    changed or that came or went (UNCHANGED when none did), or -1 when a number does not
    render (the cache is then unusable; the caller drops it). A level kept with its size
    keeps its text wherever levels came or went above it (both walks run best first, so the
    old levels are merged in as the new ones come): only its slot moves in ``order``; a new
    text goes to a slot no old level uses (there are twice as many slots as levels)."""
    cdef TopSide* top = &cache.sides[side]
    cdef Walker walker
    cdef Py_ssize_t i = 0, first = -1, j = 0, count = top.count
    cdef Py_ssize_t depth = form.form.depth
    cdef int64_t key, size
    cdef int slot
    cdef uint64_t used = 0
    cdef unsigned char old[TOP_LEVELS]
    walker_init(&walker, &book.sides[side])
    while i < depth and walker_next(&walker, &key, &size):
        if first < 0:
            if i < count and same_level(&top.slots[top.order[i]], key, size):
                i += 1
                continue
            first = j = i                             # from here on the text is new
            for slot in range(count):
                old[slot] = top.order[slot]
                used |= (<uint64_t>1) << old[slot]
        while j < count and top.slots[old[j]].key > key:
            j += 1                                    # an old level above this one: gone
        if j < count and same_level(&top.slots[old[j]], key, size):
            slot = old[j]
            j += 1
        else:
            slot = ctz64(~used)
            if top_level_text(&form.form, side, key, size, book.price_decimals,
                              book.size_decimals, &top.slots[slot]) != STATUS_OK:
                return -1
            top.raws[slot] = crc_raw(top.slots[slot].text, top.slots[slot].len)
        used |= (<uint64_t>1) << slot
        top.order[i] = slot
        i += 1
    top.count = i
    if first >= 0:
        return first
    return UNCHANGED if i == count else i             # i < count: levels left the top


cdef inline int new_text(TopSide* top, const ChecksumForm* f, int side, int64_t key,
                         int64_t size, L2Book book, int slot) noexcept:
    """A level's text and raw CRC into ``slot``: STATUS_OK, or the status of a number that
    does not render."""
    if top_level_text(f, side, key, size, book.price_decimals, book.size_decimals,
                      &top.slots[slot]) != STATUS_OK:
        return -1
    top.raws[slot] = crc_raw(top.slots[slot].text, top.slots[slot].len)
    return STATUS_OK


cdef Py_ssize_t update_side(TopCache cache, L2Book book, int side, TextForm form,
                           LevelBuffer levels) noexcept:
    """:func:`refresh_side` from the update's own levels, without walking the side: the kept
    top is the book's before them (the caller checked the counters), so each level of this
    side is put where the book put it (a size changed, a level removed, one inserted above
    the last kept, the last dropped when the top is full). Only where levels left a full top
    is the book walked, from below the last kept level, for the ones that take their place.
    The same result as refresh_side: the first changed position, UNCHANGED, or -1 (a number
    does not render); -2 when the levels cannot say (the side was truncated past the kept
    top, or the refill would start below the book's window): the kept top is then emptied
    (its texts may have changed in place) and the caller walks the side afresh."""
    cdef TopSide* top = &cache.sides[side]
    cdef const Side* s = &book.sides[side]
    cdef const ChecksumForm* f = &form.form
    cdef Py_ssize_t depth = f.depth, count = top.count, first = UNCHANGED, i, p
    cdef Py_ssize_t kept = top.count
    cdef int64_t key, size
    cdef int slot
    cdef uint64_t used = 0
    cdef bint whole = count < depth           # the kept levels are all the side's levels
    cdef Walker walker
    for i in range(count):
        used |= (<uint64_t>1) << top.order[i]
    for i in range(levels.count):
        if levels.sides[i] != side:
            continue
        key = -levels.prices[i] if side else levels.prices[i]
        size = levels.sizes[i]
        if count == depth and count and key < top.slots[top.order[count - 1]].key:
            if size:
                whole = False                         # below a full kept top
            continue
        p = 0
        while p < count and top.slots[top.order[p]].key > key:
            p += 1
        if p < count and top.slots[top.order[p]].key == key:
            slot = top.order[p]
            if size == 0:                             # removed
                used &= ~((<uint64_t>1) << slot)
                memmove(&top.order[p], &top.order[p + 1], count - p - 1)
                count -= 1
            elif top.slots[slot].size != size:        # a new size: a new text in its place
                if new_text(top, f, side, key, size, book, slot) != STATUS_OK:
                    return -1
            else:
                continue
        elif size == 0:
            continue                                  # absent
        elif p == count and (count == depth or not whole):
            whole = False                             # below the kept top
            continue
        else:                                         # inserted at p
            if count == depth:
                used &= ~((<uint64_t>1) << top.order[count - 1])
                count -= 1
                whole = False
            slot = ctz64(~used)
            if new_text(top, f, side, key, size, book, slot) != STATUS_OK:
                return -1
            used |= (<uint64_t>1) << slot
            memmove(&top.order[p + 1], &top.order[p], count - p)
            top.order[p] = slot
            count += 1
        if p < first:
            first = p
    if count < depth and not whole:
        # levels left a full top: the next ones lie below the last kept level
        if count == 0:
            walker_init(&walker, s)
        elif not walker_below(&walker, s, top.slots[top.order[count - 1]].key):
            top.count = 0                             # the caller renders the side afresh
            return -2
        if count < first:
            first = count
        while count < depth and walker_next(&walker, &key, &size):
            slot = ctz64(~used)
            if new_text(top, f, side, key, size, book, slot) != STATUS_OK:
                return -1
            used |= (<uint64_t>1) << slot
            top.order[count] = slot
            count += 1
    if count != min(depth, side_level_count(s)):
        top.count = 0                                 # truncated past the kept top: the
        return -2                                     # caller renders the side afresh
    top.count = count
    if first == UNCHANGED and count != kept:
        first = min(count, kept)
    return first


cdef inline bint walker_below(Walker* it, const Side* s, int64_t key) noexcept nogil:
    """``it`` on ``s`` from the level after ``key`` (a level of the side) outward; False when
    ``key`` is not found there."""
    cdef Py_ssize_t k
    walker_init(it, s)
    if it.in_window and s.width != 0 and key >= s.lo:
        it.next_key = key - 1                         # in the window: scan on below it
        return True
    it.in_window = False                              # in the overflow (ascending, best last)
    k = it.ov_index
    while k >= s.ov_start and s.ov_keys[k] > key:
        k -= 1
    if k < s.ov_start or s.ov_keys[k] != key:
        return False
    it.ov_index = k - 1
    return True


cdef int top_crc32_c(TopCache cache, L2Book book, TextForm form, LevelBuffer levels,
                     int64_t* crc) noexcept:
    """The text is a row of positions, each one level's place or empty: interleaved, bid i at
    2i and ask i at 2i + 1; else ask i at i and bid i at depth + i. ``before[p]`` is the CRC
    register of the text before position p, so a checksum re-chains from the first position
    whose level changed, came or went (a change at bid i: from 2i). Every level's unit carries
    the separator before it; the text starts from the register the separator takes to zlib's
    initial one, so the first unit's separator cancels out."""
    cdef Py_ssize_t first[2]
    cdef Py_ssize_t i, p, k, end, depth = form.form.depth
    cdef bint interleave = form.form.interleave
    cdef int side, slot
    cdef bint fresh
    cdef TopSide* top
    cdef uint32_t c
    cdef uint64_t asks
    cdef int64_t value
    fresh = (cache.form is not form or cache.book is not book
             or cache.price_decimals != book.price_decimals
             or cache.size_decimals != book.size_decimals or cache.snapshots != book.snapshots
             or levels is None)
    if not fresh:
        asks = count_asks(levels)
        fresh = (cache.updates[1] + asks != book.sides[1].updates
                 or cache.updates[0] + (<uint64_t>levels.count - asks) != book.sides[0].updates)
    if fresh:
        cache.form = form
        cache.book = book
        cache.price_decimals = book.price_decimals
        cache.size_decimals = book.size_decimals
        cache.sides[0].count = cache.sides[1].count = 0
        cache.end = 0
        cache.before[0] = 0xFFFFFFFFU                 # zlib's initial register
        if form.form.separator != 0:
            cache.before[0] = crc_unstep(0xFFFFFFFFU, <unsigned char>form.form.separator)
    for side in range(2):
        if not fresh and side_kept(cache, book, side, depth, levels):
            first[side] = UNCHANGED
        else:
            # a side held in the window: its walk scans bitmap words, so the kept top is
            # updated from the levels; a flat (overflow) side is walked, which costs less there
            first[side] = (-2 if fresh or book.sides[side].win_count == 0
                           else update_side(cache, book, side, form, levels))
            if first[side] == -2:
                first[side] = refresh_side(cache, book, side, form)
            if first[side] < 0:
                cache.form = None
                return -1
    if fresh:
        first[0] = first[1] = 0
    if interleave:
        k = min(2 * first[0], 2 * first[1] + 1)
        end = 2 * max(cache.sides[0].count, cache.sides[1].count)
    else:
        k = min(first[1], depth + first[0])
        end = depth + cache.sides[0].count
    # chain from the first changed position on: the positions before it kept their levels
    # (past either end they are empty, before and now), so before[] holds up to there
    p = min(k, cache.end, end)
    c = cache.before[p]
    if interleave:
        while p < end:
            top = &cache.sides[p & 1]
            i = p >> 1
            if i < top.count:
                slot = top.order[i]
                c = crc_append(c, top.raws[slot], top.slots[slot].text, top.slots[slot].len)
            p += 1
            cache.before[p] = c
    else:
        if p < depth:
            top = &cache.sides[1]                     # asks, then empty places up to depth
            while p < top.count:
                slot = top.order[p]
                c = crc_append(c, top.raws[slot], top.slots[slot].text, top.slots[slot].len)
                p += 1
                cache.before[p] = c
            while p < depth:
                p += 1
                cache.before[p] = c
        top = &cache.sides[0]                         # bids (every place up to end is one)
        while p < end:
            slot = top.order[p - depth]
            c = crc_append(c, top.raws[slot], top.slots[slot].text, top.slots[slot].len)
            p += 1
            cache.before[p] = c
    cache.end = end
    cache.snapshots = book.snapshots
    cache.updates[0] = book.sides[0].updates
    cache.updates[1] = book.sides[1].updates
    if cache.sides[0].count == 0 and cache.sides[1].count == 0:
        crc[0] = 0                                    # the empty text
        return STATUS_OK
    value = <int64_t>(<uint32_t>~c)
    if form.signed and value >= (<int64_t>1 << 31):
        value -= (<int64_t>1 << 32)
    crc[0] = value
    return STATUS_OK


cdef bint top_checksum_matches(dict tops, object key, L2Book book, TextForm form,
                               int64_t expected, LevelBuffer levels) noexcept:
    cdef int64_t crc = 0
    cached = tops.get(key)
    if cached is None:
        cached = tops[key] = TopCache()
    if top_crc32_c(<TopCache>cached, book, form, levels, &crc) != STATUS_OK:
        return False
    return crc == expected
