# Cross-venue touch test: every market's best bid and ask, and the routes they are compared on.
#
# The cross-exchange strategy compares each book update against the same base on every other
# venue, both ways. Almost no update crosses, so the test at the top of both books runs here over
# raw int64 prices, in the same float expressions as the strategy's Python test
# (arbcore.strategies.cross_exchange.top_cross: the same IEEE doubles, so the same verdicts);
# only the routes that pass go back to Python for the orchestrator's word and the depth walk.
#
# Most updates that do cross at the top are a dislocation already traded and cooling off (or its
# liquidity still in use): :class:`Gate` holds the orchestrator's cool-off and busy-liquidity
# state in C arrays, and a CrossBook attached to a :class:`Check` refuses (and counts) those
# routes itself, so they cost no Python call either.
from cpython.dict cimport PyDict_GetItemWithError, PyDict_SetItem
from cpython.ref cimport PyObject
from libc.stdint cimport INT64_MIN, int64_t
from libc.stdlib cimport free, malloc, realloc

from arbcore_ext._stamps cimport stamp_age_ms
from arbcore_ext._syncref cimport (REF_CORE, REF_NONE, SyncRef, syncref_clear, syncref_fresh,
                                    syncref_init, syncref_resolve)
from arbcore_ext.book cimport KEY_NONE
from arbcore_ext.deltapath cimport SyncCore

from collections import Counter, defaultdict
from collections.abc import Mapping, MutableMapping

DEF MAX_FOUND = 64  # routes returned from a stack buffer; more spill into a list

#: (buy market, sell market, ask_factor, bid_factor, ask_unit, always): see crossbook.pyi
RouteSpec = tuple[int, int, float, float, float, bool]

cdef int64_t NO_PRICE = -1  # a side with no level (raw prices are never negative)
cdef int64_t NEVER = INT64_MIN  # a market never stamped


_REASONS = (None, "cool_off", "liquidity_in_use")  # (the orchestrator's refusal names)
_FAST_COUNTS = (dict, Counter, defaultdict)  # mappings whose items C may add to directly


cdef extern from "Python.h":
    # (CPython's own, exported: a key whose hash is known is not hashed again)
    PyObject* _PyDict_GetItem_KnownHash(object mp, object key, Py_hash_t hash) except? NULL
    int _PyDict_SetItem_KnownHash(object mp, object key, object item, Py_hash_t hash) except -1


cdef inline int _count(object counts, object key, bint fast, Py_hash_t hash) except -1:
    """``counts[key] += 1``; in C when ``fast`` (a dict, Counter or defaultdict: none of them
    overrides item access, so a missing key counts from 0 and is inserted, as ``+=`` does), with
    ``hash(key)`` given, else by ``+=``."""
    cdef PyObject* found
    if fast:
        found = _PyDict_GetItem_KnownHash(counts, key, hash)
        _PyDict_SetItem_KnownHash(counts, key, 1 if found == NULL else <object>found + 1, hash)
    else:
        counts[key] += 1
    return 0


cdef void* _grown(void* block, size_t size) except NULL:
    """``block`` reallocated to ``size`` bytes (MemoryError: ``block`` is left as it was)."""
    cdef void* grown = realloc(block, size)
    if grown == NULL:
        raise MemoryError()
    return grown


cdef int _named(dict ids, list names, name) except -1:
    """Give ``name`` the next slot: ``ids[name]``, ``names[slot]``."""
    ids[name] = len(names)
    names.append(name)
    return len(names) - 1


cdef int _slot(dict ids, list names, key, int64_t** values, char** flags, Py_ssize_t* size,
               Py_ssize_t* cap) except -1:
    """``key``'s slot in ``ids``/``names``, made on first sight with a zero value and flag (the
    two arrays, ``size`` slots used of ``cap``, grown as needed)."""
    cdef object slot = ids.get(key)
    cdef Py_ssize_t grown
    if slot is not None:
        return slot
    if size[0] == cap[0]:
        grown = max(16, 2 * cap[0])
        values[0] = <int64_t*>_grown(values[0], grown * sizeof(int64_t))
        flags[0] = <char*>_grown(flags[0], grown)
        cap[0] = grown
    values[0][size[0]] = 0
    flags[0][size[0]] = 0
    size[0] += 1
    return _named(ids, names, key)


