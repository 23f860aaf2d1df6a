"""The engine's cross-exchange decision in C: from a crossing route to the risk verdict."""

from collections.abc import Callable
from typing import Any

from arbcore_ext.crossbook import CrossBook
from arbcore_ext.decision import Decision
from arbcore_ext.ledger import Ledger
from arbcore_ext.profit import CrossQuote
from arbcore_ext.usdprices import UsdPrices

#: per route, in the kernel's order: (buy venue, buy symbol, sell venue, sell symbol, buy taker
#: fee, sell taker fee, lot, min notional, buy price decimals, sell price decimals, decided here:
#: the same quote on both ends)
RouteFacts = tuple[str, str, str, str, float, float, float, float, int, int, bool]

class CrossDecision(Decision):
    """The compiled decision of one cross-exchange strategy (see crossdecide.pyx); the last
    decision's fields are what ``on_decided(self)`` builds the objects and records from."""

    kernel: CrossBook
    route: int
    quote: CrossQuote
    top_rate: float
    quote_usd: float
    #: rehearsals made (:meth:`rehearse`)
    rehearsed: int
    def __init__(
        self,
        kernel: CrossBook,
        routes: list[RouteFacts] | list[tuple[Any, ...]],
        slippage_bps: float,
        max_notional_usd: float,
        ledger: Ledger,
        refused: object,
        risk: object,
        on_decided: Callable[[CrossDecision], None],
        usd: UsdPrices,
    ) -> None: ...
    def rehearse(self, route: int = -1) -> int:
        """Rehearse the decision of ``route`` (-1: the next in turn) with no effect at all:
        every read the decision makes, so its code and data stay in cache while the feed is
        idle; the route rehearsed, or -1 (none could be)."""
