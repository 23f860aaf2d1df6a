"""L2 order book on native memory with exact fixed-point prices.

Real diffs land deep (on Binance BTCUSDT the median update is ~2,600 ticks from the touch) and
most of them insert or delete a level, so a sorted array spends its time in memmove. Each side
here keeps a dense size array indexed directly by tick inside a window of ``W`` ticks (a ring
buffer, so moving the window only touches the levels that cross its edge), a bitmap of occupied
ticks so the next best level is a word scan away, and a flat sorted overflow (best at the end)
for the levels outside the window. The touch sits about W/8 from the window's edge: a side's
levels all lie on one side of its own touch, so the rest of the window holds depth.

Keys: bids store the raw price, asks the negated raw price, so "best" is always the highest key
and one set of routines serves both sides.
"""

cimport cython
from cpython.long cimport PyLong_AsLongLong
from libc.stdint cimport int8_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memmove, memset

cimport numpy as cnp

from arbcore_ext._types cimport (
    STATUS_BAD_PRICE,
    STATUS_BAD_SIDE,
    STATUS_BAD_SIZE,
    STATUS_NO_MEMORY,
    STATUS_OK,
    price_t,
    qty_t,
)

import numpy as np

from arbcore_ext.errors import BookError
from arbcore_ext.fixedpoint import to_raw

cnp.import_array()

BID = 0
ASK = 1

cdef enum:
    MIN_AUTO_WIDTH = 256
    MAX_AUTO_WIDTH = 65536
    MIN_WIDTH = 256   # the touch must land inside the window after 64-tick alignment
    MAX_WIDTH = 1 << 24
    ADAPT_PERIOD = 16384
    NOGIL_MIN_LEVELS = 256

# The window is sized so the touch leaves ~0.3 % of the price in ticks below it.
cdef double WIDTH_PRICE_FRACTION = 0.003
cdef double GROW_OVERFLOW_RATIO = 0.10
cdef double SHRINK_OVERFLOW_RATIO = 0.01


# ---------------------------------------------------------------------------------------------
# side: window + overflow
# ---------------------------------------------------------------------------------------------

cdef inline int64_t align_up_64(int64_t x) noexcept nogil:
    return (x + 63) & ~(<int64_t>63)


cdef int side_alloc_window(Side* s, int64_t width) noexcept nogil:
    s.width = width
    s.mask = width - 1 if width else 0
    s.nwords = width >> 6
    s.placed = False
    if width == 0:
        s.sizes = NULL
        s.bits = NULL
        return STATUS_OK
    s.sizes = <int64_t*>calloc(width, sizeof(int64_t))
    s.bits = <uint64_t*>calloc(s.nwords, sizeof(uint64_t))
    if s.sizes == NULL or s.bits == NULL:
        free(s.sizes)
        free(s.bits)
        s.sizes = NULL
        s.bits = NULL
        s.width = 0
        return STATUS_NO_MEMORY
    return STATUS_OK


cdef void side_free(Side* s) noexcept nogil:
    free(s.sizes)
    free(s.bits)
    free(s.ov_keys)
    free(s.ov_sizes)
    s.sizes = NULL
    s.bits = NULL
    s.ov_keys = NULL
    s.ov_sizes = NULL
    s.ov_cap = 0
    s.ov_len = 0
    s.ov_start = 0


cdef void side_clear(Side* s) noexcept nogil:
    """Empty the side. Sizes of unset ticks are never read, so only the bitmap is cleared."""
    if s.width and s.win_count:
        memset(s.bits, 0, s.nwords * sizeof(uint64_t))
    s.win_count = 0
    s.ov_len = 0
    s.ov_start = s.ov_cap >> 1
    s.best = KEY_NONE
    s.placed = False


cdef Py_ssize_t ov_lower_bound(const Side* s, int64_t key) noexcept nogil:
    """First overflow index whose key is >= key."""
    cdef Py_ssize_t lo = s.ov_start, hi = s.ov_start + s.ov_len, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if s.ov_keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int ov_reserve(Side* s, Py_ssize_t extra) noexcept nogil:
    """Make room for ``extra`` more levels at each end; the live range moves to the middle."""
    cdef Py_ssize_t needed = s.ov_len + 2 * extra + 2
    cdef Py_ssize_t new_cap = s.ov_cap
    cdef Py_ssize_t new_start
    cdef int64_t* keys
    cdef int64_t* sizes
    if needed * 2 > new_cap:
        new_cap = 64 if new_cap < 64 else new_cap
        while needed * 2 > new_cap:
            new_cap *= 2
    if new_cap != s.ov_cap:
        keys = <int64_t*>realloc(s.ov_keys, new_cap * sizeof(int64_t))
        if keys == NULL:
            return STATUS_NO_MEMORY
        s.ov_keys = keys
        sizes = <int64_t*>realloc(s.ov_sizes, new_cap * sizeof(int64_t))
        if sizes == NULL:
            return STATUS_NO_MEMORY
        s.ov_sizes = sizes
        s.ov_cap = new_cap
    new_start = (new_cap - s.ov_len) >> 1
    if new_start != s.ov_start and s.ov_len:
        memmove(&s.ov_keys[new_start], &s.ov_keys[s.ov_start], s.ov_len * sizeof(int64_t))
        memmove(&s.ov_sizes[new_start], &s.ov_sizes[s.ov_start], s.ov_len * sizeof(int64_t))
    s.ov_start = new_start
    return STATUS_OK


