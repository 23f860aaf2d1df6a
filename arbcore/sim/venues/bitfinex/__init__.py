"""Bitfinex v2 spot, simulated: instruments as the simulator trades them, and the venue's server.

Bitfinex states no tick or lot (prices have 5 significant digits, amounts 8 decimals), so
arbcore's instrument parser gives every pair 8-decimal steps (``constants.PRICE_STEP``). The
simulator's engine needs a fixed grid: the tick is the 5-significant-digit step at the market's
reference price (BTC/USDT at 60,000: 1; ETH/BTC at 0.05: 0.000001), so every price the book
shows has at most 5 significant digits and is one arbcore's client may send; amounts have 8
decimals, fewer where price and amount decimals would pass 12 (a million units of the quote
must settle exactly in int64). Every such price and amount is also one on arbcore's 8-decimal
grid, which is what its client reads the frames into.
"""

from __future__ import annotations

import math
from typing import Final

from arbcore.exchanges.base import FeeSchedule, build_instrument, decimals_of, step_text
from arbcore.exchanges.bitfinex.constants import PRICE_SIGNIFICANT_DIGITS, VENUE
from arbcore.exchanges.bitfinex.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim.catalog import REFERENCE_PRICES, MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.venues.bitfinex import shapes
from arbcore.sim.venues.bitfinex.app import BitfinexServer

__all__ = ["PROTOCOL", "BitfinexProtocol", "BitfinexServer", "tick_size"]

#: amounts (and, at most, prices) have 8 decimals on Bitfinex
AMOUNT_DECIMALS: Final = 8
#: price + amount decimals at most this: a quote balance of a million then fits int64 exactly
SETTLE_DECIMALS: Final = 12


def tick_size(spec: MarketSpec) -> str:
    """The 5-significant-digit step at the market's reference price (at least 1e-8); the
    catalog's tick when an asset has no reference price."""
    base, quote = REFERENCE_PRICES.get(spec.base), REFERENCE_PRICES.get(spec.quote)
    if base is None or quote is None:
        return spec.tick_size
    exponent = math.floor(math.log10(base / quote)) + 1 - PRICE_SIGNIFICANT_DIGITS
    exponent = max(exponent, -AMOUNT_DECIMALS)
    return str(10**exponent) if exponent >= 0 else step_text(-exponent)


class BitfinexProtocol:
    name = VENUE

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """The simulator's market (module docstring): Bitfinex's native ``tBTCUST``, its tick
        on the 5-digit grid, 8-decimal amounts, the catalog's minimum order size (which
        ``pub:info:pair`` states); no minimum notional."""
        tick = tick_size(spec)
        amount_decimals = min(AMOUNT_DECIMALS, SETTLE_DECIMALS - decimals_of(tick))
        base, quote = spec.base, spec.quote
        pair = shapes.pair_name_of(base, quote)
        return build_instrument(
            venue=VENUE,
            native_symbol="t" + pair,
            base=base,
            quote=quote,
            tick_size=tick,
            lot_size=step_text(max(amount_decimals, 0)),
            min_qty=spec.min_qty,
            fees=fees or DEFAULT_FEES,
        )

    def server(self, venue: SimVenue, faults: FaultInjector) -> BitfinexServer:
        return BitfinexServer(venue, faults)


PROTOCOL = BitfinexProtocol()
