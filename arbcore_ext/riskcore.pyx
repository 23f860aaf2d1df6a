# Pre-trade risk's hot check compiled: RiskEngine._first_breach for an ACTIVE engine with no
# correlations configured (every check the engine makes in normal trading).
#
# The check runs once in hundreds of market-data frames, so it runs with cold caches: every
# Python object it reads (a dict, its keys, a float) is a cache miss, and the misses, not the
# instructions, were its time (~25 us of ~2.5 us warm). So the exposure it reads lives here in C
# arrays (Exposure): the positions per venue in the order they were first reported, the
# open-order count, the order times of the last second, the limits, and the check's own price
# reads; a leg is a C struct of ids. RiskEngine owns one Exposure and tells it every position,
# order and limit change; its dicts stay for the Python reference (`_first_breach`, the other
# states and the correlation rule), which the property tests hold this against: the same verdict,
# the same numbers (bit for bit, the same types) and the same price reads, in the same order.
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True

import sys

from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.object cimport PyObject
from libc.math cimport fabs, isfinite
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memset

from arbcore_ext.clocks cimport Seconds
from arbcore_ext.usdprices cimport UsdPrices

cdef enum:
    MAX_KEYS = 32  # a trade's touched (venue, asset) pairs: two per leg
    MAX_LEGS = 16  # more legs take the Python path

# Python 3.12's sum() of floats is compensated (Neumaier); 3.11's adds in order. Sums follow
# the running interpreter's sum() so the numbers match the Python reference on either.
cdef bint COMPENSATED_SUM = sys.version_info >= (3, 12)


cdef struct Touched:
    int venue
    int asset
    double quantity  # after the trade


cdef class _Sum:
    """sum() of a list of floats as the running interpreter does it."""
    cdef double total
    cdef list items

    cdef inline void reset(self):
        self.total = 0.0
        self.items = [] if COMPENSATED_SUM else None

    cdef inline int add(self, double value) except -1:
        if COMPENSATED_SUM:
            self.items.append(value)
        else:
            self.total += value
        return 0

    cdef inline double result(self) except? -1.0:
        if COMPENSATED_SUM:
            return <double>sum(self.items)
        return self.total


cdef inline int _grow(void** block, Py_ssize_t size) except -1:
    cdef void* grown = realloc(block[0], size if size > 0 else 1)
    if grown == NULL:
        raise MemoryError()
    block[0] = grown
    return 0


cdef int _touch(Exposure self, Touched* touched, Py_ssize_t* count, int venue, int asset) noexcept:
    """The index of (venue, asset) among the touched, added with its position now if new."""
    cdef Py_ssize_t k
    for k in range(count[0]):
        if touched[k].venue == venue and touched[k].asset == asset:
            return <int>k
    k = count[0]
    count[0] += 1
    touched[k].venue, touched[k].asset = venue, asset
    touched[k].quantity = self._qty[<Py_ssize_t>venue * self.asset_cap + asset]
    return <int>k


cdef double _venue_usd(Exposure self, int venue, const Touched* touched,
                       Py_ssize_t count, _Sum acc) except? -1.0:
    """Everything held on ``venue`` in USD, with the touched positions in place when
    ``count`` (held assets in report order, then new ones in touch order)."""
    cdef Py_ssize_t k, j
    cdef int asset
    cdef double quantity
    cdef const int* order = &self._order[<Py_ssize_t>venue * self.asset_cap]
    acc.reset()
    for j in range(self._n_held[venue]):
        asset = order[j]
        quantity = self._qty[<Py_ssize_t>venue * self.asset_cap + asset]
        for k in range(count):
            if touched[k].venue == venue and touched[k].asset == asset:
                quantity = touched[k].quantity
                break
        acc.add(fabs(quantity) * self._price_of(asset))
    for k in range(count):
        if touched[k].venue == venue and not self._held[
                <Py_ssize_t>venue * self.asset_cap + touched[k].asset]:
            acc.add(fabs(touched[k].quantity) * self._price_of(touched[k].asset))
    return acc.result()



