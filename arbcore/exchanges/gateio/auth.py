"""Gate.io APIv4 REST signing, pure and pinned to both of the documentation's examples.

Signature string (APIv4 docs, "API Signature string generation"; protocols/exchanges-b.md 2.4)::

    METHOD \\n URL path \\n query string \\n HexEncode(SHA512(body)) \\n Timestamp

The URL path includes ``/api/v4`` and no host; the query string is exactly as in the request
URL ("" without one); an empty body hashes as SHA512(""). ``SIGN = HexEncode(HMAC-SHA512(secret,
signature string))``, sent with ``KEY`` and ``Timestamp`` (unix seconds; the server refuses
more than 60 s of skew, which :func:`signed_timestamp_ms` lets a server check). Gate has no
nonce.
"""

from __future__ import annotations

import hashlib
import time

from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.signing import hmac_hex, same_text, with_auth_headers
from arbcore.net.http import HttpRequest

__all__ = [
    "AUTH_HEADERS",
    "body_hash",
    "sign",
    "signature_string",
    "signed_timestamp_ms",
    "verify",
]

KEY_HEADER = "KEY"
TIMESTAMP_HEADER = "Timestamp"
SIGN_HEADER = "SIGN"
AUTH_HEADERS = (KEY_HEADER, TIMESTAMP_HEADER, SIGN_HEADER)


def body_hash(body: str) -> str:
    """Hex SHA-512 of the body exactly as sent (of "" when there is none)."""
    return hashlib.sha512(body.encode()).hexdigest()


def signature_string(request: HttpRequest, timestamp: str) -> str:
    """What Gate signs: method, path, query string as sent, body hash and timestamp."""
    return "\n".join(
        (request.method, request.path, request.query, body_hash(request.body), timestamp)
    )


def _sign_text(secret: str, text: str) -> str:
    return hmac_hex(secret, text, "sha512")


def sign(
    request: HttpRequest,
    credentials: Credentials,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> HttpRequest:
    """The request with Gate's ``KEY``, ``Timestamp`` and ``SIGN`` headers (earlier ones replaced).

    Gate has no nonce (``nonce`` is ignored); ``timestamp_ms`` defaults to the wall clock and is
    sent in whole seconds.
    """
    del nonce
    stamp = str((time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms) // 1000)
    return with_auth_headers(
        request,
        AUTH_HEADERS,
        (KEY_HEADER, credentials.api_key),
        (TIMESTAMP_HEADER, stamp),
        (SIGN_HEADER, _sign_text(credentials.secret, signature_string(request, stamp))),
    )


def signed_timestamp_ms(request: HttpRequest) -> int | None:
    """The ``Timestamp`` header of a received request in ms (None when absent or malformed)."""
    text = request.header(TIMESTAMP_HEADER)
    try:
        return None if text is None else int(float(text) * 1000)
    except ValueError:
        return None


def verify(request: HttpRequest, credentials: Credentials) -> bool:
    """Whether a received request carries these credentials and a valid signature of itself.

    The query string is rebuilt from the parameters (``request.query``), which equals the URL's
    for the parameters Gate trading sends. Freshness is the caller's check, with
    :func:`signed_timestamp_ms` (Gate allows 60 s).
    """
    stamp = request.header(TIMESTAMP_HEADER)
    received = request.header(SIGN_HEADER)
    key = request.header(KEY_HEADER)
    if stamp is None or received is None or key is None:
        return False
    expected = _sign_text(credentials.secret, signature_string(request, stamp))
    return same_text(received, expected) and same_text(key, credentials.api_key)
