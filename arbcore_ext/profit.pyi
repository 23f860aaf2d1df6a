"""Money math over book depth: the best size for a cross-venue trade after fees."""

from arbcore_ext.book import L2Book

class CrossQuote:
    """The best executable cross-venue trade; size zero when nothing clears fees/minimums."""

    size: float
    size_units: int
    size_decimals: int
    buy_vwap: float
    sell_vwap: float
    gross_profit: float
    net_profit: float
    buy_levels: int
    sell_levels: int
    buy_limit: int
    sell_limit: int
    limit_profit: float
    def __bool__(self) -> bool: ...

def limit_price(price_raw: int, is_buy: bool, slippage_bps: float = 0.0) -> int:
    """Limit price with the slippage allowance applied (never beyond the allowance)."""

def price_cross(
    buy_book: L2Book,
    sell_book: L2Book,
    buy_fee: float,
    sell_fee: float,
    max_base: float = ...,
    max_quote: float = ...,
    lot: float = 0.0,
    min_notional: float = 0.0,
    buy_slippage_bps: float = 0.0,
    sell_slippage_bps: float = 0.0,
) -> CrossQuote:
    """Buy on buy_book's asks, sell on sell_book's bids: the size maximising net profit."""
