# Byte matches the compiled frame readers share (inline: no module of their own to build).

from libc.string cimport memcmp


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
