"""Venue-neutral pieces of instrument parsing: reading fields, exact rounding, the shared loop.

Every venue's ``providers.parse_instruments`` turns its exchange-info response into
:class:`ParsedInstruments` through :func:`collect_instruments`. A venue supplies one function per
entry that returns an :class:`~arbcore.model.Instrument`, ``None`` for an entry that is well formed
but not a trading spot market (halted, delisted, a derivative), or raises ``ValueError`` (usually
:class:`~arbcore.errors.MalformedMessage`) for an entry it cannot read. One bad entry out of a
thousand must not cost the whole list, so those are skipped, logged and reported, not raised.

Minimums are rounded UP to the instrument's scale, never down: an order below the venue's minimum
is rejected, so the conservative value is the next representable one above it. ``min_qty`` is
also rounded up to a multiple of the lot (the smallest quantity the venue accepts);
``min_notional`` is held at ``price_decimals`` in the quote asset, as :class:`Instrument` defines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from arbcore.errors import ExchangeError, MalformedMessage
from arbcore.model import Instrument
from arbcore_ext.fixedpoint import round_to_step, to_raw

__all__ = [
    "EntryParser",
    "FeeSchedule",
    "ParsedInstruments",
    "build_instrument",
    "ceil_raw",
    "coded_data_list",
    "collect_instruments",
    "decimals_of",
    "expect_list",
    "flag_field",
    "int_field",
    "raise_for_code",
    "step_text",
    "text_field",
]

logger = logging.getLogger(__name__)

_MAX_DECIMALS = 18


@attrs.frozen(kw_only=True)
class FeeSchedule:
    """Maker and taker fees as fractions (0.001 = 10 bps), positive = paid by us."""

    maker: float
    taker: float


@attrs.frozen(kw_only=True)
class ParsedInstruments:
    """The result of reading one exchange-info response.

    ``instruments`` are the trading spot markets; ``excluded`` counts well-formed entries that are
    not (halted, delisted, not spot); ``skipped`` lists ``(native_symbol, reason)`` for entries that
    could not be read (``"?"`` when even the symbol was unreadable).
    """

    venue: str
    instruments: tuple[Instrument, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    excluded: int = 0

    def by_symbol(self) -> dict[str, Instrument]:
        """Instruments keyed by unified symbol (``BTC/USDT``)."""
        return {instrument.symbol: instrument for instrument in self.instruments}


#: One entry of the venue's list -> an Instrument, None (not a trading spot market), or raise.
EntryParser = Callable[[Mapping[str, Any], FeeSchedule], Instrument | None]


def collect_instruments(
    venue: str,
    entries: list[Any],
    parse_entry: EntryParser,
    *,
    fees: FeeSchedule,
    symbol_field: str,
) -> ParsedInstruments:
    """Run ``parse_entry`` over every entry; skip and log the ones it cannot read.

    A unified symbol seen twice keeps its first entry and reports the later one as skipped, so
    the market graph never holds two rule sets for one pair.
    """
    instruments: dict[str, Instrument] = {}
    skipped: list[tuple[str, str]] = []
    excluded = 0
    for entry in entries:
        if not isinstance(entry, Mapping):
            _skip(venue, skipped, "?", f"entry is not a JSON object (was {type(entry).__name__})")
            continue
        native = entry.get(symbol_field)
        native_symbol = native if isinstance(native, str) and native else "?"
        try:
            instrument = parse_entry(entry, fees)
        except ValueError as exc:  # MalformedMessage, DecimalFormatError, Instrument validators
            _skip(venue, skipped, native_symbol, str(exc))
            continue
        if instrument is None:
            excluded += 1
        elif instrument.symbol in instruments:
            first = instruments[instrument.symbol].native_symbol
            _skip(venue, skipped, native_symbol, f"duplicate of {first} ({instrument.symbol})")
        else:
            instruments[instrument.symbol] = instrument
    return ParsedInstruments(
        venue=venue,
        instruments=tuple(instruments.values()),
        skipped=tuple(skipped),
        excluded=excluded,
    )


def _skip(venue: str, skipped: list[tuple[str, str]], native_symbol: str, reason: str) -> None:
    logger.warning("%s: instrument %s skipped: %s", venue, native_symbol, reason)
    skipped.append((native_symbol, reason))


def build_instrument(
    *,
    venue: str,
    native_symbol: str,
    base: str,
    quote: str,
    tick_size: str,
    lot_size: str,
    min_qty: str = "0",
    min_notional: str | tuple[str, ...] = "0",
    fees: FeeSchedule,
    size_precision: int = 0,
) -> Instrument:
    """An Instrument from the venue's decimal strings, exact; minimums rounded up (module doc).

    ``min_notional`` may be several venue minimums (Binance NOTIONAL and MIN_NOTIONAL, KuCoin
    quoteMinSize and minFunds): the largest binds.

    Unlike ``Instrument.from_text`` this accepts minimums finer than the tick or lot (Binance
    WBTCETH: minNotional 0.005 at a 0.01 tick; Gate BTC_SGD: min_base_amount 0.0001 at 3 amount
    decimals) and says which field was wrong.

    ``size_precision`` is the venue's own precision for quantities where it states one (Binance
    ``baseAssetPrecision``): book sizes are sums of orders and lots change over time, so books
    are kept at the finer of that and the lot's decimals.
    """
    price_decimals = decimals_of(tick_size, "tick size")
    size_decimals = max(decimals_of(lot_size, "lot size"), size_precision)
    tick_raw = _raw_field(tick_size, price_decimals, "tick size")
    lot_raw = _raw_field(lot_size, size_decimals, "lot size")
    if tick_raw == 0 or lot_raw == 0:
        raise MalformedMessage(f"tick size {tick_size!r} and lot size {lot_size!r} must be > 0")
    notionals = (min_notional,) if isinstance(min_notional, str) else min_notional
    min_qty_raw = round_to_step(ceil_raw(min_qty, size_decimals, "min qty"), lot_raw, "up")
    return Instrument(
        venue=venue,
        symbol=f"{base}/{quote}",
        native_symbol=native_symbol,
        base=base,
        quote=quote,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        tick_size=tick_raw,
        lot_size=lot_raw,
        min_qty=min_qty_raw,
        min_notional=max(
            (ceil_raw(text, price_decimals, "min notional") for text in notionals), default=0
        ),
        maker_fee=fees.maker,
        taker_fee=fees.taker,
    )


def decimals_of(text: str, what: str = "value") -> int:
    """The fewest decimals that hold ``text`` exactly: "0.01000000" -> 2, "1e-5" -> 5, "10" -> 0."""
    for decimals in range(_MAX_DECIMALS + 1):
        try:
            to_raw(text, decimals)
        except ValueError:
            continue
        return decimals
    raise MalformedMessage(f"{what} {text!r} is not a decimal with at most 18 decimals")


def ceil_raw(text: str, decimals: int, what: str = "value") -> int:
    """``text`` as a raw int at ``decimals``, rounded up when it has more digits than that."""
    own = decimals_of(text, what)
    if own <= decimals:
        return _raw_field(text, decimals, what)
    raw = _raw_field(text, own, what)
    factor: int = 10 ** (own - decimals)
    return -(-raw // factor)


def _raw_field(text: str, decimals: int, what: str) -> int:
    try:
        return to_raw(text, decimals)
    except ValueError as exc:  # overflow of int64 at this scale
        raise MalformedMessage(f"{what} {text!r}: {exc}") from exc


def step_text(decimals: int) -> str:
    """The step of a venue that gives a number of decimals instead (Gate): 3 -> "0.001"."""
    if not 0 <= decimals <= _MAX_DECIMALS:
        raise MalformedMessage(f"precision {decimals} is outside 0..{_MAX_DECIMALS}")
    return "1" if decimals == 0 else "0." + "0" * (decimals - 1) + "1"


def text_field(entry: Mapping[str, Any], key: str, default: str | None = None) -> str:
    """A string field; missing (or JSON null) gives ``default``, or is an error without one."""
    value = entry.get(key)
    if value is None:
        if default is None:
            raise MalformedMessage(f"field {key!r} is missing")
        return default
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"field {key!r} must be a non-empty string, was {value!r}")
    return value


def int_field(entry: Mapping[str, Any], key: str) -> int:
    """A JSON integer field (not a bool, not a string)."""
    value: object = entry.get(key)
    if value is None:
        raise MalformedMessage(f"field {key!r} is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessage(f"field {key!r} must be an integer, was {value!r}")
    return value


def flag_field(entry: Mapping[str, Any], key: str) -> bool:
    """A JSON boolean field."""
    value = entry.get(key)
    if not isinstance(value, bool):
        raise MalformedMessage(f"field {key!r} must be true or false, was {value!r}")
    return value


def expect_list(value: object, *, venue: str, what: str) -> list[Any]:
    """The response's instrument array; anything else means the whole response is unusable."""
    if not isinstance(value, list):
        raise MalformedMessage(
            f"{what} is not a JSON array (was {type(value).__name__})", venue=venue
        )
    return value


def coded_data_list(
    payload: object, *, venue: str, ok_code: str, what: str = "instruments response"
) -> list[Any]:
    """The ``data`` array of an enveloped ``{"code", "data": [...]}`` response (OKX, KuCoin)."""
    if not isinstance(payload, Mapping):
        raise MalformedMessage(f"{what} is not a JSON object", venue=venue)
    raise_for_code(payload, venue=venue, ok_code=ok_code)
    return expect_list(payload.get("data"), venue=venue, what="data")


def raise_for_code(
    payload: Mapping[str, Any], *, venue: str, ok_code: str, message_key: str = "msg"
) -> None:
    """Raise ExchangeError when an enveloped response (OKX, KuCoin) carries a non-success code."""
    code = payload.get("code")
    if code != ok_code:
        message = payload.get(message_key) or "the instrument request failed"
        raise ExchangeError(
            str(message), venue=venue, venue_code=None if code is None else str(code)
        )
