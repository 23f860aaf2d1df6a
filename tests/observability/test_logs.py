"""Structured logging: the configured format and level, the trace id on each line, and no
secret in anything written, whichever way it got into a record."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from arbcore.config.schema import LoggingConfig
from arbcore.errors import ConfigError
from arbcore.exchanges.credentials import Credentials
from arbcore.net.http import HttpRequest
from arbcore.observability.logs import REDACTED, Redactor, configure_logging
from arbcore.observability.tracing import trace

ENV = {
    "BINANCE_API_KEY": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
    "BINANCE_SECRET_KEY": "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
    "OKX_API_KEY": "okx-key-7d2f1c9a",
    "OKX_SECRET_KEY": "okx-secret-41b8e2f0c3",
    "OKX_PASSPHRASE": "correct horse battery",
    "ARBCORE_API_TOKEN": "tok-ea71d0c4b2",
    "HOME": "/root",  # not a secret: stays visible
}
SECRETS = [value for name, value in ENV.items() if name != "HOME"]


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _log_everything(logger: logging.Logger) -> None:
    """Secrets arriving every way they could: verbatim, in headers, queries, reprs, errors."""
    key, secret = ENV["BINANCE_API_KEY"], ENV["BINANCE_SECRET_KEY"]
    logger.info("loaded key %s and secret %s", key, secret)
    logger.info("headers %s", {"X-MBX-APIKEY": "unknown-key-123456", "OK-ACCESS-SIGN": "c2lnbg=="})
    logger.info("GET /api/v3/order?symbol=BTCUSDT&timestamp=1&signature=9f8e7d6c5b4a3210")
    logger.info("POST /v5/order sign=abcdef0123456789&apiKey=xyz987654")
    logger.info("Authorization: Bearer %s", ENV["ARBCORE_API_TOKEN"])
    logger.info("auth header 'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig'")
    logger.info("passphrase=%s", ENV["OKX_PASSPHRASE"])
    logger.info("%r", Credentials(ENV["OKX_API_KEY"], ENV["OKX_SECRET_KEY"], "p4ss-phrase"))
    logger.info("%r", HttpRequest(method="GET", path="/x", params={"signature": "feedface99"}))
    try:
        raise RuntimeError(f"venue refused key {key} with secret {secret}")
    except RuntimeError:
        logger.exception("request failed")
    logger.info("design: ok, signal=3, HOME=%s", ENV["HOME"])


@pytest.mark.parametrize("fmt", ["plain", "json"])
@pytest.mark.usefixtures("restore_root")
def test_no_secret_reaches_the_output(fmt: str) -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(format=fmt), stream=stream, environ=ENV)  # type: ignore[arg-type]
    _log_everything(logging.getLogger("arbcore.test"))
    output = stream.getvalue()
    logged = [
        "unknown-key-123456",
        "c2lnbg==",
        "9f8e7d6c5b4a3210",
        "abcdef0123456789",
        "xyz987654",
        "eyJhbGciOiJIUzI1NiJ9",
        "feedface99",
    ]
    for secret in [*SECRETS, *logged]:
        assert secret not in output, secret
    assert output.count(REDACTED) >= 12
    assert "design: ok, signal=3, HOME=/root" in output  # ordinary text is left alone
    assert "request failed" in output
    assert "RuntimeError: venue refused key" in output  # the traceback is kept, redacted


@pytest.mark.usefixtures("restore_root")
def test_json_lines_carry_level_logger_and_trace_id() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(format="json", level="DEBUG"), stream=stream, environ={})
    logger = logging.getLogger("arbcore.engine")
    with trace("e" * 32):
        logger.debug("inside %d", 1)
    logger.warning("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["level"], first["logger"], first["msg"], first["trace_id"]) == (
        "DEBUG", "arbcore.engine", "inside 1", "e" * 32)  # fmt: skip
    assert (second["msg"], second["trace_id"]) == ("outside", "")
    assert first["ts"].endswith("Z")


@pytest.mark.usefixtures("restore_root")
def test_plain_lines_show_the_trace_id_when_there_is_one() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(), stream=stream, environ={})
    logger = logging.getLogger("arbcore.router")
    with trace("f" * 32):
        logger.warning("legs differ")
    logger.info("idle")
    traced, plain = stream.getvalue().splitlines()
    assert traced.endswith(f"WARNING arbcore.router [{'f' * 32}] legs differ")
    assert plain.endswith("INFO arbcore.router idle")


@pytest.mark.usefixtures("restore_root")
def test_arbcore_log_sets_the_level_and_a_bad_one_is_refused() -> None:
    stream = io.StringIO()
    configure_logging(LoggingConfig(level="INFO"), stream=stream,
                      environ={"ARBCORE_LOG": "warning"})  # fmt: skip
    logging.getLogger("arbcore.x").info("hidden")
    logging.getLogger("arbcore.x").warning("shown")
    assert stream.getvalue().count("\n") == 1
    assert logging.getLogger().level == logging.WARNING
    with pytest.raises(ConfigError, match="ARBCORE_LOG"):
        configure_logging(LoggingConfig(), stream=stream, environ={"ARBCORE_LOG": "loud"})


@pytest.mark.usefixtures("restore_root")
def test_configuring_twice_keeps_one_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(LoggingConfig(), stream=first, environ={})
    configure_logging(LoggingConfig(), stream=second, environ={})
    logging.getLogger("arbcore.x").warning("once")
    assert (first.getvalue(), second.getvalue().count("once")) == ("", 1)


def test_the_redactor_leaves_short_values_and_plain_words_alone() -> None:
    redact = Redactor(["ab", "s3cr3t-value"])
    assert redact("ab s3cr3t-value signal=1") == f"ab {REDACTED} signal=1"
