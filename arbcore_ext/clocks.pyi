"""The clocks the engine's compiled parts read in C (see clocks.pyx)."""

from collections.abc import Callable

class EventClock:
    """A clock told the time (``now_ns``) that answers it when called (read in C)."""

    now_ns: int
    def __init__(self, now_ns: int = 0) -> None: ...
    def __call__(self) -> int: ...

class Seconds:
    """``clock() / 1e9``: a clock in ns read as seconds, in C (``clock`` settable)."""

    clock: Callable[[], int]
    def __init__(self, clock: Callable[[], int]) -> None: ...
    def __call__(self) -> float: ...
