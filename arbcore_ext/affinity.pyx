"""Pin the process or one thread to CPUs (Linux), so the feed thread and the strategy keep their
cores: no migrations, warm caches, and no neighbour noise when those cores are isolated.

Linux affinity is per thread. ``sched_setaffinity(0)`` changes the calling thread only and threads
created later inherit their creator's mask, so ``pin_process`` walks ``/proc/self/task`` and pins
every thread id it finds (listing again until no new thread turns up). ``pin_thread`` pins only the
calling thread through ``pthread_setaffinity_np(pthread_self())``.

Each entry checks its arguments once in Python, then builds a ``cpu_set_t`` from a C array and
makes the system calls with the GIL released. Bad arguments raise ``TypeError`` (not CPU
numbers) or ``AffinityError`` (empty, out of range, not available to this process); a refusal by
the kernel raises ``AffinityError`` carrying its ``errno``. On a platform other than Linux every
call raises ``AffinityError``.
"""

from libc.errno cimport errno, EINVAL, ESRCH
from libc.stdlib cimport malloc, realloc, free
from posix.types cimport pid_t

import errno as _errno_names
import operator
import os
import sys

from arbcore_ext.errors import AffinityError

# The platform guard comes first so that, off Linux, the names below resolve to stubs that
# report ENOSYS (the Python entries raise before calling them).
cdef extern from *:
    """
    #if defined(__linux__)
    #  include <sched.h>
    #  include <pthread.h>
    #  define ARBCORE_AFFINITY_SUPPORTED 1
    #  if CPU_SETSIZE != 1024
    #    error "arbcore_ext.affinity expects CPU_SETSIZE == 1024"
    #  endif
    #else
    #  include <errno.h>
    #  include <string.h>
    #  include <sched.h>
    #  include <pthread.h>
    #  define ARBCORE_AFFINITY_SUPPORTED 0
    #  undef CPU_SETSIZE
    #  undef CPU_ZERO
    #  undef CPU_SET
    #  undef CPU_ISSET
    #  define CPU_SETSIZE 1024
    typedef struct { unsigned char bits[CPU_SETSIZE / 8]; } arbcore_cpu_set_t;
    #  define cpu_set_t arbcore_cpu_set_t
    #  define CPU_ZERO(s) memset((s), 0, sizeof(arbcore_cpu_set_t))
    #  define CPU_SET(c, s) ((s)->bits[(c) / 8] |= (unsigned char)(1u << ((c) % 8)))
    #  define CPU_ISSET(c, s) (((s)->bits[(c) / 8] >> ((c) % 8)) & 1)
    #  define sched_setaffinity(p, n, s) ((void)(p), (void)(n), (void)(s), errno = ENOSYS, -1)
    #  define sched_getaffinity(p, n, s) ((void)(p), (void)(n), (void)(s), errno = ENOSYS, -1)
    #  define pthread_setaffinity_np(t, n, s) ((void)(t), (void)(n), (void)(s), ENOSYS)
    #  define pthread_getaffinity_np(t, n, s) ((void)(t), (void)(n), (void)(s), ENOSYS)
    #endif
    """
    int ARBCORE_AFFINITY_SUPPORTED

cdef extern from "sched.h" nogil:
    enum: C_CPU_SETSIZE "CPU_SETSIZE"
    ctypedef struct cpu_set_t:
        pass
    # Macros in C, declared as functions.
    void CPU_ZERO(cpu_set_t* s)
    void CPU_SET(int cpu, cpu_set_t* s)
    int CPU_ISSET(int cpu, cpu_set_t* s)
    int sched_setaffinity(pid_t pid, size_t cpusetsize, const cpu_set_t* mask)
    int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t* mask)

cdef extern from "pthread.h" nogil:
    ctypedef unsigned long pthread_t
    ctypedef struct pthread_attr_t:
        pass
    pthread_t pthread_self()
    int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                       void* (*start)(void*) noexcept nogil, void* arg)
    int pthread_join(pthread_t thread, void** retval)
    # Both return an error number instead of setting errno.
    int pthread_setaffinity_np(pthread_t thread, size_t cpusetsize, const cpu_set_t* mask)
    int pthread_getaffinity_np(pthread_t thread, size_t cpusetsize, cpu_set_t* mask)

cdef extern from "unistd.h" nogil:
    pid_t getpid()

CPU_SETSIZE = AFFINITY_CPU_SETSIZE
"""CPU numbers run from 0 to CPU_SETSIZE - 1 (glibc's fixed cpu_set_t)."""

cdef int _MAX_PASSES = 64
_TASK_DIR = "/proc/self/task"
_ONLINE_FILE = "/sys/devices/system/cpu/online"


