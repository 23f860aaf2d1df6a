"""Bitfinex book channels in one call: :class:`ChannelPath` reads ``[chanId,[price,count,
amount],seq]`` updates and ``"cs"`` checksum frames, keeps the connection's sequence (SEQ_ALL)
in its :class:`ChannelState` and applies through the DeltaPath machinery (see deltapath.pyx)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport INT64_MAX, int64_t
from libc.string cimport memcmp

from arbcore_ext._types cimport STATUS_OK
from arbcore_ext.book cimport L2Book, LevelBuffer
from arbcore_ext.deltapath cimport ST_DECLINED, DeltaPath, Route, cached_checksum_matches
from arbcore_ext.fixedpoint cimport parse_decimal_c


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
