"""One call per delta frame: from the frame's bytes to the applied book.

Scanning a delta into a LevelBuffer and then applying it from Python (find the book, check the
sequence rule, apply, count, check crossed) cost more than the scan itself: a dozen Python calls
and attribute writes a frame. :class:`DeltaPath` does all of it in C for the venues whose deltas
follow :class:`~arbcore.marketdata.sync.RangeRule` (Binance spot, Gate.io, KuCoin) and returns a
small status; Python acts only on the rare ones (a gap or a crossed book -> resync, a book
waiting for its snapshot -> buffer, a frame not in the strict shape -> the validating
``parse_ws``).

The rule objects in ``arbcore.marketdata.sync`` stay the one definition of each rule: the C
verdict here (:func:`range_verdict`) is tested to agree with ``RangeRule.check`` on every input,
and a verdict other than "apply" is handed back to Python, which decides by the rule object.

:class:`SyncCore` is the C state of one ``BookSync`` (book, sequence id, in-sync flag, receive
time of the last update, :class:`BookCounters`): the fast path and the Python path write the
same fields.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport INT64_MAX, int8_t, int64_t, uint64_t
from libc.string cimport memchr, memcmp

from arbcore_ext._types cimport STATUS_OK
from arbcore_ext.book cimport KEY_NONE, L2Book, LevelBuffer
from arbcore_ext.checksum cimport Out, TextCache, TextForm, book_crc32_c, book_crc32_cached_c
from arbcore_ext.fixedpoint cimport parse_decimal_c
from arbcore_ext.jsonscan cimport OUT_OF_MEMORY, find_value_c, int_value_c, scan_levels_c

cdef extern from "string.h":
    void* memmem(const void* haystack, size_t haystacklen, const void* needle,
                 size_t needlelen) noexcept nogil


cdef enum:
    MAX_LEVEL_KEYS = 4

# What DeltaPath.apply returns: the ST_* enum of deltapath.pxd (module constants below give
# them to Python).
APPLIED = ST_APPLIED
DECLINED = ST_DECLINED
SKIPPED = ST_SKIPPED
UNROUTED = ST_UNROUTED
DEFER = ST_DEFER
VERIFY = ST_VERIFY
SCANNED = ST_SCANNED
CROSSED = ST_CROSSED

# Rules the fast path applies itself; any other rule defers every delta to Python.
cdef enum:
    RULE_OTHER_C = 0
    RULE_RANGE_C = 1
    RULE_ARRIVAL_C = 2
    RULE_PREV_C = 3

RULE_OTHER = RULE_OTHER_C
RULE_RANGE = RULE_RANGE_C
RULE_ARRIVAL = RULE_ARRIVAL_C
RULE_PREV = RULE_PREV_C

# Verdicts (the order of arbcore.marketdata.sync.Continuity)
cdef enum:
    V_APPLY = 0
    V_SKIP = 1
    V_GAP = 2


cdef inline int range_verdict_c(int64_t book_id, int64_t first, int64_t last) noexcept nogil:
    """RangeRule on int64 without overflow: skip ``last <= id``; gap ``first > id + 1``."""
    if last <= book_id:
        return V_SKIP
    if first > book_id and <uint64_t>first - <uint64_t>book_id > 1:
        return V_GAP
    return V_APPLY


cdef inline int prev_verdict_c(int64_t book_id, bint has_prev, int64_t prev,
                               int64_t last) noexcept nogil:
    """PrevRule: gap without a predecessor; skip ``last <= id and prev < id``; apply when the
    predecessor is the book's id; else gap."""
    if not has_prev:
        return V_GAP
    if last <= book_id and prev < book_id:
        return V_SKIP
    return V_APPLY if prev == book_id else V_GAP


cdef inline int rule_verdict_c(int rule, int64_t book_id, int64_t first, int64_t last,
                               bint has_prev, int64_t prev) noexcept nogil:
    """The verdict of a compiled rule (``rule`` is not RULE_OTHER)."""
    if rule == RULE_RANGE_C:
        return range_verdict_c(book_id, first, last)
    if rule == RULE_ARRIVAL_C:                       # ArrivalRule: skip ``last <= id``
        return V_SKIP if last <= book_id else V_APPLY
    return prev_verdict_c(book_id, has_prev, prev, last)


def range_verdict(int64_t book_id, int64_t first, int64_t last):
    """The compiled RangeRule: 0 apply, 1 skip, 2 gap (tested against ``RangeRule.check``)."""
    return range_verdict_c(book_id, first, last)


