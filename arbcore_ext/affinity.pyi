"""Pin the process or one thread to CPUs (Linux only; elsewhere every call raises AffinityError)."""

from collections.abc import Iterable

CPU_SETSIZE: int
"""CPU numbers run from 0 to CPU_SETSIZE - 1 (1024, glibc's fixed cpu_set_t)."""

def available_cpus() -> frozenset[int]:
    """The CPUs this process may be pinned to: online and allowed by its cgroup cpuset."""

def current_affinity() -> frozenset[int]:
    """The CPUs the calling thread may run on (pthread_getaffinity_np)."""

def process_affinity() -> frozenset[int]:
    """The CPUs the process's main thread may run on (sched_getaffinity(getpid()))."""

def pin_thread(cpus: Iterable[int]) -> frozenset[int]:
    """Pin the calling thread only; return its mask afterwards."""

def pin_process(cpus: Iterable[int]) -> frozenset[int]:
    """Pin every thread in /proc/self/task; return the mask now in effect."""
