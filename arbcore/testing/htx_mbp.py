"""An HTX ``mbp.150`` session derived from the real ``depth.step0`` capture (HUOBI.ws.44.0).

There is no real mbp recording. Consecutive step0 images of a symbol become ``mbp.150`` diffs with
non-contiguous seqNums (as in the docs' 150-level example). Both the feed tests and the loopback
server use this one derivation. Numbers stay as their wire text (:class:`Number`), so a re-encoded
frame writes them bare, the way HTX does.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import attrs

from arbcore.exchanges.htx import parsing
from arbcore.marketdata.records import Record
from arbcore.testing.conformance import Recording

__all__ = [
    "SEQ_BASE",
    "Number",
    "bare_numbers",
    "diff",
    "frame",
    "mbp_seq",
    "mbp_session",
    "step0_images",
    "texts",
]

#: seqNum of the first step0 image of every symbol; image k has ``mbp_seq(k)``
SEQ_BASE = 100_000_000_000

Levels = list[list[str]]


class Number(str):
    """A JSON number kept as its wire text (so a re-encoded frame writes it bare)."""


def texts(record: Record) -> dict[str, Any]:
    """A recorded frame decoded with every number kept as its wire text."""
    decoded: dict[str, Any] = json.loads(
        parsing.decompress(record.payload), parse_float=Number, parse_int=Number
    )
    return decoded


def bare_numbers(value: Any) -> str:
    """JSON of a message decoded by :func:`texts`, its numbers written bare again."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{bare_numbers(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(bare_numbers(item) for item in value) + "]"
    if isinstance(value, Number):
        return str(value)
    return json.dumps(value)


def frame(message: dict[str, Any]) -> bytes:
    """The message as HTX sends it: compact JSON with bare numbers, gzip-compressed."""
    return gzip.compress(bare_numbers(message).encode())


def mbp_seq(k: int) -> int:
    """The seqNum of image ``k``: not contiguous, as in the docs' 150-level example."""
    return SEQ_BASE + 2 * k


def diff(old: Levels, new: Levels) -> Levels:
    """The mbp levels that turn side ``old`` into ``new``: changed sizes, then removals (0)."""
    before = {price: size for price, size in old}
    after = {price: size for price, size in new}
    changed = [[price, size] for price, size in new if before.get(price) != size]
    return changed + [[price, Number("0")] for price in before if price not in after]


def step0_images(recording: Recording, native: str) -> list[dict[str, Any]]:
    """The ``tick`` of every recorded depth.step0 snapshot of ``native``, in order."""
    channel = f"market.{native}.depth.step0"
    images = []
    for record in recording.records:
        if record.kind != "ws":
            continue
        message = texts(record)
        if message.get("ch") == channel:
            images.append(message["tick"])
    return images


def mbp_session(recording: Recording) -> list[Record]:
    """Per symbol: deltas 1 and 2 arrive first (cached), then the req reply at delta 1's seqNum,
    then the rest of the chain; at the positions the step0 images had in the capture."""
    images: dict[str, list[dict[str, Any]]] = {}
    out: list[Record] = []
    for record in recording.records:
        if record.kind != "ws":
            continue
        message = texts(record)
        if not str(message.get("ch", "")).endswith(".depth.step0"):
            continue
        native = message["ch"].split(".")[1]
        seen = images.setdefault(native, [])
        seen.append(message["tick"])
        k = len(seen) - 1
        if k == 0:
            continue
        tick = {
            "seqNum": Number(mbp_seq(k)),
            "prevSeqNum": Number(mbp_seq(k - 1)),
            "bids": diff(seen[k - 1]["bids"], seen[k]["bids"]),
            "asks": diff(seen[k - 1]["asks"], seen[k]["asks"]),
        }
        channel = f"market.{native}.mbp.150"
        delta = {"ch": channel, "ts": message["ts"], "tick": tick}
        out.append(attrs.evolve(record, payload=frame(delta)))
        if k == 2:
            data = {"seqNum": Number(mbp_seq(1)), "bids": seen[1]["bids"], "asks": seen[1]["asks"]}
            reply = {"id": native, "rep": channel, "status": "ok", "data": data}
            out.append(attrs.evolve(record, payload=frame(reply)))
    return out
