"""Plain-Python twin of ``arbcore_ext.affinity``, on ``os.sched_setaffinity`` and friends.

The oracle the compiled module is tested against: same API, same checks, same messages. On Linux
``os.sched_setaffinity(0, ...)`` changes the calling thread only, so ``pin_thread`` passes 0 and
``pin_process`` passes every thread id in ``/proc/self/task``. Self-contained on purpose (it is
merged into ``arbcore_ext/reference.py`` later).
"""

from __future__ import annotations

import contextlib
import errno
import operator
import os
import sys
import threading
from collections.abc import Iterable

from arbcore_ext.errors import AffinityError

__all__ = [
    "CPU_SETSIZE",
    "available_cpus",
    "current_affinity",
    "pin_process",
    "pin_thread",
    "process_affinity",
]

CPU_SETSIZE = 1024
_MAX_PASSES = 64
_TASK_DIR = "/proc/self/task"
_ONLINE_FILE = "/sys/devices/system/cpu/online"


def _supported() -> None:
    if not sys.platform.startswith("linux") or not hasattr(os, "sched_setaffinity"):
        raise AffinityError(
            "CPU pinning needs Linux (sched_setaffinity, pthread_setaffinity_np); "
            f"this platform is {sys.platform!r}. Run unpinned or pin with the OS's own tools."
        )


def _format_cpus(cpus: Iterable[int]) -> str:
    """Render CPU numbers in the kernel's cpulist form: ``0-3,8,10-11``."""
    ordered = sorted(cpus)
    if not ordered:
        return "none"
    parts: list[str] = []
    start = prev = ordered[0]
    for cpu in ordered[1:]:
        if cpu == prev + 1:
            prev = cpu
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = cpu
    parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(parts)


def _parse_cpulist(text: str) -> set[int]:
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def _kernel_error(err: int, call: str, cpus: Iterable[int]) -> AffinityError:
    name = errno.errorcode.get(err, str(err))
    hint = ""
    if err == errno.EINVAL:
        hint = (
            "; none of these CPUs is online and allowed by the process's cgroup cpuset "
            "(see available_cpus())"
        )
    elif err == errno.EPERM:
        hint = "; the caller lacks the permission (another user's thread needs CAP_SYS_NICE)"
    return AffinityError(
        err, f"{call} for CPUs {_format_cpus(cpus)} was refused: {name} ({os.strerror(err)}){hint}"
    )


def _probe_allowed() -> frozenset[int]:
    """Ask the kernel from a scratch thread: request every CPU, keep what it grants."""
    result: list[frozenset[int]] = []

    def probe() -> None:
        try:
            os.sched_setaffinity(0, range(CPU_SETSIZE))
            result.append(frozenset(os.sched_getaffinity(0)))
        except OSError:
            return

    thread = threading.Thread(target=probe, name="arbcore-affinity-probe")
    thread.start()
    thread.join()
    return result[0] if result else frozenset(os.sched_getaffinity(0))


def available_cpus() -> frozenset[int]:
    """The CPUs this process may be pinned to: online and allowed by its cgroup cpuset."""
    _supported()
    allowed = _probe_allowed()
    try:
        with open(_ONLINE_FILE, encoding="ascii") as handle:
            online = _parse_cpulist(handle.read())
    except (OSError, ValueError):
        return allowed
    return (allowed & online) or allowed


def _checked_cpus(cpus: Iterable[int]) -> list[int]:
    if isinstance(cpus, str | bytes) or not hasattr(cpus, "__iter__"):
        raise TypeError(
            "cpus must be an iterable of CPU numbers such as {0} or range(2, 4); "
            f"{cpus!r} ({type(cpus).__name__}) was given"
        )
    wanted: set[int] = set()
    for cpu in cpus:
        if isinstance(cpu, bool) or not hasattr(type(cpu), "__index__"):
            raise TypeError(f"CPU numbers must be ints; {cpu!r} ({type(cpu).__name__}) was given")
        wanted.add(operator.index(cpu))
    allowed = available_cpus()
    if not wanted:
        raise AffinityError(
            f"no CPUs were given; pass at least one CPU (allowed: {_format_cpus(allowed)})"
        )
    out_of_range = sorted(c for c in wanted if c < 0 or c >= CPU_SETSIZE)
    if out_of_range:
        if len(out_of_range) == 1:
            what = f"CPU {out_of_range[0]} is"
        else:
            what = f"CPUs {', '.join(map(str, out_of_range))} are"
        raise AffinityError(
            f"{what} out of range: CPU numbers run from 0 to {CPU_SETSIZE - 1} "
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


def current_affinity() -> frozenset[int]:
    """The CPUs the calling thread may run on (``os.sched_getaffinity(0)``)."""
    _supported()
    return frozenset(os.sched_getaffinity(0))


def process_affinity() -> frozenset[int]:
    """The CPUs the process's main thread may run on (``os.sched_getaffinity(os.getpid())``)."""
    _supported()
    return frozenset(os.sched_getaffinity(os.getpid()))


def pin_thread(cpus: Iterable[int]) -> frozenset[int]:
    """Pin the calling thread only (``os.sched_setaffinity(0)``); return its mask afterwards."""
    _supported()
    wanted = _checked_cpus(cpus)
    try:
        os.sched_setaffinity(0, wanted)
    except OSError as exc:
        raise _kernel_error(exc.errno or 0, "sched_setaffinity(calling thread)", wanted) from exc
    return current_affinity()


def _list_tids() -> list[int]:
    try:
        return [int(name) for name in os.listdir(_TASK_DIR)]
    except (OSError, ValueError) as exc:
        raise AffinityError(
            f"cannot list this process's threads in {_TASK_DIR} ({exc}); pin_process needs "
            "/proc mounted (pin_thread in each thread works without it)"
        ) from exc


def _restore(saved: dict[int, set[int]]) -> None:
    for tid, mask in saved.items():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, mask)


def pin_process(cpus: Iterable[int]) -> frozenset[int]:
    """Pin every thread in ``/proc/self/task``; return the mask now in effect."""
    _supported()
    wanted = _checked_cpus(cpus)
    saved: dict[int, set[int]] = {}
    seen: set[int] = set()
    for _ in range(_MAX_PASSES):
        new = [tid for tid in _list_tids() if tid not in seen]
        if not new:
            break
        for tid in new:
            try:
                before = os.sched_getaffinity(tid)
                os.sched_setaffinity(tid, wanted)
            except ProcessLookupError:
                continue  # the thread exited meanwhile
            except OSError as exc:
                _restore(saved)
                raise _kernel_error(
                    exc.errno or 0, f"sched_setaffinity(thread {tid})", wanted
                ) from exc
            saved[tid] = before
        seen.update(new)
    else:
        _restore(saved)
        raise AffinityError(
            f"threads kept appearing while pinning after {_MAX_PASSES} passes over "
            f"{_TASK_DIR}; the previous masks were restored. Pin before starting worker "
            "threads, or pin each thread with pin_thread."
        )
    return current_affinity()
