# The engine's balances and reservations: one copy of each number, in C arrays.
#
# What a strategy may spend of (venue, asset) is the venue's free balance (TradingVenues.held:
# the shadow venue's own balances, which its fills move, or the live venue's last read) minus
# what admitted trades reserved of it (the orchestrator's reservations). Both used to be Python
# dicts, and the compiled cross decision (crossdecide.pyx) read them through dict lookups of
# tuples: on a path that runs once in ~70 frames every object is a cache miss. Here each
# (venue, asset) has a slot in two double arrays; Python reads and writes them through
# dict-compatible views (Balances: one venue's asset -> free; Reserved: (venue, asset) ->
# amount, a defaultdict(float)'s reads), the compiled decision through its routes' slots,
# resolved once. Iteration is in the order keys came in, as a dict's.
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
from collections.abc import ItemsView, KeysView, Mapping, MutableMapping, ValuesView

from libc.stdlib cimport free, realloc

_MISSING = object()


cdef class Ledger:
    """Free balances per venue and the reservations on them (see ledger.pyi)."""

    def __cinit__(self):
        self._free = NULL
        self._reserved = NULL
        self._has_free = NULL
        self._has_reserved = NULL

    def __init__(self):
        self._slots = {}
        self._keys = []
        self._size = self._cap = 0
        self._venues = {}
        self.reserved = Reserved.__new__(Reserved)
        self.reserved.ledger = self
        self.reserved._order = []

    def __dealloc__(self):
        free(self._free)
        free(self._reserved)
        free(self._has_free)
        free(self._has_reserved)

    cdef int _key_slot(self, object key) except -1:
        """(venue, asset)'s slot, made on first sight: 0.0 and absent from both views."""
        cdef object found = self._slots.get(key)
        cdef Py_ssize_t grown
        cdef void* p
        if found is not None:
            return found
        if type(key) is not tuple or len(key) != 2:
            raise TypeError(f"a ledger key is (venue, asset), was {key!r}")
        if self._size == self._cap:
            grown = max(16, 2 * self._cap)
            p = realloc(self._free, grown * sizeof(double))
            if p == NULL:
                raise MemoryError()
            self._free = <double*>p
            p = realloc(self._reserved, grown * sizeof(double))
            if p == NULL:
                raise MemoryError()
            self._reserved = <double*>p
            p = realloc(self._has_free, grown)
            if p == NULL:
                raise MemoryError()
            self._has_free = <char*>p
            p = realloc(self._has_reserved, grown)
            if p == NULL:
                raise MemoryError()
            self._has_reserved = <char*>p
            self._cap = grown
        self._free[self._size] = 0.0
        self._reserved[self._size] = 0.0
        self._has_free[self._size] = 0
        self._has_reserved[self._size] = 0
        self._slots[key] = self._size
        self._keys.append(key)
        self._size += 1
        return self._size - 1

    cdef int slot(self, object venue, object asset) except -1:
        """(venue, asset)'s slot: stable for the ledger's life (a compiled reader keeps it)."""
        return self._key_slot((venue, asset))

    cdef int reserve(self, int slot, double amount) except -1:
        """``reserved[(venue, asset)] += amount`` for the slot's key."""
        self.reserved._add(slot)
        self._reserved[slot] += amount
        return 0

    def release(self, tuple reserved):
        """``reserved[(venue, asset)] -= amount`` for each ``(venue, asset, amount)`` of
        ``reserved`` in order (a ticket's reservation ending: :meth:`Orchestrator.finish`), as
        the defaultdict face does it (a key not present comes in at 0.0), in one call."""
        cdef int slot
        cdef double amount
        for venue, asset, amount in reserved:
            slot = self._key_slot((venue, asset))
            if not self._has_reserved[slot]:
                self._reserved[slot] = 0.0
                self.reserved._add(slot)
            self._reserved[slot] -= amount

    def balances(self, venue):
        """``venue``'s free balances (asset -> amount): one view per venue, made on first ask."""
        cdef Balances view = self._venues.get(venue)
        if view is None:
            view = Balances.__new__(Balances)
            view.ledger = self
            view.venue = venue
            view._slots = {}
            view._order = []
            self._venues[venue] = view
        return view

    def available(self, venue, asset):
        """What may still be spent of ``asset`` on ``venue``: free minus reserved (what the
        compiled decision reads)."""
        return available(self, self.slot(venue, asset))

    def __repr__(self):
        balances = {venue: dict(view.items()) for venue, view in self._venues.items()}
        return f"Ledger(balances={balances!r}, reserved={dict(self.reserved.items())!r})"