cdef class Gate:
    """The orchestrator's cool-off and busy-liquidity state, in C arrays indexed by small ints.

    Keys (see ``arbcore.strategies.orchestrator.key``) and markets ((venue, symbol)) get a slot on
    first sight. :attr:`taken` (key -> ns it was last taken) and :attr:`busy` (the markets with a
    trade in flight) are the orchestrator's ``_last_taken`` dict and ``_busy`` set, as views with
    the operations it uses; compiled callers (:class:`CrossBook`) test their routes' slots
    without a Python call. ``clock``: ns, read only when a key has been taken.
    """

    def __cinit__(self):
        self._taken_at = NULL
        self._taken = NULL
        self._busy = NULL

    def __init__(self, cool_off_ns, clock not None):
        self.cool_off_ns = cool_off_ns
        self.clock = clock
        self._key_ids = {}
        self._keys = []
        self._market_ids = {}
        self._markets = []
        self._n_keys = self._key_cap = self._n_markets = self._market_cap = 0
        self.n_taken = self.n_busy = 0
        self.offered = 0

    def __dealloc__(self):
        free(self._taken_at)
        free(self._taken)
        free(self._busy)

    @property
    def taken(self):
        """The cool-off's record, key -> clock ns when last taken, as a mapping."""
        return TakenView(self)

    @property
    def busy(self):
        """The markets with a trade in flight, as a set."""
        return BusyView(self)

    cdef int key_slot(self, key) except -1:
        return _slot(self._key_ids, self._keys, key, &self._taken_at, &self._taken,
                     &self._n_keys, &self._key_cap)

    cdef int market_slot(self, market) except -1:
        cdef object slot = self._market_ids.get(market)
        cdef Py_ssize_t cap
        if slot is not None:
            return slot
        if self._n_markets == self._market_cap:
            cap = max(16, 2 * self._market_cap)
            self._busy = <char*>_grown(self._busy, cap)
            self._market_cap = cap
        self._busy[self._n_markets] = 0
        self._n_markets += 1
        return _named(self._market_ids, self._markets, market)

    cdef int mark_busy(self, int market) except -1:
        """A trade is in flight on the market in slot ``market`` (the busy set's ``add``)."""
        if not self._busy[market]:
            self._busy[market] = 1
            self.n_busy += 1
        return 0

    cdef int take(self, int key, int64_t ns) except -1:
        """The key in slot ``key`` was taken at ``ns``: its cool-off starts."""
        if not self._taken[key]:
            self._taken[key] = 1
            self.n_taken += 1
        self._taken_at[key] = ns
        return 0

    cdef int _cooling(self, int key, int64_t* now, bint* known) except -1:
        """``key`` (a slot, -1: never seen) was taken less than cool_off_ns ago."""
        if key < 0 or not self._taken[key]:
            return 0
        if not known[0]:
            now[0] = self.clock()
            known[0] = True
        return now[0] - self._taken_at[key] < self.cool_off_ns

    cdef int reason(self, int key, const int* markets, int n, int64_t* now, bint* known
                    ) except -1:
        """Why the orchestrator would refuse (COOL_OFF, IN_USE) a key's opportunity on these
        market slots now, else OPEN; ``now``/``known``: the clock, read once when needed."""
        cdef int i
        if self._cooling(key, now, known):
            return COOL_OFF
        if self.n_busy:
            for i in range(n):
                if self._busy[markets[i]]:
                    return IN_USE
        return OPEN

    cdef int _reason_of(self, key, markets) except -1:
        """:meth:`reason` for a key and markets given as Python values (no slot made)."""
        cdef int64_t now = 0
        cdef bint known = False
        cdef object slot = self._key_ids.get(key)
        if self._cooling(-1 if slot is None else slot, &now, &known):
            return COOL_OFF
        if self.n_busy:
            for market in markets:
                slot = self._market_ids.get(market)
                if slot is not None and self._busy[<int>slot]:
                    return IN_USE
        return OPEN

    def refusal(self, key, markets):
        """Why an opportunity with this key and markets would be refused now (``"cool_off"``,
        ``"liquidity_in_use"``), or None; counts nothing."""
        return _REASONS[self._reason_of(key, markets)]


