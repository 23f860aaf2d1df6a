"""The audit trail: append-only, hash-chained, durable once acknowledged, recoverable."""

from __future__ import annotations

import asyncio
import enum
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.model import (
    Fill,
    Opportunity,
    OpportunityLeg,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
)
from arbcore.risk.engine import RiskDecision
from arbcore.storage import AuditTrail, ChainBroken, RecordKind, audit, recover
from arbcore.storage.audit import UNSERIALISABLE, canonical_json, read_records, verify_chain

DAY = 86_400 * 10**9
NOW = 20_000 * DAY + 3_600 * 10**9  # 01:00 UTC on some day


def _order(cid: str, status: OrderStatus, filled: int = 0) -> Order:
    return Order(venue="binance", symbol="BTC/USDT", client_order_id=cid, side=OrderSide.BUY,
                 type=OrderType.LIMIT, price_raw=6_000_000, size_raw=1_000, status=status,
                 filled_raw=filled)  # fmt: skip


def test_records_round_trip_in_order_with_canonical_payloads(tmp_path: Path) -> None:
    with AuditTrail(tmp_path / "a.db") as trail:
        first = trail.append(
            RecordKind.ORDER_REQUEST, _order("c1", OrderStatus.OPEN),
            ts_ns=5, trace_id="t" * 32, venue="binance", symbol="BTC/USDT",
        )  # fmt: skip
        second = trail.append(RecordKind.PNL, {"realized_usd": 1.5, "b": [1, 2]}, ts_ns=6)
        assert trail.flush() == second == first + 1
        rows = list(trail.records())
    assert [r.seq for r in rows] == [1, 2]
    assert rows[0].payload["status"] == "open"
    assert rows[0].trace_id == "t" * 32
    assert rows[1].payload == {"b": [1, 2], "realized_usd": 1.5}
    assert canonical_json({"b": 1, "a": OrderSide.SELL}) == '{"a":"sell","b":1}'
    with pytest.raises(TypeError, match="cannot record"):
        canonical_json({"x": object()})


def test_the_database_refuses_to_rewrite_history(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with AuditTrail(path) as trail:
        trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=1)
        trail.flush()
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET payload = '{}'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit")


@pytest.mark.parametrize("tamper", ["edit", "delete", "insert"])
def test_any_tampering_breaks_the_chain_at_that_row(tmp_path: Path, tamper: str) -> None:
    path = tmp_path / "a.db"
    with AuditTrail(path) as trail:
        for i in range(5):
            trail.append(RecordKind.PNL, {"realized_usd": i}, ts_ns=i)
    assert verify_chain(path) == 5
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    if tamper == "edit":
        db.execute("""UPDATE audit SET payload = '{"realized_usd":99}' WHERE seq = 3""")
    elif tamper == "delete":
        db.execute("DELETE FROM audit WHERE seq = 3")
    else:
        db.execute("INSERT INTO audit SELECT 6, ts_ns, kind, trace_id, venue, symbol, payload, "
                   "prev_hash, hash FROM audit WHERE seq = 5")  # fmt: skip
    db.close()
    with pytest.raises(ChainBroken) as caught:
        verify_chain(path)
    assert caught.value.seq == (6 if tamper == "insert" else 3)


def test_a_reopened_trail_continues_the_same_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with AuditTrail(path) as trail:
        trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=1)
    with AuditTrail(path) as trail:
        assert trail.append(RecordKind.STATE, {"state": "halted"}, ts_ns=2) == 2
    assert verify_chain(path) == 2


def test_concurrent_appends_keep_one_gapless_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with AuditTrail(path, synchronous="NORMAL") as trail:

        def writer(n: int) -> None:
            for i in range(500):
                trail.append(RecordKind.PNL, {"realized_usd": i, "w": n}, ts_ns=i)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        trail.flush()
        assert trail.batches < 2_000  # commits are batched, not one per row
    assert verify_chain(path) == 2_000


def test_the_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    hashes = []
    for name in ("x.db", "y.db"):
        with AuditTrail(tmp_path / name) as trail:
            trail.append(RecordKind.ORDER_REQUEST, _order("c1", OrderStatus.OPEN), ts_ns=7)
            trail.append(RecordKind.FILL, {"venue": "binance", "trade_id": "9"}, ts_ns=8)
        hashes.append([r.hash for r in read_records(tmp_path / name)])
    assert hashes[0] == hashes[1]


def test_wait_durable_does_not_block_the_event_loop(tmp_path: Path) -> None:
    async def main() -> int:
        with AuditTrail(tmp_path / "a.db") as trail:
            seq = trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=1)
            await trail.wait_durable(seq)
            return trail.durable_seq

    assert asyncio.run(main()) == 1


