"""What the venue trading tests share: a fake venue's transport side, clocks, timeouts, and the
scenarios every venue must pass the same way (one table row a venue in
``tests/exchanges/test_trading_contract.py``).

A venue's fake subclasses :class:`FakeVenue` and answers in :meth:`FakeVenue.answer`; a test
injects a fault with :meth:`FakeVenue.hook` (a timeout from :func:`timeout`, or any reply).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl

import attrs
import httpx
import pytest

from arbcore.errors import ExchangeError, NetworkError
from arbcore.exchanges.signing import received_request
from arbcore.exchanges.trading import OrderRequest, VenueTrading
from arbcore.model import OrderStatus, TimeInForce
from arbcore.net.http import HttpRequest

__all__ = [
    "FakeClock",
    "FakeVenue",
    "Hook",
    "TradingCase",
    "error_chain",
    "json_reply",
    "no_sleep",
    "run",
    "timeout",
    "wire_request",
]

T = TypeVar("T")

#: A fault run before the fake routes a request: it may raise, answer, or return None to pass.
Hook = Callable[[HttpRequest], "httpx.Response | None"]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """One call of an execution, on a fresh event loop."""
    return asyncio.run(coroutine)


async def no_sleep(seconds: float) -> None:
    """Retries back off at once: the tests count attempts, not seconds."""


def json_reply(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    """A reply with ``body`` as JSON (bytes are sent as they are)."""
    content = body if isinstance(body, bytes) else httpx.Response(200, json=body).content
    return httpx.Response(status, content=content, headers=headers)


def timeout(landed: Callable[[HttpRequest], object] | None = None) -> Hook:
    """A hook that times out, after ``landed(request)`` if given: the venue acted on it, the
    answer was lost."""

    def fault(request: HttpRequest) -> httpx.Response | None:
        if landed is not None:
            landed(request)
        raise httpx.ReadTimeout("timed out")

    return fault


def wire_request(request: httpx.Request, *, exact: bool = False) -> HttpRequest:
    """What the venue received; ``exact`` keeps the raw target and checks it re-encodes to the
    bytes sent (for venues that sign the query text as it went over the wire)."""
    if not exact:
        return received_request(request)
    raw = request.url.raw_path.decode()
    path, _, query = raw.partition("?")
    received = HttpRequest(
        method=request.method,
        path=path,
        params=parse_qsl(query),
        body=request.content.decode(),
        headers=request.headers.multi_items(),
    )
    assert received.target == raw  # what is verified is what went over the wire
    return received


class FakeClock:
    """A host clock that sleeping advances, so retries and budgets run instantly and exactly;
    it reads in milliseconds, or in seconds with ``seconds``; ``slept`` lists every wait."""

    def __init__(self, now_ms: int = 1_700_000_000_000, *, seconds: bool = False) -> None:
        self.now = now_ms / 1000
        self.seconds = seconds
        self.slept: list[float] = []

    @property
    def now_ms(self) -> int:
        return round(self.now * 1000)

    def __call__(self) -> float:
        return self.now if self.seconds else self.now_ms

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)


class FakeVenue:
    """The transport side of a fake venue: records what it received (``seen``), runs the hooks
    queued for a request's key, then lets the subclass answer."""

    #: keep the raw target of each request (see :func:`wire_request`)
    exact_target = False

    def __init__(self) -> None:
        self.seen: list[HttpRequest] = []
        self.hooks: dict[str, deque[Hook]] = defaultdict(deque)

    def key(self, request: HttpRequest) -> str:
        """What a hook is queued under: ``"METHOD path"``."""
        return f"{request.method} {request.path}"

    def hook(self, key: str, *hooks: Hook) -> None:
        """Run ``hooks`` on the next requests under ``key``, one each."""
        self.hooks[key].extend(hooks)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        received = wire_request(request, exact=self.exact_target)
        self.seen.append(received)
        queue = self.hooks[self.key(received)]
        if queue:
            reply = queue.popleft()(received)
            if reply is not None:
                return reply
        return self.answer(received)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def paths(self) -> list[str]:
        return [r.path for r in self.seen]

    def answer(self, request: HttpRequest) -> httpx.Response:
        raise NotImplementedError


def error_chain(error: BaseException) -> list[str]:
    """``str`` and ``repr`` of an error and every cause behind it."""
    texts: list[str] = []
    link: BaseException | None = error
    while link is not None:
        texts.append(f"{link!s} {link!r}")
        link = link.__cause__ or link.__context__
    return texts


#: a venue's own fake (its hooks below take it, not the base class)
F = TypeVar("F", bound=FakeVenue)


