"""An append-only, hash-chained audit trail in SQLite, written off the hot path.

Why this shape:

- **Append-only, enforced by the database.** Triggers refuse every UPDATE and DELETE, so not even
  a bug in arbcore can rewrite history.
- **Hash-chained.** Each row stores ``sha256(previous hash + the row's canonical text)``;
  :meth:`AuditTrail.verify` finds the first row that was altered, removed or inserted.
- **Off the hot path.** :meth:`AuditTrail.append` serialises, numbers and queues the record
  without waking anything; one writer thread chains and commits what is pending every 2 ms (at
  once on :meth:`AuditTrail.flush`) in WAL mode.
- **Acknowledged means durable.** A record is acknowledged once its batch has committed
  (:meth:`AuditTrail.flush`, :meth:`AuditTrail.wait_durable`); a process killed with ``kill -9``
  after that loses nothing, because a committed WAL transaction survives the process. With
  ``synchronous="FULL"`` (the default) it also survives a power cut.
- **Deterministic.** Times come from the caller (the event's clock, or the recording's during a
  backtest), payloads are canonical JSON, so the same inputs give the same bytes.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import json
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from arbcore.errors import ArbcoreError

__all__ = [
    "AuditRecord",
    "AuditTrail",
    "ChainBroken",
    "RecordKind",
    "canonical_json",
    "read_orders",
]

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
BATCH_MAX = 512
WRITE_INTERVAL_S = 0.002  # how often the writer commits what was appended meanwhile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_kind ON audit (kind, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


class RecordKind(enum.Enum):
    """What a row records (the trading loop writes one of these at each step)."""

    OPPORTUNITY = "opportunity"  # an opportunity the engine acted on
    RISK_DECISION = "risk_decision"  # approved or refused, with the rule and the numbers
    ORDER_REQUEST = "order_request"  # written before the order is sent
    VENUE_REPLY = "venue_reply"  # the venue's answer, as an order state
    FILL = "fill"
    POSITION = "position"  # a position after it changed
    PNL = "pnl"  # realised PnL of a finished trade
    STATE = "state"  # trading state changes (ACTIVE / REDUCING / HALTED)
    RECONCILE = "reconcile"  # start-up reconciliation with the venues


class ChainBroken(ArbcoreError):
    """The audit trail's hash chain does not hold: a row was altered, removed or inserted."""

    def __init__(self, seq: int, reason: str) -> None:
        self.seq = seq
        super().__init__(f"audit trail broken at row {seq}: {reason}")


@attrs.frozen(kw_only=True)
class AuditRecord:
    """One row as stored."""

    seq: int
    ts_ns: int
    kind: RecordKind
    trace_id: str
    venue: str
    symbol: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, enums as their values: one text per value, byte for byte."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain,
                      ensure_ascii=False, allow_nan=False)  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=True, value_serializer=_serialize)
    raise TypeError(f"cannot record a {type(value).__name__} in the audit trail")


