"""Execution: the shadow venue (default), order routing and tracking."""

from arbcore.execution.router import LegResult, Router, TradeResult, TradeStatus
from arbcore.execution.shadow import ShadowVenue

__all__ = ["LegResult", "Router", "ShadowVenue", "TradeResult", "TradeStatus"]
