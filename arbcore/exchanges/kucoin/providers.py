"""KuCoin spot instruments from ``GET /api/v2/symbols`` (or v1, same shape).

Kept: ``enableTrading`` true. priceIncrement is the tick, baseIncrement the size step,
baseMinSize the minimum size, quoteMinSize the minimum order value in the quote asset; v2's
minFunds, when present, raises that minimum (the larger of the two binds).

The unified symbol is built from baseCurrency/quoteCurrency, which can differ from the native
symbol: the 2021 list has ``BCHSV-USDT`` with baseCurrency ``BSV`` and ``LOKI-BTC`` with ``OXEN``.
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
    flag_field,
    text_field,
)
from arbcore.exchanges.kucoin import constants
from arbcore.model import Instrument

__all__ = ["DEFAULT_FEES", "parse_instruments"]

DEFAULT_FEES = FeeSchedule(maker=constants.DEFAULT_MAKER_FEE, taker=constants.DEFAULT_TAKER_FEE)


def parse_instruments(payload: Any, *, fees: FeeSchedule | None = None) -> ParsedInstruments:
    """The tradable instruments of a decoded symbols response: ``{"code":"200000","data":[]}``."""
    entries = coded_data_list(
        payload, venue=constants.VENUE, ok_code=constants.OK_CODE, what="symbols response"
    )
    return collect_instruments(
        constants.VENUE, entries, _parse_entry, fees=fees or DEFAULT_FEES, symbol_field="symbol"
    )


def _parse_entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    if not flag_field(entry, "enableTrading"):
        return None
    return build_instrument(
        venue=constants.VENUE,
        native_symbol=text_field(entry, "symbol"),
        base=text_field(entry, "baseCurrency"),
        quote=text_field(entry, "quoteCurrency"),
        tick_size=text_field(entry, "priceIncrement"),
        lot_size=text_field(entry, "baseIncrement"),
        min_qty=text_field(entry, "baseMinSize", "0"),
        min_notional=(
            text_field(entry, "quoteMinSize", "0"),
            text_field(entry, "minFunds", "0"),
        ),
        fees=fees,
    )
