"""Strategies decide; they do not place orders. Each turns books into priced Opportunities."""

from __future__ import annotations

from arbcore.strategies.cross_exchange import CrossExchangeStrategy
from arbcore.strategies.orchestrator import Orchestrator, Ticket
from arbcore.strategies.triangular import TriangularScanner

__all__ = ["CrossExchangeStrategy", "Orchestrator", "Ticket", "TriangularScanner"]
