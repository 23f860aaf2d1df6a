"""Readers for the REST bodies inside cryptofeed's recordings (the ``<FEED>.0`` files).

cryptofeed's raw-data recorder writes one line per event; an HTTP GET response is
``<url> -> <ts>: <body>`` with the venue's JSON verbatim, the first line may be
``configuration: {...}``, and WebSocket lines (``<ts>: ...``, ``<url> <- ...``, ``<url> <-> ...``)
are ignored here. The ``.0`` files hold the instrument lists the venue providers parse, so tests
replay the real responses through ``providers.parse_instruments``.

A test and documentation kit, not a venue client: the adapters fetch over HTTP themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from arbcore.errors import MalformedMessage

__all__ = ["RestBody", "iter_rest_bodies", "load_rest_body"]

_ARROW = " -> "


@attrs.frozen(kw_only=True, eq=False)
class RestBody:
    """One recorded HTTP response: where it came from, when (local UNIX s), the decoded JSON."""

    url: str
    ts: float
    body: Any


def iter_rest_bodies(path: str | Path, url_contains: str | None = None) -> Iterator[RestBody]:
    """Every REST response in the file, in order, optionally only URLs containing a substring."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            url, arrow, rest = line.partition(_ARROW)
            if not arrow or not url.startswith(("http://", "https://")) or " " in url:
                continue
            if url_contains is not None and url_contains not in url:
                continue
            ts_text, colon, body = rest.partition(": ")
            try:
                if not colon:
                    raise ValueError("no ': ' after the timestamp")
                yield RestBody(url=url, ts=float(ts_text), body=json.loads(body))
            except ValueError as exc:
                raise MalformedMessage(f"{path.name} line {number}: {exc}") from exc


def load_rest_body(path: str | Path, url_contains: str | None = None) -> Any:
    """The decoded body of the first REST response (whose URL contains ``url_contains``)."""
    for response in iter_rest_bodies(path, url_contains):
        return response.body
    where = f" with {url_contains!r} in its URL" if url_contains is not None else ""
    raise MalformedMessage(f"{Path(path).name}: no REST response{where}")
