"""Triangular-cycle engine: every cycle through the start assets in flat arrays, re-evaluated
incrementally when one market's top of book moves, and sized over book depth.

A market gives two edges: BUY (quote -> base at the ask) and SELL (base -> quote at the bid).
Cycles are int32 edge ids (``2 * market + direction``) in one array with a fixed stride (3-leg
cycles in a 4-leg index end in a padding edge whose rate is exactly 1.0, so the evaluation loop
has no branch); a CSR index market -> cycles means one market's change touches only its cycles.
Enumeration order and rate arithmetic are specified in docs/triangular.md, and the plain-Python
twin in ``arbcore_ext.reference.cycles`` follows the same order and the same float operations.
"""

cimport cython
from libc.math cimport INFINITY, floor, isnan
from libc.stdint cimport INT64_MIN, int8_t, int32_t, int64_t
from libc.stdlib cimport free, qsort, realloc

cimport numpy as cnp

from arbcore_ext._stamps cimport stamp_age_ms
from arbcore_ext.book cimport KEY_NONE, L2Book, Side, Walker, walker_init, walker_next
from arbcore_ext.crossbook cimport Check, Gate
from arbcore_ext.profit cimport limit_raw

import operator

import numpy as np

from arbcore_ext.errors import BookError, GraphError

cnp.import_array()

BUY = 0
SELL = 1

cdef double POW10[19]
POW10[0] = 1.0
for _i in range(1, 19):
    POW10[_i] = POW10[_i - 1] * 10.0

# amounts within this fraction of a level's capacity count as having used it up
cdef double EXHAUSTED = 1e-12


# ---------------------------------------------------------------------------------------------
# enumeration
# ---------------------------------------------------------------------------------------------

cdef struct CycleBuffer:
    int32_t* edges
    int8_t* lengths
    int32_t* starts
    Py_ssize_t count
    Py_ssize_t capacity
    int stride


cdef int buffer_push(CycleBuffer* buf, const int32_t* legs, int n, int32_t start,
                     int32_t pad) noexcept nogil:
    cdef Py_ssize_t new_cap
    cdef void* p
    cdef int i
    if buf.count == buf.capacity:
        new_cap = 1024 if buf.capacity == 0 else buf.capacity * 2
        p = realloc(buf.edges, new_cap * buf.stride * sizeof(int32_t))
        if p == NULL:
            return -1
        buf.edges = <int32_t*>p
        p = realloc(buf.lengths, new_cap * sizeof(int8_t))
        if p == NULL:
            return -1
        buf.lengths = <int8_t*>p
        p = realloc(buf.starts, new_cap * sizeof(int32_t))
        if p == NULL:
            return -1
        buf.starts = <int32_t*>p
        buf.capacity = new_cap
    for i in range(buf.stride):
        buf.edges[buf.count * buf.stride + i] = legs[i] if i < n else pad
    buf.lengths[buf.count] = n
    buf.starts[buf.count] = start
    buf.count += 1
    return 0


cdef int enumerate_cycles(int n_assets, const int32_t* adj_ptr, const int32_t* adj_to,
                          const int32_t* adj_edge, const int32_t* starts, int n_starts,
                          const int32_t* start_rank, int length, int32_t pad,
                          CycleBuffer* buf) noexcept nogil:
    """Depth-first, each asset's edges in ascending market id; see docs/triangular.md."""
    cdef int32_t legs[4]
    cdef int si, s, a, b, c
    cdef Py_ssize_t i1, i2, i3, i4
    for si in range(n_starts):
        s = starts[si]
        for i1 in range(adj_ptr[s], adj_ptr[s + 1]):
            a = adj_to[i1]
            if a == s or start_rank[a] < si:
                continue
            legs[0] = adj_edge[i1]
            for i2 in range(adj_ptr[a], adj_ptr[a + 1]):
                b = adj_to[i2]
                if b == s or b == a or start_rank[b] < si:
                    continue
                legs[1] = adj_edge[i2]
                for i3 in range(adj_ptr[b], adj_ptr[b + 1]):
                    c = adj_to[i3]
                    legs[2] = adj_edge[i3]
                    if length == 3:
                        if c == s and buffer_push(buf, legs, 3, s, pad) != 0:
                            return -1
                        continue
                    if c == s or c == a or c == b or start_rank[c] < si:
                        continue
                    for i4 in range(adj_ptr[c], adj_ptr[c + 1]):
                        if adj_to[i4] == s:
                            legs[3] = adj_edge[i4]
                            if buffer_push(buf, legs, 4, s, pad) != 0:
                                return -1
    return 0


