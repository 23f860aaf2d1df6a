"""The audit trail: every decision, order and fill, append-only and hash-chained, durable."""

from arbcore.storage.audit import AuditRecord, AuditTrail, ChainBroken, RecordKind
from arbcore.storage.recovery import RecoveredState, recover

__all__ = [
    "AuditRecord",
    "AuditTrail",
    "ChainBroken",
    "RecordKind",
    "RecoveredState",
    "recover",
]
