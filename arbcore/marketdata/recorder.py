"""Write what a live feed receives in the arbcore record format, for replay later.

Every WebSocket frame and REST snapshot body is written as it arrived, with the local receive
time and a connection id (format: ``arbcore.marketdata.records``), gzip-compressed.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO

from arbcore.marketdata.records import Record, RecordKind, write_record

__all__ = ["Recorder"]


class Recorder:
    """Appends records to a gzip file; use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records = 0
        # held open for the session on purpose; closed by close() / the context manager
        self._handle: IO[str] = gzip.open(self.path, "wt", encoding="utf-8")  # noqa: SIM115

    def write(
        self, kind: RecordKind, ts_ns: int, payload: bytes, connection: int = 0,
        url: str | None = None,
    ) -> None:  # fmt: skip
        write_record(self._handle, Record(kind, ts_ns, payload, connection, url))
        self.records += 1

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
