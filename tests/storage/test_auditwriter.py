"""The audit trail's C writer held to the Python reference: its SHA-256 to hashlib, its rows and
hash chain to ``audit._row_hash`` byte for byte, and its failures reported, never silent."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.errors import ArbcoreError
from arbcore.storage import audit
from arbcore.storage.audit import GENESIS, UNSERIALISABLE, AuditTrail, RecordKind, verify_chain
from arbcore_ext.affinity import available_cpus, pin_thread
from arbcore_ext.auditwriter import AuditWriter, sha256_hex

#: text SQLite and UTF-8 hold: every code point but the surrogates (the field separator 0x1f
#: and non-BMP characters included)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
ROW = st.tuples(st.integers(-(2**62), 2**62), st.sampled_from(list(RecordKind)), TEXT, TEXT,
                TEXT, TEXT)  # fmt: skip


@given(st.binary(max_size=2_000))
def test_the_writers_sha256_is_hashlibs(data: bytes) -> None:
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def _fresh(path: Path) -> None:
    AuditTrail(path).close()  # (the schema, as the trail makes it)


@given(st.lists(ROW, max_size=12), st.integers(1, 5))
def test_rows_and_chain_are_the_python_references(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple], batch_max: int
) -> None:
    path = tmp_path_factory.mktemp("w") / "a.db"
    _fresh(path)
    writer = AuditWriter(path, "NORMAL", GENESIS, 0, 60.0, batch_max)  # (gathers until told)
    thread = threading.Thread(target=writer.run)
    thread.start()
    for seq, (ts_ns, kind, trace, venue, symbol, payload) in enumerate(rows, 1):
        assert writer.push(seq, ts_ns, kind.value, trace, venue, symbol, payload)
    writer.commit_now()
    assert writer.wait_durable(len(rows), 10.0)
    writer.stop()
    thread.join()
    writer.close()
    with sqlite3.connect(path) as db:
        stored = db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    expected, prev = [], GENESIS
    for seq, (ts_ns, kind, trace, venue, symbol, payload) in enumerate(rows, 1):
        digest = audit._row_hash(prev, seq, ts_ns, kind.value, trace, venue, symbol, payload)
        expected.append((seq, ts_ns, kind.value, trace, venue, symbol, payload, prev, digest))
        prev = digest
    assert stored == expected
    assert writer.tip == prev
    assert writer.durable_seq == len(rows)
    assert writer.batches == -(-len(rows) // batch_max)  # (rows in transactions of batch_max)
    assert verify_chain(path) == len(rows)


def test_a_failed_insert_stops_the_trail_loudly_and_acknowledges_nothing_after(
    tmp_path: Path,
) -> None:
    """Row 2 is taken by another writer behind the trail's back: the trail's insert of its row
    2 fails, its transaction is rolled back, and the trail says so and refuses more. A record
    appended before the trail saw the failure is never acknowledged, and closing the trail
    still ends (its threads stop)."""
    path = tmp_path / "a.db"
    trail = AuditTrail(path)
    trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=1)
    assert trail.flush() == 1
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO audit VALUES (2, 0, 'state', '', '', '', '{}', '', '')")
    trail.append(RecordKind.STATE, {"state": "halted"}, ts_ns=2)
    trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=3)
    deadline = time.monotonic() + 5
    while trail._writer.error is None and time.monotonic() < deadline:  # (the preparer's tick)
        time.sleep(0.001)
    assert "INSERT of row 2: UNIQUE constraint failed" in (trail._writer.error or "")
    trail.append(RecordKind.STATE, {"state": "halted"}, ts_ns=4)  # (before the trail saw it)
    with pytest.raises(ArbcoreError, match="INSERT of row 2: UNIQUE constraint failed"):
        trail.flush()
    assert trail.durable_seq == 1
    with pytest.raises(ArbcoreError, match="audit writer failed"):
        trail.append(RecordKind.STATE, {"state": "halted"}, ts_ns=5)
    closing = threading.Thread(target=trail.close)
    closing.start()
    closing.join(5)
    assert not closing.is_alive()
    with sqlite3.connect(path) as db:
        assert [row[0] for row in db.execute("SELECT seq FROM audit ORDER BY seq")] == [1, 2]


def test_text_utf8_cannot_hold_is_recorded_as_such_and_the_chain_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with AuditTrail(path) as trail:
        trail.append(RecordKind.STATE, "half a pair: \ud800", ts_ns=1, venue="v\udc00")
        trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=2)
        assert trail.flush() == 2
        assert trail.unserialisable == 1
        rows = list(trail.records())
    assert rows[0].payload[UNSERIALISABLE] == "str"
    assert rows[0].venue == "v\\udc00"
    assert rows[1].payload == {"state": "active"}
    assert verify_chain(path) == 2


def test_waiting_for_a_row_never_pushed_times_out(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    _fresh(path)
    writer = AuditWriter(path, "FULL", GENESIS, 0, 0.002, 8)
    assert writer.wait_durable(1, 0.01) is False
    assert writer.wait_durable(0, 0.0) is True  # (nothing to wait for)
    writer.close()
    writer.close()  # (twice is harmless)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    _fresh(path)
    with pytest.raises(ValueError, match="64-digit"):
        AuditWriter(path, "FULL", "abc", 0, 0.002, 8)
    with pytest.raises(ValueError, match="batch_max"):
        AuditWriter(path, "FULL", GENESIS, 0, 0.002, 0)
    with pytest.raises(RuntimeError, match="audit writer: open"):
        AuditWriter(tmp_path / "missing" / "a.db", "FULL", GENESIS, 0, 0.002, 8)


def test_the_trails_threads_run_on_the_cpus_it_is_given(tmp_path: Path) -> None:
    """A trading loop pinned to one CPU gives the trail the others: its threads must not inherit
    the loop's CPU (created after the pin, they would, and take turns on it with the loop)."""
    cpus = sorted(available_cpus())
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")
    hot, rest = cpus[0], frozenset(cpus[1:])
    before = os.sched_getaffinity(0)
    pin_thread([hot])  # (this thread: the loop)
    try:
        with AuditTrail(tmp_path / "a.db", cpus=rest) as trail:
            trail.append(RecordKind.STATE, {"state": "active"}, ts_ns=1)
            assert trail.flush() == 1
            placed = {thread.name: os.sched_getaffinity(thread.native_id or 0)
                      for thread in trail._threads}  # fmt: skip
        with AuditTrail(tmp_path / "b.db") as unplaced:
            inherited = {
                frozenset(os.sched_getaffinity(t.native_id or 0)) for t in unplaced._threads
            }
    finally:
        os.sched_setaffinity(0, before)
    assert placed == {"arbcore-audit-writer": rest, "arbcore-audit": rest}
    assert inherited == {frozenset({hot})}  # (what the engine's threads did before)
    with pytest.raises(ValueError, match="not all available"):
        AuditTrail(tmp_path / "c.db", cpus={max(cpus) + 1})
