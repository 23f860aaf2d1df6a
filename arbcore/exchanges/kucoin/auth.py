"""KuCoin REST signing (docs-new/authentication), pure and pinned to the documentation's vector.

``KC-API-SIGN = Base64(HMAC-SHA256(secret, timestamp + METHOD + endpoint + body))`` with the
timestamp in milliseconds (``KC-API-TIMESTAMP``) and the endpoint's query string *not*
URL-encoded ("the URL must use the content that has not been URL-encoded"). Keys of version 2
and 3 send ``KC-API-PASSPHRASE = Base64(HMAC-SHA256(secret, passphrase))`` and say their version
in ``KC-API-KEY-VERSION``.

The HMAC and the prehash layout are OKX's too: they live once, in :mod:`arbcore.exchanges.signing`.
"""

from __future__ import annotations

import time

from arbcore.errors import ConfigError
from arbcore.exchanges.credentials import Credentials, env_names
from arbcore.exchanges.kucoin.constants import KEY_VERSION, VENUE
from arbcore.exchanges.signing import hmac_b64, prehash, same_text, with_auth_headers
from arbcore.net.http import HttpRequest

__all__ = ["AUTH_HEADERS", "raw_target", "sign", "signed_passphrase", "verify"]

KEY_HEADER = "KC-API-KEY"
SIGN_HEADER = "KC-API-SIGN"
TIMESTAMP_HEADER = "KC-API-TIMESTAMP"
PASSPHRASE_HEADER = "KC-API-PASSPHRASE"
VERSION_HEADER = "KC-API-KEY-VERSION"
AUTH_HEADERS = (KEY_HEADER, SIGN_HEADER, TIMESTAMP_HEADER, PASSPHRASE_HEADER, VERSION_HEADER)

#: Version 1 keys sent the passphrase in plain text; 2 and 3 sign it.
_PLAIN_PASSPHRASE_VERSION = "1"


def raw_target(request: HttpRequest) -> str:
    """Path plus the query as its original text (``a=1&b=x,y``): what KuCoin signs."""
    if not request.params:
        return request.path
    return request.path + "?" + "&".join(f"{k}={v}" for k, v in request.params)


def signed_passphrase(credentials: Credentials, key_version: str = KEY_VERSION) -> str:
    """The passphrase header: signed with the secret (v2, v3), plain for a v1 key."""
    if not credentials.passphrase:
        raise ConfigError("KuCoin keys need their passphrase", key=env_names(VENUE)[-1])
    if key_version == _PLAIN_PASSPHRASE_VERSION:
        return credentials.passphrase
    return hmac_b64(credentials.secret, credentials.passphrase)


def _signature(secret: str, timestamp: str, request: HttpRequest) -> str:
    return hmac_b64(secret, prehash(timestamp, request, target=raw_target(request)))


def sign(
    request: HttpRequest,
    credentials: Credentials,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
    key_version: str = KEY_VERSION,
) -> HttpRequest:
    """The request with KuCoin's five auth headers (any earlier ones replaced). No nonce."""
    del nonce
    stamp = str(time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms)
    passphrase = signed_passphrase(credentials, key_version)
    return with_auth_headers(
        request,
        AUTH_HEADERS,
        (KEY_HEADER, credentials.api_key),
        (SIGN_HEADER, _signature(credentials.secret, stamp, request)),
        (TIMESTAMP_HEADER, stamp),
        (PASSPHRASE_HEADER, passphrase),
        (VERSION_HEADER, key_version),
    )


def verify(request: HttpRequest, credentials: Credentials) -> bool:
    """Whether a received request carries these credentials and a valid signature of itself.

    Freshness is the caller's check (KuCoin refuses more than 5 s of skew with 400002).
    """
    stamp = request.header(TIMESTAMP_HEADER)
    received = request.header(SIGN_HEADER)
    version = request.header(VERSION_HEADER)
    if stamp is None or received is None or version is None or not credentials.passphrase:
        return False
    return (
        same_text(received, _signature(credentials.secret, stamp, request))
        and same_text(request.header(KEY_HEADER), credentials.api_key)
        and same_text(request.header(PASSPHRASE_HEADER), signed_passphrase(credentials, version))
    )
