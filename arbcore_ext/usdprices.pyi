"""The engine's USD price of an asset (``Engine.usd``), callable from C without a Python frame."""

from collections.abc import Iterable
from typing import Any

class UsdPrices:
    """``prices(asset)``: USD per unit of ``asset``: 1.0 for a dollar asset (``dollars``), else
    the cached price (``cache``: the book callback drops an asset's entry when one of its dollar
    markets updates), else the mid of the first in-sync ``asset``/dollar market
    (``dollar_quotes`` order, venues in ``instruments`` order; ``syncs``: venue -> symbol ->
    BookSync), cached; None when no such market is in sync. A miss reads the asset's candidate
    markets (venue, symbol, price decimals; made once, again when ``instruments`` or a venue's
    instrument dict has changed) and their syncs' cores held in C (again when ``syncs`` or the
    venue's dict has changed): CPython 3.11's dict versions; later versions walk."""

    def __init__(
        self,
        dollars: Iterable[str],
        dollar_quotes: tuple[str, ...],
        cache: dict[str, float | None],
        instruments: dict[str, Any],
        syncs: dict[str, Any],
    ) -> None: ...
    def __call__(self, asset: str) -> float | None: ...
    def mid(self, asset: str) -> float | None:
        """The dollar mid a miss reads, nothing cached."""
    def walked_mid(self, asset: str) -> float | None:
        """:meth:`mid` by walking the tables (``dollar_mid``'s rule, nothing held)."""