cdef class TakenView:
    """:class:`Gate`'s cool-off record as a mapping: key -> clock ns when it was last taken."""

    cdef Gate gate

    def __init__(self, Gate gate not None):
        self.gate = gate

    cdef int _slot(self, key):
        cdef object slot = self.gate._key_ids.get(key)
        if slot is None or not self.gate._taken[<int>slot]:
            return -1
        return slot

    def __getitem__(self, key):
        cdef int slot = self._slot(key)
        if slot < 0:
            raise KeyError(key)
        return self.gate._taken_at[slot]

    def get(self, key, default=None):
        cdef int slot = self._slot(key)
        return default if slot < 0 else self.gate._taken_at[slot]

    def __setitem__(self, key, int64_t ns):
        self.gate.take(self.gate.key_slot(key), ns)

    def __delitem__(self, key):
        cdef int slot = self._slot(key)
        if slot < 0:
            raise KeyError(key)
        self.gate._taken[slot] = 0
        self.gate.n_taken -= 1

    def __contains__(self, key):
        return self._slot(key) >= 0

    def __len__(self):
        return self.gate.n_taken

    def __iter__(self):
        """The keys taken, in the order they were first seen."""
        gate = self.gate
        return iter([key for i, key in enumerate(gate._keys) if gate._taken[i]])


cdef class BusyView:
    """:class:`Gate`'s busy markets as a set of (venue, symbol) (the operations the orchestrator
    uses)."""

    cdef Gate gate

    def __init__(self, Gate gate not None):
        self.gate = gate

    def add(self, market):
        self.gate.mark_busy(self.gate.market_slot(market))

    def discard(self, market):
        cdef Gate gate = self.gate
        cdef object slot = gate._market_ids.get(market)
        if slot is not None and gate._busy[<int>slot]:
            gate._busy[<int>slot] = 0
            gate.n_busy -= 1

    def update(self, markets):
        for market in markets:
            self.add(market)

    def difference_update(self, markets):
        for market in markets:
            self.discard(market)

    def isdisjoint(self, markets):
        for market in markets:
            if market in self:
                return False
        return True

    def __contains__(self, market):
        cdef object slot = self.gate._market_ids.get(market)
        return slot is not None and bool(self.gate._busy[<int>slot])

    def __len__(self):
        return self.gate.n_busy

    def __bool__(self):
        return self.gate.n_busy > 0

    def __iter__(self):
        gate = self.gate
        return iter([market for i, market in enumerate(gate._markets) if gate._busy[i]])