def test_recovery_rebuilds_orders_positions_fills_and_todays_pnl(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with AuditTrail(path) as trail:
        trail.append(RecordKind.ORDER_REQUEST, _order("done", OrderStatus.OPEN), ts_ns=NOW)
        trail.append(RecordKind.VENUE_REPLY, _order("done", OrderStatus.FILLED, 1_000), ts_ns=NOW)
        trail.append(RecordKind.VENUE_REPLY, _order("done", OrderStatus.OPEN), ts_ns=NOW)  # late
        trail.append(RecordKind.ORDER_REQUEST, _order("live", OrderStatus.OPEN), ts_ns=NOW)
        trail.append(RecordKind.VENUE_REPLY, _order("live", OrderStatus.PARTIALLY_FILLED, 400),
                     ts_ns=NOW)  # fmt: skip
        fill = Fill(venue="binance", symbol="BTC/USDT", client_order_id="live", trade_id="t1",
                    side=OrderSide.BUY, price_raw=6_000_000, size_raw=400, fee=0.01,
                    fee_asset="USDT", ts_event_ns=NOW)  # fmt: skip
        trail.append(RecordKind.FILL, fill, ts_ns=NOW)
        trail.append(RecordKind.FILL, fill, ts_ns=NOW)  # reported twice
        for quantity in (1.0, 2.5):
            trail.append(RecordKind.POSITION, Position(venue="binance", asset="BTC",
                         quantity=quantity, average_cost=60_000.0), ts_ns=NOW)  # fmt: skip
        trail.append(RecordKind.PNL, {"realized_usd": 100.0}, ts_ns=NOW - DAY)  # yesterday
        trail.append(RecordKind.PNL, {"realized_usd": -2.5}, ts_ns=NOW)
        trail.append(RecordKind.PNL, {"realized_usd": 4.0}, ts_ns=NOW)
        trail.append(RecordKind.STATE, {"state": "reducing"}, ts_ns=NOW)
    state = recover(path, now_ns=NOW)
    assert [o.client_order_id for o in state.open_orders] == ["live"]
    assert state.orders[("binance", "done")].status is OrderStatus.FILLED
    assert state.orders[("binance", "live")].filled_raw == 400
    assert state.fill_ids == {("binance", "t1")}
    assert state.positions[("binance", "BTC")].quantity == 2.5
    assert state.daily_pnl_usd == 1.5
    assert state.trading_state == "reducing"
    assert state.last_seq == 13


_CHILD = """
import sys
from arbcore.storage import AuditTrail, RecordKind
trail = AuditTrail(sys.argv[1])
i = 0
while True:
    i += 1
    seq = trail.append(RecordKind.PNL, {"realized_usd": i, "pad": "x" * 200}, ts_ns=i)
    if i % 7 == 0:
        print(trail.flush(), flush=True)
"""


def test_kill_9_loses_no_acknowledged_record(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True, env=env)  # fmt: skip
    assert child.stdout is not None
    acknowledged = 0
    deadline = time.monotonic() + 30
    while acknowledged < 300 and time.monotonic() < deadline:
        acknowledged = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)  # mid-stream: more records are queued and in flight
    child.wait()
    assert acknowledged >= 300
    rows = verify_chain(path)  # the chain holds after the crash
    assert rows >= acknowledged
    with AuditTrail(path) as trail:  # and recovery continues it
        assert trail.append(RecordKind.STATE, {"state": "halted"}, ts_ns=0) == rows + 1
    assert verify_chain(path) == rows + 1


def test_a_refused_placement_is_not_an_open_order_after_recovery(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with AuditTrail(path) as trail:
        trail.append(RecordKind.ORDER_REQUEST, _order("x", OrderStatus.OPEN), ts_ns=NOW,
                     venue="binance")  # fmt: skip
        refused = {"client_order_id": "x", "error": "InvalidOrder", "message": "LOT_SIZE"}
        trail.append(RecordKind.VENUE_REPLY, refused, ts_ns=NOW, venue="binance")
        trail.append(RecordKind.POSITION, {"trade": "t", "net_base": 0.0}, ts_ns=NOW)
    state = recover(path, now_ns=NOW)
    assert state.open_orders == []
    assert state.orders[("binance", "x")].status is OrderStatus.REJECTED
    assert state.positions == {}


# -- the caller's cost: capture now, serialise on the writer -------------------------------------


def _asdict_json(value: Any) -> str:
    """The trail's text as it was first defined: attrs.asdict with enums as their values."""

    def plain(item: Any) -> Any:
        if isinstance(item, enum.Enum):
            return item.value
        return attrs.asdict(item, value_serializer=lambda _i, _a, v: plain(v)
                            if isinstance(v, enum.Enum) else v)  # fmt: skip

    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=plain,
                      ensure_ascii=False, allow_nan=False)  # fmt: skip


