"""The engine's triangular decision in C: from a paying cycle to the risk verdict."""

from collections.abc import Callable, Collection, Sequence

from arbcore_ext.cycles import CycleEngine, SizedCycle
from arbcore_ext.decision import Decision
from arbcore_ext.ledger import Ledger
from arbcore_ext.usdprices import UsdPrices

#: per market, in the engine's order: (10 ** price decimals, 10.0 ** size decimals, lot raw)
MarketUnits = tuple[int, float, int]

class TriangularDecision(Decision):
    """The compiled decision of one venue's triangular scanner (see tridecide.pyx); the last
    decision's fields are what ``on_decided(self)`` builds the objects and records from."""

    engine: CycleEngine
    venue: str
    cycle: int
    ranked: int
    #: rehearsals made (:meth:`rehearse`)
    rehearsed: int
    def __init__(
        self,
        scanner: CycleEngine,
        venue: str,
        units: Sequence[MarketUnits],
        min_profit_bps: float,
        max_start: float,
        ledger: Ledger,
        refused: object,
        risk: object,
        on_decided: Callable[[TriangularDecision], None],
        usd: UsdPrices,
        dollars: Collection[str],
    ) -> None: ...
    def sized(self) -> SizedCycle:
        """The last decision's cycle as ``CycleEngine.size`` gives it."""
    def rehearse(self, cycle: int = -1) -> int:
        """Rehearse the decision of ``cycle`` (-1: the last one an update changed) with no
        effect at all; the cycle rehearsed, or -1 (none could be)."""
