"""L2 order book on native memory with exact fixed-point prices (see book.pyx for the layout)."""

from typing import Final

import numpy as np
import numpy.typing as npt

BID: Final[int]
ASK: Final[int]

Int64Array = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]

class L2Book:
    """Price-level book for one instrument; prices and sizes are raw scaled int64."""

    price_decimals: int
    size_decimals: int
    max_depth: int
    window_ticks: int | None
    price_unit: float
    size_unit: float
    snapshots: int

    def __init__(
        self,
        price_decimals: int,
        size_decimals: int,
        max_depth: int = 0,
        window_ticks: int | None = None,
    ) -> None: ...
    def apply_deltas(self, sides: Int8Array, prices: Int64Array, sizes: Int64Array) -> None:
        """Apply a message's level changes in one call (size 0 deletes); validated first."""
    def apply_snapshot(
        self,
        bid_prices: Int64Array,
        bid_sizes: Int64Array,
        ask_prices: Int64Array,
        ask_sizes: Int64Array,
    ) -> None:
        """Replace both sides (any order; zero sizes skipped)."""
    def replace_side(self, side: int, prices: Int64Array, sizes: Int64Array) -> None:
        """Replace one side."""
    def set_level(self, side: int, price: int | str | bytes, size: int | str | bytes) -> None:
        """Set one level from raw ints (fast path) or decimal text (parsed exactly)."""
    def clear(self) -> None: ...
    def truncate(self, n: int) -> None:
        """Keep only the best n levels on each side."""
    def best_bid(self) -> int | None: ...
    def best_ask(self) -> int | None: ...
    def best_bid_size(self) -> int | None: ...
    def best_ask_size(self) -> int | None: ...
    def best_bid_float(self) -> float: ...
    def best_ask_float(self) -> float: ...
    def bbo(self) -> tuple[int | None, int | None]:
        """(best_bid, best_ask) raw prices in one call."""
    def depth(self, side: int) -> int: ...
    def is_crossed(self) -> bool: ...
    def levels(self, side: int, n: int = -1) -> tuple[Int64Array, Int64Array]:
        """(prices, sizes) of a side's best n levels, best first."""
    def top(self, n: int) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array]:
        """(bid_prices, bid_sizes, ask_prices, ask_sizes) of the best n levels."""
    def cost_to_fill(self, side: int, qty: int) -> tuple[int, float, int | None, int]:
        """(filled raw, notional in quote units, worst raw price, levels used)."""
    def qty_for_notional(self, side: int, notional: float) -> tuple[int, float, int | None, int]:
        """(qty raw, quote spent, worst raw price, levels used)."""
    @property
    def nbytes(self) -> int: ...
    @property
    def widths(self) -> tuple[int, int]: ...
    @property
    def stats(self) -> dict[str, dict[str, int]]: ...
