"""Kraken v1 book updates in one call (tail-routed, numbered by arrival)."""

from collections.abc import Iterable

from arbcore_ext.deltapath import DeltaPath, Route

class TailPath(DeltaPath):
    """Array frames naming their book at the end (Kraken v1), numbered by arrival."""

    @property
    def arrivals(self) -> int: ...
    def __init__(
        self,
        routes: Iterable[Route],
        *,
        tail_mark: bytes,
        reject: bytes,
        level_keys: tuple[tuple[bytes, int], ...],
        checksum_key: bytes,
        capacity: int = 256,
    ) -> None: ...
    def next_arrival(self) -> int:
        """The next arrival number (for a book event read elsewhere)."""