# ---------------------------------------------------------------------------------------------
# nogil helpers: C arrays in, status out


cdef int _fill_set(const int* cpus, int n, cpu_set_t* out) noexcept nogil:
    cdef int i
    if n <= 0:
        return EINVAL
    CPU_ZERO(out)
    for i in range(n):
        if cpus[i] < 0 or cpus[i] >= C_CPU_SETSIZE:
            return EINVAL
        CPU_SET(cpus[i], out)
    return 0


cdef int _read_set(cpu_set_t* s, int* out, int* n_out) noexcept nogil:
    cdef int cpu, n = 0
    for cpu in range(C_CPU_SETSIZE):
        if CPU_ISSET(cpu, s):
            out[n] = cpu
            n += 1
    n_out[0] = n
    return 0


cdef int pin_current_thread_c(const int* cpus, int n) noexcept nogil:
    cdef cpu_set_t s
    cdef int status = _fill_set(cpus, n, &s)
    if status != 0:
        return status
    return pthread_setaffinity_np(pthread_self(), sizeof(cpu_set_t), &s)


cdef int pin_tid_c(int tid, const int* cpus, int n) noexcept nogil:
    cdef cpu_set_t s
    cdef int status = _fill_set(cpus, n, &s)
    if status != 0:
        return status
    if sched_setaffinity(<pid_t>tid, sizeof(cpu_set_t), &s) != 0:
        return errno
    return 0


cdef int current_thread_cpus_c(int* out, int* n_out) noexcept nogil:
    cdef cpu_set_t s
    cdef int status = pthread_getaffinity_np(pthread_self(), sizeof(cpu_set_t), &s)
    if status != 0:
        return status
    return _read_set(&s, out, n_out)


cdef int tid_cpus_c(int tid, int* out, int* n_out) noexcept nogil:
    cdef cpu_set_t s
    if sched_getaffinity(<pid_t>tid, sizeof(cpu_set_t), &s) != 0:
        return errno
    return _read_set(&s, out, n_out)


cdef int _pin_tids(int* tids, int n_tids, const cpu_set_t* new_set, cpu_set_t* saved,
                   int* failed_at) noexcept nogil:
    """Save each thread's mask, then pin it. A thread that exited meanwhile (ESRCH) is skipped
    and its tid zeroed so a rollback passes it by. On failure failed_at is the thread's index."""
    cdef int i, err
    for i in range(n_tids):
        if sched_getaffinity(<pid_t>tids[i], sizeof(cpu_set_t), &saved[i]) != 0:
            err = errno
            if err == ESRCH:
                tids[i] = 0
                continue
            failed_at[0] = i
            return err
        if sched_setaffinity(<pid_t>tids[i], sizeof(cpu_set_t), new_set) != 0:
            err = errno
            if err == ESRCH:
                tids[i] = 0
                continue
            failed_at[0] = i
            return err
    return 0


cdef void _restore_tids(const int* tids, int n_tids, const cpu_set_t* saved) noexcept nogil:
    cdef int i
    for i in range(n_tids):
        if tids[i] > 0:
            sched_setaffinity(<pid_t>tids[i], sizeof(cpu_set_t), &saved[i])


ctypedef struct _Probe:
    int status
    cpu_set_t result


cdef void* _probe_main(void* arg) noexcept nogil:
    # A scratch thread asks the kernel for every CPU; what it keeps is what the kernel (cgroup
    # cpuset included) lets this process use. Only this short-lived thread's mask changes.
    cdef _Probe* probe = <_Probe*>arg
    cdef cpu_set_t full
    cdef int cpu
    CPU_ZERO(&full)
    for cpu in range(C_CPU_SETSIZE):
        CPU_SET(cpu, &full)
    if sched_setaffinity(0, sizeof(cpu_set_t), &full) != 0:
        probe.status = errno
        return NULL
    if sched_getaffinity(0, sizeof(cpu_set_t), &probe.result) != 0:
        probe.status = errno
        return NULL
    probe.status = 0
    return NULL


cdef int _probe_allowed(int* out, int* n_out) noexcept nogil:
    cdef _Probe probe
    cdef pthread_t thread
    cdef int status
    probe.status = EINVAL
    status = pthread_create(&thread, NULL, _probe_main, &probe)
    if status != 0:
        return status
    status = pthread_join(thread, NULL)
    if status != 0:
        return status
    if probe.status != 0:
        return probe.status
    return _read_set(&probe.result, out, n_out)


# ---------------------------------------------------------------------------------------------
# Python side: argument checks, messages


