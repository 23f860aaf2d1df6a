"""Reading venue replies: one copy of what every venue's ``execution.py`` does the same way.

- Decoding: :func:`decode_reply` (JSON with every non-integer number kept as its text, so no
  price or size ever passes through a float; a reply that is not JSON is a
  :class:`~arbcore.errors.MalformedMessage` naming the request) and :func:`json_or_none` (the
  same for a ``check`` that must look at any reply).
- Fields: :func:`raw_decimal` (decimal text, or a JSON integer, as a raw int at the
  instrument's decimals: padding zeros are fine, a lost digit is an error), :func:`decimal_of`,
  :func:`amount_of`, :func:`int_of`, :func:`text_of`, :func:`mapping_of`, :func:`list_of`.
- Errors: :func:`status_error_class` and :func:`status_error` (what an HTTP status alone
  means), :func:`venue_error` (one error of the tree; only ``RateLimitExceeded`` takes
  ``retry_after``), :func:`retry_after_s`, :func:`code_in` (a test by the venue's codes),
  :func:`error_class` (a class by its name in a venue's table), :func:`request_line` and
  :func:`scrub` (messages name the request, never its query, and carry no key or signature a
  venue echoed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

import httpx

from arbcore import errors
from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeNotAvailable,
    MalformedMessage,
    NetworkError,
    RateLimitExceeded,
)
from arbcore_ext.fixedpoint import to_raw

__all__ = [
    "amount_of",
    "code_in",
    "decimal_of",
    "decode_reply",
    "error_class",
    "int_of",
    "json_or_none",
    "list_of",
    "mapping_of",
    "raw_decimal",
    "request_line",
    "retry_after_s",
    "scrub",
    "status_error",
    "status_error_class",
    "text_of",
    "venue_error",
]

# --- decoding -------------------------------------------------------------------------------


def json_or_none(response: httpx.Response) -> Any:
    """The reply's JSON, numbers with a fraction kept as text (never floats); None if not JSON."""
    try:
        return json.loads(response.content, parse_float=str)
    except ValueError:
        return None


def decode_reply(response: httpx.Response, venue: str, *, exact: bool = True) -> Any:
    """The reply's JSON; a reply that is not JSON is malformed.

    ``exact`` keeps every non-integer number as its text. ``exact=False`` gives floats, only
    for replies whose reader wants JSON numbers as such (instrument lists that carry fee
    percentages as numbers).
    """
    try:
        return json.loads(response.content, parse_float=str if exact else float)
    except ValueError:
        raise MalformedMessage(
            f"{request_line(response)}: the reply is not JSON (HTTP {response.status_code})",
            venue=venue,
        ) from None


# --- fields ---------------------------------------------------------------------------------