cdef object per_market(object value, int n, str name, double default):
    """One float per market from a scalar, a sequence or None."""
    if value is None:
        return np.full(n, default, dtype=np.float64)
    if np.ndim(value) == 0:
        value = [float(value)] * n
    arr = np.ascontiguousarray(value, dtype=np.float64)
    if arr.shape != (n,):
        raise GraphError(f"{name} must be one number or one per market ({n}), was {arr.shape}")
    if np.isnan(arr).any() or (arr < 0).any():
        raise GraphError(f"{name} must be non-negative numbers")
    return arr


cdef inline double cycle_product(const int32_t* e, const double* r, int stride) noexcept nogil:
    """Edge rates multiplied left to right (the twin multiplies in the same order)."""
    if stride == 3:
        return r[e[0]] * r[e[1]] * r[e[2]]
    return r[e[0]] * r[e[1]] * r[e[2]] * r[e[3]]


cdef int compare_ranked(const void* a, const void* b) noexcept nogil:
    cdef const Ranked* x = <const Ranked*>a
    cdef const Ranked* y = <const Ranked*>b
    if x.rate != y.rate:
        return -1 if x.rate > y.rate else 1
    return x.cycle - y.cycle


# ---------------------------------------------------------------------------------------------
# sizing over depth
# ---------------------------------------------------------------------------------------------

cdef struct LegWalk:
    Walker walker
    bint buy
    double price_scale      # 10**price_decimals
    double size_scale       # 10**size_decimals
    double keep             # 1 - fee
    double price            # current level, price units
    int64_t price_raw
    double capacity         # input units left at the current level
    double rate             # output per input at the current level


cdef inline bint walk_level(LegWalk* leg) noexcept nogil:
    cdef int64_t key, size
    if not walker_next(&leg.walker, &key, &size):
        return False
    leg.price_raw = -key if key < 0 else key
    leg.price = leg.price_raw / leg.price_scale
    if leg.buy:      # spend quote on the asks
        leg.capacity = (size / leg.size_scale) * leg.price
        leg.rate = leg.keep / leg.price
    else:            # sell base into the bids
        leg.capacity = size / leg.size_scale
        leg.rate = leg.price * leg.keep
    return True


cdef double marginal_walk(LegWalk* legs, int n, double max_start) noexcept nogil:
    """The start amount where the cycle's marginal rate stops exceeding 1 (concave profit)."""
    cdef double x = 0.0, dx, limit, mult, product
    cdef double through[4]
    cdef int i, arg
    for i in range(n):
        if not walk_level(&legs[i]):
            return 0.0
    while x < max_start:
        product = 1.0
        for i in range(n):
            through[i] = product          # input of leg i per unit of start amount
            product *= legs[i].rate
        if product <= 1.0:
            break
        dx = INFINITY
        arg = 0
        for i in range(n):
            limit = legs[i].capacity / through[i]
            if limit < dx:
                dx = limit
                arg = i
        if x + dx >= max_start:
            return max_start
        x += dx
        for i in range(n):
            legs[i].capacity -= dx * through[i]
        for i in range(n):
            if i == arg or legs[i].capacity <= EXHAUSTED * through[i] * x:
                if not walk_level(&legs[i]):
                    return x
    return x


cdef inline double floor_lot(double amount, double lot) noexcept nogil:
    if lot <= 0.0:
        return amount
    return floor(amount / lot + 1e-9) * lot


