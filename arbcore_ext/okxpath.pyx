"""OKX ``books`` pushes in one call: read the push, apply it by OKX's seqId rule, verify its
checksum.

A ``books`` update was read in Python (``parse_delta_into``) and decided by ``OKXSeqRule`` in
Python, ~19 us a BTC-USDT update; most of the rest was the generic level scanner, whose fast
readers take ``[px, sz]`` only: OKX's four-element levels (``["30243.5","1.2112","0","4"]``)
all went through its general reader (~160 us for a 400-level snapshot, 19 us for the same
levels as pairs). :class:`OKXPath` reads a push in the one strict shape OKX sends::

    {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[...],
     "bids":[...],"ts":"...","checksum":-123,"prevSeqId":1,"seqId":2}]}

(the entry's integer keys in any order, ``prevSeqId``/``seqId``/``checksum`` optional; no
whitespace) with each level exactly ``["px","sz","x","n"]`` (four quoted elements without
escapes), the usual ``"digits[.digits]"`` read in one pass and any other value decided by
``parse_decimal_c``, the parser the scanner's readers match exactly (property-tested against
the scanner). Anything else is DECLINED for the validating ``parse_ws``.

An update is applied by the DeltaPath machinery: the book's core carries the compiled PrevRule
(``OKXBookFeed.new_sync`` sets it), whose verdict agrees with ``OKXSeqRule`` wherever it
applies or skips; the two cases where OKX applies and PrevRule does not (a push without
``prevSeqId``, from before OKX added it; the first push straddling a REST snapshot) are applied
here (:func:`okx_verdict` is tested against ``OKXSeqRule.check``). The checksum (0 = absent) is
verified in C with the route's form through the book's ``checksum.TopCache``: only the top-25
levels an update changed are rendered, and the CRC is re-chained from the first changed
position of the interleaved text (an update below the top 25 of a side costs no walk of it). A snapshot is read (DECLINED: its BookSync loads it from
``parse_ws``, which takes the levels read here through :meth:`OKXPath.push_of`, no second scan).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport INT64_MAX, int8_t, int64_t
from libc.string cimport memchr, memcmp

from arbcore_ext._levels cimport quoted_level_array_c
from arbcore_ext._match cimport expect, string_end
from arbcore_ext.book cimport L2Book, LevelBuffer
from arbcore_ext.checksum cimport TOP_LEVELS, TextForm, top_checksum_matches
from arbcore_ext.deltapath cimport DeltaPath, Route, SyncCore
from arbcore_ext.jsonscan cimport int_value_c

from arbcore_ext.deltapath import DECLINED, RULE_PREV, SCANNED

cdef int ST_DECLINED = DECLINED
cdef int ST_SCANNED = SCANNED
cdef int RULE_PREV_C = RULE_PREV

# OKXSeqRule's verdicts (the order of arbcore.marketdata.sync.Continuity)
cdef enum:
    V_APPLY = 0
    V_SKIP = 1
    V_GAP = 2

# What the last read found
cdef enum:
    PUSH_NONE = 0       # not a books push in the strict shape
    PUSH_UPDATE = 1
    PUSH_SNAPSHOT = 2

# The entry's integer keys (a bit each: a key twice is declined)
cdef enum:
    KEY_TS = 1
    KEY_CHECKSUM = 2
    KEY_PREV = 4
    KEY_SEQ = 8

cdef const char* HEAD = b'{"arg":{"channel":"books","instId":"'
cdef Py_ssize_t HEAD_LENGTH = 36
cdef const char* PUSH_HEAD = b'{"arg":{"channel":"'
cdef Py_ssize_t PUSH_HEAD_LENGTH = 19
cdef const char* UPDATE = b'"},"action":"update","data":[{"asks":'
cdef const char* SNAPSHOT = b'"},"action":"snapshot","data":[{"asks":'
cdef Py_ssize_t UPDATE_LENGTH = 37
cdef Py_ssize_t SNAPSHOT_LENGTH = 39


cdef inline int okx_verdict_c(int64_t book_id, bint has_prev, int64_t prev,
                              int64_t last) noexcept nogil:
    """OKXSeqRule: apply without prevSeqId or when it is the book's id; a push chained before
    the book's id is already in it (skip) unless it reaches past it (the first push after a
    REST snapshot: apply); else a gap."""
    if not has_prev or prev == book_id:
        return V_APPLY
    if prev < book_id:
        return V_SKIP if last <= book_id else V_APPLY
    return V_GAP


def okx_verdict(int64_t book_id, int64_t last, prev=None):
    """The compiled OKXSeqRule: 0 apply, 1 skip, 2 gap (tested against ``OKXSeqRule.check``)."""
    return okx_verdict_c(book_id, prev is not None, 0 if prev is None else prev, last)


cdef inline Py_ssize_t levels_c(const char* s, Py_ssize_t n, Py_ssize_t i, int8_t side,
                                int price_decimals, int size_decimals,
                                LevelBuffer out) except -2:
    """OKX's level array at i (``[["px","sz","x","n"],...]``, no whitespace) appended to
    ``out``: the offset after its ``]``, or -1 for any other shape or a value
    ``decimal_value_c`` refuses (the deprecated "0" and the order count are skipped). Every
    level read here reads the same in the scanner."""
    return quoted_level_array_c(s, i, n, side, price_decimals, size_decimals, 2, out)


def read_levels(bytes frame not None, Py_ssize_t offset, int side, int price_decimals,
                int size_decimals, LevelBuffer out not None):
    """:func:`levels_c` from Python (for the tests against the scanner): the end or -1."""
    return levels_c(PyBytes_AS_STRING(frame), PyBytes_GET_SIZE(frame), offset, side,
                    price_decimals, size_decimals, out)


cdef class OKXPath(DeltaPath):
    """OKX ``books`` pushes read (updates applied) in one call; see the module docstring.

    ``routes`` are keyed by the instId as OKX sends it (upper case); every route's checksum is
    verified with ``form`` (OKX's legacy CRC32 of the top 25, the BookSync's checksum).
    ``channels`` are the channels whose pushes the feed reads (:meth:`ignores`).
    """

    cdef readonly tuple channels
    cdef dict tops                  # route -> TopCache (each book's top levels and their CRCs)
    cdef object read_frame          # the frame the last read looked at (push_of reuses it)
    cdef int kind
    cdef Route push_route
    cdef int64_t ts_ms

    def __init__(self, routes, TextForm form not None, channels, Py_ssize_t capacity=512):
        cdef Route route
        self._init_routes(routes, capacity)
        for route in self.by_native.values():
            route.form = form
        self.channels = tuple(bytes(channel) for channel in channels)
        self.tops = {}
        self.read_frame = None

    cdef bint checksum_matches(self, L2Book book) noexcept:
        """DeltaPath.checksum_matches through the book's TopCache (the same truncation and
        verdict; a form deeper than TOP_LEVELS through the uncached kernel)."""
        cdef Route route = self.route
        cdef TextForm form = route.form
        if form.form.depth > TOP_LEVELS:
            return DeltaPath.checksum_matches(self, book)
        if route.depth:
            book._truncate(route.depth)
        return top_checksum_matches(self.tops, route, book, form, self.checksum_value,
                                    self.levels)

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        """SCANNED for an update in the strict shape; DECLINED otherwise (``kind`` says whether
        it was a snapshot, whose levels and fields are then in the path)."""
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i
        cdef const char* p
        cdef Route route
        cdef LevelBuffer levels = self.levels
        cdef int64_t value = 0, ts = 0, checksum = 0, prev = 0, seq = 0
        cdef int seen = 0, key
        cdef bint snapshot
        self.route = None
        self.kind = PUSH_NONE
        self.read_frame = frame
        if n < HEAD_LENGTH or memcmp(s, HEAD, HEAD_LENGTH) != 0:
            return ST_DECLINED
        p = <const char*>memchr(s + HEAD_LENGTH, 34, n - HEAD_LENGTH)
        if p == NULL:
            return ST_DECLINED
        route = self.find_route(s + HEAD_LENGTH, p - (s + HEAD_LENGTH))
        if route is None:
            return ST_DECLINED
        i = p - s
        snapshot = False
        if expect(s, i, n, UPDATE, UPDATE_LENGTH) >= 0:
            i += UPDATE_LENGTH
        elif expect(s, i, n, SNAPSHOT, SNAPSHOT_LENGTH) >= 0:
            i += SNAPSHOT_LENGTH
            snapshot = True
        else:
            return ST_DECLINED
        levels.count = 0
        i = levels_c(s, n, i, 1, route.price_decimals, route.size_decimals, levels)
        i = expect(s, i, n, b',"bids":', 8)
        if i < 0:
            return ST_DECLINED
        i = levels_c(s, n, i, 0, route.price_decimals, route.size_decimals, levels)
        while i >= 0 and i < n and s[i] == 44:        # ,"key":int
            if expect(s, i, n, b',"ts":', 6) >= 0:
                key, i = KEY_TS, i + 6
            elif expect(s, i, n, b',"checksum":', 12) >= 0:
                key, i = KEY_CHECKSUM, i + 12
            elif expect(s, i, n, b',"prevSeqId":', 13) >= 0:
                key, i = KEY_PREV, i + 13
            elif expect(s, i, n, b',"seqId":', 9) >= 0:
                key, i = KEY_SEQ, i + 9
            else:
                return ST_DECLINED
            if seen & key:
                return ST_DECLINED
            seen |= key
            i = int_value_c(s, n, i, &value)
            if key == KEY_TS:
                ts = value
            elif key == KEY_CHECKSUM:
                checksum = value
            elif key == KEY_PREV:
                prev = value
            else:
                seq = value
        if (expect(s, i, n, b'}]}', 3) != n or not seen & KEY_TS or ts < 0
                or ts > INT64_MAX // 1_000_000):
            return ST_DECLINED
        self.first_seq = self.last_seq = seq
        self.has_prev = (seen & KEY_PREV) != 0
        self.prev_value = prev
        self.has_checksum = checksum != 0             # 0: absent (deprecated since 2026-06)
        self.checksum_value = checksum
        self.ts_ms = ts
        self.ts_event_ns = ts * 1_000_000
        self.ts_recv_ns = ts_recv_ns
        self.push_route = route
        if snapshot:
            self.kind = PUSH_SNAPSHOT
            return ST_DECLINED
        self.kind = PUSH_UPDATE
        self.route = route
        return ST_SCANNED

    cdef int apply_read(self) noexcept:
        """DeltaPath's apply, with OKXSeqRule's verdict where it differs from PrevRule's: a
        book on the compiled PrevRule applies a push OKX applies (no ``prevSeqId``, or one
        straddling a REST snapshot) as the push after its id; the frame's own fields are put
        back afterwards (a DEFER hands them to the BookSync's rule unchanged)."""
        cdef SyncCore core = self.route.core
        cdef bint has_prev = self.has_prev
        cdef int64_t prev = self.prev_value
        cdef int status
        if (core is None or not core.synced or core.rule != RULE_PREV_C
                or (has_prev and prev == core.book_id)
                or okx_verdict_c(core.book_id, has_prev, prev, self.last_seq) != V_APPLY):
            return DeltaPath.apply_read(self)
        self.has_prev = True
        self.prev_value = core.book_id
        status = DeltaPath.apply_read(self)
        self.has_prev = has_prev
        self.prev_value = prev
        return status

    def push_of(self, bytes frame not None):
        """``(symbol, snapshot?, seqId, prevSeqId or None, checksum or None, ts ms)`` of a books
        push in the strict shape, its levels (asks, then bids) in :attr:`levels`; None for
        anything else. The frame just read is not read again."""
        if frame is not self.read_frame:
            self.read(frame, 0)
        if self.kind == PUSH_NONE:
            return None
        return (self.push_route.symbol, self.kind == PUSH_SNAPSHOT, self.last_seq,
                self.prev_value if self.has_prev else None,
                self.checksum_value if self.has_checksum else None, self.ts_ms)

    def ignores(self, bytes frame not None):
        """True when ``parse_ws`` has nothing to read in ``frame``: a push
        (``{"arg":{"channel":"``) on a channel not in :attr:`channels`, or on one of them for an
        instId no route has, in plain upper-case ASCII (the SymbolMap's case folding finds
        nothing either). False: let ``parse_ws`` decide."""
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i, start, end
        cdef bytes channel
        cdef bint wanted = False
        if n < PUSH_HEAD_LENGTH or memcmp(s, PUSH_HEAD, PUSH_HEAD_LENGTH) != 0:
            return False
        start = PUSH_HEAD_LENGTH
        end = string_end(s, start - 1, n)
        if end < 0:
            return False
        for i in range(start, end - 1):
            if <unsigned char>s[i] >= 128:
                return False                          # parse_ws decides (a decoding error)
        for channel in self.channels:
            if (PyBytes_GET_SIZE(channel) == end - 1 - start
                    and memcmp(PyBytes_AS_STRING(channel), s + start, end - 1 - start) == 0):
                wanted = True
                break
        if not wanted:
            return True
        start = expect(s, end, n, b',"instId":"', 11)
        if start < 0:
            return False
        end = string_end(s, start - 1, n)
        if end < 0:
            return False
        for i in range(start, end - 1):
            if <unsigned char>s[i] >= 128 or 97 <= s[i] <= 122:   # non-ASCII, 'a'..'z'
                return False
        return self.find_route(s + start, end - 1 - start) is None
