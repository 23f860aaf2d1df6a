"""KuCoin's ``trade.l2update`` deltas read in one pass over the frame.

:class:`KucoinPath` is a :class:`~arbcore_ext.deltapath.DeltaPath` configured exactly like the
generic one (same keys, time unit, level keys, price-0 rows dropped; applied and counted by the
same code) whose ``read`` walks the frame key by key instead of searching it once for the anchor
and once per key: on KuCoin's ~250-byte deltas, which carry no ``time``, those searches (the last
one through the whole frame) cost several times more than the one or two levels.

It accepts less than the generic reader, never more: a compact top-level object of the keys
``data``, ``subject``, ``topic`` and ``type`` (each at most once, any order, ``subject`` exactly
the anchor's value, the others strings), nothing after it and no escape anywhere; in ``data``
the keys ``sequenceStart``, ``symbol``, ``changes``, ``sequenceEnd`` and ``time`` at most once
each, in any order (``changes`` before ``symbol`` is read once the symbol is known), and
``changes`` exactly ``{"asks":[...],"bids":[...]}``. Anything else (an unknown key, a space
between keys, bids before asks) is declined and read as before. KuCoin's rows
``["price","size","sequence"]`` are read here with the scanner's decimal reader; an array with
any other row is left to ``scan_levels_c`` whole.
"""

from libc.stdint cimport INT64_MAX, int8_t, int64_t
from libc.string cimport memchr, memcmp

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE

from arbcore_ext._levels cimport drop_zero_prices
from arbcore_ext.book cimport LevelBuffer
from arbcore_ext.deltapath cimport ST_DECLINED, DeltaPath, Route
from arbcore_ext.jsonscan cimport OUT_OF_MEMORY, decimal_value_c, int_value_c, scan_levels_c

cdef enum:
    # data keys
    KEY_START = 1
    KEY_END = 2
    KEY_SYMBOL = 4
    KEY_CHANGES = 8
    KEY_TIME = 16
    DATA_NEEDED = KEY_START | KEY_END | KEY_SYMBOL | KEY_CHANGES
    # top-level keys
    TOP_DATA = 1
    TOP_SUBJECT = 2
    TOP_TOPIC = 4
    TOP_TYPE = 8
    TOP_NEEDED = TOP_DATA | TOP_SUBJECT
    # level sides (book.pyx's BID and ASK)
    SIDE_BID = 0
    SIDE_ASK = 1
    SUBJECT_KEY_LENGTH = 10  # '"subject":', the anchor's start
    SCANNED_ROUTES = 32      # find_route compares up to this many names (more: the dict)


cdef inline bint text_at(const char* s, Py_ssize_t n, Py_ssize_t i, const char* text,
                         Py_ssize_t k) noexcept nogil:
    """Whether ``text`` (k bytes, a constant where inlined) starts at i."""
    return n - i >= k and memcmp(s + i, text, k) == 0


