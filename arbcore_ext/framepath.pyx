"""The frames around the deltas, in C: venue BBO quotes checked against the book, frames that
carry no book data set aside, and the replay loop that returns to Python only when it must.

After :class:`~arbcore_ext.deltapath.DeltaPath` made a delta one call, a recording's other
frames cost the most: Binance sends two bookTickers per depth diff, each turned into a ``Quote``
object and checked against the book from Python, and a trade for every depth diff, parsed only
to be dropped. Here:

- :class:`BboCheck` is *the* BBO cross-check of one book: a venue quote names the book update it
  reflects; it is compared with the book at exactly that update, now when the book is there,
  or when the book reaches it (quotes that arrive before their update wait, in update order).
  Quotes parsed in Python (``parse_ws``) go through the same object.
- :class:`QuotePath` reads a venue's quote frames in one strict shape (data, like DeltaPath's),
  the four values at the book's scales, straight into the book's BboCheck. Anything else is
  declined for the validating ``parse_ws``.
- :class:`KindFilter` recognises frames whose kind (the venue's own field, e.g. Binance's ``e``)
  is one its parser ignores: they carry no book data, so nothing is parsed.
- :class:`FrameLoop` runs a record iterator through these and the DeltaPath, handing back only
  the records that need Python (REST bodies, declined frames, deltas the BookSync decides).
"""

import types

from cpython.bytes cimport (PyBytes_AS_STRING, PyBytes_Check, PyBytes_FromStringAndSize,
                            PyBytes_GET_SIZE)
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t
from libc.string cimport memchr, memcmp, memmove

from arbcore_ext.book cimport KEY_NONE, L2Book, Walker, walker_init, walker_next
from arbcore_ext.deltapath cimport (ST_APPLIED, ST_DECLINED, ST_SCANNED, ST_SKIPPED, DeltaPath,
                                     Route, SyncCore)
from arbcore_ext.jsonscan cimport decimal_value_c, find_value_c, int_value_c

cdef extern from "Python.h":
    ctypedef struct PyObject
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

cdef extern from *:
    int __builtin_ctz(unsigned int x) noexcept nogil

cdef extern from "string.h":
    void* memmem(const void* haystack, size_t haystacklen, const void* needle,
                 size_t needlelen) noexcept nogil

cdef enum:
    ST_QUOTED = 8     # QuotePath.read: a quote read and checked against its book (after
                      # DeltaPath's statuses, which come from deltapath.pxd)

QUOTED = ST_QUOTED


_MEMBER = types.MemberDescriptorType


cdef struct Pending:
    int64_t update_id
    int64_t values[4]


