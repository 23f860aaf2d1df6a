"""arbcore: high-frequency crypto arbitrage with an exact, compiled hot path.

The curated public API; everything else is importable from its module but may change.
"""

from __future__ import annotations

from arbcore.errors import (
    AffinityError,
    ArbcoreError,
    BookError,
    ChecksumMismatch,
    ConfigError,
    DecimalFormatError,
    ExchangeError,
    FeedError,
    MalformedMessage,
    SequenceGap,
    StaleBook,
    is_retryable,
)
from arbcore.model import (
    Balance,
    BookEvent,
    BookEventKind,
    Fill,
    Instrument,
    Opportunity,
    OpportunityLeg,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
)
from arbcore_ext import COMPILED_WITH_DEBUG
from arbcore_ext.affinity import current_affinity, pin_process, pin_thread
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.fixedpoint import to_raw, to_raw_array, to_text
from arbcore_ext.profit import CrossQuote, limit_price, price_cross

__version__ = "0.1.0"

__all__ = [
    "ASK",
    "BID",
    "COMPILED_WITH_DEBUG",
    "AffinityError",
    "ArbcoreError",
    "Balance",
    "BookError",
    "BookEvent",
    "BookEventKind",
    "ChecksumMismatch",
    "ConfigError",
    "CrossQuote",
    "DecimalFormatError",
    "ExchangeError",
    "FeedError",
    "Fill",
    "Instrument",
    "L2Book",
    "MalformedMessage",
    "Opportunity",
    "OpportunityLeg",
    "Order",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "SequenceGap",
    "StaleBook",
    "TimeInForce",
    "current_affinity",
    "is_retryable",
    "limit_price",
    "pin_process",
    "pin_thread",
    "price_cross",
    "to_raw",
    "to_raw_array",
    "to_text",
]
