"""OKX spot instruments: the recorded instruments responses (2022-05-13) and hand-written ones."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import ParsedInstruments
from arbcore.exchanges.okx.providers import parse_instruments
from arbcore.model import Instrument
from arbcore.testing.instruments import iter_rest_bodies, load_rest_body

SPOT_URL = "instType=SPOT"


@pytest.fixture(scope="module")
def recording(shared_data: Path) -> Path:
    return shared_data / "real" / "okx" / "OKX.0"


@pytest.fixture(scope="module")
def recorded(recording: Path) -> ParsedInstruments:
    return parse_instruments(load_rest_body(recording, SPOT_URL))


def _expected(base: str, quote: str, **raw: int) -> Instrument:
    return Instrument(
        venue="okx",
        symbol=f"{base}/{quote}",
        native_symbol=f"{base}-{quote}",
        base=base,
        quote=quote,
        min_notional=0,  # OKX publishes no minimum notional
        maker_fee=0.0008,
        taker_fee=0.001,
        **raw,
    )


@pytest.mark.recording
def test_recorded_instruments_counts_live_spot(recorded: ParsedInstruments) -> None:
    assert len(recorded.instruments) == 513
    assert (recorded.excluded, recorded.skipped) == (0, ())


@pytest.mark.recording
def test_recorded_file_holds_five_identical_spot_responses(recording: Path) -> None:
    bodies = list(iter_rest_bodies(recording))
    spot = [body.body for body in bodies if SPOT_URL in body.url]
    assert (len(bodies), len(spot)) == (25, 5)
    assert all(body == spot[0] for body in spot)


@pytest.mark.recording
@pytest.mark.parametrize(
    "expected",
    [
        # tickSz 0.1, lotSz 0.00000001, minSz 0.00001
        _expected("BTC", "USDT", price_decimals=1, size_decimals=8, tick_size=1, lot_size=1,
                  min_qty=1000),
        # tickSz 0.000000000001 (12 decimals), lotSz 1, minSz 1000000000
        _expected("BABYDOGE", "USDT", price_decimals=12, size_decimals=0, tick_size=1,
                  lot_size=1, min_qty=1_000_000_000),
        # tickSz 1, lotSz 0.000001, minSz 0.0001
        _expected("YFI", "USDT", price_decimals=0, size_decimals=6, tick_size=1, lot_size=1,
                  min_qty=100),
    ],
    ids=lambda instrument: instrument.native_symbol,
)  # fmt: skip
def test_recorded_instrument_matches_raw_fields(
    recorded: ParsedInstruments, expected: Instrument
) -> None:
    assert recorded.by_symbol()[expected.symbol] == expected


@pytest.mark.recording
def test_recorded_swap_response_yields_no_spot(recording: Path) -> None:
    result = parse_instruments(load_rest_body(recording, "instType=SWAP"))
    assert result.instruments == ()
    assert result.skipped == ()
    assert result.excluded > 0


def _inst(inst_id: str, state: str = "live", tick: str = "0.01", **extra: str) -> dict[str, Any]:
    base, quote = inst_id.split("-")
    entry = {"instId": inst_id, "instType": "SPOT", "baseCcy": base, "quoteCcy": quote,
             "tickSz": tick, "lotSz": "0.0001", "minSz": "0.001", "state": state}  # fmt: skip
    entry.update(extra)
    return entry


def test_parse_suspended_instrument_is_excluded() -> None:
    payload = {"code": "0", "msg": "", "data": [_inst("ETH-USDT"), _inst("LTC-USDT", "suspend")]}
    result = parse_instruments(payload)
    assert [instrument.symbol for instrument in result.instruments] == ["ETH/USDT"]
    assert (result.excluded, result.skipped) == (1, ())
    eth = result.instruments[0]
    assert (eth.price_decimals, eth.size_decimals, eth.min_qty) == (2, 4, 10)


def test_parse_malformed_tick_is_skipped_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    payload = {"code": "0", "data": [_inst("ETH-USDT", tick="abc"), _inst("BTC-USDT")]}
    with caplog.at_level(logging.WARNING):
        result = parse_instruments(payload)
    assert [instrument.native_symbol for instrument in result.instruments] == ["BTC-USDT"]
    assert [native for native, _ in result.skipped] == ["ETH-USDT"]
    assert "'abc'" in result.skipped[0][1]
    assert "ETH-USDT skipped" in caplog.text


def test_parse_missing_base_is_skipped_with_reason() -> None:
    entry = _inst("ETH-USDT")
    del entry["baseCcy"]
    result = parse_instruments({"code": "0", "data": [entry]})
    assert result.skipped == (("ETH-USDT", "field 'baseCcy' is missing"),)


def test_parse_error_envelope_raises_exchange_error() -> None:
    with pytest.raises(ExchangeError, match="Too Many Requests") as info:
        parse_instruments({"code": "50011", "msg": "Too Many Requests", "data": []})
    assert info.value.venue_code == "50011"


def test_parse_data_not_a_list_raises_malformed() -> None:
    with pytest.raises(MalformedMessage):
        parse_instruments({"code": "0", "data": {}})
