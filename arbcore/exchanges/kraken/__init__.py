"""Kraken spot: constants, instrument provider and the WebSocket v1/v2 book feed (``data.SPEC``)."""

__all__: list[str] = []
