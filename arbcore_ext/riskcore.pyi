"""Pre-trade risk's hot path compiled (see arbcore.risk.engine.RiskEngine.check_legs)."""

from collections.abc import Callable, Mapping, Sequence

from arbcore.model import Opportunity
from arbcore.risk.engine import Breach, LegTuple, RiskEngine

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
