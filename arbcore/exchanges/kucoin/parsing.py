"""KuCoin spot frames -> arbcore events. Pure functions: bytes in, values out.

``trade.l2update`` messages (topic ``/market/level2:<symbol>``) take the fast path: the strict
scanner reads ``changes.asks``/``changes.bids`` (rows ``[price, size, sequence]``; it skips the
third element) straight into int64 arrays (:func:`scan_level2_update`, which the feed's
``parse_delta_into`` runs too). A message spanning several sequences
(``sequenceStart < sequenceEnd``) goes to the validating path, which also keeps each row's own
sequence: the sync needs them to skip the rows a snapshot already holds (protocol notes 4.2
step 5). When start equals end every row carries that one sequence, so the scanner loses
nothing. Rows with price "0" only advance the sequence and are dropped here.

REST snapshots (``/api/v3/market/orderbook/level2``, ``level2_20``/``level2_100``) carry the
book ``sequence`` as a string; ``trade.ticker`` messages carry ``bestBid``/``bestAsk`` and the
book ``sequence`` they reflect, which becomes the quote's update id. Both are scanned too, with
the same fallback: each scanner is tested against its ``_validated_*`` reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from arbcore.errors import DecimalFormatError, MalformedMessage
from arbcore.exchanges import wire
from arbcore.exchanges.kucoin.constants import LEVEL2_SUBJECT, OK_CODE, TICKER_SUBJECT, VENUE
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.wire import find_instrument, level_arrays, string_at
from arbcore.model import BookEvent, BookEventKind, Instrument, Quote
from arbcore_ext.book import ASK, BID, LevelBuffer
from arbcore_ext.deltapath import DeltaPath, Route
from arbcore_ext.fixedpoint import to_raw
from arbcore_ext.framepath import KindFilter, QuotePath
from arbcore_ext.jsonscan import ScanError, find_value, scan_int, scan_levels_at
from arbcore_ext.kucoinpath import KucoinPath

__all__ = [
    "LEVEL2_PATH_CONFIG",
    "NO_BOOK_SUBJECTS",
    "Event",
    "KucoinDelta",
    "level2_path",
    "no_book_filter",
    "parse_frame",
    "parse_level2_snapshot",
    "parse_level2_update",
    "parse_ticker",
    "scan_level2_update",
    "ticker_path",
]

Event = BookEvent | Quote


def _row_seqs(value: object) -> NDArray[np.int64] | None:
    return None if value is None else np.ascontiguousarray(value, dtype=np.int64)


@attrs.frozen(kw_only=True, eq=False)
class KucoinDelta(BookEvent):
    """An l2update delta; ``row_seqs`` are the rows' own sequences (None: all equal last_seq)."""

    row_seqs: NDArray[np.int64] | None = attrs.field(default=None, converter=_row_seqs)

    def after(self, book_id: int) -> KucoinDelta:
        """Only the rows newer than ``book_id``: the rest are already in the snapshot."""
        if self.row_seqs is None or self.first_seq > book_id:
            return self
        keep = self.row_seqs > book_id
        return attrs.evolve(
            self,
            sides=self.sides[keep],
            prices=self.prices[keep],
            sizes=self.sizes[keep],
            row_seqs=self.row_seqs[keep],
        )


def _instrument(symbols: SymbolMap, native: str) -> Instrument:
    return find_instrument(symbols, native, VENUE)


def _drop_zero_prices(levels: LevelBuffer) -> None:
    """Remove the price-0 rows from ``levels``: they change nothing, the sequence still advances.

    Read through ``tolist``: for the one to three rows an l2update carries that is several
    times cheaper than a numpy reduction, and the rebuild is rare.
    """
    sides, prices, sizes = levels.arrays()
    listed = prices.tolist()
    if 0 not in listed:
        return
    rows = zip(sides.tolist(), listed, sizes.tolist(), strict=True)
    kept = [(side, price, size) for side, price, size in rows if price]
    levels.clear()
    for side, price, size in kept:
        levels.append(side, price, size)


def _int_after(frame: bytes, key: bytes, start: int) -> int:
    """The integer of ``"key":`` from ``start`` on; ScanError when absent (never read at -1)."""
    at = find_value(frame, key, start)
    if at < 0:
        raise ScanError(f"no {key.decode()!r}", start)
    return scan_int(frame, at)[0]


def _time_ms(frame: bytes, start: int) -> int:
    """``time`` from ``start`` on, 0 when absent (as the validating path's ``get("time", 0)``)."""
    at = find_value(frame, b"time", start)
    return scan_int(frame, at)[0] if at >= 0 else 0


