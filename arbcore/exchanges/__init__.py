"""Venue packages: each knows its own protocol; ``base`` holds the venue-neutral helpers.

Native symbols (``BTCUSDT``, ``BTC-USDT``, ``BTC_USDT``) stay inside the venue packages; what
leaves them says ``BTC/USDT``. The venue registry (``get_venue``) is not here yet.
"""

__all__: list[str] = []
