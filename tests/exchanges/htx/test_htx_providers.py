"""HTX spot instruments: the recorded /v1/common/symbols (2021-04-17), the documented
market-symbols list, and hand-written payloads."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import ParsedInstruments
from arbcore.exchanges.htx.providers import parse_instruments
from arbcore.model import Instrument
from arbcore.testing.instruments import load_rest_body


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> ParsedInstruments:
    return parse_instruments(
        load_rest_body(shared_data / "real" / "htx" / "HUOBI.0", "/v1/common/symbols")
    )


def _expected(native: str, base: str, quote: str, **raw: int) -> Instrument:
    # sizes are held at 8 decimals at least: HTX book sizes are doubles far finer than the lot
    return Instrument(
        venue="htx",
        symbol=f"{base}/{quote}",
        native_symbol=native,
        base=base,
        quote=quote,
        size_decimals=8,
        tick_size=1,
        maker_fee=0.002,
        taker_fee=0.002,
        **raw,
    )


@pytest.mark.recording
def test_recorded_symbols_counts_online(recorded: ParsedInstruments) -> None:
    # 938 symbols: 883 online, 55 offline
    assert len(recorded.instruments) == 883
    assert recorded.excluded == 55
    assert recorded.skipped == ()
    assert "VEN/ETH" not in recorded.by_symbol()  # state offline


@pytest.mark.recording
@pytest.mark.parametrize(
    "expected",
    [
        # price-precision 2, amount-precision 6, min-order-amt 0.0001, min-order-value 5
        _expected("btcusdt", "BTC", "USDT", price_decimals=2, lot_size=100, min_qty=10_000,
                  min_notional=500),
        # price-precision 10, amount-precision 2, min-order-amt 1, min-order-value 0.0001
        _expected("yeebtc", "YEE", "BTC", price_decimals=10, lot_size=1_000_000,
                  min_qty=100_000_000, min_notional=1_000_000),
        # min-order-amt 0.00001: a plain JSON decoder gives the float 1e-05, read as its text
        _expected("yfihusd", "YFI", "HUSD", price_decimals=2, lot_size=100, min_qty=1_000,
                  min_notional=500),
        # an ETP: price-precision 8, amount-precision 4, min-order-amt 0.01, min-order-value 5
        _expected("fil3susdt", "FIL3S", "USDT", price_decimals=8, lot_size=10_000,
                  min_qty=1_000_000, min_notional=500_000_000),
    ],
    ids=lambda instrument: instrument.native_symbol,
)  # fmt: skip
def test_recorded_instrument_matches_raw_fields(
    recorded: ParsedInstruments, expected: Instrument
) -> None:
    assert recorded.by_symbol()[expected.symbol] == expected


def test_documented_market_symbols_short_keys_parse(shared_data: Path) -> None:
    vector = json.loads((shared_data / "vectors/htx/rest_market_symbols.json").read_text())
    (btc3l,) = parse_instruments(vector["response"]).instruments
    # pp 4, ap 4, minoa 0.01, lominoa 0.01, minov 5
    assert btc3l == Instrument(
        venue="htx", symbol="BTC3L/USDT", native_symbol="btc3lusdt", base="BTC3L", quote="USDT",
        price_decimals=4, size_decimals=8, tick_size=1, lot_size=10_000, min_qty=1_000_000,
        min_notional=50_000, maker_fee=0.002, taker_fee=0.002,
    )  # fmt: skip


def _symbol(native: str, state: str = "online", **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "base-currency": native[:-4], "quote-currency": native[-4:], "symbol": native,
        "state": state, "price-precision": 2, "amount-precision": 4, "min-order-amt": 0.001,
        "limit-order-min-order-amt": 0.001, "min-order-value": 5, "api-trading": "enabled",
    }  # fmt: skip
    entry.update(extra)
    return entry


def _payload(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok", "data": list(entries)}


def test_parse_offline_symbol_is_excluded_not_skipped() -> None:
    result = parse_instruments(_payload(_symbol("ethusdt"), _symbol("ltcusdt", "offline")))
    assert [instrument.symbol for instrument in result.instruments] == ["ETH/USDT"]
    assert (result.excluded, result.skipped) == (1, ())


def test_parse_number_text_and_float_give_the_same_instrument() -> None:
    as_float = parse_instruments(_payload(_symbol("ethusdt"))).instruments
    as_text = parse_instruments(
        _payload(_symbol("ethusdt", **{"min-order-amt": "0.001", "min-order-value": "5"}))
    ).instruments
    assert as_float == as_text
    assert (as_text[0].min_qty, as_text[0].min_notional) == (100_000, 500)


def test_parse_larger_limit_order_minimum_binds() -> None:
    entry = _symbol("ethusdt", **{"limit-order-min-order-amt": 0.01})
    assert parse_instruments(_payload(entry)).instruments[0].min_qty == 1_000_000


def test_parse_bad_precision_is_skipped_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        result = parse_instruments(
            _payload(_symbol("ethusdt", **{"price-precision": 2.5}), _symbol("btcusdt"))
        )
    assert [instrument.native_symbol for instrument in result.instruments] == ["btcusdt"]
    assert result.skipped == (("ethusdt", "field 'price-precision' must be an integer, was 2.5"),)
    assert "ethusdt skipped" in caplog.text


def test_parse_error_envelope_raises_exchange_error() -> None:
    body = {"status": "error", "err-code": "invalid-parameter", "err-msg": "invalid symbol"}
    with pytest.raises(ExchangeError, match="invalid symbol") as info:
        parse_instruments(body)
    assert info.value.venue_code == "invalid-parameter"


@pytest.mark.parametrize("payload", [[], {"status": "ok", "data": {}}, "x"])
def test_parse_wrong_shape_raises_malformed(payload: Any) -> None:
    with pytest.raises(MalformedMessage):
        parse_instruments(payload)
