"""The engine's events as they happen: audit rows on ``trades``, tops of book on ``market-data``.

The engine and the router call these at the moment something happens; nothing polls. Both cost
one dict lookup (:meth:`~arbcore.observability.events.EventHub.listened`) while nobody listens,
so the decision path pays for a stream only when a stream is open:

- :class:`TradeEvents` turns each audit row (opportunity, risk decision, order request, venue
  reply, fill, position, PnL, reconciliation) into a ``trades`` event whose ``record`` is the
  row's payload exactly as the trail stores it, plus exact decimal ``price``/``size``/``filled``
  for orders and fills. The rows are rendered (a JSON round trip: tens of us for an
  opportunity) on the loop's next turn, not in the book callback that appended them, so every
  decision of a frame is taken before any of its rows is rendered.
- :class:`QuoteEvents` coalesces book changes: the engine marks a book changed, and at most once
  per ``interval_s`` the changed books' tops that differ from the last sent are published. A
  stream client shows one top per interval anyway, so nothing it could show is lost, and the
  cost is bounded at any update rate.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from arbcore.model import Instrument
from arbcore.observability.events import EventHub
from arbcore.storage.audit import RecordKind, canonical_json
from arbcore_ext.book import L2Book
from arbcore_ext.fixedpoint import to_text

__all__ = ["STREAM_KINDS", "QuoteEvents", "TradeEvents", "decimal_fields"]

#: audit row kind -> ``trades`` event kind (STATE rows go to ``system`` as ``state`` instead)
STREAM_KINDS: Mapping[RecordKind, str] = {
    RecordKind.OPPORTUNITY: "opportunity",
    RecordKind.RISK_DECISION: "decision",
    RecordKind.ORDER_REQUEST: "order",
    RecordKind.VENUE_REPLY: "order",
    RecordKind.FILL: "fill",
    RecordKind.POSITION: "position",
    RecordKind.PNL: "pnl",
    RecordKind.RECONCILE: "reconcile",
}
#: how often changed tops of book are published at most (the streams send every >= 100 ms)
QUOTE_INTERVAL_S = 0.05


def decimal_fields(instrument: Instrument | None, payload: Mapping[str, Any]) -> dict[str, str]:
    """``price``, ``size`` and ``filled`` as exact decimal text, for an order payload's raw
    ints (none when the instrument is not known)."""
    if instrument is None:
        return {}
    fields = {}
    for name, decimals in (("price", instrument.price_decimals),
                           ("size", instrument.size_decimals),
                           ("filled", instrument.size_decimals)):  # fmt: skip
        raw = payload.get(f"{name}_raw")
        if isinstance(raw, int) and not isinstance(raw, bool):
            fields[name] = to_text(raw, decimals)
    return fields


#: one audit row as appended: (kind, payload, seq, ts_ns, trace_id, venue, symbol)
_Row = tuple[RecordKind, object, int, int, str, str, str]


class TradeEvents:
    """Called with every audit row appended (``(kind, payload, seq, ts_ns, trace_id, venue,
    symbol)``); while someone listens, the row is published on ``trades`` at the loop's next
    turn (at once when no loop runs), rows in the order they were appended.
    ``instrument_of(venue, symbol)`` gives the instrument an order's raw integers are rendered
    with."""

    def __init__(
        self, hub: EventHub, instrument_of: Callable[[str, str], Instrument | None]
    ) -> None:
        self._hub = hub
        self._instrument_of = instrument_of
        self._pending: list[_Row] = []

    def __call__(self, kind: RecordKind, payload: object, seq: int, ts_ns: int, trace_id: str,
                 venue: str, symbol: str) -> None:  # fmt: skip
        if not self._hub.listened("trades") or kind not in STREAM_KINDS:
            return
        self._pending.append((kind, payload, seq, ts_ns, trace_id, venue, symbol))
        if len(self._pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop: nothing to defer to
                self.flush()

    def flush(self) -> None:
        """Render and publish the rows appended since the last flush."""
        rows, self._pending = self._pending, []
        if not self._hub.listened("trades"):  # the last listener left meanwhile
            return
        for kind, payload, seq, ts_ns, trace_id, venue, symbol in rows:
            stream_kind = STREAM_KINDS[kind]
            record = json.loads(canonical_json(payload))  # the payload as the trail stores it
            data: dict[str, Any] = {"seq": seq, "trace_id": trace_id, "venue": venue,
                                    "symbol": symbol, "record": record}  # fmt: skip
            if stream_kind in ("order", "fill") and isinstance(record, dict):
                data.update(decimal_fields(self._instrument_of(venue, symbol), record))
            self._hub.publish("trades", stream_kind, data, ts_ns=ts_ns)


class QuoteEvents:
    """Tops of book on ``market-data``, coalesced (see the module docstring).

    :meth:`changed` is the engine's call per book update while ``market-data`` is listened to;
    ``book_of(venue, symbol)`` is the book if it is in sync (a stale book is not quoted).
    """

    def __init__(self, hub: EventHub, book_of: Callable[[str, str], L2Book | None], *,
                 interval_s: float = QUOTE_INTERVAL_S) -> None:  # fmt: skip
        self._hub = hub
        self._book_of = book_of
        self.interval_s = interval_s
        self._changed: dict[tuple[str, str], None] = {}
        self._sent: dict[tuple[str, str], tuple[int | None, ...]] = {}
        self._due = False

    def changed(self, venue: str, symbol: str) -> None:
        self._changed[venue, symbol] = None
        if not self._due:
            self._due = True
            asyncio.get_running_loop().call_later(self.interval_s, self.flush)

    def flush(self) -> None:
        """Publish the changed books' tops that differ from the last ones sent."""
        self._due = False
        changed, self._changed = self._changed, {}
        if not self._hub.listened("market-data"):
            return
        for venue, symbol in changed:
            book = self._book_of(venue, symbol)
            if book is None:
                continue
            bid, ask = book.bbo()
            top = (bid, ask, book.best_bid_size(), book.best_ask_size())
            if self._sent.get((venue, symbol)) == top:
                continue
            self._sent[venue, symbol] = top
            prices, sizes = book.price_decimals, book.size_decimals
            self._hub.publish("market-data", "quote", {
                "venue": venue, "symbol": symbol,
                **{name: None if raw is None else to_text(raw, places)
                   for name, raw, places in zip(("bid", "ask", "bid_size", "ask_size"), top,
                                                (prices, prices, sizes, sizes), strict=True)},
            })  # fmt: skip