cdef class Counts:
    """A count per key, as a mapping (a ``Counter``'s reads: a missing key counts 0 and is not
    added), kept in a C array: a compiled caller (:class:`Check`) adds to a key's slot without
    a Python object or a dict lookup, and Python reads and adds as it would to a Counter.
    Iteration is in the order keys came in (set or added to), as a dict's."""

    def __cinit__(self):
        self._n = NULL
        self._in = NULL

    def __init__(self, counts=()):
        self._slots = {}
        self._keys = []
        self._order = []
        self._size = self._cap = 0
        for key, n in (counts.items() if hasattr(counts, "items") else counts):
            self[key] = n

    def __dealloc__(self):
        free(self._n)
        free(self._in)

    cdef int slot(self, key) except -1:
        """``key``'s slot (made on first sight; the key is not in the mapping until counted)."""
        return _slot(self._slots, self._keys, key, &self._n, &self._in, &self._size, &self._cap)

    cdef int add(self, int slot) except -1:
        """One more for the key in ``slot``."""
        if not self._in[slot]:
            self._in[slot] = 1
            self._order.append(slot)
        self._n[slot] += 1
        return 0

    cdef int _present(self, key):
        cdef object found = self._slots.get(key)
        if found is None or not self._in[<int>found]:
            return -1
        return found

    def __getitem__(self, key):
        cdef int slot = self._present(key)
        return 0 if slot < 0 else self._n[slot]

    def __setitem__(self, key, n):
        cdef int slot = self.slot(key)
        self._n[slot] = n
        if not self._in[slot]:
            self._in[slot] = 1
            self._order.append(slot)

    def __delitem__(self, key):
        cdef int slot = self._present(key)
        if slot < 0:
            raise KeyError(key)
        self._in[slot] = 0
        self._n[slot] = 0
        self._order.remove(slot)

    def __contains__(self, key):
        return self._present(key) >= 0

    def __len__(self):
        return len(self._order)

    def __iter__(self):
        return iter([self._keys[slot] for slot in self._order])

    def get(self, key, default=None):
        cdef int slot = self._present(key)
        return default if slot < 0 else self._n[slot]

    def keys(self):
        return [self._keys[slot] for slot in self._order]

    def values(self):
        return [self._n[<int>slot] for slot in self._order]

    def items(self):
        return [(self._keys[slot], self._n[<int>slot]) for slot in self._order]

    def update(self, counts=(), **more):
        for key, n in (counts.items() if hasattr(counts, "items") else counts):
            self[key] = n
        for key, n in more.items():
            self[key] = n

    def __eq__(self, other):
        if isinstance(other, (Counts, Mapping)):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return f"Counts({dict(self.items())!r})"


MutableMapping.register(Counts)


cdef class Check:
    """A strategy's pre-check (``Orchestrator.pre_check``): ``check(key, markets)`` is True, and
    the refusal counted as ``admit`` counts it (the gate's ``offered``, which is the
    orchestrator's, and ``refused[reason]``; with a tally also ``found[kind]`` and
    ``detected[kind, key[1]]``), when the orchestrator would refuse the opportunity now for its
    cool-off or busy liquidity."""

    def __init__(self, Gate gate not None, refused, kind="", found=None, detected=None):
        self.gate = gate
        self.refused = refused
        self.kind = kind
        self.tallied = found is not None and detected is not None
        self.found = found
        self.detected = detected
        self.fast = (type(refused) in _FAST_COUNTS and type(found) in _FAST_COUNTS
                     and type(detected) in _FAST_COUNTS)
        self._refused_c = refused if type(refused) is Counts else None
        self._found_c = found if self.tallied and type(found) is Counts else None
        self._detected_c = detected if self.tallied and type(detected) is Counts else None
        self._reason_slot[OPEN] = -1
        for reason in (COOL_OFF, IN_USE):
            self._reason_slot[reason] = (-1 if self._refused_c is None
                                         else self._refused_c.slot(_REASONS[reason]))
        self._kind_slot = -1 if self._found_c is None else self._found_c.slot(kind)

    def __call__(self, key, markets):
        cdef int reason = self.gate._reason_of(key, markets)
        if reason == OPEN:
            return False
        detected_key = (self.kind, key[1]) if self.tallied else None
        self.count(reason, detected_key, hash(detected_key), self.detected_slot(detected_key))
        return True

    cdef int detected_slot(self, object detected_key) except -2:
        """``detected_key``'s slot in ``detected`` when that is a :class:`Counts`, else -1."""
        if self._detected_c is None or detected_key is None:
            return -1
        return self._detected_c.slot(detected_key)

    cdef int count(self, int reason, object detected_key, Py_hash_t detected_hash,
                   int detected_slot) except -1:
        """Count one refusal; ``detected_key``: (kind, the opportunity's venue), its hash and
        its slot in ``detected`` (-1: not a :class:`Counts`, counted through the mapping)."""
        cdef str name
        self.gate.offered += 1
        if self._refused_c is not None:
            self._refused_c.add(self._reason_slot[reason])
        else:
            name = _REASONS[reason]
            _count(self.refused, name, self.fast, hash(name))
        if self.tallied:
            if self._found_c is not None:
                self._found_c.add(self._kind_slot)
            else:
                _count(self.found, self.kind, self.fast, hash(self.kind))
            if detected_slot >= 0:
                self._detected_c.add(detected_slot)
            else:
                _count(self.detected, detected_key, self.fast, detected_hash)
        return 0


