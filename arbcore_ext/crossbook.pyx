# Cross-venue touch test: every market's best bid and ask, and the routes they are compared on.
#
# The cross-exchange strategy compares each book update against the same base on every other
# venue, both ways. Almost no update crosses, so the test at the top of both books runs here over
# raw int64 prices, in the same float expressions as the strategy's Python test
# (arbcore.strategies.cross_exchange.top_cross: the same IEEE doubles, so the same verdicts);
# only the routes that pass go back to Python for the orchestrator's word and the depth walk.
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

from arbcore_ext.book cimport KEY_NONE, L2Book

DEF MAX_FOUND = 64  # routes returned from a stack buffer; more spill into a list

#: (buy market, sell market, ask_factor, bid_factor, ask_unit, always): see crossbook.pyi
RouteSpec = tuple[int, int, float, float, float, bool]

cdef int64_t NO_PRICE = -1  # a side with no level (raw prices are never negative)

cdef struct Route:
    int buy             # market bought (its ask)
    int sell            # market sold (its bid)
    double ask_factor   # raw ask -> cost per base unit, taker fee included
    double bid_factor   # raw bid -> proceeds per base unit, taker fee deducted
    double ask_unit     # raw ask -> price
    bint always         # the quotes differ: the live rate is Python's, so every top goes back


cdef class CrossBook:
    """Each market's touch, and per market the routes an update of it is tested on."""

    cdef int64_t* _bid
    cdef int64_t* _ask
    cdef char* _known
    cdef Route* _routes
    cdef int* _start    # market m's routes: _order[_start[m] : _start[m + 1]]
    cdef int* _order
    cdef readonly int n_markets
    cdef readonly int n_routes
    cdef readonly double min_profit_bps
    cdef public long long checked

    def __cinit__(self):
        self._bid = self._ask = NULL
        self._known = NULL
        self._routes = NULL
        self._start = self._order = NULL

    def __init__(self, int n_markets, routes, by_market, double min_profit_bps):
        cdef int m, i, n = 0, r
        if n_markets < 0 or len(by_market) != n_markets:
            raise ValueError(f"by_market lists {len(by_market)} markets, expected {n_markets}")
        self.n_markets = n_markets
        self.n_routes = len(routes)
        self.min_profit_bps = min_profit_bps
        self.checked = 0
        total = sum(len(listed) for listed in by_market)
        self._bid = <int64_t*>malloc(max(n_markets, 1) * sizeof(int64_t))
        self._ask = <int64_t*>malloc(max(n_markets, 1) * sizeof(int64_t))
        self._known = <char*>malloc(max(n_markets, 1))
        self._routes = <Route*>malloc(max(self.n_routes, 1) * sizeof(Route))
        self._start = <int*>malloc((n_markets + 1) * sizeof(int))
        self._order = <int*>malloc(max(total, 1) * sizeof(int))
        if (self._bid == NULL or self._ask == NULL or self._known == NULL or self._routes == NULL
                or self._start == NULL or self._order == NULL):
            raise MemoryError()
        for m in range(n_markets):
            self._bid[m] = self._ask[m] = NO_PRICE
            self._known[m] = 0
        for i, (buy, sell, ask_factor, bid_factor, ask_unit, always) in enumerate(routes):
            if not (0 <= buy < n_markets and 0 <= sell < n_markets) or buy == sell:
                raise ValueError(f"route {i}: markets ({buy}, {sell}) out of range or equal")
            self._routes[i] = Route(buy, sell, ask_factor, bid_factor, ask_unit, always)
        for m in range(n_markets):
            self._start[m] = n
            for r in by_market[m]:
                if not 0 <= r < self.n_routes:
                    raise ValueError(f"market {m}: route {r} out of range")
                if self._routes[r].buy != m and self._routes[r].sell != m:
                    raise ValueError(f"market {m}: route {r} does not trade it")
                self._order[n] = r
                n += 1
        self._start[n_markets] = n

    def __dealloc__(self):
        free(self._bid)
        free(self._ask)
        free(self._known)
        free(self._routes)
        free(self._start)
        free(self._order)

    cdef inline int _check(self, int market) except -1:
        if not 0 <= market < self.n_markets:
            raise IndexError(f"market {market} out of range (0..{self.n_markets - 1})")
        return 0

    cdef inline void _read(self, int m, L2Book book) noexcept:
        cdef int64_t bid_key = book.sides[0].best, ask_key = book.sides[1].best
        self._bid[m] = bid_key if bid_key != KEY_NONE else NO_PRICE
        self._ask[m] = -ask_key if ask_key != KEY_NONE else NO_PRICE
        self._known[m] = 1

    def load(self, int market, L2Book book not None):
        """Take ``market``'s touch from ``book`` without testing any route."""
        self._check(market)
        self._read(market, book)

    def set_top(self, int market, bid, ask):
        """Set ``market``'s touch from raw prices (None: that side is empty)."""
        self._check(market)
        if (bid is not None and bid < 0) or (ask is not None and ask < 0):
            raise ValueError(f"market {market}: negative raw price (bid {bid}, ask {ask})")
        self._bid[market] = NO_PRICE if bid is None else <int64_t>bid
        self._ask[market] = NO_PRICE if ask is None else <int64_t>ask
        self._known[market] = 1

    def forget(self, int market):
        """``market``'s touch is unknown again (its routes are not tested until it is set)."""
        self._check(market)
        self._known[market] = 0

    def known(self, int market):
        self._check(market)
        return bool(self._known[market])

    def update(self, int market, L2Book book not None):
        """Read ``book``'s touch into ``market``, then test its routes against every known
        market: the ids of those that cross by ``min_profit_bps`` (or need the live rate), in
        route order; ``()`` for the usual update. Counts each route tested in ``checked``."""
        self._check(market)
        self._read(market, book)
        return self._crossing(market)

    def crossing(self, int market):
        """:meth:`update` without reading a book: the routes of ``market`` that cross now."""
        self._check(market)
        return self._crossing(market)

    cdef object _crossing(self, int market):
        cdef int i, r, other, found = 0
        cdef int found_ids[MAX_FOUND]
        cdef list overflow = None
        cdef const Route* route
        cdef int64_t ask, bid
        cdef double ask_f, bid_f
        for i in range(self._start[market], self._start[market + 1]):
            r = self._order[i]
            route = &self._routes[r]
            other = route.sell if route.buy == market else route.buy
            if not self._known[other]:
                continue
            self.checked += 1
            ask, bid = self._ask[route.buy], self._bid[route.sell]
            if ask == NO_PRICE or bid == NO_PRICE:
                continue
            if not route.always:
                # top_cross (cross_exchange.py), operation for operation
                ask_f = <double>ask * route.ask_factor
                bid_f = <double>bid * route.bid_factor
                if bid_f <= ask_f:
                    continue
                if (bid_f - ask_f) / (<double>ask * route.ask_unit) * 1e4 < self.min_profit_bps:
                    continue
            if found < MAX_FOUND:
                found_ids[found] = r
                found += 1
            else:
                if overflow is None:
                    overflow = []
                overflow.append(r)
        if found == 0:
            return ()
        ids = tuple([found_ids[i] for i in range(found)])
        return ids if overflow is None else ids + tuple(overflow)
