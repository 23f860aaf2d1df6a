"""HTX (Huobi) spot: constants, instrument provider and market data (depth.step0 and mbp)."""

__all__: list[str] = []
