"""arbcore_ext.affinity: pin threads and the process, read masks back, reject bad CPU sets.

Every behaviour test runs against the compiled module and its plain-Python twin
(arbcore_ext.reference.affinity). Thread pinning happens in a worker thread so the main thread
is untouched; process pinning is undone by the ``restore_affinity`` fixture.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import pytest

from arbcore_ext import affinity
from arbcore_ext.errors import AffinityError, ArbcoreError
from arbcore_ext.reference import affinity as reference_affinity

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="CPU affinity is Linux-only"
)

T = TypeVar("T")

ALLOWED = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()
IMPLS = [affinity, reference_affinity]
IMPL_IDS = ["compiled", "reference"]


def all_thread_masks() -> dict[int, frozenset[int]]:
    masks = {}
    for name in os.listdir("/proc/self/task"):
        try:
            masks[int(name)] = frozenset(os.sched_getaffinity(int(name)))
        except ProcessLookupError:
            continue
    return masks


def assert_masks_unchanged(before: dict[int, frozenset[int]]) -> None:
    """Threads that still exist kept their masks (a joined thread may linger briefly in /proc)."""
    after = all_thread_masks()
    assert threading.get_native_id() in after
    assert {tid: mask for tid, mask in before.items() if tid in after} == {
        tid: mask for tid, mask in after.items() if tid in before
    }


def run_in_thread(fn: Callable[[], T]) -> T:
    """Run fn in a fresh thread; return its result or re-raise its exception here."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.fixture(params=IMPLS, ids=IMPL_IDS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return request.param


@pytest.fixture
def restore_affinity() -> Iterator[None]:
    """Give every thread its mask back after a test that pins the whole process."""
    before = all_thread_masks()
    try:
        yield
    finally:
        # (a thread may end between the listing and the call: another test's, or the
        # interpreter's; nothing to give back to it then)
        after = set(all_thread_masks()) - set(before)
        masks = {**before, **dict.fromkeys(after, before[threading.get_native_id()])}
        for tid, mask in masks.items():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(tid, mask)


@pytest.fixture
def parked_thread() -> Iterator[int]:
    """A thread that exists while the test runs; yields its kernel thread id."""
    started = threading.Event()
    release = threading.Event()
    box: dict[str, int] = {}

    def park() -> None:
        box["tid"] = threading.get_native_id()
        started.set()
        release.wait(30)

    thread = threading.Thread(target=park, name="parked")
    thread.start()
    started.wait(30)
    try:
        yield box["tid"]
    finally:
        release.set()
        thread.join()


# --- reading masks -----------------------------------------------------------------------------


def test_available_cpus_linux_contains_current_mask(impl: ModuleType) -> None:
    available = impl.available_cpus()
    assert isinstance(available, frozenset)
    assert available >= ALLOWED
    assert all(isinstance(cpu, int) and 0 <= cpu < impl.CPU_SETSIZE for cpu in available)


def test_available_cpus_compiled_equals_reference() -> None:
    assert affinity.available_cpus() == reference_affinity.available_cpus()


def test_available_cpus_after_pinning_thread_unchanged(impl: ModuleType) -> None:
    before = impl.available_cpus()
    cpu = min(ALLOWED)
    inside = run_in_thread(lambda: (impl.pin_thread({cpu}), impl.available_cpus()))
    assert inside == (frozenset({cpu}), before)


def test_current_affinity_main_thread_equals_os_mask(impl: ModuleType) -> None:
    assert impl.current_affinity() == frozenset(os.sched_getaffinity(0))


def test_process_affinity_main_thread_equals_os_mask_of_pid(impl: ModuleType) -> None:
    assert impl.process_affinity() == frozenset(os.sched_getaffinity(os.getpid()))


def test_cpu_setsize_constant_is_1024() -> None:
    assert affinity.CPU_SETSIZE == reference_affinity.CPU_SETSIZE == 1024


# --- pin_thread --------------------------------------------------------------------------------


@pytest.mark.parametrize("cpu", sorted(ALLOWED))
def test_pin_thread_one_allowed_cpu_only_that_thread_pinned(impl: ModuleType, cpu: int) -> None:
    main_before = frozenset(os.sched_getaffinity(0))

    def pin() -> tuple[frozenset[int], frozenset[int], frozenset[int], frozenset[int]]:
        applied = impl.pin_thread([cpu])
        native = frozenset(os.sched_getaffinity(threading.get_native_id()))
        return applied, impl.current_affinity(), native, impl.process_affinity()

    applied, current, native, process = run_in_thread(pin)
    assert applied == current == native == frozenset({cpu})
    assert process == main_before  # the main thread's mask, not the pinned thread's
    assert frozenset(os.sched_getaffinity(0)) == main_before


