"""The curated public API is pinned: adding or removing a name is a deliberate act."""

from __future__ import annotations

import arbcore

EXPECTED = [
    "ASK", "BID", "COMPILED_WITH_DEBUG", "AffinityError", "ArbcoreError", "Balance", "BookError",
    "BookEvent", "BookEventKind", "ChecksumMismatch", "ConfigError", "CrossQuote",
    "DecimalFormatError", "ExchangeError", "FeedError", "Fill", "Instrument", "L2Book",
    "MalformedMessage", "Opportunity", "OpportunityLeg", "Order", "OrderSide", "OrderStatus",
    "OrderType", "Position", "SequenceGap", "StaleBook", "TimeInForce", "current_affinity",
    "is_retryable", "limit_price", "pin_process", "pin_thread", "price_cross", "to_raw",
    "to_raw_array", "to_text",
]  # fmt: skip


def test_public_api_all_is_pinned() -> None:
    assert sorted(arbcore.__all__) == sorted(EXPECTED)
    assert len(set(arbcore.__all__)) == len(arbcore.__all__)


def test_public_api_every_name_resolves() -> None:
    for name in arbcore.__all__:
        assert getattr(arbcore, name) is not None, name


def test_public_api_release_build_has_checks_off() -> None:
    assert arbcore.COMPILED_WITH_DEBUG is False
