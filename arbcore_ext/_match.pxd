# Byte matches the compiled frame readers share (inline: no module of their own to build).

from libc.stdint cimport uint64_t
from libc.string cimport memcmp

cdef extern from *:
    """
    #ifndef ARB_POW10_U64_DEFINED
    #define ARB_POW10_U64_DEFINED
    static CYTHON_UNUSED const uint64_t arb_pow10_u64[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};
    #endif
    """
    # 10**k for 0 <= k <= 19 (the caller checks the range); one table for the frame readers.
    const uint64_t* POW10 "arb_pow10_u64"


cdef inline Py_ssize_t expect(const char* s, Py_ssize_t i, Py_ssize_t n, const char* text,
                              Py_ssize_t k) noexcept nogil:
    """The offset after ``text`` (k bytes) when it is at i, else -1 (also for i < 0, so a
    failed step's -1 carries through a chain of them)."""
    if i < 0 or i + k > n or memcmp(s + i, text, k) != 0:
        return -1
    return i + k


cdef inline Py_ssize_t string_end(const char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """The offset after the JSON string opening at i (no escapes), or -1."""
    if i < 0 or i >= n or s[i] != 34:                 # '"'
        return -1
    i += 1
    while i < n and s[i] != 34:
        if s[i] == 92:                                # '\\'
            return -1
        i += 1
    return i + 1 if i < n else -1
