# The clocks the engine's compiled parts read without a Python call: the told clock of a
# backtest (EventClock), the two standard clocks (time.perf_counter_ns, time.time_ns) read with
# clock_gettime, and risk's clock in seconds (Seconds). A clock of any other kind is called.
# cython: language_level=3
from cpython.object cimport PyTypeObject, Py_TYPE, ternaryfunc

import time

cdef object _PERF_COUNTER_NS = time.perf_counter_ns
cdef object _TIME_NS = time.time_ns


cdef class EventClock:
    """A clock that is told the time (``now_ns``, ns) and answers it when called: the
    backtest's virtual clock builds on it, so the compiled callbacks read it in C (a subclass
    that overrides ``__call__`` is called)."""

    def __init__(self, int64_t now_ns=0):
        self.now_ns = now_ns

    def __call__(self):
        return self.now_ns


cdef ternaryfunc _EVENT_CALL = (<PyTypeObject*>EventClock).tp_call


cdef object read_clock(object clock):
    """``clock()``; an EventClock and the two standard clocks in C (``time.perf_counter_ns``
    is CLOCK_MONOTONIC and ``time.time_ns`` CLOCK_REALTIME in CPython on Linux)."""
    if Py_TYPE(clock).tp_call == _EVENT_CALL:
        return (<EventClock>clock).now_ns
    if clock is _PERF_COUNTER_NS:
        return monotonic_ns()
    if clock is _TIME_NS:
        return realtime_ns()
    return clock()


cdef class Seconds:
    """``clock() / 1e9``: a clock in ns read as seconds, in C (risk's clock: a Python lambda
    over the engine's clock was a frame on every check). ``clock`` is settable: the engine sets
    it whenever its own clock changes."""

    def __init__(self, clock not None):
        self.clock = clock

    def __call__(self):
        return self.now()

    cdef double now(self) except? -1.0:
        return <double>read_clock(self.clock) / 1e9
