"""Binance spot request signing (HMAC-SHA256), pinned to the documentation's worked examples.

``totalParams`` is the query string followed directly by the form body, with no separator
between them (rest-api.md "SIGNED Endpoint Examples", Example 3). The signature is the hex
HMAC-SHA256 of it under the secret key, sent as a ``signature`` parameter; ``recvWindow`` and
``timestamp`` join the part that carries the request's parameters: the body when there is one,
else the query string. The API key travels in the ``X-MBX-APIKEY`` header. Non-ASCII values are
percent-encoded (UTF-8) before signing, which :attr:`HttpRequest.query` already does. The
HMAC and the comparison are :mod:`arbcore.exchanges.signing`'s.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import attrs

from arbcore.exchanges.binance import constants
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.signing import hmac_hex, same_text
from arbcore.net.http import HttpRequest

__all__ = ["sign", "total_params", "verify"]

_FORM = "application/x-www-form-urlencoded"


def total_params(request: HttpRequest) -> str:
    """What is signed: the query string then the body, each without its ``signature`` pair."""
    params = tuple(pair for pair in request.params if pair[0] != constants.SIGNATURE_PARAM)
    return urlencode(params) + _split_signature(request.body)[0]


def sign(
    request: HttpRequest,
    credentials: Credentials,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
    recv_window_ms: int = constants.RECV_WINDOW_MS,
) -> HttpRequest:
    """The request with ``recvWindow``, ``timestamp``, ``signature`` and the key header added.

    ``timestamp_ms`` defaults to the local clock (the execution client passes its
    venue-synced time); Binance uses no nonce, so ``nonce`` is ignored.
    """
    del nonce
    if not 0 < recv_window_ms <= constants.MAX_RECV_WINDOW_MS:
        raise ValueError(f"recvWindow must be in 1..{constants.MAX_RECV_WINDOW_MS} ms")
    if _signature_of(request) is not None:
        raise ValueError("the request is already signed")
    stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    timing = (("recvWindow", str(recv_window_ms)), ("timestamp", str(stamp)))
    if request.body:
        timed = attrs.evolve(request, body=f"{request.body}&{urlencode(timing)}")
    else:
        timed = request.with_params(*timing)
    digest = hmac_hex(credentials.secret, total_params(timed))
    signature = (constants.SIGNATURE_PARAM, digest)
    if timed.body:
        signed = attrs.evolve(timed, body=f"{timed.body}&{urlencode((signature,))}")
        if signed.header("Content-Type") is None:
            signed = signed.with_headers(("Content-Type", _FORM))
    else:
        signed = timed.with_params(signature)
    return signed.with_headers((constants.API_KEY_HEADER, credentials.api_key))


def verify(request: HttpRequest, credentials: Credentials) -> bool:
    """True when the request carries these credentials' key and a signature of its own
    ``totalParams`` (what the venue checks; the timestamp window is checked separately)."""
    if not same_text(request.header(constants.API_KEY_HEADER), credentials.api_key):
        return False
    expected = hmac_hex(credentials.secret, total_params(request))
    return same_text(_signature_of(request), expected, ignore_case=True)


def _signature_of(request: HttpRequest) -> str | None:
    """The ``signature`` value; the query string's wins, as at the venue."""
    for key, value in request.params:
        if key == constants.SIGNATURE_PARAM:
            return value
    return _split_signature(request.body)[1]


def _split_signature(form: str) -> tuple[str, str | None]:
    """``form`` without its ``signature=`` pair (kept verbatim otherwise), and that value."""
    if not form:
        return form, None
    kept: list[str] = []
    found: str | None = None
    prefix = f"{constants.SIGNATURE_PARAM}="
    for pair in form.split("&"):
        if pair.startswith(prefix) and found is None:
            found = pair[len(prefix) :]
        else:
            kept.append(pair)
    return "&".join(kept), found
