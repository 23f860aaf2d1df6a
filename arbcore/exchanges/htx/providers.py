"""HTX spot instruments from ``GET /v1/common/symbols`` (or ``/v1/settings/common/market-symbols``).

Kept: ``state == "online"``. HTX states precisions as numbers of decimals: the tick is
10**-price-precision and the lot 10**-amount-precision. ``min-order-amt`` (the larger of it and
``limit-order-min-order-amt``: the arbitrage legs are limit orders) is the minimum size and
``min-order-value`` the minimum notional in the quote currency. The newer market-symbols list
says the same with short keys (``bc``, ``qc``, ``pp``, ``ap``, ``minoa``, ``lominoa``, ``minov``),
so one parser reads both.

HTX sends these minimums as JSON numbers. A JSON decoder with ``parse_float=str`` keeps their
text; a plain one gives floats, whose ``repr`` is the shortest text that reads back as the same
double, i.e. the wire text for the short decimals HTX prints, so no float ever reaches
:func:`~arbcore.exchanges.base.build_instrument`.

Books are kept at ``constants.BOOK_SIZE_DECIMALS`` size decimals at least: HTX's book sizes are
sums of orders sent as doubles, far finer than amount-precision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.exchanges.base import (
    FeeSchedule,
    ParsedInstruments,
    build_instrument,
    ceil_raw,
    collect_instruments,
    decimals_of,
    expect_list,
    step_text,
    text_field,
)
from arbcore.exchanges.htx import constants
from arbcore.model import Instrument

__all__ = ["DEFAULT_FEES", "parse_instruments"]

DEFAULT_FEES = FeeSchedule(maker=constants.DEFAULT_MAKER_FEE, taker=constants.DEFAULT_TAKER_FEE)


@attrs.frozen
class _Keys:
    """The field names of one of HTX's two symbol-list formats."""

    base: str
    quote: str
    price_precision: str
    amount_precision: str
    min_amounts: tuple[str, ...]
    min_value: str


_LEGACY = _Keys(
    "base-currency",
    "quote-currency",
    "price-precision",
    "amount-precision",
    ("min-order-amt", "limit-order-min-order-amt"),
    "min-order-value",
)
_SHORT = _Keys("bc", "qc", "pp", "ap", ("minoa", "lominoa"), "minov")


def parse_instruments(payload: Any, *, fees: FeeSchedule | None = None) -> ParsedInstruments:
    """The online spot symbols of a decoded symbols response: ``{"status":"ok","data":[...]}``."""
    if not isinstance(payload, Mapping):
        raise MalformedMessage("symbols response is not a JSON object", venue=constants.VENUE)
    if payload.get("status") != constants.OK_STATUS:
        raise ExchangeError(
            str(payload.get("err-msg") or "the symbols request failed"),
            venue=constants.VENUE,
            venue_code=None if payload.get("err-code") is None else str(payload["err-code"]),
        )
    entries = expect_list(payload.get("data"), venue=constants.VENUE, what="data")
    return collect_instruments(
        constants.VENUE, entries, _parse_entry, fees=fees or DEFAULT_FEES, symbol_field="symbol"
    )


def _parse_entry(entry: Mapping[str, Any], fees: FeeSchedule) -> Instrument | None:
    if text_field(entry, "state") != constants.ONLINE_STATE:
        return None
    keys = _LEGACY if _LEGACY.price_precision in entry else _SHORT
    price_decimals = _precision(entry, keys.price_precision)
    size_decimals = _precision(entry, keys.amount_precision)
    return build_instrument(
        venue=constants.VENUE,
        native_symbol=text_field(entry, "symbol"),
        base=text_field(entry, keys.base).upper(),
        quote=text_field(entry, keys.quote).upper(),
        tick_size=step_text(price_decimals),
        lot_size=step_text(size_decimals),
        min_qty=_largest(entry, keys.min_amounts),
        min_notional=_number_text(entry, keys.min_value),
        fees=fees,
        size_precision=constants.BOOK_SIZE_DECIMALS,
    )


def _precision(entry: Mapping[str, Any], key: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedMessage(f"field {key!r} must be an integer, was {value!r}")
    try:
        return int(value)
    except ValueError:
        raise MalformedMessage(f"field {key!r} must be an integer, was {value!r}") from None


def _number_text(entry: Mapping[str, Any], key: str) -> str:
    """A JSON number field as decimal text; missing means no minimum ("0")."""
    value = entry.get(key)
    if value is None:
        return "0"
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # the shortest text of the double: the wire text (module doc)
    raise MalformedMessage(f"field {key!r} must be a number, was {value!r}")


def _largest(entry: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The binding minimum of several minimum fields (compared exactly, at their own scale)."""
    texts = [_number_text(entry, key) for key in keys]
    scale = max(decimals_of(text, key) for text, key in zip(texts, keys, strict=True))
    return max(texts, key=lambda text: ceil_raw(text, scale))