_finite = st.floats(allow_nan=False, allow_infinity=False)
_text = st.text(max_size=12)
_legs = st.builds(OpportunityLeg, venue=_text, symbol=_text, side=st.sampled_from(OrderSide),
                  price=_finite, size=_finite, price_raw=st.integers(),
                  size_raw=st.integers())  # fmt: skip
_payloads = st.one_of(
    st.builds(Opportunity, kind=_text, venue=_text, legs=st.lists(_legs, max_size=3).map(tuple),
              rate=_finite, profit_bps=_finite, size=_finite, expected_profit=_finite,
              detected_at_ns=st.integers(), asset=_text,
              expected_profit_usd=st.none() | _finite),
    st.builds(Order, venue=_text, symbol=_text, client_order_id=_text,
              side=st.sampled_from(OrderSide), type=st.sampled_from(OrderType),
              price_raw=st.integers(), size_raw=st.integers(),
              time_in_force=st.sampled_from(TimeInForce), status=st.sampled_from(OrderStatus),
              venue_order_id=st.none() | _text, filled_quote=_finite),
    st.builds(RiskDecision, approved=st.booleans(), rule=st.none() | _text,
              value=st.none() | _finite, detail=_text),
)  # fmt: skip


@given(_payloads)
def test_the_fast_serialiser_writes_what_attrs_asdict_wrote(payload: Any) -> None:
    """Byte for byte, so trails (and their hashes) do not change with the faster path."""
    assert audit._captured(type(payload))
    assert canonical_json(payload) == _asdict_json(payload)
    assert canonical_json({"nested": [payload]}) == _asdict_json({"nested": [payload]})


@attrs.define
class _Mutable:
    x: int


@attrs.frozen
class _FrozenList:
    xs: list[int]


@attrs.frozen
class _FrozenLoose:
    x: Any


@attrs.frozen
class _FrozenNested:
    legs: tuple[OpportunityLeg, ...]
    side: OrderSide | None
    pair: tuple[int, str]


@pytest.mark.parametrize(
    ("cls", "captured"),
    [(Opportunity, True), (Order, True), (Fill, True), (RiskDecision, True), (OrderSide, True),
     (_FrozenNested, True), (str, True), (float, True), (dict, False), (list, False),
     (tuple, False), (_Mutable, False), (_FrozenList, False), (_FrozenLoose, False)],
)  # fmt: skip
def test_only_values_that_cannot_change_are_kept_by_reference(cls: type, captured: bool) -> None:
    assert audit._captured(cls) is captured


def test_mutable_payloads_are_recorded_as_they_were_when_appended(tmp_path: Path) -> None:
    pnl: dict[str, Any] = {"realized_usd": 1.0, "flows": {"USDT": 1.0}}
    mutable, frozen_list = _Mutable(1), _FrozenList([1])
    with AuditTrail(tmp_path / "a.db") as trail:
        trail.append(RecordKind.PNL, pnl, ts_ns=1)
        trail.append(RecordKind.STATE, mutable, ts_ns=2)
        trail.append(RecordKind.STATE, frozen_list, ts_ns=3)
        pnl["realized_usd"], pnl["flows"]["USDT"] = 99.0, 99.0  # before the writer's tick
        mutable.x = 99
        frozen_list.xs.append(99)
        trail.flush()
        rows = [r.payload for r in trail.records()]
    assert rows == [{"realized_usd": 1.0, "flows": {"USDT": 1.0}}, {"x": 1}, {"xs": [1]}]


def test_append_leaves_serialisation_to_prepare_or_the_preparer_thread(
    tmp_path: Path, json_threads: list[str]
) -> None:
    """The decision path's payloads (Opportunity, RiskDecision) cost the caller no JSON: the
    idle hook's ``prepare(1)`` makes one record's on its own thread, the preparer thread the
    rest when nobody prepares them within WRITE_INTERVAL_S."""
    callers = json_threads
    opportunity = Opportunity(kind="cross_exchange", venue="a->b", legs=(), rate=1.0,
                              profit_bps=5.0, size=1.0, expected_profit=0.1,
                              detected_at_ns=1)  # fmt: skip
    with AuditTrail(tmp_path / "a.db") as trail:
        trail._prepare_lock.acquire()  # (the preparer thread cannot start on them yet)
        trail.append(RecordKind.OPPORTUNITY, opportunity, ts_ns=1)
        trail.append(RecordKind.RISK_DECISION, RiskDecision(approved=True), ts_ns=1)
        trail.append(RecordKind.RISK_DECISION, RiskDecision(approved=False), ts_ns=2)
        assert callers == []
        assert trail.held
        assert trail.prepare(1, blocking=False) == 0  # another thread prepares: no wait
        trail._prepare_lock.release()
        assert trail.prepare(1, blocking=False) == 1
        assert callers == ["MainThread"]
        assert trail.held
        deadline = time.monotonic() + 5
        while trail.durable_seq < 3 and time.monotonic() < deadline:  # no flush: the threads
            time.sleep(0.001)
        assert trail.durable_seq == 3
        assert not trail.held
        rows = list(trail.records())
    assert callers == ["MainThread", "arbcore-audit", "arbcore-audit"]
    assert rows[0].payload["profit_bps"] == 5.0
    assert [row.payload["approved"] for row in rows[1:]] == [True, False]