@attrs.frozen(slots=True, kw_only=True)
class TradingCase(Generic[F]):
    """How one venue runs the shared trading scenarios: how to build its fake and execution,
    where it places, how it names the client order id on the wire, and what it answers."""

    venue: str
    #: (fake, execution) with ``attempts`` tries per request
    build: Callable[[int], tuple[F, VenueTrading]]
    #: an order of the venue's test instrument with this client id and time in force
    order: Callable[[str, TimeInForce], OrderRequest]
    #: the hook key of a placement
    place_key: str
    #: a resend carries a new signature (a new timestamp or nonce); not on a frozen clock
    signed_afresh: bool = True
    #: the client order id a placement carries, as the venue reads it
    sent_id: Callable[[HttpRequest], object]
    #: whether the fake venue's signature check accepts a request
    verify: Callable[[HttpRequest], bool]
    #: the signature a request carries (never to be shown)
    signature: Callable[[HttpRequest], str | None]
    #: book a placement on the fake as the venue would (it then times out)
    land: Callable[[F, HttpRequest], object]
    #: how many orders the fake holds
    booked: Callable[[F], int]
    #: the paths a placement that timed out once sends, in order
    resend_paths: tuple[str, ...]
    #: the paths, status and fill of a placement that landed before its timeout
    landed_tif: TimeInForce = TimeInForce.GTC
    landed_paths: tuple[str, ...]
    landed_status: OrderStatus
    #: the error text once every attempt timed out
    lost_match: str
    #: arm the fake to refuse a read of the account (bad key): the error must not show secrets
    refuse: Callable[[F], None]
    #: what must never be shown
    secrets: tuple[str, ...]

    def placements(self, fake: F) -> list[object]:
        method, path = self.place_key.split(" ", 1)
        return [self.sent_id(r) for r in fake.seen if (r.method, r.path) == (method, path)]


# --- the scenarios ------------------------------------------------------------------------------


def resend_after_timeout(case: TradingCase[Any]) -> None:
    """A placement lost before the venue saw it is looked up, then sent again under the same
    client order id, signed afresh."""
    fake, execution = case.build(3)
    fake.hook(case.place_key, timeout())
    placed = run(execution.place_order(case.order("retry1", TimeInForce.GTC)))
    assert placed.status is OrderStatus.OPEN
    assert placed.client_order_id == "retry1"
    first, second = case.placements(fake)
    assert first == second
    assert tuple(fake.paths()) == case.resend_paths
    sends = [r for r in fake.seen if f"{r.method} {r.path}" == case.place_key]
    if case.signed_afresh:
        assert case.signature(sends[0]) != case.signature(sends[1])
    assert all(case.verify(r) for r in fake.seen if case.signature(r))
    assert case.booked(fake) == 1


def landed_before_timeout(case: TradingCase[Any]) -> None:
    """A placement the venue booked before the answer was lost is found, never sent twice."""
    fake, execution = case.build(3)
    fake.hook(case.place_key, timeout(lambda request: case.land(fake, request)))
    placed = run(execution.place_order(case.order("landed1", case.landed_tif)))
    assert len(case.placements(fake)) == 1
    assert tuple(fake.paths()) == case.landed_paths
    assert (placed.status, placed.client_order_id) == (case.landed_status, "landed1")
    if placed.status is OrderStatus.FILLED:
        assert placed.filled_raw == placed.size_raw
    assert case.booked(fake) == 1


def never_answered(case: TradingCase[Any]) -> None:
    """Every attempt times out: a network error saying nothing was placed, no order booked."""
    fake, execution = case.build(2)
    fake.hook(case.place_key, *[timeout() for _ in range(5)])
    with pytest.raises(NetworkError, match=case.lost_match):
        run(execution.place_order(case.order("lost1", TimeInForce.GTC)))
    assert len(case.placements(fake)) == 2
    assert case.booked(fake) == 0


def secrets_stay_hidden(case: TradingCase[Any], caplog: pytest.LogCaptureFixture) -> None:
    """A retried placement and a refused request: no key, secret or signature in the logs, the
    errors (with their causes) or the reprs."""
    fake, execution = case.build(2)
    fake.hook(case.place_key, timeout())
    case.refuse(fake)
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        run(execution.place_order(case.order("secret1", TimeInForce.GTC)))
        with pytest.raises(ExchangeError) as caught:
            run(execution.fetch_balances())
    texts += error_chain(caught.value)
    texts += [repr(execution), str(execution), caplog.text]
    assert "timed out" in caplog.text  # the retry was logged...
    shown = "\n".join(texts)
    signatures = [s for s in map(case.signature, fake.seen) if s]
    for secret in _long(case.secrets, signatures):
        assert secret not in shown  # ...safely


def _long(*groups: Iterable[str]) -> list[str]:
    """The values worth searching for (a nonce of a few digits would match anywhere)."""
    return [value for group in groups for value in group if len(value) >= 16]
