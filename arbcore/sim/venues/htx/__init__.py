"""HTX (Huobi) spot, simulated: instruments as HTX states them, and the venue's server."""

from __future__ import annotations

from arbcore.exchanges.base import FeeSchedule, build_instrument, decimals_of, step_text
from arbcore.exchanges.htx.constants import BOOK_SIZE_DECIMALS, VENUE
from arbcore.exchanges.htx.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim.catalog import MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.venues.htx.app import HTXServer

__all__ = ["PROTOCOL", "HTXProtocol", "HTXServer"]


class HTXProtocol:
    name = VENUE

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """What ``providers.parse_instruments`` reads from this venue's symbol list: HTX
        states precisions (decimals), so a tick or lot that is not a power of ten becomes the
        power of ten of its decimals; books keep at least 8 size decimals."""
        return build_instrument(
            venue=VENUE,
            native_symbol=f"{spec.base}{spec.quote}".lower(),
            base=spec.base,
            quote=spec.quote,
            tick_size=step_text(decimals_of(spec.tick_size, "tick size")),
            lot_size=step_text(decimals_of(spec.lot_size, "lot size")),
            min_qty=spec.min_qty,
            min_notional=spec.min_notional,
            fees=fees or DEFAULT_FEES,
            size_precision=BOOK_SIZE_DECIMALS,
        )

    def server(self, venue: SimVenue, faults: FaultInjector) -> HTXServer:
        return HTXServer(venue, faults)


PROTOCOL = HTXProtocol()
