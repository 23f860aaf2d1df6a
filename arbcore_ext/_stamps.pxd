# A market's last update time (ns) as the engine's book callback stamps it, and a book's age
# read from it: risk's freshness rule as BookAges reads the engine's table, for the compiled
# decisions (CrossBook's and CycleEngine's stamps).
from libc.stdint cimport INT64_MIN, int64_t

cdef inline double stamp_age_ms(int64_t at, int64_t now) noexcept:
    """The age (ms) at ``now`` of an update stamped ``at``; 0 when never stamped (``at`` is
    INT64_MIN: BookAges' rule for a book never updated)."""
    return <double>(now - (now if at == INT64_MIN else at)) / 1e6
