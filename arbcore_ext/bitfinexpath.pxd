# C state of Bitfinex's channel delta path (see bitfinexpath.pyx).
from libc.stdint cimport int64_t

from arbcore_ext.book cimport L2Book
from arbcore_ext.deltapath cimport DeltaPath


cdef class ChannelState:
    cdef readonly DeltaPath path
    cdef readonly dict books
    cdef readonly dict book_last
    cdef readonly dict routes
    cdef public int64_t counter
    cdef bint has_last
    cdef int64_t last

    cdef bint continues_c(self, bint has_seq, int64_t seq)
    cdef int64_t count_c(self, bint has_seq, int64_t seq, bytes chan, bint* has_prev,
                         int64_t* prev) except? -1


cdef class ChannelPath(DeltaPath):
    cdef readonly dict connections
    cdef dict caches            # route -> TextCache (each book's rendered levels)
    cdef bint checksum_matches(self, L2Book book) noexcept
