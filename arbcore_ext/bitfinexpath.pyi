"""Bitfinex book channels in one call (SEQ_ALL sequence, checksum frames)."""

from collections.abc import Iterable
from typing import Any

from arbcore_ext.deltapath import DeltaPath, Route

class ChannelState:
    """One connection's channels (Bitfinex): books, SEQ_ALL sequence, each book's last number."""

    @property
    def path(self) -> DeltaPath | None: ...
    @property
    def books(self) -> dict[bytes, Any]: ...
    @property
    def book_last(self) -> dict[bytes, int]: ...
    @property
    def routes(self) -> dict[bytes, Route | None]: ...
    counter: int
    last_seq: int | None
    def __init__(self, path: DeltaPath | None = None) -> None: ...
    def add_book(self, chan: bytes, instrument: Any) -> None: ...
    def drop_book(self, chan: bytes) -> None: ...
    def continues(self, seq: int | None) -> bool: ...
    def count_frame(self, seq: int | None, chan: bytes | None = None) -> tuple[int, int | None]: ...

class ChannelPath(DeltaPath):
    """One-level book updates and checksum frames of channel feeds (Bitfinex)."""

    @property
    def connections(self) -> dict[int, ChannelState]: ...
    def __init__(self, routes: Iterable[Route], capacity: int = 256) -> None: ...
    def scan_snapshot(self, frame: bytes, connection: int = 0) -> tuple[bytes, int | None] | None:
        """A book channel's snapshot in the strict shape: (chan, seq), its levels in
        :attr:`levels`; None for anything else. Nothing is counted or sequenced."""
    def skip_frame(self, frame: bytes, connection: int = 0) -> bool:
        """Count a frame without book data (heartbeat, another channel's numbers) in the strict
        shape when it continues the sequence: True; False (nothing changed) otherwise."""
