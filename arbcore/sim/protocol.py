"""What the venue protocol packages share beyond the engine, whatever JSON they speak.

- :class:`DepthView`: the depth-limited book a venue publishes (OKX ``books`` 400 levels,
  Bybit ``orderbook.50``): the top levels as last published, and what changed since.
- :func:`serve_socket`: one WebSocket session: accept, fan-out pump (where the wire faults
  strike), the client's frames to the venue's handler, an idle cut-off.
- :class:`RestGuard`: the REST faults (latency, rate limit, server error) around every route,
  and :class:`Refusal`, the venue's own error answer raised from inside a handler.
- :func:`read_decimal`, :func:`partial_fill_cap`, :func:`order_faults`, :func:`place_or_void`:
  reading an order's numbers, the order faults (partial fill, stuck) for one placement, and
  post-only orders the way OKX and Bybit treat one that would take (accepted, then cancelled,
  never traded).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import attrs
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from arbcore.errors import DecimalFormatError
from arbcore.model import Instrument, OrderSide, OrderType, TimeInForce
from arbcore.sim.engine import MatchingEngine, Placement, Rejection
from arbcore.sim.faults import Fault, FaultConfig, FaultInjector
from arbcore.sim.stream import Outgoing, StreamHub, Subscriber
from arbcore_ext.book import ASK, BID
from arbcore_ext.fixedpoint import round_to_step, to_raw, to_text

__all__ = [
    "BadDecimal",
    "DepthView",
    "Handler",
    "OrderFaults",
    "Refusal",
    "RestGuard",
    "average_price",
    "compact",
    "listening",
    "market_buy_size",
    "order_faults",
    "partial_fill_cap",
    "place_or_void",
    "rate_text",
    "read_decimal",
    "serve_socket",
    "shortest",
]

Handler = Callable[[Request], Awaitable[Response]]
Level = tuple[int, int]


class DepthView:
    """The top ``depth`` levels a side of one market as a venue last published them.

    :meth:`update` takes the engine's book now and returns what changed since the last call
    as ``(side, price, size)`` (size 0: the level left the view, traded away or pushed below
    the depth), bids best first, then asks best first: a depth-limited venue's delta. ``seq``
    is the engine's update id of the last change the view took; ``sent_ns`` is for the venue
    (when it last sent the view).
    """

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.seq = 0
        self.sent_ns = 0
        self._sides: list[dict[int, int]] = [{}, {}]  # by side: price -> size

    def update(self, engine: MatchingEngine) -> list[tuple[int, int, int]]:
        changes: list[tuple[int, int, int]] = []
        for side in (BID, ASK):
            now = dict(engine.levels(side, self.depth))
            before = self._sides[side]
            moved = [(price, 0) for price in before.keys() - now.keys()]
            moved += [(price, size) for price, size in now.items() if before.get(price) != size]
            moved.sort(reverse=side == BID)
            changes += [(side, price, size) for price, size in moved]
            self._sides[side] = now
        if changes:
            self.seq = engine.update_id
        return changes

    def levels(self, side: int, depth: int | None = None) -> list[Level]:
        """``(price, size)`` as published, best first, at most ``depth``."""
        ordered = sorted(self._sides[side].items(), reverse=side == BID)
        return ordered if depth is None else ordered[:depth]


def compact(message: object) -> str:
    """JSON as the venues send it: no spaces."""
    return json.dumps(message, separators=(",", ":"))


def shortest(raw: int, decimals: int) -> str:
    """A raw value as its shortest decimal text (``"8476.98"``, ``"7"``, ``"0.001"``)."""
    text = to_text(raw, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def rate_text(rate: Fraction, places: int = 12) -> str:
    """A fee rate (a fraction) as shortest decimal text: ``Fraction(1, 1000)`` is "0.001"."""
    return shortest(rate.numerator * 10**places // rate.denominator, places)


def average_price(
    quote_raw: int, quote_decimals: int, filled_raw: int, size_decimals: int, places: int
) -> str:
    """``quote / filled`` as shortest decimal text rounded to ``places``; "" when nothing
    filled (a derived figure, the one place a rounding is fine)."""
    if filled_raw == 0:
        return ""
    ratio = Fraction(quote_raw * 10**size_decimals, filled_raw * 10**quote_decimals)
    value = (Decimal(ratio.numerator) / Decimal(ratio.denominator)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN
    )
    return shortest(int(value.scaleb(places)), places)


def listening(hub: StreamHub, stream: str) -> bool:
    """Whether any connection is subscribed to ``stream`` (a fault spent on nobody is lost)."""
    return any(stream in subscriber.streams for subscriber in hub.subscribers)


# -- WebSocket ------------------------------------------------------------------------------------


async def serve_socket(
    hub: StreamHub,
    websocket: WebSocket,
    on_text: Callable[[Subscriber, str], None],
    *,
    render: Callable[[Outgoing], str | bytes] = lambda frame: frame.text,
    idle_timeout_s: float | None = None,
    greeting: Iterable[str] = (),
) -> None:
    """One connection until either side closes it: frames out through the hub's pump (wire
    faults included), each client frame to ``on_text`` (which queues the venue's answers).

    ``idle_timeout_s``: the venue closes a connection with no frame either way for that long.
    ``greeting``: frames the venue sends first, before any data (KuCoin's ``welcome``).
    ``render`` may return bytes: sent as a binary frame (HTX gzips every market frame).
    """
    await websocket.accept()
    subscriber = hub.join()
    for text in greeting:
        hub.reply(subscriber, text)
    last = time.monotonic()

    async def send(frame: Outgoing) -> None:
        nonlocal last
        payload = render(frame)
        try:
            if isinstance(payload, bytes):
                await websocket.send_bytes(payload)
            else:
                await websocket.send_text(payload)
        except Exception as exc:  # the client went away mid-send
            raise ConnectionError(str(exc)) from exc
        last = time.monotonic()

    async def close() -> None:
        with contextlib.suppress(Exception):
            await websocket.close(code=1001)

    async def watch(timeout_s: float) -> None:
        while (wait := last + timeout_s - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        hub.leave(subscriber)
        await close()

    tasks = [asyncio.create_task(hub.pump(subscriber, send, close))]
    if idle_timeout_s is not None:
        tasks.append(asyncio.create_task(watch(idle_timeout_s)))
    try:
        async for text in websocket.iter_text():
            last = time.monotonic()
            on_text(subscriber, text)
    finally:
        hub.leave(subscriber)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task


# -- REST -----------------------------------------------------------------------------------------


class Refusal(Exception):
    """A venue's refusal, already in its wire form; :class:`RestGuard` sends ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@attrs.frozen
class RestGuard:
    """Every route of one venue, with the REST faults applied in the same order everywhere:
    LATENCY, then BAN (``banned`` builds the venue's IP-ban answer; venues without a documented
    one pass None and BAN never strikes), then RATE_LIMIT (``rate_limited``), then SERVER_ERROR
    (``server_error``), except for a placement, whose handler lets it strike only after the
    order was accepted (the answer is lost; the order stands)."""

    venue: str
    faults: FaultInjector
    rate_limited: Callable[[FaultConfig], Response]
    server_error: Callable[[], Response]
    banned: Callable[[FaultConfig], Response] | None = None

    def route(
        self, path: str, handler: Handler, methods: list[str], *, placing: str | None = None
    ) -> Route:
        """``placing``: the method that places an order on this path (its handler decides)."""

        async def endpoint(request: Request) -> Response:
            faults, venue = self.faults, self.venue
            config = faults.config(venue)
            if faults.strikes(Fault.LATENCY, venue):
                await asyncio.sleep(config.rest_latency_ms / 1000.0)
            if self.banned is not None and faults.strikes(Fault.BAN, venue):
                return self.banned(config)
            if faults.strikes(Fault.RATE_LIMIT, venue):
                return self.rate_limited(config)
            if request.method != placing and faults.strikes(Fault.SERVER_ERROR, venue):
                return self.server_error()
            try:
                return await handler(request)
            except Refusal as refusal:
                return refusal.response

        return Route(path, endpoint, methods=methods)


# -- orders ---------------------------------------------------------------------------------------


class BadDecimal(enum.Enum):
    """Why a price or quantity could not be read."""

    MALFORMED = "malformed"  # not a decimal string
    TOO_PRECISE = "too_precise"  # more places than the instrument has (off its grid)


def read_decimal(text: object, decimals: int) -> int | BadDecimal:
    """A decimal string as a raw int at ``decimals``, exactly, or why it cannot be one."""
    if not isinstance(text, str) or not text:
        return BadDecimal.MALFORMED
    try:
        return to_raw(text, decimals)
    except DecimalFormatError as exc:
        if "more decimal places" in exc.reason:
            return BadDecimal.TOO_PRECISE
        return BadDecimal.MALFORMED


def partial_fill_cap(instrument: Instrument, size_raw: int) -> int:
    """What an order may fill when PARTIAL_FILL strikes: half its size, on the lot grid."""
    return max(round_to_step(size_raw // 2, instrument.lot_size, "down"), instrument.lot_size)


@attrs.frozen
class OrderFaults:
    """What the order faults do to one placement: a fill cap (PARTIAL_FILL; None for none) and
    a hold in ns (STUCK; 0 for none), passed on to ``MatchingEngine.place``."""

    fill_limit_raw: int | None = None
    hold_ns: int = 0


def order_faults(
    faults: FaultInjector, venue: str, instrument: Instrument, size_raw: int
) -> OrderFaults:
    """Whether PARTIAL_FILL and STUCK strike this placement on ``venue``, and how."""
    cap = partial_fill_cap(instrument, size_raw) if faults.strikes(Fault.PARTIAL_FILL,
                                                                   venue) else None  # fmt: skip
    hold = faults.config(venue).stuck_ms if faults.strikes(Fault.STUCK, venue) else 0.0
    return OrderFaults(cap, int(hold * 1_000_000))


def market_buy_size(engine: MatchingEngine, quote_raw: int) -> int:
    """The base a market buy spending ``quote_raw`` (raw at the price decimals) takes from the
    asks as they stand, on the lot grid (venues that size market buys in the quote: Gate.io,
    HTX); 0 when it buys not even one lot."""
    instrument = engine.instrument
    budget = quote_raw * 10**instrument.size_decimals  # at price + size decimals
    size = 0
    for price, available in engine.levels(ASK):
        if price * available > budget:
            size += round_to_step(budget // price, instrument.lot_size, "down")
            break
        size += available
        budget -= price * available
    return size


def place_or_void(
    engine: MatchingEngine,
    account: str,
    side: OrderSide,
    type: OrderType,
    size_raw: int,
    *,
    price_raw: int | None,
    time_in_force: TimeInForce,
    client_order_id: str | None,
    fill_limit_raw: int | None,
    hold_ns: int = 0,
) -> tuple[Placement, bool]:
    """Place an order; a post-only one that would take is accepted and at once cancelled
    without trading (OKX, Bybit), where the engine alone refuses it (Binance). The flag is
    True for such a voided order."""
    placement = engine.place(
        account, side, type, size_raw, price_raw=price_raw, time_in_force=time_in_force,
        client_order_id=client_order_id, fill_limit_raw=fill_limit_raw, hold_ns=hold_ns,
    )  # fmt: skip
    if placement.rejection is not Rejection.WOULD_TAKE:
        return placement, False
    accepted = engine.place(
        account, side, type, size_raw, price_raw=price_raw, time_in_force=TimeInForce.GTC,
        client_order_id=client_order_id, fill_limit_raw=0,
    )  # fmt: skip
    if accepted.order is None:  # refused for another reason (funds)
        return accepted, False
    cancelled = engine.cancel(account, order_id=accepted.order.order_id)
    assert cancelled is not None
    return Placement(order=cancelled), True
