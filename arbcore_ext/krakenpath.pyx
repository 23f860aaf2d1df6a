"""Kraken v1 book updates in one call: :class:`TailPath` finds the book by the frame's tail,
reads its levels and checksum, numbers it by arrival and applies it through the DeltaPath
machinery (see deltapath.pyx), verifying the CRC32 in C through the book's text cache."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcmp

from arbcore_ext.book cimport L2Book, LevelBuffer
from arbcore_ext.deltapath cimport (
    MAX_LEVEL_KEYS, ST_DECLINED, DeltaPath, Route, cached_checksum_matches,
)
from arbcore_ext.jsonscan cimport OUT_OF_MEMORY, find_value_c, int_value_c, scan_levels_c


cdef enum:
    ROUTE_SLOTS_MASK = 63       # TailPath.find_route's table: 64 slots



cdef class TailPath(DeltaPath):
    """Delta frames that are JSON arrays naming their book at the end (Kraken v1):
    ``[id, {"a": [...]}, {"b": [...], "c": "123"}, "book-10", "XBT/USD"]``.

    Routes are keyed by the frame's tail from ``tail_mark`` (``"book-``) to its end, e.g.
    ``"book-10","XBT/USD"]``. A frame with the key ``reject`` (a snapshot's ``"as"``) is declined;
    ``level_keys`` are searched from the start, at least one must be present;
    ``checksum_key``'s integer (quoted or bare) is the frame's checksum when present. Frames
    carry no sequence: each frame read gets the next number of :attr:`arrivals` (first = last),
    the order :class:`~arbcore.marketdata.sync.ArrivalRule` judges; whoever numbers the
    venue's other book events (snapshots read by Python) draws from the same counter with
    :meth:`next_arrival`.
    """

    def __init__(self, routes, *, bytes tail_mark not None, bytes reject not None,
                 tuple level_keys not None, bytes checksum_key not None,
                 Py_ssize_t capacity=256):
        if not tail_mark or not 1 <= len(level_keys) <= MAX_LEVEL_KEYS:
            raise ValueError("TailPath needs a tail mark and 1 to 4 level keys")
        self.anchor, self.reject, self.checksum_key = tail_mark, reject, checksum_key
        self.level_keys = tuple(bytes(key) for key, _ in level_keys)
        for i, (_, side) in enumerate(level_keys):
            if side not in (0, 1):
                raise ValueError(f"level side must be 0 (bid) or 1 (ask), was {side!r}")
            self.level_sides[i] = side
        self.arrivals = 0
        self.caches = {}
        self.slots = [None] * (ROUTE_SLOTS_MASK + 1)
        self._init_routes(routes, capacity)

    cdef bint checksum_matches(self, L2Book book) noexcept:
        return cached_checksum_matches(self, self.caches, book)

    cdef Route find_route(self, const char* name, Py_ssize_t length):
        """DeltaPath.find_route through a small table keyed by a hash of the tail: the frames
        cycle through many pairs, so the last hit rarely helps, and a bytes object and a dict
        lookup per frame cost more than one hash and one compare. The dict decides on a miss
        (the table only remembers what it answered)."""
        cdef uint64_t h = 14695981039346656037ULL       # FNV-1a
        cdef Py_ssize_t i
        cdef Route route
        for i in range(length):
            h = (h ^ <unsigned char>name[i]) * 1099511628211ULL
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
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), k, at, i, tail
        cdef const char* mark = PyBytes_AS_STRING(self.anchor)
        cdef const char* reason = NULL
        cdef Route route
        cdef LevelBuffer levels = self.levels
        cdef bytes key
        cdef bint found = False
        cdef int64_t checksum = 0
        self.route = None
        k = PyBytes_GET_SIZE(self.anchor)
        if n < k + 2 or s[0] != 91 or s[n - 1] != 93:        # '[' ... ']'
            return ST_DECLINED
        tail = n - k
        while tail >= 0 and (s[tail] != mark[0] or memcmp(s + tail, mark, k) != 0):
            tail -= 1
        if tail < 0:
            return ST_DECLINED
        route = self.find_route(s + tail, n - tail)
        if route is None:
            return ST_DECLINED
        if find_value_c(s, n, PyBytes_AS_STRING(self.reject), PyBytes_GET_SIZE(self.reject),
                        0) >= 0:
            return ST_DECLINED
        levels.count = 0
        for i in range(len(self.level_keys)):
            key = <bytes>self.level_keys[i]
            at = find_value_c(s, n, key, PyBytes_GET_SIZE(key), 0)
            if at < 0:
                continue
            found = True
            if scan_levels_c(s, n, at, self.level_sides[i], route.price_decimals,
                             route.size_decimals, levels, &reason) < 0:
                if reason == OUT_OF_MEMORY:
                    raise MemoryError("TailPath: out of memory for the levels")
                return ST_DECLINED
        if not found:
            return ST_DECLINED
        at = find_value_c(s, n, PyBytes_AS_STRING(self.checksum_key),
                          PyBytes_GET_SIZE(self.checksum_key), 0)
        if at >= 0 and int_value_c(s, n, at, &checksum) < 0:
            return ST_DECLINED
        self.arrivals += 1
        return self.scanned(self.arrivals, self.arrivals, False, 0, at >= 0, checksum, 0,
                            ts_recv_ns, route)