def test_a_payload_json_cannot_hold_is_refused_or_recorded_as_such(tmp_path: Path) -> None:
    """A mutable payload fails at append, before it is numbered; an immutable one fails on the
    writer, which writes a row saying so (the chain stays gapless) and goes on."""
    path = tmp_path / "a.db"
    with AuditTrail(path) as trail:
        with pytest.raises(ValueError, match="not JSON compliant"):
            trail.append(RecordKind.PNL, {"realized_usd": math.nan}, ts_ns=1)
        bad = RiskDecision(approved=False, rule="max_position", value=math.inf)
        assert trail.append(RecordKind.RISK_DECISION, bad, ts_ns=1) == 1
        assert trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=2) == 2
        assert trail.flush() == 2
        assert trail.unserialisable == 1
        rows = list(trail.records())
    assert rows[0].payload[UNSERIALISABLE] == "RiskDecision"
    assert "inf" in rows[0].payload["repr"]
    assert "JSON" in rows[0].payload["error"]
    assert rows[1].payload == {"state": "active"}
    assert verify_chain(path) == 2
    state = recover(path, now_ns=NOW)
    assert (state.unserialisable, state.trading_state, state.last_seq) == (1, "active", 2)


def test_a_pair_is_stored_as_two_appends_store_it(tmp_path: Path) -> None:
    leg = OpportunityLeg(venue="okx", symbol="BTC/USDT", side=OrderSide.BUY, price=1.5,
                         size=2.0, price_raw=15, size_raw=20)  # fmt: skip
    opportunity = Opportunity(kind="cross_exchange", venue="okx->binance", legs=(leg,), rate=1.0,
                              profit_bps=3.0, size=2.0, expected_profit=0.5, detected_at_ns=7,
                              asset="USDT", expected_profit_usd=0.5)  # fmt: skip
    refused = RiskDecision(approved=False, rule="max_orders_per_s", value=4.0, limit=3.0,
                           detail="orders in the last 1 s", trace_id="a" * 32)  # fmt: skip
    tables = []
    for paired in (False, True):
        with AuditTrail(tmp_path / f"{paired}.db") as trail:
            trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=1)
            for i, decision in enumerate((refused, {"approved": True, "mutable": [1]})):
                trace = f"{i:032x}"
                if paired:
                    seq = trail.append_pair(RecordKind.OPPORTUNITY, opportunity,
                                            RecordKind.RISK_DECISION, decision, ts_ns=10 + i,
                                            trace_id=trace, venue="okx->binance")  # fmt: skip
                else:
                    seq = trail.append(RecordKind.OPPORTUNITY, opportunity, ts_ns=10 + i,
                                       trace_id=trace, venue="okx->binance")  # fmt: skip
                    trail.append(RecordKind.RISK_DECISION, decision, ts_ns=10 + i,
                                 trace_id=trace)  # fmt: skip
                assert seq == 2 + 2 * i
            assert trail.flush() == 5
        with sqlite3.connect(tmp_path / f"{paired}.db") as db:
            tables.append(db.execute("SELECT * FROM audit ORDER BY seq").fetchall())
    assert tables[0] == tables[1]  # byte for byte, hashes included
    assert verify_chain(tmp_path / "True.db") == 5


def test_the_writer_sleeps_while_idle_and_wakes_for_a_new_record(tmp_path: Path) -> None:
    with AuditTrail(tmp_path / "a.db") as trail:
        trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=1)
        trail.flush()
        batches = trail.batches
        time.sleep(0.05)  # 25 ticks of WRITE_INTERVAL_S: an idle writer commits nothing
        assert trail.batches == batches
        seq = trail.append(RecordKind.STATE, {"state": "halted"}, ts_ns=2)
        deadline = time.monotonic() + 5
        while trail.durable_seq < seq and time.monotonic() < deadline:  # no flush: the tick
            time.sleep(0.001)
        assert trail.durable_seq == seq
        assert trail.batches == batches + 1
