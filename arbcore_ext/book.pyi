"""L2 order book on native memory with exact fixed-point prices (see book.pyx for the layout)."""

from collections.abc import Iterator
from typing import Final

import numpy as np
import numpy.typing as npt

BID: Final[int]
ASK: Final[int]

Int64Array = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]

class LevelBuffer:
    """Level changes parsed from one message; L2Book.apply_buffer applies them in one call."""

    count: int
    capacity: int
    def __init__(self, capacity: int = 256) -> None: ...
    def clear(self) -> None: ...
    def append(self, side: int, price: int, size: int) -> None: ...
    def arrays(self) -> tuple[Int8Array, Int64Array, Int64Array]: ...
    def __len__(self) -> int: ...

class DepthFill:
    """Result of a depth walk; unpacks as (filled, notional, worst_price, levels)."""

    filled: int
    notional: float
    levels: int
    @property
    def worst_price(self) -> int | None: ...
    def __iter__(self) -> Iterator[int | float | None]: ...

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
    def apply_buffer(self, levels: LevelBuffer) -> bool:
        """Apply a parser's LevelBuffer in one call (validated first, like apply_deltas); returns
        whether the book is crossed afterwards."""
    def apply_snapshot(
        self,
        bid_prices: Int64Array,
        bid_sizes: Int64Array,
        ask_prices: Int64Array,
        ask_sizes: Int64Array,
    ) -> None:
        """Replace both sides (any order; zero sizes skipped)."""
    def load_snapshot(self, sides: Int8Array, prices: Int64Array, sizes: Int64Array) -> None:
        """Replace both sides from a snapshot's flat arrays (the book apply_snapshot of the split
        sides gives); validated first, so a bad snapshot changes nothing."""
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
    def cost_to_fill(self, side: int, qty: int) -> DepthFill:
        """Walk a side (ASK to buy, BID to sell) to fill qty raw units."""
    def qty_for_notional(self, side: int, notional: float) -> DepthFill:
        """How much qty notional quote units buy (ASK) or raise (BID)."""
    @property
    def nbytes(self) -> int: ...
    @property
    def widths(self) -> tuple[int, int]: ...
    @property
    def stats(self) -> dict[str, dict[str, int]]: ...
