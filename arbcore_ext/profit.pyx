"""Money math over book depth: the size that maximises a cross-venue trade's profit after fees.

Buying on one venue walks its asks upward and selling on another walks its bids downward; the
profit of the next unit, ``bid*(1-sell_fee) - ask*(1+buy_fee)``, only falls as the walk goes on,
so the best size is where it stops being positive. ``price_cross`` walks the breakpoints of both
books together (exact, no grid), caps by balances, rounds down to the lot and enforces the minimum
notional. Quantities are exact integers at the finer of the two books' size scales; prices and
profits are derived floats.
"""

from libc.math cimport INFINITY, floor, isnan
from libc.stdint cimport INT64_MAX, int64_t


from arbcore_ext.book cimport L2Book, Side

from arbcore_ext.errors import BookError

cdef int64_t POW10[19]
POW10[0] = 1
for _i in range(1, 19):
    POW10[_i] = POW10[_i - 1] * 10


cdef class CrossQuote:
    """The best executable cross-venue trade, as priced by :func:`price_cross`.

    ``size`` is in base units (``size_units`` exact at ``size_decimals``); VWAPs, profits and
    prices in quote units. ``buy_limit``/``sell_limit`` are raw limit prices (each book's
    decimals) with the slippage allowance applied, and ``limit_profit`` the net profit if both
    legs fill at those limits: the worst case the allowance admits.
    """


    def __repr__(self):
        return (f"CrossQuote(size={self.size!r}, buy_vwap={self.buy_vwap!r}, "
                f"sell_vwap={self.sell_vwap!r}, gross_profit={self.gross_profit!r}, "
                f"net_profit={self.net_profit!r}, buy_levels={self.buy_levels}, "
                f"sell_levels={self.sell_levels}, buy_limit={self.buy_limit}, "
                f"sell_limit={self.sell_limit}, limit_profit={self.limit_profit!r})")

    def __bool__(self):
        return self.size_units > 0


cdef void cross_walk(const Side* asks, const Side* bids, int64_t ask_factor, int64_t bid_factor,
                     double ask_unit, double bid_unit, double buy_fee, double sell_fee,
                     int64_t max_units, double max_quote_scaled, bint stop_at_margin,
                     CrossResult* out) noexcept nogil:
    """Take every unit whose marginal net profit is positive, up to max_units and the quote cap.

    With ``stop_at_margin`` False it takes ``max_units`` whatever they earn (within depth and the
    quote cap): that prices the next whole lot. ``max_quote_scaled`` is the quote budget (fees
    included) times 10**size_scale, so it compares with price * units directly.
    """
    cdef Leg buy, sell
    cdef int64_t q, q_quote
    cdef double unit_cost, budget_left
    out.size = 0
    out.buy_notional = 0.0
    out.sell_notional = 0.0
    out.buy_levels = 0
    out.sell_levels = 0
    out.buy_worst = 0
    out.sell_worst = 0
    if not leg_start(&buy, asks, ask_factor, ask_unit):
        return
    if not leg_start(&sell, bids, bid_factor, bid_unit):
        return
    while out.size < max_units:
        if stop_at_margin and sell.price * (1.0 - sell_fee) - buy.price * (1.0 + buy_fee) <= 0.0:
            break
        q = buy.left if buy.left < sell.left else sell.left
        if q > max_units - out.size:
            q = max_units - out.size
        unit_cost = buy.price * (1.0 + buy_fee)
        budget_left = max_quote_scaled - out.buy_notional * (1.0 + buy_fee)
        if unit_cost * q > budget_left:
            q_quote = <int64_t>floor(budget_left / unit_cost)
            if q_quote < q:
                q = q_quote
        if q <= 0:
            break
        out.size += q
        out.buy_notional += buy.price * q
        out.sell_notional += sell.price * q
        out.buy_worst = buy.price_raw
        out.sell_worst = sell.price_raw
        leg_take(&buy, q)
        leg_take(&sell, q)
        if buy.left == 0 and not leg_advance(&buy):
            break
        if sell.left == 0 and not leg_advance(&sell):
            break
    out.buy_levels = buy.used
    out.sell_levels = sell.used


def limit_price(int64_t price_raw, bint is_buy, double slippage_bps=0.0):
    """The limit price to send for a leg: a buy may pay up to ``slippage_bps`` more, a sell
    accept that much less (rounded toward the book's price, so the allowance is never exceeded)."""
    if price_raw <= 0 or not slippage_bps >= 0.0:
        raise BookError("limit_price: price_raw must be positive and slippage_bps >= 0")
    return limit_raw(price_raw, is_buy, slippage_bps)


cdef int64_t size_scale_units(double value, int scale, str name) except? -2:
    """Base units -> integer units at 10**-scale; inf -> INT64_MAX."""
    if isnan(value) or value < 0.0:
        raise BookError(f"price_cross: {name} must be >= 0, was {value}")
    if value == INFINITY or value * POW10[scale] >= 9.2e18:
        return INT64_MAX
    return <int64_t>floor(value * POW10[scale] + 1e-9)