cdef int ov_insert_at(Side* s, Py_ssize_t i, int64_t key, int64_t size) noexcept nogil:
    """Insert before index i, shifting whichever part of the array is shorter."""
    cdef Py_ssize_t n_front = i - s.ov_start
    cdef Py_ssize_t n_back = s.ov_start + s.ov_len - i
    cdef Py_ssize_t old_start
    if n_front <= n_back:
        if s.ov_start == 0:
            old_start = s.ov_start
            if ov_reserve(s, 1) != STATUS_OK:
                return STATUS_NO_MEMORY
            i += s.ov_start - old_start
        if n_front:
            memmove(&s.ov_keys[s.ov_start - 1], &s.ov_keys[s.ov_start], n_front * sizeof(int64_t))
            memmove(&s.ov_sizes[s.ov_start - 1], &s.ov_sizes[s.ov_start], n_front * sizeof(int64_t))
        s.ov_start -= 1
        i -= 1
    else:
        if s.ov_start + s.ov_len >= s.ov_cap:
            old_start = s.ov_start
            if ov_reserve(s, 1) != STATUS_OK:
                return STATUS_NO_MEMORY
            i += s.ov_start - old_start
        memmove(&s.ov_keys[i + 1], &s.ov_keys[i], n_back * sizeof(int64_t))
        memmove(&s.ov_sizes[i + 1], &s.ov_sizes[i], n_back * sizeof(int64_t))
    s.ov_keys[i] = key
    s.ov_sizes[i] = size
    s.ov_len += 1
    return STATUS_OK