def mapping_of(value: object, what: str, venue: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedMessage(f"{what} is not a JSON object", venue=venue)
    return value


def list_of(value: object, what: str, venue: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedMessage(f"{what} is not a JSON array", venue=venue)
    return value


def text_of(entry: Mapping[str, Any], key: str, venue: str, *, required: bool = True) -> str:
    """A text field (a JSON integer reads as its digits); a missing or empty required one is
    malformed, a missing or empty optional one is ``""``."""
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise MalformedMessage(f"field {key!r} is missing or empty", venue=venue)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedMessage(f"field {key!r} must be text, was {value!r}", venue=venue)
    return str(value)


def int_of(value: object, what: str, venue: str) -> int:
    """An integer sent as a JSON number or as decimal digits (Bybit's timestamps)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise MalformedMessage(f"{what} must be an integer, was {value!r}", venue=venue)


def raw_decimal(
    value: object,
    decimals: int,
    what: str,
    venue: str,
    *,
    empty_is_zero: bool = False,
    allow_negative: bool = False,
) -> int:
    """A reply's decimal as a raw int at ``decimals``, exactly.

    Text or a JSON integer (both exact); a float (a reply decoded without ``parse_float=str``)
    is refused, so no price or size is ever read through one. Padding zeros beyond
    ``decimals`` are fine, a non-zero digit there is an error. ``empty_is_zero``: ``""`` means
    nothing yet (an unfilled order's fill).
    """
    if empty_is_zero and value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedMessage(f"{what} must be a decimal, was {value!r}", venue=venue)
    try:
        return to_raw(str(value), decimals, allow_negative=allow_negative)
    except ValueError as exc:
        raise MalformedMessage(
            f"{what} {value!r} is not exact at {decimals} decimals: {exc}", venue=venue
        ) from exc


def decimal_of(value: object, what: str, venue: str) -> Decimal:
    """A rate or balance as an exact, finite Decimal (``""`` is 0); floats are made from it
    only at the end."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedMessage(f"{what} must be a decimal, was {value!r}", venue=venue)
    try:
        number = Decimal(value) if value != "" else Decimal(0)
    except InvalidOperation as exc:
        raise MalformedMessage(f"{what} {value!r} is not a decimal", venue=venue) from exc
    if not number.is_finite():
        raise MalformedMessage(f"{what} {value!r} is not a finite decimal", venue=venue)
    return number


def amount_of(entry: Mapping[str, Any], key: str, venue: str) -> float:
    """An optional balance or fee field as a float (missing or empty: 0.0)."""
    return float(decimal_of(text_of(entry, key, venue, required=False), key, venue))


# --- errors ---------------------------------------------------------------------------------


def request_line(response: httpx.Response) -> str:
    """``METHOD /path`` of the request a reply answers: never its query (it may be signed)."""
    try:
        request = response.request
    except RuntimeError:  # a reply built without its request (tests, the simulator)
        return "the request"
    return f"{request.method} {request.url.path}"


def retry_after_s(headers: Mapping[str, str], default: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header, else ``default`` (the venue's documented wait)."""
    value = headers.get("retry-after")
    try:
        return default if value is None else max(0.0, float(value))
    except ValueError:
        return default


def status_error_class(status: int) -> type[ExchangeError]:
    """The error an HTTP status means when the body names no known venue code.

    401/403 refuse the keys; 418 (an IP ban) and 429 throttle; 504 leaves the outcome unknown
    (a proxy gave up, the venue may have acted): NetworkError; any other 5xx is an outage.
    """
    if status in (401, 403):
        return AuthenticationError
    if status in (418, 429):
        return RateLimitExceeded
    if status == 504:
        return NetworkError
    if status >= 500:
        return ExchangeNotAvailable
    return ExchangeError


_STATUS_HINTS: Mapping[type[ExchangeError], str] = {
    RateLimitExceeded: "was throttled; slow down",
    AuthenticationError: "was refused; check the API key and its permissions",
    ExchangeNotAvailable: "failed: the venue is unavailable; retry later",
    NetworkError: "timed out at the venue's gateway: outcome unknown",
}


def status_error(
    response: httpx.Response, venue: str, *, retry_after_default: float | None = None
) -> ExchangeError | None:
    """What an HTTP status alone says (no venue error body); None for 1xx-3xx."""
    status = response.status_code
    if status < 400:
        return None
    cls = status_error_class(status)
    hint = _STATUS_HINTS.get(cls, "was refused")
    wait = retry_after_s(response.headers, retry_after_default)
    return venue_error(cls, f"{request_line(response)} {hint}", venue=venue, http_status=status,
                       venue_code=None, retry_after=wait)  # fmt: skip


def venue_error(
    cls: type[ExchangeError],
    message: str,
    *,
    venue: str,
    http_status: int | None,
    venue_code: str | int | None,
    retry_after: float | None = None,
) -> ExchangeError:
    """One error of the tree; only RateLimitExceeded takes ``retry_after``."""
    if issubclass(cls, RateLimitExceeded):
        return cls(message, retry_after=retry_after, venue=venue, http_status=http_status,
                   venue_code=venue_code)  # fmt: skip
    return cls(message, venue=venue, http_status=http_status, venue_code=venue_code)


def code_in(codes: Collection[str | int]) -> Callable[[ExchangeError], bool]:
    """A test for errors carrying one of the venue's codes (compared as text): a timestamp
    refusal, a duplicate client order id."""
    texts = frozenset(str(code) for code in codes)
    return lambda error: str(error.venue_code) in texts


def error_class(name: str) -> type[ExchangeError]:
    """An ExchangeError subclass by its name in a venue's error table (``constants.py``)."""
    found = getattr(errors, name, None)
    if not (isinstance(found, type) and issubclass(found, ExchangeError)):
        raise ValueError(f"{name!r} is not an ExchangeError class")
    return found


def scrub(
    text: str,
    response: httpx.Response,
    *,
    headers: Collection[str] = (),
    params: Collection[str] = (),
) -> str:
    """``text`` without the values of the request's secret headers and parameters (query or
    form body): a venue message that echoes the request must not carry its key or signature
    into an exception."""
    try:
        request = response.request
    except RuntimeError:
        return text
    secrets = [request.headers.get(name, "") for name in headers]
    pairs = list(request.url.params.multi_items())
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        pairs += parse_qsl(request.content.decode(errors="replace"))
    secrets += [value for key, value in pairs if key in params]
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, "<redacted>")
    return text
