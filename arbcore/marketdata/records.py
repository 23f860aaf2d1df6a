"""Recorded traffic as one stream of records, whatever format it was saved in.

Three formats are read:

- ``arbcore``: what ``arbcore record`` writes: gzip, one JSON object per line,
  ``{"t": recv_ns, "c": connection, "k": "ws"|"rest"|"sent"|"open", "u": url, "p": text}``
  with ``"b": base64`` instead of ``"p"`` for binary frames (HTX's gzip).
- ``cryptofeed``: cryptofeed's raw-data captures (``<ts>: <payload>`` received frames,
  ``<url> -> <ts>: <body>`` REST bodies, ``<url> <- <ts>: <payload>`` sent frames,
  ``<url> <-> <ts>`` connection opens; binary frames as Python bytes literals).
- ``hftbacktest``: ``<recv_ns> <json>`` lines, gzipped; a line whose JSON has ``lastUpdateId``
  and no ``stream`` is the collector's REST depth snapshot.
- ``ndjson``: one WebSocket frame per line with no receive time (Bybit's archive downloads);
  the file may be gzipped or a zip holding one such file.

Several files are one continuous session, read in the order given.
"""

from __future__ import annotations

import ast
import base64
import gzip
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Literal

import attrs

from arbcore.errors import MalformedMessage

__all__ = ["FORMATS", "Record", "RecordKind", "detect_format", "read_records", "write_record"]

RecordKind = Literal["ws", "rest", "sent", "open"]
FORMATS = ("arbcore", "cryptofeed", "hftbacktest", "ndjson")


@attrs.frozen
class Record:
    """One frame or body as it crossed the wire, with where and when it was received."""

    kind: RecordKind
    ts_ns: int
    payload: bytes
    connection: int = 0
    url: str | None = None
    source: str = ""  # file:line, for error messages


def _open(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    if magic == b"PK\x03\x04":
        archive = zipfile.ZipFile(path)
        (member,) = archive.namelist()
        return io.TextIOWrapper(archive.open(member), encoding="utf-8")
    return path.open("r", encoding="utf-8")


def detect_format(path: Path) -> str:
    """Guess a file's format from its first line."""
    with _open(path) as handle:
        first = handle.readline()
    if first.startswith("{") and '"t"' in first and '"k"' in first:
        return "arbcore"
    if first.startswith(("{", "[")):
        return "ndjson"
    head, _, rest = first.partition(" ")
    if head.isdigit() and rest.lstrip().startswith("{"):
        return "hftbacktest"
    return "cryptofeed"


def _seconds_to_ns(text: str) -> int:
    whole, _, fraction = text.strip().partition(".")
    return int(whole) * 1_000_000_000 + int((fraction + "000000000")[:9] or 0)


def _payload_bytes(text: str, where: str) -> bytes:
    if text.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise MalformedMessage(f"{where}: unreadable bytes literal: {exc}") from exc
        if not isinstance(value, bytes):
            raise MalformedMessage(f"{where}: expected a bytes literal")
        return value
    return text.encode("utf-8")


def _cryptofeed(path: Path, connection_base: int) -> Iterator[Record]:
    connections: dict[str, int] = {}
    current = connection_base
    with _open(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\n")
            where = f"{path.name}:{number}"
            if not line or line.startswith("configuration:"):
                continue
            if " <-> " in line.split(": ", 1)[0]:
                url, _, ts = line.partition(" <-> ")
                current = connections.setdefault(url, connection_base + len(connections))
                yield Record("open", _seconds_to_ns(ts), b"", current, url, where)
                continue
            head, sep, body = line.partition(": ")
            if not sep:
                raise MalformedMessage(f"{where}: not a cryptofeed record line")
            if " -> " in head:
                url, _, ts = head.partition(" -> ")
                yield Record(
                    "rest", _seconds_to_ns(ts), _payload_bytes(body, where), current, url, where
                )
            elif " <- " in head:
                url, _, ts = head.partition(" <- ")
                yield Record(
                    "sent", _seconds_to_ns(ts), _payload_bytes(body, where), current, url, where
                )
            else:
                try:
                    ts_ns = _seconds_to_ns(head)
                except ValueError as exc:
                    raise MalformedMessage(f"{where}: bad timestamp {head!r}") from exc
                yield Record("ws", ts_ns, _payload_bytes(body, where), current, None, where)


def _hftbacktest(path: Path, connection: int) -> Iterator[Record]:
    with _open(path) as handle:
        for number, raw in enumerate(handle, 1):
            head, _, body = raw.rstrip("\n").partition(" ")
            where = f"{path.name}:{number}"
            if not head.isdigit():
                raise MalformedMessage(f"{where}: expected '<ns> <json>'")
            kind: RecordKind = "ws"
            if '"lastUpdateId"' in body[:64] and '"stream"' not in body[:64]:
                kind = "rest"
            yield Record(kind, int(head), body.encode("utf-8"), connection, None, where)


def _ndjson(path: Path, connection: int) -> Iterator[Record]:
    with _open(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if line:
                yield Record(
                    "ws", 0, line.encode("utf-8"), connection, None, f"{path.name}:{number}"
                )


def _arbcore(path: Path) -> Iterator[Record]:
    with _open(path) as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path.name}:{number}"
            try:
                item = json.loads(raw)
                payload = base64.b64decode(item["b"]) if "b" in item else item["p"].encode()
                yield Record(
                    item["k"], int(item["t"]), payload, int(item.get("c", 0)), item.get("u"), where
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise MalformedMessage(f"{where}: not an arbcore record: {exc}") from exc


def read_records(paths: Iterable[str | Path], fmt: str | None = None) -> Iterator[Record]:
    """Every record of the files, in order; ``fmt`` None detects each file's format."""
    for index, name in enumerate(paths):
        path = Path(name)
        kind = fmt or detect_format(path)
        if kind == "cryptofeed":
            yield from _cryptofeed(path, connection_base=index * 1000)
        elif kind == "hftbacktest":
            yield from _hftbacktest(path, connection=index * 1000)
        elif kind == "arbcore":
            yield from _arbcore(path)
        elif kind == "ndjson":
            yield from _ndjson(path, connection=index * 1000)
        else:
            raise ValueError(f"unknown record format {kind!r}; known: {', '.join(FORMATS)}")


def write_record(handle: IO[str], record: Record) -> None:
    """Append one record in the arbcore format (text payloads as text, binary as base64)."""
    item: dict[str, object] = {"t": record.ts_ns, "c": record.connection, "k": record.kind}
    if record.url is not None:
        item["u"] = record.url
    try:
        item["p"] = record.payload.decode("utf-8")
    except UnicodeDecodeError:
        item["b"] = base64.b64encode(record.payload).decode("ascii")
    handle.write(json.dumps(item, separators=(",", ":")) + "\n")
