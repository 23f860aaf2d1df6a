"""Signed REST requests as plain values, and one client that sends them.

A venue's ``sign`` is a pure function from :class:`HttpRequest` to :class:`HttpRequest`, so the
documentation's signature examples pin it exactly and nothing about the network leaks into
it. :class:`HttpClient` owns the rest: the venue's base URL, timeouts, its rate limiter, one
retry policy, and the mapping of transport failures to :class:`~arbcore.errors.NetworkError`.
The transport is injectable (``httpx.AsyncHTTPTransport`` by default), which is how the tests
and the simulator run the real client over loopback.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from urllib.parse import urlencode

import attrs
import httpx

from arbcore.errors import ExchangeError, NetworkError, RateLimitExceeded, is_retryable
from arbcore.net.ratelimit import RateLimiter
from arbcore.observability.tracing import HTTP_EVENT_HOOKS

__all__ = ["HttpClient", "HttpRequest", "RetryPolicy"]

logger = logging.getLogger(__name__)

Pairs = tuple[tuple[str, str], ...]


_SECRET_NAMES = ("key", "sign", "secret", "passphrase", "token", "nonce", "auth")


def _redacted(pairs: Pairs) -> str:
    """Pairs for a repr: values of anything that authenticates are not shown."""
    shown = [(k, "<redacted>" if any(word in k.lower() for word in _SECRET_NAMES) else v)
             for k, v in pairs]  # fmt: skip
    return repr(tuple(shown))


def _upper(method: str) -> str:
    return method.upper()


def _pairs(value: Mapping[str, object] | Iterable[tuple[str, object]]) -> Pairs:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), str(v)) for k, v in items)


@attrs.frozen(kw_only=True)
class HttpRequest:
    """One REST request before it is sent: what a venue signs.

    ``params`` are the query parameters as ordered pairs (order matters to most signatures);
    ``body`` is the exact text sent (JSON or form-encoded); ``headers`` are ordered pairs.
    ``weight`` is what the request costs in the venue's rate-limit budget; ``instrument`` is the
    native symbol it is about, for budgets a venue counts per instrument (OKX's order endpoints).
    """

    method: str = attrs.field(converter=_upper)
    path: str
    params: Pairs = attrs.field(default=(), converter=_pairs, repr=lambda p: _redacted(p))
    body: str = ""
    headers: Pairs = attrs.field(default=(), converter=_pairs, repr=lambda h: _redacted(h))
    weight: float = 1.0
    is_order: bool = False  # spends the venue's order budget too
    instrument: str = ""

    @property
    def endpoint(self) -> str:
        """``METHOD /path``: how rate budgets name the endpoints they cover."""
        return f"{self.method} {self.path}"

    @property
    def query(self) -> str:
        """The query string exactly as sent (``a=1&b=2``, percent-encoded, in order)."""
        return urlencode(self.params)

    @property
    def target(self) -> str:
        """Path plus query string: what the request line carries."""
        return f"{self.path}?{self.query}" if self.params else self.path

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def with_headers(self, *pairs: tuple[str, str]) -> HttpRequest:
        return attrs.evolve(self, headers=self.headers + tuple(pairs))

    def with_params(self, *pairs: tuple[str, str]) -> HttpRequest:
        return attrs.evolve(self, params=self.params + tuple(pairs))


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how patiently a retryable failure is retried.

    Only errors :func:`~arbcore.errors.is_retryable` accepts are retried. A placement is never
    retried here: venues deduplicate client order ids only among open orders, if at all, so it
    goes out with ``RetryPolicy(attempts=1)`` and is looked up by its client order id before any
    resend (:meth:`arbcore.exchanges.rest.SignedRest.place`).
    """

    attempts: int = 3
    backoff_s: float = 0.05
    max_backoff_s: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int, error: BaseException) -> float:
        if isinstance(error, RateLimitExceeded) and error.retry_after is not None:
            return min(error.retry_after, self.max_backoff_s * 10)
        base: float = min(self.backoff_s * 2.0**attempt, self.max_backoff_s)
        return base * (1.0 + random.uniform(-self.jitter, self.jitter))