cdef class BboCheck:
    """The BBO cross-check of one book (its ``core``): matches, mismatches and the quotes that
    wait for their update, kept sorted by update id (one per id: a later quote for the same
    update replaces the earlier one)."""

    cdef readonly SyncCore core
    cdef public int64_t matches
    cdef public int64_t mismatches
    cdef Pending* pending
    cdef Py_ssize_t start
    cdef Py_ssize_t count
    cdef Py_ssize_t capacity

    def __init__(self, SyncCore core not None):
        self.core = core

    def __dealloc__(self):
        PyMem_Free(self.pending)

    @property
    def waiting(self):
        """The quotes that wait, in update order: ``(update_id, bid_price, bid_size, ask_price,
        ask_size)`` each."""
        cdef Pending* row
        rows = []
        for i in range(self.count):
            row = &self.pending[self.start + i]
            rows.append((row.update_id, row.values[0], row.values[1], row.values[2],
                         row.values[3]))
        return rows

    def on_quote(self, update_id, int64_t bid_price, int64_t bid_size, int64_t ask_price,
                 int64_t ask_size):
        """A venue quote at update ``update_id`` (0: it names none, nothing to check)."""
        cdef int64_t values[4]
        if not INT64_MIN <= update_id <= INT64_MAX:
            return  # no book id reaches it (or it is below every one): never compared
        values[0], values[1], values[2], values[3] = bid_price, bid_size, ask_price, ask_size
        self.on_quote_c(update_id, values)

    def after_update(self):
        """The book changed (and is in sync): compare the quote waiting for its new id."""
        self.after_update_c()

    cdef int on_quote_c(self, int64_t update_id, const int64_t* values) except -1:
        cdef SyncCore core = self.core
        if update_id == 0 or not core.synced:
            return 0
        if update_id == core.book_id:
            self.compare(values)
        elif update_id > core.book_id:
            return self.wait(update_id, values)
        return 0

    cdef void after_update_c(self) noexcept:
        cdef int64_t book_id = self.core.book_id
        cdef Pending* head
        while self.count:
            head = &self.pending[self.start]
            if head.update_id > book_id:
                return
            if head.update_id == book_id and self.core.synced:
                self.compare(head.values)
            self.start += 1
            self.count -= 1

    cdef void compare(self, const int64_t* values) noexcept:
        cdef L2Book book = self.core.book
        cdef Walker it
        cdef int64_t key, bid_size, ask_size
        cdef bint same = False
        if book.sides[0].best != KEY_NONE and book.sides[1].best != KEY_NONE:
            walker_init(&it, &book.sides[0])
            if walker_next(&it, &key, &bid_size):
                walker_init(&it, &book.sides[1])
                if walker_next(&it, &key, &ask_size):
                    same = (book.sides[0].best == values[0] and bid_size == values[1]
                            and -book.sides[1].best == values[2] and ask_size == values[3])
        if same:
            self.matches += 1
        else:
            self.mismatches += 1

    cdef int wait(self, int64_t update_id, const int64_t* values) except -1:
        cdef Py_ssize_t at = self.count, capacity
        cdef Pending* grown
        cdef Pending* row
        cdef Pending* base
        if self.start + self.count == self.capacity:
            if self.start:
                memmove(self.pending, self.pending + self.start, self.count * sizeof(Pending))
                self.start = 0
            else:
                capacity = 16 if self.capacity == 0 else 2 * self.capacity
                grown = <Pending*>PyMem_Realloc(self.pending, capacity * sizeof(Pending))
                if grown == NULL:
                    raise MemoryError("BboCheck: out of memory for waiting quotes")
                self.pending, self.capacity = grown, capacity
        base = self.pending + self.start
        while at > 0 and base[at - 1].update_id >= update_id:
            at -= 1
        if at < self.count and base[at].update_id == update_id:
            row = &base[at]                      # the same update again: the later quote
        else:
            memmove(base + at + 1, base + at, (self.count - at) * sizeof(Pending))
            row = &base[at]
            self.count += 1
        row.update_id = update_id
        row.values[0], row.values[1] = values[0], values[1]
        row.values[2], row.values[3] = values[2], values[3]
        return 0


cdef class QuoteRoute:
    """One wire symbol a QuotePath reads: its scales and, once attached, its book's check."""

    cdef readonly str symbol
    cdef int price_decimals
    cdef int size_decimals
    cdef BboCheck check

    def __init__(self, str symbol not None, int price_decimals, int size_decimals):
        self.symbol = symbol
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.check = None


cdef inline Py_ssize_t string_end(const char* s, Py_ssize_t n, Py_ssize_t at) noexcept nogil:
    """The offset of the closing quote of a plain string (no escapes) at ``at``, or -1."""
    cdef Py_ssize_t end
    if at < 0 or at >= n or s[at] != 34:
        return -1
    end = at + 1
    while end < n and s[end] != 34:
        if s[end] == 92:
            return -1
        end += 1
    return end if end < n else -1


cdef enum:
    SHORT_KEYS = 8          # kind, symbol, four values, update id, time


cdef inline bint short_keys_c(const char* s, Py_ssize_t n, const signed char* slot_of,
                              Py_ssize_t* found) noexcept nogil:
    """One pass for frames whose keys are one byte: ``found[slot_of[c]]`` = the value offset of
    the first ``"c":`` (what ``find_value_c`` returns for the key ``c`` from the start), -1 when
    absent. False when whitespace comes next to a wanted key (the caller then asks
    ``find_value_c``, which skips it)."""
    cdef const char* p = s
    cdef const char* q
    cdef Py_ssize_t j
    cdef int slot
    while True:
        q = <const char*>memchr(p, 34, n - (p - s))
        if q == NULL:
            return True
        j = q - s + 1                                 # a key byte candidate after a quote
        p = q + 1
        if j + 1 >= n or s[j + 1] != 34:
            continue
        slot = slot_of[<unsigned char>s[j]]
        if slot < 0:
            continue
        if j + 2 >= n:
            return True
        if s[j + 2] == 58:                            # '"c":'
            if j + 3 < n and <unsigned char>s[j + 3] <= 32:
                return False
            if found[slot] < 0:
                found[slot] = j + 3
        elif <unsigned char>s[j + 2] <= 32:
            return False


