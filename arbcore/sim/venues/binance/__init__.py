"""Binance spot, simulated: instruments as Binance states them, and the venue's server."""

from __future__ import annotations

from arbcore.exchanges.base import FeeSchedule, build_instrument
from arbcore.exchanges.binance.constants import VENUE
from arbcore.exchanges.binance.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim.catalog import MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.venues.binance.app import BinanceServer
from arbcore.sim.venues.binance.shapes import BASE_ASSET_PRECISION

__all__ = ["PROTOCOL", "BinanceProtocol", "BinanceServer"]


class BinanceProtocol:
    name = VENUE

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """What ``providers.parse_instruments`` reads from this venue's exchangeInfo."""
        return build_instrument(
            venue=VENUE,
            native_symbol=spec.base + spec.quote,
            base=spec.base,
            quote=spec.quote,
            tick_size=spec.tick_size,
            lot_size=spec.lot_size,
            min_qty=spec.min_qty,
            min_notional=spec.min_notional,
            fees=fees or DEFAULT_FEES,
            size_precision=BASE_ASSET_PRECISION,
        )

    def server(self, venue: SimVenue, faults: FaultInjector) -> BinanceServer:
        return BinanceServer(venue, faults)


PROTOCOL = BinanceProtocol()
