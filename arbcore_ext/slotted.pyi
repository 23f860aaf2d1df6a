"""Frozen slotted attrs classes built without their generated (Python) __init__."""

from typing import Generic, TypeVar

T = TypeVar("T")

class Maker(Generic[T]):
    """``Maker(cls)(*values)``: ``cls`` with its fields set to ``values`` in field order."""

    cls: type[T]
    names: tuple[str, ...]
    def __init__(self, cls: type[T], *, trusted: bool = False) -> None:
        """``trusted``: also a class with converters or a post-init check, the caller passing
        values the converters leave as they are and the check accepts."""
    def __call__(self, *values: object) -> T: ...
