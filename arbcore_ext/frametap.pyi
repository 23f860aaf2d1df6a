"""A live client's frame handler in C: from a frame to the book callback (see frametap.pyx)."""

from collections.abc import Callable

from arbcore_ext.book import L2Book
from arbcore_ext.deltapath import DeltaPath
from arbcore_ext.framepath import BboCheck, QuotePath

class FrameTap:
    """The handler of one client's frames: ``tap.on_frame(frame, ts_ns)``."""

    @property
    def bound(self) -> bool: ...
    def __init__(
        self,
        path: DeltaPath,
        handle: Callable[[bytes, int], None],
        after_path: Callable[[bytes, int, int], None],
    ) -> None: ...
    def bind(
        self,
        on_book: Callable[[str, L2Book], None] | None = None,
        checks: dict[str, BboCheck] | None = None,
        quotes: QuotePath | None = None,
        unquoted: Callable[[bytes, int], None] | None = None,
    ) -> None:
        """Handle an applied delta here from the next frame on (``checks``: symbol ->
        BboCheck, read at each update); with ``quotes``, a declined frame is offered to it and
        one it does not take goes to ``unquoted`` (both or neither)."""
    def unbind(self) -> None:
        """Every frame to the client's Python handler from the next frame on."""
    def on_frame(self, frame: bytes, ts_ns: int) -> None:
        """One frame, as the client's handler would take it."""