cdef class _SlotView:
    """A dict face over one of the ledger's per-slot arrays: the keys present in the order they
    came in (``_order``: their slots), each read and written at its slot. A subclass says which
    array (``_values``, ``_has``), how a key finds its slot (``_slot``: made on first sight,
    ``_present``: -1 when absent) and what a slot's key is (``_key_of``)."""

    cdef double* _values(self) noexcept:
        return NULL

    cdef char* _has(self) noexcept:
        return NULL

    cdef int _slot(self, object key) except -1:
        raise NotImplementedError

    cdef int _present(self, object key) except -2:
        raise NotImplementedError

    cdef object _key_of(self, int slot):
        raise NotImplementedError

    cdef int _add(self, int slot) except -1:
        """The slot's key comes in (its value as it is)."""
        cdef char* has = self._has()
        if not has[slot]:
            has[slot] = 1
            self._order.append(slot)
        return 0

    def __setitem__(self, key, double amount):
        cdef int slot = self._slot(key)
        self._values()[slot] = amount
        self._add(slot)

    def __delitem__(self, key):
        cdef int slot = self._present(key)
        if slot < 0:
            raise KeyError(key)
        self._has()[slot] = 0
        self._values()[slot] = 0.0
        self._order.remove(slot)

    def __contains__(self, key):
        return self._present(key) >= 0

    def __len__(self):
        return len(self._order)

    def __iter__(self):
        return iter([self._key_of(slot) for slot in self._order])

    def get(self, key, default=None):
        cdef int slot = self._present(key)
        return default if slot < 0 else self._values()[slot]

    def keys(self):
        return KeysView(self)

    def values(self):
        return ValuesView(self)

    def items(self):
        return ItemsView(self)

    def pop(self, key, default=_MISSING):
        cdef int slot = self._present(key)
        if slot < 0:
            if default is _MISSING:
                raise KeyError(key)
            return default
        amount = self._values()[slot]
        del self[key]
        return amount

    def setdefault(self, key, default=None):
        cdef int slot = self._present(key)
        if slot < 0:
            self[key] = default
            return self[key]
        return self._values()[slot]

    def popitem(self):
        if not self._order:
            raise KeyError("popitem(): the view is empty")
        key = self._key_of(self._order[len(self._order) - 1])
        return key, self.pop(key)

    def clear(self):
        cdef double* values = self._values()
        cdef char* has = self._has()
        for slot in self._order:
            has[<int>slot] = 0
            values[<int>slot] = 0.0
        self._order = []

    def update(self, other=(), **more):
        for key, amount in (other.items() if hasattr(other, "items") else other):
            self[key] = amount
        for key, amount in more.items():
            self[key] = amount

    def copy(self):
        return dict(self.items())

    def __eq__(self, other):
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return repr(dict(self.items()))


cdef class Balances(_SlotView):
    """One venue's free balances, asset -> amount, as a dict (see ledger.pyi)."""

    def __init__(self):
        raise TypeError("a venue's Balances come from Ledger.balances(venue)")

    cdef double* _values(self) noexcept:
        return self.ledger._free

    cdef char* _has(self) noexcept:
        return self.ledger._has_free

    cdef int _slot(self, object asset) except -1:
        cdef object found = self._slots.get(asset)
        if found is not None:
            return found
        slot = self.ledger.slot(self.venue, asset)
        self._slots[asset] = slot
        return slot

    cdef int _present(self, object asset) except -2:
        cdef object found = self._slots.get(asset)
        if found is None or not self.ledger._has_free[<int>found]:
            return -1
        return found

    cdef object _key_of(self, int slot):
        return self.ledger._keys[slot][1]

    def __getitem__(self, asset):
        cdef int slot = self._present(asset)
        if slot < 0:
            raise KeyError(asset)
        return self.ledger._free[slot]

    def replace(self, balances):
        """Become ``balances`` (as assigning a new dict would: its assets, in its order)."""
        balances = dict(balances)  # (read before clearing: it may be this view)
        self.clear()
        self.update(balances)


cdef class Reserved(_SlotView):
    """(venue, asset) -> amount reserved, as the orchestrator's defaultdict(float) (see
    ledger.pyi)."""

    def __init__(self):
        raise TypeError("reservations come from Ledger().reserved")

    cdef double* _values(self) noexcept:
        return self.ledger._reserved

    cdef char* _has(self) noexcept:
        return self.ledger._has_reserved

    cdef int _slot(self, object key) except -1:
        return self.ledger._key_slot(key)

    cdef int _present(self, object key) except -2:
        cdef object found = self.ledger._slots.get(key)
        if found is None or not self.ledger._has_reserved[<int>found]:
            return -1
        return found

    cdef object _key_of(self, int slot):
        return self.ledger._keys[slot]

    def __getitem__(self, key):
        """A missing key is added with 0.0, as defaultdict(float) does."""
        cdef int slot = self._present(key)
        if slot < 0:
            slot = self.ledger._key_slot(key)
            self.ledger._reserved[slot] = 0.0
            self._add(slot)
        return self.ledger._reserved[slot]


MutableMapping.register(Balances)
MutableMapping.register(Reserved)
