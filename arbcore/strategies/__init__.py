"""Strategies decide; they do not place orders. Each turns books into priced Opportunities."""

from __future__ import annotations

from arbcore.strategies.triangular import TriangularScanner

__all__ = ["TriangularScanner"]
