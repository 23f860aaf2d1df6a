"""Bybit v5 request signing (HMAC-SHA256), as docs/v5/guide.mdx "Create A Request" states it.

The string signed is ``timestamp + api_key + recv_window`` followed by the query string of a
GET or the exact JSON body text of a POST; the signature is its lowercase hex HMAC-SHA256
under the secret, sent in ``X-BAPI-SIGN`` beside ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP`` and
``X-BAPI-RECV-WINDOW``. The documentation's own examples print the string and a signature but
never the secret, so the tests pin the string exactly and the digest on self-computed vectors.
"""

from __future__ import annotations

import time

from arbcore.exchanges.bybit import constants
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.signing import hmac_hex, same_text
from arbcore.net.http import HttpRequest

__all__ = ["sign", "string_to_sign", "verify", "ws_auth_args"]


def string_to_sign(
    request: HttpRequest, api_key: str, timestamp_ms: int, recv_window_ms: int
) -> str:
    """``timestamp + api_key + recv_window + (queryString | jsonBodyString)``."""
    data = request.query if request.method == "GET" else request.body
    return f"{timestamp_ms}{api_key}{recv_window_ms}{data}"


def sign(
    request: HttpRequest,
    credentials: Credentials,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
    recv_window_ms: int = constants.RECV_WINDOW_MS,
) -> HttpRequest:
    """The request with Bybit's four authentication headers added.

    ``timestamp_ms`` defaults to the local clock (the execution client passes its
    venue-synced time); Bybit uses no nonce, so ``nonce`` is ignored.
    """
    del nonce
    if recv_window_ms <= 0:
        raise ValueError("recv_window_ms must be positive")
    if request.header(constants.SIGN_HEADER) is not None:
        raise ValueError("the request is already signed")
    stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    text = string_to_sign(request, credentials.api_key, stamp, recv_window_ms)
    return request.with_headers(
        (constants.API_KEY_HEADER, credentials.api_key),
        (constants.TIMESTAMP_HEADER, str(stamp)),
        (constants.RECV_WINDOW_HEADER, str(recv_window_ms)),
        (constants.SIGN_HEADER, hmac_hex(credentials.secret, text)),
    )


def verify(request: HttpRequest, credentials: Credentials) -> bool:
    """True when the request carries these credentials' key and a signature of its own
    timestamp, window and query or body (the timestamp window is checked separately)."""
    api_key = request.header(constants.API_KEY_HEADER)
    stamp = request.header(constants.TIMESTAMP_HEADER)
    window = request.header(constants.RECV_WINDOW_HEADER) or str(constants.RECV_WINDOW_MS)
    received = request.header(constants.SIGN_HEADER)
    if api_key is None or stamp is None or received is None:
        return False
    if not (stamp.isdigit() and window.isdigit()):
        return False
    if not same_text(api_key, credentials.api_key):
        return False
    text = string_to_sign(request, api_key, int(stamp), int(window))
    return same_text(received, hmac_hex(credentials.secret, text), ignore_case=True)


def ws_auth_args(credentials: Credentials, expires_ms: int) -> tuple[str, int, str]:
    """The ``args`` of the private WebSocket's ``{"op": "auth"}`` frame: key, expiry (ms) and
    the hex HMAC of ``"GET/realtime" + expires``."""
    payload = f"{constants.WS_AUTH_PREFIX}{expires_ms}"
    return credentials.api_key, expires_ms, hmac_hex(credentials.secret, payload)
