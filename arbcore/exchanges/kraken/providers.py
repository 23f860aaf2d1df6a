"""Kraken spot instruments from ``GET /0/public/AssetPairs``.

The response is ``{"error": [...], "result": {pair: entry}}``; a non-empty ``error`` is a failure.
Kept: pairs with a ``wsname`` (dark-pool ``.d`` pairs have none: they are not on the WebSocket)
whose ``status`` is absent (captures before 2022) or ``online``. ``pair_decimals`` gives the price
tick (10**-pair_decimals), ``lot_decimals`` the size step, ``ordermin`` the minimum volume and
``costmin`` (newer responses) the minimum cost. The native symbol is the ``wsname`` the v1
WebSocket uses (``XBT/USD``); the unified symbol spells XBT and XDG as BTC and DOGE, as Kraken's
own v2 WebSocket does (``BTC/USD``), so one symbol means one asset across venues.

Fees: without an explicit schedule each pair takes the base tier of its own ``fees_maker`` /
``fees`` tables (percent at 30-day volume 0).
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
    int_field,
    step_text,
    text_field,
)
from arbcore.exchanges.kraken import constants
from arbcore.model import Instrument

__all__ = ["DEFAULT_FEES", "parse_instruments", "unified_asset"]

DEFAULT_FEES = FeeSchedule(maker=constants.DEFAULT_MAKER_FEE, taker=constants.DEFAULT_TAKER_FEE)


def unified_asset(code: str) -> str:
    """arbcore's name of a Kraken ``wsname`` asset code (XBT -> BTC, XDG -> DOGE)."""
    return constants.ASSET_ALIASES.get(code, code)


def parse_instruments(payload: Any, *, fees: FeeSchedule | None = None) -> ParsedInstruments:
    """The WebSocket-listed spot pairs of a decoded AssetPairs response."""
    if not isinstance(payload, Mapping):
        raise MalformedMessage("AssetPairs response is not a JSON object", venue=constants.VENUE)
    errors = payload.get("error")
    if errors:
        raise ExchangeError(
            "; ".join(str(error) for error in errors) if isinstance(errors, list) else str(errors),
            venue=constants.VENUE,
            venue_code=str(errors[0]) if isinstance(errors, list) else None,
        )
    result = payload.get("result")
    if not isinstance(result, Mapping):
        raise MalformedMessage(
            f"AssetPairs result is not a JSON object (was {type(result).__name__})",
            venue=constants.VENUE,
        )

    def parse_entry(entry: Mapping[str, Any], default: FeeSchedule) -> Instrument | None:
        return _parse_entry(entry, fees or _table_fees(entry) or default)

    return collect_instruments(
        constants.VENUE, list(result.values()), parse_entry, fees=DEFAULT_FEES,
        symbol_field="altname",
    )  # fmt: skip


def _parse_entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    if "wsname" not in entry:
        return None
    status = entry.get("status")
    if status is not None and status not in constants.TRADING_STATUSES:
        return None
    wsname = text_field(entry, "wsname")
    base, sep, quote = wsname.partition("/")
    if not (sep and base and quote):
        raise MalformedMessage(f"wsname {wsname!r} is not BASE/QUOTE")
    return build_instrument(
        venue=constants.VENUE,
        native_symbol=wsname,
        base=unified_asset(base),
        quote=unified_asset(quote),
        tick_size=step_text(int_field(entry, "pair_decimals")),
        lot_size=step_text(int_field(entry, "lot_decimals")),
        min_qty=text_field(entry, "ordermin", "0"),
        min_notional=text_field(entry, "costmin", "0"),
        fees=fees,
    )


def _table_fees(entry: Mapping[str, Any]) -> FeeSchedule | None:
    """The volume-0 tier of the pair's fee tables, as fractions; None when absent or odd."""
    maker, taker = _base_tier(entry.get("fees_maker")), _base_tier(entry.get("fees"))
    if maker is None or taker is None:
        return None
    return FeeSchedule(maker=maker / 100, taker=taker / 100)


def _base_tier(table: object) -> float | None:
    if not isinstance(table, list) or not table:
        return None
    first = table[0]
    if not (isinstance(first, list) and len(first) == 2 and first[0] == 0):
        return None
    value = first[1]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