def price_cross(L2Book buy_book not None, L2Book sell_book not None, double buy_fee,
                double sell_fee, double max_base=INFINITY, double max_quote=INFINITY,
                double lot=0.0, double min_notional=0.0, double buy_slippage_bps=0.0,
                double sell_slippage_bps=0.0):
    """Best size to buy on ``buy_book``'s asks and sell on ``sell_book``'s bids at once.

    Fees are fractions (0.001 = 10 bps). ``max_base`` caps the size (base units), ``max_quote``
    the quote spent on the buy venue including its fee. The size is rounded down to ``lot``
    (base units; 0 = the finer book's size step) and is zero when nothing clears the fees or
    when either leg's notional is under ``min_notional`` (quote units).
    """
    return quote_cross(buy_book, sell_book, buy_fee, sell_fee, max_base, max_quote, lot,
                       min_notional, buy_slippage_bps, sell_slippage_bps)


cdef CrossQuote quote_cross(L2Book buy_book, L2Book sell_book, double buy_fee, double sell_fee,
                            double max_base, double max_quote, double lot, double min_notional,
                            double buy_slippage_bps, double sell_slippage_bps):
    """:func:`price_cross` for compiled callers (the engine's compiled decision)."""
    cdef int scale = max(buy_book.size_decimals, sell_book.size_decimals)
    cdef int64_t ask_factor = POW10[scale - buy_book.size_decimals]
    cdef int64_t bid_factor = POW10[scale - sell_book.size_decimals]
    cdef double unit = 1.0 / POW10[scale]
    cdef int64_t lot_units = 1, max_units, rounded
    cdef double max_quote_scaled
    cdef CrossResult r, up
    if not (0.0 <= buy_fee < 1.0 and 0.0 <= sell_fee < 1.0):
        raise BookError(f"price_cross: fees must be fractions in [0, 1), were {buy_fee}, {sell_fee}")
    if not (buy_slippage_bps >= 0.0 and sell_slippage_bps >= 0.0):
        raise BookError("price_cross: slippage allowances must be >= 0 bps")
    if lot > 0.0:
        lot_units = size_scale_units(lot + 0.5 / POW10[scale], scale, "lot")   # nearest unit
        if lot_units <= 0 or abs(lot_units - lot * POW10[scale]) > 1e-6 + 1e-12 * lot_units:
            raise BookError(f"price_cross: lot {lot} is not a whole number of size steps "
                            f"at {scale} decimals")
    max_units = size_scale_units(max_base, scale, "max_base")
    if isnan(max_quote) or max_quote < 0.0:
        raise BookError(f"price_cross: max_quote must be >= 0, was {max_quote}")
    max_quote_scaled = max_quote * POW10[scale]
    # (the GIL is kept: a walk takes microseconds, and a released GIL goes to whichever
    # thread waits for it, the audit writer say, and is taken back only after up to a switch
    # interval: on the decision path that wait would be most of a decision)
    # the profit curve is concave in size, so among whole lots the best is the lot just
    # below or just above where the marginal profit stops being positive
    cross_walk(&buy_book.sides[1], &sell_book.sides[0], ask_factor, bid_factor,
               buy_book.price_unit, sell_book.price_unit, buy_fee, sell_fee, max_units,
               max_quote_scaled, True, &r)
    rounded = r.size - r.size % lot_units
    if rounded != r.size:
        if rounded + lot_units <= max_units:
            cross_walk(&buy_book.sides[1], &sell_book.sides[0], ask_factor, bid_factor,
                       buy_book.price_unit, sell_book.price_unit, buy_fee, sell_fee,
                       rounded + lot_units, max_quote_scaled, False, &up)
        else:
            up.size = 0
        cross_walk(&buy_book.sides[1], &sell_book.sides[0], ask_factor, bid_factor,
                   buy_book.price_unit, sell_book.price_unit, buy_fee, sell_fee, rounded,
                   max_quote_scaled, True, &r)
        if up.size == rounded + lot_units and net_of(&up, buy_fee, sell_fee) > net_of(&r, buy_fee, sell_fee):
            r = up
    cdef CrossQuote quote = CrossQuote.__new__(CrossQuote)
    quote.size_decimals = scale
    if r.size <= 0 or r.buy_notional * unit < min_notional or r.sell_notional * unit < min_notional:
        return quote
    quote.size_units = r.size
    quote.size = r.size * unit
    quote.buy_vwap = r.buy_notional / r.size
    quote.sell_vwap = r.sell_notional / r.size
    quote.gross_profit = (r.sell_notional - r.buy_notional) * unit
    quote.net_profit = net_of(&r, buy_fee, sell_fee) * unit
    quote.buy_levels = r.buy_levels
    quote.sell_levels = r.sell_levels
    quote.buy_limit = limit_raw(r.buy_worst, True, buy_slippage_bps)
    quote.sell_limit = limit_raw(r.sell_worst, False, sell_slippage_bps)
    quote.limit_profit = quote.size * (quote.sell_limit * sell_book.price_unit * (1.0 - sell_fee)
                                       - quote.buy_limit * buy_book.price_unit * (1.0 + buy_fee))
    return quote
