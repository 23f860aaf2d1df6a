"""Triangular-cycle engine: flat cycle index, incremental evaluation, depth-aware sizing."""

from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from arbcore_ext.book import L2Book
from arbcore_ext.crossbook import Check

BUY: Final[int]
SELL: Final[int]

PerMarket = float | Sequence[float] | npt.NDArray[np.float64] | None

class SizedLeg:
    """One leg of a sized cycle: qty in base units, VWAP price, raw limit price."""

    market: int
    direction: int
    qty: float
    price: float
    limit_price: int
    levels: int

class SizedCycle:
    """A cycle sized over depth; falsy when nothing can be traded profitably."""

    cycle: int
    start_amount: float
    end_amount: float
    profit: float
    profit_bps: float
    legs: tuple[SizedLeg, ...]
    def __bool__(self) -> bool: ...

class CycleEngine:
    """Every cycle through the start assets over one venue's markets."""

    n_assets: int
    n_markets: int
    cycle_count: int
    max_legs: int
    threshold: float
    slippage_bps: float
    assets: tuple[str, ...]
    symbols: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    def __init__(
        self,
        symbols: Sequence[str],
        bases: Sequence[str],
        quotes: Sequence[str],
        *,
        start_assets: Sequence[str] = ("USDT",),
        max_legs: int = 3,
        taker_fees: PerMarket = 0.001,
        slippage_bps: float = 0.0,
        min_profit_bps: float = 0.0,
        lots: PerMarket = None,
        min_qty: PerMarket = None,
        min_notional: PerMarket = None,
    ) -> None: ...
    def market_id(self, symbol: str) -> int: ...
    def set_top(self, market: int | str, bid: float, ask: float) -> int:
        """Set a market's top (nan = missing side); count of changed profitable cycles."""
    def on_book(self, symbol: str, book: L2Book, now_ns: int | None = None) -> tuple[object, ...]:
        """Read a book's touch; () or self._emit(changed ids) (attached: less the cycles the
        pre-check refuses at ``now_ns``; None: the gate's clock)."""
    def attach(
        self,
        check: Check | None,
        key_of: Callable[[int], tuple[tuple[str, str, str], tuple[tuple[str, str], ...]]]
        | None = None,
    ) -> None:
        """Pre-check changed profitable cycles in on_book through ``check`` (refusals counted
        there, not emitted); ``key_of(cycle)``: its (key, markets). None: no pre-check."""
    def book(self, market: int | str) -> L2Book | None: ...
    def set_book(self, symbol: str, book: L2Book) -> None: ...
    def _emit(self, ids: tuple[int, ...]) -> tuple[object, ...]: ...
    def changed(self) -> npt.NDArray[np.int32]: ...
    def stamped(self, market: int | str) -> int | None:
        """When the engine's book callback last stamped the market (ns), or None."""
    def rate(self, cycle: int) -> float: ...
    def rates(self) -> npt.NDArray[np.float64]: ...
    def scan(self) -> npt.NDArray[np.int32]:
        """Every profitable cycle, best rate first."""
    def cycle(self, cycle: int) -> tuple[tuple[int, int], ...]: ...
    def cycle_assets(self, cycle: int) -> tuple[str, ...]: ...
    def cycles_of_market(self, market: int | str) -> npt.NDArray[np.int32]: ...
    def size(self, cycle: int, max_start: float = ...) -> SizedCycle:
        """Depth-aware sizing over the books given to on_book/set_book."""
