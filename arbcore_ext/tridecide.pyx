# The engine's triangular decision in C: from a paying cycle to the risk verdict.
#
# When a book update changes a cycle of the venue's CycleEngine so that it pays at the top and
# the orchestrator's gate lets it through (CycleEngine.touch_at), the Python path emits it to
# TriangularScanner._emit (sized over depth, an Opportunity), ranks what was found, admits it
# (Orchestrator.admit), values its legs (leg_tuples) and asks risk: ~200 us cold in Python on a
# path that runs once in hundreds of frames. Here the same steps run over the same state,
# operation for operation: the engine's depth sizing (CycleEngine.size_into), the scanner's
# tradeable test and the engine's filter, the orchestrator's admission (the gate's count, the
# balances through the ledger's slots, the reservation, the busy markets, the cool-off), the
# legs as risk reads them and riskcore's first breach. The decision is stamped there; the
# objects (SizedCycle, Opportunity, Ticket, RiskDecision) and the audit rows are made after it,
# in Python, from what this recorded (``on_decided(self)``).
#
# The tradeable cycles an update found from dollar start assets are this path's (several, or
# with the cross-exchange find of the same update: ranked and decided in turn, as the engine's
# found() does); anything else (a start asset priced by the scanner's mid, a crossing route the
# compiled cross decision does not take, more than MAX_FOUND cycles) answers FALLBACK before
# anything changed (the sizing changes nothing), and the caller emits the cycles to the Python
# path, which stays the reference.
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
from libc.math cimport floor, fmod
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

from arbcore_ext.book cimport L2Book
from arbcore_ext.crossbook cimport Gate
from arbcore_ext.crossdecide cimport FIND_FALLBACK, CrossDecision
from arbcore_ext.cycles cimport CycleEngine, LegFill
from arbcore_ext.decision cimport DECIDED, FALLBACK, NOTHING, Decision
from arbcore_ext.ledger cimport Ledger, available
from arbcore_ext.profit cimport limit_raw
from arbcore_ext.riskcore cimport Exposure, Leg
from arbcore_ext.usdprices cimport UsdPrices

cdef enum:
    MAX_FOUND = 16  # tradeable cycles one update may rank here (more: the Python path)
    CROSS_FIND = -1  # (in the ranked finds: the cross-exchange find of the same update)


cdef inline void _swap_fills(LegFill* a, LegFill* b) noexcept:
    cdef LegFill kept[4]
    memcpy(kept, a, sizeof(kept))
    memcpy(a, b, sizeof(kept))
    memcpy(b, kept, sizeof(kept))


cdef inline int _count_markets(const int* row, int width) noexcept:
    """How many market slots a cycle's gate row holds (its markets, then -1s)."""
    cdef int k = 0
    while k < width - 1 and row[1 + k] >= 0:
        k += 1
    return k


