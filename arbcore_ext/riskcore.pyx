# Pre-trade risk's hot check compiled: RiskEngine._first_breach for an ACTIVE engine with no
# correlations configured (every check the engine makes in normal trading).
#
# The Python method reads the positions a trade touches through a dict of (venue, asset) tuples,
# values them through the check's price dict, and sums venues' holdings with list comprehensions:
# about twenty Python calls and as many tuples a check. Here the touched positions live in small
# C arrays (a trade has a handful of legs), the same positions and prices are read in the same
# order, and every float is computed with the same operations in the same order, so a check gives
# the same verdict, the same numbers and the same side effects (the check's price reads, the
# order-time window) as the Python reference, which stays for the rare states and is what the
# property tests hold this against.
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True

import sys

from cpython.dict cimport PyDict_Clear, PyDict_GetItem, PyDict_SetItem
from cpython.object cimport PyObject, PyObject_RichCompareBool, Py_EQ
from libc.math cimport fabs, isfinite

cdef enum:
    MAX_KEYS = 32  # a trade's touched (venue, asset) pairs: two per leg; more take Python

# Python 3.12's sum() of floats is compensated (Neumaier); 3.11's adds in order. Sums follow
# the running interpreter's sum() so the numbers match the Python reference on either.
cdef bint COMPENSATED_SUM = sys.version_info >= (3, 12)


cdef struct Touched:
    PyObject* venue  # borrowed from the legs tuple, which outlives the check
    PyObject* asset
    double quantity  # after the trade


cdef inline double price_of(object prices, object asset) except? -1.0:
    """The check's price of ``asset``: read once a check (``_Prices``: a dict hit, else what its
    ``__missing__`` does, done here without the Python call)."""
    cdef PyObject* found = PyDict_GetItem(prices, asset)
    if found != NULL:
        return <double>(<object>found)
    value = prices._price_usd(asset)
    if value is None or not isfinite(<double>value):
        value = 0.0
    PyDict_SetItem(prices, asset, value)
    return <double>value


cdef inline Py_ssize_t find(const Touched* touched, Py_ssize_t count, object venue,
                            object asset) except -2:
    cdef Py_ssize_t k
    for k in range(count):
        if (PyObject_RichCompareBool(<object>touched[k].venue, venue, Py_EQ)
                and PyObject_RichCompareBool(<object>touched[k].asset, asset, Py_EQ)):
            return k
    return -1


cdef inline Py_ssize_t touch(Touched* touched, Py_ssize_t* count, dict positions, object venue,
                             object asset) except -1:
    """The index of (venue, asset) among the touched, added with its position now if new."""
    cdef Py_ssize_t k = find(touched, count[0], venue, asset)
    cdef PyObject* held
    if k >= 0:
        return k
    k = count[0]
    count[0] += 1
    touched[k].venue = <PyObject*>venue
    touched[k].asset = <PyObject*>asset
    held = PyDict_GetItem(positions, (venue, asset))
    touched[k].quantity = 0.0 if held == NULL else <double>(<object>held)
    return k


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


cdef double venue_now(dict held, object prices, _Sum acc) except? -1.0:
    """Everything held on a venue in USD now (``RiskEngine._venue_usd(venue)``)."""
    acc.reset()
    for asset, quantity in held.items():
        acc.add(fabs(<double>quantity) * price_of(prices, asset))
    return acc.result()


cdef double venue_after(object venue, dict held, const Touched* touched, Py_ssize_t count,
                        object prices, _Sum acc) except? -1.0:
    """Everything held on ``venue`` in USD with the trade's positions in place
    (``RiskEngine._venue_usd(venue, after)``: held assets in order, then new ones)."""
    cdef Py_ssize_t k
    cdef double quantity
    acc.reset()
    for asset, held_quantity in held.items():
        k = find(touched, count, venue, asset)
        quantity = touched[k].quantity if k >= 0 else <double>held_quantity
        acc.add(fabs(quantity) * price_of(prices, asset))
    for k in range(count):
        if (PyObject_RichCompareBool(<object>touched[k].venue, venue, Py_EQ)
                and <object>touched[k].asset not in held):
            acc.add(fabs(touched[k].quantity) * price_of(prices, <object>touched[k].asset))
    return acc.result()


_EMPTY: dict = {}


def first_breach(engine, legs):
    """``engine._first_breach(legs)`` for an ACTIVE engine with no correlations (the caller
    checks both): the first limit the legs break as ``(rule, value, limit, detail)``, or None.
    ``legs``: :data:`~arbcore.risk.engine.LegTuple` tuples; more than 16 take the Python path."""
    cdef tuple rows = legs if type(legs) is tuple else tuple(legs)
    cdef Py_ssize_t n = len(rows), i, k, count = 0
    cdef Touched touched[MAX_KEYS]
    cdef tuple leg
    cdef double sign, price, quote_qty, value
    cdef dict positions, by_venue, held
    cdef _Sum acc
    if 2 * n > MAX_KEYS:
        return engine._first_breach(legs)
    for i in range(n):
        if type(rows[i]) is not tuple or len(<tuple>rows[i]) != 7:
            raise TypeError(f"risk legs are 7-tuples (LegTuple), got {rows[i]!r}")
    limits = engine.limits
    prices = engine._prices
    PyDict_Clear(prices)  # (the check's own price reads: see _Prices)
    positions = engine._positions
    for i in range(n):  # RiskEngine._touched_after
        leg = <tuple>rows[i]
        venue = leg[0]
        sign = 1.0 if leg[3] else -1.0
        price = price_of(prices, leg[2])
        quote_qty = <double>leg[5] / (1e-12 if 1e-12 > price else price)
        k = touch(touched, &count, positions, venue, leg[1])
        touched[k].quantity = touched[k].quantity + sign * <double>leg[4]
        k = touch(touched, &count, positions, venue, leg[2])
        touched[k].quantity = touched[k].quantity - sign * quote_qty
    oldest = 0.0
    if n:
        oldest = (<tuple>rows[0])[6]
        for i in range(1, n):
            age = (<tuple>rows[i])[6]
            if age > oldest:
                oldest = age
    if oldest > limits.min_book_freshness_ms:
        return ("book_freshness", oldest, limits.min_book_freshness_ms, "oldest book (ms)")
    opened = engine.open_orders + n
    if opened > limits.max_open_orders:
        return ("max_open_orders", opened, limits.max_open_orders, "open orders with legs")
    times = engine._order_times  # RiskEngine._orders_last_second
    horizon = engine._clock() - 1.0
    while times and times[0] <= horizon:
        times.popleft()
    rate = len(times) + n
    if rate > limits.max_orders_per_s:
        return ("max_orders_per_s", rate, limits.max_orders_per_s, "orders in the last 1 s")
    max_position = limits.max_position_usd
    for k in range(count):
        asset = <object>touched[k].asset
        value = fabs(touched[k].quantity) * price_of(prices, asset)
        if value > max_position:
            venue = <object>touched[k].venue
            held_now = positions.get((venue, asset), 0.0)
            if value > fabs(<double>held_now) * price_of(prices, asset):
                return ("max_position_usd", value, max_position, f"{asset} on {venue}")
    max_exposure = limits.max_exposure_per_exchange_usd
    by_venue = engine._by_venue
    acc = _Sum.__new__(_Sum)
    for venue in sorted({leg[0] for leg in rows}):
        held = by_venue.get(venue, _EMPTY)
        value = venue_after(venue, held, touched, count, prices, acc)
        if value > max_exposure and value > venue_now(held, prices, acc):
            return ("max_exposure_per_exchange_usd", value, max_exposure, f"held on {venue}")
    return None


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
