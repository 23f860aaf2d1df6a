"""Kraken spot, simulated: instruments as Kraken states them, and the venue's server."""

from __future__ import annotations

from arbcore.exchanges.base import FeeSchedule, build_instrument, decimals_of, step_text
from arbcore.exchanges.kraken.constants import VENUE
from arbcore.exchanges.kraken.providers import DEFAULT_FEES
from arbcore.model import Instrument
from arbcore.sim.catalog import MarketSpec
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.venues.kraken import shapes
from arbcore.sim.venues.kraken.app import KrakenServer

__all__ = ["PROTOCOL", "KrakenProtocol", "KrakenServer"]


class KrakenProtocol:
    name = VENUE

    def instrument(self, spec: MarketSpec, fees: FeeSchedule | None) -> Instrument:
        """What ``providers.parse_instruments`` reads from AssetPairs: the ``wsname``
        (``XBT/USDT``) as native symbol, ticks and lots as powers of ten (Kraken states
        ``pair_decimals``/``lot_decimals``), fees as the percent its fee tables carry."""
        schedule = fees or DEFAULT_FEES
        return build_instrument(
            venue=VENUE,
            native_symbol=f"{shapes.ws_asset(spec.base)}/{shapes.ws_asset(spec.quote)}",
            base=spec.base,
            quote=spec.quote,
            tick_size=step_text(decimals_of(spec.tick_size, "tick size")),
            lot_size=step_text(decimals_of(spec.lot_size, "lot size")),
            min_qty=spec.min_qty,
            min_notional=spec.min_notional,
            fees=FeeSchedule(
                maker=float(shapes.percent(schedule.maker)) / 100,
                taker=float(shapes.percent(schedule.taker)) / 100,
            ),
        )

    def server(self, venue: SimVenue, faults: FaultInjector) -> KrakenServer:
        return KrakenServer(venue, faults)


PROTOCOL = KrakenProtocol()
