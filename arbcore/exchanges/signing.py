"""What every venue's ``auth.py`` signs with: one copy of each venue-neutral piece.

A venue's ``auth.py`` keeps only its own layout (which text is signed, which headers or
parameters carry the result) and builds it from these:

- :func:`hmac_hex` and :func:`hmac_b64`: HMAC of UTF-8 text (or bytes) under a secret, as hex
  (Binance, Bybit: SHA-256; Gate: SHA-512; Bitfinex: SHA-384) or Base64 (OKX, KuCoin, HTX:
  SHA-256; Kraken: SHA-512 under its Base64-decoded secret).
- :func:`prehash`: ``timestamp + METHOD + requestPath + body``, the layout OKX and KuCoin share.
- :func:`same_text`: the constant-time comparison every ``verify`` uses.
- :func:`with_auth_headers`: signing again replaces a request's earlier authentication headers.
- :class:`IncreasingNonce`: nonces for venues that check no timestamp, only that a key's nonces
  increase (Kraken, Bitfinex, and Bitfinex's numeric client order ids).
- :func:`received_request`: the :class:`HttpRequest` a server received, for ``verify`` on its
  side (the simulator, the tests' fake venues).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Collection
from urllib.parse import parse_qsl

import attrs
import httpx

from arbcore.net.http import HttpRequest

__all__ = [
    "IncreasingNonce",
    "hmac_b64",
    "hmac_hex",
    "prehash",
    "received_request",
    "same_text",
    "with_auth_headers",
]


def _mac(secret: str | bytes, message: str | bytes, algorithm: str) -> hmac.HMAC:
    key = secret.encode() if isinstance(secret, str) else secret
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key, data, getattr(hashlib, algorithm))


def hmac_hex(secret: str | bytes, message: str | bytes, algorithm: str = "sha256") -> str:
    """Lowercase hex HMAC of ``message`` under ``secret`` (text is UTF-8)."""
    return _mac(secret, message, algorithm).hexdigest()


def hmac_b64(secret: str | bytes, message: str | bytes, algorithm: str = "sha256") -> str:
    """Base64 of the HMAC of ``message`` under ``secret`` (text is UTF-8)."""
    return base64.b64encode(_mac(secret, message, algorithm).digest()).decode()


def prehash(timestamp: str, request: HttpRequest, *, target: str | None = None) -> str:
    """``timestamp + METHOD + path(?query) + body``: the request as sent, unless ``target``
    (the path and query as the venue wants them written) says otherwise."""
    path = request.target if target is None else target
    return f"{timestamp}{request.method}{path}{request.body}"


def same_text(received: str | None, expected: str, *, ignore_case: bool = False) -> bool:
    """Constant-time comparison; a missing value never matches.

    Compared as UTF-8 bytes, so any text works (``hmac.compare_digest`` raises on non-ASCII
    ``str``). ``ignore_case`` is for hex signatures that venues accept in either case
    (Binance, Bybit); it folds ASCII only, so no non-ASCII text can fold into a match.
    """
    if received is None:
        return False
    if ignore_case:
        if not received.isascii():
            return False
        received, expected = received.lower(), expected.lower()
    return hmac.compare_digest(received.encode(), expected.encode())


def with_auth_headers(
    request: HttpRequest, names: Collection[str], *headers: tuple[str, str]
) -> HttpRequest:
    """The request with ``headers`` added after its own, any earlier header named in ``names``
    (case-insensitively) dropped: a request signed again carries one set of credentials."""
    lowered = {name.lower() for name in names}
    kept = tuple((k, v) for k, v in request.headers if k.lower() not in lowered)
    return attrs.evolve(request, headers=(*kept, *headers))


class IncreasingNonce:
    """Nonces from the wall clock at ``scale`` units per second, strictly increasing.

    Venues that sign with a nonce reject any nonce not above the key's last one; a clock that
    steps back (NTP) or two requests in one clock tick must still get fresh, larger values.
    """

    def __init__(self, scale: int = 1000, clock: Callable[[], float] = time.time) -> None:
        self.scale = scale
        self._clock = clock
        self._last = 0

    def __call__(self) -> str:
        value = max(int(self._clock() * self.scale), self._last + 1)
        self._last = value
        return str(value)


def received_request(request: httpx.Request) -> HttpRequest:
    """The :class:`HttpRequest` a server received, for ``verify`` on its side: parameters are
    decoded (``query`` re-encodes them as sent), the body is its text."""
    return HttpRequest(
        method=request.method,
        path=request.url.path,
        params=parse_qsl(request.url.query.decode(), keep_blank_values=True),
        body=request.content.decode(),
        headers=list(request.headers.items()),
    )
