"""Risk limits, the trading state and the kill switch (see :mod:`arbcore.risk.engine`)."""

from arbcore.risk.engine import (
    ProposedLeg,
    ProposedTrade,
    RiskDecision,
    RiskEngine,
    TradingState,
    proposed_trade,
)

__all__ = [
    "ProposedLeg",
    "ProposedTrade",
    "RiskDecision",
    "RiskEngine",
    "TradingState",
    "proposed_trade",
]