def _decimal_after(frame: bytes, key: bytes, start: int, decimals: int) -> int:
    """The decimal string of ``"key":`` from ``start`` on, exact; ScanError when it is not a plain
    string or not a decimal at ``decimals`` (the validating path then decides)."""
    text = string_at(frame, key, start)
    if text is None:
        raise ScanError(f"no {key.decode()!r} string", start)
    try:
        return to_raw(text, decimals)
    except DecimalFormatError:
        raise ScanError(f"{key.decode()!r} is not a decimal at {decimals} places", start) from None


def scan_level2_update(
    frame: bytes, symbols: SymbolMap, levels: LevelBuffer
) -> tuple[Instrument, int, int]:
    """A single-sequence l2update's rows appended to ``levels`` (price-0 rows dropped);
    ``(instrument, sequence, time ms)``.

    The one scan both :func:`parse_level2_update` and the feed's allocation-free delta path
    run. ScanError for any other shape, including ``sequenceStart < sequenceEnd``: those rows
    carry their own sequences, which only the validating path keeps. MalformedMessage for a
    symbol not in ``symbols``.
    """
    data = find_value(frame, b"data")
    native = string_at(frame, b"symbol", data) if data >= 0 else None
    if native is None:
        raise ScanError("no data.symbol", 0)
    sequence = _int_after(frame, b"sequenceStart", data)
    if _int_after(frame, b"sequenceEnd", data) != sequence:
        raise ScanError("rows of several sequences: keep each row's own", data)
    instrument = _instrument(symbols, native)
    changes = find_value(frame, b"changes", data)
    if changes < 0:
        raise ScanError("no changes", data)
    price_decimals, size_decimals = instrument.price_decimals, instrument.size_decimals
    scan_levels_at(frame, b"asks", ASK, price_decimals, size_decimals, levels, changes)
    scan_levels_at(frame, b"bids", BID, price_decimals, size_decimals, levels, changes)
    event_ms = _time_ms(frame, data)
    _drop_zero_prices(levels)
    return instrument, sequence, event_ms


#: the l2update reader's configuration (:class:`~arbcore_ext.deltapath.DeltaPath` arguments)
LEVEL2_PATH_CONFIG: Final[dict[str, Any]] = dict(
    anchor=b'"subject":"' + LEVEL2_SUBJECT.encode() + b'"', base_key=b"data",
    symbol_key=b"symbol", first_key=b"sequenceStart", last_key=b"sequenceEnd",
    time_key=b"time", time_unit_ns=1_000_000, single_seq=True, levels_key=b"changes",
    level_keys=((b"asks", ASK), (b"bids", BID)), drop_zero_prices=True,
)  # fmt: skip


def level2_path(routes: Iterable[Route]) -> DeltaPath:
    """The compiled reader of the l2updates :func:`scan_level2_update` reads, for the feed.

    Only ``sequenceStart == sequenceEnd`` is taken, where every row has the message's one
    sequence and the sync has nothing to trim, so applying the rows as they are gives the same
    book; price-0 rows are dropped as here. Anything else is declined, for :func:`parse_frame`.
    It is :class:`~arbcore_ext.kucoinpath.KucoinPath`: the generic DeltaPath of
    :data:`LEVEL2_PATH_CONFIG` reading KuCoin's own shape in one pass (others it declines).
    """
    return KucoinPath(routes, **LEVEL2_PATH_CONFIG)


def parse_level2_update(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> KucoinDelta:
    """A ``trade.l2update`` as a DELTA over ``[sequenceStart, sequenceEnd]``."""
    levels = LevelBuffer(16)
    try:
        instrument, sequence, event_ms = scan_level2_update(frame, symbols, levels)
    except ScanError:
        return _validated_level2_update(frame, symbols, ts_recv_ns)
    sides, prices, sizes = levels.arrays()
    return KucoinDelta(
        venue=VENUE,
        symbol=instrument.symbol,
        kind=BookEventKind.DELTA,
        sides=sides,
        prices=prices,
        sizes=sizes,
        first_seq=sequence,
        last_seq=sequence,
        ts_event_ns=event_ms * 1_000_000,
        ts_recv_ns=ts_recv_ns,
    )


def _payload(frame: bytes) -> Any:
    message = wire.decode_json(frame, VENUE)
    if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
        raise MalformedMessage("no data object", venue=VENUE)
    return message


def _levels(
    rows: Any, side: int, instrument: Instrument
) -> tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.int64]]:
    return level_arrays(rows, side, instrument, VENUE)