class _HideQueryStrings(logging.Filter):
    """httpx logs every request's URL at INFO: a signed query string (API key, signature,
    timestamp) must never reach a log, so the query is cut from whatever httpx logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_without_query(arg) for arg in record.args)
        return True


def _without_query(value: object) -> object:
    if isinstance(value, httpx.URL | str) and "?" in str(value):
        return str(value).split("?", 1)[0] + "?<redacted>"
    return value


_HIDE_QUERIES = _HideQueryStrings()
logging.getLogger("httpx").addFilter(_HIDE_QUERIES)  # idempotent: the same filter object

ErrorMapper = Callable[[httpx.Response], ExchangeError | None]
Signer = Callable[[HttpRequest], HttpRequest]


class HttpClient:
    """Sends :class:`HttpRequest` values to one venue: limiter, signing, retries, errors.

    ``check`` turns a venue reply into the venue's :class:`ExchangeError` (or None when the
    reply is a success); it sees every reply, because several venues report errors with
    HTTP 200. Each attempt is signed afresh (timestamps and nonces must be new).
    """

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        check: ErrorMapper,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.venue = venue
        self.check = check
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
            event_hooks=HTTP_EVENT_HOOKS,  # traceparent on requests sent inside a trade's trace
        )
        self.requests = 0
        self.failures = 0
        self.retries = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(
        self, request: HttpRequest, sign: Signer | None = None, *, retry: RetryPolicy | None = None
    ) -> httpx.Response:
        """Send (retrying what may be retried); the reply, or the venue's ExchangeError.

        ``retry`` overrides the client's policy for this request: an order placement whose
        outcome is unknown must not be resent blindly, so it passes ``RetryPolicy(attempts=1)``
        and decides itself (look the order up by client id first).
        """
        policy = retry or self.retry
        attempt = 0
        while True:
            try:
                return await self._send_once(sign(request) if sign else request)
            except ExchangeError as error:
                self.failures += 1
                if not is_retryable(error) or attempt + 1 >= policy.attempts:
                    raise
                await self.backoff(request, attempt, error, retry=policy)
                attempt += 1

    async def backoff(
        self,
        request: HttpRequest,
        attempt: int,
        error: ExchangeError,
        *,
        retry: RetryPolicy | None = None,
    ) -> float:
        """Wait before ``request`` is sent again after ``error`` failed attempt ``attempt``.

        The policy's delay (the venue's Retry-After when throttled), logged and counted, on the
        client's injected sleep. :meth:`send` waits with it between its own retries; a caller
        that resends by itself (a placement, after looking the order up) waits with it too.
        """
        delay = (retry or self.retry).delay(attempt, error)
        logger.info("%s %s %s: %s; retry in %.3fs", self.venue, request.method,
                    request.path, error, delay)  # fmt: skip
        self.retries += 1
        await self._sleep(delay)
        return delay

    async def _send_once(self, request: HttpRequest) -> httpx.Response:
        ticket = None
        if self.limiter is not None:
            ticket = await self.limiter.acquire(request.weight, is_order=request.is_order,
                                                endpoint=request.endpoint,
                                                instrument=request.instrument)  # fmt: skip
        self.requests += 1
        try:
            response = await self._client.request(
                request.method,
                request.target,
                content=request.body.encode() if request.body else None,
                headers=list(request.headers),
            )
        except httpx.TimeoutException as exc:
            raise NetworkError(f"{request.method} {request.path} timed out: outcome unknown",
                               venue=self.venue) from exc  # fmt: skip
        except httpx.TransportError as exc:
            raise NetworkError(f"{request.method} {request.path} failed: {type(exc).__name__}",
                               venue=self.venue) from exc  # fmt: skip
        finally:
            if self.limiter is not None and ticket is not None:
                self.limiter.answered(ticket)  # it reached the venue by now, if at all
        if self.limiter is not None:
            self.limiter.observe(response.status_code, response.headers)
        error = self.check(response)
        if error is not None:
            if isinstance(error, RateLimitExceeded) and self.limiter is not None:
                self.limiter.block(error.retry_after)  # the venue's own word on how long
            raise error
        return response
