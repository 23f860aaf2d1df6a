"""Every error arbcore raises on purpose, in one tree.

::

    ArbcoreError
    ├── DecimalFormatError (ValueError)     venue decimal text that cannot be exact fixed point
    ├── BookError (ValueError)              an order-book call with unusable arguments
    ├── AffinityError (OSError)             CPU pinning refused by the platform or the CPU set
    ├── GraphError (ValueError)             a market graph that cannot be built
    ├── ConfigError (ValueError)            names the file, the key and the reason
    ├── FeedError                           market data that cannot be trusted
    │   ├── SequenceGap                     an update id skipped: the book must resync
    │   ├── ChecksumMismatch                the venue's checksum disagrees with the local book
    │   ├── MalformedMessage (ValueError)   a frame that does not parse
    │   └── StaleBook                       a book used while marked out of sync
    └── ExchangeError                       a venue said no (venue, HTTP status, venue code)
        ├── AuthenticationError
        ├── InsufficientFunds
        ├── InvalidOrder
        ├── OrderNotFound
        ├── RateLimitExceeded               retry_after seconds
        ├── NetworkError
        └── ExchangeNotAvailable

The first four live in ``arbcore_ext.errors`` so the compiled kernels can raise them without
importing ``arbcore``; they are the same classes here. ``is_retryable(error)`` says whether
sending the same request again may succeed.
"""

from __future__ import annotations

from arbcore_ext.errors import (
    AffinityError,
    ArbcoreError,
    BookError,
    DecimalFormatError,
    GraphError,
)

__all__ = [
    "AffinityError",
    "ArbcoreError",
    "AuthenticationError",
    "BookError",
    "ChecksumMismatch",
    "ConfigError",
    "DecimalFormatError",
    "ExchangeError",
    "ExchangeNotAvailable",
    "FeedError",
    "GraphError",
    "InsufficientFunds",
    "InvalidOrder",
    "MalformedMessage",
    "NetworkError",
    "OrderNotFound",
    "RateLimitExceeded",
    "SequenceGap",
    "StaleBook",
    "is_retryable",
]


class ConfigError(ArbcoreError, ValueError):
    """A configuration value is missing, unknown or invalid."""

    def __init__(self, reason: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        where = ", ".join(part for part in (file, f"key {key!r}" if key else None) if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class FeedError(ArbcoreError):
    """Market data that cannot be trusted; the book it feeds must be resynchronised."""

    def __init__(
        self, message: str, *, venue: str | None = None, symbol: str | None = None
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        prefix = "/".join(part for part in (venue, symbol) if part)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class SequenceGap(FeedError):
    """An update's sequence id did not follow the previous one."""

    def __init__(
        self,
        expected: int,
        received: int,
        *,
        venue: str | None = None,
        symbol: str | None = None,
    ) -> None:
        self.expected = expected
        self.received = received
        super().__init__(
            f"sequence gap: expected {expected}, the update carried {received}; resync the book",
            venue=venue,
            symbol=symbol,
        )


class ChecksumMismatch(FeedError):
    """The venue's book checksum disagrees with the local book."""

    def __init__(
        self, expected: int, computed: int, *, venue: str | None = None, symbol: str | None = None
    ) -> None:
        self.expected = expected
        self.computed = computed
        super().__init__(
            f"checksum mismatch: venue sent {expected}, local book gives {computed}; "
            "resync the book",
            venue=venue,
            symbol=symbol,
        )


class MalformedMessage(FeedError, ValueError):
    """A frame that does not have the venue's documented shape."""


class StaleBook(FeedError):
    """A book was read while marked out of sync."""


class ExchangeError(ArbcoreError):
    """A venue refused a request; carries the venue, the HTTP status and the venue's own code."""

    def __init__(
        self,
        message: str,
        *,
        venue: str | None = None,
        http_status: int | None = None,
        venue_code: str | int | None = None,
    ) -> None:
        self.venue = venue
        self.http_status = http_status
        self.venue_code = venue_code
        details = ", ".join(
            part
            for part in (
                f"HTTP {http_status}" if http_status is not None else None,
                f"code {venue_code}" if venue_code is not None else None,
            )
            if part
        )
        prefix = f"{venue}: " if venue else ""
        super().__init__(f"{prefix}{message}" + (f" ({details})" if details else ""))


class AuthenticationError(ExchangeError):
    """Keys, signature, timestamp or permissions were rejected."""


class InsufficientFunds(ExchangeError):
    """The account does not hold enough of the asset the order needs."""


class InvalidOrder(ExchangeError):
    """The order breaks the venue's rules (tick, lot, minimums, unknown symbol)."""


class OrderNotFound(ExchangeError):
    """The venue has no order with that id."""


class RateLimitExceeded(ExchangeError):
    """The venue throttled the request; ``retry_after`` is in seconds when it said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class NetworkError(ExchangeError):
    """The request did not complete (timeout, reset, DNS): its outcome is unknown."""


class ExchangeNotAvailable(ExchangeError):
    """The venue is down or in maintenance (5xx, maintenance codes)."""


_RETRYABLE = (RateLimitExceeded, NetworkError, ExchangeNotAvailable)


def is_retryable(error: BaseException) -> bool:
    """True when sending the same request again may succeed.

    Throttling, transport failures and venue outages are retryable; refusals of the request
    itself are not. A placement whose outcome is unknown is different: most venues refuse a
    repeated client order id only while the first order is open, so it is looked up by that id
    before any resend (``arbcore.exchanges.rest``), never resent blindly.
    """
    return isinstance(error, _RETRYABLE)
