# The engine's cross-exchange decision in C: from a crossing route to the risk verdict.
#
# When an update crosses at the top (CrossBook.crossing_at, which has already asked the
# orchestrator's gate), the Python path builds an Opportunity, ranks it, admits it, values its
# legs and asks risk: ~150k instructions of Python that a decision runs once in hundreds of
# frames, so they run cold (~200 us). Here the same steps run over the same state, operation for
# operation: the strategy's depth walk (profit.quote_cross) with the balances the orchestrator
# would leave it, the orchestrator's admission (the gate's counts, the reservation, the busy
# markets, the cool-off), the legs as risk reads them and riskcore's first breach. The decision
# is stamped there; the objects (Opportunity, Ticket, RiskDecision) and the audit rows are made
# after it, in Python, from what this recorded (``on_decided(self)``).
#
# Only the configuration this replicates takes this path (the engine binds it): a gated kernel,
# counts kept in Counts, the engine's compiled USD prices. A route between two quotes (the live
# rate, read in Python) answers FALLBACK before anything changed, and the caller takes the
# Python path.
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

from arbcore_ext.book cimport KEY_NONE, L2Book
from arbcore_ext.crossbook cimport CrossBook, Gate, Route
from arbcore_ext.crossdecide cimport Facts, Ids
from arbcore_ext.decision cimport DECIDED, FALLBACK, NOTHING, Decision
from arbcore_ext.ledger cimport Ledger, available
from arbcore_ext.profit cimport CrossQuote, quote_cross
from arbcore_ext.riskcore cimport Exposure, Leg
from arbcore_ext.usdprices cimport UsdPrices