cdef class TriangularDecision(Decision):
    """The compiled decision of one venue's triangular scanner (see the module comment).

    ``scanner``: the venue's TriangularScanner (a CycleEngine attached to the orchestrator's
    Check, with Counts for its counts); ``units``: per market in the engine's order,
    (10 ** price decimals, 10.0 ** size decimals, the lot in raw units): ``scanner.units()``; ``min_profit_bps``: what the engine keeps of an
    emit (its floor, and the scanner's own threshold when it emits only tradeable cycles);
    ``max_start``: the most of the start asset one trade commits (the scanner's); ``ledger``,
    ``refused``, ``risk``, ``usd``: see :class:`~arbcore_ext.decision.Decision`;
    ``dollars``: the assets worth 1 USD (a start asset among them is valued 1.0, as the
    scanner's ``usd_price`` does); ``on_decided(decision)``: builds the objects and records.
    """

    def __cinit__(self):
        self._markets = NULL
        self._dollar_start = NULL

    def __dealloc__(self):
        free(self._markets)
        free(self._dollar_start)

    def __init__(self, CycleEngine scanner not None, str venue not None, units,
                 double min_profit_bps, double max_start, Ledger ledger not None, refused,
                 risk not None, on_decided not None, UsdPrices usd not None, dollars):
        cdef int m, a
        cdef Exposure exposure
        Decision.__init__(self, scanner._pre, refused, ledger, risk, on_decided, usd)
        if len(units) != scanner.n_markets:
            raise ValueError(f"{len(units)} market units for {scanner.n_markets} markets")
        exposure = self.exposure
        self.engine = scanner
        self.venue = venue
        self._markets = <MarketFacts*>calloc(max(scanner.n_markets, 1), sizeof(MarketFacts))
        self._dollar_start = <unsigned char*>calloc(max(scanner.n_assets, 1), 1)
        if self._markets == NULL or self._dollar_start == NULL:
            raise MemoryError()
        self._pairs, self._quotes = list(scanner.pairs), []
        for m, (price_unit, size_unit, lot) in enumerate(units):
            base, quote = self._pairs[m]
            self._markets[m] = MarketFacts(float(price_unit), size_unit, float(lot),
                                           exposure.asset_id(base), exposure.asset_id(quote),
                                           quote in usd.dollars, ledger.slot(venue, quote),
                                           ledger.slot(venue, base))
            self._quotes.append(quote)
        for a, asset in enumerate(scanner.assets):
            self._dollar_start[a] = asset in dollars
        self.min_profit_bps = min_profit_bps
        self.max_start = max_start
        self._venue_id = exposure.venue_id(venue)
        self.cycle = self._last = -1
        self.ranked = self.rehearsed = 0

    def sized(self):
        """The last decision's cycle as ``CycleEngine.size`` gives it (a SizedCycle)."""
        if self.cycle < 0:
            raise ValueError("no decision taken yet")
        return self.engine.sized_of(self.cycle, self._fills)

    cdef int decide(self, int64_t now, int64_t arrived) except -1:
        """Decide on the cycles ``CycleEngine.touch_at`` just kept (changed, paying at the top,
        let through by the gate at ``now``): NOTHING, FALLBACK (nothing changed: the caller
        emits them to the Python path) or DECIDED (at least one decision handed over)."""
        return self.decide_with(None, -1, None, None, now, arrived)

    cdef int decide_with(self, CrossDecision cross, int market, L2Book book, tuple crossing,
                         int64_t now, int64_t arrived) except -1:
        """:meth:`decide`, with the cross-exchange find of the same update when ``cross`` is
        given (the routes ``crossing`` gave for ``market``, whose ``book`` just updated): the
        engine's found() ranks it with the cycles (it comes first, the sort is stable)."""
        cdef CycleEngine engine = self.engine
        cdef Py_ssize_t k
        cdef int found = 0, i, j, candidate, route = -1, decided = NOTHING
        cdef int width = engine.max_legs + 1
        cdef int cycles[MAX_FOUND + 1]
        cdef double profits[MAX_FOUND + 1]
        cdef LegFill fills[MAX_FOUND + 1][4]
        cdef LegFill scratch[4]
        cdef int* row
        # TriangularScanner._emit: each cycle sized (in order), kept when tradeable (no effect)
        if engine._n_changed:
            self._last = engine._changed[0]  # (what an idle rehearsal goes over next)
        if cross is not None:
            found = 1  # (slot 0: the cross find, if any)
        for k in range(engine._n_changed):
            candidate = engine._changed[k]
            if not self._dollar_start[engine._starts[candidate]]:
                return FALLBACK  # (its profit in USD is the scanner's mid of the start asset)
            if not self._tradeable(candidate, scratch):
                continue
            if found == MAX_FOUND + 1:
                return FALLBACK
            memcpy(fills[found], scratch, sizeof(scratch))
            cycles[found] = candidate
            profits[found] = self._fills_profit(candidate, fills[found])  # (its USD: * 1.0)
            found += 1
        if cross is not None:  # CrossExchangeStrategy.crossed (its walks' counts, USD reads)
            route = cross.find(market, book, crossing)
            if route == FIND_FALLBACK:
                return FALLBACK
            if route < 0:  # (nothing: slot 0 goes)
                found -= 1
                for i in range(found):
                    cycles[i], profits[i] = cycles[i + 1], profits[i + 1]
                    memcpy(fills[i], fills[i + 1], sizeof(scratch))
            else:
                cycles[0], profits[0] = CROSS_FIND, cross.found_usd()
        # the engine's found(): several ranked by expected USD profit (Orchestrator.rank's
        # sort is stable), each then decided in that order
        if found > 1:
            self.ranked += 1
        for i in range(1, found):  # (insertion sort, most profit first, ties in order)
            j = i
            while j > 0 and profits[j - 1] < profits[j]:
                cycles[j - 1], cycles[j] = cycles[j], cycles[j - 1]
                profits[j - 1], profits[j] = profits[j], profits[j - 1]
                _swap_fills(fills[j - 1], fills[j])
                j -= 1
        for i in range(found):
            if cycles[i] == CROSS_FIND:
                if self._decide_cross(cross, i, now, arrived) == DECIDED:
                    decided = DECIDED
                continue
            self._found(engine._detected_slot[cycles[i]], arrived)  # (Engine._decide: counted)
            row = engine._gate + <Py_ssize_t>cycles[i] * width
            if i > 0 and self._gate_refuses(row[0], row + 1, _count_markets(row, width), now):
                continue  # (the one before took its markets)
            memcpy(self._fills, fills[i], sizeof(self._fills))
            if self._admit(cycles[i], engine._lengths[cycles[i]], self._fills, now, arrived,
                           False) == DECIDED:
                decided = DECIDED
        return decided

    cdef int _decide_cross(self, CrossDecision cross, int rank, int64_t now,
                           int64_t arrived) except -1:
        """The cross find's turn among the ranked finds (``rank``: its place)."""
        cdef int r = cross._best_route
        cross._found(cross.kernel._detected_slot[r], arrived)
        if rank > 0 and cross._gate_refuses(cross.kernel._key[r], &cross.kernel._ends[2 * r], 2,
                                             now):
            return NOTHING
        return cross.admit_found(now, arrived)

    cdef double _fills_profit(self, int cycle, const LegFill* fills) noexcept:
        """SizedCycle.profit of ``fills``: the end amount less the start amount."""
        return fills[self.engine._lengths[cycle] - 1].out - fills[0].spent

    cdef bint _tradeable(self, int cycle, LegFill* fills) except -1:
        """``cycle`` sized into ``fills`` is one the engine trades: TriangularScanner's
        ``tradeable`` and what ``Engine._on_book`` keeps of a find (a first leg of at least one
        lot, profit > 0, profit_bps at the floor)."""
        cdef CycleEngine engine = self.engine
        cdef int i, n = engine._lengths[cycle]
        cdef const MarketFacts* first
        cdef double start, profit, raw
        for i in range(n):  # a leg's book never seen: TriangularScanner._sized answers None
            if engine._books[engine._edges[cycle * engine.max_legs + i] // 2] is None:
                return False
        if not engine.size_into(cycle, self.max_start, fills):
            return False
        start = fills[0].spent
        profit = self._fills_profit(cycle, fills)  # (SizedCycle.profit, profit_bps)
        if not start > 0.0 or not profit > 0.0 or not profit / start * 1e4 >= self.min_profit_bps:
            return False
        first = &self._markets[engine._edges[cycle * engine.max_legs] // 2]
        raw = floor(fills[0].qty * first.size_unit * (1 + 1e-12))  # (_raw)
        return raw - fmod(raw, first.lot) > 0.0

    cdef int _admit(self, int cycle, int n, const LegFill* fills, int64_t now, int64_t arrived,
                    bint rehearse) except -1:
        """Orchestrator.admit (the gate was asked in this event by touch_at and nothing changed
        since: the offer is counted and the balances checked), leg_tuples, then
        RiskEngine.check_legs' breach, for ``cycle`` sized into ``fills``. Rehearsed: the same
        reads (the gate's word, the ledger's slots, the legs, risk's compiled check) and no
        effect (no count, reservation, busy mark, cool-off, cached price or verdict)."""
        cdef CycleEngine engine = self.engine
        cdef Gate gate = self.gate
        cdef Ledger ledger = self.ledger
        cdef const MarketFacts* facts
        cdef const LegFill* fill
        cdef int i, k, width = engine.max_legs + 1
        cdef int* row = engine._gate + <Py_ssize_t>cycle * width
        cdef bint buys[4]
        cdef int markets[4]
        cdef double rehearsed[4]
        cdef double* amounts = &rehearsed[0] if rehearse else &self._amounts[0]
        cdef double prices[4]
        cdef double quote_usd
        cdef bint known = True
        cdef Leg legs[4]
        if not rehearse:
            gate.offered += 1
        elif row[0] >= 0:  # (``now`` is known: no clock is read)
            gate.reason(row[0], row + 1, _count_markets(row, width), &now, &known)
        for i in range(n):  # each leg's spend against what is left (quote bought, base sold)
            markets[i] = engine._edges[cycle * engine.max_legs + i] // 2
            buys[i] = engine._edges[cycle * engine.max_legs + i] % 2 == 0  # (direction BUY)
            facts = &self._markets[markets[i]]
            fill = &fills[i]
            # OpportunityLeg.price: the limit the router sends, in price units
            prices[i] = <double>limit_raw(fill.worst_raw, buys[i], engine.slippage_bps) / \
                facts.price_unit
            amounts[i] = prices[i] * fill.qty if buys[i] else fill.qty
            if amounts[i] > available(ledger, facts.buy_spends if buys[i] else facts.sell_spends) \
                    + 1e-12 and not rehearse:
                self._refused_for_balance()
                return NOTHING
        if not rehearse:
            for i in range(n):
                facts = &self._markets[markets[i]]
                ledger.reserve(facts.buy_spends if buys[i] else facts.sell_spends, amounts[i])
            for k in range(_count_markets(row, width)):  # (busy.update(markets))
                gate.mark_busy(row[1 + k])
            gate.take(row[0], now)  # (last_taken[key] = now)
        # leg_tuples over BookAges(now): each leg valued price * size * usd(quote) (0 unpriced)
        for i in range(n):
            facts = &self._markets[markets[i]]
            if facts.dollar_quote:
                quote_usd = 1.0
            else:
                quote = self._quotes[markets[i]]
                found_usd = self.usd.peek(quote) if rehearse else self.usd.price(quote)
                quote_usd = 0.0 if found_usd is None else <double>found_usd
            legs[i] = Leg(self._venue_id, facts.base, facts.quote, buys[i], fills[i].qty,
                          prices[i] * fills[i].qty * quote_usd, engine.age_ms(markets[i], now))
        if rehearse:
            if self.exposure.fast:
                self.exposure.rehearse_breach(legs, n)
            return NOTHING
        self.cycle = cycle
        self._verdict(legs, n, now, arrived)
        return DECIDED

    cdef int _rehearse(self, int cycle) except -2:
        """One rehearsal of ``cycle`` (-1: the last one an update changed): its id, or -1 when
        none could be rehearsed (none yet, or a book never seen)."""
        cdef CycleEngine engine = self.engine
        cdef LegFill fills[4]
        cdef int i, m, n
        cdef int64_t now = 0
        if cycle >= engine.cycle_count:
            raise IndexError(f"cycle {cycle} out of range (0..{engine.cycle_count - 1})")
        if cycle < 0:
            cycle = self._last
        if cycle < 0:
            return -1
        n = engine._lengths[cycle]
        for i in range(n):  # (the books' times: ``now`` is the latest update, no clock read)
            m = engine._edges[cycle * engine.max_legs + i] // 2
            if engine._books[m] is None:
                return -1
            if engine._stamped[m] > now:
                now = engine._stamped[m]
        memset(fills, 0, sizeof(fills))  # (a walk that stops early leaves later legs as 0)
        engine.size_into(cycle, self.max_start, fills)
        self._admit(cycle, n, fills, now, 0, True)
        self.rehearsed += 1
        return cycle

    def rehearse(self, int cycle=-1):
        """Rehearse the decision of ``cycle`` (-1: the last one an update changed) without any
        effect: every read ``decide`` makes for it (its books' depth, the gate's word, the
        ledger's slots, the legs' USD prices and ages, risk's check), so that the next decision
        finds its code and data in cache. Returns the cycle rehearsed, or -1."""
        return self._rehearse(cycle)

    cdef int _stamped(self) except -1:
        """The ticket's reservations, after the verdict: (venue, asset spent, amount) per leg."""
        cdef CycleEngine engine = self.engine
        cdef int i, edge
        reserved = []
        for i in range(engine._lengths[self.cycle]):
            edge = engine._edges[self.cycle * engine.max_legs + i]
            base, quote = self._pairs[edge // 2]
            reserved.append((self.venue, quote if edge % 2 == 0 else base, self._amounts[i]))
        self.reserved_amounts = tuple(reserved)
        return 0

    cdef tuple _leg_tuples(self, const Leg* legs, int n):
        cdef CycleEngine engine = self.engine
        cdef int i
        rows = []
        for i in range(n):
            base, quote = self._pairs[engine._edges[self.cycle * engine.max_legs + i] // 2]
            rows.append((self.venue, base, quote, legs[i].buy, legs[i].base_qty,
                         legs[i].notional_usd, legs[i].age_ms))
        return tuple(rows)
