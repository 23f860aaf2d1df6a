"""Bybit ``orderbook.<depth>.<symbol>`` messages in one pass: deltas read and applied in one call,
snapshots read once for the BookSync to load.

The generic scanner read Bybit's levels at ~700 instructions a level: its fast readers learn a
level's byte shape and Bybit's sizes change length from level to level (``"6203"``,
``"680"``, ``"10385"``), so most levels missed the learnt shape and were tried by two more
readers; a delta then went through ``parse_delta_into`` and the BookSync in Python.
:class:`BybitPath` reads a message in the one strict shape Bybit sends::

    {"topic":"orderbook.500.XRPUSDT","type":"delta","ts":1,"data":{"s":"XRPUSDT","b":[...],
     "a":[...],"u":2,"seq":3},"cts":4}

(``"ts"`` before ``"type"`` also, as ``orderbook.full`` sends it; ``"seq"`` optional; no
whitespace) with each level exactly ``["px","sz"]``, both values read by the scanner's own
decimal reader (``decimal_value_c``, property-tested against the validating parser), the
integers plain JSON integers (at most 18 digits), ``cts`` not 0 (0 stands for absent: the
validating path then takes ``ts``) and ``data.s`` the topic's symbol. Anything else, and the
``orderbook.1`` topic (a Quote), is DECLINED for the validating ``parse_ws``.

A delta is applied by the DeltaPath machinery under the compiled RangeRule (``first = last =
u``), which ``BybitRule`` equals for every ``u`` but 1; a delta with ``u == 1`` (a restart) is
handed back (DEFER) for ``BybitRule`` to decide. A snapshot is read and DECLINED: its BookSync
loads it from ``parse_ws``, which takes the levels read here through :meth:`BybitPath.push_of`
(no second scan).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport INT64_MAX, int8_t, int64_t
from libc.string cimport memcmp

from arbcore_ext._levels cimport quoted_level_array_c
from arbcore_ext._match cimport expect
from arbcore_ext.book cimport LevelBuffer
from arbcore_ext.deltapath cimport ST_DECLINED, ST_DEFER, DeltaPath, Route, SyncCore

# What the last read found
cdef enum:
    MESSAGE_NONE = 0        # not a book message in the strict shape
    MESSAGE_DELTA = 1
    MESSAGE_SNAPSHOT = 2

cdef enum:
    RESTART_UPDATE_ID = 1   # ``u`` of a delta after a service restart: BybitRule's gap

cdef const char* HEAD = b'{"topic":"orderbook.'
cdef Py_ssize_t HEAD_LENGTH = 20


cdef inline Py_ssize_t plain_int(const char* s, Py_ssize_t i, Py_ssize_t n,
                                 int64_t* value) noexcept nogil:
    """The offset after the JSON integer at i (unsigned, no leading zero, at most 18 digits),
    or -1 (also for i < 0)."""
    cdef int64_t v = 0
    cdef Py_ssize_t start = i
    if i < 0 or i >= n or not b'0' <= s[i] <= b'9':
        return -1
    if s[i] == b'0':
        i += 1
    else:
        while i < n and b'0' <= s[i] <= b'9':
            if i - start == 18:
                return -1
            v = v * 10 + (s[i] - 48)
            i += 1
    value[0] = v
    return i


cdef inline Py_ssize_t levels_c(const char* s, Py_ssize_t n, Py_ssize_t i, int8_t side,
                                int price_decimals, int size_decimals,
                                LevelBuffer out) except -2:
    """Bybit's level array at i (``[["px","sz"],...]``, no whitespace) appended to ``out``: the
    offset after its ``]``, or -1 for any other shape or a value ``decimal_value_c`` refuses."""
    return quoted_level_array_c(s, i, n, side, price_decimals, size_decimals, 0, out)


cdef class BybitPath(DeltaPath):
    """Bybit book messages read (deltas applied) in one call; see the module docstring.

    ``routes`` are keyed by the symbol as Bybit sends it (upper case).
    """

    cdef object read_frame          # the frame the last read looked at (push_of reuses it)
    cdef int kind
    cdef Route message_route
    cdef int64_t ts_ms

    def __init__(self, routes, Py_ssize_t capacity=1024):
        self._init_routes(routes, capacity)
        self.read_frame = None

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        """SCANNED for a delta in the strict shape; DECLINED otherwise (``kind`` says whether
        it was a snapshot, whose levels and fields are then in the path)."""
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i, name, name_length
        cdef Route route
        cdef LevelBuffer levels = self.levels
        cdef int64_t ts = 0, update_id = 0, seq = 0, cts = 0
        cdef int kind = MESSAGE_NONE, status
        self.route = None
        self.kind = MESSAGE_NONE
        self.read_frame = frame
        i = expect(s, 0, n, HEAD, HEAD_LENGTH)
        if i < 0:
            return ST_DECLINED
        name = i                                      # the depth: letters and digits
        while i < n and (b'0' <= s[i] <= b'9' or b'a' <= s[i] <= b'z' or b'A' <= s[i] <= b'Z'):
            i += 1
        if i == name or i >= n or s[i] != b'.' or (i == name + 1 and s[name] == b'1'):
            return ST_DECLINED                        # orderbook.1 is a Quote: parse_ws reads it
        name = i + 1                                  # the symbol: up to its closing quote
        i = name
        while i < n and s[i] != b'"':
            if s[i] == b'\\':
                return ST_DECLINED
            i += 1
        name_length = i - name
        route = self.find_route(s + name, name_length)
        if route is None:
            return ST_DECLINED
        i = read_kind(s, i + 1, n, &kind, &ts)
        i = expect(s, i, n, b',"data":{"s":"', 14)
        if i < 0 or i + name_length > n or memcmp(s + i, s + name, name_length) != 0:
            return ST_DECLINED
        levels.count = 0
        i = expect(s, i + name_length, n, b'","b":', 6)
        i = levels_c(s, n, i, 0, route.price_decimals, route.size_decimals, levels)
        i = expect(s, i, n, b',"a":', 5)
        i = levels_c(s, n, i, 1, route.price_decimals, route.size_decimals, levels)
        i = plain_int(s, expect(s, i, n, b',"u":', 5), n, &update_id)
        if expect(s, i, n, b',"seq":', 7) >= 0:
            i = plain_int(s, i + 7, n, &seq)
        i = plain_int(s, expect(s, i, n, b'},"cts":', 8), n, &cts)
        if expect(s, i, n, b'}', 1) != n or cts == 0 or cts > INT64_MAX // 1_000_000:
            return ST_DECLINED
        status = self.scanned(update_id, update_id, False, 0, False, 0, cts * 1_000_000,
                              ts_recv_ns, route)
        self.message_route = route
        self.ts_ms = cts
        self.kind = kind
        if kind == MESSAGE_SNAPSHOT:
            self.route = None                         # nothing for apply_read: parse_ws loads it
            return ST_DECLINED
        return status

    cdef int apply_read(self) noexcept:
        """DeltaPath's apply, except a restart (``u == 1``), which BybitRule decides."""
        cdef SyncCore core = self.route.core
        if core is not None and self.last_seq == RESTART_UPDATE_ID:
            return ST_DEFER
        return DeltaPath.apply_read(self)

    def push_of(self, bytes frame not None):
        """``(symbol, snapshot?, u, cts ms)`` of a book message in the strict shape, its levels
        (bids, then asks) in :attr:`levels`; None for anything else. The frame just read is not
        read again."""
        if frame is not self.read_frame:
            self.read(frame, 0)
        if self.kind == MESSAGE_NONE:
            return None
        return (self.message_route.symbol, self.kind == MESSAGE_SNAPSHOT, self.last_seq,
                self.ts_ms)


cdef inline Py_ssize_t read_kind(const char* s, Py_ssize_t i, Py_ssize_t n, int* kind,
                                 int64_t* ts) noexcept nogil:
    """After the topic's closing quote: ``,"type":"delta"|"snapshot","ts":N`` or the two keys
    the other way round; the offset after them (``kind``, ``ts`` set), or -1."""
    cdef Py_ssize_t after_ts = plain_int(s, expect(s, i, n, b',"ts":', 6), n, ts)
    if after_ts >= 0:
        i = after_ts
    i = expect(s, i, n, b',"type":"', 9)
    if expect(s, i, n, b'delta"', 6) >= 0:
        kind[0], i = MESSAGE_DELTA, i + 6
    elif expect(s, i, n, b'snapshot"', 9) >= 0:
        kind[0], i = MESSAGE_SNAPSHOT, i + 9
    else:
        return -1
    if after_ts >= 0:
        return i
    return plain_int(s, expect(s, i, n, b',"ts":', 6), n, ts)
