"""Bitfinex book channels in one call (SEQ_ALL sequence, checksum frames)."""

from collections.abc import Iterable, Mapping
from typing import Any

from arbcore_ext.deltapath import DeltaPath, Route

class ChannelState:
    """One connection's channels (Bitfinex): books, SEQ_ALL sequence, each book's last number."""

    @property
    def path(self) -> DeltaPath | None: ...
    @property
    def books(self) -> dict[bytes, Any]: ...
    @property
    def book_last(self) -> dict[bytes, int]:
        """Channel -> its last message's number (a new dict, in the order they came)."""
    @property
    def routes(self) -> dict[bytes, Route | None]: ...
    counter: int
    last_seq: int | None
    def __init__(self, path: DeltaPath | None = None) -> None: ...
    def add_book(self, chan: bytes, instrument: Any) -> None: ...
    def drop_book(self, chan: bytes) -> None: ...
    def clear_book_last(self) -> None:
        """Forget every channel's last message (the connection lost a frame)."""
    def continues(self, seq: int | None) -> bool: ...
    def count_frame(self, seq: int | None, chan: bytes | None = None) -> tuple[int, int | None]: ...

class ChannelPath(DeltaPath):
    """One-level book updates and checksum frames of channel feeds (Bitfinex)."""

    @property
    def connections(self) -> Mapping[int, ChannelState]:
        """Connection -> its channels, read-only (:meth:`state`, :meth:`forget` change it)."""
    def __init__(self, routes: Iterable[Route], capacity: int = 256) -> None: ...
    def state(self, connection: int = 0) -> ChannelState:
        """``connection``'s ChannelState (a new one for a connection not seen yet)."""
    def forget(self, connection: int = 0) -> None:
        """Drop ``connection``'s state (a new socket starts afresh)."""
    def scan_snapshot(self, frame: bytes, connection: int = 0) -> tuple[bytes, int | None] | None:
        """A book channel's snapshot in the strict shape: (chan, seq), its levels in
        :attr:`levels`; None for anything else. Nothing is counted or sequenced."""
    def skip_frame(self, frame: bytes, connection: int = 0) -> bool:
        """Count a frame without book data (heartbeat, another channel's numbers) in the strict
        shape when it continues the sequence: True; False (nothing changed) otherwise."""