cdef class CrossDecision(Decision):
    """The compiled decision of one cross-exchange strategy (see the module comment).

    ``kernel``: the strategy's CrossBook, attached to the orchestrator's Check with Counts for
    its counts; ``routes[r]``: route r's :data:`RouteFacts`; ``ledger`` (read and reserved
    here through each route's two slots), ``refused``, ``risk``, ``on_decided``, ``usd``: see
    :class:`~arbcore_ext.decision.Decision`. The books' ages and the walked count are the
    kernel's.
    """

    def __cinit__(self):
        self._facts = NULL
        self._ids = NULL

    def __dealloc__(self):
        free(self._facts)
        free(self._ids)

    def __init__(self, CrossBook kernel not None, routes, double slippage_bps,
                 double max_notional_usd, Ledger ledger not None, refused,
                 risk not None, on_decided not None,
                 UsdPrices usd not None):
        cdef int r
        cdef Exposure exposure
        if kernel._key == NULL:
            raise ValueError("the kernel is not attached to the orchestrator's Check")
        Decision.__init__(self, kernel._pre, refused, ledger, risk, on_decided, usd)
        if len(routes) != kernel.n_routes:
            raise ValueError(f"{len(routes)} route facts for {kernel.n_routes} routes")
        exposure = self.exposure
        self.kernel = kernel
        self._facts = <Facts*>malloc(max(kernel.n_routes, 1) * sizeof(Facts))
        self._ids = <Ids*>malloc(max(kernel.n_routes, 1) * sizeof(Ids))
        if self._facts == NULL or self._ids == NULL:
            raise MemoryError()
        self._legs, self._spends, self._assets = [], [], []
        for r, (buy_venue, buy_symbol, sell_venue, sell_symbol, buy_fee, sell_fee, lot,
                min_notional, buy_decimals, sell_decimals, fast) in enumerate(routes):
            base, _, quote = buy_symbol.partition("/")
            sell_base = sell_symbol.partition("/")[0]
            self._facts[r] = Facts(buy_fee, 1 - 1.0 * (1 - sell_fee), lot, min_notional,
                                   float(10 ** buy_decimals), float(10 ** sell_decimals),
                                   bool(fast), quote in usd.dollars,
                                   ledger.slot(buy_venue, quote),
                                   ledger.slot(sell_venue, sell_base))
            self._legs.append((buy_venue, buy_symbol, sell_venue, sell_symbol))
            self._spends.append(((buy_venue, quote), (sell_venue, sell_base)))
            self._assets.append((base, quote, sell_base, sell_symbol.partition("/")[2]))
            self._ids[r] = Ids(exposure.venue_id(buy_venue), exposure.asset_id(base),
                               exposure.asset_id(quote), exposure.venue_id(sell_venue),
                               exposure.asset_id(sell_base))
        self.slippage_bps = slippage_bps
        self.max_notional_usd = max_notional_usd
        self.route = -1
        self.quote = None
        self.rehearsed = 0
        self._turn = 0

    cdef tuple _leg_tuples(self, const Leg* legs, int n):
        buy_venue, _, sell_venue, _ = self._legs[self.route]
        base, quote, sell_base, sell_quote = self._assets[self.route]
        return ((buy_venue, base, quote, True, legs[0].base_qty, legs[0].notional_usd,
                 legs[0].age_ms),
                (sell_venue, sell_base, sell_quote, False, legs[1].base_qty,
                 legs[1].notional_usd, legs[1].age_ms))

    cdef object _usd_of(self, object asset, bint rehearse):
        """``Engine.usd(asset)`` (UsdPrices.price, which caches a miss); rehearsed, the same
        answer with nothing cached: 1.0, the cached price, else the dollar mid."""
        return self.usd.peek(asset) if rehearse else self.usd.price(asset)

    cdef CrossQuote _walk(self, int r, int market, L2Book book, double* top,
                          double* quote_usd, bint rehearse):
        """Route ``r``'s find on ``market``'s update (``book``): CrossExchangeStrategy._best's
        body for it, then _price and _walk at rate 1, or None; ``top``/``quote_usd``: its top
        rate and the USD price of its quote. Rehearsed (``rehearse``): the same reads, no
        effect (the walked count, the USD cache), and a failed test does not stop it (so every
        read is made), only a missing book or price."""
        cdef CrossBook kernel = self.kernel
        cdef const Route* route = &kernel._routes[r]
        cdef Facts* facts = &self._facts[r]
        cdef L2Book buy_book, sell_book
        cdef int64_t bid_key, ask_key
        cdef double ask_f, bid_f, max_base, max_quote, bps, usd
        cdef CrossQuote quote
        if route.buy == market:
            buy_book, sell_book = book, kernel.synced_book(route.sell)
        else:
            buy_book, sell_book = kernel.synced_book(route.buy), book
        if buy_book is None or sell_book is None:
            return None
        ask_key, bid_key = buy_book.sides[1].best, sell_book.sides[0].best
        if ask_key == KEY_NONE or bid_key == KEY_NONE:
            return None
        # top_cross(ask, bid, ...) at rate 1.0, operation for operation (x * 1.0 and x / 1.0
        # are x exactly, so the rate and the walk's scale, both 1 here, are left out)
        ask_f = <double>(-ask_key) * route.ask_factor
        bid_f = <double>bid_key * route.bid_factor
        if bid_f <= ask_f or (bid_f - ask_f) / (<double>(-ask_key) * route.ask_unit) * 1e4 < \
                kernel.min_profit_bps:
            if not rehearse:
                return None
        top[0] = bid_f / ask_f
        if facts.dollar_quote:
            usd = 1.0  # (what UsdPrices.price answers for a dollar asset)
        else:
            found_usd = self._usd_of(self._assets[r][1], rehearse)
            if found_usd is None or <double>found_usd <= 0:
                return None
            usd = <double>found_usd
        quote_usd[0] = usd
        if not rehearse:
            kernel.walked += 1  # (CrossExchangeStrategy.walked)
        # what the orchestrator lets it spend: free minus reserved, from the ledger's slots
        max_base = available(self.ledger, facts.sell_spends)
        max_quote = available(self.ledger, facts.buy_spends)
        if self.max_notional_usd / usd < max_quote:  # min(available, max / usd)
            max_quote = self.max_notional_usd / usd
        if max_base <= 0 or max_quote <= 0:
            if not rehearse:
                return None  # (nothing left to spend: see CrossExchangeStrategy._walk)
            max_base, max_quote = max(max_base, 0.0), max(max_quote, 0.0)
        quote = quote_cross(buy_book, sell_book, facts.buy_fee, facts.sell_fee, max_base,
                            max_quote, facts.lot, facts.min_notional, self.slippage_bps,
                            self.slippage_bps)
        if quote.size_units <= 0 or quote.limit_profit <= 0:
            return quote if rehearse else None
        bps = quote.net_profit / (quote.size * quote.buy_vwap) * 1e4
        if bps < kernel.min_profit_bps and not rehearse:
            return None
        return quote

    cdef int decide(self, int market, L2Book book, tuple crossing, int64_t now,
                    int64_t arrived) except -1:
        """Decide on the routes ``crossing`` gave for ``market`` (its ``book`` just updated):
        NOTHING, FALLBACK (nothing changed: the caller takes the Python path) or DECIDED."""
        cdef int best = self.find(market, book, crossing)
        if best == FIND_FALLBACK:
            return FALLBACK
        if best < 0:
            return NOTHING
        self._found(self.kernel._detected_slot[best], arrived)  # (Engine._decide: counted)
        return self.admit_found(now, arrived)

    cdef int find(self, int market, L2Book book, tuple crossing) except -3:
        """CrossExchangeStrategy.crossed's find among ``crossing``: the best route (its quote,
        top rate and quote's USD price kept for :meth:`admit_found`), -1 (none) or
        FIND_FALLBACK (a route this path does not decide: nothing changed)."""
        cdef int i, r, best = -1
        cdef double top = 0.0, net, best_net = 0.0, quote_usd = 0.0
        cdef CrossQuote quote
        for i in range(len(crossing)):
            if not self._facts[<int>crossing[i]].fast:
                return FIND_FALLBACK
        self._best_quote = None
        for i in range(len(crossing)):
            r = <int>crossing[i]
            quote = self._walk(r, market, book, &top, &quote_usd, False)
            if quote is None:
                continue
            net = quote.net_profit
            if self._best_quote is None or net > best_net:
                best, self._best_quote, best_net = r, quote, net
                self._best_top, self.quote_usd = top, quote_usd
        self._best_route = best
        return best

    cdef double found_usd(self) noexcept:
        """The found route's expected profit in USD (the Opportunity's: net * quote's USD)."""
        return self._best_quote.net_profit * self.quote_usd

    cdef int admit_found(self, int64_t now, int64_t arrived) except -1:
        """:meth:`_admit` of what :meth:`find` found (its find already counted)."""
        return self._admit(self._best_route, self._best_quote, self._best_top, now, arrived,
                           False)

    cdef int _admit(self, int r, CrossQuote quote, double top, int64_t now,
                    int64_t arrived, bint rehearse) except -1:
        """Engine._decide after the find's count up to the verdict: Orchestrator.admit,
        leg_tuples, RiskEngine.check_legs. Rehearsed: the same reads (the gate's word on the
        route, as the kernel asks it, the ledger's slots, the legs, risk's compiled check) and
        no effect: no count, reservation, busy mark, cool-off or verdict
        (``Exposure.rehearse_breach``)."""
        cdef Gate gate = self.gate
        cdef CrossBook kernel = self.kernel
        cdef Facts* facts = &self._facts[r]
        cdef const Ids* ids
        cdef Leg legs[2]
        cdef int k
        cdef bint known = True
        cdef double buy_amount, sell_amount, quote_usd
        cdef Ledger ledger = self.ledger
        if rehearse:
            quote_usd = self._rehearsed_usd
            if kernel._key[r] >= 0:  # (``now`` is known: no clock is read)
                gate.reason(kernel._key[r], &kernel._ends[2 * r], 2, &now, &known)
        else:
            quote_usd = self.quote_usd
            # Orchestrator.admit: the gate was asked by the kernel in this event (nothing
            # changed since, and a cool-off only ends), so the offer is counted and the
            # balances checked
            gate.offered += 1
        buy_amount = <double>quote.buy_limit / facts.buy_unit * quote.size  # leg.price * size
        sell_amount = quote.size
        if (buy_amount > available(ledger, facts.buy_spends) + 1e-12
                or sell_amount > available(ledger, facts.sell_spends) + 1e-12) and not rehearse:
            self._refused_for_balance()
            return NOTHING
        if not rehearse:
            ledger.reserve(facts.buy_spends, buy_amount)  # (reserved[at] += amount, each leg)
            ledger.reserve(facts.sell_spends, sell_amount)
            for k in range(2):  # (busy.update(markets), last_taken[key] = now)
                gate.mark_busy(kernel._ends[2 * r + k])
            gate.take(kernel._key[r], now)
        # leg_tuples over BookAges(now): (venue, base, quote, buy, size, notional_usd, age); the
        # quote's USD price is the one the walk read (the same on both ends of this path's routes)
        ids = &self._ids[r]
        legs[0] = Leg(ids.buy_venue, ids.base, ids.quote, True, quote.size,
                      buy_amount * quote_usd, kernel.age_ms(kernel._routes[r].buy, now))
        legs[1] = Leg(ids.sell_venue, ids.sell_base, ids.quote, False, quote.size,
                      <double>quote.sell_limit / facts.sell_unit * quote.size * quote_usd,
                      kernel.age_ms(kernel._routes[r].sell, now))
        if rehearse:
            if self.exposure.fast:
                self.exposure.rehearse_breach(legs, 2)
            return NOTHING
        self.route, self.quote, self.top_rate = r, quote, top
        self._amounts[0], self._amounts[1] = buy_amount, sell_amount
        self._verdict(legs, 2, now, arrived)
        return DECIDED

    cdef int _stamped(self) except -1:
        """The ticket's reservations, after the verdict."""
        buy_at, sell_at = self._spends[self.route]
        self.reserved_amounts = ((buy_at[0], buy_at[1], self._amounts[0]),
                                 (sell_at[0], sell_at[1], self._amounts[1]))
        return 0

    cdef int _rehearse(self, int r) except -2:
        """One rehearsal of route ``r`` (-1: the next in turn that this path decides and whose
        books are in sync): its index, or -1 when none could be rehearsed."""
        cdef CrossBook kernel = self.kernel
        cdef int n = kernel.n_routes, tries
        cdef const Route* route
        cdef L2Book book = None
        cdef CrossQuote quote
        cdef double top = 0.0
        cdef int64_t now
        if r >= n:
            raise IndexError(f"route {r} out of range (0..{n - 1})")
        if r >= 0:
            if not self._facts[r].fast:
                return -1
            book = kernel.synced_book(kernel._routes[r].buy)
        else:
            for tries in range(n):
                r = self._turn
                self._turn = (r + 1) % n
                if self._facts[r].fast:
                    book = kernel.synced_book(kernel._routes[r].buy)
                    if book is not None:
                        break
        if book is None:
            return -1
        route = &kernel._routes[r]
        quote = self._walk(r, route.buy, book, &top, &self._rehearsed_usd, True)
        if quote is None:
            return -1
        # the books' times: ``now`` is the later of the two updates (no clock is read)
        now = kernel._stamped[route.buy]
        if kernel._stamped[route.sell] > now:
            now = kernel._stamped[route.sell]
        self._admit(r, quote, top, now, 0, True)
        self.rehearsed += 1
        return r

    def rehearse(self, int route=-1):
        """Rehearse the decision of ``route`` (-1: round-robin over the routes) without any
        effect: every read ``decide`` makes for it (the top test, the other book, the USD
        price, the ledger's slots, the depth walk, the gate's word, the legs, risk's check),
        so that the next decision finds its code and data in cache. Returns the route
        rehearsed, or -1 (none whose books are in sync)."""
        return self._rehearse(route)
