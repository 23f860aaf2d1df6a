"""OKX spot, simulated: instruments as OKX states them, and the venue's server."""

from __future__ import annotations

from arbcore.exchanges.base import FeeSchedule, build_instrument
from arbcore.exchanges.okx.constants import VENUE
from arbcore.exchanges.okx.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim.catalog import MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.venues.okx.app import OKXServer

__all__ = ["PROTOCOL", "OKXProtocol", "OKXServer"]


class OKXProtocol:
    name = VENUE

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """What ``providers.parse_instruments`` reads from this venue's instrument list: OKX
        states no minimum notional (its ``minSz`` is the only minimum)."""
        return build_instrument(
            venue=VENUE,
            native_symbol=f"{spec.base}-{spec.quote}",
            base=spec.base,
            quote=spec.quote,
            tick_size=spec.tick_size,
            lot_size=spec.lot_size,
            min_qty=spec.min_qty,
            fees=fees or DEFAULT_FEES,
        )

    def server(self, venue: SimVenue, faults: FaultInjector) -> OKXServer:
        return OKXServer(venue, faults)


PROTOCOL = OKXProtocol()
