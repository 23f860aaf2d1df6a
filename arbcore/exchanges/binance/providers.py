"""Binance spot instruments from ``GET /api/v3/exchangeInfo``.

Kept: ``status == "TRADING"`` and ``isSpotTradingAllowed`` (leveraged tokens such as BTCUP trade
under the LEVERAGED permission only, so they are excluded). Rules come from the filters:
PRICE_FILTER.tickSize, LOT_SIZE.stepSize / minQty, and minNotional of NOTIONAL or the older
MIN_NOTIONAL (the larger when both are present; none means no minimum).
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
    int_field,
    text_field,
)
from arbcore.exchanges.binance import constants
from arbcore.model import Instrument

__all__ = ["DEFAULT_FEES", "parse_instruments"]

DEFAULT_FEES = FeeSchedule(maker=constants.DEFAULT_MAKER_FEE, taker=constants.DEFAULT_TAKER_FEE)

_NOTIONAL_FILTERS = ("NOTIONAL", "MIN_NOTIONAL")


def parse_instruments(payload: Any, *, fees: FeeSchedule | None = None) -> ParsedInstruments:
    """The trading spot instruments of a decoded exchangeInfo response."""
    if not isinstance(payload, Mapping):
        raise MalformedMessage("exchangeInfo response is not a JSON object", venue=constants.VENUE)
    if "symbols" not in payload and "code" in payload:
        raise ExchangeError(
            str(payload.get("msg", "exchangeInfo failed")),
            venue=constants.VENUE,
            venue_code=str(payload["code"]),
        )
    entries = expect_list(payload.get("symbols"), venue=constants.VENUE, what="symbols")
    return collect_instruments(
        constants.VENUE, entries, _parse_entry, fees=fees or DEFAULT_FEES, symbol_field="symbol"
    )


def _HAS_PRECISION(entry: Mapping[str, Any]) -> bool:  # noqa: N802 - reads like a flag
    return "baseAssetPrecision" in entry


def _parse_entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    if text_field(entry, "status") != constants.TRADING_STATUS:
        return None
    if entry.get("isSpotTradingAllowed") is False:
        return None
    filters = _filters(entry)
    price_filter = _filter(filters, "PRICE_FILTER")
    lot_filter = _filter(filters, "LOT_SIZE")
    return build_instrument(
        venue=constants.VENUE,
        native_symbol=text_field(entry, "symbol"),
        base=text_field(entry, "baseAsset"),
        quote=text_field(entry, "quoteAsset"),
        tick_size=text_field(price_filter, "tickSize"),
        lot_size=text_field(lot_filter, "stepSize"),
        min_qty=text_field(lot_filter, "minQty", "0"),
        min_notional=tuple(
            text_field(filters[name], "minNotional", "0")
            for name in _NOTIONAL_FILTERS
            if name in filters
        ),
        fees=fees,
        size_precision=int_field(entry, "baseAssetPrecision")
        if "baseAssetPrecision" in entry
        else 0,
    )


def _filters(entry: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    filters = entry.get("filters")
    if not isinstance(filters, list):
        raise MalformedMessage(f"field 'filters' must be a list, was {filters!r}")
    return {
        item["filterType"]: item
        for item in filters
        if isinstance(item, Mapping) and isinstance(item.get("filterType"), str)
    }


def _filter(filters: Mapping[str, Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    try:
        return filters[name]
    except KeyError:
        raise MalformedMessage(f"filter {name} is missing") from None
