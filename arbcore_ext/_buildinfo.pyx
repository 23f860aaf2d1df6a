"""Which build of the extension is loaded: release (checks off) or ARBCORE_CYTHON_DEBUG=1."""

cdef extern from *:
    """
    #ifdef ARBCORE_DEBUG
    #define ARBCORE_COMPILED_WITH_DEBUG 1
    #else
    #define ARBCORE_COMPILED_WITH_DEBUG 0
    #endif
    """
    int ARBCORE_COMPILED_WITH_DEBUG

COMPILED_WITH_DEBUG = bool(ARBCORE_COMPILED_WITH_DEBUG)