def _format_cpus(cpus):
    """Render CPU numbers in the kernel's cpulist form: ``0-3,8,10-11``."""
    ordered = sorted(cpus)
    if not ordered:
        return "none"
    parts = []
    start = prev = ordered[0]
    for cpu in ordered[1:]:
        if cpu == prev + 1:
            prev = cpu
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = cpu
    parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(parts)


def _parse_cpulist(text):
    cpus = set()
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def _kernel_error(int err, str call, cpus):
    """The AffinityError for a refusal by the kernel: errno, the call, the CPUs, what to do."""
    name = _errno_names.errorcode.get(err, str(err))
    hint = ""
    if err == _errno_names.EINVAL:
        hint = (
            "; none of these CPUs is online and allowed by the process's cgroup cpuset "
            "(see available_cpus())"
        )
    elif err == _errno_names.EPERM:
        hint = "; the caller lacks the permission (another user's thread needs CAP_SYS_NICE)"
    return AffinityError(
        err, f"{call} for CPUs {_format_cpus(cpus)} was refused: {name} ({os.strerror(err)}){hint}"
    )


cdef _raise_unsupported():
    raise AffinityError(
        "CPU pinning needs Linux (sched_setaffinity, pthread_setaffinity_np); "
        f"this platform is {sys.platform!r}. Run unpinned or pin with the OS's own tools."
    )


cdef frozenset _cpus_from(const int* out, int n):
    cdef int i
    cdef list cpus = []
    for i in range(n):
        cpus.append(out[i])
    return frozenset(cpus)


cdef frozenset _available():
    cdef int out[AFFINITY_CPU_SETSIZE]
    cdef int n = 0
    cdef int status
    with nogil:
        status = _probe_allowed(out, &n)
    if status != 0:
        # Cannot start a scratch thread: fall back to the calling thread's own mask.
        with nogil:
            status = tid_cpus_c(0, out, &n)
        if status != 0:
            raise _kernel_error(status, "sched_getaffinity(calling thread)", ())
    allowed = _cpus_from(out, n)
    try:
        with open(_ONLINE_FILE, encoding="ascii") as handle:
            online = _parse_cpulist(handle.read())
    except (OSError, ValueError):
        return allowed
    return (allowed & online) or allowed


def _checked_cpus(cpus):
    """Check the argument once: an iterable of ints, non-empty, in range, available."""
    if isinstance(cpus, (str, bytes)) or not hasattr(cpus, "__iter__"):
        raise TypeError(
            "cpus must be an iterable of CPU numbers such as {0} or range(2, 4); "
            f"{cpus!r} ({type(cpus).__name__}) was given"
        )
    wanted = set()
    for cpu in cpus:
        if isinstance(cpu, bool) or not hasattr(type(cpu), "__index__"):
            raise TypeError(
                f"CPU numbers must be ints; {cpu!r} ({type(cpu).__name__}) was given"
            )
        wanted.add(operator.index(cpu))
    allowed = _available()
    if not wanted:
        raise AffinityError(
            f"no CPUs were given; pass at least one CPU (allowed: {_format_cpus(allowed)})"
        )
    out_of_range = sorted(c for c in wanted if c < 0 or c >= AFFINITY_CPU_SETSIZE)
    if out_of_range:
        if len(out_of_range) == 1:
            what = f"CPU {out_of_range[0]} is"
        else:
            what = f"CPUs {', '.join(map(str, out_of_range))} are"
        raise AffinityError(
            f"{what} out of range: CPU numbers run from 0 to {AFFINITY_CPU_SETSIZE - 1} "
            f"(allowed: {_format_cpus(allowed)})"
        )
    missing = sorted(wanted - allowed)
    if missing:
        if len(missing) == 1:
            what = f"CPU {missing[0]} is"
        else:
            what = f"CPUs {', '.join(map(str, missing))} are"
        raise AffinityError(
            f"{what} not available to this process (allowed: {_format_cpus(allowed)})"
        )
    return sorted(wanted)


cdef int _to_c_array(list cpus, int* out) except -1:
    cdef int i = 0
    for cpu in cpus:
        out[i] = cpu
        i += 1
    return i


def _list_tids():
    try:
        return [int(name) for name in os.listdir(_TASK_DIR)]
    except (OSError, ValueError) as exc:
        raise AffinityError(
            f"cannot list this process's threads in {_TASK_DIR} ({exc}); pin_process needs "
            "/proc mounted (pin_thread in each thread works without it)"
        ) from exc


# ---------------------------------------------------------------------------------------------
# Public API


def available_cpus():
    """The CPUs this process may be pinned to: online and allowed by its cgroup cpuset.

    Not the current mask: isolated cores (``isolcpus=``) are outside every default mask yet can
    be pinned to, and pinning never shrinks this set.
    """
    if not ARBCORE_AFFINITY_SUPPORTED:
        _raise_unsupported()
    return _available()