cdef enum:
    LONG_KEYS = 9           # SHORT_KEYS, then the base key


cdef inline bint long_keys_c(const char* s, Py_ssize_t n, const unsigned short* slots_of,
                             const char* const* keys, const Py_ssize_t* lengths,
                             Py_ssize_t* found) noexcept nogil:
    """short_keys_c for keys of any length: ``found[slot]`` = the value offset of the first
    ``"key":`` of each slot (``slots_of[c]``: the slots whose key starts with byte c), -1 when
    absent. Every quote is tried as a key's opening one, so a hit is exactly where
    ``find_value_c`` finds the key from the start; False when whitespace comes next to a wanted
    key (the caller then asks ``find_value_c``, which skips it)."""
    cdef const char* q = <const char*>memchr(s, 34, n)
    cdef const char* r
    cdef Py_ssize_t j, after
    cdef unsigned int mask
    cdef int slot
    while q != NULL:
        j = q - s + 1                                 # a key's first byte, if q opens one
        r = <const char*>memchr(s + j, 34, n - j) if j < n else NULL
        if r == NULL:
            return True
        mask = slots_of[<unsigned char>s[j]]
        while mask:
            slot = __builtin_ctz(mask)
            mask &= mask - 1
            if lengths[slot] == (r - s) - j and memcmp(s + j, keys[slot], lengths[slot]) == 0:
                after = (r - s) + 1
                if after >= n:
                    return True
                if s[after] == 58:                    # '"key":'
                    if after + 1 < n and <unsigned char>s[after + 1] <= 32:
                        return False
                    if found[slot] < 0:
                        found[slot] = after + 1
                elif <unsigned char>s[after] <= 32:
                    return False
                break
        q = r


cdef inline bint same_text(const char* s, Py_ssize_t at, Py_ssize_t end, bytes text) noexcept:
    """Whether the string between ``at`` (its opening quote) and ``end`` is exactly ``text``."""
    return (end - at - 1 == PyBytes_GET_SIZE(text)
            and memcmp(s + at + 1, PyBytes_AS_STRING(text), end - at - 1) == 0)


