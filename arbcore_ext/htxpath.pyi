"""HTX market frames in one call: gunzip, read the book message, apply it."""

from collections.abc import Iterable

from arbcore_ext.deltapath import DeltaPath, Route

class HTXPath(DeltaPath):
    """HTX book frames (gzip): depth.step0 snapshots and mbp deltas read and applied in C."""

    def __init__(
        self, routes: Iterable[Route], newest: dict[tuple[int, str], int], capacity: int = 512
    ) -> None: ...
    def text_of(self, frame: bytes) -> bytes | None:
        """The frame's JSON text, or None when it is not gzip this inflater reads."""
    def snapshot_of(self, frame: bytes) -> tuple[str, int, int] | None:
        """``(symbol, version, ts ms)`` of a strict depth.step0 snapshot (levels in
        :attr:`levels`, bids first), else None."""
