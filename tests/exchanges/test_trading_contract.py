"""The trading scenarios every venue must pass the same way, over one row a venue.

Each venue's test module defines ``CASE`` (:class:`~arbcore.testing.trading_kit.TradingCase`):
its fake venue, its execution and what it sends and answers. The scenarios themselves live in
:mod:`arbcore.testing.trading_kit`, so a change in the retry or redaction rules is made once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest

from arbcore.testing import trading_kit
from arbcore.testing.trading_kit import TradingCase

VENUES = ("binance", "bitfinex", "bybit", "gateio", "htx", "kraken", "kucoin", "okx")


def _case(venue: str) -> TradingCase:
    module = importlib.import_module(f"tests.exchanges.{venue}.test_{venue}_trading")
    case: TradingCase = module.CASE
    assert case.venue == venue
    return case


SCENARIOS: list[Callable[[TradingCase], None]] = [
    trading_kit.resend_after_timeout,
    trading_kit.landed_before_timeout,
    trading_kit.never_answered,
]


@pytest.fixture(params=VENUES)
def case(request: pytest.FixtureRequest) -> TradingCase:
    return _case(request.param)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
def test_every_venue_recovers_a_placement_the_same_way(
    case: TradingCase, scenario: Callable[[TradingCase], None]
) -> None:
    scenario(case)


def test_no_venue_shows_a_secret_in_logs_errors_or_reprs(
    case: TradingCase, caplog: pytest.LogCaptureFixture
) -> None:
    trading_kit.secrets_stay_hidden(case, caplog)
