"""Risk limits, the trading state and the kill switch (see :mod:`arbcore.risk.engine`)."""

from arbcore.risk.engine import (
    ProposedLeg,
    ProposedTrade,
    RiskDecision,
    RiskEngine,
    TradingState,
)

__all__ = ["ProposedLeg", "ProposedTrade", "RiskDecision", "RiskEngine", "TradingState"]
