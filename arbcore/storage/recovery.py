"""Rebuild what the engine knew from its audit trail, after a restart or a crash.

The trail is the source of truth: the latest state of every order (requests and venue replies
both carry the whole :class:`~arbcore.model.Order`), the latest :class:`~arbcore.model.Position`
per venue and asset, the fills seen (so a fill reported again is not counted twice), realised
PnL for the current UTC day and the last trading state. The engine then reconciles this with
the venues before it trades again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from arbcore.model import Order, OrderSide, OrderStatus, OrderType, Position, TimeInForce
from arbcore.storage.audit import UNSERIALISABLE, RecordKind, read_records, verify_chain

__all__ = ["RecoveredState", "order_from_payload", "recover"]

logger = logging.getLogger(__name__)

NS_PER_DAY = 86_400 * 1_000_000_000


@attrs.frozen(kw_only=True)
class RecoveredState:
    """The engine's state as its audit trail tells it."""

    orders: Mapping[tuple[str, str], Order]  # (venue, client order id) -> latest known state
    positions: Mapping[tuple[str, str], Position]  # (venue, asset)
    fill_ids: frozenset[tuple[str, str]]  # (venue, trade id)
    daily_pnl_usd: float
    trading_state: str | None
    last_seq: int
    #: rows whose payload the writer could not serialise (they hold a description, no state)
    unserialisable: int = 0

    @property
    def open_orders(self) -> list[Order]:
        """Orders not yet in a final state: reconcile these with the venues first."""
        return [order for order in self.orders.values() if not order.status.is_final]


def order_from_payload(payload: Mapping[str, Any]) -> Order:
    """The Order a request or reply row holds (as the trail wrote it with canonical_json)."""
    return Order(
        venue=payload["venue"], symbol=payload["symbol"],
        client_order_id=payload["client_order_id"], side=OrderSide(payload["side"]),
        type=OrderType(payload["type"]), price_raw=payload["price_raw"],
        size_raw=payload["size_raw"], time_in_force=TimeInForce(payload["time_in_force"]),
        status=OrderStatus(payload["status"]), filled_raw=payload["filled_raw"],
        venue_order_id=payload["venue_order_id"], ts_created_ns=payload["ts_created_ns"],
        filled_quote=payload.get("filled_quote", 0.0),
    )  # fmt: skip


def recover(path: str | Path, *, now_ns: int) -> RecoveredState:
    """Verify the chain (ChainBroken if it does not hold), then replay it into a state."""
    verify_chain(path)
    orders: dict[tuple[str, str], Order] = {}
    positions: dict[tuple[str, str], Position] = {}
    fills: set[tuple[str, str]] = set()
    day_start = now_ns - now_ns % NS_PER_DAY
    pnl = 0.0
    state: str | None = None
    last_seq = 0
    unserialisable = 0
    for record in read_records(path):
        last_seq = record.seq
        payload = record.payload
        if isinstance(payload, Mapping) and UNSERIALISABLE in payload:
            unserialisable += 1
            logger.warning("audit row %d (%s) could not be serialised: %s", record.seq,
                           record.kind.value, payload.get("error"))  # fmt: skip
        elif record.kind is RecordKind.VENUE_REPLY and "error" in payload:  # refused: never live
            key = (record.venue, payload["client_order_id"])
            if key in orders and not orders[key].status.is_final:
                orders[key] = attrs.evolve(orders[key], status=OrderStatus.REJECTED)
        elif record.kind in (RecordKind.ORDER_REQUEST, RecordKind.VENUE_REPLY):
            order = order_from_payload(payload)
            key = (order.venue, order.client_order_id)
            known = orders.get(key)
            if known is None or not known.status.is_final:  # a final state is never undone
                orders[key] = order
        elif record.kind is RecordKind.FILL:
            fills.add((payload["venue"], payload["trade_id"]))
        elif record.kind is RecordKind.POSITION and "asset" in payload:  # (not a trade's net)
            position = Position(venue=payload["venue"], asset=payload["asset"],
                                quantity=payload["quantity"],
                                average_cost=payload["average_cost"])  # fmt: skip
            positions[(position.venue, position.asset)] = position
        elif record.kind is RecordKind.PNL and record.ts_ns >= day_start:
            pnl += float(payload["realized_usd"])
        elif record.kind is RecordKind.STATE:
            state = str(payload["state"])
    return RecoveredState(orders=orders, positions=positions, fill_ids=frozenset(fills),
                          daily_pnl_usd=pnl, trading_state=state, last_seq=last_seq,
                          unserialisable=unserialisable)  # fmt: skip
