"""Bybit ``orderbook`` messages in one call: deltas read and applied, snapshots read once."""

from collections.abc import Iterable

from arbcore_ext.deltapath import DeltaPath, Route

class BybitPath(DeltaPath):
    """Bybit book messages read (deltas applied) in one call."""

    def __init__(self, routes: Iterable[Route], capacity: int = 1024) -> None: ...
    def push_of(self, frame: bytes) -> tuple[str, bool, int, int] | None:
        """``(symbol, snapshot?, u, cts ms)`` of a strict book message (levels in
        :attr:`levels`), else None."""