def _validated_level2_update(frame: bytes, symbols: SymbolMap, ts_recv_ns: int) -> KucoinDelta:
    """The reference path: a full parse with every field checked, each row's sequence kept."""
    message = _payload(frame)
    data = message["data"]
    try:
        if message.get("subject") != LEVEL2_SUBJECT:
            raise MalformedMessage(f"not an l2update: {message.get('subject')!r}", venue=VENUE)
        instrument = _instrument(symbols, data["symbol"])
        asks, bids = data["changes"]["asks"], data["changes"]["bids"]
        ask = _levels(asks, ASK, instrument)
        bid = _levels(bids, BID, instrument)
        row_seqs = np.array([int(row[2]) for row in (*asks, *bids)], dtype=np.int64)
        first, last = int(data["sequenceStart"]), int(data["sequenceEnd"])
        event_ms = int(data.get("time", 0))
    except (KeyError, TypeError, IndexError) as exc:
        raise MalformedMessage(f"l2update without {exc}", venue=VENUE) from exc
    if len(row_seqs) and not (first <= row_seqs.min() and row_seqs.max() <= last):
        raise MalformedMessage(f"row sequence outside {first}..{last}", venue=VENUE)
    prices = np.concatenate([ask[1], bid[1]])
    kept = prices != 0  # price "0": nothing to change, the sequence still advances
    return KucoinDelta(
        venue=VENUE,
        symbol=instrument.symbol,
        kind=BookEventKind.DELTA,
        sides=np.concatenate([ask[0], bid[0]])[kept],
        prices=prices[kept],
        sizes=np.concatenate([ask[2], bid[2]])[kept],
        first_seq=first,
        last_seq=last,
        row_seqs=row_seqs[kept] if first != last else None,
        ts_event_ns=event_ms * 1_000_000,
        ts_recv_ns=ts_recv_ns,
    )


def parse_level2_snapshot(body: bytes, instrument: Instrument, ts_recv_ns: int = 0) -> BookEvent:
    """A REST level2 response as a SNAPSHOT whose sequence is ``data.sequence``.

    The scanner reads ``bids`` then ``asks`` straight from the body: a full book is thousands of
    rows, whose Python objects (and the garbage collections they set off) cost far more than
    the book. Anything not in the strict shape takes :func:`_validated_level2_snapshot`.
    """
    try:
        if string_at(body, b"code") != OK_CODE:
            raise ScanError("no success code", 0)
        data = find_value(body, b"data")
        if data < 0:
            raise ScanError("no data", 0)
        levels = LevelBuffer(1024)
        price_decimals, size_decimals = instrument.price_decimals, instrument.size_decimals
        scan_levels_at(body, b"bids", BID, price_decimals, size_decimals, levels, data)
        scan_levels_at(body, b"asks", ASK, price_decimals, size_decimals, levels, data)
        sequence = _int_after(body, b"sequence", data)
        event_ms = _time_ms(body, data)
    except ScanError:
        return _validated_level2_snapshot(body, instrument, ts_recv_ns)
    return wire.book_event(
        VENUE, instrument.symbol, BookEventKind.SNAPSHOT, levels.arrays(), first_seq=sequence,
        last_seq=sequence, ts_event_ns=event_ms * 1_000_000, ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _validated_level2_snapshot(body: bytes, instrument: Instrument, ts_recv_ns: int) -> BookEvent:
    """The reference path for REST level2 responses: a full parse with every field checked."""
    message = _payload(body)
    if str(message.get("code")) != OK_CODE:
        raise MalformedMessage(f"level2 snapshot failed: code {message.get('code')!r}", venue=VENUE)
    data = message["data"]
    try:
        bid = _levels(data["bids"], BID, instrument)
        ask = _levels(data["asks"], ASK, instrument)
        sequence = int(data["sequence"])
        event_ms = int(data.get("time", 0))
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"level2 snapshot without {exc}", venue=VENUE) from exc
    return wire.book_event(
        VENUE, instrument.symbol, BookEventKind.SNAPSHOT, wire.join_sides(bid, ask),
        first_seq=sequence, last_seq=sequence, ts_event_ns=event_ms * 1_000_000,
        ts_recv_ns=ts_recv_ns,
    )  # fmt: skip


def _topic_symbol(topic: object) -> str:
    if not isinstance(topic, str) or ":" not in topic:
        raise MalformedMessage(f"topic without a symbol: {topic!r}", venue=VENUE)
    return topic.rpartition(":")[2]


