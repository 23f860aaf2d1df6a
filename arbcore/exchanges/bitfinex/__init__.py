"""Bitfinex v2: constants, instrument provider and the ``book`` (P0) feed."""

__all__: list[str] = []
