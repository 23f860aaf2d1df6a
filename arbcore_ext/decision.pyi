"""What the engine's compiled decisions share (CrossDecision, TriangularDecision)."""

from collections.abc import Callable
from typing import Any

from arbcore_ext.crossbook import Check
from arbcore_ext.ledger import Ledger
from arbcore_ext.usdprices import UsdPrices

class Decision:
    """A compiled decision's state and its last decision's fields (what ``on_decided(self)``
    builds the objects and records from)."""

    detected_at_ns: int
    found_ns: int
    elapsed_ns: int
    reserved_amounts: tuple[tuple[str, str, float], ...]
    breach: tuple[str, float, float, str] | None
    decided: int
    def __init__(
        self,
        check: Check | None,
        refused: object,
        ledger: Ledger,
        risk: object,
        on_decided: Callable[[Any], None],
        usd: UsdPrices,
    ) -> None: ...
