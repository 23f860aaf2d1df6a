"""An append-only, hash-chained audit trail in SQLite, written off the hot path.

Why this shape:

- **Append-only, enforced by the database.** Triggers refuse every UPDATE and DELETE, so not even
  a bug in arbcore can rewrite history.
- **Hash-chained.** Each row stores ``sha256(previous hash + the row's canonical text)``;
  :meth:`AuditTrail.verify` finds the first row that was altered, removed or inserted.
- **Off the hot path, and off the GIL.** :meth:`AuditTrail.append` only numbers and queues the
  record (O(1)): an immutable payload (frozen attrs values such as ``Opportunity`` or
  ``Order``) is kept by reference, anything mutable is snapshotted as its JSON text. Making a
  record's JSON needs the interpreter, so it is done where it costs the trading loop least:
  by the engine's idle hook, one record at a time while no message waits
  (:meth:`AuditTrail.prepare`), else by a preparer thread :data:`WRITE_INTERVAL_S` later.
  Hash-chaining and committing are C (:mod:`arbcore_ext.auditwriter`) on a thread that never
  holds the GIL: the loop never waits for the writer to hand the GIL back (in the paced
  benchmark, the writer's GIL time was the largest part of the decisions' p99).
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
import types
import typing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from arbcore.errors import ArbcoreError
from arbcore_ext.affinity import available_cpus, pin_thread
from arbcore_ext.auditwriter import AuditWriter
from arbcore_ext.errors import AffinityError

__all__ = [
    "AuditRecord",
    "AuditTrail",
    "ChainBroken",
    "RecordKind",
    "by_reference",
    "canonical_json",
    "read_orders",
]

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
BATCH_MAX = 512
WRITE_INTERVAL_S = 0.002  # how long the writer lets a batch gather before it commits it
#: the key of a row whose payload had no JSON form (the row says what it was and why)
UNSERIALISABLE = "unserialisable"

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
    return _ENCODER.encode(value)


def _plain(value: Any) -> Any:
    """The encoder's hook for what JSON does not know: enums and attrs instances."""
    convert = _CONVERTERS.get(type(value))
    if convert is None:
        convert = _converter(type(value))
    return convert(value)


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_plain,
                            ensure_ascii=False, allow_nan=False)  # fmt: skip

#: how each type the encoder met is made plain (per type, so each value costs a dict lookup)
_CONVERTERS: dict[type, Callable[[Any], Any]] = {}


def _converter(cls: type) -> Callable[[Any], Any]:
    convert: Callable[[Any], Any]
    if issubclass(cls, enum.Enum):
        convert = _enum_value
    elif attrs.has(cls) and _captured(cls):
        convert = _fields_of(cls)
    elif attrs.has(cls):
        convert = _asdict
    else:
        raise TypeError(f"cannot record a {cls.__name__} in the audit trail")
    _CONVERTERS[cls] = convert
    return convert


def _fields_of(cls: type) -> Callable[[Any], dict[str, Any]]:
    """A class of scalars, enums, tuples and such classes: its fields as they are, which the
    encoder finishes (the same text as attrs.asdict gives, at a fraction of its cost)."""
    names = tuple(field.name for field in attrs.fields(cls))

    def fields(value: Any) -> dict[str, Any]:
        return {name: getattr(value, name) for name in names}

    return fields


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _asdict(value: Any) -> Any:
    return attrs.asdict(value, recurse=True, value_serializer=_serialize)


