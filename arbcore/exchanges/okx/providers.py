"""OKX spot instruments from ``GET /api/v5/public/instruments?instType=SPOT``.

Kept: ``instType == "SPOT"`` and ``state == "live"``. tickSz is the price tick, lotSz the size
step, minSz the minimum size. OKX publishes no minimum notional, so ``min_notional`` is 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbcore.exchanges.base import (
    FeeSchedule,
    ParsedInstruments,
    build_instrument,
    coded_data_list,
    collect_instruments,
    text_field,
)
from arbcore.exchanges.okx import constants
from arbcore.model import Instrument

__all__ = ["DEFAULT_FEES", "parse_instruments"]

DEFAULT_FEES = FeeSchedule(maker=constants.DEFAULT_MAKER_FEE, taker=constants.DEFAULT_TAKER_FEE)


def parse_instruments(payload: Any, *, fees: FeeSchedule | None = None) -> ParsedInstruments:
    """The live spot instruments of a decoded instruments response: ``{"code":"0","data":[]}``."""
    entries = coded_data_list(
        payload, venue=constants.VENUE, ok_code=constants.OK_CODE, what="instruments response"
    )
    return collect_instruments(
        constants.VENUE, entries, _parse_entry, fees=fees or DEFAULT_FEES, symbol_field="instId"
    )


def _parse_entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    if text_field(entry, "instType") != constants.SPOT_INST_TYPE:
        return None
    if text_field(entry, "state") != constants.LIVE_STATE:
        return None
    return build_instrument(
        venue=constants.VENUE,
        native_symbol=text_field(entry, "instId"),
        base=text_field(entry, "baseCcy"),
        quote=text_field(entry, "quoteCcy"),
        tick_size=text_field(entry, "tickSz"),
        lot_size=text_field(entry, "lotSz"),
        min_qty=text_field(entry, "minSz", "0"),
        fees=fees,
    )