cdef void ov_delete_at(Side* s, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t n_front = i - s.ov_start
    cdef Py_ssize_t n_back = s.ov_start + s.ov_len - 1 - i
    if n_front < n_back:
        memmove(&s.ov_keys[s.ov_start + 1], &s.ov_keys[s.ov_start], n_front * sizeof(int64_t))
        memmove(&s.ov_sizes[s.ov_start + 1], &s.ov_sizes[s.ov_start], n_front * sizeof(int64_t))
        s.ov_start += 1
    else:
        memmove(&s.ov_keys[i], &s.ov_keys[i + 1], n_back * sizeof(int64_t))
        memmove(&s.ov_sizes[i], &s.ov_sizes[i + 1], n_back * sizeof(int64_t))
    s.ov_len -= 1


cdef inline void side_place(Side* s, int64_t key) noexcept nogil:
    """Position the window so ``key`` sits about width/8 below its top edge."""
    s.lo = align_up_64(key + (s.width >> 3) + 1) - s.width
    s.placed = True


cdef int side_recentre(Side* s, int64_t key) noexcept nogil:
    """Move the window so ``key`` sits near its top; levels crossing an edge change home.

    Moving up pushes the window's lowest levels onto the end of the overflow (they are better than
    everything there); moving down pulls the overflow's best levels into the window. Either way
    the cost is the number of levels that cross, plus one word per 64 ticks scanned.
    """
    cdef int64_t old_lo = s.lo
    cdef int64_t new_lo = align_up_64(key + (s.width >> 3) + 1) - s.width
    cdef int64_t word_no, end_word, slot, k
    cdef uint64_t w
    cdef Py_ssize_t idx
    s.recentres += 1
    if new_lo > old_lo:
        if s.win_count:
            end_word = (new_lo if new_lo < old_lo + s.width else old_lo + s.width) >> 6
            word_no = old_lo >> 6
            while word_no < end_word:
                w = s.bits[word_no & (s.nwords - 1)]
                if w:
                    if s.ov_start + s.ov_len + 64 > s.ov_cap:
                        if ov_reserve(s, 64) != STATUS_OK:
                            return STATUS_NO_MEMORY
                    s.bits[word_no & (s.nwords - 1)] = 0
                    while w:
                        k = (word_no << 6) + ctz64(w)
                        slot = k & s.mask
                        idx = s.ov_start + s.ov_len
                        s.ov_keys[idx] = k
                        s.ov_sizes[idx] = s.sizes[slot]
                        s.ov_len += 1
                        s.win_count -= 1
                        w &= w - 1
                word_no += 1
    elif new_lo < old_lo:
        while s.ov_len and s.ov_keys[s.ov_start + s.ov_len - 1] >= new_lo:
            idx = s.ov_start + s.ov_len - 1
            k = s.ov_keys[idx]
            slot = k & s.mask
            s.bits[slot >> 6] |= (<uint64_t>1) << (slot & 63)
            s.sizes[slot] = s.ov_sizes[idx]
            s.win_count += 1
            s.ov_len -= 1
    s.lo = new_lo
    return STATUS_OK


cdef int side_after_best_removed(Side* s, int64_t old_best) noexcept nogil:
    """Find the new best after the best level went; re-centre when the touch drifted low."""
    cdef int64_t nb = side_scan_down(s, old_best - 1)
    if nb == KEY_NONE:
        if s.ov_len == 0:
            s.best = KEY_NONE
            return STATUS_OK
        nb = s.ov_keys[s.ov_start + s.ov_len - 1]
        s.best = nb
        return side_recentre(s, nb)
    s.best = nb
    if nb < s.lo + (s.width >> 1):
        return side_recentre(s, nb)
    return STATUS_OK


cdef inline int window_set(Side* s, int64_t key, int64_t size) noexcept nogil:
    """Set a level whose key lies inside the side's placed window (size 0 deletes)."""
    cdef int64_t slot = key & s.mask
    cdef int64_t word = slot >> 6
    cdef uint64_t bit = (<uint64_t>1) << (slot & 63)
    if size:
        if not (s.bits[word] & bit):
            s.bits[word] |= bit
            s.win_count += 1
            if key > s.best:
                s.best = key
        s.sizes[slot] = size
        return STATUS_OK
    if s.bits[word] & bit:
        s.bits[word] &= ~bit   # the size slot is left as is: only set bits are read
        s.win_count -= 1
        if key == s.best:
            return side_after_best_removed(s, key)
    else:
        s.absent_deletes += 1
    return STATUS_OK


cdef inline int side_set_fast(Side* s, int64_t key, int64_t size) noexcept nogil:
    """side_set with its common case (a key inside the placed window) inlined at the caller:
    most diffs land there, and the call and the placement checks cost as much as the write."""
    if s.placed and key >= s.lo and key < s.lo + s.width:
        s.updates += 1
        s.period_updates += 1
        return window_set(s, key, size)
    return side_set(s, key, size)


cdef int side_set(Side* s, int64_t key, int64_t size) noexcept nogil:
    """Set one level (size 0 deletes); every write into a side goes through here (or through
    side_set_fast, which takes the same window branch)."""
    cdef Py_ssize_t i
    cdef bint found
    cdef int status
    s.updates += 1
    s.period_updates += 1
    if s.width:
        if not s.placed:
            if size == 0:
                s.absent_deletes += 1
                return STATUS_OK
            side_place(s, key)
        if key >= s.lo:
            if key >= s.lo + s.width:
                if size == 0:
                    s.absent_deletes += 1
                    return STATUS_OK
                status = side_recentre(s, key)
                if status != STATUS_OK:
                    return status
            return window_set(s, key, size)
    # below the window (or the flat layout): the sorted overflow
    s.overflow_updates += 1
    s.period_overflow += 1
    i = ov_lower_bound(s, key)
    found = i < s.ov_start + s.ov_len and s.ov_keys[i] == key
    if size:
        if found:
            s.ov_sizes[i] = size
            return STATUS_OK
        status = ov_insert_at(s, i, key, size)
        if status != STATUS_OK:
            return status
    elif found:
        ov_delete_at(s, i)
    else:
        s.absent_deletes += 1
        return STATUS_OK
    if s.win_count == 0:
        if s.ov_len == 0:
            s.best = KEY_NONE
        else:
            s.best = s.ov_keys[s.ov_start + s.ov_len - 1]
            if s.width:
                return side_recentre(s, s.best)
    return STATUS_OK


cdef void side_drop_worst(Side* s) noexcept nogil:
    """Remove the level furthest from the touch (for max_depth)."""
    cdef int64_t word_no, k, slot
    cdef uint64_t w
    if s.ov_len:
        s.ov_start += 1
        s.ov_len -= 1
        if s.ov_len == 0 and s.win_count == 0:
            s.best = KEY_NONE
        return
    if s.win_count == 0:
        return
    word_no = s.lo >> 6
    while True:
        w = s.bits[word_no & (s.nwords - 1)]
        if w:
            k = (word_no << 6) + ctz64(w)
            slot = k & s.mask
            s.bits[slot >> 6] &= w - 1
            s.win_count -= 1
            if s.win_count == 0:
                s.best = KEY_NONE
            return
        word_no += 1


cdef void side_drop_below(Side* s, int64_t cutoff) noexcept nogil:
    """Remove every level whose key is below ``cutoff`` (truncate)."""
    cdef Py_ssize_t i = ov_lower_bound(s, cutoff)
    cdef int64_t word_no, end_word, k
    cdef uint64_t w
    s.ov_len -= i - s.ov_start
    s.ov_start = i
    if s.width == 0 or s.win_count == 0 or cutoff <= s.lo:
        return
    word_no = s.lo >> 6
    end_word = cutoff >> 6
    while word_no <= end_word:
        w = s.bits[word_no & (s.nwords - 1)]
        while w:
            k = (word_no << 6) + ctz64(w)
            if k >= cutoff:
                break
            s.bits[word_no & (s.nwords - 1)] &= ~((<uint64_t>1) << (k & 63))
            s.win_count -= 1
            w &= w - 1
        word_no += 1


cdef int side_resize(Side* s, int64_t width) noexcept nogil:
    """Rebuild the side with a new window width, keeping every level."""
    cdef Py_ssize_t n = side_level_count(s), j = 0
    cdef int64_t* keys = NULL
    cdef int64_t* sizes = NULL
    cdef int64_t k, q
    cdef Walker it
    cdef int status = STATUS_OK
    if n:
        keys = <int64_t*>calloc(n, sizeof(int64_t))
        sizes = <int64_t*>calloc(n, sizeof(int64_t))
        if keys == NULL or sizes == NULL:
            free(keys)
            free(sizes)
            return STATUS_NO_MEMORY
        walker_init(&it, s)
        while walker_next(&it, &k, &q):
            keys[j] = k
            sizes[j] = q
            j += 1
    cdef uint64_t updates = s.updates, overflow_updates = s.overflow_updates
    side_clear(s)
    free(s.sizes)
    free(s.bits)
    if side_alloc_window(s, width) != STATUS_OK:
        status = STATUS_NO_MEMORY
    else:
        s.resizes += 1
        for j in range(n):   # best first: the window is placed by the first level
            status = side_set(s, keys[j], sizes[j])
            if status != STATUS_OK:
                break
    s.updates = updates
    s.overflow_updates = overflow_updates
    free(keys)
    free(sizes)
    return status


cdef int64_t auto_width(price_t price) noexcept nogil:
    """Next power of two of 0.3 % of the price in ticks / (7/8), clamped to 256..65,536."""
    cdef double ticks = WIDTH_PRICE_FRACTION * <double>price / 0.875
    cdef int64_t w = MIN_AUTO_WIDTH
    while w < ticks and w < MAX_AUTO_WIDTH:
        w <<= 1
    return w


cdef int check_int_array(object arr, int typenum, str name) except -1:
    if not cnp.PyArray_Check(arr):
        raise BookError(f"{name} must be a numpy array, was {type(arr).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>arr
    if cnp.PyArray_TYPE(a) != typenum:
        raise BookError(f"{name} must have dtype {np.dtype(cnp.PyArray_DescrFromType(typenum))}, "
                        f"was {a.dtype}")
    if cnp.PyArray_NDIM(a) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise BookError(f"{name} must be one-dimensional and C-contiguous")
    return 0


cdef Py_ssize_t check_level_arrays(object sides, object prices, object sizes) except -1:
    """Length of a flat (sides, prices, sizes) batch after checking its three arrays."""
    check_int_array(sides, cnp.NPY_INT8, "sides")
    check_int_array(prices, cnp.NPY_INT64, "prices")
    check_int_array(sizes, cnp.NPY_INT64, "sizes")
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>sides, 0)
    if cnp.PyArray_DIM(<cnp.ndarray>prices, 0) != n or cnp.PyArray_DIM(<cnp.ndarray>sizes, 0) != n:
        raise BookError("sides, prices and sizes must have the same length")
    return n


cdef raise_status(int status, str where):
    if status == STATUS_NO_MEMORY:
        raise MemoryError(f"L2Book.{where}: out of memory")
    if status == STATUS_BAD_SIDE:
        raise BookError(f"L2Book.{where}: side must be BID (0) or ASK (1)")
    if status == STATUS_BAD_PRICE:
        raise BookError(f"L2Book.{where}: prices must be positive raw integers")
    if status == STATUS_BAD_SIZE:
        raise BookError(f"L2Book.{where}: sizes must be zero (delete) or positive raw integers")
    raise BookError(f"L2Book.{where}: failed with status {status}")


cdef inline int check_level(int side, price_t price, qty_t size) noexcept nogil:
    if side != 0 and side != 1:
        return STATUS_BAD_SIDE
    if price <= 0:
        return STATUS_BAD_PRICE
    if size < 0:
        return STATUS_BAD_SIZE
    return STATUS_OK


cdef inline int64_t to_raw_int(object value, int decimals) except? -1:
    if type(value) is int:
        return PyLong_AsLongLong(value)
    return to_raw(value, decimals)


cdef object fill_levels(const Side* s, int side, Py_ssize_t n):
    cdef Py_ssize_t count = side_level_count(s)
    if n < 0 or n > count:
        n = count
    cdef cnp.ndarray prices = np.empty(n, dtype=np.int64)
    cdef cnp.ndarray sizes = np.empty(n, dtype=np.int64)
    cdef int64_t* p = <int64_t*>cnp.PyArray_DATA(prices)
    cdef int64_t* q = <int64_t*>cnp.PyArray_DATA(sizes)
    cdef Walker it
    cdef int64_t k, v
    cdef Py_ssize_t j = 0
    walker_init(&it, s)
    while j < n and walker_next(&it, &k, &v):
        p[j] = key_to_price(side, k)
        q[j] = v
        j += 1
    return prices, sizes


cdef inline bint crossed(const Side* sides) noexcept nogil:
    """Best bid at or above best ask (asks hold negated keys)."""
    return (sides[0].best != KEY_NONE and sides[1].best != KEY_NONE
            and sides[0].best >= -sides[1].best)


cdef class LevelBuffer:
    """Level changes for one message, filled by a parser without Python objects per level.

    ``L2Book.apply_buffer(buffer)`` applies them in one call; ``arrays()`` gives numpy views of
    the filled part for everything else. Reuse one buffer per feed: ``clear()`` keeps the memory.
    """

    def __cinit__(self, Py_ssize_t capacity=256):
        self.count = 0
        self.capacity = 0
        self.reserve(max(capacity, 16))

    cdef int reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t needed = self.count + extra, size = max(self.capacity, 16)
        if needed <= self.capacity:
            return 0
        while size < needed:
            size *= 2
        sides = np.zeros(size, dtype=np.int8)
        prices = np.zeros(size, dtype=np.int64)
        sizes = np.zeros(size, dtype=np.int64)
        if self.count:
            sides[:self.count] = self._sides_arr[:self.count]
            prices[:self.count] = self._prices_arr[:self.count]
            sizes[:self.count] = self._sizes_arr[:self.count]
        self._sides_arr, self._prices_arr, self._sizes_arr = sides, prices, sizes
        self.sides = <int8_t*>cnp.PyArray_DATA(sides)
        self.prices = <int64_t*>cnp.PyArray_DATA(prices)
        self.sizes = <int64_t*>cnp.PyArray_DATA(sizes)
        self.capacity = size
        return 0

    def clear(self):
        self.count = 0

    def append(self, int side, int64_t price, int64_t size):
        """Add one level change (for tests and slow paths)."""
        self.reserve(1)
        self.push(side, price, size)

    def arrays(self):
        """``(sides, prices, sizes)`` numpy views of the filled part (valid until refilled)."""
        n = self.count
        return self._sides_arr[:n], self._prices_arr[:n], self._sizes_arr[:n]

    def __len__(self):
        return self.count


@cython.freelist(16)
cdef class DepthFill:
    """Result of a depth walk: what a market order of that size would do to the book.

    ``filled`` (raw qty) and ``worst_price`` (raw; None when nothing fills) are exact;
    ``notional`` is quote units (float, derived); ``levels`` counts the levels touched. Unpacks
    as ``filled, notional, worst_price, levels``.
    """

    cdef readonly int64_t filled
    cdef readonly double notional
    cdef int64_t _worst
    cdef readonly Py_ssize_t levels

    @property
    def worst_price(self):
        return self._worst if self.levels else None

    def __iter__(self):
        return iter((self.filled, self.notional, self.worst_price, self.levels))

    def __eq__(self, other):
        if isinstance(other, DepthFill):
            other = tuple(other)
        return tuple(self) == other

    def __hash__(self):
        return hash(tuple(self))

    def __repr__(self):
        return (f"DepthFill(filled={self.filled}, notional={self.notional!r}, "
                f"worst_price={self.worst_price}, levels={self.levels})")


cdef inline DepthFill new_fill(int64_t filled, double notional, int64_t worst, Py_ssize_t levels):
    cdef DepthFill fill = DepthFill.__new__(DepthFill)
    fill.filled = filled
    fill.notional = notional
    fill._worst = worst
    fill.levels = levels
    return fill


cdef int64_t _side_best_price(object prices, object sizes, bint highest):
    live = np.asarray(prices)[np.asarray(sizes) > 0]
    if live.size == 0:
        return 0
    return int(live.max() if highest else live.min())


cdef int64_t _snapshot_mid(bid_prices, bid_sizes, ask_prices, ask_sizes):
    """Raw mid of a snapshot (or the one non-empty side's best) to size the window from."""
    cdef int64_t bid = _side_best_price(bid_prices, bid_sizes, True)
    cdef int64_t ask = _side_best_price(ask_prices, ask_sizes, False)
    if bid and ask:
        return (bid + ask) // 2
    return bid or ask


cdef int _first_bad_level(const int8_t* sides, const price_t* prices, const qty_t* sizes,
                          Py_ssize_t n) noexcept nogil:
    """Status of the first bad level, bids before asks (the order apply_snapshot reports)."""
    cdef Py_ssize_t i
    cdef int status
    for i in range(n):
        if <uint8_t>sides[i] > 1:
            return STATUS_BAD_SIDE
    for side in range(2):
        for i in range(n):
            if sides[i] == side:
                status = check_level(side, prices[i], sizes[i])
                if status != STATUS_OK:
                    return status
    return STATUS_OK


cdef int _load_snapshot(L2Book book, const int8_t* sides, const price_t* prices,
                        const qty_t* sizes, Py_ssize_t n) noexcept nogil:
    """``L2Book.load_snapshot``: validate, size the window, then load both sides in one pass.

    Mirrors ``_replace_side`` per side (clear, place at the side's best, fill downward with the
    window-steering counters untouched); the sides are independent, so interleaving them is safe.
    """
    cdef Py_ssize_t i
    cdef int status = STATUS_OK
    cdef int side
    cdef bint bad = False
    cdef int64_t key
    cdef int64_t best[2]
    cdef int64_t mid
    cdef Side* sd
    cdef uint64_t counters[2][4]
    best[0] = KEY_NONE
    best[1] = KEY_NONE
    for i in range(n):
        bad |= (<uint8_t>sides[i] > 1) | (prices[i] <= 0) | (sizes[i] < 0)
        if sizes[i] > 0:
            key = -prices[i] if sides[i] else prices[i]
            if key > best[sides[i] & 1]:
                best[sides[i] & 1] = key
    if bad:
        return _first_bad_level(sides, prices, sizes, n)
    if not book.width_chosen:   # as _snapshot_mid: the mid, or the one live side's best
        if best[0] != KEY_NONE and best[1] != KEY_NONE:
            mid = (best[0] - best[1]) // 2
        elif best[0] != KEY_NONE:
            mid = best[0]
        elif best[1] != KEY_NONE:
            mid = -best[1]
        else:
            mid = 0
        if mid > 0:
            status = book._choose_width(mid)
            if status != STATUS_OK:
                return status
    for side in range(2):
        sd = &book.sides[side]
        side_clear(sd)
        if best[side] != KEY_NONE and sd.width:
            side_place(sd, best[side])   # levels then fill downward: no re-centring
        # a snapshot is not traffic: keep it out of the counters that steer the window size
        counters[side][0] = sd.updates
        counters[side][1] = sd.overflow_updates
        counters[side][2] = sd.period_updates
        counters[side][3] = sd.period_overflow
    for i in range(n):
        if sizes[i] == 0:
            continue
        if book.max_depth:
            status = book._set(sides[i], prices[i], sizes[i])
        else:   # the width is chosen (a live level exists): the window write inlined
            status = side_set_fast(&book.sides[sides[i]], -prices[i] if sides[i] else prices[i],
                                   sizes[i])
        if status != STATUS_OK:
            break
    for side in range(2):
        sd = &book.sides[side]
        sd.updates = counters[side][0]
        sd.overflow_updates = counters[side][1]
        sd.period_updates = counters[side][2]
        sd.period_overflow = counters[side][3]
    return status


cdef class L2Book:
    """Price-level book for one instrument; prices and sizes are raw scaled int64.

    ``L2Book(price_decimals, size_decimals, max_depth=0, window_ticks=None)``: a raw price unit is
    ``10**-price_decimals`` (one tick step). ``max_depth=0`` keeps every level; otherwise each side
    keeps its best ``max_depth``. ``window_ticks=None`` sizes the window from the first snapshot
    and adapts it while running; a power of two fixes it; ``0`` selects the flat sorted-array
    layout (the benchmark baseline). Not thread-safe: one book belongs to one feed thread.
    """

    def __cinit__(self, int price_decimals, int size_decimals, Py_ssize_t max_depth=0,
                  window_ticks=None):
        cdef int64_t width
        if not 0 <= price_decimals <= 18 or not 0 <= size_decimals <= 18:
            raise BookError("price_decimals and size_decimals must be between 0 and 18")
        if max_depth < 0:
            raise BookError("max_depth must be 0 (unbounded) or positive")
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.max_depth = max_depth
        self.window_ticks = window_ticks
        self.price_unit = 10.0 ** -price_decimals
        self.size_unit = 10.0 ** -size_decimals
        self.notional_unit = self.price_unit * self.size_unit
        for i in range(2):
            self.sides[i].best = KEY_NONE
        if window_ticks is None:
            self.adaptive = True
            self.width_chosen = False
            return
        width = window_ticks
        if width != 0 and (width < MIN_WIDTH or width > MAX_WIDTH or width & (width - 1)):
            raise BookError(f"window_ticks must be 0 (flat layout) or a power of two between "
                            f"{MIN_WIDTH} and {MAX_WIDTH}, was {window_ticks}")
        self.adaptive = False
        self.width_chosen = True
        for i in range(2):
            if side_alloc_window(&self.sides[i], width) != STATUS_OK:
                raise MemoryError("L2Book: out of memory")

    def __dealloc__(self):
        side_free(&self.sides[0])
        side_free(&self.sides[1])

    # -- C-level write paths -----------------------------------------------------------------

    cdef int _choose_width(self, price_t price) noexcept nogil:
        cdef int64_t width = auto_width(price)
        cdef int status
        for i in range(2):
            status = side_alloc_window(&self.sides[i], width)
            if status != STATUS_OK:
                return status
        self.width_chosen = True
        return STATUS_OK

    cdef int _set(self, int side, price_t price, qty_t size) noexcept nogil:
        cdef Side* s = &self.sides[side]
        cdef int status
        if not self.width_chosen:
            status = self._choose_width(price)
            if status != STATUS_OK:
                return status
        status = side_set(s, -price if side else price, size)
        if self.max_depth and side_level_count(s) > self.max_depth:
            side_drop_worst(s)
        return status

    cdef int _apply_many(self, const int8_t* sides, const price_t* prices, const qty_t* sizes,
                         Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t i
        cdef int status
        cdef uint8_t side_bits = 0
        cdef uint64_t signs = 0
        # validate everything first: a bad message must not half-apply. Two OR reductions the
        # compiler vectorises: a side other than 0 or 1 sets a bit above bit 0; a price <= 0
        # sets the sign bit of price or price - 1 (unsigned: no overflow), a size < 0 its own
        for i in range(n):
            side_bits |= <uint8_t>sides[i]
        for i in range(n):
            signs |= <uint64_t>prices[i] | (<uint64_t>prices[i] - 1) | <uint64_t>sizes[i]
        if (side_bits & 0xFE) or (signs >> 63):   # the first bad level's status here
            for i in range(n):
                status = check_level(sides[i], prices[i], sizes[i])
                if status != STATUS_OK:
                    return status
        if self.width_chosen and self.max_depth == 0:   # the common case, without the checks
            for i in range(n):
                status = side_set_fast(&self.sides[sides[i]],
                                       -prices[i] if sides[i] else prices[i], sizes[i])
                if status != STATUS_OK:
                    return status
        else:
            for i in range(n):
                status = self._set(sides[i], prices[i], sizes[i])
                if status != STATUS_OK:
                    return status
        if self.adaptive:
            self._adapt()
        return STATUS_OK

    cdef int _replace_side(self, int side, const price_t* prices, const qty_t* sizes,
                           Py_ssize_t n) noexcept nogil:
        cdef Side* s = &self.sides[side]
        cdef Py_ssize_t i
        cdef int status
        cdef int64_t best, key
        cdef (uint64_t, uint64_t, uint64_t, uint64_t) counters
        for i in range(n):
            status = check_level(side, prices[i], sizes[i])
            if status != STATUS_OK:
                return status
        side_clear(s)
        best = KEY_NONE
        for i in range(n):
            key = -prices[i] if side else prices[i]
            if sizes[i] and key > best:
                best = key
        if best == KEY_NONE:
            return STATUS_OK
        if not self.width_chosen:
            status = self._choose_width(prices[0])
            if status != STATUS_OK:
                return status
        if s.width:
            side_place(s, best)   # levels then fill downward: no re-centring while loading
        # a snapshot is not traffic: keep it out of the counters that steer the window size
        counters = (s.updates, s.overflow_updates, s.period_updates, s.period_overflow)
        for i in range(n):
            if sizes[i]:
                status = self._set(side, prices[i], sizes[i])
                if status != STATUS_OK:
                    break
        s.updates, s.overflow_updates, s.period_updates, s.period_overflow = counters
        return status

    cdef void _adapt(self) noexcept nogil:
        cdef Side* s
        cdef double ratio
        for i in range(2):
            s = &self.sides[i]
            if s.period_updates < ADAPT_PERIOD or s.width == 0:
                continue
            ratio = <double>s.period_overflow / <double>s.period_updates
            s.period_updates = 0
            s.period_overflow = 0
            if ratio > GROW_OVERFLOW_RATIO and s.width < MAX_AUTO_WIDTH:
                side_resize(s, s.width * 2)
            elif ratio < SHRINK_OVERFLOW_RATIO and s.width > MIN_AUTO_WIDTH:
                side_resize(s, s.width // 2)

    # -- Python API: writes ------------------------------------------------------------------

    def apply_deltas(self, sides, prices, sizes):
        """Apply a message's level changes in one call (size 0 deletes a level).

        ``sides`` is int8 (BID=0, ASK=1), ``prices`` and ``sizes`` int64 raw values, all 1-D and
        of one length. The whole batch is validated before anything changes.
        """
        cdef Py_ssize_t n = check_level_arrays(sides, prices, sizes)
        cdef const int8_t* s = <const int8_t*>cnp.PyArray_DATA(<cnp.ndarray>sides)
        cdef const int64_t* p = <const int64_t*>cnp.PyArray_DATA(<cnp.ndarray>prices)
        cdef const int64_t* q = <const int64_t*>cnp.PyArray_DATA(<cnp.ndarray>sizes)
        cdef int status
        if n > NOGIL_MIN_LEVELS:
            with nogil:
                status = self._apply_many(s, p, q, n)
        else:   # releasing the GIL costs more than a small message takes to apply
            status = self._apply_many(s, p, q, n)
        if status != STATUS_OK:
            raise_status(status, "apply_deltas")

    def apply_buffer(self, LevelBuffer levels not None):
        """Apply a parser's LevelBuffer in one call, exactly like ``apply_deltas``.

        Returns :meth:`is_crossed` afterwards, so a sync loop checks the book without a second
        call per message.
        """
        cdef int status
        if levels.count > NOGIL_MIN_LEVELS:
            with nogil:
                status = self._apply_many(levels.sides, levels.prices, levels.sizes, levels.count)
        else:
            status = self._apply_many(levels.sides, levels.prices, levels.sizes, levels.count)
        if status != STATUS_OK:
            raise_status(status, "apply_buffer")
        return crossed(self.sides)

    def apply_snapshot(self, bid_prices, bid_sizes, ask_prices, ask_sizes):
        """Replace both sides with a snapshot (int64 raw arrays, any order, zero sizes skipped)."""
        cdef int64_t mid
        if not self.width_chosen:
            mid = _snapshot_mid(bid_prices, bid_sizes, ask_prices, ask_sizes)
            if mid > 0 and self._choose_width(mid) != STATUS_OK:
                raise MemoryError("L2Book.apply_snapshot: out of memory")
        self._replace(BID, bid_prices, bid_sizes)
        self._replace(ASK, ask_prices, ask_sizes)
        self.snapshots += 1

    def load_snapshot(self, sides, prices, sizes):
        """Replace both sides from a snapshot event's flat arrays in one C pass.

        The same book as ``apply_snapshot`` of the arrays split by side, without four masked
        copies: ``sides`` int8 (BID=0, ASK=1), ``prices``/``sizes`` int64, any order, zero sizes
        skipped. Unlike ``apply_snapshot``, everything (sides included) is validated before
        anything changes, so a bad snapshot leaves the book as it was.
        """
        cdef Py_ssize_t n = check_level_arrays(sides, prices, sizes)
        cdef const int8_t* s = <const int8_t*>cnp.PyArray_DATA(<cnp.ndarray>sides)
        cdef const int64_t* p = <const int64_t*>cnp.PyArray_DATA(<cnp.ndarray>prices)
        cdef const int64_t* q = <const int64_t*>cnp.PyArray_DATA(<cnp.ndarray>sizes)
        cdef int status
        if n > NOGIL_MIN_LEVELS:
            with nogil:
                status = _load_snapshot(self, s, p, q, n)
        else:
            status = _load_snapshot(self, s, p, q, n)
        if status != STATUS_OK:
            raise_status(status, "load_snapshot")
        self.snapshots += 1

    def replace_side(self, int side, prices, sizes):
        """Replace one side with the given levels (int64 raw arrays, any order)."""
        self._replace(side, prices, sizes)

    cdef _replace(self, int side, prices, sizes):
        if side != 0 and side != 1:
            raise_status(STATUS_BAD_SIDE, "replace_side")
        check_int_array(prices, cnp.NPY_INT64, "prices")
        check_int_array(sizes, cnp.NPY_INT64, "sizes")
        cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>prices, 0)
        if cnp.PyArray_DIM(<cnp.ndarray>sizes, 0) != n:
            raise BookError("prices and sizes must have the same length")
        cdef const int64_t* p = <const int64_t*>cnp.PyArray_DATA(<cnp.ndarray>prices)
        cdef const int64_t* q = <const int64_t*>cnp.PyArray_DATA(<cnp.ndarray>sizes)
        cdef int status
        with nogil:
            status = self._replace_side(side, p, q, n)
        if status != STATUS_OK:
            raise_status(status, "replace_side")

    def set_level(self, int side, price, size):
        """Set one level from raw ints (fast path) or decimal text (parsed exactly)."""
        cdef int64_t p = to_raw_int(price, self.price_decimals)
        cdef int64_t q = to_raw_int(size, self.size_decimals)
        cdef int status = check_level(side, p, q)
        if status == STATUS_OK:
            if self.width_chosen and self.max_depth == 0:
                status = side_set_fast(&self.sides[side], -p if side else p, q)
            else:
                status = self._set(side, p, q)
            if self.adaptive and self.sides[side].period_updates >= ADAPT_PERIOD:
                self._adapt()
        if status != STATUS_OK:
            raise_status(status, "set_level")

    def clear(self):
        """Remove every level (the window keeps its size)."""
        side_clear(&self.sides[0])
        side_clear(&self.sides[1])

    def truncate(self, Py_ssize_t n):
        """Keep only the best ``n`` levels on each side."""
        if n < 0:
            raise BookError("truncate: n must be >= 0")
        self._truncate(n)

    cdef void _truncate(self, Py_ssize_t n) noexcept nogil:
        """truncate for C callers (``n`` >= 0): nothing to walk while a side holds <= n."""
        cdef Side* s
        cdef Walker it
        cdef int64_t k, v
        cdef Py_ssize_t j
        cdef int i
        for i in range(2):
            s = &self.sides[i]
            if side_level_count(s) <= n:
                continue
            if n == 0:
                side_clear(s)
                continue
            walker_init(&it, s)
            j = 0
            while j < n and walker_next(&it, &k, &v):
                j += 1
            side_drop_below(s, k)

    # -- Python API: reads -------------------------------------------------------------------

    def best_bid(self):
        """Best bid as a raw price, or None when there are no bids."""
        cdef int64_t k = self.sides[0].best
        return None if k == KEY_NONE else k

    def best_ask(self):
        """Best ask as a raw price, or None when there are no asks."""
        cdef int64_t k = self.sides[1].best
        return None if k == KEY_NONE else -k

    def best_bid_size(self):
        return self._best_size(0)

    def best_ask_size(self):
        return self._best_size(1)

    cdef object _best_size(self, int side):
        cdef Walker it
        cdef int64_t k, v
        walker_init(&it, &self.sides[side])
        if walker_next(&it, &k, &v):
            return v
        return None

    def best_bid_float(self):
        """Best bid in price units as a float (nan when empty): for display and derived math."""
        cdef int64_t k = self.sides[0].best
        return float("nan") if k == KEY_NONE else k * self.price_unit

    def best_ask_float(self):
        """Best ask in price units as a float (nan when empty)."""
        cdef int64_t k = self.sides[1].best
        return float("nan") if k == KEY_NONE else -k * self.price_unit

    def bbo(self):
        """``(best_bid, best_ask)`` raw prices in one call; None for an empty side.

        The tuple is cached while the touch does not move: reading the top after every message
        then allocates nothing.
        """
        cdef int64_t b = self.sides[0].best, a = self.sides[1].best
        if b != self._bbo_bid_key or a != self._bbo_ask_key or self._bbo is None:
            self._bbo = (None if b == KEY_NONE else b, None if a == KEY_NONE else -a)
            self._bbo_bid_key = b
            self._bbo_ask_key = a
        return self._bbo

    def depth(self, int side):
        """Number of levels on a side."""
        if side != 0 and side != 1:
            raise_status(STATUS_BAD_SIDE, "depth")
        return side_level_count(&self.sides[side])

    def is_crossed(self):
        """True when the best bid is at or above the best ask (a book that cannot be real)."""
        return crossed(self.sides)

    def levels(self, int side, Py_ssize_t n=-1):
        """``(prices, sizes)`` int64 arrays of a side's best ``n`` levels (all when n < 0)."""
        if side != 0 and side != 1:
            raise_status(STATUS_BAD_SIDE, "levels")
        return fill_levels(&self.sides[side], side, n)

    def top(self, Py_ssize_t n):
        """``(bid_prices, bid_sizes, ask_prices, ask_sizes)`` of the best ``n`` levels."""
        bp, bq = fill_levels(&self.sides[0], 0, n)
        ap, aq = fill_levels(&self.sides[1], 1, n)
        return bp, bq, ap, aq

    def cost_to_fill(self, int side, qty_t qty):
        """Walk a side to fill ``qty`` raw units; a :class:`DepthFill`.

        ``side`` is the side consumed (ASK to buy, BID to sell). ``notional`` is in quote units
        (float); ``worst_price`` is raw, None when nothing could be filled.
        """
        cdef Walker it
        cdef int64_t k, v, take, filled = 0, worst = 0
        cdef double notional = 0.0
        cdef Py_ssize_t used = 0
        if side != 0 and side != 1:
            raise_status(STATUS_BAD_SIDE, "cost_to_fill")
        if qty < 0:
            raise BookError("cost_to_fill: qty must be >= 0")
        walker_init(&it, &self.sides[side])
        while filled < qty and walker_next(&it, &k, &v):
            take = qty - filled
            if v < take:
                take = v
            worst = -k if side else k
            notional += <double>worst * <double>take
            filled += take
            used += 1
        return new_fill(filled, notional * self.notional_unit, worst, used)

    def qty_for_notional(self, int side, double notional):
        """How much can ``notional`` quote units buy (ASK) or raise (BID) walking the side.

        Returns a :class:`DepthFill`: ``filled`` is the raw qty bought (or sold), ``notional``
        the quote units actually used, ``worst_price`` raw (None when nothing fits).
        """
        cdef Walker it
        cdef int64_t k, v, price, take, qty = 0, worst = 0
        cdef double budget, spent = 0.0, cost
        cdef Py_ssize_t used = 0
        if side != 0 and side != 1:
            raise_status(STATUS_BAD_SIDE, "qty_for_notional")
        if not notional >= 0.0:
            raise BookError("qty_for_notional: notional must be >= 0")
        budget = notional / self.notional_unit
        walker_init(&it, &self.sides[side])
        while walker_next(&it, &k, &v):
            price = -k if side else k
            cost = <double>price * <double>v
            if cost <= budget - spent:
                take = v
            else:
                take = <int64_t>((budget - spent) / <double>price)
                if take > v:
                    take = v
            if take <= 0:
                break
            qty += take
            spent += <double>price * <double>take
            worst = price
            used += 1
            if take < v:
                break
        return new_fill(qty, spent * self.notional_unit, worst, used)

    @property
    def nbytes(self):
        """Native memory owned by the book: windows, bitmaps and overflow arrays."""
        cdef Py_ssize_t total = 0
        for i in range(2):
            total += self.sides[i].width * sizeof(int64_t)
            total += self.sides[i].nwords * sizeof(uint64_t)
            total += self.sides[i].ov_cap * 2 * sizeof(int64_t)
        return total

    @property
    def widths(self):
        """Current window width in ticks per side ``(bid, ask)``; 0 for the flat layout."""
        return self.sides[0].width, self.sides[1].width

    @property
    def stats(self):
        """Counters since creation: updates, overflow updates, no-op deletes, re-centres, resizes."""
        out = {}
        for name, i in (("bid", 0), ("ask", 1)):
            s = &self.sides[i]
            out[name] = {
                "levels": side_level_count(s),
                "window_levels": s.win_count,
                "overflow_levels": s.ov_len,
                "updates": s.updates,
                "overflow_updates": s.overflow_updates,
                "absent_deletes": s.absent_deletes,
                "recentres": s.recentres,
                "resizes": s.resizes,
                "width": s.width,
            }
        return out

    def __repr__(self):
        b, a = self.bbo()
        return (f"L2Book(price_decimals={self.price_decimals}, size_decimals={self.size_decimals}, "
                f"bids={side_level_count(&self.sides[0])}, asks={side_level_count(&self.sides[1])}, "
                f"best_bid={b}, best_ask={a})")
