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
from cpython.dict cimport PyDict_GetItemWithError, PyDict_SetItem
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

from arbcore_ext._clocks cimport monotonic_ns
from arbcore_ext.book cimport KEY_NONE, L2Book
from arbcore_ext.crossbook cimport Check, CrossBook, Gate, Route
from arbcore_ext.crossdecide cimport DECIDED, FALLBACK, NOTHING, Facts
from arbcore_ext.ledger cimport Ledger, available
from arbcore_ext.profit cimport CrossQuote, quote_cross
from arbcore_ext.usdprices cimport UsdPrices

from arbcore_ext.riskcore import first_breach

cdef class CrossDecision:
    """The compiled decision of one cross-exchange strategy (see the module comment).

    ``kernel``: the strategy's CrossBook, attached to the orchestrator's Check with Counts for
    its counts; ``routes[r]``: route r's :data:`RouteFacts`; ``ledger``: the venues' free
    balances (TradingVenues.held[venue].free are its views) and the orchestrator's reservations
    (its ``reserved``), read and reserved here through each route's two slots; ``risk``: the
    RiskEngine; ``updated``: venue -> symbol -> the book's last event time (what BookAges
    reads); ``strategy``: the strategy (its ``walked`` is the kernel's); ``on_decided(decision)``:
    builds the objects and records of a decision taken here.
    """

    def __cinit__(self):
        self._facts = NULL

    def __dealloc__(self):
        free(self._facts)

    def __init__(self, CrossBook kernel not None, routes, double slippage_bps,
                 double max_notional_usd, Ledger ledger not None, refused,
                 risk not None, dict updated not None, strategy not None, on_decided not None,
                 active not None, UsdPrices usd not None):
        cdef int r
        if kernel._pre is None or kernel._key == NULL:
            raise ValueError("the kernel is not attached to the orchestrator's Check")
        if len(routes) != kernel.n_routes:
            raise ValueError(f"{len(routes)} route facts for {kernel.n_routes} routes")
        check = kernel._pre
        if check._found_c is None or check._detected_c is None or check._refused_c is None:
            raise ValueError("the Check's counts must be Counts (the engine's)")
        if refused is not check.refused:
            raise ValueError("refused must be the Check's refusal counts")
        self.kernel = kernel
        self.check = check
        self.gate = check.gate
        self._facts = <Facts*>malloc(max(kernel.n_routes, 1) * sizeof(Facts))
        if self._facts == NULL:
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
        self.slippage_bps = slippage_bps
        self.max_notional_usd = max_notional_usd
        self.ledger = ledger
        self.risk = risk
        self.updated = updated
        self.strategy = strategy
        self.on_decided = on_decided
        self.usd = usd
        self._active = active
        self._balance_slot = check._refused_c.slot("balance_reserved")
        self.route = -1
        self.quote = None
        self.breach = None
        self.reserved_amounts = ()
        self.decided = 0

    cdef double _usd_or_zero(self, asset) except? -1.0:
        """``usd(asset) or 0.0`` (leg_tuples' valuation)."""
        price = self.usd.price(asset)
        return <double>price if price else 0.0

    cdef double _age_ms(self, str venue, str symbol, int64_t now) except? -1.0:
        cdef PyObject* found = PyDict_GetItemWithError(self.updated, venue)
        cdef int64_t at = now
        if found != NULL:
            at = (<dict?>(<object>found)).get(symbol, now)
        return <double>(now - at) / 1e6

    cdef int decide(self, int market, L2Book book, tuple crossing, int64_t now,
                    int64_t arrived) except -1:
        """Decide on the routes ``crossing`` gave for ``market`` (its ``book`` just updated):
        NOTHING, FALLBACK (nothing changed: the caller takes the Python path) or DECIDED."""
        cdef CrossBook kernel = self.kernel
        cdef int i, r, best = -1
        cdef const Route* route
        cdef L2Book buy_book, sell_book
        cdef int64_t bid_key, ask_key
        cdef double ask_f, bid_f, top, best_top = 0.0, max_base, max_quote, net, bps
        cdef double best_net = 0.0, quote_usd, best_usd = 0.0
        cdef Facts* facts
        cdef CrossQuote quote, best_quote = None
        for i in range(len(crossing)):
            if not self._facts[<int>crossing[i]].fast:
                return FALLBACK
        for i in range(len(crossing)):
            # CrossExchangeStrategy._best, then _price and _walk for a route at rate 1
            r = <int>crossing[i]
            route = &kernel._routes[r]
            facts = &self._facts[r]
            if route.buy == market:
                buy_book, sell_book = book, kernel.synced_book(route.sell)
            else:
                buy_book, sell_book = kernel.synced_book(route.buy), book
            if buy_book is None or sell_book is None:
                continue
            ask_key, bid_key = buy_book.sides[1].best, sell_book.sides[0].best
            if ask_key == KEY_NONE or bid_key == KEY_NONE:
                continue
            # top_cross(ask, bid, ...) at rate 1.0, operation for operation (x * 1.0 and x / 1.0
            # are x exactly, so the rate and the walk's scale, both 1 here, are left out)
            ask_f = <double>(-ask_key) * route.ask_factor
            bid_f = <double>bid_key * route.bid_factor
            if bid_f <= ask_f or (bid_f - ask_f) / (<double>(-ask_key) * route.ask_unit) * 1e4 < \
                    kernel.min_profit_bps:
                continue
            top = bid_f / ask_f
            if facts.dollar_quote:
                quote_usd = 1.0  # (what UsdPrices.price answers for a dollar asset)
            else:
                found_usd = self.usd.price(self._assets[r][1])
                if found_usd is None or <double>found_usd <= 0:
                    continue
                quote_usd = <double>found_usd
            kernel.walked += 1  # (CrossExchangeStrategy.walked)
            # what the orchestrator lets it spend: free minus reserved, from the ledger's slots
            max_base = available(self.ledger, facts.sell_spends)
            max_quote = available(self.ledger, facts.buy_spends)
            if self.max_notional_usd / quote_usd < max_quote:  # min(available, max / usd)
                max_quote = self.max_notional_usd / quote_usd
            if max_base <= 0 or max_quote <= 0:
                continue  # (nothing left to spend: see CrossExchangeStrategy._walk)
            quote = quote_cross(buy_book, sell_book, facts.buy_fee, facts.sell_fee, max_base,
                                max_quote, facts.lot, facts.min_notional, self.slippage_bps,
                                self.slippage_bps)
            if quote.size_units <= 0 or quote.limit_profit <= 0:
                continue
            net = quote.net_profit
            bps = net / (quote.size * quote.buy_vwap) * 1e4
            if bps < kernel.min_profit_bps:
                continue
            if best_quote is None or net > best_net:
                best, best_quote, best_net, best_top, best_usd = r, quote, net, top, quote_usd
        if best_quote is None:
            return NOTHING
        self.found_ns = monotonic_ns() - arrived
        self.quote_usd = best_usd
        return self._admit(best, best_quote, best_top, now, arrived)

    cdef int _admit(self, int r, CrossQuote quote, double top, int64_t now,
                    int64_t arrived) except -1:
        """Engine._decide up to the verdict: the find counted, Orchestrator.admit, leg_tuples,
        RiskEngine.check_legs."""
        cdef Check check = self.check
        cdef Gate gate = self.gate
        cdef CrossBook kernel = self.kernel
        cdef Facts* facts = &self._facts[r]
        cdef int k
        cdef double buy_amount, sell_amount
        cdef Ledger ledger = self.ledger
        check._found_c.add(check._kind_slot)
        check._detected_c.add(kernel._detected_slot[r])
        # Orchestrator.admit: the gate was asked by the kernel in this event (nothing changed
        # since, and a cool-off only ends), so the offer is counted and the balances checked
        gate.offered += 1
        buy_amount = <double>quote.buy_limit / facts.buy_unit * quote.size  # leg.price * size
        sell_amount = quote.size
        if (buy_amount > available(ledger, facts.buy_spends) + 1e-12
                or sell_amount > available(ledger, facts.sell_spends) + 1e-12):
            check._refused_c.add(self._balance_slot)
            return NOTHING
        ledger.reserve(facts.buy_spends, buy_amount)  # (reserved[at] += amount, each leg)
        ledger.reserve(facts.sell_spends, sell_amount)
        for k in range(2):  # (busy.update(markets), last_taken[key] = now)
            gate.mark_busy(kernel._ends[2 * r + k])
        gate.take(kernel._key[r], now)
        buy_at, sell_at = self._spends[r]  # (the ticket's reservations: only after the verdict)
        # leg_tuples over BookAges(now): (venue, base, quote, buy, size, notional_usd, age)
        buy_venue, buy_symbol, sell_venue, sell_symbol = self._legs[r]
        base, quote_asset, sell_base, sell_quote = self._assets[r]
        legs = ((buy_venue, base, quote_asset, True, quote.size,
                 buy_amount * self._usd_or_zero(quote_asset),
                 self._age_ms(buy_venue, buy_symbol, now)),
                (sell_venue, sell_base, sell_quote, False, quote.size,
                 <double>quote.sell_limit / facts.sell_unit * quote.size
                 * self._usd_or_zero(sell_quote),
                 self._age_ms(sell_venue, sell_symbol, now)))
        risk = self.risk
        if risk.state is self._active and not risk.correlations:
            self.breach = first_breach(risk, legs)
        else:
            self.breach = risk._first_breach(legs)
        self.elapsed_ns = monotonic_ns() - arrived
        self.route, self.quote, self.top_rate, self.detected_at_ns = r, quote, top, now
        self.reserved_amounts = ((buy_at[0], buy_at[1], buy_amount),
                                 (sell_at[0], sell_at[1], sell_amount))
        self.decided += 1
        self.on_decided(self)
        return DECIDED
