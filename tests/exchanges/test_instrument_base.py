"""The venue-neutral instrument helpers and the recording reader the venue tests rely on."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import (
    FeeSchedule,
    build_instrument,
    ceil_raw,
    collect_instruments,
    decimals_of,
    int_field,
    raise_for_code,
    step_text,
    text_field,
)
from arbcore.model import Instrument
from arbcore.testing.instruments import iter_rest_bodies, load_rest_body

FEES = FeeSchedule(maker=0.001, taker=0.002)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.01000000", 2), ("1e-8", 8), ("1E-12", 12), ("1", 0), ("10", 0), ("1.00", 0), ("0.5", 1)],
)
def test_decimals_of_step_text_gives_fewest_exact_decimals(text: str, expected: int) -> None:
    assert decimals_of(text) == expected


def test_decimals_of_too_many_digits_raises_malformed() -> None:
    with pytest.raises(MalformedMessage, match="at most 18 decimals"):
        decimals_of("1e-19", "tick size")


@pytest.mark.parametrize(
    ("text", "decimals", "expected"),
    [
        ("10.00000000", 2, 1000),  # padded zeros are exact
        ("0.005", 2, 1),  # finer than the scale: rounded up, never down
        ("0.011", 2, 2),
        ("0.00000001", 4, 1),
        ("0", 2, 0),
        ("20000", 0, 20000),
    ],
)
def test_ceil_raw_finer_than_scale_rounds_up(text: str, decimals: int, expected: int) -> None:
    assert ceil_raw(text, decimals) == expected


@pytest.mark.parametrize(("decimals", "expected"), [(0, "1"), (1, "0.1"), (4, "0.0001")])
def test_step_text_decimals_give_one_unit_step(decimals: int, expected: str) -> None:
    assert step_text(decimals) == expected


@pytest.mark.parametrize("decimals", [-1, 19])
def test_step_text_out_of_range_raises_malformed(decimals: int) -> None:
    with pytest.raises(MalformedMessage, match="precision"):
        step_text(decimals)


def test_build_instrument_rounds_min_qty_up_to_the_lot() -> None:
    instrument = build_instrument(
        venue="v",
        native_symbol="X_Y",
        base="X",
        quote="Y",
        tick_size="0.01",
        lot_size="0.005",
        min_qty="0.0001",  # finer than the size scale, then not a lot multiple
        min_notional=("0.005", "0.02"),  # the largest binds, at the price scale
        fees=FEES,
    )
    assert (instrument.price_decimals, instrument.size_decimals) == (2, 3)
    assert (instrument.tick_size, instrument.lot_size, instrument.min_qty) == (1, 5, 5)
    assert instrument.min_notional == 2
    assert (instrument.maker_fee, instrument.taker_fee) == (0.001, 0.002)


def test_build_instrument_lot_bigger_than_one_keeps_zero_decimals() -> None:
    instrument = build_instrument(
        venue="v",
        native_symbol="XY",
        base="X",
        quote="Y",
        tick_size="1e-8",
        lot_size="10",
        min_qty="25",
        fees=FEES,
    )
    assert (instrument.price_decimals, instrument.tick_size) == (8, 1)
    assert (instrument.size_decimals, instrument.lot_size, instrument.min_qty) == (0, 10, 30)


def test_build_instrument_zero_tick_raises_malformed() -> None:
    with pytest.raises(MalformedMessage, match="must be > 0"):
        build_instrument(
            venue="v",
            native_symbol="XY",
            base="X",
            quote="Y",
            tick_size="0.00000000",
            lot_size="1",
            fees=FEES,
        )


def test_text_and_int_fields_wrong_type_raise_malformed() -> None:
    entry: dict[str, Any] = {"a": 1, "b": "x", "c": True, "d": "3"}
    with pytest.raises(MalformedMessage, match="'a' must be a non-empty string"):
        text_field(entry, "a")
    with pytest.raises(MalformedMessage, match="'z' is missing"):
        text_field(entry, "z")
    assert text_field(entry, "z", "0") == "0"
    assert int_field(entry, "a") == 1
    for key in ("c", "d"):
        with pytest.raises(MalformedMessage, match="must be an integer"):
            int_field(entry, key)


def test_raise_for_code_error_envelope_raises_exchange_error() -> None:
    with pytest.raises(ExchangeError, match=r"v: busy \(code 50001\)") as info:
        raise_for_code({"code": "50001", "msg": "busy"}, venue="v", ok_code="0")
    assert info.value.venue_code == "50001"
    raise_for_code({"code": "0", "data": []}, venue="v", ok_code="0")


def _entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    if entry.get("halted"):
        return None
    return build_instrument(
        venue="v",
        native_symbol=text_field(entry, "s"),
        base=text_field(entry, "b"),
        quote=text_field(entry, "q"),
        tick_size=text_field(entry, "t"),
        lot_size="1",
        fees=fees,
    )


def test_collect_instruments_sorts_entries_into_kept_excluded_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entries: list[Any] = [
        {"s": "XY", "b": "X", "q": "Y", "t": "0.1"},
        {"s": "XZ", "b": "X", "q": "Z", "t": "0.1", "halted": True},
        {"s": "XW", "b": "X", "q": "W", "t": "0.1x"},
        {"s": "X-Y", "b": "X", "q": "Y", "t": "0.01"},
        ["not", "an", "object"],
        {"b": "X", "q": "V", "t": "0.1"},
    ]
    with caplog.at_level(logging.WARNING, logger="arbcore.exchanges.base"):
        result = collect_instruments("v", entries, _entry, fees=FEES, symbol_field="s")
    assert [instrument.native_symbol for instrument in result.instruments] == ["XY"]
    assert result.excluded == 1
    assert [native for native, _ in result.skipped] == ["XW", "X-Y", "?", "?"]
    reasons = [reason for _, reason in result.skipped]
    assert "0.1x" in reasons[0]
    assert reasons[1] == "duplicate of XY (X/Y)"
    assert reasons[2] == "entry is not a JSON object (was list)"
    assert reasons[3] == "field 's' is missing"
    assert len(caplog.records) == 4
    assert all(record.levelno == logging.WARNING for record in caplog.records)
    assert result.by_symbol()["X/Y"].tick_size == 1


def test_load_rest_body_reads_only_rest_lines(tmp_path: Path) -> None:
    recording = tmp_path / "FEED.0"
    recording.write_text(
        'configuration: {"l2_book": ["BTC-USDT"]}\n'
        "wss://x/ws <-> 1.5\n"
        '2.0: {"not": "rest"}\n'
        'https://x/api/a?k=1 -> 3.25: {"a": [1, "0.10"]}\n'
        'https://x/api/b -> 4.5: [{"b": 2}]\n',
        encoding="utf-8",
    )
    assert load_rest_body(recording) == {"a": [1, "0.10"]}
    assert load_rest_body(recording, "/api/b") == [{"b": 2}]
    bodies = list(iter_rest_bodies(recording))
    assert [(body.url, body.ts) for body in bodies] == [
        ("https://x/api/a?k=1", 3.25),
        ("https://x/api/b", 4.5),
    ]
    with pytest.raises(MalformedMessage, match="no REST response with '/api/c'"):
        load_rest_body(recording, "/api/c")


def test_load_rest_body_bad_json_names_the_line(tmp_path: Path) -> None:
    recording = tmp_path / "FEED.0"
    recording.write_text("https://x/api -> 1.0: {broken\n", encoding="utf-8")
    with pytest.raises(MalformedMessage, match=r"FEED\.0 line 1"):
        load_rest_body(recording)
