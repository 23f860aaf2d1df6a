# C state of Kraken's tail-routed delta path (see krakenpath.pyx).
from libc.stdint cimport int64_t

from arbcore_ext.book cimport L2Book
from arbcore_ext.deltapath cimport DeltaPath, Route


cdef class TailPath(DeltaPath):
    cdef readonly int64_t arrivals
    cdef dict caches            # route -> TextCache (a form the TopCache does not take)
    cdef dict tops              # route -> TopCache (each book's top levels and their text)
    cdef list slots             # routes by a hash of their tail (find_route)
    cdef bint checksum_matches(self, L2Book book) noexcept
    cdef Route find_route(self, const char* name, Py_ssize_t length)