cdef class Exposure:
    """Risk's exposure view in C arrays, for the compiled check (see the module comment).

    ``price_usd(asset)``: USD per unit (None: unknown, valued 0), read once a check;
    ``clock()``: seconds (the order-rate window's); ``limits``: a RiskLimits. Venues and assets
    get small ids on first sight (:meth:`venue_id`, :meth:`asset_id`); an id is not a position.
    """

    def __cinit__(self):
        self._qty = NULL
        self._held = NULL
        self._order = NULL
        self._n_held = NULL
        self._rank = NULL
        self._price = NULL
        self._priced_at = NULL
        self._dollar = NULL
        self._times = NULL

    def __dealloc__(self):
        free(self._qty)
        free(self._held)
        free(self._order)
        free(self._n_held)
        free(self._rank)
        free(self._price)
        free(self._priced_at)
        free(self._dollar)
        free(self._times)

    def __init__(self, limits not None, price_usd not None, clock not None):
        self._venue_ids, self._asset_ids = {}, {}
        self._venues, self._assets = [], []
        self.n_venues = self.n_assets = 0
        self.venue_cap = self.asset_cap = 0
        self._time_cap = self._time_head = self._time_count = 0
        self.open_orders = 0
        self.fast = True
        self._epoch = 0
        self._acc = _Sum.__new__(_Sum)
        self._reserve(4, 16)
        self.price_usd = price_usd
        self.clock = clock
        self.set_limits(limits)

    # -- what RiskEngine tells it -----------------------------------------------------------------

    def set_limits(self, limits not None):
        self.limits = limits
        self.max_position = limits.max_position_usd
        self.max_exposure = limits.max_exposure_per_exchange_usd
        self.min_freshness = limits.min_book_freshness_ms
        self.max_rate = limits.max_orders_per_s
        self.max_open = limits.max_open_orders

    @property
    def price_usd(self):
        return self._price_usd

    @price_usd.setter
    def price_usd(self, price_usd):
        cdef int a
        self._price_usd = price_usd
        self._usd = price_usd if type(price_usd) is UsdPrices else None
        for a in range(self.n_assets):
            self._dollar[a] = self._is_dollar(self._assets[a])

    cdef bint _is_dollar(self, asset) except -1:
        """A dollar asset of the engine's UsdPrices (its price is 1.0, asked of nobody)."""
        return self._usd is not None and asset in (<UsdPrices>self._usd).dollars

    @property
    def clock(self):
        return self._clock

    @clock.setter
    def clock(self, clock):
        self._clock = clock
        self._seconds = clock if type(clock) is Seconds else None

    cpdef int venue_id(self, venue) except -1:
        """``venue``'s id (a new one on first sight)."""
        cdef PyObject* found = PyDict_GetItem(self._venue_ids, venue)
        cdef int v, k
        if found != NULL:
            return <int>(<object>found)
        v = self.n_venues
        self._reserve(v + 1, self.asset_cap)
        self._venue_ids[venue] = v
        self._venues.append(venue)
        self._n_held[v] = 0
        self.n_venues = v + 1
        for k, name in enumerate(sorted(self._venues)):  # (the exposure rule's venue order)
            self._rank[<int>self._venue_ids[name]] = k
        return v

    cpdef int asset_id(self, asset) except -1:
        """``asset``'s id (a new one on first sight)."""
        cdef PyObject* found = PyDict_GetItem(self._asset_ids, asset)
        cdef int a
        if found != NULL:
            return <int>(<object>found)
        a = self.n_assets
        self._reserve(self.venue_cap, a + 1)
        self._asset_ids[asset] = a
        self._assets.append(asset)
        self._priced_at[a] = -1
        self._dollar[a] = self._is_dollar(asset)
        self.n_assets = a + 1
        return a

    def set_position(self, venue, asset, double quantity):
        """``asset`` held on ``venue`` is now ``quantity`` (first reports keep their order)."""
        cdef int v = self.venue_id(venue), a = self.asset_id(asset)
        cdef Py_ssize_t at = <Py_ssize_t>v * self.asset_cap + a
        if not self._held[at]:
            self._held[at] = 1
            self._order[<Py_ssize_t>v * self.asset_cap + self._n_held[v]] = a
            self._n_held[v] += 1
        self._qty[at] = quantity

    def order_sent(self, double at):
        """An order went out at ``at`` (the clock's seconds)."""
        cdef Py_ssize_t cap = self._time_cap, k
        cdef double* times
        if self._time_count == cap:
            cap = max(16, 2 * cap)
            times = <double*>malloc(cap * sizeof(double))
            if times == NULL:
                raise MemoryError()
            for k in range(self._time_count):
                times[k] = self._times[(self._time_head + k) % self._time_cap]
            free(self._times)
            self._times, self._time_cap, self._time_head = times, cap, 0
        self._times[(self._time_head + self._time_count) % self._time_cap] = at
        self._time_count += 1

    cdef Py_ssize_t _orders_since(self, double horizon) noexcept:
        """Orders sent after ``horizon``, the older ones forgotten (rehearsing: kept)."""
        cdef Py_ssize_t k = 0
        if self._rehearsing:
            while k < self._time_count and \
                    self._times[(self._time_head + k) % self._time_cap] <= horizon:
                k += 1
            return self._time_count - k
        while self._time_count and self._times[self._time_head] <= horizon:
            self._time_head = (self._time_head + 1) % self._time_cap
            self._time_count -= 1
        return self._time_count

    def orders_since(self, double horizon):
        """Orders sent after ``horizon`` (older ones forgotten): the order-rate window."""
        return self._orders_since(horizon)

    @property
    def order_times(self):
        """The order times still in the window, oldest first."""
        return [self._times[(self._time_head + k) % self._time_cap]
                for k in range(self._time_count)]

    cdef int _reserve(self, int venues, int assets) except -1:
        """Room for ``venues`` x ``assets`` (the position arrays laid out again when the asset
        count outgrows a row)."""
        cdef int v_cap = self.venue_cap, a_cap = self.asset_cap, v, a, k
        cdef double* qty
        cdef unsigned char* held
        cdef int* order
        if venues > v_cap:
            v_cap = max(4, 2 * venues)
            _grow(<void**>&self._n_held, v_cap * sizeof(int))
            _grow(<void**>&self._rank, v_cap * sizeof(int))
        if assets > a_cap:
            a_cap = max(16, 2 * assets)
            _grow(<void**>&self._price, a_cap * sizeof(double))
            _grow(<void**>&self._priced_at, a_cap * sizeof(int64_t))
            _grow(<void**>&self._dollar, a_cap)
        if v_cap == self.venue_cap and a_cap == self.asset_cap:
            return 0
        qty = <double*>malloc(<Py_ssize_t>v_cap * a_cap * sizeof(double))
        held = <unsigned char*>malloc(<Py_ssize_t>v_cap * a_cap)
        order = <int*>malloc(<Py_ssize_t>v_cap * a_cap * sizeof(int))
        if qty == NULL or held == NULL or order == NULL:
            free(qty)
            free(held)
            free(order)
            raise MemoryError()
        memset(qty, 0, <Py_ssize_t>v_cap * a_cap * sizeof(double))
        memset(held, 0, <Py_ssize_t>v_cap * a_cap)
        for v in range(self.n_venues):
            for a in range(self.n_assets):
                qty[<Py_ssize_t>v * a_cap + a] = self._qty[<Py_ssize_t>v * self.asset_cap + a]
                held[<Py_ssize_t>v * a_cap + a] = self._held[<Py_ssize_t>v * self.asset_cap + a]
            for k in range(self._n_held[v]):
                order[<Py_ssize_t>v * a_cap + k] = self._order[<Py_ssize_t>v * self.asset_cap + k]
        free(self._qty)
        free(self._held)
        free(self._order)
        self._qty, self._held, self._order = qty, held, order
        self.venue_cap, self.asset_cap = v_cap, a_cap
        return 0

    # -- the check ----------------------------------------------------------------------------------

    cdef double _price_of(self, int asset) except? -1.0:
        """The check's price of ``asset``: read once a check (unknown or not finite: 0)."""
        if self._dollar[asset]:
            return 1.0  # (UsdPrices.price's answer for a dollar asset)
        if self._priced_at[asset] == self._epoch:
            return self._price[asset]
        name = self._assets[asset]
        if self._usd is None:
            value = self._price_usd(name)
        elif self._rehearsing:
            value = (<UsdPrices>self._usd).peek(name)
        else:
            value = (<UsdPrices>self._usd).price(name)
        self._price[asset] = <double>value if value is not None and isfinite(<double>value) \
            else 0.0
        self._priced_at[asset] = self._epoch
        return self._price[asset]

    cdef double _now(self) except? -1.0:
        if self._seconds is not None:
            return (<Seconds>self._seconds).now()
        return <double>self._clock()

    cdef object breach(self, const Leg* legs, Py_ssize_t n, int* oldest_leg):
        """The first limit ``legs`` break, as ``(rule, value, limit, detail)``, or None
        (RiskEngine._first_breach, ACTIVE, no correlations); ``oldest_leg``: set to the leg
        whose age the freshness rule read. At most MAX_KEYS / 2 legs."""
        cdef Touched touched[MAX_KEYS]
        cdef Py_ssize_t i, k, count = 0
        cdef int venue, j, chosen
        cdef int venues[MAX_KEYS]
        cdef Py_ssize_t n_venues = 0
        cdef double sign, price, quote_qty, value, oldest = 0.0
        cdef long long opened, rate
        cdef _Sum acc
        self._epoch += 1  # (the check's own price reads)
        for i in range(n):  # RiskEngine._touched_after
            sign = 1.0 if legs[i].buy else -1.0
            price = self._price_of(legs[i].quote)
            quote_qty = legs[i].notional_usd / (1e-12 if 1e-12 > price else price)
            k = _touch(self, touched, &count, legs[i].venue, legs[i].base)
            touched[k].quantity = touched[k].quantity + sign * legs[i].base_qty
            k = _touch(self, touched, &count, legs[i].venue, legs[i].quote)
            touched[k].quantity = touched[k].quantity - sign * quote_qty
        oldest_leg[0] = -1
        if n:
            oldest_leg[0] = 0
            oldest = legs[0].age_ms
            for i in range(1, n):
                if legs[i].age_ms > oldest:
                    oldest, oldest_leg[0] = legs[i].age_ms, <int>i
        if oldest > self.min_freshness:
            return ("book_freshness", oldest, self.limits.min_book_freshness_ms,
                    "oldest book (ms)")
        opened = self.open_orders + n
        if opened > self.max_open:
            return ("max_open_orders", opened, self.limits.max_open_orders,
                    "open orders with legs")
        rate = self._orders_since(self._now() - 1.0) + n
        if rate > self.max_rate:
            return ("max_orders_per_s", rate, self.limits.max_orders_per_s,
                    "orders in the last 1 s")
        for k in range(count):
            value = fabs(touched[k].quantity) * self._price_of(touched[k].asset)
            if value > self.max_position and value > fabs(
                    self._qty[<Py_ssize_t>touched[k].venue * self.asset_cap + touched[k].asset]
                    ) * self._price_of(touched[k].asset):
                return ("max_position_usd", value, self.limits.max_position_usd,
                        f"{self._assets[touched[k].asset]} on {self._venues[touched[k].venue]}")
        for i in range(n):  # the legs' venues, by name
            venue = legs[i].venue
            for j in range(n_venues):
                if venues[j] == venue:
                    break
            else:
                j = <int>n_venues
                while j > 0 and self._rank[venues[j - 1]] > self._rank[venue]:
                    venues[j] = venues[j - 1]
                    j -= 1
                venues[j] = venue
                n_venues += 1
        acc = <_Sum>self._acc
        for j in range(n_venues):
            venue = venues[j]
            value = _venue_usd(self, venue, touched, count, acc)
            if value > self.max_exposure and value > _venue_usd(self, venue, touched, 0, acc):
                return ("max_exposure_per_exchange_usd", value,
                        self.limits.max_exposure_per_exchange_usd,
                        f"held on {self._venues[venue]}")
        return None

    cdef int rehearse_breach(self, const Leg* legs, Py_ssize_t n) except -1:
        """:meth:`breach`'s reads with nothing left behind that a later check could see (the
        order-rate window keeps what it would forget, a price missing from the engine's USD
        cache is read and not cached; the per-check price reads are keyed by a check number
        never reused): a rehearsal's. Only over the engine's UsdPrices (else it reads
        nothing: a price callable's caching is its own)."""
        cdef int oldest
        if self._usd is None:
            return 0
        self._rehearsing = True
        try:
            self.breach(legs, n, &oldest)
        finally:
            self._rehearsing = False
        return 0

    cdef int fill_leg(self, Leg* leg, tuple row) except -1:
        """``leg`` from a :data:`~arbcore.risk.engine.LegTuple`."""
        if len(row) != 7:
            raise TypeError(f"risk legs are 7-tuples (LegTuple), got {row!r}")
        leg.venue = self.venue_id(row[0])
        leg.base = self.asset_id(row[1])
        leg.quote = self.asset_id(row[2])
        leg.buy = bool(row[3])
        leg.base_qty = row[4]
        leg.notional_usd = row[5]
        leg.age_ms = row[6]
        return 0

    def first_breach(self, legs):
        """The first limit ``legs`` (LegTuples) break, or None: see :func:`first_breach`."""
        cdef tuple rows = legs if type(legs) is tuple else tuple(legs)
        cdef Py_ssize_t n = len(rows), i
        cdef Leg cells[MAX_LEGS]
        cdef int oldest
        for i in range(n):
            if type(rows[i]) is not tuple or len(<tuple>rows[i]) != 7:
                raise TypeError(f"risk legs are 7-tuples (LegTuple), got {rows[i]!r}")
        if n > MAX_LEGS:
            raise ValueError(f"{n} legs: the compiled check takes at most {MAX_LEGS}")
        for i in range(n):
            self.fill_leg(&cells[i], <tuple>rows[i])
        found = self.breach(cells, n, &oldest)
        if found is not None and found[0] == "book_freshness":  # the age as the leg gave it
            return ("book_freshness", (<tuple>rows[oldest])[6], found[2], found[3])
        return found


