"""The markets the simulator can list: their rules as decimal text and reference prices.

One :class:`MarketSpec` per unified symbol is shared by every simulated venue; each venue's
protocol module turns it into that venue's :class:`~arbcore.model.Instrument` (its native symbol,
its precision conventions), exactly as its real instrument list would. A symbol that is not in
:data:`MARKETS` is derived from the reference prices of its two assets, so any pair of known
assets can be simulated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import attrs

from arbcore.errors import ConfigError

__all__ = ["MARKETS", "REFERENCE_PRICES", "STABLE_ASSETS", "MarketSpec", "market_spec"]


@attrs.frozen(kw_only=True)
class MarketSpec:
    """One market's order rules, as a venue would state them."""

    symbol: str
    tick_size: str
    lot_size: str
    min_qty: str
    min_notional: str

    @property
    def base(self) -> str:
        return self.symbol.partition("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.partition("/")[2]


def _spec(symbol: str, tick: str, lot: str, min_notional: str) -> MarketSpec:
    return MarketSpec(
        symbol=symbol, tick_size=tick, lot_size=lot, min_qty=lot, min_notional=min_notional
    )


#: Rules close to the big venues' (Binance's, mostly) for the pairs arbitrage tests use.
MARKETS: Final[Mapping[str, MarketSpec]] = {
    spec.symbol: spec
    for spec in (
        _spec("BTC/USDT", "0.01", "0.00001", "5"),
        _spec("ETH/USDT", "0.01", "0.0001", "5"),
        _spec("ETH/BTC", "0.00001", "0.0001", "0.0001"),
        _spec("SOL/USDT", "0.01", "0.001", "5"),
        _spec("SOL/BTC", "0.0000001", "0.01", "0.0001"),
        _spec("SOL/ETH", "0.000001", "0.01", "0.001"),
        _spec("BNB/USDT", "0.01", "0.001", "5"),
        _spec("BNB/BTC", "0.000001", "0.001", "0.0001"),
        _spec("XRP/USDT", "0.0001", "0.1", "5"),
        _spec("BTC/USDC", "0.01", "0.00001", "5"),
        _spec("ETH/USDC", "0.01", "0.0001", "5"),
        _spec("USDC/USDT", "0.0001", "1", "5"),
    )
}

#: Starting prices in US dollars; the price process moves every non-stable asset from here.
REFERENCE_PRICES: Final[Mapping[str, float]] = {
    "BTC": 60_000.0,
    "ETH": 3_000.0,
    "SOL": 150.0,
    "BNB": 550.0,
    "XRP": 0.5,
    "USDT": 1.0,
    "USDC": 1.0,
    "USD": 1.0,
}

#: Assets whose price stays at their reference (the quote currencies of arbitrage).
STABLE_ASSETS: Final = frozenset({"USDT", "USDC", "USD"})


def market_spec(symbol: str, prices: Mapping[str, float] = REFERENCE_PRICES) -> MarketSpec:
    """The rules of ``symbol``: listed, or derived from its assets' reference prices.

    A derived market has a tick of about 1e-6 of the price and a lot worth about 1e-5 of
    10,000 dollars, both powers of ten, and a minimum order of about 5 dollars.
    """
    if symbol in MARKETS:
        return MARKETS[symbol]
    base, sep, quote = symbol.partition("/")
    if not (sep and base and quote):
        raise ConfigError(f"symbol {symbol!r} is not BASE/QUOTE", key="symbols")
    missing = [asset for asset in (base, quote) if asset not in prices]
    if missing:
        raise ConfigError(
            f"no reference price for {', '.join(missing)}: add it to the market prices or "
            f"choose among {', '.join(sorted(prices))}",
            key="symbols",
        )
    price = prices[base] / prices[quote]
    tick = _power_of_ten(price * 1e-6)
    lot = _power_of_ten(0.1 / prices[base])
    return _spec(symbol, tick, lot, _power_of_ten(5.0 / prices[quote], up=True))


def _power_of_ten(value: float, *, up: bool = False) -> str:
    exponent = math.ceil(math.log10(value)) if up else math.floor(math.log10(value))
    exponent = max(-12, min(exponent, 6))
    return f"{10**exponent:d}" if exponent >= 0 else f"{10.0**exponent:.{-exponent}f}"
