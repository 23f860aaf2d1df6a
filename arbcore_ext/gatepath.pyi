"""Gate.io's plain ``spot.order_book_update`` deltas read in one pass over the frame."""

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from arbcore_ext.deltapath import DeltaPath, Route

class GatePath(DeltaPath):
    """A DeltaPath for Gate's plain deltas with a one-pass ``read``: the compact result with
    the keys ``t e E l s U u b a`` once each, nothing after it; anything else is declined."""

    def __init__(self, routes: Iterable[Route], **config: Any) -> None:
        """DeltaPath's keyword arguments, with Gate's keys (s, U, u, t; b then a)."""

def read_order_book(
    body: bytes, price_decimals: int, size_decimals: int
) -> tuple[int, int, tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.int64]]] | None:
    """A REST order book in one pass: ``(id, update, (sides, prices, sizes))``, bids first;
    None for anything but Gate's compact shape."""
