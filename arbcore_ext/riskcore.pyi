"""Pre-trade risk's hot path compiled (see arbcore.risk.engine.RiskEngine.check_legs)."""

from collections.abc import Callable, Mapping, Sequence

from arbcore.config.schema import RiskLimits
from arbcore.model import Opportunity
from arbcore.risk.engine import Breach, LegTuple, RiskEngine

class Exposure:
    """Risk's exposure view in C arrays, for the compiled check (positions per venue in report
    order, open orders, the order-rate window, the limits, the check's price reads)."""

    open_orders: int
    fast: bool
    n_venues: int
    n_assets: int
    price_usd: Callable[[str], float | None]
    clock: Callable[[], float]
    def __init__(
        self,
        limits: RiskLimits,
        price_usd: Callable[[str], float | None],
        clock: Callable[[], float],
    ) -> None: ...
    @property
    def limits(self) -> RiskLimits: ...
    def set_limits(self, limits: RiskLimits) -> None: ...
    def venue_id(self, venue: str) -> int: ...
    def asset_id(self, asset: str) -> int: ...
    def set_position(self, venue: str, asset: str, quantity: float) -> None: ...
    def order_sent(self, at: float) -> None: ...
    def orders_since(self, horizon: float) -> int:
        """Orders sent after ``horizon`` (older ones forgotten)."""
    @property
    def order_times(self) -> list[float]: ...
    def first_breach(self, legs: Sequence[LegTuple]) -> Breach | None:
        """The first limit ``legs`` break (at most 16 legs), or None."""

def first_breach(engine: RiskEngine, legs: Sequence[LegTuple]) -> Breach | None:
    """RiskEngine._first_breach for an ACTIVE engine with no correlations configured."""

class BookAges:
    """(venue, symbol) -> age (ms) of each book at the instant ``now`` (ns)."""

    def __init__(self, now: int, updated: Mapping[str, Mapping[str, int]]) -> None: ...
    def __call__(self, venue: str, symbol: str) -> float: ...

def leg_tuples(
    opportunity: Opportunity,
    usd: Callable[[str], float | None],
    book_age_ms: Callable[[str, str], float] = ...,
) -> tuple[LegTuple, ...]:
    """An opportunity's legs as risk checks them: each valued in USD, with its book's age."""
