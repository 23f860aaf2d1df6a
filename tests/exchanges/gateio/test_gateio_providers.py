"""Gate.io spot instruments: the recorded currency_pairs (2021-04-22) and hand-written ones."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import ParsedInstruments
from arbcore.exchanges.gateio.providers import parse_instruments
from arbcore.model import Instrument
from arbcore.testing.instruments import load_rest_body


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> ParsedInstruments:
    payload = load_rest_body(shared_data / "real" / "gateio" / "GATEIO.0", "/spot/currency_pairs")
    return parse_instruments(payload)


def _expected(base: str, quote: str, **raw: int) -> Instrument:
    # Gate's precision / amount_precision are decimals: the tick and the lot are one raw unit.
    return Instrument(
        venue="gateio",
        symbol=f"{base}/{quote}",
        native_symbol=f"{base}_{quote}",
        base=base,
        quote=quote,
        tick_size=1,
        lot_size=1,
        maker_fee=0.002,
        taker_fee=0.002,
        **raw,
    )


@pytest.mark.recording
def test_recorded_pairs_counts_tradable(recorded: ParsedInstruments) -> None:
    # 1458 pairs: 1408 tradable, 44 untradable, 6 sellable (sell-only, e.g. ILV_ETH).
    assert len(recorded.instruments) == 1408
    assert recorded.excluded == 50
    assert recorded.skipped == ()
    assert "ILV/ETH" not in recorded.by_symbol()
    assert "SAL/USDT" not in recorded.by_symbol()


@pytest.mark.recording
@pytest.mark.parametrize(
    "expected",
    [
        # precision 2, amount_precision 4, min_base_amount 0.0001, min_quote_amount 1
        _expected("BTC", "USDT", price_decimals=2, size_decimals=4, min_qty=1, min_notional=100),
        # precision 9, amount_precision 0 (whole units), no min_base_amount, min_quote_amount 1
        _expected("SHIB", "USDT", price_decimals=9, size_decimals=0, min_qty=0,
                  min_notional=1_000_000_000),
        # min_quote_amount 0.001 is finer than precision 2: rounded up to 0.01
        _expected("DIGG", "ETH", price_decimals=2, size_decimals=5, min_qty=0, min_notional=1),
        # no min_quote_amount at all: no minimum notional
        _expected("BTC", "USDC", price_decimals=2, size_decimals=4, min_qty=1, min_notional=0),
        # precision 10 (the finest tick in the list), min_quote_amount 0.001
        _expected("TIPS", "ETH", price_decimals=10, size_decimals=0, min_qty=0,
                  min_notional=10_000_000),
    ],
    ids=lambda instrument: instrument.native_symbol,
)  # fmt: skip
def test_recorded_instrument_matches_raw_fields(
    recorded: ParsedInstruments, expected: Instrument
) -> None:
    assert recorded.by_symbol()[expected.symbol] == expected


def _pair(pair: str, status: str = "tradable", precision: Any = 2, **extra: str) -> dict[str, Any]:
    base, quote = pair.split("_")
    entry = {"id": pair, "base": base, "quote": quote, "fee": "0.2", "min_base_amount": "0.001",
             "min_quote_amount": "1", "amount_precision": 4, "precision": precision,
             "trade_status": status, "sell_start": 0, "buy_start": 0}  # fmt: skip
    entry.update(extra)
    return entry


def test_parse_untradable_and_sellable_pairs_are_excluded() -> None:
    payload = [_pair("ETH_USDT"), _pair("LTC_USDT", "untradable"), _pair("ILV_ETH", "sellable")]
    result = parse_instruments(payload)
    assert [instrument.symbol for instrument in result.instruments] == ["ETH/USDT"]
    assert (result.excluded, result.skipped) == (2, ())
    eth = result.instruments[0]
    assert (eth.price_decimals, eth.size_decimals, eth.min_qty, eth.min_notional) == (2, 4, 10, 100)


def test_parse_precision_as_text_is_skipped_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = [_pair("ETH_USDT", precision="2"), _pair("BTC_USDT")]
    with caplog.at_level(logging.WARNING):
        result = parse_instruments(payload)
    assert [instrument.native_symbol for instrument in result.instruments] == ["BTC_USDT"]
    assert result.skipped == (("ETH_USDT", "field 'precision' must be an integer, was '2'"),)
    assert "ETH_USDT skipped" in caplog.text


def test_parse_bad_min_amount_decimal_is_skipped() -> None:
    result = parse_instruments([_pair("ETH_USDT", min_base_amount="1,5")])
    assert [native for native, _ in result.skipped] == ["ETH_USDT"]
    assert "'1,5'" in result.skipped[0][1]


def test_parse_error_body_raises_exchange_error() -> None:
    with pytest.raises(ExchangeError, match="Too many requests") as info:
        parse_instruments({"label": "TOO_MANY_REQUESTS", "message": "Too many requests"})
    assert info.value.venue_code == "TOO_MANY_REQUESTS"


def test_parse_not_an_array_raises_malformed() -> None:
    with pytest.raises(MalformedMessage):
        parse_instruments({"pairs": []})
