"""Signed REST sends, one copy for every venue: clocks, resync, placement at most once.

- :class:`ServerClock`: the venue's time as seen from here (local wall clock plus a measured
  offset); what signed timestamps carry.
- :class:`SignedRest`: one venue's :class:`~arbcore.net.http.HttpClient` with its signer. Each
  attempt is signed afresh; a refusal for a skewed timestamp did nothing at the venue, so the
  clock is resynced from the venue's time endpoint and the request sent once more; replies are
  decoded exactly (:func:`~arbcore.exchanges.replies.decode_reply`);
  :meth:`SignedRest.place` never creates two orders.
- :func:`settle`: an IOC, FOK or market order read back until final, for venues whose placement
  reply says nothing about fills; :func:`finish_immediate`: the same for every venue, and an
  immediate order still open after those reads (a stuck order) is cancelled, so the caller
  always gets a final state and no order is left to fill unseen.
- :func:`find_order`, :func:`known_order`, :func:`cancel_and_read`, :func:`settle_missing`,
  :func:`venue_http`, :func:`compact_json`: the small steps every venue client takes the same
  way.

A venue's ``execution.py`` keeps its paths, field names and state and error tables, and says
how to find an order by its client order id; the safety lives here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import attrs
import httpx

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    NetworkError,
    OrderNotFound,
    is_retryable,
)
from arbcore.exchanges.replies import decode_reply
from arbcore.exchanges.trading import OrderRequest, VenueTrading
from arbcore.model import Instrument, Order, OrderStatus, OrderType
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.net.ratelimit import BudgetSpec, RateLimiter

__all__ = [
    "JSON_CONTENT",
    "SETTLE_READS",
    "SETTLE_WAIT_S",
    "ServerClock",
    "SignedRest",
    "cancel_and_read",
    "compact_json",
    "find_order",
    "finish_immediate",
    "is_immediate",
    "known_order",
    "settle",
    "settle_missing",
    "venue_http",
]

logger = logging.getLogger(__name__)

Signer = Callable[[HttpRequest], HttpRequest]
OrderLookup = Callable[[], Awaitable[Order | None]]

JSON_CONTENT = ("Content-Type", "application/json")

#: One attempt: a placement whose outcome is unknown is never resent blindly by the client.
_ONCE = RetryPolicy(attempts=1)


def compact_json(fields: Mapping[str, object]) -> str:
    """A JSON body as sent and signed: no spaces, keys in the given order."""
    return json.dumps(fields, separators=(",", ":"))


def venue_http(
    venue: str,
    *,
    check: Callable[[httpx.Response], ExchangeError | None],
    budgets: Iterable[BudgetSpec],
    http: HttpClient | None = None,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
    timeout_s: float = 5.0,
) -> HttpClient:
    """The caller's client, or one for ``base_url`` with the venue's check and documented
    rate budgets (the simulator and the tests pass an httpx ``transport``)."""
    if http is not None:
        return http
    if not base_url:
        raise ValueError(f"{venue}: pass an HttpClient or a base_url")
    return HttpClient(venue, base_url, check=check, limiter=RateLimiter(tuple(budgets)),
                      retry=retry, transport=transport, timeout_s=timeout_s)  # fmt: skip


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ServerClock:
    """The venue's clock as seen from here: the local wall clock plus a measured offset, in ms.

    Venues that sign a timestamp refuse a skewed one (Binance 1 s ahead or past the receive
    window, KuCoin 5 s, OKX 30 s, Gate.io 60 s, HTX 5 minutes), so a drifting host clock is
    corrected from the venue's time endpoint instead of trusted: :meth:`observe` takes the
    venue's time as the midpoint of the round trip. The wall clock is injected (ms) so tests are
    exact; :meth:`from_seconds` takes a ``time.time``-like clock.
    """

    def __init__(self, wall_ms: Callable[[], int] | None = None) -> None:
        self._wall_ms = wall_ms or _wall_ms
        self.offset_ms = 0
        self.synced = False

    @classmethod
    def from_seconds(cls, clock: Callable[[], float]) -> ServerClock:
        return cls(lambda: int(clock() * 1000))

    def local_ms(self) -> int:
        return self._wall_ms()

    def now_ms(self) -> int:
        """The venue's time as best known: what a signed request's timestamp is."""
        return self._wall_ms() + self.offset_ms

    def observe(self, server_ms: int, sent_ms: int, received_ms: int) -> int:
        """Take the venue's time, read between ``sent_ms`` and ``received_ms`` (local), as the
        midpoint of the round trip; returns the new offset."""
        self.offset_ms = server_ms - (sent_ms + received_ms) // 2
        self.synced = True
        return self.offset_ms

    def __repr__(self) -> str:
        return f"ServerClock(offset_ms={self.offset_ms}, synced={self.synced})"


def _never(error: ExchangeError) -> bool:
    return False


class SignedRest:
    """One venue's signed REST calls over an HttpClient.

    ``sign`` signs one attempt (at the clock's time, or with a fresh nonce); it is called again
    for every attempt. Venues that sign a timestamp give ``clock``, ``time_request`` (their
    public time endpoint), ``server_time_ms`` (reads its reply) and ``is_clock_error`` (which
    :class:`~arbcore.errors.AuthenticationError` means the timestamp was refused); venues that
    sign a nonce (Kraken, Bitfinex) give none of them (their signer adds a fresh nonce).
    """

    def __init__(
        self,
        http: HttpClient,
        sign: Signer,
        *,
        clock: ServerClock | None = None,
        time_request: HttpRequest | None = None,
        server_time_ms: Callable[[Any], int] | None = None,
        is_clock_error: Callable[[ExchangeError], bool] = _never,
    ) -> None:
        self.http = http
        self.clock = clock
        self._sign = sign
        self._time_request = time_request
        self._server_time_ms = server_time_ms
        self._is_clock_error = is_clock_error

    def __repr__(self) -> str:
        offset = None if self.clock is None else self.clock.offset_ms
        return f"SignedRest(venue={self.venue!r}, clock_offset_ms={offset})"

    @property
    def venue(self) -> str:
        return self.http.venue

    async def aclose(self) -> None:
        await self.http.aclose()

    async def response(
        self, request: HttpRequest, *, signed: bool = True, retry: RetryPolicy | None = None
    ) -> httpx.Response:
        """The venue's reply (its ``check`` has turned refusals into errors).

        A timestamp refusal resyncs the clock and sends once more, freshly signed: the venue
        did nothing with a request it refused for its timestamp, so even a placement may go
        again.
        """
        signer = self._sign if signed else None
        try:
            return await self.http.send(request, signer, retry=retry)
        except AuthenticationError as error:
            if not signed or self._time_request is None or not self._is_clock_error(error):
                raise
            logger.warning("%s %s: timestamp refused (%s); resyncing with the venue's clock",
                           self.venue, request.path, error.venue_code)  # fmt: skip
            await self.sync_time()
            return await self.http.send(request, signer, retry=retry)

    async def send(
        self,
        request: HttpRequest,
        *,
        signed: bool = True,
        exact: bool = True,
        retry: RetryPolicy | None = None,
    ) -> Any:
        """The decoded reply (:func:`~arbcore.exchanges.replies.decode_reply`)."""
        response = await self.response(request, signed=signed, retry=retry)
        return decode_reply(response, self.venue, exact=exact)

    async def sync_time(self) -> int:
        """Measure the offset to the venue's clock (ms); signatures use it from now on."""
        if self.clock is None or self._time_request is None or self._server_time_ms is None:
            raise ValueError(f"{self.venue} signs no timestamp: there is no clock to sync")
        sent = self.clock.local_ms()
        body = await self.send(self._time_request, signed=False)
        received = self.clock.local_ms()
        offset = self.clock.observe(self._server_time_ms(body), sent, received)
        logger.info("%s: clock offset to the venue is %+d ms", self.venue, offset)
        return offset

    async def place(
        self,
        request: HttpRequest,
        *,
        client_order_id: str,
        lookup: OrderLookup,
        accept: Callable[[Any], Order],
        is_duplicate: Callable[[ExchangeError], bool] = _never,
    ) -> Order:
        """Send a placement so that it can never create two orders; the order placed.

        Venues deduplicate a client order id only among open orders (Binance, OKX, KuCoin,
        Kraken) or not at all (HTX, Gate.io, Bitfinex), so a failure whose outcome is unknown
        (timeout, 5xx, throttling: what :func:`~arbcore.errors.is_retryable` accepts) is never
        simply resent. Each attempt goes out once (``RetryPolicy(attempts=1)``); after a failure
        the client's backoff runs, ``lookup`` asks the venue for the order by its client order
        id, and only when the venue has none is the same request (same id, new signature) sent
        again, up to the client's ``retry.attempts``:

        - lost before the venue saw it: the lookup finds nothing; it is sent again;
        - landed (and maybe filled) but the reply was lost: the lookup returns that order;
        - landed late, after the lookup: a venue that deduplicates refuses the resend; any
          refusal of a resend, or a duplicate-id refusal (``is_duplicate``) of any attempt, is
          checked with a lookup and resolves to the order that landed first. A venue that does
          not deduplicate (HTX, Gate.io, Bitfinex) cannot say so: the shared client order id is
          what reconciles such an order afterwards.

        A lookup that fails leaves the outcome unknown: NetworkError, with the advice to query
        before sending again. When every attempt failed and the venue has no such order, the
        NetworkError says nothing was placed (an attempt still in flight can land after the
        last lookup; its client order id reconciles it).
        """
        attempts = max(1, self.http.retry.attempts)
        failure: ExchangeError | None = None
        for attempt in range(attempts):
            try:
                body = await self.send(request, retry=_ONCE)
            except ExchangeError as error:
                if is_retryable(error):
                    logger.info("%s: placement attempt %d failed (%s); looking %s up before any "
                                "resend", self.venue, attempt + 1, error,
                                client_order_id)  # fmt: skip
                    await self.http.backoff(request, attempt, error)
                    found = await self._lookup(lookup, client_order_id)
                    if found is not None:
                        return found
                    failure = error
                    continue
                if attempt == 0 and not is_duplicate(error):
                    raise
                found = await self._lookup(lookup, client_order_id)
                if found is None:
                    raise
                logger.info("%s: order %s refused again (%s): the first attempt had landed",
                            self.venue, client_order_id, error.venue_code)  # fmt: skip
                return found
            return accept(body)
        raise NetworkError(
            f"placement of {client_order_id} went unanswered {attempts} times and the venue has "
            "no order with that id: nothing was placed (what was not placed may be sent again, "
            "with the same id)",
            venue=self.venue,
        ) from failure

    async def _lookup(self, lookup: OrderLookup, client_order_id: str) -> Order | None:
        try:
            return await lookup()
        except ExchangeError as error:
            raise NetworkError(
                f"order {client_order_id}: outcome unknown, and looking it up failed "
                f"({type(error).__name__}); query it before sending it again",
                venue=self.venue,
            ) from error


def known_order(order: Order | None, client_order_id: str, venue: str) -> Order:
    """The order a lookup found; OrderNotFound when the venue has no such order."""
    if order is None:
        raise OrderNotFound(f"no order with client order id {client_order_id!r}", venue=venue)
    return order


async def find_order(
    trading: VenueTrading, instrument: Instrument, client_order_id: str
) -> Order | None:
    """The order by client order id, or None when the venue has no such order."""
    try:
        return await trading.fetch_order(instrument, client_order_id)
    except OrderNotFound:
        return None


async def cancel_and_read(
    trading: VenueTrading,
    rest: SignedRest,
    request: HttpRequest,
    instrument: Instrument,
    client_order_id: str,
) -> Order:
    """Send the cancel ``request``, then read the order back: venues acknowledge a cancel
    before it is done, so the state returned is the venue's at that moment. An order the venue
    would not cancel because it is no longer open comes back as it ended
    (:func:`settle_missing`)."""
    try:
        await rest.send(request)
    except OrderNotFound as error:
        return await settle_missing(error, lambda: find_order(trading, instrument,
                                                              client_order_id))  # fmt: skip
    return await trading.fetch_order(instrument, client_order_id)


async def settle_missing(error: OrderNotFound, find: OrderLookup) -> Order:
    """An order the venue would not cancel because it is no longer open: its final state
    (filled, canceled, expired). The cancel's own error when the venue has no such order, or
    when the order reads as still open (the refusal stands)."""
    found = await find()
    if found is None or not found.status.is_final:
        raise error
    return found


#: How often, and how far apart, an IOC, FOK or market order is read back until final.
SETTLE_READS = 3
SETTLE_WAIT_S = 0.05


def is_immediate(order: OrderRequest) -> bool:
    """IOC, FOK and market orders end at once: their reply must say what filled."""
    return order.type is OrderType.MARKET or order.time_in_force.is_immediate


async def settle(
    request: OrderRequest,
    placed: Order,
    read: OrderLookup,
    *,
    sleep: Callable[[float], Awaitable[None]],
    reads: int = SETTLE_READS,
    wait_s: float = SETTLE_WAIT_S,
) -> Order:
    """An immediate order read back until final, so the caller (the router) sees its fill.

    For venues whose placement reply names the order but not its fills (Kraken, Bitfinex). Like
    the shadow venue, an immediate order whose rest was canceled ends EXPIRED (with its fill).
    A read that fails leaves the last known state (logged): the order exists either way.
    Resting orders are returned as placed.
    """
    if not is_immediate(request):
        return placed
    current = placed
    for attempt in range(reads):
        if current.status.is_final:
            break
        if attempt:
            await sleep(wait_s)
        try:
            found = await read()
        except ExchangeError as error:
            logger.warning("%s: could not read back order %s: %s", placed.venue,
                           placed.client_order_id, error)  # fmt: skip
            break
        if found is not None:
            current = found
    return _as_requested(current, request)


def _as_requested(order: Order, request: OrderRequest) -> Order:
    """An immediate order as read back: under the request's client order id, and EXPIRED
    rather than CANCELED (its rest was canceled, as an IOC's is; the fill stays)."""
    order = attrs.evolve(order, client_order_id=request.client_order_id)
    if order.status is OrderStatus.CANCELED:
        order = attrs.evolve(order, status=OrderStatus.EXPIRED)
    return order


async def finish_immediate(
    trading: VenueTrading,
    request: OrderRequest,
    placed: Order,
    *,
    read: OrderLookup | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    reads: int = SETTLE_READS,
    wait_s: float = SETTLE_WAIT_S,
) -> Order:
    """An IOC, FOK or market order as it ended, never still open: what the router needs.

    A reply that is final already is returned as it is. Otherwise the order is read back
    (:func:`settle`; ``read`` defaults to a lookup by client order id). An order the venue still
    holds open after those reads is stuck (accepted, not yet matched): left alone it could fill
    later, unseen by whoever took the reply as the leg's outcome, so it is cancelled and the
    state the cancel leaves returned (with whatever filled meanwhile). A cancel that fails
    leaves the open order, logged: the caller must look it up again.
    """
    if not is_immediate(request) or placed.status.is_final:
        return placed
    lookup = read or (lambda: find_order(trading, request.instrument, request.client_order_id))
    current = await settle(request, placed, lookup, sleep=sleep, reads=reads, wait_s=wait_s)
    if current.status.is_final:
        return current
    logger.warning("%s: immediate order %s is still %s after %d reads: cancelling it so it "
                   "cannot fill unseen", placed.venue, request.client_order_id,
                   current.status.value, reads)  # fmt: skip
    try:
        ended = await trading.cancel_order(request.instrument, request.client_order_id)
    except ExchangeError as error:
        logger.warning("%s: could not cancel stuck order %s (%s); it may still fill: look it "
                       "up", placed.venue, request.client_order_id, error)  # fmt: skip
        return current
    return _as_requested(ended, request)
