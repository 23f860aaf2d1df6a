# C state of Bitfinex's channel delta path (see bitfinexpath.pyx).
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t

from arbcore_ext.book cimport L2Book
from arbcore_ext.deltapath cimport DeltaPath


cdef struct Chan:
    # One channel a ChannelState knows: a book channel (in_books) or one with a last message.
    PyObject* key               # the channel id's bytes (a reference of its own)
    PyObject* route             # the book's Route (a reference of its own), NULL: none
    int64_t value               # the id's value when `matchable`
    int64_t last                # the number of the channel's last message (when has_last)
    int64_t stamp               # when has_last became true: book_last's order
    bint matchable              # the key is an id a frame can spell (canonical, <= 18 digits)
    bint in_books
    bint has_last


cdef class ChannelState:
    cdef readonly DeltaPath path
    cdef readonly dict books
    cdef readonly dict routes
    cdef public int64_t counter
    cdef bint has_last
    cdef int64_t last
    cdef Chan* chans
    cdef Py_ssize_t count           # chans in use
    cdef Py_ssize_t capacity
    cdef Py_ssize_t hit             # the last channel found by value (-1: none)
    cdef Py_ssize_t with_last       # channels whose has_last is set
    cdef int64_t stamps

    cdef Py_ssize_t find_value(self, int64_t value) noexcept
    cdef Py_ssize_t find_key(self, bytes key) noexcept
    cdef Py_ssize_t add_chan(self, bytes key) except -1
    cdef void drop_idle(self, Py_ssize_t i) noexcept
    cdef bint continues_c(self, bint has_seq, int64_t seq) noexcept
    cdef int64_t count_c(self, bint has_seq, int64_t seq, Py_ssize_t chan, bint* has_prev,
                         int64_t* prev) noexcept


cdef class ChannelPath(DeltaPath):
    cdef dict states            # connection -> ChannelState
    cdef ChannelState last_state
    cdef int64_t last_connection
    cdef dict caches            # route -> TextCache (each book's rendered levels)
    cdef bint checksum_matches(self, L2Book book) noexcept
    cdef ChannelState state_of(self, int64_t connection)
    cdef Py_ssize_t book_chan(self, int64_t connection, int64_t chan)
