"""Bybit spot instruments from ``GET /v5/market/instruments-info?category=spot``.

Kept: ``result.category == "spot"`` and ``status == "Trading"``. ``priceFilter.tickSize`` is the
tick, ``lotSizeFilter.basePrecision`` the quantity step (the spot docs' name for it),
``minOrderQty`` the minimum quantity and ``minOrderAmt`` the minimum notional in the quote coin.
Derivative categories are excluded: their ``XRPUSDT`` is not the spot market of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import (
    FeeSchedule,
    ParsedInstruments,
    build_instrument,
    collect_instruments,
    expect_list,
    text_field,
)
from arbcore.exchanges.bybit import constants
from arbcore.model import Instrument

__all__ = ["DEFAULT_FEES", "parse_instruments"]

DEFAULT_FEES = FeeSchedule(maker=constants.DEFAULT_MAKER_FEE, taker=constants.DEFAULT_TAKER_FEE)


def parse_instruments(payload: Any, *, fees: FeeSchedule | None = None) -> ParsedInstruments:
    """The trading spot instruments of a decoded response: ``{"retCode":0,"result":{...}}``."""
    if not isinstance(payload, Mapping):
        raise MalformedMessage("instruments response is not a JSON object", venue=constants.VENUE)
    code = payload.get("retCode")
    if code != constants.OK_CODE:
        raise ExchangeError(
            str(payload.get("retMsg") or "the instrument request failed"),
            venue=constants.VENUE,
            venue_code=None if code is None else str(code),
        )
    result = payload.get("result")
    if not isinstance(result, Mapping):
        raise MalformedMessage("instruments response has no result object", venue=constants.VENUE)
    entries = expect_list(result.get("list"), venue=constants.VENUE, what="result.list")
    if result.get("category") != constants.SPOT_CATEGORY:
        return ParsedInstruments(venue=constants.VENUE, instruments=(), excluded=len(entries))
    return collect_instruments(
        constants.VENUE, entries, _parse_entry, fees=fees or DEFAULT_FEES, symbol_field="symbol"
    )


def _parse_entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    if text_field(entry, "status") != constants.TRADING_STATUS:
        return None
    lot = _object(entry, "lotSizeFilter")
    return build_instrument(
        venue=constants.VENUE,
        native_symbol=text_field(entry, "symbol"),
        base=text_field(entry, "baseCoin"),
        quote=text_field(entry, "quoteCoin"),
        tick_size=text_field(_object(entry, "priceFilter"), "tickSize"),
        lot_size=text_field(lot, "basePrecision"),
        min_qty=text_field(lot, "minOrderQty", "0"),
        min_notional=text_field(lot, "minOrderAmt", "0"),
        fees=fees,
    )


def _object(entry: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = entry.get(key)
    if not isinstance(value, Mapping):
        raise MalformedMessage(f"field {key!r} must be an object, was {value!r}")
    return value
