"""What recording a decision costs: ``AuditTrail.append`` against a plain ``sqlite3`` insert.

The engine records two rows per decision on its loop thread: the ``Opportunity`` acted on and
the ``RiskDecision``. Rows time one such pair:

- ``AuditTrail.append``: the caller's cost (what the trading loop pays); the writer thread
  serialises, hash-chains and commits later.
- ``AuditTrail.append + flush``: the pair made durable, the writer's work included, amortised
  over a batch of :data:`BATCH` pairs (what the process pays in all).
- the peer, a home-grown bot's trail: ``json.dumps(attrs.asdict(...))`` and one ``INSERT`` per
  record with ``sqlite3`` (autocommit, WAL, ``synchronous=NORMAL`` like the engine benches use),
  all on the caller's thread, no hash chain.

Run timed::

    PYTHONPATH=. python -m pytest benches/bench_audit.py --benchmark-enable -p no:cacheprovider -q
"""

from __future__ import annotations

import enum
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbcore.model import Opportunity, OpportunityLeg, OrderSide
from arbcore.risk.engine import RiskDecision
from arbcore.storage.audit import AuditTrail, RecordKind, read_records

BATCH = 512  # pairs per round (the writer's batch is 512 rows)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CONTENDERS = ("AuditTrail.append", "AuditTrail.append + flush", "sqlite3 insert + json.dumps")
GROUP = "audit: one decision (opportunity + risk decision)"


def decision() -> tuple[Opportunity, RiskDecision]:
    """A triangular opportunity (three legs) and its approval, as the engine records them."""
    triangle = (("BTC/USDT", OrderSide.BUY, 60_000.5), ("ETH/BTC", OrderSide.SELL, 0.0521),
                ("ETH/USDT", OrderSide.SELL, 3_127.25))  # fmt: skip
    legs = tuple(OpportunityLeg(venue="binance", symbol=symbol, side=side, price=price,
                                size=0.05, price_raw=int(price * 100), size_raw=50_000)
                 for symbol, side, price in triangle)  # fmt: skip
    opportunity = Opportunity(kind="triangular", venue="binance", legs=legs, rate=1.0012,
                              profit_bps=12.0, size=3_000.0, expected_profit=3.6,
                              detected_at_ns=1_700_000_000_000_000_000, asset="USDT",
                              expected_profit_usd=3.6)  # fmt: skip
    return opportunity, RiskDecision(approved=True, trace_id=TRACE)


def _enum_value(instance: Any, attribute: Any, value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


class PlainSqlite:
    """The peer: what a home-grown bot writes, one autocommitted insert per record."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, ts_ns INTEGER, kind TEXT, "
                        "trace_id TEXT, payload TEXT)")  # fmt: skip

    def append(self, kind: str, payload: Any, ts_ns: int, trace_id: str) -> None:
        text = json.dumps(attrs.asdict(payload, value_serializer=_enum_value), sort_keys=True)
        self.db.execute("INSERT INTO audit (ts_ns, kind, trace_id, payload) VALUES (?, ?, ?, ?)",
                        (ts_ns, kind, trace_id, text))  # fmt: skip

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM audit").fetchone()[0])


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@pytest.mark.parametrize("contender", CONTENDERS)
def test_record_a_decision(benchmark: Any, workdir: Path, contender: str) -> None:
    opportunity, risk = decision()
    benchmark.group = GROUP
    benchmark.extra_info.update(contender=contender, ops=BATCH, unit="decision",
                                baseline=CONTENDERS[2])  # fmt: skip
    if contender == CONTENDERS[2]:
        peer = PlainSqlite(workdir / "peer.db")

        def peer_round() -> None:
            for i in range(BATCH):
                peer.append("opportunity", opportunity, i, TRACE)
                peer.append("risk_decision", risk, i, TRACE)

        benchmark.pedantic(peer_round, rounds=20 if not benchmark.disabled else 1)
        assert peer.count() % (2 * BATCH) == 0
        return
    flushed = contender == CONTENDERS[1]
    with AuditTrail(workdir / "audit.db", synchronous="NORMAL") as trail:

        def round_() -> None:
            for i in range(BATCH):
                trail.append(RecordKind.OPPORTUNITY, opportunity, ts_ns=i, trace_id=TRACE,
                             venue="binance")  # fmt: skip
                trail.append(RecordKind.RISK_DECISION, risk, ts_ns=i, trace_id=TRACE)
            if flushed:
                trail.flush()

        def setup() -> None:
            """Append alone: each round starts with the writer idle (the previous round's rows
            flushed, untimed), so the writer's catch-up is not billed to the next appends."""
            if not flushed:
                trail.flush()

        benchmark.pedantic(round_, setup=setup, rounds=20 if not benchmark.disabled else 1)
        trail.flush()
        rows = trail.verify()
        first = next(iter(trail.records()))
    assert rows % (2 * BATCH) == 0
    assert first.payload["legs"][1]["side"] == "sell"
    assert first.payload == json.loads(
        json.dumps(attrs.asdict(opportunity, value_serializer=_enum_value))
    )
    decisions = read_records(workdir / "audit.db", RecordKind.RISK_DECISION)
    assert all(record.payload["approved"] for record in decisions)
