"""Gate.io spot (APIv4), simulated: instruments as Gate states them, and the venue's server."""

from __future__ import annotations

from arbcore.exchanges.base import FeeSchedule, build_instrument, decimals_of, step_text
from arbcore.exchanges.gateio.constants import VENUE
from arbcore.exchanges.gateio.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim.catalog import MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.venues.gateio.app import GateioServer

__all__ = ["PROTOCOL", "GateioProtocol", "GateioServer"]


class GateioProtocol:
    name = VENUE

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """What ``providers.parse_instruments`` reads from this venue's currency_pairs: Gate
        states precisions (decimals), so a tick or lot that is not a power of ten becomes the
        power of ten of its decimals."""
        return build_instrument(
            venue=VENUE,
            native_symbol=f"{spec.base}_{spec.quote}",
            base=spec.base,
            quote=spec.quote,
            tick_size=step_text(decimals_of(spec.tick_size, "tick size")),
            lot_size=step_text(decimals_of(spec.lot_size, "lot size")),
            min_qty=spec.min_qty,
            min_notional=spec.min_notional,
            fees=fees or DEFAULT_FEES,
        )

    def server(self, venue: SimVenue, faults: FaultInjector) -> GateioServer:
        return GateioServer(venue, faults)


PROTOCOL = GateioProtocol()
