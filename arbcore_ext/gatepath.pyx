"""Gate.io's plain ``spot.order_book_update`` deltas read in one pass over the frame.

:class:`GatePath` is a :class:`~arbcore_ext.deltapath.DeltaPath` configured exactly like the
generic one (same anchor, keys, time unit, level keys; applied and counted by the same code) whose
``read`` walks the ``result`` object key by key instead of searching the frame once per key and
once more for ``"full"``: on Gate's ~350-byte deltas those searches cost more than the levels.

It accepts less than the generic reader, never more: the compact result Gate sends, each key at
most once, only the keys ``t e E l s U u b a`` (``s`` before the levels, ``b`` before ``a``), the
frame ending right after the result. Anything else (``full``, an unknown key, spaces, escapes) is
declined and read by the validating parser, as before.
"""

from libc.stdint cimport INT64_MAX, int8_t, int64_t
from libc.string cimport memchr, memcmp, memcpy

cimport numpy as cnp

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM
from cpython.object cimport PyObject

from arbcore_ext.book cimport LevelBuffer
from arbcore_ext.deltapath cimport ST_DECLINED, DeltaPath, Route
from arbcore_ext.jsonscan cimport OUT_OF_MEMORY, int_value_c, scan_levels_c

cnp.import_array()

cdef enum:
    KEY_T = 1
    KEY_E_LOWER = 2
    KEY_E_UPPER = 4
    KEY_S = 8
    KEY_FIRST = 16
    KEY_LAST = 32
    KEY_B = 64
    KEY_A = 128
    KEY_L = 256
    KEYS_NEEDED = KEY_T | KEY_S | KEY_FIRST | KEY_LAST | KEY_B | KEY_A


cdef int KEY_BITS[256]  # the bit of each one-letter result key (KEY_ order: ``teEsUubal``), else 0


cdef void fill_key_bits() noexcept:
    cdef const char* keys = b"teEsUubal"
    cdef int i
    for i in range(256):
        KEY_BITS[i] = 0
    for i in range(9):
        KEY_BITS[<unsigned char>keys[i]] = 1 << i


fill_key_bits()


cdef inline int key_bit(char c) noexcept nogil:
    """The bit of a one-letter result key, 0 for any other letter."""
    return KEY_BITS[<unsigned char>c]


cdef inline size_t name_hash(const char* name, Py_ssize_t length) noexcept nogil:
    """FNV-1a of a pair's native name (a route table's slot)."""
    cdef size_t h = 14695981039346656037ULL
    cdef Py_ssize_t i
    for i in range(length):
        h = (h ^ <unsigned char>name[i]) * 1099511628211ULL
    return h