cdef inline bint ends_value(const char* s, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """Whether a value ends at i in a compact object (a comma or the closing brace)."""
    return i < n and (s[i] == b',' or s[i] == b'}')


cdef inline int take(const char* s, Py_ssize_t n, Py_ssize_t* i, const char* key, Py_ssize_t k,
                     int bit) noexcept nogil:
    """``bit`` when the ``"key":`` text (k bytes) starts at ``i[0]``, moved past it; else 0."""
    if text_at(s, n, i[0], key, k):
        i[0] += k
        return bit
    return 0


cdef inline int data_key(const char* s, Py_ssize_t n, Py_ssize_t* i) noexcept nogil:
    """The KEY_ bit of the ``"key":`` of ``data`` at ``i[0]`` (moved past it), 0 for any other
    text."""
    cdef char first = s[i[0] + 1] if n - i[0] >= 2 else 0
    if first == b's':
        return (take(s, n, i, b'"sequenceStart":', 16, KEY_START)
                or take(s, n, i, b'"symbol":', 9, KEY_SYMBOL)
                or take(s, n, i, b'"sequenceEnd":', 14, KEY_END))
    if first == b'c':
        return take(s, n, i, b'"changes":', 10, KEY_CHANGES)
    return take(s, n, i, b'"time":', 7, KEY_TIME) if first == b't' else 0


cdef inline int top_key(const char* s, Py_ssize_t n, Py_ssize_t* i) noexcept nogil:
    """The TOP_ bit of the top-level ``"key":`` at ``i[0]`` (moved past it), 0 for any other
    text."""
    return (take(s, n, i, b'"data":', 7, TOP_DATA) or take(s, n, i, b'"subject":', 10, TOP_SUBJECT)
            or take(s, n, i, b'"topic":', 8, TOP_TOPIC) or take(s, n, i, b'"type":', 7, TOP_TYPE))


cdef inline Py_ssize_t string_end(const char* s, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """The offset after the string at i, or -1 (the frame has no escapes: read checked)."""
    cdef const char* p
    if i >= n or s[i] != b'"':
        return -1
    p = <const char*>memchr(s + i + 1, b'"', n - i - 1)
    return -1 if p == NULL else (p - s) + 1


cdef Py_ssize_t read_rows(const char* s, Py_ssize_t n, Py_ssize_t i, int8_t side, Route route,
                          LevelBuffer levels, const char** reason) except -2:
    """The level array at i appended to ``levels``: the offset after it, or -1 with ``reason``.

    KuCoin's rows ``["price","size","sequence"]`` (no whitespace, the frame has no escapes) are
    read here with the scanner's decimal reader, exactly as its general reader reads them (its
    faster ones take two-element rows only); an array with any other row is read again from
    its start by ``scan_levels_c``, which decides.
    """
    cdef Py_ssize_t start = i, kept = levels.count, j
    cdef int64_t price, size
    cdef const char* p
    if n - i >= 2 and s[i] == b'[' and s[i + 1] == b']':
        return i + 2
    if i < n and s[i] == b'[':
        i += 1
        while n - i >= 2 and s[i] == b'[' and s[i + 1] == b'"':
            j = decimal_value_c(s, i + 1, n, route.price_decimals, True, &price)
            if j < 0 or n - j < 2 or s[j] != b',' or s[j + 1] != b'"':
                break
            j = decimal_value_c(s, j + 1, n, route.size_decimals, True, &size)
            if j < 0 or n - j < 2 or s[j] != b',' or s[j + 1] != b'"':
                break
            p = <const char*>memchr(s + j + 2, b'"', n - j - 2)   # the row's sequence
            if p == NULL:
                break
            j = (p - s) + 1
            if j >= n or s[j] != b']':
                break
            if levels.count == levels.capacity:
                levels.reserve(1)
            levels.push(side, price, size)
            i = j + 1
            if i < n and s[i] == b',':
                i += 1
            elif i < n and s[i] == b']':
                return i + 1
            else:
                break
    levels.count = kept
    return scan_levels_c(s, n, start, side, route.price_decimals, route.size_decimals, levels,
                         reason)


cdef Py_ssize_t value_end(const char* s, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """The offset after the object or array at i (strings end at the next quote: the frame has
    no escapes), or -1; its contents are not checked (whoever reads it later does)."""
    cdef Py_ssize_t depth = 0
    cdef const char* p
    while i < n:
        if s[i] == b'"':
            p = <const char*>memchr(s + i + 1, b'"', n - i - 1)
            if p == NULL:
                return -1
            i = p - s
        elif s[i] == b'{' or s[i] == b'[':
            depth += 1
        elif s[i] == b'}' or s[i] == b']':
            depth -= 1
            if depth <= 0:
                return i + 1 if depth == 0 else -1
        elif depth == 0:
            return -1
        i += 1
    return -1


cdef Py_ssize_t read_changes(const char* s, Py_ssize_t n, Py_ssize_t i, Route route,
                             LevelBuffer levels) except -2:
    """``{"asks":[...],"bids":[...]}`` at i appended to ``levels``: the offset after it, or -1."""
    cdef const char* reason = NULL
    if n - i < 9 or memcmp(s + i, b'{"asks":', 8) != 0:
        return -1
    i = read_rows(s, n, i + 8, SIDE_ASK, route, levels, &reason)
    if i >= 0:
        if n - i < 8 or memcmp(s + i, b',"bids":', 8) != 0:
            return -1
        i = read_rows(s, n, i + 8, SIDE_BID, route, levels, &reason)
    if i < 0:
        if reason == OUT_OF_MEMORY:
            raise MemoryError("KucoinPath: out of memory for the levels")
        return -1
    if i >= n or s[i] != b'}':
        return -1
    return i + 1


cdef class KucoinPath(DeltaPath):
    """A DeltaPath for KuCoin's l2updates with a one-pass ``read`` (see the module docstring).

    Built with the same keyword arguments as DeltaPath; the reader assumes KuCoin's
    configuration (the anchor ``"subject":"<subject>"``, base ``data``, its keys, single
    sequences, price-0 rows dropped, ``asks`` then ``bids`` from ``changes``), checked here.
    """

    cdef Route data_route  # the symbol read_data found
    cdef tuple routes      # find_route's names (SCANNED_ROUTES at most; None: more, the dict)
    cdef const char* names[SCANNED_ROUTES]
    cdef Py_ssize_t name_lengths[SCANNED_ROUTES]

    def __init__(self, routes, **config):
        super().__init__(routes, **config)
        if (self.anchor[:SUBJECT_KEY_LENGTH] != b'"subject":' or self.window != 0
                or self.reject is not None or self.base_key != b"data"
                or (self.symbol_key, self.first_key, self.last_key, self.time_key)
                != (b"symbol", b"sequenceStart", b"sequenceEnd", b"time")
                or self.time_required or self.time_unit_ns != 1_000_000 or not self.single_seq
                or self.levels_key != b"changes" or self.level_keys != (b"asks", b"bids")
                or self.level_sides[0] != SIDE_ASK or self.level_sides[1] != SIDE_BID
                or not self.drop_zero_prices):
            raise ValueError("KucoinPath reads KuCoin's l2update configuration only")
        routes = tuple(self.by_native.values())
        self.routes = routes if len(routes) <= SCANNED_ROUTES else None
        for i, route in enumerate(routes if self.routes is not None else ()):
            self.names[i] = (<Route>route).native
            self.name_lengths[i] = len((<Route>route).native)

    cdef Route find_route(self, const char* name, Py_ssize_t length):
        """DeltaPath's lookup without making a bytes object and hashing it: the symbols of
        one feed interleave, so the last hit often misses; a few names are compared here."""
        cdef Py_ssize_t k
        cdef Route route = self.last_hit
        if self.routes is None:
            return DeltaPath.find_route(self, name, length)
        if (route is not None and PyBytes_GET_SIZE(route.native) == length
                and memcmp(PyBytes_AS_STRING(route.native), name, length) == 0):
            return route
        for k in range(PyTuple_GET_SIZE(self.routes)):
            if (self.name_lengths[k] == length and self.names[k][0] == name[0]
                    and memcmp(self.names[k], name, length) == 0):
                route = <Route>PyTuple_GET_ITEM(self.routes, k)
                self.last_hit = route
                return route
        return None

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i = 1
        cdef const char* subject = PyBytes_AS_STRING(self.anchor) + SUBJECT_KEY_LENGTH
        cdef Py_ssize_t subject_length = PyBytes_GET_SIZE(self.anchor) - SUBJECT_KEY_LENGTH
        cdef int seen = 0, bit
        cdef int64_t first = 0, last = 0, when = 0
        cdef Route route = None
        self.route = None
        if n < 2 or s[0] != b'{' or memchr(s, b'\\', n) != NULL:
            return ST_DECLINED  # no escapes anywhere: every string ends at the next quote
        while True:  # one top-level "key":value a turn
            bit = top_key(s, n, &i)
            if bit == 0 or seen & bit:
                return ST_DECLINED
            seen |= bit
            if bit == TOP_DATA:
                i = self.read_data(s, n, i, &first, &last, &when)
                route = self.data_route
            elif bit == TOP_SUBJECT:
                if n - i < subject_length or memcmp(s + i, subject, subject_length) != 0:
                    return ST_DECLINED
                i += subject_length
            else:
                i = string_end(s, n, i)
            if i < 0 or i >= n:
                return ST_DECLINED
            if s[i] == b',':
                i += 1
                continue
            if s[i] == b'}' and i + 1 == n:
                break
            return ST_DECLINED
        if seen & TOP_NEEDED != TOP_NEEDED or first != last:
            return ST_DECLINED
        if when > INT64_MAX // self.time_unit_ns or when < -(INT64_MAX // self.time_unit_ns):
            return ST_DECLINED  # no int64 holds it in ns: the validating path reads it
        drop_zero_prices(self.levels)
        return self.scanned(first, last, False, 0, False, 0, when * self.time_unit_ns,
                            ts_recv_ns, route)

    cdef Py_ssize_t read_data(self, const char* s, Py_ssize_t n, Py_ssize_t i, int64_t* first,
                              int64_t* last, int64_t* when) except -2:
        """The ``data`` object at i into the levels, ``data_route`` and the out-arguments: the
        offset after it, or -1 (not the strict shape)."""
        cdef int seen = 0, bit
        cdef Py_ssize_t j, changes_at = -1, changes_end = -1, seq_at = -1, seq_length = 0
        cdef int64_t seq_value = 0
        cdef int64_t* out
        cdef Route route = None
        cdef LevelBuffer levels = self.levels
        self.data_route = None
        if i >= n or s[i] != b'{':
            return -1
        i += 1
        levels.count = 0
        while True:  # one "key":value of data a turn
            bit = data_key(s, n, &i)
            if bit == 0 or seen & bit:
                return -1
            seen |= bit
            if bit == KEY_START or bit == KEY_END:
                out = first if bit == KEY_START else last
                if (seq_at >= 0 and text_at(s, n, i, s + seq_at, seq_length)
                        and ends_value(s, n, i + seq_length)
                        and ends_value(s, n, seq_at + seq_length)):
                    out[0] = seq_value  # the other sequence's text: int_value_c reads the same
                    i += seq_length
                else:
                    j = int_value_c(s, n, i, out)
                    seq_at, seq_length, seq_value = i, j - i, out[0]
                    i = j
            elif bit == KEY_TIME:
                i = int_value_c(s, n, i, when)
            elif bit == KEY_SYMBOL:
                j = string_end(s, n, i)
                if j < 0:
                    return -1
                route = self.find_route(s + i + 1, j - i - 2)
                if route is None:
                    return -1
                i = j
            elif route is not None:  # changes, of the symbol already named
                i = read_changes(s, n, i, route, levels)
            else:  # changes before the symbol (KuCoin's documented order): read after the loop
                changes_at = i
                i = changes_end = value_end(s, n, i)
            if i < 0 or i >= n:
                return -1
            if s[i] == b',':
                i += 1
                continue
            if s[i] == b'}':
                break
            return -1
        if seen & DATA_NEEDED != DATA_NEEDED:
            return -1
        if changes_at >= 0 and read_changes(s, n, changes_at, route, levels) != changes_end:
            return -1
        self.data_route = route
        return i + 1
