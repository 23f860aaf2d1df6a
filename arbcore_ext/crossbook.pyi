"""Cross-venue touch test: which (buy market, sell market) routes cross at the top of both books."""

from collections.abc import Sequence

from arbcore_ext.book import L2Book

#: (buy market, sell market, ask_factor, bid_factor, ask_unit, always): ask_factor turns a raw
#: ask into the cost per base unit (fee included), bid_factor a raw bid into the proceeds, ask_unit
#: a raw ask into its price; ``always``: the quotes differ, so the route is returned whenever both
#: sides have a price (the caller applies the live rate).
RouteSpec = tuple[int, int, float, float, float, bool]

class CrossBook:
    """Each market's touch, and per market the routes an update of it is tested on."""

    n_markets: int
    n_routes: int
    min_profit_bps: float
    checked: int  # routes tested (the other market's touch known)
    def __init__(
        self,
        n_markets: int,
        routes: Sequence[RouteSpec],
        by_market: Sequence[Sequence[int]],
        min_profit_bps: float,
    ) -> None: ...
    def load(self, market: int, book: L2Book) -> None:
        """Take ``market``'s touch from ``book`` without testing any route."""
    def set_top(self, market: int, bid: int | None, ask: int | None) -> None:
        """Set ``market``'s touch from raw prices (None: that side is empty)."""
    def forget(self, market: int) -> None:
        """``market``'s touch is unknown again."""
    def known(self, market: int) -> bool: ...
    def update(self, market: int, book: L2Book) -> tuple[int, ...]:
        """Read ``book``'s touch into ``market``; the ids of its routes that cross by
        ``min_profit_bps`` against a known market (or need the live rate), in route order."""
    def crossing(self, market: int) -> tuple[int, ...]:
        """:meth:`update` without reading a book."""
