"""Kraken spot instruments: the recorded AssetPairs (2021-04-17) and hand-written payloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import FeeSchedule, ParsedInstruments
from arbcore.exchanges.kraken.providers import parse_instruments
from arbcore.model import Instrument
from arbcore.testing.instruments import load_rest_body


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> ParsedInstruments:
    return parse_instruments(
        load_rest_body(shared_data / "real/kraken/KRAKEN.0", "/0/public/AssetPairs")
    )


@pytest.mark.recording
def test_recorded_asset_pairs_counts_websocket_pairs(recorded: ParsedInstruments) -> None:
    # 304 pairs: 11 dark-pool ".d" pairs have no wsname (not on the WebSocket)
    assert (len(recorded.instruments), recorded.excluded, recorded.skipped) == (293, 11, ())


@pytest.mark.recording
def test_recorded_xbt_usd_is_btc_usd_at_pair_and_lot_decimals(recorded: ParsedInstruments) -> None:
    # pair_decimals 1, lot_decimals 8, ordermin 0.0002, base tier 0.16 % / 0.26 %
    assert recorded.by_symbol()["BTC/USD"] == Instrument(
        venue="kraken", symbol="BTC/USD", native_symbol="XBT/USD", base="BTC", quote="USD",
        price_decimals=1, size_decimals=8, tick_size=1, lot_size=1, min_qty=20000,
        maker_fee=0.0016, taker_fee=0.0026,
    )  # fmt: skip


@pytest.mark.recording
def test_recorded_xdg_is_doge_and_stablecoin_pairs_take_their_own_fees(
    recorded: ParsedInstruments,
) -> None:
    pairs = recorded.by_symbol()
    assert pairs["DOGE/USD"].native_symbol == "XDG/USD"
    assert pairs["ADA/BTC"].native_symbol == "ADA/XBT"
    assert (pairs["USDT/USD"].maker_fee, pairs["USDT/USD"].taker_fee) == (0.002, 0.002)


def _pair(wsname: str = "ETH/USD", **extra: Any) -> dict[str, Any]:
    return {"altname": wsname.replace("/", ""), "wsname": wsname, "pair_decimals": 2,
            "lot_decimals": 8, "ordermin": "0.005", **extra}  # fmt: skip


def test_parse_costmin_and_status() -> None:
    payload = {"error": [], "result": {
        "XETHZUSD": _pair(costmin="0.5", status="online"),
        "XLTCZUSD": _pair("LTC/USD", status="cancel_only"),
    }}  # fmt: skip
    result = parse_instruments(payload)
    (eth,) = result.instruments
    assert (eth.symbol, eth.min_notional, eth.min_qty, result.excluded) == (
        "ETH/USD",
        50,
        500000,
        1,
    )
    assert (eth.maker_fee, eth.taker_fee) == (0.0016, 0.0026)  # no tables: the defaults


def test_parse_fee_schedule_overrides_tables() -> None:
    entry = _pair(fees=[[0, 0.26]], fees_maker=[[0, 0.16]])
    fees = FeeSchedule(maker=0.0025, taker=0.004)
    (eth,) = parse_instruments({"error": [], "result": {"X": entry}}, fees=fees).instruments
    assert (eth.maker_fee, eth.taker_fee) == (0.0025, 0.004)


def test_parse_bad_wsname_is_skipped_with_reason() -> None:
    result = parse_instruments({"error": [], "result": {"X": _pair("ETHUSD")}})
    assert result.skipped == (("ETHUSD", "wsname 'ETHUSD' is not BASE/QUOTE"),)


def test_parse_error_body_raises_exchange_error() -> None:
    with pytest.raises(ExchangeError, match="Unknown asset pair") as info:
        parse_instruments({"error": ["EQuery:Unknown asset pair"], "result": {}})
    assert info.value.venue_code == "EQuery:Unknown asset pair"


@pytest.mark.parametrize("payload", [[], {"error": [], "result": []}, "x"])
def test_parse_wrong_shape_raises_malformed(payload: Any) -> None:
    with pytest.raises(MalformedMessage):
        parse_instruments(payload)
