"""The scaffolding every venue's trading client shares: :class:`RestExecution`.

A venue's ``execution.py`` is pure functions (request builders, reply parsers, ``check``) plus
one small subclass that names them in an :class:`ExecutionSpec` and overrides only what its
venue does differently. Everything else is written once here: the constructor (one signature
for every venue), the HTTP client with the venue's check and budgets, the signer (at the
venue-synced clock for venues that sign a timestamp, with a fresh increasing nonce for those
that sign a nonce), placement at most once (:meth:`SignedRest.place`) finished to a final
state (:func:`finish_immediate`), cancel-and-read-back, the instrument list, ``sync_time``,
``aclose`` and a repr that never shows a secret.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar, TypedDict, Unpack

import attrs
import httpx

from arbcore.errors import ExchangeError
from arbcore.exchanges.base import ParsedInstruments
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.rest import (
    OrderLookup,
    ServerClock,
    SignedRest,
    cancel_and_read,
    find_order,
    finish_immediate,
    venue_http,
)
from arbcore.exchanges.signing import IncreasingNonce
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest, symbol_map
from arbcore.model import Balance, Instrument, Order
from arbcore.net.http import HttpClient, HttpRequest, RetryPolicy
from arbcore.net.ratelimit import BudgetSpec

__all__ = ["ExecutionOptions", "ExecutionSpec", "RecvWindowExecution", "RestExecution"]


def _never(error: ExchangeError) -> bool:
    return False


def _budgets(budgets: Iterable[BudgetSpec]) -> tuple[BudgetSpec, ...]:
    return tuple(budgets)


@attrs.frozen(kw_only=True)
class ExecutionSpec:
    """A venue's pure pieces, as :class:`RestExecution` composes them.

    Venues that sign a timestamp give ``time_request`` (their public time endpoint),
    ``server_time_ms`` and ``is_clock_error``; venues that sign a nonce (Kraken, Bitfinex) give
    ``nonce_scale`` instead. ``accept`` reads a placement reply; ``cancel_request``, when given,
    is a cancel whose reply is only an acknowledgement (the order is read back after it).
    """

    venue: str
    base_url: str
    check: Callable[[httpx.Response], ExchangeError | None]
    rate_limits: tuple[BudgetSpec, ...] = attrs.field(converter=_budgets)
    sign: Callable[..., HttpRequest]
    instruments_request: HttpRequest
    parse_instruments: Callable[[Any], ParsedInstruments]
    #: False where the instrument list holds JSON numbers its parser reads as such
    instruments_exact: bool = True
    #: None where the subclass builds the placement (``_order_request``) or reads its reply
    #: (``_accept``) itself
    order_request: Callable[[OrderRequest], HttpRequest] | None = None
    accept: Callable[[Any, OrderRequest], Order] | None = None
    is_duplicate: Callable[[ExchangeError], bool] = _never
    cancel_request: Callable[[Instrument, str], HttpRequest] | None = None
    time_request: HttpRequest | None = None
    server_time_ms: Callable[[Any], int] | None = None
    is_clock_error: Callable[[ExchangeError], bool] = _never
    nonce_scale: int = 1000
    #: venues whose signature carries a receive window (:class:`RecvWindowExecution`)
    recv_window_ms: int = 0
    max_recv_window_ms: int | None = None


class ExecutionOptions(TypedDict, total=False):
    """The keywords every venue's constructor takes (``RestExecution.__init__``)."""

    base_url: str | None
    http: HttpClient | None
    transport: httpx.AsyncBaseTransport | None
    retry: RetryPolicy | None
    timeout_s: float
    rate_limits: Iterable[BudgetSpec] | None
    clock: ServerClock | Callable[[], float] | None
    nonce: Callable[[], str] | None
    sleep: Callable[[float], Awaitable[None]]