def parse_ticker(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> Quote:
    """A ``trade.ticker`` message: best bid/ask as of book ``sequence``.

    Scanned straight from the bytes (a ticker is a sixth of KuCoin's traffic); anything not in
    the strict shape takes :func:`_validated_ticker`.
    """
    try:
        topic = string_at(frame, b"topic")
        data = find_value(frame, b"data")
        if topic is None or data < 0:
            raise ScanError("no topic or data", 0)
        instrument = _instrument(symbols, _topic_symbol(topic))
        price_decimals, size_decimals = instrument.price_decimals, instrument.size_decimals
        return Quote(
            venue=VENUE,
            symbol=instrument.symbol,
            bid_price=_decimal_after(frame, b"bestBid", data, price_decimals),
            bid_size=_decimal_after(frame, b"bestBidSize", data, size_decimals),
            ask_price=_decimal_after(frame, b"bestAsk", data, price_decimals),
            ask_size=_decimal_after(frame, b"bestAskSize", data, size_decimals),
            update_id=_int_after(frame, b"sequence", data),
            ts_event_ns=_time_ms(frame, data) * 1_000_000,
            ts_recv_ns=ts_recv_ns,
        )
    except ScanError:
        return _validated_ticker(frame, symbols, ts_recv_ns)


#: subjects with no book data: :func:`parse_frame` reads only l2updates and tickers, and a frame
#: without a subject (welcome, ack, pong: None here) not at all, so these need no reading
NO_BOOK_SUBJECTS: Final = (
    None, b"trade.l3match", b"trade.candles.add", b"trade.candles.update", b"trade.snapshot",
)  # fmt: skip


def ticker_path(routes: Iterable[Route]) -> QuotePath:
    """The compiled reader of the tickers :func:`parse_ticker` reads, for the feed: the same
    subject test, the symbol after the topic's last ``:``, the same keys from ``data`` on.
    Anything it declines goes to :func:`parse_frame`."""
    return QuotePath(
        routes, anchor=b'"trade.ticker"', kind_key=b"subject", kind=TICKER_SUBJECT.encode(),
        base_key=b"data", symbol_key=b"topic", symbol_sep=b":",
        value_keys=(b"bestBid", b"bestBidSize", b"bestAsk", b"bestAskSize"),
        update_key=b"sequence", time_key=b"time",
    )  # fmt: skip


def no_book_filter() -> KindFilter:
    """Frames of the :data:`NO_BOOK_SUBJECTS` (for the feed: :func:`parse_frame` returns ``[]``
    for them)."""
    return KindFilter(b"subject", NO_BOOK_SUBJECTS)


def _validated_ticker(frame: bytes, symbols: SymbolMap, ts_recv_ns: int) -> Quote:
    """The reference path for tickers: a full parse with every field checked."""
    message = _payload(frame)
    data = message["data"]
    try:
        instrument = _instrument(symbols, _topic_symbol(message.get("topic")))
        return Quote(
            venue=VENUE,
            symbol=instrument.symbol,
            bid_price=to_raw(data["bestBid"], instrument.price_decimals),
            bid_size=to_raw(data["bestBidSize"], instrument.size_decimals),
            ask_price=to_raw(data["bestAsk"], instrument.price_decimals),
            ask_size=to_raw(data["bestAskSize"], instrument.size_decimals),
            update_id=int(data["sequence"]),
            ts_event_ns=int(data.get("time", 0)) * 1_000_000,
            ts_recv_ns=ts_recv_ns,
        )
    except (KeyError, TypeError) as exc:
        raise MalformedMessage(f"ticker without {exc}", venue=VENUE) from exc


def parse_frame(frame: bytes, symbols: SymbolMap, ts_recv_ns: int = 0) -> list[Event]:
    """Any market-data frame: l2updates and tickers become events; the rest is ignored.

    Welcome, ack and pong frames, trades and candles return ``[]``; so does a frame for a symbol
    not in ``symbols`` (the caller did not ask for it).
    """
    subject = string_at(frame, b"subject")
    if subject == LEVEL2_SUBJECT:
        native = string_at(frame, b"symbol", max(find_value(frame, b"data"), 0))
        if native is None or symbols.get(native) is None:
            return []
        return [parse_level2_update(frame, symbols, ts_recv_ns)]
    if subject == TICKER_SUBJECT:
        topic = string_at(frame, b"topic")
        if topic is None or symbols.get(topic.rpartition(":")[2]) is None:
            return []
        return [parse_ticker(frame, symbols, ts_recv_ns)]
    return []
