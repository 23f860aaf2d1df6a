"""OKX REST signing (docs-v5/en/#overview-rest-authentication), pure and pinned to vectors.

``OK-ACCESS-SIGN = Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body))``, where
requestPath carries the query string exactly as sent and the timestamp is the
``OK-ACCESS-TIMESTAMP`` header: ISO 8601 UTC with milliseconds (``2020-12-08T09:08:57.715Z``).
The passphrase travels in plain text (``OK-ACCESS-PASSPHRASE``). The HMAC, the ``prehash`` layout
(KuCoin signs the same one) and the comparison are :mod:`arbcore.exchanges.signing`'s.
"""

from __future__ import annotations

import time

from arbcore.errors import ConfigError
from arbcore.exchanges.credentials import Credentials, env_names
from arbcore.exchanges.okx.constants import VENUE
from arbcore.exchanges.signing import hmac_b64, prehash, same_text, with_auth_headers
from arbcore.net.http import HttpRequest

__all__ = [
    "AUTH_HEADERS",
    "iso_timestamp",
    "login_args",
    "passphrase_of",
    "sign",
    "verify",
]

KEY_HEADER = "OK-ACCESS-KEY"
SIGN_HEADER = "OK-ACCESS-SIGN"
TIMESTAMP_HEADER = "OK-ACCESS-TIMESTAMP"
PASSPHRASE_HEADER = "OK-ACCESS-PASSPHRASE"
AUTH_HEADERS = (KEY_HEADER, SIGN_HEADER, TIMESTAMP_HEADER, PASSPHRASE_HEADER)

#: The WebSocket login signs this fixed request (timestamp in seconds): #overview-websocket-login.
LOGIN_METHOD = "GET"
LOGIN_PATH = "/users/self/verify"


def iso_timestamp(timestamp_ms: int) -> str:
    """Milliseconds since the epoch as OKX's header text: ``2020-12-08T09:08:57.715Z``."""
    seconds, millis = divmod(timestamp_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def passphrase_of(credentials: Credentials) -> str:
    """The passphrase OKX keys need; a ConfigError naming the variable when it is missing."""
    if not credentials.passphrase:
        raise ConfigError("OKX keys need their passphrase", key=env_names(VENUE)[-1])
    return credentials.passphrase


def sign(
    request: HttpRequest,
    credentials: Credentials,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> HttpRequest:
    """The request with OKX's four auth headers (any earlier ones replaced). OKX has no nonce."""
    del nonce
    stamp = iso_timestamp(time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms)
    passphrase = passphrase_of(credentials)
    signature = hmac_b64(credentials.secret, prehash(stamp, request))
    return with_auth_headers(
        request,
        AUTH_HEADERS,
        (KEY_HEADER, credentials.api_key),
        (SIGN_HEADER, signature),
        (TIMESTAMP_HEADER, stamp),
        (PASSPHRASE_HEADER, passphrase),
    )


def verify(request: HttpRequest, credentials: Credentials) -> bool:
    """Whether a received request carries these credentials and a valid signature of itself.

    The signature is recomputed from the request's own timestamp header (freshness is the
    caller's check: OKX refuses more than 30 s of skew with 50102).
    """
    stamp = request.header(TIMESTAMP_HEADER)
    received = request.header(SIGN_HEADER)
    if stamp is None or received is None or not credentials.passphrase:
        return False
    expected = hmac_b64(credentials.secret, prehash(stamp, request))
    return (
        same_text(received, expected)
        and same_text(request.header(KEY_HEADER), credentials.api_key)
        and same_text(request.header(PASSPHRASE_HEADER), credentials.passphrase)
    )


def login_args(credentials: Credentials, timestamp_s: int) -> dict[str, str]:
    """The private WebSocket's login arguments: the same HMAC over the fixed verify request."""
    stamp = str(timestamp_s)
    request = HttpRequest(method=LOGIN_METHOD, path=LOGIN_PATH)
    return {
        "apiKey": credentials.api_key,
        "passphrase": passphrase_of(credentials),
        "timestamp": stamp,
        "sign": hmac_b64(credentials.secret, prehash(stamp, request)),
    }