class RestExecution(abc.ABC):
    """One venue's spot trading over signed REST (implements ``VenueTrading``).

    Give it an ``http`` client (the simulator, tests) or a ``base_url`` (None: the venue's real
    endpoint) and an optional httpx ``transport``: the client it then builds has the venue's
    ``check``, its documented budgets (or ``rate_limits``), ``retry`` and ``timeout_s``.
    ``clock`` is the local clock timestamps are signed at: a :class:`ServerClock`, or a
    ``time.time``-like function in seconds; call :meth:`sync_time` at start (a timestamp
    refusal resyncs by itself). ``nonce`` replaces the increasing nonce of nonce-signing
    venues; ``sleep`` is what the read-back of an immediate order waits with.
    """

    spec: ClassVar[ExecutionSpec]
    venue: str

    def __init__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        *,
        base_url: str | None = None,
        http: HttpClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 5.0,
        rate_limits: Iterable[BudgetSpec] | None = None,
        clock: ServerClock | Callable[[], float] | None = None,
        nonce: Callable[[], str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        spec = self.spec
        self._set_symbols(symbol_map(spec.venue, instruments))
        self._owns_http = http is None
        self.http = venue_http(
            spec.venue,
            check=spec.check,
            budgets=spec.rate_limits if rate_limits is None else rate_limits,
            http=http,
            base_url=self._root_url(spec.base_url if base_url is None else base_url),
            transport=transport,
            retry=retry,
            timeout_s=timeout_s,
        )
        self._sleep = sleep
        #: the venue's time as seen from here (what timestamps are signed at and orders
        #: acknowledged by id are stamped with; never synced on a nonce-signing venue)
        self.clock = clock if isinstance(clock, ServerClock) else _server_clock(clock)
        if spec.time_request is None:
            fresh = nonce or IncreasingNonce(spec.nonce_scale)
            self.rest = SignedRest(self.http, lambda r: self.sign(r, credentials, nonce=fresh()))
            return
        self.rest = SignedRest(
            self.http,
            lambda request: self.sign(request, credentials),
            clock=self.clock,
            time_request=spec.time_request,
            server_time_ms=spec.server_time_ms,
            is_clock_error=spec.is_clock_error,
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "spec" in cls.__dict__:
            cls.venue = cls.spec.venue

    def __repr__(self) -> str:
        fields = {"instruments": len(self.symbols), **self._repr_fields()}
        if self.spec.time_request is not None:
            fields["clock_offset_ms"] = self.clock.offset_ms
        shown = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        return f"{type(self).__name__}({shown})"

    # --- what a venue may override ------------------------------------------------------------

    def _root_url(self, base_url: str) -> str:
        """The base URL as the client is rooted (Gate.io strips ``/api/v4``)."""
        return base_url

    def _repr_fields(self) -> Mapping[str, object]:
        """The venue's settings shown by ``repr`` (never a secret)."""
        return {}

    def _auth_options(self) -> Mapping[str, object]:
        """Extra keywords of the venue's ``auth.sign`` (receive window, key version, host)."""
        return {}

    async def _order_request(self, order: OrderRequest) -> HttpRequest:
        if self.spec.order_request is None:
            raise NotImplementedError(f"{self.venue}: _order_request")
        return self.spec.order_request(order)

    def _accept(self, body: Any, order: OrderRequest) -> Order:
        if self.spec.accept is None:
            raise NotImplementedError(f"{self.venue}: _accept")
        return self.spec.accept(body, order)

    async def _find(self, instrument: Instrument, client_order_id: str) -> Order | None:
        """The order by client order id, None when the venue has none (placement's lookup)."""
        return await find_order(self, instrument, client_order_id)

    def _read_back(self, instrument: Instrument, placed: Order) -> OrderLookup | None:
        """How an immediate order is read back until final (None: by client order id)."""
        return None

    def _now_ns(self) -> int:
        """The venue's time as best known (ns): when an order acknowledged by id was made."""
        return self.clock.now_ms() * 1_000_000

    def _set_symbols(self, symbols: SymbolMap) -> None:
        self.symbols = symbols

    # --- VenueTrading ---------------------------------------------------------------------------

    def sign(
        self,
        request: HttpRequest,
        credentials: Credentials,
        *,
        timestamp_ms: int | None = None,
        nonce: str | None = None,
    ) -> HttpRequest:
        """The venue's ``auth.sign``, at the venue-synced clock unless a timestamp or nonce is
        given, with this client's options."""
        if timestamp_ms is None and nonce is None and self.spec.time_request is not None:
            timestamp_ms = self.clock.now_ms()
        return self.spec.sign(request, credentials, timestamp_ms=timestamp_ms, nonce=nonce,
                              **self._auth_options())  # fmt: skip

    async def sync_time(self) -> int:
        """Measure the offset to the venue's clock (ms); later signatures use it. A venue
        that signs a nonce has no clock to sync: 0, without a request."""
        return 0 if self.spec.time_request is None else await self.rest.sync_time()

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._owns_http:
            await self.http.aclose()

    async def place_order(self, order: OrderRequest) -> Order:
        """Place at most once (:meth:`SignedRest.place`: an unanswered attempt is looked up
        before any resend); an IOC, FOK or market order comes back final
        (:func:`finish_immediate`), as the router needs."""
        instrument, client_order_id = order.instrument, order.client_order_id
        placed = await self.rest.place(
            await self._order_request(order),
            client_order_id=client_order_id,
            lookup=lambda: self._find(instrument, client_order_id),
            accept=lambda body: self._accept(body, order),
            is_duplicate=self.spec.is_duplicate,
        )
        read = self._read_back(instrument, placed)
        return await finish_immediate(self, order, placed, read=read, sleep=self._sleep)

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order:
        """Cancel, then read the order back (venues acknowledge a cancel before it is done); an
        order already filled or canceled comes back as it ended (:func:`cancel_and_read`)."""
        if self.spec.cancel_request is None:
            raise NotImplementedError(f"{self.venue}: cancel_order")
        request = self.spec.cancel_request(instrument, client_order_id)
        return await cancel_and_read(self, self.rest, request, instrument, client_order_id)

    @abc.abstractmethod
    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order: ...

    @abc.abstractmethod
    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]: ...

    @abc.abstractmethod
    async def fetch_balances(self) -> list[Balance]: ...

    @abc.abstractmethod
    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]: ...

    async def fetch_instruments(self) -> list[Instrument]:
        """The tradable instruments (the venue's ``providers.parse_instruments``); they
        replace the symbol map this client reads orders with."""
        spec = self.spec
        body = await self.rest.send(spec.instruments_request, signed=False,
                                    exact=spec.instruments_exact)  # fmt: skip
        instruments = list(spec.parse_instruments(body).instruments)
        self._set_symbols(SymbolMap.of(spec.venue, instruments))
        return instruments


class RecvWindowExecution(RestExecution):
    """A venue whose signed requests say how long they stay valid (Binance, Bybit): the
    ``recv_window_ms`` keyword, checked against the venue's limit and signed into each request."""

    def __init__(
        self,
        credentials: Credentials,
        instruments: SymbolMap | Iterable[Instrument],
        *,
        recv_window_ms: int | None = None,
        **options: Unpack[ExecutionOptions],
    ) -> None:
        window = self.spec.recv_window_ms if recv_window_ms is None else recv_window_ms
        limit = self.spec.max_recv_window_ms
        if window <= 0 or (limit is not None and window > limit):
            raise ValueError(f"recv_window_ms must be in 1..{limit}" if limit else
                             "recv_window_ms must be positive")  # fmt: skip
        self.recv_window_ms = window
        super().__init__(credentials, instruments, **options)

    def _repr_fields(self) -> Mapping[str, object]:
        return {"recv_window_ms": self.recv_window_ms}

    def _auth_options(self) -> Mapping[str, object]:
        return {"recv_window_ms": self.recv_window_ms}


def _server_clock(clock: Callable[[], float] | None) -> ServerClock:
    return ServerClock() if clock is None else ServerClock.from_seconds(clock)
