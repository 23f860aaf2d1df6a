# The clocks the engine's compiled parts read: CLOCK_MONOTONIC and CLOCK_REALTIME in C (the same
# clock_gettime calls CPython makes), and the told clock a backtest runs on (see clocks.pyx).
from libc.stdint cimport int64_t
from posix.time cimport CLOCK_MONOTONIC, CLOCK_REALTIME, clock_gettime, timespec


cdef inline int64_t monotonic_ns() noexcept:
    """``time.perf_counter_ns()`` (CLOCK_MONOTONIC in CPython on Linux)."""
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline int64_t realtime_ns() noexcept:
    """``time.time_ns()`` (CLOCK_REALTIME)."""
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef class EventClock:
    cdef public int64_t now_ns


cdef class Seconds:
    cdef public object clock
    cdef double now(self) except? -1.0


cdef object read_clock(object clock)