def rule_verdict(int rule, int64_t book_id, int64_t first, int64_t last, prev=None):
    """A compiled rule's verdict (RULE_RANGE, RULE_ARRIVAL, RULE_PREV): 0 apply, 1 skip,
    2 gap; tested against the rule objects of ``arbcore.marketdata.sync``."""
    if rule not in (RULE_RANGE_C, RULE_ARRIVAL_C, RULE_PREV_C):
        raise ValueError(f"not a compiled rule: {rule!r}")
    return rule_verdict_c(rule, book_id, first, last, prev is not None,
                          0 if prev is None else prev)


cdef class BookCounters:
    """What happened to one book; the replay command and the quality monitor report these.

    A C object so the fast path counts without Python arithmetic; ``as_dict()`` lists them.
    """

    def __init__(self, int64_t updates=0, int64_t snapshots=0, int64_t skipped=0,
                 int64_t gaps=0, int64_t resyncs=0, int64_t checksum_ok=0,
                 int64_t checksum_failed=0, int64_t crossed=0, int64_t buffer_overflows=0):
        self.updates = updates
        self.snapshots = snapshots
        self.skipped = skipped
        self.gaps = gaps
        self.resyncs = resyncs
        self.checksum_ok = checksum_ok
        self.checksum_failed = checksum_failed
        self.crossed = crossed
        self.buffer_overflows = buffer_overflows

    def as_dict(self):
        return {"updates": self.updates, "snapshots": self.snapshots, "skipped": self.skipped,
                "gaps": self.gaps, "resyncs": self.resyncs, "checksum_ok": self.checksum_ok,
                "checksum_failed": self.checksum_failed, "crossed": self.crossed,
                "buffer_overflows": self.buffer_overflows}

    def __eq__(self, other):
        if not isinstance(other, BookCounters):
            return NotImplemented
        return self.as_dict() == (<BookCounters>other).as_dict()

    __hash__ = None

    def __repr__(self):
        fields = ", ".join(f"{name}={value}" for name, value in self.as_dict().items())
        return f"BookCounters({fields})"


cdef class SyncCore:
    """The C state of one BookSync: its book, sequence id, in-sync flag, counters and the
    receive time of its last applied update. ``rule`` is RULE_RANGE when the fast path may
    apply deltas itself; ``verify_each`` when every update needs a Python check (checksums)."""

    def __init__(self, L2Book book not None, BookCounters counters not None, int rule=RULE_OTHER_C,
                 bint verify_each=False):
        self.book = book
        self.counters = counters
        self.rule = rule
        self.verify_each = verify_each
        self.book_id = 0
        self.synced = False
        self.updated_at_ns = 0


cdef class Route:
    """One wire symbol the path reads: its scales, and the book it feeds once attached."""

    def __init__(self, bytes native not None, str symbol not None, int price_decimals,
                 int size_decimals):
        self.native = native
        self.symbol = symbol
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.core = None
        self.owner = None
        self.form = None
        self.depth = 0


cdef inline bint crossed_c(L2Book book) noexcept:
    cdef int64_t bid = book.sides[0].best, ask = book.sides[1].best
    return bid != KEY_NONE and ask != KEY_NONE and bid >= -ask