def first_breach(engine, legs):
    """``engine._first_breach(legs)`` for an ACTIVE engine with no correlations (the caller
    checks both): the first limit the legs break as ``(rule, value, limit, detail)``, or None.
    ``legs``: :data:`~arbcore.risk.engine.LegTuple` tuples; more than 16 take the Python path."""
    if len(legs) > MAX_LEGS:
        return engine._first_breach(legs)
    return (<Exposure?>engine.exposure).first_breach(legs)


from arbcore.model import OrderSide

cdef object BUY = OrderSide.BUY
cdef dict SPLIT = {}  # symbol -> (base, quote): a venue lists a few hundred symbols at most


cdef class BookAges:
    """``(venue, symbol) -> age (ms)`` of each book at one instant ``now`` (ns), from
    ``updated`` (venue -> symbol -> event time, ns); a book never updated is 0 ms old."""

    cdef object now
    cdef dict updated

    def __init__(self, now, dict updated not None):
        self.now = now
        self.updated = updated

    def __call__(self, venue, symbol):
        cdef PyObject* found = PyDict_GetItem(self.updated, venue)
        at = self.now
        if found != NULL:
            at = (<dict?>found).get(symbol, at)
        return (self.now - at) / 1e6


def _no_age(venue, symbol):
    return 0.0


def leg_tuples(opportunity, usd, book_age_ms=_no_age):
    """An opportunity's legs as risk checks them (:data:`~arbcore.risk.engine.LegTuple`): each
    valued in USD (``price * size * usd(quote)``, 0 when the quote has no price), with its
    book's age."""
    cdef list rows = []
    cdef PyObject* found
    for leg in opportunity.legs:
        symbol = leg.symbol
        found = PyDict_GetItem(SPLIT, symbol)
        if found == NULL:
            base, _, quote = symbol.partition("/")
            if len(SPLIT) >= 65536:
                SPLIT.clear()
            split = SPLIT[symbol] = (base, quote)
        else:
            split = <tuple>found
        base, quote = split
        venue, size = leg.venue, leg.size
        notional = leg.price * size
        rows.append((venue, base, quote, leg.side is BUY, size, notional * (usd(quote) or 0.0),
                     book_age_ms(venue, symbol)))
    return tuple(rows)
