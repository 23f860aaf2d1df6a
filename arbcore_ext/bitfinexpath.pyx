"""Bitfinex book channels in one call: :class:`ChannelPath` reads ``[chanId,[price,count,
amount],seq]`` updates and ``"cs"`` checksum frames, keeps the connection's sequence (SEQ_ALL)
in its :class:`ChannelState` and applies through the DeltaPath machinery (see deltapath.pyx)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.stdint cimport INT64_MAX, int64_t, uint64_t
from libc.string cimport memcmp, memset

from arbcore_ext._types cimport STATUS_OK
from arbcore_ext.book cimport L2Book, LevelBuffer
from arbcore_ext.deltapath cimport ST_DECLINED, DeltaPath, Route, cached_checksum_matches
from arbcore_ext.fixedpoint cimport parse_decimal_c

from types import MappingProxyType


cdef inline bint is_digit(char c) noexcept nogil:
    return <unsigned char>(c - 48) < 10


cdef inline Py_ssize_t uint_end(const char* s, Py_ssize_t i, Py_ssize_t n,
                                int64_t* value) noexcept nogil:
    """A JSON unsigned integer (``0`` or no leading zero, at most 18 digits) at i: the offset
    after it, or -1."""
    cdef Py_ssize_t start = i
    cdef int64_t v = 0
    while i < n and is_digit(s[i]) and i - start < 19:
        v = v * 10 + (s[i] - 48)
        i += 1
    if i == start or i - start > 18 or (s[start] == 48 and i - start > 1):
        return -1
    value[0] = v
    return i


cdef inline Py_ssize_t framed_uint_end(const char* s, Py_ssize_t i, int64_t* value) noexcept nogil:
    """:func:`uint_end` inside a frame that ends with ``]`` (chan_head checked it): no digit
    lies past the end, so the digits need no bound check."""
    cdef Py_ssize_t start = i
    cdef uint64_t v = 0
    while is_digit(s[i]):
        v = v * 10 + <uint64_t>(s[i] - 48)
        i += 1
    if i == start or i - start > 18 or (s[start] == 48 and i - start > 1):
        return -1
    value[0] = <int64_t>v
    return i


cdef inline Py_ssize_t chan_head(const char* s, Py_ssize_t n, int64_t* chan) noexcept nogil:
    """The offset after ``[chanId,`` at the start of a channel frame ``[...]`` (chanId a JSON
    unsigned integer, its value read into ``chan``), or -1."""
    cdef Py_ssize_t i
    if n < 6 or s[0] != 91 or s[n - 1] != 93:
        return -1
    i = framed_uint_end(s, 1, chan)
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
        i = framed_uint_end(s, i + 1, seq)
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


cdef int64_t POW10[19]
POW10[0] = 1
for _k in range(1, 19):
    POW10[_k] = POW10[_k - 1] * 10


cdef inline Py_ssize_t decimal_end(const char* s, Py_ssize_t i, Py_ssize_t n, bint signed,
                                   int decimals, int64_t* raw, bint* ok) noexcept nogil:
    """:func:`number_end`'s number at i inside a frame that ends with ``]`` (no bound checks
    on the digits), its value scaled by 10**decimals read on the way into ``raw``: the end, or
    -1. ``ok`` says whether it converted, exactly as parse_decimal_c decides (a non-zero digit
    beyond the scale, or a value out of range, does not); scanning the text and then
    parse_decimal_c's two passes over it were most of a level's cost."""
    cdef Py_ssize_t at = i, start, stop
    cdef bint negative = False, lost = False
    cdef uint64_t acc = 0
    ok[0] = False
    if signed and s[i] == 45:
        negative = True
        i += 1
    start = i
    while is_digit(s[i]):
        acc = acc * 10 + <uint64_t>(s[i] - 48)
        i += 1
    if i == start or (s[start] == 48 and i - start > 1):
        return -1
    if decimals < 0 or i - start + decimals > 18:
        # more than 18 digits may not fit int64: parse_decimal_c decides
        if s[i] == 46:
            start = i + 1
            i = start
            while is_digit(s[i]):
                i += 1
            if i == start:
                return -1
        ok[0] = parse_decimal_c(s + at, i - at, decimals, signed, raw) == STATUS_OK
        return i
    stop = i + 1 + decimals       # the fraction's digits from here on lie beyond the scale
    if s[i] == 46:
        i += 1
        start = i
        while is_digit(s[i]) and i < stop:
            acc = acc * 10 + <uint64_t>(s[i] - 48)
            i += 1
        stop = i
        while is_digit(s[i]):
            lost |= s[i] != 48
            i += 1
        if i == start:
            return -1
        if lost:
            return i
        acc *= <uint64_t>POW10[decimals - (stop - start)]
    else:
        acc *= <uint64_t>POW10[decimals]
    raw[0] = -<int64_t>acc if negative else <int64_t>acc
    ok[0] = True
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


cdef inline Py_ssize_t snapshot_decimal_end(const char* s, Py_ssize_t i, Py_ssize_t n,
                                            bint signed, int decimals, int64_t* raw,
                                            bint* ok) noexcept nogil:
    """:func:`decimal_end`, exponent allowed (:func:`json_number_end`: snapshots of small
    prices, read by parse_decimal_c)."""
    cdef Py_ssize_t end = decimal_end(s, i, n, signed, decimals, raw, ok)
    if end < 0 or end >= n or (s[end] != 101 and s[end] != 69):     # 'e' 'E'
        return end
    end = json_number_end(s, i, n, signed)
    ok[0] = end >= 0 and parse_decimal_c(s + i, end - i, decimals, signed, raw) == STATUS_OK
    return end


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

    Each channel's route and last message number are a C record (:c:type:`Chan`) the compiled
    path finds by the id's value, without building the id's bytes or a Python int per frame
    (the dicts they replaced were a third of an update's cost); :attr:`book_last` is their
    Python view.
    """

    def __init__(self, DeltaPath path=None):
        self.path = path
        self.books = {}
        self.routes = {}
        self.counter = 0
        self.has_last = False
        self.last = 0
        self.hit = -1

    def __dealloc__(self):
        cdef Py_ssize_t i
        for i in range(self.count):
            Py_XDECREF(self.chans[i].key)
            Py_XDECREF(self.chans[i].route)
        PyMem_Free(self.chans)

    cdef Py_ssize_t find_value(self, int64_t value) noexcept:
        """The index of the channel a frame spells ``value`` (a canonical id), or -1."""
        cdef Py_ssize_t i = self.hit
        cdef Chan* chans = self.chans
        if 0 <= i < self.count and chans[i].value == value and chans[i].matchable:
            return i
        for i in range(self.count):
            if chans[i].value == value and chans[i].matchable:
                self.hit = i
                return i
        return -1

    cdef Py_ssize_t find_key(self, bytes key) noexcept:
        """The index of the channel ``key``, or -1."""
        cdef Py_ssize_t i, n = PyBytes_GET_SIZE(key)
        cdef PyObject* other
        for i in range(self.count):
            other = self.chans[i].key
            if (PyBytes_GET_SIZE(<bytes>other) == n
                    and memcmp(PyBytes_AS_STRING(<bytes>other), PyBytes_AS_STRING(key), n) == 0):
                return i
        return -1

    cdef Py_ssize_t add_chan(self, bytes key) except -1:
        """A record for the channel ``key`` (not yet known): its index."""
        cdef Py_ssize_t n = PyBytes_GET_SIZE(key), capacity
        cdef Chan* chans
        cdef Chan* chan
        cdef int64_t value = 0
        if self.count == self.capacity:
            capacity = 2 * self.capacity if self.capacity else 8
            chans = <Chan*>PyMem_Realloc(self.chans, capacity * sizeof(Chan))
            if chans == NULL:
                raise MemoryError()
            self.chans, self.capacity = chans, capacity
        chan = &self.chans[self.count]
        memset(chan, 0, sizeof(Chan))
        chan.key = <PyObject*>key
        Py_INCREF(key)
        chan.matchable = n > 0 and uint_end(PyBytes_AS_STRING(key), 0, n, &value) == n
        chan.value = value
        self.count += 1
        return self.count - 1

    cdef void drop_idle(self, Py_ssize_t i) noexcept:
        """Forget channel ``i`` when it is neither a book nor has a last message."""
        cdef Chan* chan = &self.chans[i]
        if chan.in_books or chan.has_last:
            return
        Py_XDECREF(chan.key)
        Py_XDECREF(chan.route)
        self.count -= 1
        if i != self.count:
            self.chans[i] = self.chans[self.count]
        self.hit = -1

    def add_book(self, bytes chan not None, instrument):
        """``chan`` is the book channel of ``instrument`` (a subscribe was confirmed)."""
        cdef Py_ssize_t i
        self.books[chan] = instrument
        routes = None if self.path is None else self.path.by_symbol.get(instrument.symbol)
        route = routes[0] if routes else None
        self.routes[chan] = route
        i = self.find_key(chan)
        if i < 0:
            i = self.add_chan(chan)
        self.chans[i].in_books = True
        Py_XDECREF(self.chans[i].route)
        self.chans[i].route = NULL
        if route is not None:
            Py_INCREF(route)
            self.chans[i].route = <PyObject*>route

    def drop_book(self, bytes chan not None):
        """``chan`` is no longer a book channel (unsubscribed); its last message no longer
        matters."""
        cdef Py_ssize_t i = self.find_key(chan)
        self.books.pop(chan, None)
        self.routes.pop(chan, None)
        if i < 0:
            return
        if self.chans[i].has_last:
            self.chans[i].has_last = False
            self.with_last -= 1
        self.chans[i].in_books = False
        self.drop_idle(i)

    @property
    def book_last(self):
        """Channel -> the number of its last message, for the channels that had one since
        they became books (or since :meth:`clear_book_last`), in that order; a new dict."""
        cdef Py_ssize_t i
        found = sorted((self.chans[i].stamp, i) for i in range(self.count)
                       if self.chans[i].has_last)
        return {<object>self.chans[i].key: self.chans[i].last for _, i in found}

    def clear_book_last(self):
        """Forget every channel's last message (the connection lost a frame)."""
        cdef Py_ssize_t i
        for i in range(self.count - 1, -1, -1):
            self.chans[i].has_last = False
            self.drop_idle(i)
        self.with_last = 0

    @property
    def last_seq(self):
        """The last frame's sequence; None when it had none (or no frame came yet)."""
        return self.last if self.has_last else None

    @last_seq.setter
    def last_seq(self, value):
        self.has_last = value is not None
        self.last = 0 if value is None else value

    cdef bint continues_c(self, bint has_seq, int64_t seq) noexcept:
        if self.with_last == 0:
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

    cdef int64_t count_c(self, bint has_seq, int64_t seq, Py_ssize_t chan, bint* has_prev,
                         int64_t* prev) noexcept:
        """Count a frame (of channel record ``chan``, -1: none): its number, and the channel's
        previous one in ``prev``/``has_prev``."""
        cdef int64_t number
        cdef Chan* record
        self.counter += 1
        self.has_last = has_seq
        self.last = seq if has_seq else 0
        number = seq if has_seq else self.counter
        if chan < 0:
            has_prev[0] = False
            return number
        record = &self.chans[chan]
        has_prev[0] = record.has_last
        prev[0] = record.last if record.has_last else 0
        if not record.has_last:
            record.has_last = True
            record.stamp = self.stamps
            self.stamps += 1
            self.with_last += 1
        record.last = number
        return number

    def count_frame(self, seq, chan=None):
        """Count one channel frame (SEQ_ALL numbers every channel's): its sequence (the arrival
        count without SEQ_ALL) and, for a book channel's frame (``chan``), the number of that
        channel's previous frame, which this one names (None for its first); else None."""
        cdef bint has_prev = False
        cdef int64_t prev = 0
        cdef Py_ssize_t i = -1
        cdef bint has_seq = seq is not None
        cdef int64_t value = seq if has_seq else 0
        if chan is not None:
            i = self.find_key(chan)
            if i < 0:
                i = self.add_chan(chan)
        number = self.count_c(has_seq, value, i, &has_prev, &prev)
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
        self.states = {}
        self.caches = {}
        self._init_routes(routes, capacity)

    @property
    def connections(self):
        """Connection -> its :class:`ChannelState` (read-only: :meth:`state` and
        :meth:`forget` change it)."""
        return MappingProxyType(self.states)

    def state(self, int64_t connection=0):
        """``connection``'s :class:`ChannelState`, a new one (on this path's routes) for a
        connection not seen yet."""
        state = self.states.get(connection)
        if state is None:
            state = self.states[connection] = ChannelState(self)
        return state

    def forget(self, int64_t connection=0):
        """Drop ``connection``'s state: a new socket numbers its messages from the start and
        assigns new channel ids."""
        self.states.pop(connection, None)
        self.last_state = None

    cdef ChannelState state_of(self, int64_t connection):
        """``connection``'s state or None; the last one found is kept (a frame's dict lookup
        cost as much as reading its level), which :meth:`forget` drops."""
        cdef ChannelState state = self.last_state
        if state is not None and connection == self.last_connection:
            return state
        state = self.states.get(connection)
        if state is not None:
            self.last_state, self.last_connection = state, connection
        return state

    cdef inline Py_ssize_t book_chan(self, int64_t connection, int64_t chan):
        """Where channel ``chan`` is in ``connection``'s state when it is a kept book's (that
        state is then :attr:`last_state`, and the channel's route is set), else -1."""
        cdef ChannelState state = self.state_of(connection)
        cdef Py_ssize_t k
        if state is None:
            return -1
        k = state.find_value(chan)
        if k < 0 or not state.chans[k].in_books or state.chans[k].route == NULL:
            return -1
        return k

    cdef bint checksum_matches(self, L2Book book) noexcept:
        return cached_checksum_matches(self, self.caches, book)

    cdef int read(self, bytes frame, int64_t ts_recv_ns) except -1:
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i, k
        cdef int64_t chan = 0, count = 0, checksum = 0, seq = 0, price = 0, amount = 0
        cdef bint is_checksum, negative, has_seq = False, has_prev = False, ok = False
        cdef int64_t prev = 0, number
        cdef ChannelState state
        cdef Route route
        cdef LevelBuffer levels = self.levels
        self.route = None
        i = chan_head(s, n, &chan)
        if i < 0:
            return ST_DECLINED
        k = self.book_chan(self.connection, chan)
        if k < 0:
            return ST_DECLINED
        state = self.last_state
        route = <Route>state.chans[k].route
        is_checksum = s[i] != 91
        if not is_checksum:
            i = decimal_end(s, i + 1, n, False, route.price_decimals, &price, &ok)
            if i < 0 or i >= n or s[i] != 44 or not ok:
                return ST_DECLINED      # a price that does not convert: the validating path
            i = framed_uint_end(s, i + 1, &count)
            if i < 0 or i >= n or s[i] != 44:
                return ST_DECLINED
            i = decimal_end(s, i + 1, n, True, route.size_decimals, &amount, &ok)
            if i < 0 or i >= n or s[i] != 93 or not ok or amount == 0:
                return ST_DECLINED      # raises the error
            i += 1
        else:
            if n - i < 6 or memcmp(s + i, b'"cs",', 5) != 0:
                return ST_DECLINED
            i += 5
            negative = s[i] == 45
            i = framed_uint_end(s, i + negative, &checksum)
            if i < 0:
                return ST_DECLINED
            if negative:
                checksum = -checksum
        if not seq_end(s, i, n, &has_seq, &seq) or not state.continues_c(has_seq, seq):
            return ST_DECLINED
        levels.count = 0
        if not is_checksum:
            levels.push(0 if amount > 0 else 1, price,
                        0 if count == 0 else (amount if amount > 0 else -amount))
        number = state.count_c(has_seq, seq, k, &has_prev, &prev)
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
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i, k, at
        cdef int64_t chan = 0, count = 0, seq = 0, price = 0, amount = 0
        cdef bint has_seq = False, ok = False
        cdef ChannelState state
        cdef Route route
        cdef LevelBuffer levels = self.levels
        i = chan_head(s, n, &chan)
        if i < 0 or n - i < 3 or s[i] != 91:
            return None
        i += 1
        k = self.book_chan(connection, chan)
        if k < 0:
            return None
        state = self.last_state
        route = <Route>state.chans[k].route
        levels.count = 0
        if s[i] == 93:
            i += 1
        else:
            while True:
                if s[i] != 91:
                    levels.count = 0
                    return None
                at = i + 1
                i = snapshot_decimal_end(s, at, n, False, route.price_decimals, &price, &ok)
                if i < 0 or i >= n or s[i] != 44 or not ok:
                    levels.count = 0
                    return None
                i = framed_uint_end(s, i + 1, &count)
                if i < 0 or i >= n or s[i] != 44:
                    levels.count = 0
                    return None
                at = i + 1
                i = snapshot_decimal_end(s, at, n, True, route.size_decimals, &amount, &ok)
                if (i < 0 or i + 1 >= n or s[i] != 93 or not ok
                        or amount == 0 or amount == -INT64_MAX - 1):
                    levels.count = 0
                    return None
                if levels.count == levels.capacity:
                    levels.reserve(1)
                levels.push(0 if amount > 0 else 1, price,
                            0 if count == 0 else (amount if amount > 0 else -amount))
                i += 1
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
        return <object>state.chans[k].key, (seq if has_seq else None)

    def skip_frame(self, bytes frame not None, int64_t connection=0):
        """Count a channel frame that carries no book data, in the strict shape, when it
        continues the connection's sequence: a heartbeat ``[chanId,"hb"(,seq)]``, or a frame of
        a channel that is not a book's whose payload is numbers (``[chanId,[...](,seq)]``,
        ``[chanId,"te"|"tu",[...](,seq)]``: tickers, trades). True when counted (the validating
        path would count it the same way and return no event); False, nothing changed, for
        anything else (the validating path decodes it, and turns a broken sequence into gap
        events)."""
        cdef const char* s = PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), i, k
        cdef int64_t chan = 0, seq = 0, prev = 0
        cdef bint has_seq = False, has_prev = False
        cdef ChannelState state
        i = chan_head(s, n, &chan)
        if i < 0 or n - i < 2:
            return False
        state = self.state_of(connection)
        if state is None:
            return False
        if n - i >= 5 and memcmp(s + i, b'"hb"', 4) == 0:
            i += 4
        else:
            k = state.find_value(chan)
            if k >= 0 and state.chans[k].in_books:
                return False
            if s[i] == 91:
                i = numbers_end(s, i, n, 3)
            elif n - i >= 6 and (memcmp(s + i, b'"te",', 5) == 0
                                 or memcmp(s + i, b'"tu",', 5) == 0):
                i = numbers_end(s, i + 5, n, 3)
            else:
                return False
        if i < 0 or not seq_end(s, i, n, &has_seq, &seq) or not state.continues_c(has_seq, seq):
            return False
        state.count_c(has_seq, seq, -1, &has_prev, &prev)
        return True