cdef class QuotePath:
    """A venue's quote frames (best bid/ask at a named book update), read and checked in C.

    The shape is data: ``anchor`` starts within the first ``window`` bytes (0: anywhere); the
    first ``kind_key`` string is ``kind`` (None: the key is absent); the symbol is the
    ``symbol_key`` string (after its last ``symbol_sep`` when given); ``value_keys`` name the
    bid price, bid size, ask price and ask size strings and ``update_key`` the update id, all
    searched from ``base_key``'s value (None: from the start); ``time_key``, when present,
    must be an integer. Exactly what the venue's ``parse_ws`` reads; a frame it would read
    differently (an escape, a number it refuses, a symbol without a book) is declined and
    takes that path.
    """

    cdef bytes anchor
    cdef Py_ssize_t window
    cdef bytes kind_key
    cdef bytes kind
    cdef bytes base_key
    cdef bytes symbol_key
    cdef bytes symbol_sep
    cdef tuple value_keys
    cdef bytes update_key
    cdef bytes time_key
    cdef dict by_native
    cdef dict by_symbol
    cdef QuoteRoute last_hit
    cdef bytes route_native
    cdef int64_t quote[5]        # the last quote read: update id, then the four values
    cdef bint has_quote
    cdef bint short              # every key one byte, searched from the start: one pass
    cdef signed char slot_of[256]
    cdef bint one_pass           # not short: every key found in one pass (long_keys_c) too
    cdef bint anchor_is_kind     # the anchor is the quoted kind: a kind match implies it
    cdef unsigned short slots_of[256]
    cdef const char* long_keys[LONG_KEYS]
    cdef Py_ssize_t long_lengths[LONG_KEYS]
    cdef tuple long_key_objects  # keeps long_keys' bytes alive
    #: the symbol of the last quote read here, or one ``parse_ws`` read (the feed's "last seen")
    cdef public object last_symbol

    def __init__(self, routes, *, bytes anchor not None, Py_ssize_t window=0,
                 bytes kind_key not None, bytes kind=None, bytes base_key=None,
                 bytes symbol_key not None, bytes symbol_sep=None, tuple value_keys not None,
                 bytes update_key not None, bytes time_key=None):
        if not anchor or len(value_keys) != 4 or (symbol_sep is not None and len(symbol_sep) != 1):
            raise ValueError("QuotePath needs an anchor, four value keys and a 1-byte separator")
        self.anchor, self.window, self.kind_key, self.kind = anchor, window, kind_key, kind
        self.base_key, self.symbol_key, self.symbol_sep = base_key, symbol_key, symbol_sep
        self.value_keys = tuple(bytes(key) for key in value_keys)
        self.update_key, self.time_key = update_key, time_key
        self.by_native = {}
        self.by_symbol = {}
        for route in routes:
            quote_route = QuoteRoute(route.symbol, route.price_decimals, route.size_decimals)
            self.by_native[bytes(route.native)] = quote_route
            self.by_symbol.setdefault(route.symbol, []).append(quote_route)
        self.last_hit = None
        self.route_native = None
        self.last_symbol = None
        keys = (kind_key, symbol_key, *self.value_keys, update_key, time_key or b"")
        self.short = base_key is None and all(len(key) == 1 for key in keys[:7]) and (
            time_key is None or len(time_key) == 1) and len(set(keys)) == len(keys)
        for i in range(256):
            self.slot_of[i] = -1
        if self.short:
            for i, key in enumerate(keys):
                if key:
                    self.slot_of[key[0]] = i
        keys = (*keys, base_key or b"")
        self.one_pass = not self.short and all(keys[:7]) and len(set(keys)) == len(keys)
        self.anchor_is_kind = window <= 0 and kind is not None and anchor == b'"' + kind + b'"'
        self.long_key_objects = keys
        for i in range(256):
            self.slots_of[i] = 0
        for i, key in enumerate(keys):
            self.long_keys[i] = key
            self.long_lengths[i] = len(key)
            if self.one_pass and key:
                self.slots_of[key[0]] |= 1 << i

    def attach(self, str symbol not None, BboCheck check):
        """Check the symbol's quotes with ``check`` from now on (None: decline them)."""
        cdef QuoteRoute route
        for route in self.by_symbol.get(symbol, ()):
            route.check = check

    @property
    def last_quote(self):
        """``(update_id, bid_price, bid_size, ask_price, ask_size)`` of the last quote read
        (None before the first)."""
        return tuple(self.quote[i] for i in range(5)) if self.has_quote else None

    def read(self, bytes frame not None):
        """Read one frame: QUOTED (checked by its book's BboCheck) or DECLINED."""
        return self.read_c(frame)

    cdef QuoteRoute find_route(self, const char* name, Py_ssize_t length):
        cdef QuoteRoute route = self.last_hit
        cdef bytes native
        if route is not None:
            native = <bytes>self.route_native
            if (PyBytes_GET_SIZE(native) == length
                    and memcmp(PyBytes_AS_STRING(native), name, length) == 0):
                return route
        native = PyBytes_FromStringAndSize(name, length)
        route = self.by_native.get(native)
        if route is not None:
            self.last_hit = route
            self.route_native = native
        return route

    cdef inline Py_ssize_t found_from(self, const char* s, Py_ssize_t n, bint one_pass,
                                      const Py_ssize_t* found, int slot,
                                      Py_ssize_t base) noexcept:
        """``find_value_c`` of the slot's key from ``base``: the one-pass hit when ``one_pass`` and
        the key starts at or after ``base`` (or occurs nowhere), else searched again."""
        cdef Py_ssize_t at = found[slot] if one_pass else 0
        if one_pass and (at < 0 or at - self.long_lengths[slot] - 2 >= base):
            return at
        return find_value_c(s, n, self.long_keys[slot], self.long_lengths[slot], base)

    cdef int read_c(self, bytes frame) except -1:
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), k, limit, base = 0, at, end, name
        cdef Py_ssize_t found[LONG_KEYS]
        cdef const char* p
        cdef QuoteRoute route
        cdef int64_t values[4]
        cdef int64_t update_id, when
        cdef int i, decimals
        cdef bint short, one_pass = False
        if self.one_pass:
            for i in range(LONG_KEYS):
                found[i] = -1
            one_pass = long_keys_c(s, n, self.slots_of, self.long_keys, self.long_lengths, found)
        k = PyBytes_GET_SIZE(self.anchor)
        limit = n if self.window <= 0 or self.window + k - 1 > n else self.window + k - 1
        if (not (one_pass and self.anchor_is_kind)
                and memmem(s, limit, PyBytes_AS_STRING(self.anchor), k) == NULL):
            return ST_DECLINED
        short = self.short
        if short:
            for i in range(SHORT_KEYS):
                found[i] = -1
            short = short_keys_c(s, n, self.slot_of, found)
        if short or one_pass:
            at = found[0]
        else:
            at = find_value_c(s, n, self.kind_key, PyBytes_GET_SIZE(self.kind_key), 0)
        if self.kind is None:
            if at >= 0:
                return ST_DECLINED
        else:
            end = string_end(s, n, at)
            if end < 0 or not same_text(s, at, end, self.kind):
                return ST_DECLINED
        if self.base_key is not None:
            if one_pass:
                base = found[LONG_KEYS - 1]
            else:
                base = find_value_c(s, n, self.base_key, PyBytes_GET_SIZE(self.base_key), 0)
            if base < 0:
                return ST_DECLINED
        if short or one_pass:
            at = found[1]
        else:
            at = find_value_c(s, n, self.symbol_key, PyBytes_GET_SIZE(self.symbol_key), 0)
        end = string_end(s, n, at)
        if end < 0:
            return ST_DECLINED
        name = at + 1
        if self.symbol_sep is not None:
            name = end - 1
            while name > at and s[name] != self.symbol_sep[0]:
                name -= 1
            if name == at:
                return ST_DECLINED
            name += 1
        route = self.find_route(s + name, end - name)
        if route is None or route.check is None:
            return ST_DECLINED
        for i in range(4):
            if short:
                at = found[2 + i]
            else:
                at = self.found_from(s, n, one_pass, found, 2 + i, base)
            end = string_end(s, n, at)
            decimals = route.price_decimals if i % 2 == 0 else route.size_decimals
            if end < 0:
                return ST_DECLINED
            if decimal_value_c(s, at, n, decimals, True, &values[i]) != end + 1:
                return ST_DECLINED
        if short:
            at = found[6]
        else:
            at = self.found_from(s, n, one_pass, found, 6, base)
        if int_value_c(s, n, at, &update_id) < 0:
            return ST_DECLINED
        if self.time_key is not None:
            if short:
                at = found[7]
            else:
                at = self.found_from(s, n, one_pass, found, 7, base)
            if at >= 0 and int_value_c(s, n, at, &when) < 0:
                return ST_DECLINED
        self.last_symbol = route.symbol
        self.quote[0] = update_id
        for i in range(4):
            self.quote[i + 1] = values[i]
        self.has_quote = True
        route.check.on_quote_c(update_id, values)
        return ST_QUOTED


