"""Puts what a running engine does onto its event hub, by looking rather than by hooks.

Until the engine publishes its own events, :class:`EngineFeed` polls its public state every
interval (0.1 s by default) and publishes:

- ``market-data``: ``quote`` for every in-sync book whose top changed;
- ``system``: ``state`` when the trading state changes, ``health`` when a venue's readiness
  changes, ``status`` (the ``/status`` document) once a second;
- ``trades``: one event per new durable audit row: ``opportunity``, ``decision``, ``order``
  (requests and replies), ``fill``, ``position``, ``pnl``, ``reconcile``.

Nothing here runs on the decision path: a topic nobody listens to is not even looked at, the
books are read a dozen dictionary lookups at a time, and the audit rows are read by a worker
thread from the trail's own file (a fresh read-only connection, as recovery does).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arbcore.model import Instrument
from arbcore.observability import TOPICS
from arbcore.storage.audit import AuditRecord, RecordKind, read_records
from arbcore_ext.fixedpoint import to_text

if TYPE_CHECKING:
    from arbcore.server.target import EngineControl

__all__ = ["EngineFeed", "decimal_fields"]

#: at most this many audit rows per poll (a burst is spread over polls, never skipped)
ROWS_PER_POLL = 2_000
STATUS_EVERY_S = 1.0
_KINDS = {
    RecordKind.OPPORTUNITY: "opportunity",
    RecordKind.RISK_DECISION: "decision",
    RecordKind.ORDER_REQUEST: "order",
    RecordKind.VENUE_REPLY: "order",
    RecordKind.FILL: "fill",
    RecordKind.POSITION: "position",
    RecordKind.PNL: "pnl",
    RecordKind.RECONCILE: "reconcile",
}  # (STATE rows are left out: the state poll reports them at once)


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


class EngineFeed:
    """Polls an :class:`~arbcore.server.target.EngineControl`'s engine; see the module doc."""

    topics = TOPICS

    def __init__(self, control: EngineControl, *, interval_s: float = 0.1) -> None:
        self.control = control
        self.interval_s = interval_s
        self._quotes: dict[tuple[str, str], tuple[int | None, ...]] = {}
        self._state = control.engine.risk.state
        self._ready: dict[str, tuple[bool, bool]] = {}
        self._after: int | None = None  # the last audit row published
        self._status_due = 0.0
        self.rows = 0  # audit rows published

    async def run(self) -> None:
        while True:
            self.step()
            await self.tail()
            await asyncio.sleep(self.interval_s)

    def step(self) -> None:
        """One poll of everything but the audit trail."""
        hub = self.control.events
        self.check_state()
        if hub.listened("market-data"):
            self._publish_quotes()
        if hub.listened("system"):
            self._publish_health()
            now = time.monotonic()
            if now >= self._status_due:
                self._status_due = now + STATUS_EVERY_S
                hub.publish("system", "status", self.control.status())

    def check_state(self) -> None:
        risk = self.control.engine.risk
        if risk.state is not self._state:
            self._state = risk.state
            state = {"state": risk.state.value, "reason": risk.state_reason}
            self.control.events.publish("system", "state", state)

    def _publish_quotes(self) -> None:
        engine, hub = self.control.engine, self.control.events
        for venue, syncs in engine.syncs.items():
            for symbol, sync in syncs.items():
                book = sync.fresh_book()
                if book is None:
                    continue
                bid, ask = book.bbo()
                top = (bid, ask, book.best_bid_size(), book.best_ask_size())
                if self._quotes.get((venue, symbol)) == top:
                    continue
                self._quotes[(venue, symbol)] = top
                prices, sizes = book.price_decimals, book.size_decimals
                hub.publish("market-data", "quote", {
                    "venue": venue, "symbol": symbol,
                    **{name: None if raw is None else to_text(raw, places)
                       for name, raw, places in zip(("bid", "ask", "bid_size", "ask_size"), top,
                                                    (prices, prices, sizes, sizes), strict=True)},
                })  # fmt: skip

    def _publish_health(self) -> None:
        health = self.control.health()
        for venue, view in health["venues"].items():
            now = (bool(view["connected"]), bool(view["ready"]))
            if self._ready.get(venue) != now:
                self._ready[venue] = now
                self.control.events.publish("system", "health", {"venue": venue, **view})

    async def tail(self) -> None:
        """Publish the audit rows made durable since the last call."""
        audit = self.control.engine.audit
        if audit is None:
            return
        if self._after is None:  # start at the trail's end: history is what /orders is for
            self._after = audit.durable_seq
        hub = self.control.events
        if not hub.listened("trades") or audit.durable_seq <= self._after:
            if not hub.listened("trades"):
                self._after = audit.durable_seq
            return
        rows = await asyncio.to_thread(_rows_after, audit.path, self._after)
        instruments = self.control.engine.instruments
        for record in rows:
            self._after = record.seq
            kind = _KINDS.get(record.kind)
            if kind is None:
                continue
            data: dict[str, Any] = {"seq": record.seq, "trace_id": record.trace_id,
                                    "venue": record.venue, "symbol": record.symbol,
                                    "record": dict(record.payload)}  # fmt: skip
            if kind in ("order", "fill"):
                instrument = instruments.get(record.venue, {}).get(record.symbol)
                data.update(decimal_fields(instrument, record.payload))
            hub.publish("trades", kind, data, ts_ns=record.ts_ns)
            self.rows += 1


def _rows_after(path: Path, after: int) -> list[AuditRecord]:
    return list(itertools.islice(read_records(path, after=after), ROWS_PER_POLL))