def current_affinity():
    """The CPUs the calling thread may run on (``pthread_getaffinity_np(pthread_self())``)."""
    cdef int out[AFFINITY_CPU_SETSIZE]
    cdef int n = 0
    cdef int status
    if not ARBCORE_AFFINITY_SUPPORTED:
        _raise_unsupported()
    with nogil:
        status = current_thread_cpus_c(out, &n)
    if status != 0:
        raise _kernel_error(status, "pthread_getaffinity_np(calling thread)", ())
    return _cpus_from(out, n)


def process_affinity():
    """The CPUs the process's main thread may run on (``sched_getaffinity(getpid())``).

    Linux keeps a mask per thread and ``sched_getaffinity(0)`` reads the calling thread's; the
    main thread's mask (thread id = pid) is what ``taskset -p`` reports for the process. After
    ``pin_process`` every thread has the same mask.
    """
    cdef int out[AFFINITY_CPU_SETSIZE]
    cdef int n = 0
    cdef int status
    cdef int pid
    if not ARBCORE_AFFINITY_SUPPORTED:
        _raise_unsupported()
    with nogil:
        pid = getpid()
        status = tid_cpus_c(pid, out, &n)
    if status != 0:
        raise _kernel_error(status, "sched_getaffinity(main thread)", ())
    return _cpus_from(out, n)


def pin_thread(cpus):
    """Pin the calling thread only to ``cpus``; return the calling thread's mask afterwards.

    Threads it starts later inherit the mask; other threads are untouched.
    """
    cdef int arr[AFFINITY_CPU_SETSIZE]
    cdef int n
    cdef int status
    if not ARBCORE_AFFINITY_SUPPORTED:
        _raise_unsupported()
    wanted = _checked_cpus(cpus)
    n = _to_c_array(wanted, arr)
    with nogil:
        status = pin_current_thread_c(arr, n)
    if status != 0:
        raise _kernel_error(status, "pthread_setaffinity_np(calling thread)", wanted)
    return current_affinity()


def pin_process(cpus):
    """Pin every thread of the process to ``cpus``; return the mask now in effect.

    Walks ``/proc/self/task`` and calls ``sched_setaffinity(tid)`` for each thread, listing again
    until no new thread appears; threads started later inherit the mask. If the kernel refuses
    one thread, the threads already pinned get their previous masks back before the error.
    """
    cdef int arr[AFFINITY_CPU_SETSIZE]
    cdef int n
    cdef int status = 0
    cdef int failed_at = 0
    cdef int done = 0
    cdef int capacity = 0
    cdef int count, i
    cdef int* tids = NULL
    cdef int* grown_tids
    cdef cpu_set_t* saved = NULL
    cdef cpu_set_t* grown_saved
    cdef cpu_set_t new_set
    if not ARBCORE_AFFINITY_SUPPORTED:
        _raise_unsupported()
    wanted = _checked_cpus(cpus)
    n = _to_c_array(wanted, arr)
    with nogil:
        status = _fill_set(arr, n, &new_set)
    if status != 0:
        raise _kernel_error(status, "sched_setaffinity", wanted)
    seen = set()
    try:
        for _ in range(_MAX_PASSES):
            new = [tid for tid in _list_tids() if tid not in seen]
            if not new:
                break
            count = len(new)
            if done + count > capacity:
                capacity = 2 * (done + count)
                grown_tids = <int*>realloc(tids, capacity * sizeof(int))
                if grown_tids == NULL:
                    raise MemoryError()
                tids = grown_tids
                grown_saved = <cpu_set_t*>realloc(saved, capacity * sizeof(cpu_set_t))
                if grown_saved == NULL:
                    raise MemoryError()
                saved = grown_saved
            for i in range(count):
                tids[done + i] = new[i]
            with nogil:
                status = _pin_tids(tids + done, count, &new_set, saved + done, &failed_at)
            if status != 0:
                failed_tid = new[failed_at]
                with nogil:
                    _restore_tids(tids, done + failed_at, saved)
                raise _kernel_error(status, f"sched_setaffinity(thread {failed_tid})", wanted)
            done += count
            seen.update(new)
        else:
            with nogil:
                _restore_tids(tids, done, saved)
            raise AffinityError(
                f"threads kept appearing while pinning after {_MAX_PASSES} passes over "
                f"{_TASK_DIR}; the previous masks were restored. Pin before starting worker "
                "threads, or pin each thread with pin_thread."
            )
    finally:
        free(tids)
        free(saved)
    return current_affinity()