cdef class KindFilter:
    """Frames whose first ``key`` string is one of ``kinds`` (``None`` in ``kinds``: frames
    without the key): kinds the venue's parser ignores (trades, acks), so the frame carries no
    book data and nothing needs to read it. ``also``: a second filter, whose frames match too
    (Gate.io: its book channels' subscription acks, by their ``event``). ``objects_only``: only
    a frame that starts with ``{`` can match, so a venue whose book data comes in arrays (Kraken
    v1: snapshots of tens of KB) never has those searched end to end for the key."""

    cdef bytes key
    cdef tuple kinds
    cdef bint absent
    cdef KindFilter also
    cdef bint objects_only

    def __init__(self, bytes key not None, kinds, KindFilter also=None, *,
                 bint objects_only=False):
        self.key = key
        self.kinds = tuple(bytes(kind) for kind in kinds if kind is not None)
        self.absent = any(kind is None for kind in kinds)
        self.also = also
        self.objects_only = objects_only

    def matches(self, bytes frame not None):
        return self.matches_c(frame)

    cdef bint matches_c(self, bytes frame) noexcept:
        return self.first_is_kind(frame) or (self.also is not None and self.also.matches_c(frame))

    cdef bint first_is_kind(self, bytes frame) noexcept:
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), at, end
        if self.objects_only and (n == 0 or s[0] != b'{'):
            return False
        at = find_value_c(s, n, self.key, PyBytes_GET_SIZE(self.key), 0)
        if at < 0:
            return self.absent
        end = string_end(s, n, at)
        if end < 0:
            return False
        for kind in self.kinds:
            if same_text(s, at, end, <bytes>kind):
                return True
        return False


