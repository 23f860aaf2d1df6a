"""Kraken spot REST signing (docs.kraken.com/api/docs/guides/spot-rest-auth), pure.

``API-Sign = Base64(HMAC-SHA512(Base64Decode(secret), uri_path + SHA256(nonce + post_data)))``
where ``uri_path`` starts with ``/0/private``, SHA256 is the raw 32-byte digest and ``post_data``
is the form-encoded body exactly as sent, ``nonce=...`` included. The public key travels in
``API-Key``. Kraken checks no timestamp, only that each key's nonce keeps increasing, so there is
no clock to synchronise: :class:`~arbcore.exchanges.signing.IncreasingNonce` hands out nonces
that never repeat or go back, even when the wall clock steps backwards. Pinned to the
documentation's AddOrder example and to Kraken Futures' challenge example, which is the same HMAC
over an empty path and nonce.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from urllib.parse import parse_qsl

import attrs

from arbcore.errors import AuthenticationError
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.kraken.constants import VENUE
from arbcore.exchanges.signing import hmac_b64, same_text, with_auth_headers
from arbcore.net.http import HttpRequest

__all__ = ["AUTH_HEADERS", "api_sign", "sign", "verify"]

KEY_HEADER = "API-Key"
SIGN_HEADER = "API-Sign"
AUTH_HEADERS = (KEY_HEADER, SIGN_HEADER)
NONCE_PARAM = "nonce"


def _secret_bytes(secret: str) -> bytes:
    try:
        return base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationError(
            "the API secret is not base64 text; copy the private key exactly as Kraken shows it",
            venue=VENUE,
        ) from None


def api_sign(secret: str, uri_path: str, nonce: str, post_data: str) -> str:
    """``API-Sign``: base64 HMAC-SHA512 of ``uri_path + SHA256(nonce + post_data)``."""
    digest = hashlib.sha256((nonce + post_data).encode()).digest()
    return hmac_b64(_secret_bytes(secret), uri_path.encode() + digest, "sha512")


def _without_nonce(body: str) -> str:
    """The body minus a leading ``nonce=`` pair (a request signed again keeps one nonce)."""
    if body.startswith(NONCE_PARAM + "="):
        _, _, rest = body.partition("&")
        return rest
    return body


def sign(
    request: HttpRequest,
    credentials: Credentials,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> HttpRequest:
    """The request with ``nonce`` first in its body and the API-Key/API-Sign headers.

    The nonce is ``nonce`` when given, else ``timestamp_ms`` (else now) in milliseconds; the
    caller that sends many requests passes an :class:`IncreasingNonce` value.
    """
    if nonce is None:
        nonce = str(time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms)
    rest = _without_nonce(request.body)
    body = f"{NONCE_PARAM}={nonce}" + (f"&{rest}" if rest else "")
    signature = api_sign(credentials.secret, request.path, nonce, body)
    return with_auth_headers(
        attrs.evolve(request, body=body),
        AUTH_HEADERS,
        (KEY_HEADER, credentials.api_key),
        (SIGN_HEADER, signature),
    )


def verify(request: HttpRequest, credentials: Credentials) -> bool:
    """Whether a received request carries these credentials and a valid API-Sign of itself.

    The nonce is read from the body; whether it increased is the receiver's check (Kraken
    answers ``EAPI:Invalid nonce``).
    """
    received = request.header(SIGN_HEADER)
    nonces = [value for key, value in parse_qsl(request.body) if key == NONCE_PARAM]
    if received is None or len(nonces) != 1:
        return False
    try:
        expected = api_sign(credentials.secret, request.path, nonces[0], request.body)
    except AuthenticationError:
        return False
    return same_text(received, expected) and same_text(
        request.header(KEY_HEADER), credentials.api_key
    )