def _serialize(instance: Any, attribute: Any, value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _row_hash(prev_hash: str, seq: int, ts_ns: int, kind: str, trace_id: str, venue: str,
              symbol: str, payload: str) -> str:  # fmt: skip
    text = "\x1f".join((prev_hash, str(seq), str(ts_ns), kind, trace_id, venue, symbol, payload))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen
class _Pending:
    seq: int
    ts_ns: int
    kind: RecordKind
    trace_id: str
    venue: str
    symbol: str
    payload: str  # canonical JSON


class AuditTrail:
    """The audit trail of one engine (one SQLite file). Thread-safe appends; one writer."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        if synchronous not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, was {synchronous!r}")
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)
        last = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self._last_hash: str = last[1] if last else GENESIS
        self._next_seq = (last[0] + 1) if last else 1
        self._durable_seq = self._next_seq - 1
        self._append_lock = threading.Lock()
        self._durable = threading.Condition()
        self._pending: deque[_Pending] = deque()
        self._wake = threading.Event()  # flush/close: write now rather than at the next tick
        self._stopping = False
        self._error: BaseException | None = None
        self.batches = 0
        self._writer = threading.Thread(target=self._write_loop, name="arbcore-audit",
                                        daemon=True)  # fmt: skip
        self._writer.start()

    # -- writing ----------------------------------------------------------------------------------

    def append(self, kind: RecordKind, payload: Any, *, ts_ns: int, trace_id: str = "",
               venue: str = "", symbol: str = "") -> int:  # fmt: skip
        """Queue one record; its sequence number. Durable once :meth:`flush` has passed it.

        The payload is serialised here, in the caller's thread: the writer thread then only
        hashes and hands rows to SQLite (which releases the GIL), so it never holds the GIL long
        enough to delay the trading loop's next decision.
        """
        if self._error is not None:
            raise ArbcoreError(f"the audit writer failed: {self._error}") from self._error
        text = canonical_json(payload)  # here, not in the writer: see below
        with self._append_lock:
            seq = self._next_seq
            self._next_seq += 1
            self._pending.append(_Pending(seq, ts_ns, kind, trace_id, venue, symbol, text))
        return seq

    @property
    def durable_seq(self) -> int:
        """The highest sequence number committed to disk."""
        return self._durable_seq

    def flush(self, timeout: float | None = 10.0) -> int:
        """Block until everything appended so far is durable; the durable sequence number."""
        return self._wait(self._next_seq - 1, timeout)

    async def wait_durable(self, seq: int, timeout: float | None = 10.0) -> None:
        """Wait (without blocking the event loop) until record ``seq`` is durable."""
        if self._durable_seq >= seq:
            return
        await asyncio.get_running_loop().run_in_executor(None, self._wait, seq, timeout)

    def _wait(self, seq: int, timeout: float | None) -> int:
        self._wake.set()
        with self._durable:
            if not self._durable.wait_for(
                lambda: self._durable_seq >= seq or self._error is not None, timeout
            ):
                raise TimeoutError(f"audit record {seq} not durable after {timeout}s")
        if self._error is not None:
            raise ArbcoreError(f"the audit writer failed: {self._error}") from self._error
        return self._durable_seq

    def close(self) -> None:
        """Write everything queued, stop the writer and close the file."""
        if self._writer.is_alive():
            self._stopping = True
            self._wake.set()
            self._writer.join()
        self._db.close()

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_loop(self) -> None:
        """Every WRITE_INTERVAL_S (or at once when flushed), commit whatever is pending.

        Appends never wake this thread: waking a thread per record costs the trading loop a
        context switch and a GIL hand-off on every decision. A tick of a few ms batches them.
        """
        while True:
            self._wake.wait(WRITE_INTERVAL_S)
            self._wake.clear()
            stopping = self._stopping
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(BATCH_MAX, len(self._pending)))]
                try:
                    self._commit(batch)
                except BaseException as exc:  # the trail must not fail silently
                    logger.critical("audit trail writer failed: %s", exc)
                    with self._durable:
                        self._error = exc
                        self._durable.notify_all()
                    return
            if stopping:
                return

    def _commit(self, batch: list[_Pending]) -> None:
        rows = []
        prev = self._last_hash
        for item in batch:
            payload = item.payload
            digest = _row_hash(prev, item.seq, item.ts_ns, item.kind.value, item.trace_id,
                               item.venue, item.symbol, payload)  # fmt: skip
            rows.append((item.seq, item.ts_ns, item.kind.value, item.trace_id, item.venue,
                         item.symbol, payload, prev, digest))  # fmt: skip
            prev = digest
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._last_hash = prev
        self.batches += 1
        with self._durable:
            self._durable_seq = batch[-1].seq
            self._durable.notify_all()

    # -- reading ----------------------------------------------------------------------------------

    def records(self, *kinds: RecordKind, after: int = 0) -> Iterator[AuditRecord]:
        """Durable records in order (only the given kinds, when any), from a fresh reader."""
        return read_records(self.path, *kinds, after=after)

    def verify(self) -> int:
        """Check the whole hash chain; the number of rows, or ChainBroken at the first bad row."""
        return verify_chain(self.path)


def _reader(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def read_records(path: str | Path, *kinds: RecordKind, after: int = 0) -> Iterator[AuditRecord]:
    """Every committed record of the trail at ``path``, in order (filtered by kind)."""
    db = _reader(Path(path))
    try:
        query = "SELECT * FROM audit WHERE seq > ?"
        args: list[Any] = [after]
        if kinds:
            query += f" AND kind IN ({', '.join('?' * len(kinds))})"
            args += [kind.value for kind in kinds]
        for row in db.execute(query + " ORDER BY seq", args):
            seq, ts_ns, kind, trace_id, venue, symbol, payload, prev_hash, digest = row
            yield AuditRecord(seq=seq, ts_ns=ts_ns, kind=RecordKind(kind), trace_id=trace_id,
                              venue=venue, symbol=symbol, payload=json.loads(payload),
                              prev_hash=prev_hash, hash=digest)  # fmt: skip
    finally:
        db.close()


#: The latest row of each order (requests and replies both name its client order id), with
#: the time and trace of its first row; a refused order's reply holds only the error.
_ORDERS = """
WITH rows AS (
    SELECT seq, ts_ns, trace_id, venue, symbol, payload,
           json_extract(payload, '$.client_order_id') AS client_order_id
    FROM audit WHERE kind IN ('order_request', 'venue_reply')
), orders AS (
    SELECT venue, client_order_id, MAX(seq) AS last_seq, MIN(seq) AS first_seq,
           MIN(ts_ns) AS created_ns
    FROM rows GROUP BY venue, client_order_id
)
SELECT orders.created_ns, last.ts_ns, first.trace_id, orders.venue, first.symbol,
       orders.client_order_id, first.payload, last.payload,
       COALESCE(json_extract(last.payload, '$.status'), 'rejected') AS status
FROM orders JOIN rows AS first ON first.seq = orders.first_seq
            JOIN rows AS last ON last.seq = orders.last_seq
WHERE (:venue IS NULL OR orders.venue = :venue) AND (:symbol IS NULL OR first.symbol = :symbol)
  AND (:status IS NULL OR status = :status)
  AND (:since IS NULL OR orders.created_ns >= :since)
  AND (:until IS NULL OR orders.created_ns < :until)
"""


def read_orders(
    path: str | Path, *, venue: str | None = None, symbol: str | None = None,
    status: str | None = None, since_ns: int | None = None, until_ns: int | None = None,
    offset: int = 0, limit: int = 100,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """One page of orders in their latest recorded state, newest first, and how many match.

    Each is a dict: ``created_ns``, ``updated_ns``, ``trace_id``, ``venue``, ``symbol``,
    ``client_order_id``, ``status``, ``order`` (the latest Order payload, or the request's when
    the venue refused it) and ``error`` (the refusal, else None).
    """
    args = {"venue": venue, "symbol": symbol, "status": status, "since": since_ns,
            "until": until_ns}  # fmt: skip
    db = _reader(Path(path))
    try:
        db.execute("BEGIN")  # one snapshot for the count and the page
        (total,) = db.execute(f"SELECT COUNT(*) FROM ({_ORDERS})", args).fetchone()
        rows = db.execute(f"{_ORDERS} ORDER BY orders.created_ns DESC, orders.last_seq DESC "
                          "LIMIT :limit OFFSET :offset",
                          {**args, "limit": limit, "offset": offset}).fetchall()  # fmt: skip
    finally:
        db.close()
    page = []
    for created, updated, trace_id, venue_, symbol_, order_id, first, last, status_ in rows:
        reply = json.loads(last)
        error = reply if "error" in reply else None
        page.append({"created_ns": created, "updated_ns": updated, "trace_id": trace_id,
                     "venue": venue_, "symbol": symbol_, "client_order_id": order_id,
                     "status": status_, "order": json.loads(first) if error else reply,
                     "error": error})  # fmt: skip
    return page, total


def verify_chain(path: str | Path) -> int:
    """Walk the chain of the trail at ``path``: row count, or ChainBroken naming the row."""
    db = _reader(Path(path))
    try:
        prev, expected_seq, count = GENESIS, 1, 0
        for row in db.execute("SELECT * FROM audit ORDER BY seq"):
            seq, ts_ns, kind, trace_id, venue, symbol, payload, prev_hash, digest = row
            if seq != expected_seq:
                raise ChainBroken(expected_seq, f"row {expected_seq} is missing")
            if prev_hash != prev:
                raise ChainBroken(seq, "it does not follow the previous row's hash")
            if _row_hash(prev, seq, ts_ns, kind, trace_id, venue, symbol, payload) != digest:
                raise ChainBroken(seq, "its content does not match its hash")
            prev, expected_seq, count = digest, seq + 1, count + 1
        return count
    finally:
        db.close()
