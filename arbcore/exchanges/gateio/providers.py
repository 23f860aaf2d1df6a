"""Gate.io spot instruments from ``GET /api/v4/spot/currency_pairs``.

Kept: ``trade_status == "tradable"`` (``buyable``/``sellable`` allow one side only). Gate gives
``precision`` and ``amount_precision`` as numbers of decimals, so the tick is 10**-precision and
the lot 10**-amount_precision. ``min_base_amount`` and ``min_quote_amount`` are optional: absent
means no minimum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbcore.errors import ExchangeError
from arbcore.exchanges.base import (
    FeeSchedule,
    ParsedInstruments,
    build_instrument,
    collect_instruments,
    expect_list,
    int_field,
    step_text,
    text_field,
)
from arbcore.exchanges.gateio import constants
from arbcore.model import Instrument

__all__ = ["DEFAULT_FEES", "parse_instruments"]

DEFAULT_FEES = FeeSchedule(maker=constants.DEFAULT_MAKER_FEE, taker=constants.DEFAULT_TAKER_FEE)


def parse_instruments(payload: Any, *, fees: FeeSchedule | None = None) -> ParsedInstruments:
    """The tradable pairs of a decoded currency_pairs response (a bare JSON array)."""
    if isinstance(payload, Mapping) and "label" in payload:
        raise ExchangeError(
            str(payload.get("message", "currency_pairs failed")),
            venue=constants.VENUE,
            venue_code=str(payload["label"]),
        )
    entries = expect_list(payload, venue=constants.VENUE, what="currency_pairs response")
    return collect_instruments(
        constants.VENUE, entries, _parse_entry, fees=fees or DEFAULT_FEES, symbol_field="id"
    )


def _parse_entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    if text_field(entry, "trade_status") != constants.TRADABLE:
        return None
    return build_instrument(
        venue=constants.VENUE,
        native_symbol=text_field(entry, "id"),
        base=text_field(entry, "base"),
        quote=text_field(entry, "quote"),
        tick_size=step_text(int_field(entry, "precision")),
        lot_size=step_text(int_field(entry, "amount_precision")),
        min_qty=text_field(entry, "min_base_amount", "0"),
        min_notional=text_field(entry, "min_quote_amount", "0"),
        fees=fees,
    )
