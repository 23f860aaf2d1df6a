"""Bybit v5: constants, instrument provider and the ``orderbook.<depth>.<symbol>`` feed."""

__all__: list[str] = []