cdef class FrameLoop:
    """The compiled part of a replay: records from an iterator through the feed's DeltaPath,
    QuotePath and KindFilter (each may be None); :meth:`run` returns the next record that needs
    Python, with :attr:`status` saying why (a DeltaPath status, or DECLINED: parse it).

    Counts what the replay report counts: ``messages`` (ws and rest records) and
    ``book_events`` (deltas the DeltaPath read). After every delta it applies, the book's
    BboCheck (:meth:`attach`) sees the new update.
    """

    cdef DeltaPath path
    cdef QuotePath quotes
    cdef KindFilter no_book
    cdef dict checks
    cdef Route last_route
    cdef BboCheck last_check
    cdef public int64_t messages
    cdef public int64_t book_events
    cdef readonly int status
    cdef type record_type           # records of this class are read from their slots
    cdef bint learnt                # record_type decided (from the first record)
    cdef Py_ssize_t offsets[4]      # kind, payload, connection, ts_ns

    def __init__(self, DeltaPath path=None, QuotePath quotes=None, KindFilter no_book=None):
        self.path, self.quotes, self.no_book = path, quotes, no_book
        self.checks = {}
        self.record_type = None

    cdef learn(self, object record):
        """Read ``record``'s class from its slots when its four fields are plain slots of that
        very class (attrs ``Record``); anything else keeps ``getattr``."""
        cls = type(record)
        if cls.__getattribute__ is not object.__getattribute__:
            return
        for i, name in enumerate(("kind", "payload", "connection", "ts_ns")):
            descr = cls.__dict__.get(name)
            if type(descr) is not _MEMBER or (<PyMemberDescrObject*>descr).d_member.type != 16:
                return                                   # not a T_OBJECT_EX slot
            self.offsets[i] = (<PyMemberDescrObject*>descr).d_member.offset
        self.record_type = cls

    cdef inline object field(self, object record, int i, str name):
        """A field of a record (from its slot when the class was learnt and the slot is set)."""
        cdef PyObject* value
        if type(record) is self.record_type:
            value = (<PyObject**>(<char*><PyObject*>record + self.offsets[i]))[0]
            if value != NULL:
                return <object>value
        return getattr(record, name)

    def attach(self, str symbol not None, BboCheck check not None):
        """``check`` is the BboCheck of ``symbol``'s book: it follows the deltas applied here."""
        self.last_route = None
        if self.path is not None:
            for route in self.path.by_symbol.get(symbol, ()):
                self.checks[route] = check
        if self.quotes is not None:
            self.quotes.attach(symbol, check)

    cdef BboCheck check_of(self, Route route):
        if route is not self.last_route:
            self.last_route = route
            self.last_check = self.checks.get(route)
        return self.last_check

    def run(self, records):
        """Records from the iterator ``records`` until one needs Python: that record (None when
        the iterator is exhausted)."""
        cdef DeltaPath path = self.path
        cdef BboCheck check
        cdef int status
        cdef object record, kind, payload
        while True:
            record = next(records, None)
            if record is None:
                return None
            if not self.learnt:
                self.learnt = True
                self.learn(record)
            kind = self.field(record, 0, "kind")
            if kind == "ws":
                self.messages += 1
            elif kind == "rest":
                self.messages += 1
                self.status = ST_DECLINED
                return record
            else:
                continue
            payload = self.field(record, 1, "payload")
            if not PyBytes_Check(payload):
                self.status = ST_DECLINED
                return record
            if path is not None:
                path.connection = self.field(record, 2, "connection")
                status = path.read(<bytes>payload, self.field(record, 3, "ts_ns"))
                if status == ST_SCANNED:
                    self.book_events += 1
                    status = path.apply_read()
                    if status == ST_APPLIED:
                        check = self.check_of(path.route)
                        if check is not None:
                            check.after_update_c()
                        continue
                    if status == ST_SKIPPED:
                        continue
                    self.status = status
                    return record
                if status != ST_DECLINED:
                    self.status = status
                    return record
            if self.quotes is not None and self.quotes.read_c(<bytes>payload) == ST_QUOTED:
                continue
            if self.no_book is not None and self.no_book.matches_c(<bytes>payload):
                continue
            self.status = ST_DECLINED
            return record