@pytest.mark.parametrize("pinner", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("reader", IMPLS, ids=IMPL_IDS)
def test_pin_thread_read_back_by_other_impl_same_set(
    pinner: ModuleType, reader: ModuleType
) -> None:
    cpu = max(ALLOWED)
    assert run_in_thread(lambda: (pinner.pin_thread({cpu}), reader.current_affinity())) == (
        frozenset({cpu}),
        frozenset({cpu}),
    )


def test_pin_thread_new_thread_inherits_mask(impl: ModuleType) -> None:
    cpu = min(ALLOWED)

    def pin_then_spawn() -> frozenset[int]:
        impl.pin_thread({cpu})
        return run_in_thread(lambda: frozenset(os.sched_getaffinity(0)))

    assert run_in_thread(pin_then_spawn) == frozenset({cpu})


def test_pin_thread_whole_allowed_set_returns_it(impl: ModuleType) -> None:
    def narrow_then_widen() -> frozenset[int]:
        impl.pin_thread({min(ALLOWED)})
        return impl.pin_thread(iter(sorted(ALLOWED)))

    assert run_in_thread(narrow_then_widen) == ALLOWED


def test_pin_thread_numpy_integer_accepted(impl: ModuleType) -> None:
    cpu = min(ALLOWED)
    assert run_in_thread(lambda: impl.pin_thread([np.int64(cpu)])) == frozenset({cpu})


# --- pin_process -------------------------------------------------------------------------------


@pytest.mark.usefixtures("restore_affinity")
def test_pin_process_one_cpu_every_thread_pinned(impl: ModuleType, parked_thread: int) -> None:
    cpu = max(ALLOWED)
    applied = impl.pin_process({cpu})
    masks = all_thread_masks()
    assert applied == frozenset({cpu})
    assert parked_thread in masks
    assert masks[threading.get_native_id()] == frozenset({cpu})
    assert set(masks.values()) == {frozenset({cpu})}
    assert impl.process_affinity() == impl.current_affinity() == frozenset({cpu})


@pytest.mark.usefixtures("restore_affinity")
def test_pin_process_then_new_thread_inherits_mask(impl: ModuleType) -> None:
    cpu = min(ALLOWED)
    impl.pin_process([cpu])
    assert run_in_thread(lambda: frozenset(os.sched_getaffinity(0))) == frozenset({cpu})


@pytest.mark.usefixtures("restore_affinity")
def test_pin_process_narrow_then_original_set_restored(impl: ModuleType) -> None:
    impl.pin_process({min(ALLOWED)})
    assert impl.pin_process(ALLOWED) == ALLOWED
    assert set(all_thread_masks().values()) == {ALLOWED}


@pytest.mark.usefixtures("restore_affinity")
def test_pin_process_compiled_and_reference_same_outcome(parked_thread: int) -> None:
    cpu = max(ALLOWED)
    compiled = (affinity.pin_process({cpu}), all_thread_masks())
    reference_affinity.pin_process(ALLOWED)
    reference = (reference_affinity.pin_process({cpu}), all_thread_masks())
    assert compiled == reference
    assert compiled[1][parked_thread] == frozenset({cpu})


# --- rejected arguments ------------------------------------------------------------------------


def pinners(impl: ModuleType) -> list[Callable[[Any], frozenset[int]]]:
    return [impl.pin_thread, impl.pin_process]


@pytest.mark.parametrize("function", ["pin_thread", "pin_process"])
def test_pin_empty_set_affinity_error_naming_allowed(impl: ModuleType, function: str) -> None:
    before = all_thread_masks()
    with pytest.raises(AffinityError, match=r"no CPUs were given.*\(allowed: ") as info:
        getattr(impl, function)(set())
    assert info.value.errno is None
    assert_masks_unchanged(before)


@pytest.mark.parametrize("function", ["pin_thread", "pin_process"])
@pytest.mark.parametrize("cpu", [-1, 1024, 10**12])
def test_pin_out_of_range_cpu_affinity_error_naming_cpu(
    impl: ModuleType, function: str, cpu: int
) -> None:
    before = all_thread_masks()
    with pytest.raises(AffinityError, match=rf"^CPU {cpu} is out of range: .*0 to 1023"):
        getattr(impl, function)({min(ALLOWED), cpu})
    assert_masks_unchanged(before)


@pytest.mark.parametrize("function", ["pin_thread", "pin_process"])
def test_pin_unavailable_cpu_affinity_error_naming_cpu_and_allowed(
    impl: ModuleType, function: str
) -> None:
    available = impl.available_cpus()
    missing = max(available) + 1
    assert missing < 1024
    expected = (
        f"CPU {missing} is not available to this process "
        f"(allowed: {reference_affinity._format_cpus(available)})"
    )
    before = all_thread_masks()
    with pytest.raises(AffinityError) as info:
        getattr(impl, function)([missing])
    assert str(info.value) == expected
    assert_masks_unchanged(before)


def test_pin_several_unavailable_cpus_message_lists_all(impl: ModuleType) -> None:
    missing = max(impl.available_cpus()) + 1
    with pytest.raises(AffinityError, match=rf"^CPUs {missing}, {missing + 2} are not available"):
        impl.pin_thread([missing + 2, missing])


@pytest.mark.parametrize("function", ["pin_thread", "pin_process"])
@pytest.mark.parametrize(
    ("cpus", "named"),
    [
        (["0"], "'0' (str)"),
        ([0.0], "0.0 (float)"),
        ([None], "None (NoneType)"),
        ([True], "True (bool)"),
    ],
)
def test_pin_non_int_cpu_type_error_naming_value(
    impl: ModuleType, function: str, cpus: list[Any], named: str
) -> None:
    with pytest.raises(
        TypeError, match=rf"^CPU numbers must be ints; {re.escape(named)} was given$"
    ):
        getattr(impl, function)(cpus)


@pytest.mark.parametrize("cpus", [0, "01", None])
def test_pin_thread_not_iterable_type_error(impl: ModuleType, cpus: Any) -> None:
    with pytest.raises(TypeError, match="cpus must be an iterable of CPU numbers"):
        impl.pin_thread(cpus)


def test_affinity_error_is_arbcore_and_os_error() -> None:
    assert issubclass(AffinityError, ArbcoreError)
    assert issubclass(AffinityError, OSError)


# --- kernel refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("make_error", [affinity._kernel_error, reference_affinity._kernel_error])
def test_kernel_error_eperm_carries_errno_call_and_cpus(make_error: Any) -> None:
    error = make_error(errno.EPERM, "sched_setaffinity(thread 42)", [0, 1, 2, 5])
    assert isinstance(error, AffinityError)
    assert error.errno == errno.EPERM
    assert "sched_setaffinity(thread 42) for CPUs 0-2,5 was refused: EPERM" in str(error)


def test_kernel_error_compiled_and_reference_same_message() -> None:
    for err in (errno.EINVAL, errno.EPERM, errno.ESRCH):
        compiled = affinity._kernel_error(err, "call", [3])
        reference = reference_affinity._kernel_error(err, "call", [3])
        assert (compiled.errno, str(compiled)) == (reference.errno, str(reference))


@pytest.mark.usefixtures("restore_affinity")
def test_reference_pin_process_kernel_refusal_rolls_back(
    monkeypatch: pytest.MonkeyPatch, parked_thread: int
) -> None:
    before = all_thread_masks()
    # A target that differs from the current mask, so a missing rollback would show.
    candidates = sorted(reference_affinity.available_cpus())
    target = next((c for c in candidates if frozenset({c}) != ALLOWED), candidates[0])
    real = os.sched_setaffinity

    def refuse_parked(tid: int, mask: Any) -> None:
        if tid == parked_thread:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        real(tid, mask)

    monkeypatch.setattr(os, "sched_setaffinity", refuse_parked)
    with pytest.raises(AffinityError, match=rf"thread {parked_thread}\) .*EPERM") as info:
        reference_affinity.pin_process({target})
    monkeypatch.undo()
    assert info.value.errno == errno.EPERM
    assert_masks_unchanged(before)


def test_format_cpus_ranges_compiled_equals_reference() -> None:
    for cpus in ([], [0], [0, 1], [0, 2, 3, 4, 9], [1023, 0, 512, 513]):
        assert affinity._format_cpus(cpus) == reference_affinity._format_cpus(cpus)
    assert affinity._format_cpus([0, 2, 3, 4, 9]) == "0,2-4,9"
