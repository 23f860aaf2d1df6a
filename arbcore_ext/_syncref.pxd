# A market's sync core held in C: resolved once through a (venue -> symbol -> BookSync) table,
# resolved again only when one of the two dicts it went through has changed.
#
# CPython 3.11's dict version (PEP 509) takes a new value, never seen before in the process, on
# every change of a dict (an entry added, replaced by another object, removed; clear): while the
# table's version and the venue dict's are the ones read at resolution, every entry read then is
# still there, so the sync found (or its absence) is what the walk would find now. A subscribe
# (a new BookSync, a new core) or an unsubscribe (``del syncs[symbol]``) changes the client's
# dict; an engine's ``syncs[venue] = ...`` changes the table. What is cached is the sync's
# ``core`` (a BookSync's is set once, in its ``__init__``, and DeltaPath.attach holds it the same
# way); its ``synced`` and ``book`` are read from the core at every use, two C field loads.
#
# Later Pythons have no such version (0 there): every read then walks the tables, as before.
# Only plain dicts (exact type) and exact SyncCore instances are cached; anything else (a
# mapping, a duck-typed sync) is walked on every read, so the answer is always the walk's.
from cpython.dict cimport PyDict_GetItemWithError
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.stdint cimport uint64_t

from arbcore_ext.deltapath cimport SyncCore

cdef extern from *:
    """
    /* CPython 3.11's dict version (PEP 509); 0 (never cached) on later versions. */
    #if PY_VERSION_HEX < 0x030C0000
    #define syncref_dict_version(d) (((PyDictObject*)(d))->ma_version_tag)
    #else
    #define syncref_dict_version(d) ((uint64_t)0)
    #endif
    """
    uint64_t dict_version "syncref_dict_version" (PyObject* d) noexcept

cdef enum:
    REF_NONE = 0    # no sync there (no venue, no symbol, or a None value): no book
    REF_CORE = 1    # the sync's core (an exact SyncCore): its synced / book, read in C
    REF_WALK = 2    # not cacheable (a mapping that is not a dict, a core that is not a
                    # SyncCore): walk the tables on every read


cdef struct SyncRef:
    uint64_t table_at   # the table's version at resolution (0: not resolved)
    PyObject* symbols   # the venue's symbol -> sync dict (borrowed: the table holds it while its
                        # version is table_at); NULL: none read
    uint64_t symbols_at # its version at resolution
    PyObject* core      # REF_CORE: the SyncCore (a reference owned by the SyncRef)
    int kind


cdef inline void syncref_init(SyncRef* ref) noexcept:
    ref.table_at = 0
    ref.symbols = NULL
    ref.symbols_at = 0
    ref.core = NULL
    ref.kind = REF_WALK


cdef inline void syncref_clear(SyncRef* ref) noexcept:
    """Forget what ``ref`` resolved (dropping its core's reference)."""
    Py_XDECREF(ref.core)
    syncref_init(ref)


cdef inline bint syncref_fresh(const SyncRef* ref, PyObject* table) noexcept:
    """What ``ref`` resolved is still what the tables give (no dict it read has changed)."""
    cdef uint64_t at = dict_version(table)
    return (at != 0 and at == ref.table_at
            and (ref.symbols == NULL or ref.symbols_at == dict_version(ref.symbols)))


cdef inline int syncref_resolve(SyncRef* ref, dict table, object venue, object symbol
                                ) except -1:
    """Resolve ``table[venue][symbol]`` into ``ref`` (the walk's lookups; the versions are read
    before them, so a change made while resolving, by a key's ``__eq__`` or a ``core``
    property, leaves ``ref`` stale and it is resolved again at the next read)."""
    cdef PyObject* found
    cdef uint64_t table_at = dict_version(<PyObject*>table)
    syncref_clear(ref)
    if table_at == 0:
        return 0
    found = PyDict_GetItemWithError(table, venue)
    if found == NULL:
        ref.kind = REF_NONE
    elif type(<object>found) is not dict:
        ref.kind = REF_WALK
    else:
        ref.symbols = found
        ref.symbols_at = dict_version(found)
        by_symbol = <object>found
        found = PyDict_GetItemWithError(by_symbol, symbol)
        if found == NULL or <object>found is None:
            ref.kind = REF_NONE
        else:
            core = (<object>found).core
            if type(core) is SyncCore:
                Py_INCREF(core)
                ref.core = <PyObject*>core
                ref.kind = REF_CORE
            else:
                ref.kind = REF_WALK
    ref.table_at = table_at
    return 0