cdef inline Py_ssize_t plain_string_end(const char* s, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """The offset after the string at i (no escapes in it), or -1."""
    if i >= n or s[i] != b'"':
        return -1
    i += 1
    while i < n:  # Gate's strings here are short: a byte loop beats two memchr calls
        if s[i] == b'"':
            return i + 1
        if s[i] == b'\\':
            return -1
        i += 1
    return -1


cdef inline Py_ssize_t bare_int_end(const char* s, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """The offset after the unsigned bare integer at i, or -1."""
    cdef Py_ssize_t start = i
    while i < n and b'0' <= s[i] <= b'9':
        i += 1
    return i if i > start else -1


cdef class GatePath(DeltaPath):
    """A DeltaPath for Gate's plain deltas with a one-pass ``read`` (see the module docstring).

    Built with the same keyword arguments as DeltaPath; the reader assumes Gate's keys (the
    ``symbol_key``/``first_key``/... given must be Gate's, checked here).
    """

    cdef list slots  # the routes by the hash of their native name (open addressing), or None
    cdef size_t mask  # len(slots) - 1

    def __init__(self, routes, **config):
        super().__init__(routes, **config)
        if (self.symbol_key, self.first_key, self.last_key, self.time_key, self.level_keys,
                self.base_key, self.levels_key) != (b"s", b"U", b"u", b"t", (b"b", b"a"), None,
                                                   None):
            raise ValueError("GatePath reads Gate's keys only: s, U, u, t and b, a")
        if PyBytes_GET_SIZE(self.anchor) < 2:
            raise ValueError("GatePath's anchor is Gate's head: two bytes or more")
        cdef Route route
        cdef Py_ssize_t size = 8
        cdef size_t at
        while size < 2 * len(self.by_native):
            size *= 2
        self.slots, self.mask = [None] * size, <size_t>(size - 1)
        for route in self.by_native.values():
            at = name_hash(PyBytes_AS_STRING(route.native), PyBytes_GET_SIZE(route.native))
            while self.slots[<Py_ssize_t>(at & self.mask)] is not None:
                at += 1
            self.slots[<Py_ssize_t>(at & self.mask)] = route

    cdef inline Route route_named(self, const char* name, Py_ssize_t length):
        """The route whose native name is ``name`` (as ``find_route``, without building a bytes
        object and hashing it for the dict on every frame), or None."""
        cdef size_t at = name_hash(name, length)
        cdef PyObject* slot
        while True:
            slot = PyList_GET_ITEM(self.slots, <Py_ssize_t>(at & self.mask))
            if <object>slot is None:
                return None
            if (PyBytes_GET_SIZE((<Route>slot).native) == length
                    and memcmp(PyBytes_AS_STRING((<Route>slot).native), name, length) == 0):
                return <Route>slot
            at += 1

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame)
        cdef const char* anchor = PyBytes_AS_STRING(self.anchor)
        cdef Py_ssize_t k = PyBytes_GET_SIZE(self.anchor), limit, i
        cdef const char* p
        cdef const char* reason = NULL
        cdef int seen = 0, bit
        cdef int64_t first = 0, last = 0, when = 0
        cdef Route route = None
        cdef LevelBuffer levels = self.levels
        self.route = None
        # the anchor within the window, exactly where memmem would find it first: its second
        # byte ('c' of "channel") is rarer in Gate's head than its first ('"' of every key)
        limit = n if self.window <= 0 or self.window + k - 1 > n else self.window + k - 1
        i = 1
        while True:
            p = <const char*>memchr(s + i, anchor[1], limit - k + 2 - i) if limit - k + 2 > i else NULL
            if p == NULL:
                return ST_DECLINED
            i = p - s
            if s[i - 1] == anchor[0] and memcmp(p + 1, anchor + 2, k - 2) == 0:
                break
            i += 1
        i += k - 1
        if i >= n or s[i] != b'{':
            return ST_DECLINED
        i += 1
        levels.count = 0
        while True:  # one "key":value of the result a turn
            if i + 4 > n or s[i] != b'"' or s[i + 2] != b'"' or s[i + 3] != b':':
                return ST_DECLINED
            bit = key_bit(s[i + 1])
            if bit == 0 or seen & bit:
                return ST_DECLINED
            seen |= bit
            i += 4
            if bit == KEY_T:
                i = int_value_c(s, n, i, &when)
            elif bit == KEY_FIRST:
                i = int_value_c(s, n, i, &first)
            elif bit == KEY_LAST:
                i = int_value_c(s, n, i, &last)
            elif bit & (KEY_E_LOWER | KEY_E_UPPER | KEY_L):  # not read: a string or a number
                i = plain_string_end(s, n, i) if i < n and s[i] == b'"' else bare_int_end(s, n, i)
            elif bit == KEY_S:
                if seen & (KEY_B | KEY_A):
                    return ST_DECLINED
                p = s + i + 1
                i = plain_string_end(s, n, i)
                if i < 0:
                    return ST_DECLINED
                route = self.route_named(p, (s + i - 1) - p)
                if route is None:
                    return ST_DECLINED
            else:  # the levels: b, then a, of a pair already named
                if route is None or (bit == KEY_B and seen & KEY_A):
                    return ST_DECLINED
                i = scan_levels_c(s, n, i, 0 if bit == KEY_B else 1, route.price_decimals,
                                  route.size_decimals, levels, &reason)
                if i < 0 and reason == OUT_OF_MEMORY:
                    raise MemoryError("GatePath: out of memory for the levels")
            if i < 0 or i >= n:
                return ST_DECLINED
            if s[i] == b',':
                i += 1
                continue
            if s[i] == b'}' and i + 2 == n and s[i + 1] == b'}':
                break
            return ST_DECLINED
        if seen & KEYS_NEEDED != KEYS_NEEDED:
            return ST_DECLINED
        if when > INT64_MAX // self.time_unit_ns or when < -(INT64_MAX // self.time_unit_ns):
            return ST_DECLINED  # no int64 holds it in ns: the validating path reads it
        return self.scanned(first, last, False, 0, False, 0, when * self.time_unit_ns,
                            ts_recv_ns, route)


cdef inline bint key_is(const char* s, Py_ssize_t n, Py_ssize_t i, const char* key,
                        Py_ssize_t k) noexcept nogil:
    """Whether ``"key":`` starts at i."""
    return (i + k + 3 <= n and s[i] == b'"' and memcmp(s + i + 1, key, k) == 0
            and s[i + k + 1] == b'"' and s[i + k + 2] == b':')


cdef LevelBuffer _rest_levels = LevelBuffer(256)  # read_order_book's, reused
cdef bint _rest_busy = False  # a read in progress (re-entered from a finalizer or a thread)


cdef cnp.ndarray copied(char* data, Py_ssize_t n, Py_ssize_t first, int typenum, size_t width):
    """A new 1-D array of the first ``n`` items at ``data``, rotated to start at item ``first``
    (``data[first:n] + data[:first]``)."""
    cdef cnp.npy_intp dims = n
    cdef cnp.ndarray array = cnp.PyArray_SimpleNew(1, &dims, typenum)
    cdef char* to = <char*>cnp.PyArray_DATA(array)
    if n:
        memcpy(to, data + first * width, (n - first) * width)
        memcpy(to + (n - first) * width, data, first * width)
    return array


def read_order_book(bytes body not None, int price_decimals, int size_decimals):
    """A REST order book (``with_id=true``) in one pass: ``(id, update, (sides, prices,
    sizes))``, the bids then the asks whichever order the body has them in; None for anything
    but Gate's compact shape: ``id`` first, then ``current``, ``update``, ``asks`` and ``bids``
    at most once each, both level arrays present, nothing after the object."""
    global _rest_busy
    if _rest_busy:
        return read_book_into(body, price_decimals, size_decimals, LevelBuffer(256))
    _rest_busy = True
    try:
        return read_book_into(body, price_decimals, size_decimals, _rest_levels)
    finally:
        _rest_busy = False


cdef object read_book_into(bytes body, int price_decimals, int size_decimals, LevelBuffer out):
    """:func:`read_order_book` with ``out`` as its scratch buffer (emptied first)."""
    cdef const char* s = PyBytes_AS_STRING(body)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(body), i, count, first
    cdef Py_ssize_t asks_at = -1, bids_at = -1
    cdef const char* reason = NULL
    cdef int64_t book_id = 0, update = 0, current = 0
    cdef bint has_current = False, has_update = False
    if n < 1 or s[0] != b'{' or not key_is(s, n, 1, b"id", 2):
        return None
    out.count = 0
    i = int_value_c(s, n, 6, &book_id)
    while 0 <= i < n:
        if s[i] == b'}':
            if i + 1 != n or asks_at < 0 or bids_at < 0:
                break
            count = out.count
            first = bids_at if asks_at < bids_at else 0  # [asks, bids] -> [bids, asks]
            return book_id, update, (
                copied(<char*>out.sides, count, first, cnp.NPY_INT8, sizeof(int8_t)),
                copied(<char*>out.prices, count, first, cnp.NPY_INT64, sizeof(int64_t)),
                copied(<char*>out.sizes, count, first, cnp.NPY_INT64, sizeof(int64_t)),
            )
        if s[i] != b',':
            break
        i += 1
        if key_is(s, n, i, b"update", 6) and not has_update:
            has_update = True
            i = int_value_c(s, n, i + 9, &update)
        elif key_is(s, n, i, b"current", 7) and not has_current:
            has_current = True
            i = int_value_c(s, n, i + 10, &current)
        elif key_is(s, n, i, b"asks", 4) and asks_at < 0:
            asks_at = out.count
            i = scan_levels_c(s, n, i + 7, 1, price_decimals, size_decimals, out, &reason)
        elif key_is(s, n, i, b"bids", 4) and bids_at < 0:
            bids_at = out.count
            i = scan_levels_c(s, n, i + 7, 0, price_decimals, size_decimals, out, &reason)
        else:
            break
    if reason == OUT_OF_MEMORY:
        raise MemoryError("read_order_book: out of memory for the levels")
    return None
