"""KuCoin spot, simulated: instruments as KuCoin states them, and the venue's server."""

from __future__ import annotations

from arbcore.exchanges.base import FeeSchedule, build_instrument
from arbcore.exchanges.kucoin.constants import VENUE
from arbcore.exchanges.kucoin.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim.catalog import MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.venues.kucoin.app import FIRST_SEQUENCE, KuCoinServer

__all__ = ["FIRST_SEQUENCE", "PROTOCOL", "KuCoinProtocol", "KuCoinServer"]


class KuCoinProtocol:
    name = VENUE

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """What ``providers.parse_instruments`` reads from this venue's ``/api/v2/symbols``:
        quoteMinSize and minFunds both state the minimum order value."""
        return build_instrument(
            venue=VENUE,
            native_symbol=f"{spec.base}-{spec.quote}",
            base=spec.base,
            quote=spec.quote,
            tick_size=spec.tick_size,
            lot_size=spec.lot_size,
            min_qty=spec.min_qty,
            min_notional=(spec.min_notional, spec.min_notional),
            fees=fees or DEFAULT_FEES,
        )

    def server(self, venue: SimVenue, faults: FaultInjector) -> KuCoinServer:
        return KuCoinServer(venue, faults)


PROTOCOL = KuCoinProtocol()
