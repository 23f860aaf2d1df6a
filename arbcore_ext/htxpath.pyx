"""HTX market frames in one call: gunzip, read the book message, apply it.

Every HTX market frame is gzip-compressed JSON, and the book channel a feed sees most
(``market.<sym>.depth.step0``) sends the whole book each time: a few KB of ``[price,size]``
JSON numbers, some in exponent form (``2.75E-5``, ``1.26936964043E7``). Gunzipping into a new
bytes object, scanning it from Python and loading the snapshot through a BookEvent cost most of
a message's time. :class:`HTXPath` inflates into a buffer it reuses (zlib), reads the message in
the strict shape HTX sends, and applies it to the book in C:

- ``depth.step0`` snapshots replace the book (as ``BookSync`` does on a snapshot event) when
  the book is attached and in sync and the snapshot is not older than the newest one seen on
  the connection (``newest``, the feed's own dict, so both paths keep one record);
- ``mbp.<levels>`` deltas go through the DeltaPath machinery (the compiled PrevRule).

Both follow the DeltaPath protocol: ``read`` says SCANNED only for what ``apply_read`` will
take (so DeltaPath.apply and the replay's compiled loop need nothing HTX-specific); ``scan``
and ``parse_delta_into`` see deltas only.

Numbers are read exactly: a price must be exact at the instrument's scale; a size finer than
its scale is rounded half-even on its decimal value (the validating path's rule), all in
integers. Anything else (another shape, a sign, more than 19 significant digits, a book that
waits for its snapshot, a stale snapshot, acks, trades, pings) is DECLINED: the feed's
``parse_ws`` reads it, taking the text from :meth:`HTXPath.text_of` (no second gunzip) and a
snapshot's levels from :meth:`HTXPath.snapshot_of`.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport INT64_MAX, int8_t, int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memchr, memcmp, memset

from arbcore_ext._levels cimport level_array_c
from arbcore_ext._match cimport POW10, expect
from arbcore_ext._types cimport STATUS_OK
from arbcore_ext.book cimport KEY_NONE, L2Book, LevelBuffer
from arbcore_ext.deltapath cimport DeltaPath, Route, SyncCore
from arbcore_ext.jsonscan cimport int_value_c

from arbcore_ext.deltapath import APPLIED, CROSSED, DECLINED, DEFER

cdef extern from "zlib.h":
    ctypedef struct z_stream:
        unsigned char* next_in
        unsigned int avail_in
        unsigned char* next_out
        unsigned int avail_out
    int Z_STREAM_END
    int Z_BUF_ERROR
    int Z_FINISH
    int Z_OK
    int MAX_WBITS
    int inflateInit2(z_stream* strm, int window_bits) nogil
    int inflate(z_stream* strm, int flush) nogil
    int inflateReset(z_stream* strm) nogil
    int inflateEnd(z_stream* strm) nogil

cdef int ST_APPLIED = APPLIED
cdef int ST_CROSSED = CROSSED
cdef int ST_DECLINED = DECLINED
cdef int ST_DEFER = DEFER

# What the last read found
cdef enum:
    READ_NONE = 0       # not a book message in the strict shape (or not valid gzip)
    READ_DELTA = 1      # an mbp delta: levels, sequence and route in the path
    READ_SNAPSHOT = 2   # a depth.step0 snapshot: levels (bids first), version, its route

cdef enum:
    FIRST_TEXT_CAPACITY = 1 << 16
    MAX_TEXT = 1 << 26  # a larger message is not inflated here (parse_ws reads it)
    MAX_EXPONENT = 400

cdef const char* HEAD = b'{"ch":"market.'
cdef const char* STEP0 = b'depth.step0"'
cdef const char* MBP = b'mbp.'


cdef inline bint is_digit(char c) noexcept nogil:
    return <unsigned int>(<unsigned char>c - 48) <= 9


cdef inline int long_mantissa(const char* s, Py_ssize_t i, Py_ssize_t int_end,
                              Py_ssize_t frac_start, Py_ssize_t frac_end, uint64_t* m,
                              int* scale) noexcept nogil:
    """More than 19 digits: the value as ``m * 10**scale`` when only zeros follow its first
    19 significant digits, else -1."""
    cdef Py_ssize_t j
    cdef unsigned int digit
    m[0] = 0
    scale[0] = 0
    for j in range(i, frac_end):
        if j == int_end:
            continue                                 # the point
        digit = <unsigned char>s[j] - 48
        if m[0] < POW10[18]:
            m[0] = m[0] * 10 + digit
            if j >= frac_start:
                scale[0] -= 1
        elif digit:
            return -1
        elif j < int_end:
            scale[0] += 1
    return 0


cdef inline Py_ssize_t number_c(const char* s, Py_ssize_t i, Py_ssize_t n, int decimals,
                                bint rounding, int64_t* out) noexcept nogil:
    """The non-negative JSON number at i as an int64 at ``decimals`` places; the offset after
    it, or -1. The text must end with a NUL (bytes objects and the inflate buffer do).

    Exact when the value has no digit past the scale; else, with ``rounding``, rounded half-even
    (exactly ``Decimal.quantize(ROUND_HALF_EVEN)``), without, -1. Also -1 for a sign, a number
    that is not JSON, more than 19 significant digits, an exponent beyond 400 or a result int64
    does not hold: the validating path decides those.
    """
    cdef uint64_t m = 0, p, q, r
    cdef int scale, exponent = 0, k
    cdef bint negative_exponent
    cdef unsigned int digit
    cdef Py_ssize_t int_end, frac_start, frac_end, j = i
    if i >= n:
        return -1
    if s[j] == 48:                                   # '0' takes no more digits
        j += 1
    else:
        while True:                                  # the text's NUL ends every run
            digit = <unsigned char>s[j] - 48
            if digit > 9:
                break
            m = m * 10 + digit                       # wraps past 19 digits: redone below
            j += 1
        if j == i:
            return -1
    int_end = frac_start = frac_end = j
    if s[j] == 46:                                   # '.'
        j += 1
        frac_start = j
        while True:
            digit = <unsigned char>s[j] - 48
            if digit > 9:
                break
            m = m * 10 + digit
            j += 1
        if j == frac_start:
            return -1
        frac_end = j
    if (int_end - i) + (frac_end - frac_start) <= 19:   # the usual number: m < 10**19
        scale = <int>(frac_start - frac_end)
    elif long_mantissa(s, i, int_end, frac_start, frac_end, &m, &scale) < 0:
        return -1
    i = frac_end
    if s[i] == 101 or s[i] == 69:                    # 'e' / 'E'
        i += 1
        negative_exponent = s[i] == 45
        if s[i] == 43 or s[i] == 45:                 # '+' / '-'
            i += 1
        j = i
        while is_digit(s[i]):
            exponent = exponent * 10 + (<unsigned char>s[i] - 48)
            if exponent > MAX_EXPONENT:
                return -1
            i += 1
        if i == j:
            return -1
        scale += -exponent if negative_exponent else exponent
    if i > n:
        return -1
    if m == 0:
        out[0] = 0
        return i
    k = scale + decimals
    if k >= 0:
        if k > 18 or m > <uint64_t>INT64_MAX / POW10[k]:
            return -1
        out[0] = <int64_t>(m * POW10[k])
        return i
    if k < -19:                                      # m < 10**19 <= half of 10**-k: rounds to 0
        if not rounding:
            return -1
        out[0] = 0
        return i
    p = POW10[-k]
    q = m // p
    r = m % p
    if r:
        if not rounding:
            return -1                                # a non-zero digit past the scale
        if r > p - r or (r == p - r and q & 1):
            q += 1
    if q > <uint64_t>INT64_MAX:
        return -1
    out[0] = <int64_t>q
    return i


cdef inline Py_ssize_t levels_c(const char* s, Py_ssize_t i, Py_ssize_t n, int side,
                                int price_decimals, int size_decimals,
                                LevelBuffer out) except -2:
    """The compact level array at i (``[[p,q],...]``, bare numbers, no whitespace) appended to
    ``out``; the offset after it, or -1. Prices exact, sizes rounded half-even (number_c)."""
    return level_array_c(s, i, n, <int8_t>side, price_decimals, size_decimals, number_c, False,
                         True, 0, out)


cdef inline bint crossed(L2Book book) noexcept:
    cdef int64_t bid = book.sides[0].best, ask = book.sides[1].best
    return bid != KEY_NONE and ask != KEY_NONE and bid >= -ask


cdef class HTXPath(DeltaPath):
    """HTX book frames (gzip), read and applied in one call (see the module docstring).

    ``routes`` are keyed by the lowercase native symbol, the form HTX's channels carry (a frame
    with another case is declined; the feed's SymbolMap reads it). ``newest`` maps
    ``(connection, symbol)`` to the newest snapshot version seen there; the path reads and
    writes it exactly as the feed's parse_ws does.
    """

    cdef z_stream stream
    cdef bint stream_ready
    cdef char* buffer
    cdef Py_ssize_t capacity
    cdef object text_frame          # the frame whose text is at text (None: none)
    cdef const char* text           # NUL-terminated (bytes objects are)
    cdef Py_ssize_t text_length     # -1: the frame is not gzip this inflater reads
    cdef object text_bytes          # the text as bytes, made on demand
    cdef dict newest
    cdef int kind
    cdef Route snapshot_route
    cdef Py_ssize_t bid_count
    cdef int64_t version
    cdef int64_t ts_ms

    def __cinit__(self, *args, **kwargs):
        memset(&self.stream, 0, sizeof(z_stream))
        if inflateInit2(&self.stream, 16 + MAX_WBITS) != Z_OK:
            raise MemoryError("HTXPath: zlib could not start")
        self.stream_ready = True

    def __dealloc__(self):
        if self.stream_ready:
            inflateEnd(&self.stream)
        free(self.buffer)

    def __init__(self, routes, dict newest not None, Py_ssize_t capacity=512):
        self.newest = newest
        self.text_frame = None
        self._init_routes(routes, capacity)

    cdef int inflate_into_buffer(self, const char* data, Py_ssize_t size) noexcept:
        """Gunzip into the reused buffer; 0, or -1 when this is not a gzip member zlib reads
        (or it inflates past MAX_TEXT)."""
        cdef z_stream* z = &self.stream
        cdef Py_ssize_t used, grown
        cdef char* larger
        cdef int status
        if size > MAX_TEXT or inflateReset(z) != Z_OK:
            return -1
        if self.buffer == NULL:
            self.buffer = <char*>realloc(NULL, FIRST_TEXT_CAPACITY)
            if self.buffer == NULL:
                return -1
            self.capacity = FIRST_TEXT_CAPACITY
        z.next_in = <unsigned char*>data
        z.avail_in = <unsigned int>size
        z.next_out = <unsigned char*>self.buffer
        z.avail_out = <unsigned int>(self.capacity - 1)   # room for the NUL the readers need
        while True:
            status = inflate(z, Z_FINISH)
            used = self.capacity - 1 - z.avail_out
            if status == Z_STREAM_END:
                self.buffer[used] = 0
                self.text_length = used
                return 0
            if status != Z_BUF_ERROR or z.avail_out != 0 or self.capacity >= MAX_TEXT:
                return -1
            grown = self.capacity * 2
            larger = <char*>realloc(self.buffer, grown)
            if larger == NULL:
                return -1
            self.buffer, self.capacity = larger, grown
            z.next_out = <unsigned char*>(self.buffer + used)
            z.avail_out = <unsigned int>(grown - 1 - used)

    cdef void open(self, bytes frame) noexcept:
        """Point ``text`` at the frame's JSON (gunzipped once per frame; plain text as is)."""
        cdef const char* data = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(frame)
        if frame is self.text_frame:
            return
        self.text_frame = frame
        self.text_bytes = None
        if size >= 2 and <unsigned char>data[0] == 0x1f and <unsigned char>data[1] == 0x8b:
            if self.inflate_into_buffer(data, size) == 0:
                self.text = self.buffer
            else:
                self.text = NULL
                self.text_length = -1
        else:
            self.text = data
            self.text_length = size
            self.text_bytes = frame

    def text_of(self, bytes frame not None):
        """The frame's JSON text (a plain frame itself), or None when it is not gzip this
        inflater reads (``parsing.decompress`` then says why). Inflated once per frame."""
        self.open(frame)
        if self.text_length < 0:
            return None
        if self.text_bytes is None:
            self.text_bytes = PyBytes_FromStringAndSize(self.text, self.text_length)
        return self.text_bytes

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        """SCANNED for an mbp delta in the strict shape, and for a depth.step0 snapshot this
        path may apply (``snapshot_applies``), so whoever calls ``read`` then ``apply_read``
        (DeltaPath.apply, the replay's FrameLoop) applies it; DECLINED otherwise. ``kind``
        says what was read (a declined snapshot's levels stay in the path)."""
        cdef const char* s
        cdef const char* p
        cdef Py_ssize_t n, i
        cdef int64_t ts = 0, seq = 0, prev = 0
        cdef Route route
        cdef LevelBuffer levels = self.levels
        cdef bint snapshot
        self.route = None
        self.kind = READ_NONE
        self.open(frame)
        s, n = self.text, self.text_length
        if n < 14 or memcmp(s, HEAD, 14) != 0:
            return ST_DECLINED
        p = <const char*>memchr(s + 14, 46, n - 14)   # '.' after the symbol
        if p == NULL:
            return ST_DECLINED
        route = self.find_route(s + 14, p - (s + 14))
        if route is None:
            return ST_DECLINED
        i = (p - s) + 1
        snapshot = expect(s, i, n, STEP0, 12) >= 0
        if snapshot:
            i += 12
        else:
            i = expect(s, i, n, MBP, 4)
            if i < 0 or i >= n or not is_digit(s[i]):
                return ST_DECLINED
            while i < n and is_digit(s[i]):
                i += 1
            i = expect(s, i, n, b'"', 1)
        # each step takes -1 on to the next (expect, int_value_c and levels_c return -1 for
        # it), so a frame not in the shape fails the final check
        i = int_value_c(s, n, expect(s, i, n, b',"ts":', 6), &ts)
        i = expect(s, i, n, b',"tick":{', 9)
        levels.count = 0
        if snapshot:
            i = expect(s, i, n, b'"bids":', 7)
            i = levels_c(s, i, n, 0, route.price_decimals, route.size_decimals, levels)
            self.bid_count = levels.count
            i = levels_c(s, expect(s, i, n, b',"asks":', 8), n, 1, route.price_decimals,
                         route.size_decimals, levels)
            i = int_value_c(s, n, expect(s, i, n, b',"version":', 11), &seq)
            if expect(s, i, n, b',"ts":', 6) >= 0:
                i = int_value_c(s, n, i + 6, &prev)     # the tick's own time, unused
        else:
            i = int_value_c(s, n, expect(s, i, n, b'"seqNum":', 9), &seq)
            i = int_value_c(s, n, expect(s, i, n, b',"prevSeqNum":', 14), &prev)
            if expect(s, i, n, b',"bids":', 8) >= 0:
                i = levels_c(s, i + 8, n, 0, route.price_decimals, route.size_decimals, levels)
            if expect(s, i, n, b',"asks":', 8) >= 0:
                i = levels_c(s, i + 8, n, 1, route.price_decimals, route.size_decimals, levels)
        if expect(s, i, n, b'}}', 2) != n or ts > INT64_MAX // 1_000_000 or ts < 0:
            return ST_DECLINED
        self.ts_event_ns = ts * 1_000_000
        self.ts_recv_ns = ts_recv_ns
        if snapshot:
            self.kind = READ_SNAPSHOT
            self.snapshot_route = route
            self.version = seq
            self.ts_ms = ts
            if not self.snapshot_applies():
                return ST_DECLINED
            return self.scanned(seq, seq, False, 0, False, 0, ts * 1_000_000, ts_recv_ns, route)
        self.kind = READ_DELTA
        return self.scanned(seq, seq, True, prev, False, 0, ts * 1_000_000, ts_recv_ns, route)

    cdef bint snapshot_applies(self) except -1:
        """Whether the snapshot read may replace its book here: the book is attached and in
        sync (so nothing waits in its BookSync's buffer), the snapshot is not older than the
        newest on this connection (parse_ws counts a stale one) and every price is positive
        (the validating path raises the error)."""
        cdef SyncCore core = self.snapshot_route.core
        cdef LevelBuffer levels = self.levels
        cdef Py_ssize_t i
        if core is None or not core.synced:
            return False
        newest = self.newest.get((self.connection, self.snapshot_route.symbol))
        if newest is not None and self.version < newest:
            return False
        for i in range(levels.count):
            if levels.prices[i] <= 0:
                return False
        return True

    def scan(self, bytes frame not None, int64_t ts_recv_ns=0, int64_t connection=0):
        """Read an mbp delta into the path without applying it: SCANNED, or DECLINED (also
        for a snapshot: :meth:`snapshot_of` reads those)."""
        self.connection = connection
        status = self.read(frame, ts_recv_ns)
        return ST_DECLINED if self.kind == READ_SNAPSHOT else status

    cdef int apply_read(self) noexcept:
        """The frame read: an mbp delta as DeltaPath applies it; a snapshot replaces the book
        (``L2Book.apply_snapshot`` and ``BookSync._snapshot`` for a venue without a checksum):
        APPLIED, or CROSSED (the BookSync resyncs)."""
        cdef Route route = self.snapshot_route
        cdef SyncCore core
        cdef LevelBuffer levels = self.levels
        cdef L2Book book
        cdef Py_ssize_t i, bids = self.bid_count
        cdef int64_t bid = 0, ask = 0, mid
        cdef int status = STATUS_OK
        if self.kind != READ_SNAPSHOT:
            return DeltaPath.apply_read(self)
        core = route.core
        book = core.book
        if not book.width_chosen:                    # L2Book.apply_snapshot's window choice
            for i in range(bids):
                if levels.sizes[i] > 0 and levels.prices[i] > bid:
                    bid = levels.prices[i]
            for i in range(bids, levels.count):
                if levels.sizes[i] > 0 and (ask == 0 or levels.prices[i] < ask):
                    ask = levels.prices[i]
            mid = (bid + ask) // 2 if bid and ask else (bid or ask)
            if mid > 0:
                status = book._choose_width(mid)
        if status == STATUS_OK:
            status = book._replace_side(0, levels.prices, levels.sizes, bids)
        if status == STATUS_OK:
            status = book._replace_side(1, levels.prices + bids, levels.sizes + bids,
                                        levels.count - bids)
        if status != STATUS_OK:
            return self.stale_after_failure()
        book.snapshots += 1
        try:
            self.newest[(self.connection, route.symbol)] = self.version
        except MemoryError:
            return self.stale_after_failure()
        core.counters.snapshots += 1
        core.book_id = self.version
        if self.ts_recv_ns:
            core.updated_at_ns = self.ts_recv_ns
        return ST_CROSSED if crossed(book) else ST_APPLIED

    cdef int stale_after_failure(self) noexcept:
        """Out of memory part way through a snapshot: the book is stale (not in sync) until
        the next snapshot, and the BookSync is handed an empty delta that snapshot contains
        (DEFER: it waits in the buffer and is skipped)."""
        self.snapshot_route.core.synced = False
        self.levels.count = 0
        self.has_prev = True
        self.prev_value = self.version
        return ST_DEFER

    def snapshot_of(self, bytes frame not None):
        """``(symbol, version, ts ms)`` when ``frame`` is a depth.step0 snapshot in the strict
        shape (its levels, bids first, are then in :attr:`levels`), else None."""
        self.read(frame, 0)
        if self.kind != READ_SNAPSHOT:
            return None
        return self.snapshot_route.symbol, self.version, self.ts_ms
