"""The engine's book callback in C: count, book time, USD cache, cross and cycle kernels."""

from collections.abc import Callable
from typing import Any

from arbcore_ext.book import L2Book

class Tally:
    """Book updates handled by every tap of one engine."""

    book_updates: int
    def __init__(self, book_updates: int = 0) -> None: ...

class BookTap:
    """One venue's book callback: ``tap.on_book(symbol, book)`` (see booktap.pyx)."""

    venue: str
    def __init__(
        self,
        venue: str,
        tally: Tally,
        dollar_base: dict[str, str],
        listed: dict[str, Any],
        updated: dict[str, int],
        usd_cache: dict[str, float | None],
        topics: dict[str, Any],
        changed: Callable[[str, str], None],
        found: Callable[[Any, Any, int], None],
    ) -> None: ...
    def bind(
        self,
        arrival_ns: Callable[[], int],
        clock_ns: Callable[[], int],
        cross: Any,
        triangular: dict[str, Any],
        decision: Any = None,
        cycle_decision: Any = None,
    ) -> None:
        """What the callback calls (the owner binds again whenever one changes)."""
    def on_book(self, symbol: str, book: L2Book) -> None:
        """The engine's callback for one update of ``symbol``'s ``book``."""
