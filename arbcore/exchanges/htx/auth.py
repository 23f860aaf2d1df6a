"""HTX REST signing, Signature Version 2 with HmacSHA256, pure and pinned to the docs' example.

Pre-signed text (HTX spot docs, "Authentication"; protocols/exchanges-b.md 1.5)::

    METHOD \\n lower-case host \\n path \\n query

where the query is every URL parameter but ``Signature`` (the caller's own and ``AccessKeyId``,
``SignatureMethod=HmacSHA256``, ``SignatureVersion=2``, ``Timestamp=YYYY-MM-DDThh:mm:ss`` UTC),
URL-encoded with upper-case hex (space ``%20``), sorted by ASCII and joined with ``&``.
``Signature = Base64(HMAC-SHA256(secret, text))`` is appended as the last URL parameter. A POST
carries its business fields in a JSON body, which is not signed; only its URL parameters are.
The request goes out with its parameters in the order of the docs' final URL (sorted ignoring
case, ``Signature`` last); the server re-sorts them, so the order on the wire is not signed.

The host is part of the text, so a client signs the host it sends to (``REST_HOST`` by default)
and a server verifies with the host it was addressed as. HTX has no nonce; the Timestamp is
valid for 5 minutes, which :func:`signed_timestamp_ms` lets a server check.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable
from urllib.parse import quote

import attrs

from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.htx import constants
from arbcore.exchanges.signing import hmac_b64, same_text
from arbcore.net.http import HttpRequest

__all__ = [
    "AUTH_PARAMS",
    "format_timestamp",
    "presign_text",
    "sign",
    "signed_timestamp_ms",
    "verify",
]

KEY_PARAM = "AccessKeyId"
METHOD_PARAM = "SignatureMethod"
VERSION_PARAM = "SignatureVersion"
TIMESTAMP_PARAM = "Timestamp"
SIGNATURE_PARAM = "Signature"
AUTH_PARAMS = (KEY_PARAM, METHOD_PARAM, VERSION_PARAM, TIMESTAMP_PARAM, SIGNATURE_PARAM)


def format_timestamp(timestamp_ms: int) -> str:
    """Milliseconds since the epoch as HTX's ``Timestamp``: UTC ``2017-05-11T15:19:30``."""
    return time.strftime(constants.TIMESTAMP_FORMAT, time.gmtime(timestamp_ms // 1000))


def signed_timestamp_ms(request: HttpRequest) -> int | None:
    """The signed ``Timestamp`` of a received request in ms (None when absent or malformed)."""
    text = _param(request.params, TIMESTAMP_PARAM)
    if text is None:
        return None
    try:
        return calendar.timegm(time.strptime(text, constants.TIMESTAMP_FORMAT)) * 1000
    except ValueError:
        return None


def _encode(text: str) -> str:
    # quote() writes upper-case hex and %20 for a space, as the docs require
    return quote(text, safe="-_.~")


def presign_text(method: str, host: str, path: str, params: Iterable[tuple[str, str]]) -> str:
    """The text HTX signs: the parameters encoded, sorted by ASCII, ``Signature`` left out."""
    encoded = sorted(
        (_encode(key), _encode(value)) for key, value in params if key != SIGNATURE_PARAM
    )
    query = "&".join(f"{key}={value}" for key, value in encoded)
    return f"{method.upper()}\n{host.lower()}\n{path}\n{query}"


def sign(
    request: HttpRequest,
    credentials: Credentials,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
    host: str = constants.REST_HOST,
) -> HttpRequest:
    """The request with HTX's auth parameters and its Signature (earlier auth params replaced).

    HTX has no nonce (``nonce`` is ignored); ``timestamp_ms`` defaults to the wall clock.
    """
    del nonce
    stamp_ms = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    own = [(key, value) for key, value in request.params if key not in AUTH_PARAMS]
    params = sorted(
        [
            *own,
            (KEY_PARAM, credentials.api_key),
            (METHOD_PARAM, constants.SIGNATURE_METHOD),
            (VERSION_PARAM, constants.SIGNATURE_VERSION),
            (TIMESTAMP_PARAM, format_timestamp(stamp_ms)),
        ],
        key=lambda pair: pair[0].lower(),
    )
    text = presign_text(request.method, host, request.path, params)
    params.append((SIGNATURE_PARAM, hmac_b64(credentials.secret, text)))
    return attrs.evolve(request, params=params)


def verify(
    request: HttpRequest, credentials: Credentials, *, host: str = constants.REST_HOST
) -> bool:
    """Whether a received request (parameters URL-decoded) is signed by these credentials.

    Recomputes the signature from the request's own parameters and ``host`` (the host the
    client addressed, e.g. the ``Host`` header). Freshness is the caller's check, with
    :func:`signed_timestamp_ms` (HTX allows 5 minutes).
    """
    received = _param(request.params, SIGNATURE_PARAM)
    if (
        received is None
        or _param(request.params, KEY_PARAM) != credentials.api_key
        or _param(request.params, METHOD_PARAM) != constants.SIGNATURE_METHOD
        or _param(request.params, VERSION_PARAM) != constants.SIGNATURE_VERSION
        or signed_timestamp_ms(request) is None
    ):
        return False
    expected = hmac_b64(
        credentials.secret, presign_text(request.method, host, request.path, request.params)
    )
    return same_text(received, expected)


def _param(params: Iterable[tuple[str, str]], name: str) -> str | None:
    """The parameter's value when it occurs exactly once (a repeated auth param is forged)."""
    values = [value for key, value in params if key == name]
    return values[0] if len(values) == 1 else None
