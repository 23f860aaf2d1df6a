"""Venue packages: each knows its own protocol; everything after its parsing is venue-neutral.

Native symbols (``BTCUSDT``, ``BTC-USDT``, ``BTC_USDT``) stay inside the venue packages; what
leaves them says ``BTC/USDT``. ``get_venue(name)`` finds a venue's :class:`VenueSpec`;
``fetch_instruments(name, http)`` reads its instrument list over REST.
"""

from __future__ import annotations

from arbcore.exchanges.registry import VENUE_NAMES, VenueSpec, fetch_instruments, get_venue

__all__ = ["VENUE_NAMES", "VenueSpec", "fetch_instruments", "get_venue"]
