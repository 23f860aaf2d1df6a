"""OKX spot: constants and instrument provider (``providers.parse_instruments``)."""

__all__: list[str] = []