cdef void fill_leg(const Side* side, bint buy, double price_scale, double size_scale,
                   double keep, double lot, double amount, LegFill* out) noexcept nogil:
    """Trade ``amount`` of the leg's input through the book, the base quantity on the lot grid."""
    cdef Walker it
    cdef int64_t key, size
    cdef double price, level_qty, take, qty, left
    out.qty = 0.0
    out.notional = 0.0
    out.out = 0.0
    out.spent = 0.0
    out.worst_raw = 0
    out.levels = 0
    qty = 0.0
    left = amount
    walker_init(&it, side)
    while left > 0.0 and walker_next(&it, &key, &size):   # how much the book can take
        level_qty = size / size_scale
        if buy:      # quote spent on the asks buys base
            price = (-key if key < 0 else key) / price_scale
            if level_qty * price <= left:
                qty += level_qty
                left -= level_qty * price
            else:
                qty += left / price
                left = 0.0
        elif level_qty <= left:
            qty += level_qty
            left -= level_qty
        else:
            qty += left
            left = 0.0
    qty = floor_lot(qty, lot)
    left = qty
    walker_init(&it, side)
    # float dust (0.8 + 0.3 != 1.1) must not reach, and price, one more level
    while left > EXHAUSTED * qty and walker_next(&it, &key, &size):
        price = (-key if key < 0 else key) / price_scale
        take = size / size_scale
        if take > left:
            take = left
        out.qty += take
        out.notional += take * price
        out.worst_raw = -key if key < 0 else key
        out.levels += 1
        left -= take
    out.spent = out.notional if buy else out.qty
    out.out = (out.qty if buy else out.notional) * keep


@cython.freelist(8)
cdef class SizedLeg:
    """One leg of a sized cycle: what to send (qty in base units, limit price raw)."""

    cdef readonly int market
    cdef readonly int direction
    cdef readonly double qty
    cdef readonly double price
    cdef readonly int64_t limit_price
    cdef readonly Py_ssize_t levels

    def __repr__(self):
        return (f"SizedLeg(market={self.market}, direction={self.direction}, qty={self.qty!r}, "
                f"price={self.price!r}, limit_price={self.limit_price}, levels={self.levels})")


cdef class SizedCycle:
    """A cycle sized over depth: spend ``start_amount``, receive ``end_amount`` (start asset)."""

    def __bool__(self):
        return self.start_amount > 0.0

    def __repr__(self):
        return (f"SizedCycle(cycle={self.cycle}, start_amount={self.start_amount!r}, "
                f"end_amount={self.end_amount!r}, profit={self.profit!r}, "
                f"profit_bps={self.profit_bps!r}, legs={self.legs!r})")


cdef SizedCycle empty_sized(int cycle):
    cdef SizedCycle sized = SizedCycle.__new__(SizedCycle)
    sized.cycle = cycle
    sized.legs = ()
    return sized


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------

