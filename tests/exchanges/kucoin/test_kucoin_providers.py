"""KuCoin spot instruments: the recorded /api/v1/symbols (2021-04-25) and hand-written ones."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import ParsedInstruments
from arbcore.exchanges.kucoin.providers import parse_instruments
from arbcore.model import Instrument
from arbcore.testing.instruments import load_rest_body


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> ParsedInstruments:
    payload = load_rest_body(shared_data / "real" / "kucoin" / "KUCOIN.0", "/api/v1/symbols")
    return parse_instruments(payload)


def _expected(native: str, base: str, quote: str, **raw: int) -> Instrument:
    return Instrument(
        venue="kucoin",
        symbol=f"{base}/{quote}",
        native_symbol=native,
        base=base,
        quote=quote,
        maker_fee=0.001,
        taker_fee=0.001,
        **raw,
    )


@pytest.mark.recording
def test_recorded_symbols_counts_enabled(recorded: ParsedInstruments) -> None:
    assert len(recorded.instruments) == 633
    assert recorded.excluded == 1  # ZEL-BTC: enableTrading false
    assert recorded.skipped == ()
    assert "ZEL/BTC" not in recorded.by_symbol()


@pytest.mark.recording
@pytest.mark.parametrize(
    "expected",
    [
        # priceIncrement 0.1, baseIncrement 0.00000001, baseMinSize 0.00001,
        # quoteMinSize 0.01 is finer than the 0.1 tick: rounded up to 0.1
        _expected("BTC-USDT", "BTC", "USDT", price_decimals=1, size_decimals=8, tick_size=1,
                  lot_size=1, min_qty=1000, min_notional=1),
        # the native symbol keeps the old ticker; baseCurrency says BSV.
        # priceIncrement 0.001, baseMinSize 0.001, quoteMinSize 0.05
        _expected("BCHSV-USDT", "BSV", "USDT", price_decimals=3, size_decimals=8, tick_size=1,
                  lot_size=1, min_qty=100_000, min_notional=50),
        # priceIncrement 0.0000000001 (10 decimals), baseIncrement 1, baseMinSize 100,
        # quoteMinSize 0.00001
        _expected("ACAT-BTC", "ACAT", "BTC", price_decimals=10, size_decimals=0, tick_size=1,
                  lot_size=1, min_qty=100, min_notional=100_000),
        # quoteMinSize 0.00000001 at a 0.0001 tick: rounded up to one tick's scale
        _expected("ATOM-USDT", "ATOM", "USDT", price_decimals=4, size_decimals=4, tick_size=1,
                  lot_size=1, min_qty=100, min_notional=1),
        # mixed-case asset code kept as given
        _expected("LYXE-USDT", "LYXe", "USDT", price_decimals=5, size_decimals=4, tick_size=1,
                  lot_size=1, min_qty=1000, min_notional=10_000),
    ],
    ids=lambda instrument: instrument.native_symbol,
)  # fmt: skip
def test_recorded_instrument_matches_raw_fields(
    recorded: ParsedInstruments, expected: Instrument
) -> None:
    assert recorded.by_symbol()[expected.symbol] == expected


def _symbol(symbol: str, enabled: Any = True, tick: str = "0.01", **extra: str) -> dict[str, Any]:
    base, quote = symbol.split("-")
    entry = {"symbol": symbol, "name": symbol, "baseCurrency": base, "quoteCurrency": quote,
             "baseMinSize": "0.001", "quoteMinSize": "0.1", "baseIncrement": "0.0001",
             "priceIncrement": tick, "enableTrading": enabled}  # fmt: skip
    entry.update(extra)
    return entry


def test_parse_disabled_symbol_is_excluded() -> None:
    payload = {"code": "200000", "data": [_symbol("ETH-USDT"), _symbol("LTC-USDT", False)]}
    result = parse_instruments(payload)
    assert [instrument.symbol for instrument in result.instruments] == ["ETH/USDT"]
    assert (result.excluded, result.skipped) == (1, ())
    eth = result.instruments[0]
    assert (eth.min_qty, eth.min_notional) == (10, 10)


def test_parse_v2_min_funds_raises_min_notional() -> None:
    payload = {"code": "200000", "data": [_symbol("ETH-USDT", minFunds="1.5")]}
    assert parse_instruments(payload).instruments[0].min_notional == 150


def test_parse_malformed_increment_is_skipped_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = {"code": "200000", "data": [_symbol("ETH-USDT", tick="1e-30"), _symbol("BTC-USDT")]}
    with caplog.at_level(logging.WARNING):
        result = parse_instruments(payload)
    assert [instrument.native_symbol for instrument in result.instruments] == ["BTC-USDT"]
    assert result.skipped == (
        ("ETH-USDT", "tick size '1e-30' is not a decimal with at most 18 decimals"),
    )
    assert "ETH-USDT skipped" in caplog.text


def test_parse_enable_trading_not_bool_is_skipped() -> None:
    result = parse_instruments({"code": "200000", "data": [_symbol("ETH-USDT", "true")]})
    assert result.skipped == (
        ("ETH-USDT", "field 'enableTrading' must be true or false, was 'true'"),
    )


def test_parse_error_envelope_raises_exchange_error() -> None:
    with pytest.raises(ExchangeError, match="Too many requests") as info:
        parse_instruments({"code": "429000", "msg": "Too many requests"})
    assert info.value.venue_code == "429000"


def test_parse_not_an_object_raises_malformed() -> None:
    with pytest.raises(MalformedMessage):
        parse_instruments([])
