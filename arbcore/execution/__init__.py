"""Execution: the shadow venue (default), order routing and tracking, the bot's trade desk."""

from arbcore.execution.desk import TradeDesk
from arbcore.execution.router import LegResult, Router, TradeResult, TradeStatus
from arbcore.execution.shadow import ShadowVenue

__all__ = ["LegResult", "Router", "ShadowVenue", "TradeDesk", "TradeResult", "TradeStatus"]