cdef class CycleEngine:
    """Every cycle through the start assets over one venue's markets (see docs/triangular.md)."""

    def __init__(self, symbols, bases, quotes, *, start_assets=("USDT",), int max_legs=3,
                 taker_fees=0.001, double slippage_bps=0.0, double min_profit_bps=0.0,
                 lots=None, min_qty=None, min_notional=None):
        cdef int n = len(symbols)
        if len(bases) != n or len(quotes) != n:
            raise GraphError("symbols, bases and quotes must have one entry per market")
        if max_legs not in (3, 4):
            raise GraphError(f"max_legs must be 3 or 4, was {max_legs}")
        if not slippage_bps >= 0.0:
            raise GraphError("slippage_bps must be >= 0")
        if len(set(symbols)) != n:
            raise GraphError("symbols must be unique")
        names = []
        asset_ids = {}
        for asset in list(bases) + list(quotes):
            if asset not in asset_ids:
                asset_ids[asset] = len(names)
                names.append(asset)
        for s in start_assets:
            if s not in asset_ids:
                raise GraphError(f"start asset {s!r} is not traded in any market")
        if len(set(start_assets)) != len(start_assets) or not start_assets:
            raise GraphError("start_assets must be distinct and not empty")
        self.n_assets = len(names)
        self.n_markets = n
        self.max_legs = max_legs
        self.assets = tuple(names)
        self.symbols = tuple(symbols)
        self.pairs = tuple(zip(bases, quotes))
        self.slippage_bps = slippage_bps
        self.threshold = 1.0 + min_profit_bps / 1e4
        self._market_ids = {symbol: m for m, symbol in enumerate(symbols)}
        self._books = [None] * n
        base_ids = np.array([asset_ids[b] for b in bases], dtype=np.int32)
        quote_ids = np.array([asset_ids[q] for q in quotes], dtype=np.int32)
        if (base_ids == quote_ids).any():
            raise GraphError("a market's base and quote must differ")
        fees = per_market(taker_fees, n, "taker_fees", 0.0)
        if (fees >= 1.0).any():
            raise GraphError("taker_fees must be fractions below 1")
        self._keep_fee_arr = 1.0 - fees
        self._lot_arr = per_market(lots, n, "lots", 0.0)
        self._min_qty_arr = per_market(min_qty, n, "min_qty", 0.0)
        self._min_notional_arr = per_market(min_notional, n, "min_notional", 0.0)
        self._slip_up = 1.0 + slippage_bps / 1e4
        self._slip_down = 1.0 - slippage_bps / 1e4
        starts = np.array([asset_ids[s] for s in start_assets], dtype=np.int32)
        self._build(base_ids, quote_ids, starts)

    cdef _build(self, cnp.ndarray base_ids, cnp.ndarray quote_ids, cnp.ndarray starts):
        cdef int n = self.n_markets, n_assets = self.n_assets, stride = self.max_legs
        cdef int32_t pad = 2 * n
        # adjacency: each asset's outgoing edges in ascending market id
        degree = np.bincount(np.concatenate([quote_ids, base_ids]), minlength=n_assets)
        adj_ptr = np.zeros(n_assets + 1, dtype=np.int32)
        adj_ptr[1:] = np.cumsum(degree)
        adj_to = np.empty(2 * n, dtype=np.int32)
        adj_edge = np.empty(2 * n, dtype=np.int32)
        fill = adj_ptr[:n_assets].copy()
        for m in range(n):
            q, b = quote_ids[m], base_ids[m]
            adj_to[fill[q]], adj_edge[fill[q]] = b, 2 * m       # BUY: quote -> base
            fill[q] += 1
            adj_to[fill[b]], adj_edge[fill[b]] = q, 2 * m + 1   # SELL: base -> quote
            fill[b] += 1
        start_rank = np.full(n_assets, len(starts), dtype=np.int32)
        start_rank[starts] = np.arange(len(starts), dtype=np.int32)
        cdef CycleBuffer buf
        buf.edges = NULL
        buf.lengths = NULL
        buf.starts = NULL
        buf.count = 0
        buf.capacity = 0
        buf.stride = stride
        cdef int32_t[::1] ap = adj_ptr, at = adj_to, ae = adj_edge, st = starts, sr = start_rank
        cdef int status = 0, n_starts = len(starts)
        with nogil:
            for length in range(3, stride + 1):
                status = enumerate_cycles(n_assets, &ap[0], &at[0], &ae[0], &st[0], n_starts,
                                          &sr[0], length, pad, &buf)
                if status != 0:
                    break
        try:
            if status != 0:
                raise MemoryError("CycleEngine: out of memory while enumerating cycles")
            count = buf.count
            self._edges_arr = np.empty(count * stride, dtype=np.int32)
            self._lengths_arr = np.empty(count, dtype=np.int8)
            self._starts_arr = np.empty(count, dtype=np.int32)
            if count:
                self._edges_arr[:] = <int32_t[:count * stride]>buf.edges
                self._lengths_arr[:] = <int8_t[:count]>buf.lengths
                self._starts_arr[:] = <int32_t[:count]>buf.starts
        finally:
            free(buf.edges)
            free(buf.lengths)
            free(buf.starts)
        self.cycle_count = count
        # CSR market -> cycles, each market's cycles ascending
        edges = self._edges_arr.reshape(count, stride) if count else np.empty((0, stride), np.int32)
        markets = edges // 2
        valid = edges != pad
        counts = np.bincount(markets[valid], minlength=n) if count else np.zeros(n, np.int64)
        self._ptr_arr = np.zeros(n + 1, dtype=np.int32)
        self._ptr_arr[1:] = np.cumsum(counts)
        order = np.repeat(np.arange(count, dtype=np.int32), valid.sum(axis=1))
        by_market = markets[valid]
        sort = np.argsort(by_market, kind="stable")
        self._idx_arr = np.ascontiguousarray(order[sort], dtype=np.int32)
        # each market's cycles' edges, copied next to each other: an update streams through
        # one contiguous block instead of gathering cycles from all over the index
        self._member_edges_arr = np.ascontiguousarray(edges[self._idx_arr].reshape(-1))
        self._ranked_arr = np.empty(max(1, count) * 16, dtype=np.uint8)
        self._changed_arr = np.empty(max(1, int(counts.max()) if n else 1), dtype=np.int32)
        self._scan_arr = np.empty(max(1, count), dtype=np.int32)
        self._edge_rate_arr = np.zeros(2 * n + 1, dtype=np.float64)
        self._edge_rate_arr[2 * n] = 1.0
        self._cycle_rate_arr = np.zeros(max(1, count), dtype=np.float64)
        self._edges = <int32_t*>cnp.PyArray_DATA(self._edges_arr)
        self._lengths = <int8_t*>cnp.PyArray_DATA(self._lengths_arr)
        self._starts = <int32_t*>cnp.PyArray_DATA(self._starts_arr)
        self._edge_rate = <double*>cnp.PyArray_DATA(self._edge_rate_arr)
        self._cycle_rate = <double*>cnp.PyArray_DATA(self._cycle_rate_arr)
        self._ptr = <int32_t*>cnp.PyArray_DATA(self._ptr_arr)
        self._idx = <int32_t*>cnp.PyArray_DATA(self._idx_arr)
        self._member_edges = <int32_t*>cnp.PyArray_DATA(self._member_edges_arr)
        self._ranked = <Ranked*>cnp.PyArray_DATA(self._ranked_arr)
        self._changed = <int32_t*>cnp.PyArray_DATA(self._changed_arr)
        self._scan = <int32_t*>cnp.PyArray_DATA(self._scan_arr)
        self._keep_fee = <double*>cnp.PyArray_DATA(self._keep_fee_arr)
        self._lot = <const double*>cnp.PyArray_DATA(self._lot_arr)
        self._min_qty = <const double*>cnp.PyArray_DATA(self._min_qty_arr)
        self._min_notional = <const double*>cnp.PyArray_DATA(self._min_notional_arr)
        self._stamped_arr = np.full(max(1, n), INT64_MIN, dtype=np.int64)
        self._stamped = <int64_t*>cnp.PyArray_DATA(self._stamped_arr)

    # -- evaluation ----------------------------------------------------------------------------

    cdef Py_ssize_t _update(self, int market, double bid, double ask) noexcept nogil:
        # everything the loop reads lives in locals: extensions build with -fno-strict-aliasing,
        # so a field read through self would be reloaded after every store
        cdef double keep = self._keep_fee[market], rate, threshold = self.threshold
        cdef Py_ssize_t k, n = 0, first = self._ptr[market], last = self._ptr[market + 1]
        cdef int c, stride = self.max_legs
        cdef const int32_t* member = self._member_edges + first * stride
        cdef const int32_t* ids = self._idx
        cdef const double* edge_rate = self._edge_rate
        cdef double* cycle_rate = self._cycle_rate
        cdef int32_t* changed = self._changed
        # NaN, zero and negative prices all fail "> 0": a missing side prices the edge at 0
        self._edge_rate[2 * market] = keep / (ask * self._slip_up) if ask > 0.0 else 0.0
        self._edge_rate[2 * market + 1] = bid * self._slip_down * keep if bid > 0.0 else 0.0
        for k in range(first, last):
            rate = cycle_product(member, edge_rate, stride)
            member += stride
            c = ids[k]
            if rate != cycle_rate[c]:
                cycle_rate[c] = rate
                if rate > threshold:
                    changed[n] = c
                    n += 1
        self._n_changed = n
        return n

    cdef int _market(self, object key) except -1:
        cdef int m
        if not isinstance(key, str):   # any integer, numpy's included
            m = operator.index(key)
            if m < 0 or m >= self.n_markets:
                raise GraphError(f"market id {m} is out of range (0..{self.n_markets - 1})")
            return m
        return self._market_ids[key]

    def market_id(self, symbol):
        """Market id of a symbol."""
        return self._market_ids[symbol]

    def set_top(self, market, double bid, double ask):
        """Set a market's best bid and ask (price units; nan for a missing side).

        Re-evaluates only that market's cycles; returns how many changed rate and are now
        profitable (their ids: ``changed()``).
        """
        return self._update(self._market(market), bid, ask)

    def on_book(self, symbol, L2Book book not None, now_ns=None):
        """Read ``book``'s touch into the market's edges; ``()`` or ``self._emit(changed ids)``
        (attached: less the cycles the pre-check refuses at ``now_ns``, None: the gate's clock)."""
        return self.on_book_at(self._market_ids[symbol], book, 0 if now_ns is None else now_ns,
                               now_ns is not None)

    cdef int market_of(self, symbol) except -2:
        """``symbol``'s market id, -1 when it is not one of the engine's markets."""
        cdef object found = self._market_ids.get(symbol)
        return -1 if found is None else found

    cdef object on_book_at(self, int m, L2Book book, int64_t now, bint known):
        """:meth:`on_book` of market ``m`` (a compiled caller's: the engine's ``BookTap``);
        ``known``: ``now`` is the clock's time, else the gate's clock is read if needed."""
        if self.touch_at(m, book, now, known) == 0:
            return ()
        return self.emit_changed()

    cdef Py_ssize_t touch_at(self, int m, L2Book book, int64_t now, bint known) except -1:
        """:meth:`on_book_at` up to the emit: the cycles the update changed and left
        profitable, less those the pre-check refuses (their ids: ``_changed``); how many."""
        cdef int64_t bid_key = book.sides[0].best, ask_key = book.sides[1].best
        cdef double scale = POW10[book.price_decimals]
        if self._books[m] is not book:
            self._books[m] = book
        if self._update(m, bid_key / scale if bid_key != KEY_NONE else 0.0,
                        -ask_key / scale if ask_key != KEY_NONE else 0.0) == 0:
            return 0
        if self._pre is not None:
            return self._pre_check(now, known)
        return self._n_changed

    cdef object emit_changed(self):
        """``_emit`` of the cycles :meth:`touch_at` kept (whatever the hook returns)."""
        return self._emit(self._changed_tuple())

    cdef void stamp(self, int market, int64_t ns) noexcept:
        """``market``'s book was updated at ``ns`` (the engine's clock): what :meth:`age_ms`
        reads (the engine's book callback stamps each update, as it stamps its table)."""
        self._stamped[market] = ns

    cdef double age_ms(self, int market, int64_t now) noexcept:
        """The age (ms) at ``now`` of ``market``'s last update (0: never stamped)."""
        return stamp_age_ms(self._stamped[market], now)

    def stamped(self, market):
        """When ``market`` (symbol or id) was last stamped (ns), or None."""
        cdef int m = self._market(market)
        return None if self._stamped[m] == INT64_MIN else self._stamped[m]

    def attach(self, Check check, key_of=None):
        """Pre-check the changed profitable cycles in ``on_book`` through ``check`` (the
        orchestrator's cool-off and busy liquidity), before ``_emit``: a refused cycle is
        counted there and not emitted. ``key_of(cycle)``: its (key, markets), asked once per
        cycle. ``None``: no pre-check."""
        if check is None:
            self._pre = None
            return
        if key_of is None:
            raise TypeError("attach needs key_of(cycle) -> (key, markets)")
        self._gate_arr = np.full(max(1, self.cycle_count) * (self.max_legs + 1), -1,
                                 dtype=np.intc)
        self._gate = <int*>cnp.PyArray_DATA(self._gate_arr)
        self._detected = [None] * self.cycle_count
        self._detected_hash_arr = np.zeros(max(1, self.cycle_count), dtype=np.intp)
        self._detected_hash = <Py_hash_t*>cnp.PyArray_DATA(self._detected_hash_arr)
        self._detected_slot_arr = np.full(max(1, self.cycle_count), -1, dtype=np.intc)
        self._detected_slot = <int*>cnp.PyArray_DATA(self._detected_slot_arr)
        self._key_of = key_of
        self._pre = check

    cdef int _register(self, int cycle) except -1:
        cdef int j, width = self.max_legs + 1
        cdef int* row = self._gate + <Py_ssize_t>cycle * width
        cdef Gate gate = self._pre.gate
        key, markets = self._key_of(cycle)
        if len(markets) > self.max_legs:
            raise ValueError(f"cycle {cycle}: {len(markets)} markets for {self.max_legs} legs")
        for j, market in enumerate(markets):
            row[1 + j] = gate.market_slot(market)
        self._detected[cycle] = (self._pre.kind, key[1])
        self._detected_hash[cycle] = hash(self._detected[cycle])
        self._detected_slot[cycle] = self._pre.detected_slot(self._detected[cycle])
        row[0] = gate.key_slot(key)
        return 0

    cdef Py_ssize_t _pre_check(self, int64_t now, bint known) except -1:
        """Keep, in order, the changed cycles the pre-check lets through (each refusal
        counted, as ``_emit`` asking ``blocked`` cycle by cycle would); how many are left.
        ``known``: ``now`` is the clock's time (else the gate reads its clock if needed)."""
        cdef Py_ssize_t i, kept = 0, n = self._n_changed
        cdef int c, reason, count, width = self.max_legs + 1
        cdef int* row
        cdef Check check = self._pre
        for i in range(n):
            c = self._changed[i]
            row = self._gate + <Py_ssize_t>c * width
            if row[0] < 0:
                self._register(c)
            count = 0
            while count < self.max_legs and row[1 + count] >= 0:
                count += 1
            reason = check.gate.reason(row[0], row + 1, count, &now, &known)
            if reason == 0:
                self._changed[kept] = c
                kept += 1
            else:
                check.count(reason, self._detected[c], self._detected_hash[c],
                            self._detected_slot[c])
        self._n_changed = kept
        return kept

    def book(self, market):
        """The book last given for a market (symbol or id), or None."""
        return self._books[self._market(market)]

    def set_book(self, symbol, L2Book book not None):
        """Attach the book used for sizing a market without touching its top."""
        self._books[self._market_ids[symbol]] = book

    cdef tuple _changed_tuple(self):
        cdef Py_ssize_t i
        return tuple([self._changed[i] for i in range(self._n_changed)])

    def _emit(self, ids):
        """Hook: what ``on_book`` returns when cycles changed and are profitable (a tuple of
        cycle ids, ascending); subclasses turn them into opportunities."""
        return ids

    def changed(self):
        """Ids of the cycles the last update changed and left profitable, ascending."""
        return self._changed_arr[:self._n_changed].copy()

    def rate(self, int cycle):
        self._check_cycle(cycle)
        return self._cycle_rate[cycle]

    def rates(self):
        """Every cycle's current rate (a copy)."""
        return self._cycle_rate_arr[:self.cycle_count].copy()

    def scan(self):
        """Re-evaluate every cycle; the profitable ones, best rate first (ties: lower id)."""
        cdef Py_ssize_t n = 0
        cdef int c, stride = self.max_legs
        cdef double rate, threshold = self.threshold
        with nogil:
            for c in range(self.cycle_count):
                rate = cycle_product(self._edges + <Py_ssize_t>c * stride, self._edge_rate, stride)
                self._cycle_rate[c] = rate
                if rate > threshold:
                    self._ranked[n].rate = rate
                    self._ranked[n].cycle = c
                    n += 1
            qsort(self._ranked, n, sizeof(Ranked), compare_ranked)
            for c in range(n):
                self._scan[c] = self._ranked[c].cycle
        return self._scan_arr[:n].copy()

    # -- structure -----------------------------------------------------------------------------

    cdef _check_cycle(self, int cycle):
        if cycle < 0 or cycle >= self.cycle_count:
            raise GraphError(f"cycle {cycle} is out of range (0..{self.cycle_count - 1})")

    def cycle(self, int cycle):
        """``((market, direction), ...)`` of a cycle."""
        self._check_cycle(cycle)
        cdef int k
        cdef int32_t e
        legs = []
        for k in range(self._lengths[cycle]):
            e = self._edges[cycle * self.max_legs + k]
            legs.append((e // 2, e % 2))
        return tuple(legs)

    def cycle_assets(self, int cycle):
        """Asset names along a cycle, starting with its start asset."""
        self._check_cycle(cycle)
        names = [self.assets[self._starts_arr[cycle]]]
        legs = self.cycle(cycle)
        for market, direction in legs[:len(legs) - 1]:
            base, quote = self.pairs[market]
            names.append(base if direction == BUY else quote)
        return tuple(names)

    def cycles_of_market(self, market):
        """Ids of the cycles that contain a market, ascending."""
        cdef int m = self._market(market)
        return self._idx_arr[self._ptr[m]:self._ptr[m + 1]].copy()

    # -- sizing --------------------------------------------------------------------------------

    def size(self, int cycle, double max_start=INFINITY):
        """Size a cycle over the books given to ``on_book``/``set_book``: a ``SizedCycle``."""
        cdef LegFill fills[4]
        self._check_cycle(cycle)
        if not self.size_into(cycle, max_start, fills):
            return empty_sized(cycle)
        return self.sized_of(cycle, fills)

    cdef bint size_into(self, int cycle, double max_start, LegFill* fills) except -1:
        """:meth:`size` into ``fills`` (one per leg): False when nothing can be traded (the
        empty SizedCycle); a leg without a book raises BookError."""
        if not max_start > 0.0:
            return False
        cdef int n = self._lengths[cycle], i, m, d
        cdef LegWalk walks[4]
        cdef L2Book book
        cdef const Side* sides[4]
        cdef double x, amount
        for i in range(n):
            m = self._edges[cycle * self.max_legs + i] // 2
            d = self._edges[cycle * self.max_legs + i] % 2
            book = self._books[m]
            if book is None:
                raise BookError(f"no book for {self.symbols[m]}: call on_book or set_book first")
            sides[i] = &book.sides[1] if d == BUY else &book.sides[0]
            walks[i].buy = d == BUY
            walks[i].price_scale = POW10[book.price_decimals]
            walks[i].size_scale = POW10[book.size_decimals]
            walks[i].keep = self._keep_fee[m]
            walker_init(&walks[i].walker, sides[i])
        # (the GIL is kept: see profit.quote_cross; a cycle walks a few levels of 3-4 books)
        x = marginal_walk(walks, n, max_start)
        amount = x
        for i in range(n):
            m = self._edges[cycle * self.max_legs + i] // 2
            fill_leg(sides[i], walks[i].buy, walks[i].price_scale, walks[i].size_scale,
                     walks[i].keep, self._lot[m], amount, &fills[i])
            if (fills[i].qty <= 0.0 or fills[i].qty < self._min_qty[m] * (1.0 - 1e-12)
                    or fills[i].notional < self._min_notional[m] * (1.0 - 1e-12)):
                return False
            amount = fills[i].out
        return x > 0.0

    cdef SizedCycle sized_of(self, int cycle, const LegFill* fills):
        """The SizedCycle of ``fills`` (what :meth:`size_into` wrote for ``cycle``)."""
        cdef int n = self._lengths[cycle], i
        cdef SizedCycle sized = SizedCycle.__new__(SizedCycle)
        cdef SizedLeg leg
        sized.cycle = cycle
        sized.start_amount = fills[0].spent
        sized.end_amount = fills[n - 1].out
        sized.profit = sized.end_amount - sized.start_amount
        sized.profit_bps = sized.profit / sized.start_amount * 1e4
        legs = []
        for i in range(n):
            leg = SizedLeg.__new__(SizedLeg)
            leg.market = self._edges[cycle * self.max_legs + i] // 2
            leg.direction = self._edges[cycle * self.max_legs + i] % 2
            leg.qty = fills[i].qty
            leg.price = fills[i].notional / fills[i].qty
            leg.limit_price = limit_raw(fills[i].worst_raw, leg.direction == BUY, self.slippage_bps)
            leg.levels = fills[i].levels
            legs.append(leg)
        sized.legs = tuple(legs)
        return sized
