"""Venue packages: each knows its own protocol; everything after its parsing is venue-neutral.

Native symbols (``BTCUSDT``, ``BTC-USDT``, ``BTC_USDT``) stay inside the venue packages; what
leaves them says ``BTC/USDT``. ``get_venue(name)`` finds a venue's :class:`VenueSpec`.
"""

from __future__ import annotations

from arbcore.exchanges.registry import VENUE_NAMES, VenueSpec, get_venue

__all__ = ["VENUE_NAMES", "VenueSpec", "get_venue"]
