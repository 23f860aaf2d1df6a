"""Structured logging: JSON lines or plain text, the trace id on every line, secrets never.

:func:`configure_logging` installs one handler on the root logger (so arbcore's, httpx's and
uvicorn's records all pass through it). Level: ``[logging] level``, overridden by the
``ARBCORE_LOG`` environment variable. Format: ``[logging] format`` = ``plain`` (one readable
line) or ``json`` (one JSON object per line: ``ts``, ``level``, ``logger``, ``msg``,
``trace_id``, ``exc``).

Redaction happens on the way out, after formatting, so it also covers exception text and
anything a third-party library logs (:class:`Redactor`):

- the values of every credential in the environment (``<VENUE>_API_KEY``, ``_SECRET_KEY``,
  ``_PASSPHRASE``: :mod:`arbcore.exchanges.credentials`' scheme; ``ARBCORE_API_TOKEN``), and
  any other secret the caller names;
- the value after any authenticating header or parameter name (``Authorization``,
  ``X-MBX-APIKEY``, ``OK-ACCESS-SIGN``, ``signature=``, ``sign=``, ``apiKey:`` ...), and a
  ``Bearer`` token.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from arbcore.config.schema import LoggingConfig
from arbcore.errors import ConfigError
from arbcore.observability.tracing import TraceIdFilter

__all__ = [
    "LEVELS",
    "REDACTED",
    "JsonFormatter",
    "PlainFormatter",
    "Redactor",
    "configure_logging",
    "environment_secrets",
]

REDACTED = "<redacted>"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: environment variables whose values are secrets: the credentials scheme plus the API token
_SECRET_ENV = re.compile(r"(?:[A-Z0-9]+_(?:API_KEY|SECRET_KEY|PASSPHRASE)|ARBCORE_API_TOKEN)")
#: a name that authenticates, then ``:`` or ``=``, then its value (quoted or not)
_NAMED_SECRET = re.compile(
    r"(?i)(\b(?:[a-z0-9]+[-_])*(?:api[-_]?key|apikey|access[-_]key|sign|signature|secret"
    r"(?:[-_]?key)?|passphrase|token|authorization)[\"']?\s*[:=]\s*[\"']?)"
    r"(?!bearer\s)([^\s\"'&,;)}\]]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)([^\s\"',;]+)")
MIN_SECRET_CHARS = 4  # shorter values would redact ordinary text


def environment_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of every credential variable set in the environment."""
    env = os.environ if environ is None else environ
    return tuple(value for name, value in env.items()
                 if _SECRET_ENV.fullmatch(name) and len(value) >= MIN_SECRET_CHARS)  # fmt: skip


class Redactor:
    """Replaces known secret values and authenticating fields' values in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
        self._values = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
        return _NAMED_SECRET.sub(lambda m: m.group(1) + REDACTED, text)


class PlainFormatter(logging.Formatter):
    """``2024-05-01T12:00:00.123Z INFO arbcore.engine [trace] message``, redacted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(trace)s %(message)s")
        self.redact = redact

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _utc(record.created)

    def format(self, record: logging.LogRecord) -> str:
        trace_id = getattr(record, "trace_id", "")
        record.trace = f" [{trace_id}]" if trace_id else ""
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record; every string field redacted before it is encoded."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": self.redact(record.getMessage()),
            "trace_id": getattr(record, "trace_id", ""),
        }
        if record.exc_info:
            fields["exc"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            fields["exc"] = self.redact(record.exc_text)
        return json.dumps(fields, ensure_ascii=False)


def _utc(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _level(config: LoggingConfig, env: Mapping[str, str]) -> str:
    level = env.get("ARBCORE_LOG", "").strip().upper() or config.level
    if level not in LEVELS:
        raise ConfigError(f"expected one of {', '.join(LEVELS)}, was {level!r}",
                          key="ARBCORE_LOG")  # fmt: skip
    return level


def configure_logging(
    config: LoggingConfig | None = None,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """Route every log record to ``stream`` (stderr) in the configured format, with the trace
    id and without secrets; replaces a handler an earlier call installed. The handler."""
    config = config or LoggingConfig()
    env = os.environ if environ is None else environ
    redact = Redactor((*environment_secrets(env), *secrets))
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name("arbcore")
    formatter = JsonFormatter(redact) if config.format == "json" else PlainFormatter(redact)
    handler.setFormatter(formatter)
    handler.addFilter(TraceIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "arbcore"]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(_level(config, env))
    return handler