cdef class CrossBook:
    """Each market's touch, and per market the routes an update of it is tested on (fields:
    crossbook.pxd, so a compiled caller, the engine's ``BookTap``, updates it without a Python
    call)."""

    def __cinit__(self):
        self._bid = self._ask = NULL
        self._known = NULL
        self._stamped = NULL
        self._routes = NULL
        self._start = self._order = NULL
        self._key = self._ends = NULL
        self._detected_hash = NULL
        self._detected_slot = NULL
        self._refs = NULL

    def __init__(self, int n_markets, routes, by_market, double min_profit_bps):
        cdef int m, i, n = 0, r
        if n_markets < 0 or len(by_market) != n_markets:
            raise ValueError(f"by_market lists {len(by_market)} markets, expected {n_markets}")
        self.n_markets = n_markets
        self.n_routes = len(routes)
        self.n_known = 0
        self.min_profit_bps = min_profit_bps
        self.checked = 0
        self.walked = 0
        total = sum(len(listed) for listed in by_market)
        self._bid = <int64_t*>malloc(max(n_markets, 1) * sizeof(int64_t))
        self._ask = <int64_t*>malloc(max(n_markets, 1) * sizeof(int64_t))
        self._known = <char*>malloc(max(n_markets, 1))
        self._stamped = <int64_t*>malloc(max(n_markets, 1) * sizeof(int64_t))
        self._routes = <Route*>malloc(max(self.n_routes, 1) * sizeof(Route))
        self._start = <int*>malloc((n_markets + 1) * sizeof(int))
        self._order = <int*>malloc(max(total, 1) * sizeof(int))
        if (self._bid == NULL or self._ask == NULL or self._known == NULL or self._routes == NULL
                or self._start == NULL or self._order == NULL or self._stamped == NULL):
            raise MemoryError()
        for m in range(n_markets):
            self._bid[m] = self._ask[m] = NO_PRICE
            self._known[m] = 0
            self._stamped[m] = NEVER
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
        free(self._stamped)
        free(self._routes)
        free(self._start)
        free(self._order)
        free(self._key)
        free(self._ends)
        free(self._detected_hash)
        free(self._detected_slot)
        self._drop_refs()
        free(self._refs)

    cdef void stamp(self, int market, int64_t ns) noexcept:
        """``market``'s book was updated at ``ns`` (the engine's clock): what :meth:`age_ms`
        reads (the book callback stamps each update, as it stamps the engine's table)."""
        self._stamped[market] = ns

    cdef double age_ms(self, int market, int64_t now) noexcept:
        """The age (ms) at ``now`` of ``market``'s last update; 0 when never stamped (BookAges'
        rule for a book never updated)."""
        return stamp_age_ms(self._stamped[market], now)

    def stamped(self, int market):
        """When ``market`` was last stamped (ns), or None."""
        self._check(market)
        return None if self._stamped[market] == NEVER else self._stamped[market]

    cdef int _check(self, int market) except -1:
        if not 0 <= market < self.n_markets:
            raise IndexError(f"market {market} out of range (0..{self.n_markets - 1})")
        return 0

    cdef void _read(self, int m, L2Book book) noexcept:
        cdef int64_t bid_key = book.sides[0].best, ask_key = book.sides[1].best
        self._bid[m] = bid_key if bid_key != KEY_NONE else NO_PRICE
        self._ask[m] = -ask_key if ask_key != KEY_NONE else NO_PRICE
        self._learn(m)

    cdef void _learn(self, int m) noexcept:
        if not self._known[m]:
            self._known[m] = 1
            self.n_known += 1

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
        self._learn(market)

    def forget(self, int market):
        """``market``'s touch is unknown again (its routes are not tested until it is set)."""
        self._check(market)
        if self._known[market]:
            self._known[market] = 0
            self.n_known -= 1

    def known(self, int market):
        self._check(market)
        return bool(self._known[market])

    def attach(self, Check check not None, keys, names, dict syncs not None):
        """Pre-check crossing routes here, as the strategy would through ``check`` (the
        orchestrator's cool-off and busy liquidity): a refused route is counted by ``check`` and
        not returned. ``keys[r]``: route r's orchestrator key (None: returned as before, for the
        caller to ask); ``names[m]``: market m's (venue, symbol); ``syncs``: venue -> symbol ->
        BookSync, the table the caller's ``book_of`` reads (a book only while its sync is in
        sync): a route whose other book is not in sync is dropped uncounted, as the caller's
        loop drops it."""
        cdef int r, m
        cdef const Route* route
        cdef Gate gate = check.gate
        if len(keys) != self.n_routes or len(names) != self.n_markets:
            raise ValueError(f"{len(keys)} keys and {len(names)} names for {self.n_routes} "
                             f"routes and {self.n_markets} markets")
        free(self._key)
        free(self._ends)
        free(self._detected_hash)
        free(self._detected_slot)
        self._key = <int*>malloc(max(self.n_routes, 1) * sizeof(int))
        self._ends = <int*>malloc(max(2 * self.n_routes, 1) * sizeof(int))
        self._detected_hash = <Py_hash_t*>malloc(max(self.n_routes, 1) * sizeof(Py_hash_t))
        self._detected_slot = <int*>malloc(max(self.n_routes, 1) * sizeof(int))
        if (self._key == NULL or self._ends == NULL or self._detected_hash == NULL
                or self._detected_slot == NULL):
            raise MemoryError()
        self._detected = []
        for r in range(self.n_routes):
            route = &self._routes[r]
            self._ends[2 * r] = gate.market_slot(tuple(names[route.buy]))
            self._ends[2 * r + 1] = gate.market_slot(tuple(names[route.sell]))
            self._key[r] = -1 if keys[r] is None else gate.key_slot(keys[r])
            self._detected.append(None if keys[r] is None else (check.kind, keys[r][1]))
            self._detected_hash[r] = hash(self._detected[r])
            self._detected_slot[r] = check.detected_slot(self._detected[r])
        if self._refs == NULL:
            self._refs = <SyncRef*>malloc(max(self.n_markets, 1) * sizeof(SyncRef))
            if self._refs == NULL:
                raise MemoryError()
        else:
            self._drop_refs()
        for m in range(self.n_markets):
            syncref_init(&self._refs[m])
        self._venues = [venue for venue, _ in names]
        self._symbols = [symbol for _, symbol in names]
        self._syncs = syncs
        self._pre = check

    cdef void _drop_refs(self) noexcept:
        cdef int m
        if self._refs != NULL:
            for m in range(self.n_markets):
                syncref_clear(&self._refs[m])

    def update(self, int market, L2Book book not None, now_ns=None):
        """Read ``book``'s touch into ``market``, then test its routes against every known
        market: the ids of those that cross by ``min_profit_bps`` (or need the live rate), in
        route order; ``()`` for the usual update. Counts each route tested in ``checked``.
        Attached (:meth:`attach`): without the routes the pre-check refuses; ``now_ns``: the
        clock's time for it (None: read the gate's clock if a cool-off needs it)."""
        self._check(market)
        self._read(market, book)
        return self._crossing(market, now_ns)

    def touch(self, dict markets not None, symbol, L2Book book not None, now_ns=None):
        """:meth:`update` for the engine's callback, once every market's touch is known:
        ``markets`` (one venue's symbol -> market id) finds the market (``()`` for a symbol not
        compared). None, with nothing read, while some touch is unknown: the caller goes
        through the strategy's ``on_book``, which reads them."""
        cdef PyObject* found
        cdef int market
        if self.n_known < self.n_markets:
            return None
        found = PyDict_GetItemWithError(markets, symbol)
        if found == NULL:
            return ()
        market = <int><object>found
        self._check(market)
        self._read(market, book)
        return self._crossing(market, now_ns)

    def crossing(self, int market, now_ns=None):
        """:meth:`update` without reading a book: the routes of ``market`` that cross now."""
        self._check(market)
        return self._crossing(market, now_ns)

    cdef SyncRef* _ref(self, int market) except NULL:
        """``market``'s SyncRef, resolved again when a dict it went through has changed (on a
        Python without dict versions it stays REF_WALK: the tables are walked)."""
        cdef SyncRef* ref
        if self._refs == NULL:
            raise RuntimeError("not attached: no syncs table")
        ref = &self._refs[market]
        if not syncref_fresh(ref, <PyObject*>self._syncs):
            syncref_resolve(ref, self._syncs, self._venues[market], self._symbols[market])
        return ref

    cdef object _synced_core(self, int market):
        """``market``'s sync's core if the caller's ``book_of`` would give its book now, else
        None (the engine's ``book``: ``sync.book`` while ``sync.in_sync``, which are the sync's
        ``core.book`` and ``core.synced``): the core held in C while the tables are unchanged
        (_syncref), else :meth:`_walked_core`."""
        cdef SyncRef* ref = self._ref(market)
        if ref.kind == REF_CORE:
            return <object>ref.core if (<SyncCore>ref.core).synced else None
        if ref.kind == REF_NONE:
            return None
        return self._walked_core(market)

    cdef object _walked_core(self, int market):
        """:meth:`_synced_core` by walking the tables (``syncs[venue][symbol].core``)."""
        cdef PyObject* found = PyDict_GetItemWithError(self._syncs, self._venues[market])
        if found == NULL:
            return None
        by_symbol = <object>found
        if type(by_symbol) is dict:
            found = PyDict_GetItemWithError(by_symbol, self._symbols[market])
            sync = None if found == NULL else <object>found
        else:
            sync = by_symbol.get(self._symbols[market])
        if sync is None:
            return None
        core = sync.core
        return core if core.synced else None

    cdef bint _in_sync(self, int market) except -1:
        """The caller's ``book_of`` would give ``market``'s book now."""
        cdef SyncRef* ref = self._ref(market)
        if ref.kind == REF_CORE:
            return (<SyncCore>ref.core).synced
        if ref.kind == REF_NONE:
            return False
        return self._walked_core(market) is not None

    cdef L2Book synced_book(self, int market):
        """``market``'s book if the caller's ``book_of`` would give it now, else None."""
        cdef SyncRef* ref = self._ref(market)
        cdef SyncCore core
        if ref.kind == REF_CORE:
            core = <SyncCore>ref.core
            return core.book if core.synced else None
        if ref.kind == REF_NONE:
            return None
        found = self._walked_core(market)
        return None if found is None else <L2Book?>found.book

    def book_of(self, int market):
        """``market``'s book if the caller's ``book_of`` would give it now, else None (what the
        compiled callers read; attached only)."""
        self._check(market)
        return self.synced_book(market)

    def in_sync(self, int market):
        """The caller's ``book_of`` would give ``market``'s book now (attached only)."""
        self._check(market)
        return self._in_sync(market)

    def walked_book_of(self, int market):
        """:meth:`book_of` by walking the tables, nothing held (the rule it must equal)."""
        self._check(market)
        if self._syncs is None:
            raise RuntimeError("not attached: no syncs table")
        found = self._walked_core(market)
        return None if found is None else <L2Book?>found.book

    cdef object _crossing(self, int market, now_ns):
        return self.crossing_at(market, 0 if now_ns is None else now_ns, now_ns is not None)

    cdef object crossing_at(self, int market, int64_t now, bint known):
        """The routes of ``market`` that cross now (see :meth:`update`); ``known``: ``now`` is
        the clock's time (else the gate's clock is read if a cool-off needs it)."""
        cdef int i, r, other, found = 0, reason
        cdef Check check = self._pre
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
                if check is not None and self._key[r] >= 0:
                    # the strategy's loop, for a route it would pre-check: the other book, then
                    # the orchestrator's word
                    if not self._in_sync(other):
                        continue
                    reason = check.gate.reason(self._key[r], &self._ends[2 * r], 2, &now, &known)
                    if reason != OPEN:
                        check.count(reason, self._detected[r], self._detected_hash[r],
                                    self._detected_slot[r])
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
