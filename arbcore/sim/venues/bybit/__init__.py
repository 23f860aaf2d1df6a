"""Bybit v5 spot, simulated: instruments as Bybit states them, and the venue's server."""

from __future__ import annotations

from arbcore.exchanges.base import FeeSchedule, build_instrument
from arbcore.exchanges.bybit.constants import VENUE
from arbcore.exchanges.bybit.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim.catalog import MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.venues.bybit.app import BybitServer

__all__ = ["PROTOCOL", "BybitProtocol", "BybitServer"]


class BybitProtocol:
    name = VENUE

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """What ``providers.parse_instruments`` reads from this venue's instruments-info:
        ``basePrecision`` the lot, ``minOrderQty`` and ``minOrderAmt`` the minimums."""
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
        )

    def server(self, venue: SimVenue, faults: FaultInjector) -> BybitServer:
        return BybitServer(venue, faults)


PROTOCOL = BybitProtocol()
