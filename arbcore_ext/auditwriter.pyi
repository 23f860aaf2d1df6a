"""The audit trail's writer in C: rows in, hash-chained and committed without the GIL (see
auditwriter.pyx; :class:`arbcore.storage.audit.AuditTrail` is its user)."""

from os import PathLike

def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 lowercase hex digits (the writer's own digest)."""

class AuditWriter:
    """The C writer over an audit SQLite file whose schema exists, continuing a chain."""

    def __init__(self, path: str | PathLike[str], synchronous: str, tip: str, last_seq: int,
                 interval_s: float, batch_max: int) -> None: ...  # fmt: skip
    def run(self) -> None:
        """The writer thread's body (no GIL held): until stopped and drained, or failed."""
    def push(self, seq: int, ts_ns: int, kind: str, trace_id: str, venue: str, symbol: str,
             payload: str) -> bool:  # fmt: skip
        """Queue one row (copied); False when the writer has failed."""
    def held(self, held: bool) -> None:
        """Whether records wait to be made rows (the first wakes :meth:`wait_held`)."""
    def wait_held(self) -> bool:
        """Sleep (no GIL) until records have been held for the interval; False when stopped."""
    def commit_now(self) -> None:
        """Commit what is queued now (a flush)."""
    def stop(self) -> None:
        """Write what is queued, then end :meth:`run`."""
    def wait_durable(self, seq: int, timeout_s: float | None = None) -> bool:
        """Wait (no GIL) until row ``seq`` is committed; False at the timeout or on failure."""
    @property
    def durable_seq(self) -> int: ...
    @property
    def batches(self) -> int: ...
    @property
    def error(self) -> str | None: ...
    @property
    def tip(self) -> str: ...
    def close(self) -> None:
        """Release the statement and the connection (after :meth:`run` has returned)."""
