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
from libc.stdint cimport INT64_MAX, int64_t, uint64_t
from libc.string cimport memchr, memcmp

from arbcore_ext._levels cimport drop_zero_prices
from arbcore_ext._types cimport STATUS_OK
from arbcore_ext.book cimport KEY_NONE, L2Book, LevelBuffer
from arbcore_ext.checksum cimport Out, TextCache, TextForm, book_crc32_c, book_crc32_cached_c
from arbcore_ext.jsonscan cimport OUT_OF_MEMORY, find_value_c, int_value_c, scan_levels_c

cdef extern from "string.h":
    void* memmem(const void* haystack, size_t haystacklen, const void* needle,
                 size_t needlelen) noexcept nogil


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


def anchor_offset(bytes frame not None, bytes anchor not None, Py_ssize_t limit):
    """Where the compiled anchor search finds ``anchor`` within ``frame[:limit]``, or -1
    (tested against ``bytes.find``)."""
    cdef const char* p
    if not anchor:
        raise ValueError("an empty anchor")
    limit = max(0, min(limit, PyBytes_GET_SIZE(frame)))
    p = find_anchor(PyBytes_AS_STRING(frame), limit, PyBytes_AS_STRING(anchor),
                    PyBytes_GET_SIZE(anchor))
    return -1 if p == NULL else p - PyBytes_AS_STRING(frame)


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


cdef inline const char* find_anchor(const char* s, Py_ssize_t limit, const char* anchor,
                                    Py_ssize_t k) noexcept nogil:
    """``memmem(s, limit, anchor, k)``: the first occurrence, found by memchr on the anchor's
    middle byte (a letter of its name, not the quote every key starts with) and one memcmp a
    candidate; memmem's set-up (a 256-entry shift table) cost more than the search here."""
    cdef Py_ssize_t m = k >> 1, at
    cdef const char* p = s + m
    while True:
        if p - s >= limit:
            return NULL
        p = <const char*>memchr(p, anchor[m], limit - (p - s))
        if p == NULL:
            return NULL
        at = (p - s) - m
        if at + k > limit:
            return NULL
        if memcmp(s + at, anchor, k) == 0:
            return s + at
        p += 1


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
        cdef Py_ssize_t i
        cdef bytes key
        self.route = None
        k = PyBytes_GET_SIZE(self.anchor)
        limit = n if self.window <= 0 or self.window + k - 1 > n else self.window + k - 1
        p = find_anchor(s, limit, PyBytes_AS_STRING(self.anchor), k)
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
            drop_zero_prices(levels)
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