def _serialize(instance: Any, attribute: Any, value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


_SCALARS = (str, int, float, bool, type(None))

#: per type: can a value be kept by reference until prepare serialises it? (see _captured)
_IMMUTABLE: dict[type, bool] = dict.fromkeys(_SCALARS, True)


def _captured(cls: type) -> bool:
    """Whether a ``cls`` value cannot change after it is appended, so it can be kept by
    reference: scalars, enums, and frozen attrs classes whose fields are annotated (and, with
    mypy strict, checked) as such values, optional ones or tuples of them. Decided once per
    type; anything else (dicts, lists, mutable or loosely typed classes) is snapshotted."""
    known = _IMMUTABLE.get(cls)
    if known is None:
        known = _IMMUTABLE[cls] = _immutable_type(cls, set())
    return known


def by_reference(cls: type) -> bool:
    """Whether :meth:`AuditTrail.append` keeps a ``cls`` payload by reference (see
    :func:`_captured`). Decided once per type, at the first append of one unless asked before:
    a hot path asks at start-up for the types it appends (the first decision then does not
    spend a million instructions on type hints)."""
    return _captured(cls)


def _held(payload: Any) -> tuple[Any, bool]:
    """What an append queues for ``payload`` and whether that is the payload itself, kept by
    reference (see :func:`_captured`), or else its canonical JSON, made now."""
    captured = _IMMUTABLE.get(type(payload))
    if captured is None:
        captured = _captured(type(payload))
    return (payload, True) if captured else (canonical_json(payload), False)


def _immutable_type(hint: Any, seen: set[type]) -> bool:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return all(_immutable_type(arg, seen) for arg in typing.get_args(hint))
    if origin is tuple:
        return all(arg is Ellipsis or _immutable_type(arg, seen) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return all(isinstance(arg, (*_SCALARS, enum.Enum)) for arg in typing.get_args(hint))
    if hasattr(hint, "__supertype__"):  # a NewType
        return _immutable_type(hint.__supertype__, seen)
    if not isinstance(hint, type):
        return False
    if hint in _SCALARS or issubclass(hint, enum.Enum) or hint in seen:
        return True  # (a class met again is decided by the first visit)
    if not attrs.has(hint) or not _frozen(hint):
        return False
    seen.add(hint)
    try:
        hints = typing.get_type_hints(hint)
    except Exception:  # an annotation that does not resolve: not known to be immutable
        return False
    return all(_immutable_type(hints.get(field.name), seen) for field in attrs.fields(hint))


def _frozen(cls: type) -> bool:
    """Whether setting a field of a ``cls`` instance raises (frozen attrs classes do)."""
    fields = attrs.fields(cls)
    if not fields:
        return True
    try:
        probe: Any = object.__new__(cls)  # never initialised: only its __setattr__ is tried
        setattr(probe, fields[0].name, None)
    except attrs.exceptions.FrozenInstanceError:
        return True
    except Exception:
        return False
    return False


def _utf8_safe(text: str) -> str:
    """``text`` with what UTF-8 cannot hold (lone surrogates) written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _row_hash(prev_hash: str, seq: int, ts_ns: int, kind: str, trace_id: str, venue: str,
              symbol: str, payload: str) -> str:  # fmt: skip
    text = "\x1f".join((prev_hash, str(seq), str(ts_ns), kind, trace_id, venue, symbol, payload))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: a queued record: seq, ts_ns, kind, trace_id, venue, symbol, payload, and whether the payload
#: is already its canonical JSON (a snapshot) rather than the value itself
_Pending = tuple[int, int, RecordKind, str, str, str, Any, bool]


class AuditTrail:
    """The audit trail of one engine (one SQLite file). Thread-safe appends; one writer."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 cpus: Iterable[int] | None = None) -> None:  # fmt: skip
        """``cpus``: where the trail's two threads run (None: wherever the creating thread may).
        A pinned trading loop hands it the other CPUs, or its threads, created after the loop
        pinned itself, would inherit its single CPU and take turns on it with the loop."""
        if synchronous not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, was {synchronous!r}")
        self._cpus = None if cpus is None else frozenset(cpus)
        if self._cpus is not None and not self._cpus <= available_cpus():
            raise ValueError(f"audit trail cpus {sorted(self._cpus)} are not all available: "
                             f"{sorted(available_cpus())}")  # fmt: skip
        self.path = Path(path)
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        finally:
            db.close()
        self._next_seq = (last[0] + 1) if last else 1
        #: the C writer: hash chain, SQLite connection, durable sequence number (no GIL)
        self._writer = AuditWriter(self.path, synchronous, last[1] if last else GENESIS,
                                   self._next_seq - 1, WRITE_INTERVAL_S, BATCH_MAX)  # fmt: skip
        self._append_lock = threading.Lock()
        self._prepare_lock = threading.Lock()  # one thread at a time makes rows, in order
        self._pending: deque[_Pending] = deque()  # appended, not yet made rows
        self._error: BaseException | None = None
        self._closed = False
        #: records whose payload could not be serialised (a non-finite float, an object JSON
        #: has no form for): each was written as a row saying so, see _payload_text
        self.unserialisable = 0
        self._threads = (
            threading.Thread(target=self._placed, args=(self._writer.run,),
                             name="arbcore-audit-writer", daemon=True),
            threading.Thread(target=self._placed, args=(self._prepare_loop,),
                             name="arbcore-audit", daemon=True),
        )  # fmt: skip
        for thread in self._threads:
            thread.start()

    # -- writing ----------------------------------------------------------------------------------

    def append(self, kind: RecordKind, payload: Any, *, ts_ns: int, trace_id: str = "",
               venue: str = "", symbol: str = "", handed_over: bool = False) -> int:  # fmt: skip
        """Queue one record; its sequence number. Durable once :meth:`flush` has passed it.

        O(1) on the caller's thread: an immutable payload is kept by reference (serialised
        later, to the same text, by :meth:`prepare`); a mutable one (a dict) is serialised now,
        as the snapshot of what it held, which also reports a value JSON cannot hold right here.
        ``handed_over``: the caller built the mutable ``payload`` for this record alone, of
        values JSON holds (no NaN or infinity: checked by the caller), and never changes it
        again, so it is kept by reference too (the trade's position and PnL rows: their JSON is
        not made on the trading loop).
        """
        if self._error is not None:
            self._raise_if_failed()
        captured = handed_over or _IMMUTABLE.get(type(payload))  # (what _held does, inline)
        if captured is None:
            captured = _captured(type(payload))
        if not captured:
            payload = canonical_json(payload)
        with self._append_lock:
            seq = self._next_seq
            self._next_seq = seq + 1
            idle = not self._pending
            self._pending.append((seq, ts_ns, kind, trace_id, venue, symbol, payload,
                                  not captured))  # fmt: skip
        if idle:  # the first record held wakes the preparer; the rest ride along
            self._writer.held(True)
        return seq

    def append_pair(self, kind: RecordKind, payload: Any, then: RecordKind, then_payload: Any,
                    *, ts_ns: int, trace_id: str = "", venue: str = "") -> int:  # fmt: skip
        """Two records of one moment and one trace, as :meth:`append` twice (``venue``: the
        first's; the second has none) but in one call, one lock and one wake-up, with
        consecutive sequence numbers: the first's. A decision's opportunity and its verdict."""
        if self._error is not None:
            self._raise_if_failed()
        payload, captured = _held(payload)
        then_payload, then_captured = _held(then_payload)
        pending = self._pending
        with self._append_lock:
            seq = self._next_seq
            self._next_seq = seq + 2
            idle = not pending
            pending.append((seq, ts_ns, kind, trace_id, venue, "", payload, not captured))
            pending.append((seq + 1, ts_ns, then, trace_id, "", "", then_payload,
                            not then_captured))  # fmt: skip
        if idle:
            self._writer.held(True)
        return seq

    @property
    def held(self) -> bool:
        """Whether records wait to be made rows (what :meth:`prepare` would do)."""
        return bool(self._pending)

    def prepare(self, limit: int | None = None, *, blocking: bool = True) -> int:
        """Make up to ``limit`` held records (all: None) rows, oldest first, on this thread,
        and hand them to the C writer; how many. The engine's idle hook calls it with
        ``limit=1, blocking=False`` (returning 0 at once while another thread prepares), so a
        record's JSON is made while no message waits; what it leaves, the preparer thread
        makes :data:`WRITE_INTERVAL_S` later, and a flush at once."""
        if self._error is not None or not self._prepare_lock.acquire(blocking):
            return 0  # (failed: nothing made now could be written)
        try:
            pending, push = self._pending, self._writer.push
            made = 0
            while pending and (limit is None or made < limit):
                seq, ts_ns, kind, trace_id, venue, symbol, payload, text = pending[0]
                if not text:
                    payload = self._payload_text(payload, kind, seq)
                try:
                    pushed = push(seq, ts_ns, kind.value, trace_id, venue, symbol, payload)
                except UnicodeEncodeError as exc:  # a lone surrogate: text with no UTF-8 form
                    payload = self._unserialisable(payload, kind, seq, exc)
                    pushed = push(seq, ts_ns, kind.value, _utf8_safe(trace_id), _utf8_safe(venue),
                                  _utf8_safe(symbol), payload)  # fmt: skip
                if not pushed:  # the writer has failed: nothing more can become durable
                    self._error = ArbcoreError(self._writer.error)
                    break
                pending.popleft()
                made += 1
            with self._append_lock:  # (an append sets the flag after its record is in)
                if not pending:
                    self._writer.held(False)
            return made
        finally:
            self._prepare_lock.release()

    def _placed(self, body: Callable[[], object]) -> None:
        """A thread of the trail: on its CPUs (when given), then ``body``. A refused pin is
        logged and the thread runs where it is: placement never costs the trail its rows."""
        if self._cpus:
            try:
                pin_thread(self._cpus)
            except AffinityError as exc:
                logger.warning("audit trail thread not pinned to %s: %s", sorted(self._cpus), exc)
        body()

    def _prepare_loop(self) -> None:
        """The preparer thread: asleep (no GIL) until records have been held for
        :data:`WRITE_INTERVAL_S` without the idle hook making them rows, then makes them."""
        wait = self._writer.wait_held
        try:
            while wait():
                self.prepare()
        except BaseException as exc:  # the trail must not fail silently
            logger.critical("audit trail preparer failed: %s", exc)
            self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is None and (error := self._writer.error) is not None:
            self._error = ArbcoreError(error)
        if self._error is not None:
            raise ArbcoreError(f"the audit writer failed: {self._error}") from self._error

    @property
    def durable_seq(self) -> int:
        """The highest sequence number committed to disk."""
        return int(self._writer.durable_seq)

    @property
    def batches(self) -> int:
        """Transactions committed."""
        return int(self._writer.batches)

    def flush(self, timeout: float | None = 10.0) -> int:
        """Block until everything appended so far is durable; the durable sequence number."""
        return self._wait(self._next_seq - 1, timeout)

    async def wait_durable(self, seq: int, timeout: float | None = 10.0) -> None:
        """Wait (without blocking the event loop) until record ``seq`` is durable."""
        if self.durable_seq >= seq:
            return
        await asyncio.get_running_loop().run_in_executor(None, self._wait, seq, timeout)

    def _wait(self, seq: int, timeout: float | None) -> int:
        self.prepare()
        self._writer.commit_now()
        durable = self._writer.wait_durable(seq, timeout)
        self._raise_if_failed()
        if not durable:
            raise TimeoutError(f"audit record {seq} not durable after {timeout}s")
        return self.durable_seq

    def close(self) -> None:
        """Write everything queued, stop the writer and close the file."""
        if self._closed:
            return
        self._closed = True
        self.prepare()
        self._writer.stop()
        for thread in self._threads:
            thread.join()
        self._writer.close()

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _payload_text(self, payload: Any, kind: RecordKind, seq: int) -> str:
        """The payload's canonical JSON; if it has none (a NaN in a float field, a field
        holding what its annotation does not allow), the row still exists, gapless in the
        chain, saying what it held and why it could not be written, and the failure is
        counted and logged: the writer never stops for one bad value."""
        try:
            return canonical_json(payload)
        except Exception as exc:
            return self._unserialisable(payload, kind, seq, exc)

    def _unserialisable(self, payload: Any, kind: RecordKind, seq: int, exc: Exception) -> str:
        """The row written for a payload that has no text (counted and logged)."""
        self.unserialisable += 1
        logger.error("audit row %d (%s): payload not serialisable: %s", seq, kind.value, exc)
        try:
            shown = _utf8_safe(repr(payload))
        except Exception:
            shown = object.__repr__(payload)
        return canonical_json({UNSERIALISABLE: type(payload).__name__,
                               "error": _utf8_safe(str(exc)), "repr": shown})  # fmt: skip

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
