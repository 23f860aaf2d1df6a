"""Venue book checksums: the book's top levels rendered as the venue's text and CRC32'd, in C.

Kraken, OKX and Bitfinex check a book by a CRC32 over their own text of its top levels. Built in
Python (arrays -> ints -> str per number -> join -> encode) that costs tens of microseconds per
update, more than parsing and applying the update; it ran on every update. Here one call walks
both sides with the book's C walkers, renders each number with ``format_decimal_c`` into a stack
buffer and feeds zlib's ``crc32`` as the buffer fills: no Python object per level, no GIL.

What differs between venues is data, a :class:`TextForm`: depth, order (interleaved bid/ask or
asks then bids), separator, number style, the wire's decimal places, a '-' on ask sizes. The
plain-Python twin is ``arbcore_ext.reference.checksum``.
"""

from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from libc.stdlib cimport calloc, malloc, free

from arbcore_ext._types cimport STATUS_OK, STATUS_PRECISION
from arbcore_ext.book cimport (L2Book, Side, Walker, clz64, key_to_price, walker_init,
                              walker_next)
from arbcore_ext.fixedpoint cimport FORMAT_BUFFER_SIZE, MAX_DECIMALS, format_decimal_c

from arbcore_ext.errors import DecimalFormatError

cdef extern from "zlib.h":
    unsigned long crc32(unsigned long crc, const unsigned char* buf, unsigned int len) nogil

cdef enum:
    HASH_CHUNK = 2048        # stack buffer of the hashing sink
    NUMBER_ROOM = FORMAT_BUFFER_SIZE + 2   # separator + '-' + the widest number
    MAX_DEPTH = 100000       # bounds book_text's allocation; venues hash 10 or 25

_STYLES = {"digits": NUMBER_DIGITS, "trimmed": NUMBER_TRIMMED}


cdef inline void out_make_room(Out* o) noexcept nogil:
    # the text sink is sized for the whole text up front; only the hashing sink flushes
    if o.hashing and o.cap - o.len < NUMBER_ROOM:
        o.crc = crc32(o.crc, <const unsigned char*>o.buf, <unsigned int>o.len)
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
        out.crc = crc32(out.crc, <const unsigned char*>out.buf, <unsigned int>out.len)
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
                      Out* out) noexcept nogil:
    """One level's text alone (no separator before it) into ``level`` (key and size too):
    STATUS_OK, or the status of the number that does not fit (``out.bad_*`` say which)."""
    cdef int status
    out.buf = level.text
    out.cap = LEVEL_ROOM
    out.len = 0
    out.hashing = False
    out.started = False
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
        out.crc = crc32(out.crc, <const unsigned char*>out.buf, <unsigned int>out.len)
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
                                      book.size_decimals, level, &text)
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
