"""Binance spot instruments: the recorded exchangeInfo (2021-10-11) and hand-written payloads."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import FeeSchedule, ParsedInstruments
from arbcore.exchanges.binance.providers import parse_instruments
from arbcore.model import Instrument
from arbcore.testing.instruments import load_rest_body


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> ParsedInstruments:
    payload = load_rest_body(shared_data / "real" / "binance" / "BINANCE.0", "/api/v3/exchangeInfo")
    return parse_instruments(payload)


def _expected(native: str, base: str, quote: str, **raw: int) -> Instrument:
    # sizes are held at baseAssetPrecision (8): lots change, book levels are sums of orders
    return Instrument(
        venue="binance",
        symbol=f"{base}/{quote}",
        native_symbol=native,
        base=base,
        quote=quote,
        maker_fee=0.001,
        taker_fee=0.001,
        **raw,
    )


@pytest.mark.recording
def test_recorded_exchange_info_counts_trading_spot_symbols(recorded: ParsedInstruments) -> None:
    # 1695 symbols: 433 BREAK; 1262 TRADING, 40 of them leveraged tokens (no spot permission).
    assert len(recorded.instruments) == 1222
    assert recorded.excluded == 473
    assert recorded.skipped == ()


@pytest.mark.recording
@pytest.mark.parametrize(
    "expected",
    [
        # tickSize 0.01000000, stepSize = minQty 0.00001000, MIN_NOTIONAL 10.00000000
        _expected("BTCUSDT", "BTC", "USDT", price_decimals=2, size_decimals=8, tick_size=1,
                  lot_size=1000, min_qty=1000, min_notional=1000),
        # minNotional 0.00500000 is finer than the 0.01 tick: rounded up to 0.01
        _expected("WBTCETH", "WBTC", "ETH", price_decimals=2, size_decimals=8, tick_size=1,
                  lot_size=1000, min_qty=1000, min_notional=1),
        # tickSize "1.00" (two decimals only), stepSize 0.00100000, minNotional "20000.00"
        _expected("BNBIDRT", "BNB", "IDRT", price_decimals=0, size_decimals=8, tick_size=1,
                  lot_size=100000, min_qty=100000, min_notional=20000),
        # tickSize 0.00000001, stepSize = minQty "1.00": whole units, notional 10 at 8 decimals
        _expected("SHIBUSDT", "SHIB", "USDT", price_decimals=8, size_decimals=2, tick_size=1,
                  lot_size=100, min_qty=100, min_notional=1_000_000_000),
        # tickSize 0.00010000, stepSize 1.00000000
        _expected("DOGEUSDT", "DOGE", "USDT", price_decimals=4, size_decimals=8, tick_size=1,
                  lot_size=100000000, min_qty=100000000, min_notional=100_000),
    ],
    ids=lambda instrument: instrument.native_symbol,
)  # fmt: skip
def test_recorded_exchange_info_instrument_matches_raw_filters(
    recorded: ParsedInstruments, expected: Instrument
) -> None:
    assert recorded.by_symbol()[expected.symbol] == expected


@pytest.mark.recording
def test_recorded_exchange_info_break_and_leveraged_symbols_excluded(
    recorded: ParsedInstruments,
) -> None:
    natives = {instrument.native_symbol for instrument in recorded.instruments}
    assert "BCCBTC" not in natives  # status BREAK
    assert "BTCUPUSDT" not in natives  # TRADING, permissions ["LEVERAGED"] only


def _symbol(symbol: str, status: str = "TRADING", tick: str = "0.01000000") -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": status,
        "baseAsset": symbol[:-4],
        "quoteAsset": symbol[-4:],
        "isSpotTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1e6", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "9000", "stepSize": "0.0001"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "maxNotional": "9000000"},
        ],
    }


def test_parse_halted_symbol_is_excluded_not_skipped() -> None:
    payload = {"symbols": [_symbol("ETHUSDT"), _symbol("LTCUSDT", status="HALT")]}
    result = parse_instruments(payload)
    assert [instrument.native_symbol for instrument in result.instruments] == ["ETHUSDT"]
    assert (result.excluded, result.skipped) == (1, ())
    eth = result.instruments[0]
    assert (eth.tick_size, eth.lot_size, eth.min_qty, eth.min_notional) == (1, 1, 10, 500)


def test_parse_malformed_tick_is_skipped_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    payload = {"symbols": [_symbol("ETHUSDT", tick="0.0.1"), _symbol("BTCUSDT")]}
    with caplog.at_level(logging.WARNING):
        result = parse_instruments(payload)
    assert [instrument.native_symbol for instrument in result.instruments] == ["BTCUSDT"]
    assert [native for native, _ in result.skipped] == ["ETHUSDT"]
    assert "0.0.1" in result.skipped[0][1]
    assert "ETHUSDT skipped" in caplog.text


def test_parse_missing_lot_filter_is_skipped_with_reason() -> None:
    entry = _symbol("ETHUSDT")
    entry["filters"] = [item for item in entry["filters"] if item["filterType"] != "LOT_SIZE"]
    result = parse_instruments({"symbols": [entry]})
    assert result.skipped == (("ETHUSDT", "filter LOT_SIZE is missing"),)


def test_parse_both_notional_filters_larger_binds() -> None:
    entry = _symbol("ETHUSDT")
    entry["filters"].append({"filterType": "MIN_NOTIONAL", "minNotional": "10.00000000"})
    only_min = copy.deepcopy(entry)
    only_min["filters"] = [item for item in entry["filters"] if item["filterType"] != "NOTIONAL"]
    none = copy.deepcopy(only_min)
    none["filters"] = [item for item in none["filters"] if item["filterType"] != "MIN_NOTIONAL"]
    for item, expected in ((entry, 1000), (only_min, 1000), (none, 0)):
        assert parse_instruments({"symbols": [item]}).instruments[0].min_notional == expected


def test_parse_fee_schedule_overrides_default() -> None:
    fees = FeeSchedule(maker=0.00075, taker=0.00075)
    instrument = parse_instruments({"symbols": [_symbol("ETHUSDT")]}, fees=fees).instruments[0]
    assert (instrument.maker_fee, instrument.taker_fee) == (0.00075, 0.00075)


def test_parse_error_body_raises_exchange_error() -> None:
    with pytest.raises(ExchangeError, match="Invalid symbol") as info:
        parse_instruments({"code": -1121, "msg": "Invalid symbol."})
    assert info.value.venue_code == "-1121"


@pytest.mark.parametrize("payload", [[], {"symbols": {}}, "x"])
def test_parse_wrong_shape_raises_malformed(payload: Any) -> None:
    with pytest.raises(MalformedMessage):
        parse_instruments(payload)