cdef class DeltaPath:
    """A venue's plain delta frames, read and applied in one call (see the module docstring).

    The frame's shape is data: ``anchor`` must start within the first ``window`` bytes (0: anywhere);
    values are searched from after it, or from the value of ``base_key`` when given (a frame whose
    envelope comes last). A frame containing ``reject`` after that base is declined (Gate's full
    books). ``symbol_key`` names the wire symbol (a plain string), ``first_key``/``last_key`` the
    sequence range, ``time_key`` the event time (``time_unit_ns`` per unit; absent -> declined when
    ``time_required``, else 0). ``single_seq`` declines ranges with first != last (KuCoin rows
    then carry their own sequences). ``level_keys`` are ``(key, side)`` pairs read in order from
    ``levels_key``'s value (or the base); ``drop_zero_prices`` drops rows with price 0 (KuCoin's
    sequence-only rows).

    Attributes after each call: ``levels`` (the LevelBuffer read), ``first_seq``, ``last_seq``,
    ``prev_seq`` and ``checksum`` (None when the frame has none), ``ts_event_ns``,
    ``ts_recv_ns``, ``symbol`` and ``owner`` (what :meth:`attach` gave for it): the path is the
    SequenceInfo of its last frame.

    A book whose core has a compiled rule (RULE_RANGE, RULE_ARRIVAL, RULE_PREV) is applied here;
    a frame carrying a checksum is verified here too when the symbol has a checksum form
    (:meth:`set_checksum`), else handed back as VERIFY.
    """

    def __init__(self, routes, *, bytes anchor not None, Py_ssize_t window=0,
                 bytes base_key=None, bytes reject=None, bytes symbol_key not None,
                 bytes first_key not None, bytes last_key not None, bytes time_key=None,
                 bint time_required=False, int64_t time_unit_ns=1, bint single_seq=False,
                 bytes levels_key=None, tuple level_keys not None,
                 bint drop_zero_prices=False, Py_ssize_t capacity=256):
        cdef Route route
        if not anchor or not 1 <= len(level_keys) <= MAX_LEVEL_KEYS:
            raise ValueError("DeltaPath needs an anchor and 1 to 4 level keys")
        self.anchor, self.window, self.base_key, self.reject = anchor, window, base_key, reject
        self.symbol_key, self.first_key, self.last_key = symbol_key, first_key, last_key
        self.time_key, self.time_required, self.time_unit_ns = time_key, time_required, time_unit_ns
        self.single_seq, self.levels_key = single_seq, levels_key
        self.drop_zero_prices = drop_zero_prices
        self.level_keys = tuple(bytes(key) for key, _ in level_keys)
        for i, (_, side) in enumerate(level_keys):
            if side not in (0, 1):
                raise ValueError(f"level side must be 0 (bid) or 1 (ask), was {side!r}")
            self.level_sides[i] = side
        self._init_routes(routes, capacity)

    cdef _init_routes(self, routes, Py_ssize_t capacity):
        cdef Route route
        self.levels = LevelBuffer(capacity)
        self.by_native = {}
        self.by_symbol = {}
        for route in routes:
            self.by_native[route.native] = route
            self.by_symbol.setdefault(route.symbol, []).append(route)
        self.route = None
        self.last_hit = None

    def attach(self, str symbol not None, SyncCore core not None, owner=None):
        """Apply the symbol's deltas to ``core`` from now on; ``owner`` comes back as
        :attr:`owner` with each of its frames (the caller's handle on that book)."""
        cdef Route route
        for route in self.by_symbol[symbol]:
            route.core = core
            route.owner = owner

    def detach(self, str symbol not None):
        """Stop applying the symbol's deltas (they return UNROUTED)."""
        cdef Route route
        for route in self.by_symbol.get(symbol, ()):
            route.core = None
            route.owner = None

    def set_checksum(self, str symbol not None, TextForm form, Py_ssize_t depth=0):
        """Verify the symbol's checksums here: CRC32 of ``form``'s text after truncating the book
        to ``depth`` levels a side (0: no truncation), exactly what the BookSync's checksum
        function computes. ``None`` hands every checksum back to Python (VERIFY). A symbol the
        path does not read is ignored (its frames never come here)."""
        cdef Route route
        if depth < 0:
            raise ValueError(f"depth must be >= 0, was {depth}")
        for route in self.by_symbol.get(symbol, ()):
            route.form = form
            route.depth = depth

    @property
    def symbol(self):
        return None if self.route is None else self.route.symbol

    @property
    def owner(self):
        return None if self.route is None else self.route.owner

    @property
    def prev_seq(self):
        return self.prev_value if self.has_prev else None

    @property
    def checksum(self):
        return self.checksum_value if self.has_checksum else None

    def scan(self, bytes frame not None, int64_t ts_recv_ns=0, int64_t connection=0):
        """Read a frame into the path without applying it: SCANNED or DECLINED."""
        self.connection = connection
        return self.read(frame, ts_recv_ns)

    def apply(self, bytes frame not None, int64_t ts_recv_ns=0, int64_t connection=0):
        """Read and apply one frame (received on ``connection``, for paths that keep state per
        connection); a status (APPLIED, DECLINED, SKIPPED, UNROUTED, DEFER, VERIFY, CROSSED)."""
        cdef int status
        self.connection = connection
        status = self.read(frame, ts_recv_ns)
        if status != ST_SCANNED:
            return status
        return self.apply_read()

    cdef int apply_read(self) noexcept:
        cdef SyncCore core = self.route.core
        cdef LevelBuffer levels = self.levels
        cdef int verdict
        if core is None:
            return ST_UNROUTED
        if not core.synced or core.rule == RULE_OTHER_C:
            return ST_DEFER
        verdict = rule_verdict_c(core.rule, core.book_id, self.first_seq, self.last_seq,
                                 self.has_prev, self.prev_value)
        if verdict == V_SKIP:
            core.counters.skipped += 1
            return ST_SKIPPED
        if verdict != V_APPLY:
            return ST_DEFER
        if core.book._apply_many(levels.sides, levels.prices, levels.sizes,
                                 levels.count) != STATUS_OK:
            return ST_DEFER    # a level the book refuses: the Python path raises its error
        core.counters.updates += 1
        core.book_id = self.last_seq
        if self.ts_recv_ns:
            core.updated_at_ns = self.ts_recv_ns
        if core.verify_each and self.has_checksum:
            if self.route.form is None or not self.checksum_matches(core.book):
                return ST_VERIFY   # Python computes it again: counts, errors and resync there
            core.counters.checksum_ok += 1
            return ST_CROSSED if crossed_c(core.book) else ST_APPLIED
        if crossed_c(core.book):
            return ST_VERIFY
        return ST_APPLIED

    cdef bint checksum_matches(self, L2Book book) noexcept:
        """The route's checksum of ``book`` (truncated first when the route says so) equals the
        frame's; False also when a number does not render (Python raises that error)."""
        cdef Route route = self.route
        cdef int64_t crc = 0
        cdef Out out
        if route.depth:
            book._truncate(route.depth)
        if book_crc32_c(book, route.form, &crc, &out) != STATUS_OK:
            return False
        return crc == self.checksum_value

    cdef Route find_route(self, const char* name, Py_ssize_t length):
        cdef Route route = self.last_hit
        if (route is not None and PyBytes_GET_SIZE(route.native) == length
                and memcmp(PyBytes_AS_STRING(route.native), name, length) == 0):
            return route
        route = self.by_native.get(PyBytes_FromStringAndSize(name, length))
        if route is not None:
            self.last_hit = route
        return route

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), base, at, pos, k, limit
        cdef const char* p
        cdef const char* reason = NULL
        cdef int64_t first, last, when = 0
        cdef Route route
        cdef LevelBuffer levels = self.levels
        cdef Py_ssize_t i, kept
        cdef bytes key
        self.route = None
        k = PyBytes_GET_SIZE(self.anchor)
        limit = n if self.window <= 0 or self.window + k - 1 > n else self.window + k - 1
        p = <const char*>memmem(s, limit, PyBytes_AS_STRING(self.anchor), k)
        if p == NULL:
            return ST_DECLINED
        base = (p - s) + k
        if self.reject is not None and memmem(s + base, n - base, PyBytes_AS_STRING(self.reject),
                                              PyBytes_GET_SIZE(self.reject)) != NULL:
            return ST_DECLINED
        if self.base_key is not None:
            base = find_value_c(s, n, self.base_key, PyBytes_GET_SIZE(self.base_key), 0)
            if base < 0:
                return ST_DECLINED
        at = find_value_c(s, n, self.symbol_key, PyBytes_GET_SIZE(self.symbol_key), base)
        if at < 0 or at >= n or s[at] != 34:
            return ST_DECLINED
        p = <const char*>memchr(s + at + 1, 34, n - at - 1)
        if p == NULL:
            return ST_DECLINED
        route = self.find_route(s + at + 1, p - (s + at + 1))
        if route is None:
            return ST_DECLINED
        if int_value_c(s, n, find_value_c(s, n, self.first_key, PyBytes_GET_SIZE(self.first_key),
                                          base), &first) < 0:
            return ST_DECLINED
        if int_value_c(s, n, find_value_c(s, n, self.last_key, PyBytes_GET_SIZE(self.last_key),
                                          base), &last) < 0:
            return ST_DECLINED
        if self.single_seq and first != last:
            return ST_DECLINED
        if self.time_key is not None:
            at = find_value_c(s, n, self.time_key, PyBytes_GET_SIZE(self.time_key), base)
            if at >= 0:
                if int_value_c(s, n, at, &when) < 0:
                    return ST_DECLINED
            elif self.time_required:
                return ST_DECLINED
        pos = base
        if self.levels_key is not None:
            pos = find_value_c(s, n, self.levels_key, PyBytes_GET_SIZE(self.levels_key), base)
            if pos < 0:
                return ST_DECLINED
        levels.count = 0
        for i in range(len(self.level_keys)):
            key = <bytes>self.level_keys[i]
            at = find_value_c(s, n, key, PyBytes_GET_SIZE(key), pos)
            if at < 0:
                return ST_DECLINED
            pos = scan_levels_c(s, n, at, self.level_sides[i], route.price_decimals,
                                route.size_decimals, levels, &reason)
            if pos < 0:
                if reason == OUT_OF_MEMORY:
                    raise MemoryError("DeltaPath: out of memory for the levels")
                return ST_DECLINED
        if self.drop_zero_prices:
            kept = 0
            for i in range(levels.count):
                if levels.prices[i]:
                    levels.sides[kept] = levels.sides[i]
                    levels.prices[kept] = levels.prices[i]
                    levels.sizes[kept] = levels.sizes[i]
                    kept += 1
            levels.count = kept
        if self.time_unit_ns > 1 and (when > INT64_MAX // self.time_unit_ns
                                      or when < -(INT64_MAX // self.time_unit_ns)):
            return ST_DECLINED  # no int64 holds it in ns: the validating path reads it
        return self.scanned(first, last, False, 0, False, 0, when * self.time_unit_ns,
                            ts_recv_ns, route)

    cdef int scanned(self, int64_t first, int64_t last, bint has_prev, int64_t prev,
                     bint has_checksum, int64_t checksum, int64_t ts_event_ns,
                     int64_t ts_recv_ns, Route route) noexcept:
        """Record what a read scanned (every path's read ends so), for apply_read and the
        Python side to take from here; ST_SCANNED, for the read to return."""
        self.first_seq = first
        self.last_seq = last
        self.has_prev = has_prev
        self.prev_value = prev
        self.has_checksum = has_checksum
        self.checksum_value = checksum
        self.ts_event_ns = ts_event_ns
        self.ts_recv_ns = ts_recv_ns
        self.route = route
        return ST_SCANNED


cdef enum:
    ROUTE_SLOTS_MASK = 63       # TailPath.find_route's table: 64 slots


cdef bint cached_checksum_matches(DeltaPath path, dict caches, L2Book book) noexcept:
    """DeltaPath.checksum_matches through the book's TextCache (kept in ``caches`` by route):
    the same truncation and CRC, rendering only the levels that changed since the book's last
    checksum (most of a checksummed update's cost was rendering the 20-50 unchanged levels)."""
    cdef Route route = path.route
    cdef TextCache cache = caches.get(route)
    cdef int64_t crc = 0
    cdef Out out
    if cache is None:
        cache = caches[route] = TextCache()
    if route.depth:
        book._truncate(route.depth)
    if book_crc32_cached_c(book, route.form, cache, &crc, &out) != STATUS_OK:
        return False
    return crc == path.checksum_value


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


cdef inline Py_ssize_t uint_end(const char* s, Py_ssize_t i, Py_ssize_t n,
                                int64_t* value) noexcept nogil:
    """A JSON unsigned integer (``0`` or no leading zero, at most 18 digits) at i: the offset
    after it, or -1."""
    cdef Py_ssize_t start = i
    cdef int64_t v = 0
    while i < n and 48 <= s[i] <= 57 and i - start < 19:
        v = v * 10 + (s[i] - 48)
        i += 1
    if i == start or i - start > 18 or (s[start] == 48 and i - start > 1):
        return -1
    value[0] = v
    return i


cdef inline Py_ssize_t chan_head(const char* s, Py_ssize_t n) noexcept nogil:
    """The offset after ``[chanId,`` at the start of a channel frame ``[...]`` (chanId a JSON
    unsigned integer: its digits are s[1:offset - 1]), or -1."""
    cdef int64_t chan
    cdef Py_ssize_t i
    if n < 6 or s[0] != 91 or s[n - 1] != 93:
        return -1
    i = uint_end(s, 1, n, &chan)
    if i < 0 or i + 1 >= n or s[i] != 44:
        return -1
    return i + 1


cdef inline bint seq_end(const char* s, Py_ssize_t i, Py_ssize_t n, bint* has_seq,
                         int64_t* seq) noexcept nogil:
    """Whether a channel frame ends right at ``i``: ``]`` or ``,seq]`` (the optional SEQ_ALL
    number, read into ``seq``/``has_seq``)."""
    has_seq[0] = False
    if i < n - 1:
        if s[i] != 44:
            return False
        i = uint_end(s, i + 1, n, seq)
        if i < 0:
            return False
        has_seq[0] = True
    return i == n - 1


cdef inline Py_ssize_t number_end(const char* s, Py_ssize_t i, Py_ssize_t n,
                                  bint signed) noexcept nogil:
    """The end of a JSON number without exponent (``-?(0|[1-9][0-9]*)(\\.[0-9]+)?``), or -1."""
    cdef Py_ssize_t start
    if signed and i < n and s[i] == 45:
        i += 1
    start = i
    while i < n and 48 <= s[i] <= 57:
        i += 1
    if i == start or (s[start] == 48 and i - start > 1):
        return -1
    if i < n and s[i] == 46:
        i += 1
        start = i
        while i < n and 48 <= s[i] <= 57:
            i += 1
        if i == start:
            return -1
    return i


cdef inline Py_ssize_t json_number_end(const char* s, Py_ssize_t i, Py_ssize_t n,
                                       bint signed) noexcept nogil:
    """The end of a JSON number, exponent allowed (``1.1e-7``: snapshots of small prices), or
    -1; the decoder keeps such a number as its text, which parse_decimal_c reads the same."""
    cdef Py_ssize_t start
    i = number_end(s, i, n, signed)
    if i < 0 or i >= n or (s[i] != 101 and s[i] != 69):        # 'e' 'E'
        return i
    i += 1
    if i < n and (s[i] == 43 or s[i] == 45):
        i += 1
    start = i
    while i < n and 48 <= s[i] <= 57:
        i += 1
    return i if i > start else -1


cdef Py_ssize_t numbers_end(const char* s, Py_ssize_t i, Py_ssize_t n, int depth) noexcept:
    """The end of a JSON number or of an array of these nested at most ``depth`` deep, without
    spaces (a trade or ticker payload), or -1."""
    if i >= n:
        return -1
    if s[i] != 91:
        return json_number_end(s, i, n, True)
    if depth == 0:
        return -1
    i += 1
    if i < n and s[i] == 93:
        return i + 1
    while True:
        i = numbers_end(s, i, n, depth - 1)
        if i < 0 or i >= n:
            return -1
        if s[i] == 93:
            return i + 1
        if s[i] != 44:
            return -1
        i += 1


cdef class ChannelState:
    """One connection's channels (Bitfinex): book channels, the connection-wide sequence
    (SEQ_ALL) and each book channel's last message number.

    The venue feed keeps one per connection and decides with it on its validating path;
    :class:`ChannelPath` reads and writes the same object on the compiled one. ``books`` maps a
    channel id (its bytes in the frames) to the venue's instrument; change it only through
    :meth:`add_book` and :meth:`drop_book`, which keep the compiled path's routes with it.
    """

    def __init__(self, DeltaPath path=None):
        self.path = path
        self.books = {}
        self.book_last = {}
        self.routes = {}
        self.counter = 0
        self.has_last = False
        self.last = 0

    def add_book(self, bytes chan not None, instrument):
        """``chan`` is the book channel of ``instrument`` (a subscribe was confirmed)."""
        self.books[chan] = instrument
        routes = None if self.path is None else self.path.by_symbol.get(instrument.symbol)
        self.routes[chan] = routes[0] if routes else None

    def drop_book(self, bytes chan not None):
        """``chan`` is no longer a book channel (unsubscribed); its last message no longer
        matters."""
        self.books.pop(chan, None)
        self.book_last.pop(chan, None)
        self.routes.pop(chan, None)

    @property
    def last_seq(self):
        """The last frame's sequence; None when it had none (or no frame came yet)."""
        return self.last if self.has_last else None

    @last_seq.setter
    def last_seq(self, value):
        self.has_last = value is not None
        self.last = 0 if value is None else value

    cdef bint continues_c(self, bint has_seq, int64_t seq):
        if not self.book_last:
            return True
        if not self.has_last:
            return not has_seq
        return has_seq and seq == self.last + 1

    def continues(self, seq):
        """Whether a channel frame numbered ``seq`` loses nothing: it follows the last frame
        (neither numbered, without SEQ_ALL), or no book has had a message to lose yet."""
        if seq is None:
            return self.continues_c(False, 0)
        return self.continues_c(True, seq)

    cdef int64_t count_c(self, bint has_seq, int64_t seq, bytes chan, bint* has_prev,
                         int64_t* prev) except? -1:
        cdef int64_t number
        self.counter += 1
        self.has_last = has_seq
        self.last = seq if has_seq else 0
        number = seq if has_seq else self.counter
        if chan is None:
            has_prev[0] = False
            return number
        last = self.book_last.get(chan)
        has_prev[0] = last is not None
        prev[0] = 0 if last is None else last
        self.book_last[chan] = number
        return number

    def count_frame(self, seq, chan=None):
        """Count one channel frame (SEQ_ALL numbers every channel's): its sequence (the arrival
        count without SEQ_ALL) and, for a book channel's frame (``chan``), the number of that
        channel's previous frame, which this one names (None for its first); else None."""
        cdef bint has_prev = False
        cdef int64_t prev = 0
        number = self.count_c(seq is not None, 0 if seq is None else seq, chan, &has_prev,
                              &prev)
        return number, (prev if has_prev else None)


cdef class ChannelPath(DeltaPath):
    """One-level book updates and checksum frames of channel feeds (Bitfinex):
    ``[chanId,[price,count,amount],seq]`` and ``[chanId,"cs",checksum,seq]`` (the sequence
    optional), in exactly this shape (JSON numbers without exponents, no spaces; anything else
    is declined).

    The channel's book and the sequence bookkeeping come from the :class:`ChannelState` of the
    frame's connection in :attr:`connections` (absent -> declined); a frame that breaks the
    connection's sequence, or is not on a book channel, is declined with nothing changed. The
    level: ``amount`` > 0 a bid, < 0 an ask, its magnitude the size, ``count`` 0 a delete; the
    frame's number is its sequence and its predecessor the channel's previous frame
    (:class:`~arbcore.marketdata.sync.PrevRule`). A checksum frame carries no level.
    """

    def __init__(self, routes, Py_ssize_t capacity=256):
        self.connections = {}
        self.caches = {}
        self._init_routes(routes, capacity)

    cdef bint checksum_matches(self, L2Book book) noexcept:
        return cached_checksum_matches(self, self.caches, book)

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i, chan_end, price_at = 0, price_end = 0
        cdef Py_ssize_t amount_at = 0, amount_end = 0
        cdef int64_t count = 0, checksum = 0, seq = 0, price = 0, amount = 0
        cdef bint is_checksum, negative, has_seq = False, has_prev = False
        cdef int64_t prev = 0, number
        cdef ChannelState state
        cdef Route route
        cdef LevelBuffer levels = self.levels
        cdef bytes chan
        self.route = None
        i = chan_head(s, n)
        if i < 0:
            return ST_DECLINED
        chan_end = i - 1
        is_checksum = s[i] != 91
        if not is_checksum:
            price_at = i + 1
            price_end = number_end(s, price_at, n, False)
            if price_end < 0 or price_end >= n or s[price_end] != 44:
                return ST_DECLINED
            i = uint_end(s, price_end + 1, n, &count)
            if i < 0 or i >= n or s[i] != 44:
                return ST_DECLINED
            amount_at = i + 1
            amount_end = number_end(s, amount_at, n, True)
            if amount_end < 0 or amount_end >= n or s[amount_end] != 93:
                return ST_DECLINED
            i = amount_end + 1
        else:
            if n - i < 6 or memcmp(s + i, b'"cs",', 5) != 0:
                return ST_DECLINED
            i += 5
            negative = s[i] == 45
            i = uint_end(s, i + negative, n, &checksum)
            if i < 0:
                return ST_DECLINED
            if negative:
                checksum = -checksum
        if not seq_end(s, i, n, &has_seq, &seq):
            return ST_DECLINED
        state = self.connections.get(self.connection)
        if state is None:
            return ST_DECLINED
        chan = PyBytes_FromStringAndSize(s + 1, chan_end - 1)
        route = state.routes.get(chan)
        if route is None or not state.continues_c(has_seq, seq):
            return ST_DECLINED
        levels.count = 0
        if not is_checksum:
            if (parse_decimal_c(s + price_at, price_end - price_at, route.price_decimals, False,
                                &price) != STATUS_OK
                    or parse_decimal_c(s + amount_at, amount_end - amount_at,
                                       route.size_decimals, True, &amount) != STATUS_OK
                    or amount == 0):
                return ST_DECLINED   # the validating path raises the error
            levels.push(0 if amount > 0 else 1, price,
                        0 if count == 0 else (amount if amount > 0 else -amount))
        number = state.count_c(has_seq, seq, chan, &has_prev, &prev)
        return self.scanned(number, number, has_prev, prev, is_checksum, checksum, 0,
                            ts_recv_ns, route)

    def scan_snapshot(self, bytes frame not None, int64_t connection=0):
        """A book channel's snapshot ``[chanId,[[price,count,amount],...](,seq)]`` in the strict
        shape of :meth:`read` (empty: ``[chanId,[](,seq)]``), its levels read into
        :attr:`levels` by the update's rule: ``(chan, seq)`` (the channel's bytes, None without
        a sequence). None for anything else, with nothing read or changed: the validating path
        decodes it (and raises for a level that does not convert). Nothing is counted here;
        the caller sequences the frame as the validating path does."""
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i, chan_end, at, end
        cdef int64_t count = 0, seq = 0, price = 0, amount = 0
        cdef bint has_seq = False
        cdef ChannelState state
        cdef Route route
        cdef LevelBuffer levels = self.levels
        i = chan_head(s, n)
        if i < 0 or n - i < 3 or s[i] != 91:
            return None
        chan_end = i - 1
        i += 1
        state = self.connections.get(connection)
        if state is None:
            return None
        chan = PyBytes_FromStringAndSize(s + 1, chan_end - 1)
        route = state.routes.get(chan)
        if route is None:
            return None
        levels.count = 0
        if s[i] == 93:
            i += 1
        else:
            while True:
                if s[i] != 91:
                    levels.count = 0
                    return None
                at = i + 1
                end = json_number_end(s, at, n, False)
                if (end < 0 or end >= n or s[end] != 44
                        or parse_decimal_c(s + at, end - at, route.price_decimals, False,
                                           &price) != STATUS_OK):
                    levels.count = 0
                    return None
                i = uint_end(s, end + 1, n, &count)
                if i < 0 or i >= n or s[i] != 44:
                    levels.count = 0
                    return None
                at = i + 1
                end = json_number_end(s, at, n, True)
                if (end < 0 or end + 1 >= n or s[end] != 93
                        or parse_decimal_c(s + at, end - at, route.size_decimals, True,
                                           &amount) != STATUS_OK
                        or amount == 0 or amount == -INT64_MAX - 1):
                    levels.count = 0
                    return None
                if levels.count == levels.capacity:
                    levels.reserve(1)
                levels.push(0 if amount > 0 else 1, price,
                            0 if count == 0 else (amount if amount > 0 else -amount))
                i = end + 1
                if s[i] == 93:
                    i += 1
                    break
                if s[i] != 44:
                    levels.count = 0
                    return None
                i += 1
        if not seq_end(s, i, n, &has_seq, &seq):
            levels.count = 0
            return None
        return chan, (seq if has_seq else None)

    def skip_frame(self, bytes frame not None, int64_t connection=0):
        """Count a channel frame that carries no book data, in the strict shape, when it
        continues the connection's sequence: a heartbeat ``[chanId,"hb"(,seq)]``, or a frame of
        a channel that is not a book's whose payload is numbers (``[chanId,[...](,seq)]``,
        ``[chanId,"te"|"tu",[...](,seq)]``: tickers, trades). True when counted (the validating
        path would count it the same way and return no event); False, nothing changed, for
        anything else (the validating path decodes it, and turns a broken sequence into gap
        events)."""
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i, chan_end
        cdef int64_t seq = 0, prev = 0
        cdef bint has_seq = False, has_prev = False
        cdef ChannelState state
        i = chan_head(s, n)
        if i < 0 or n - i < 2:
            return False
        chan_end = i - 1
        state = self.connections.get(connection)
        if state is None:
            return False
        if n - i >= 5 and memcmp(s + i, b'"hb"', 4) == 0:
            i += 4
        elif PyBytes_FromStringAndSize(s + 1, chan_end - 1) in state.books:
            return False
        elif s[i] == 91:
            i = numbers_end(s, i, n, 3)
        elif n - i >= 6 and (memcmp(s + i, b'"te",', 5) == 0 or memcmp(s + i, b'"tu",', 5) == 0):
            i = numbers_end(s, i + 5, n, 3)
        else:
            return False
        if i < 0 or not seq_end(s, i, n, &has_seq, &seq) or not state.continues_c(has_seq, seq):
            return False
        state.count_c(has_seq, seq, None, &has_prev, &prev)
        return True
