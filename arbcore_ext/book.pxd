# C API of the L2 book, for kernels that walk depth (profit, cycles).
#
# Each side stores "keys": the raw price for bids and the negated raw price for asks, so the best
# level is always the highest key and one set of routines serves both sides.
from libc.stdint cimport int8_t, int64_t, uint64_t

from arbcore_ext._types cimport price_t, qty_t

cdef extern from *:
    """
    #define ARB_KEY_NONE ((int64_t)INT64_MIN)
    static inline int arb_clz64(uint64_t w) { return __builtin_clzll(w); }
    static inline int arb_ctz64(uint64_t w) { return __builtin_ctzll(w); }
    """
    int64_t KEY_NONE "ARB_KEY_NONE"
    int clz64 "arb_clz64"(uint64_t w) noexcept nogil
    int ctz64 "arb_ctz64"(uint64_t w) noexcept nogil


cdef struct Side:
    # window: keys [lo, lo + width) in a ring (slot = key & mask); lo and width are multiples of 64
    int64_t* sizes
    uint64_t* bits
    int64_t width          # 0 = flat layout (everything lives in the sorted overflow)
    int64_t mask
    int64_t nwords
    int64_t lo
    bint placed
    int64_t win_count
    int64_t best           # highest key on the side, KEY_NONE when empty
    # overflow: keys below the window, ascending (best at the end), live in [ov_start, ov_start+ov_len)
    int64_t* ov_keys
    int64_t* ov_sizes
    Py_ssize_t ov_start
    Py_ssize_t ov_len
    Py_ssize_t ov_cap
    # counters
    uint64_t updates
    uint64_t overflow_updates
    uint64_t absent_deletes
    uint64_t recentres
    uint64_t resizes
    uint64_t period_updates
    uint64_t period_overflow


cdef struct Walker:
    # iterates a side from the best level outward without allocating
    const Side* side
    int64_t next_key
    Py_ssize_t ov_index
    bint in_window


cdef inline int64_t side_scan_down(const Side* s, int64_t from_key) noexcept nogil:
    """Highest occupied window key <= from_key, or KEY_NONE."""
    cdef int64_t lo_word, word_no, bit
    cdef uint64_t w
    if s.width == 0 or s.win_count == 0 or from_key < s.lo:
        return KEY_NONE
    lo_word = s.lo >> 6
    word_no = from_key >> 6
    bit = from_key & 63
    w = s.bits[word_no & (s.nwords - 1)]
    if bit != 63:
        w &= ((<uint64_t>1) << (bit + 1)) - 1
    while True:
        if w != 0:
            return (word_no << 6) + 63 - clz64(w)
        word_no -= 1
        if word_no < lo_word:
            return KEY_NONE
        w = s.bits[word_no & (s.nwords - 1)]


cdef inline void walker_init(Walker* it, const Side* s) noexcept nogil:
    it.side = s
    it.in_window = s.win_count > 0
    it.next_key = s.best
    it.ov_index = s.ov_start + s.ov_len - 1


cdef inline bint walker_next(Walker* it, int64_t* key, int64_t* size) noexcept nogil:
    """Next level from the best outward; False when the side is exhausted."""
    cdef const Side* s = it.side
    cdef int64_t k
    if it.in_window:
        k = side_scan_down(s, it.next_key)
        if k != KEY_NONE:
            key[0] = k
            size[0] = s.sizes[k & s.mask]
            it.next_key = k - 1
            return True
        it.in_window = False
    if it.ov_index >= s.ov_start:
        key[0] = s.ov_keys[it.ov_index]
        size[0] = s.ov_sizes[it.ov_index]
        it.ov_index -= 1
        return True
    return False


cdef inline int64_t key_to_price(int side, int64_t key) noexcept nogil:
    return -key if side else key


cdef inline int64_t side_level_count(const Side* s) noexcept nogil:
    return s.win_count + s.ov_len


cdef class LevelBuffer:
    # level changes parsed straight from a frame, applied by L2Book.apply_buffer in one call
    cdef readonly Py_ssize_t count
    cdef readonly Py_ssize_t capacity
    cdef object _sides_arr
    cdef object _prices_arr
    cdef object _sizes_arr
    cdef int8_t* sides
    cdef int64_t* prices
    cdef int64_t* sizes
    cdef int reserve(self, Py_ssize_t extra) except -1
    cdef inline void push(self, int8_t side, int64_t price, int64_t size) noexcept:
        self.sides[self.count] = side
        self.prices[self.count] = price
        self.sizes[self.count] = size
        self.count += 1


cdef class L2Book:
    cdef Side sides[2]
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    cdef readonly Py_ssize_t max_depth
    cdef readonly object window_ticks
    cdef bint adaptive
    cdef bint width_chosen
    cdef readonly double price_unit      # 10**-price_decimals
    cdef readonly double size_unit       # 10**-size_decimals
    cdef double notional_unit            # price_unit * size_unit
    cdef object _bbo                     # cached (best_bid, best_ask) tuple
    cdef int64_t _bbo_bid_key
    cdef int64_t _bbo_ask_key
    cdef readonly uint64_t snapshots

    cdef int _set(self, int side, price_t price, qty_t size) noexcept nogil
    cdef int _apply_many(self, const int8_t* sides, const price_t* prices, const qty_t* sizes,
                         Py_ssize_t n) noexcept nogil
    cdef int _replace_side(self, int side, const price_t* prices, const qty_t* sizes,
                           Py_ssize_t n) noexcept nogil
    cdef void _adapt(self) noexcept nogil
    cdef void _truncate(self, Py_ssize_t n) noexcept nogil
    cdef int _choose_width(self, price_t price) noexcept nogil
    cdef _replace(self, int side, prices, sizes)
    cdef object _best_size(self, int side)
