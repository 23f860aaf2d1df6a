"""Bitfinex spot pairs from ``GET /v2/conf/pub:list:pair:exchange``.

The list gives names only (``"BTCUSD"``, ``"AAVE:UST"``): a colon separates long codes, else
two 3-letter codes. Bitfinex has no per-pair tick (prices are 5 significant digits, amounts 8
decimals), so every pair gets 8-decimal steps (``constants.PRICE_STEP``). What the list lacks:
minimum and maximum order sizes (``pub:info:pair``, not captured) and currency renames beyond
``UST`` -> ``USDT`` (``pub:map:currency:sym``, not captured).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbcore.errors import MalformedMessage
from arbcore.exchanges.base import (
    FeeSchedule,
    ParsedInstruments,
    build_instrument,
    collect_instruments,
    expect_list,
    text_field,
)
from arbcore.exchanges.bitfinex import constants
from arbcore.model import Instrument

__all__ = ["DEFAULT_FEES", "parse_instruments", "split_pair"]

DEFAULT_FEES = FeeSchedule(maker=constants.DEFAULT_MAKER_FEE, taker=constants.DEFAULT_TAKER_FEE)


def parse_instruments(payload: Any, *, fees: FeeSchedule | None = None) -> ParsedInstruments:
    """The spot pairs of a decoded ``pub:list:pair:exchange`` response: ``[[pair, ...]]``."""
    outer = expect_list(payload, venue=constants.VENUE, what="pair list response")
    if len(outer) != 1:
        raise MalformedMessage("pair list response is not [[pair, ...]]", venue=constants.VENUE)
    names = expect_list(outer[0], venue=constants.VENUE, what="pair list")
    entries = [{"pair": name} for name in names]
    return collect_instruments(
        constants.VENUE, entries, _parse_entry, fees=fees or DEFAULT_FEES, symbol_field="pair"
    )


def split_pair(pair: str) -> tuple[str, str]:
    """``(base, quote)`` in Bitfinex codes: ``"AAVE:UST"`` or two 3-letter codes."""
    if ":" in pair:
        base, _, quote = pair.partition(":")
    elif len(pair) == 6:
        base, quote = pair[:3], pair[3:]
    else:
        raise MalformedMessage(f"pair {pair!r} is neither BASE:QUOTE nor two 3-letter codes")
    if not base or not quote:
        raise MalformedMessage(f"pair {pair!r} has an empty currency")
    return base, quote


def _parse_entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    pair = text_field(entry, "pair")
    base, quote = split_pair(pair)
    return build_instrument(
        venue=constants.VENUE,
        native_symbol="t" + pair,
        base=constants.CURRENCY_ALIASES.get(base, base),
        quote=constants.CURRENCY_ALIASES.get(quote, quote),
        tick_size=constants.PRICE_STEP,
        lot_size=constants.AMOUNT_STEP,
        fees=fees,
    )
