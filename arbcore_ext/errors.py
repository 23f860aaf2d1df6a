"""The root of arbcore's exception tree, defined here so the compiled kernels can raise it.

``arbcore_ext`` imports nothing from ``arbcore``; ``arbcore.errors`` re-exports these classes
and grows the rest of the tree (feed, config and exchange errors) beneath ``ArbcoreError``.
"""

from __future__ import annotations


class ArbcoreError(Exception):
    """Base of every error arbcore raises on purpose."""


class DecimalFormatError(ArbcoreError, ValueError):
    """A venue's decimal text could not be converted exactly to fixed point (or back)."""

    def __init__(self, text: object, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"decimal text {text!r} was rejected: {reason}")


class BookError(ArbcoreError, ValueError):
    """An order-book call was given arguments it cannot apply (wrong dtype, shape, side)."""


class AffinityError(ArbcoreError, OSError):
    """The process or thread could not be pinned to the requested CPUs."""


class GraphError(ArbcoreError, ValueError):
    """A market graph that cannot be built (mismatched lists, unknown asset, bad option)."""
