"""Bitfinex v2 REST signing (docs.bitfinex.com/docs/rest-auth), pure.

``bfx-signature = hex(HMAC-SHA384(secret, "/api" + path + nonce + body))`` where ``path`` is the
request path (``/v2/auth/w/order/submit``), ``nonce`` the ``bfx-nonce`` header and ``body`` the
JSON text exactly as sent. The key travels in ``bfx-apikey``. Bitfinex checks no timestamp, only
that a key's nonces increase (``10114 nonce: small``), so there is no clock to synchronise; nonces
are microseconds from :class:`~arbcore.exchanges.signing.IncreasingNonce`. The
WebSocket login signs ``"AUTH" + nonce`` with the same HMAC (:func:`ws_auth`). Bitfinex publishes no
worked example: the vectors are synthetic, computed from the documented rule.
"""

from __future__ import annotations

import time

from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.signing import hmac_hex, same_text, with_auth_headers
from arbcore.net.http import HttpRequest

__all__ = ["AUTH_HEADERS", "sign", "signature_payload", "verify", "ws_auth"]

KEY_HEADER = "bfx-apikey"
NONCE_HEADER = "bfx-nonce"
SIGN_HEADER = "bfx-signature"
AUTH_HEADERS = (NONCE_HEADER, KEY_HEADER, SIGN_HEADER)


def _sign_text(secret: str, message: str) -> str:
    """Hex HMAC-SHA384 of ``message`` under the UTF-8 secret: REST and WebSocket sign with it."""
    return hmac_hex(secret, message, "sha384")


def signature_payload(request: HttpRequest, nonce: str) -> str:
    """``/api`` + the path as sent (with any query) + nonce + body."""
    return f"/api{request.target}{nonce}{request.body}"


def sign(
    request: HttpRequest,
    credentials: Credentials,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> HttpRequest:
    """The request with the three ``bfx-`` headers (any earlier ones replaced).

    The nonce is ``nonce`` when given, else ``timestamp_ms`` (else now) in microseconds; a caller
    sending many requests passes an :class:`IncreasingNonce` value.
    """
    if nonce is None:
        nonce = str(time.time_ns() // 1000 if timestamp_ms is None else timestamp_ms * 1000)
    signature = _sign_text(credentials.secret, signature_payload(request, nonce))
    return with_auth_headers(
        request,
        AUTH_HEADERS,
        (NONCE_HEADER, nonce),
        (KEY_HEADER, credentials.api_key),
        (SIGN_HEADER, signature),
    )


def verify(request: HttpRequest, credentials: Credentials) -> bool:
    """Whether a received request carries these credentials and a valid signature of itself.

    Whether the nonce increased is the receiver's check (Bitfinex answers ``10114``).
    """
    nonce = request.header(NONCE_HEADER)
    received = request.header(SIGN_HEADER)
    if nonce is None or received is None:
        return False
    expected = _sign_text(credentials.secret, signature_payload(request, nonce))
    return same_text(received, expected) and same_text(
        request.header(KEY_HEADER), credentials.api_key
    )


def ws_auth(credentials: Credentials, nonce: str) -> dict[str, str]:
    """The WebSocket ``auth`` event: ``authSig = hex(HMAC-SHA384(secret, "AUTH" + nonce))``."""
    payload = f"AUTH{nonce}"
    return {
        "event": "auth",
        "apiKey": credentials.api_key,
        "authSig": _sign_text(credentials.secret, payload),
        "authNonce": nonce,
        "authPayload": payload,
    }
