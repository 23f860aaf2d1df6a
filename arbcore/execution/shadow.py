"""The shadow venue: paper trading against the live book, the default venue client.

It fills like a taker on the real venue would: walking the book's depth from the best level to
the order's limit, with the instrument's fees, on the instrument's grid (orders arrive through
:func:`~arbcore.exchanges.trading.prepare_order` exactly as live ones). It never changes the
book, and it fills against the book as it is ``latency_s`` after the order was sent, not the one
the strategy saw: the decision pays for its own latency, as it would live.

What shadow does not model, on purpose: passive fills of resting orders (a GTC or post-only
order that does not cross rests as OPEN until cancelled) and queue position. Arbitrage legs are
IOC takers, so their fills are what matters.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping

import attrs

from arbcore.errors import InsufficientFunds, OrderNotFound
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest
from arbcore.model import (
    Balance,
    Fill,
    Instrument,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from arbcore.net.http import HttpRequest
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.ledger import Balances, Ledger
from arbcore_ext.slotted import Maker

__all__ = ["ShadowVenue"]

WALK_LEVELS = 200  # deepest a single taker order walks
#: the levels read first: an arbitrage leg takes a few; only an order that walks past them
#: reads the book again to WALK_LEVELS (the same walk, from the best level)
FIRST_LEVELS = 8
#: Order(...) / Fill(...) with every field in field order, without attrs' Python __init__
_new_order, _new_fill = Maker(Order), Maker(Fill)
#: the enum members an order reads (a member read from its class costs ~10x a global's read)
_BUY, _SELL, _LIMIT, _MARKET = OrderSide.BUY, OrderSide.SELL, OrderType.LIMIT, OrderType.MARKET
_POST_ONLY, _FOK = TimeInForce.POST_ONLY, TimeInForce.FOK
_FILLED, _EXPIRED, _REJECTED = OrderStatus.FILLED, OrderStatus.EXPIRED, OrderStatus.REJECTED
_IMMEDIATE = frozenset(tif for tif in TimeInForce if tif.is_immediate)


@attrs.frozen
class _Taken:
    filled: int
    cost_raw: int  # sum of price_raw * size_raw over the levels taken


class ShadowVenue:
    """One venue in shadow mode; implements :class:`~arbcore.exchanges.trading.VenueTrading`."""

    def __init__(
        self,
        venue: str,
        instruments: SymbolMap,
        book_of: Callable[[str], L2Book | None],
        balances: Mapping[str, float],
        *,
        latency_s: float = 0.025,
        fill_ratio: float = 1.0,
        clock_ns: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        ledger: Ledger | None = None,
    ) -> None:
        """``balances``: what the account starts with, copied into ``ledger`` (the engine's,
        shared with its orchestrator's reservations; a new one when not given): ``balances``
        is then the venue's view of it, which fills move."""
        self.venue = venue
        self.instruments = instruments
        self._book_of = book_of
        self.balances: Balances = (Ledger() if ledger is None else ledger).balances(venue)
        self.balances.replace(balances)
        self.latency_s = latency_s
        self.fill_ratio = fill_ratio
        self._clock_ns = clock_ns
        self._sleep = sleep
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self._trade_ids = itertools.count(1)

    def sign(self, request: HttpRequest, credentials: Credentials, *,
             timestamp_ms: int | None = None, nonce: str | None = None) -> HttpRequest:  # fmt: skip
        """Shadow orders never leave the process: nothing to sign."""
        return request

    async def place_order(self, order: OrderRequest) -> Order:
        known = self.orders.get(order.client_order_id)
        if known is not None:  # a retried placement is the same order, never a second one
            return known
        instrument = order.instrument
        self._check_funds(order)
        sent_ns = self._clock_ns()
        await self._sleep(self.latency_s)
        book = self._book_of(instrument.symbol)
        venue_order_id = f"shadow-{len(self.orders) + 1}"
        if book is None:
            return self._placed(order, sent_ns, venue_order_id, _REJECTED)
        taken = self._walk(book, order)
        time_in_force = order.time_in_force
        if time_in_force is _POST_ONLY and taken.filled:
            return self._placed(order, sent_ns, venue_order_id, _REJECTED)  # it would cross
        if time_in_force is _FOK and taken.filled < order.size_raw:
            taken = _Taken(0, 0)  # fill or kill: not all of it, so none of it
        if taken.filled:
            self._settle(order, taken)
        if taken.filled == order.size_raw:
            status = _FILLED
        elif order.type is _MARKET or time_in_force in _IMMEDIATE:
            status = _EXPIRED  # the rest of an IOC, FOK or market order is not kept
        else:
            status = OrderStatus.PARTIALLY_FILLED if taken.filled else OrderStatus.OPEN
        scale = 10 ** (instrument.price_decimals + instrument.size_decimals)
        return self._placed(order, sent_ns, venue_order_id, status, taken.filled,
                            taken.cost_raw / scale)  # fmt: skip

    async def cancel_order(self, instrument: Instrument, client_order_id: str) -> Order:
        order = await self.fetch_order(instrument, client_order_id)
        if order.status.is_final:
            return order
        return self._store(attrs.evolve(order, status=OrderStatus.CANCELED))

    async def fetch_order(self, instrument: Instrument, client_order_id: str) -> Order:
        order = self.orders.get(client_order_id)
        if order is None or order.symbol != instrument.symbol:
            raise OrderNotFound(f"no shadow order {client_order_id}", venue=self.venue)
        return order

    async def fetch_open_orders(self, instrument: Instrument | None = None) -> list[Order]:
        return [o for o in self.orders.values() if not o.status.is_final
                and (instrument is None or o.symbol == instrument.symbol)]  # fmt: skip

    async def fetch_balances(self) -> list[Balance]:
        return [Balance(venue=self.venue, asset=asset, free=free, locked=0.0)
                for asset, free in sorted(self.balances.items())]  # fmt: skip

    async def fetch_instruments(self) -> list[Instrument]:
        return list(self.instruments.by_native.values())

    async def fetch_fees(self, instrument: Instrument) -> tuple[float, float]:
        return instrument.maker_fee, instrument.taker_fee

    # -- internals --------------------------------------------------------------------------------

    def _store(self, order: Order) -> Order:
        self.orders[order.client_order_id] = order
        return order

    def _placed(self, order: OrderRequest, sent_ns: int, venue_order_id: str,
                status: OrderStatus, filled_raw: int = 0, filled_quote: float = 0.0
                ) -> Order:  # fmt: skip
        """The venue's order for ``order`` as it ends, stored under its client order id."""
        # Order(venue, symbol, client_order_id, side, type, price_raw, size_raw, time_in_force,
        # status, filled_raw, venue_order_id, ts_created_ns, filled_quote)
        placed: Order = _new_order(self.venue, order.instrument.symbol, order.client_order_id,
                                   order.side, order.type, order.price_raw or 0, order.size_raw,
                                   order.time_in_force, status, filled_raw, venue_order_id,
                                   sent_ns, filled_quote)  # fmt: skip
        self.orders[order.client_order_id] = placed
        return placed

    def _check_funds(self, order: OrderRequest) -> None:
        instrument = order.instrument
        if order.side is _SELL:
            asset, needed = instrument.base, order.size_raw / 10**instrument.size_decimals
        else:
            book = self._book_of(instrument.symbol)
            price = order.price_raw or (book.best_ask() if book is not None else None) or 0
            asset = instrument.quote
            needed = price * order.size_raw / 10 ** (instrument.price_decimals
                                                      + instrument.size_decimals)  # fmt: skip
        held = self.balances.get(asset, 0.0)
        if needed > held + 1e-12:
            raise InsufficientFunds(f"shadow {asset}: {needed:.8f} needed, {held:.8f} free",
                                    venue=self.venue)  # fmt: skip

    def _walk(self, book: L2Book, order: OrderRequest) -> _Taken:
        """Take levels from the best outward, up to the limit (none for market orders), at
        most WALK_LEVELS of them: FIRST_LEVELS read first, the rest only when the walk
        reaches past them (then it is walked again over all of them: the same walk)."""
        side = ASK if order.side is _BUY else BID
        prices, sizes = book.levels(side, FIRST_LEVELS)
        taken, ended = self._take(side, prices.tolist(), sizes.tolist(), order)
        if not ended and len(prices) == FIRST_LEVELS:
            prices, sizes = book.levels(side, WALK_LEVELS)
            taken, _ = self._take(side, prices.tolist(), sizes.tolist(), order)
        return taken

    def _take(self, side: int, prices: list[int], sizes: list[int], order: OrderRequest
              ) -> tuple[_Taken, bool]:  # fmt: skip
        """The walk over these levels, and whether it ended before their end (the limit, the
        order's size or a level too small for a lot)."""
        wanted = order.size_raw
        lot = order.instrument.lot_size
        limit = order.price_raw if order.type is _LIMIT else None
        fill_ratio = self.fill_ratio
        filled = cost = 0
        for price, size in zip(prices, sizes, strict=True):
            if limit is not None and (price > limit if side == ASK else price < limit):
                return _Taken(filled, cost), True
            take = min(wanted - filled, int(size * fill_ratio))
            take -= take % lot
            if take <= 0:
                return _Taken(filled, cost), True
            filled += take
            cost += price * take
            if filled == wanted:
                return _Taken(filled, cost), True
        return _Taken(filled, cost), False

    def _settle(self, order: OrderRequest, taken: _Taken) -> None:
        """Move balances and record the fill; the fee is taken from what is received."""
        instrument = order.instrument
        base_qty = taken.filled / 10**instrument.size_decimals
        quote_qty = taken.cost_raw / 10 ** (instrument.price_decimals + instrument.size_decimals)
        fee_rate = instrument.taker_fee
        if order.side is _BUY:
            fee, fee_asset = base_qty * fee_rate, instrument.base
            self._add(instrument.quote, -quote_qty)
            self._add(instrument.base, base_qty - fee)
        else:
            fee, fee_asset = quote_qty * fee_rate, instrument.quote
            self._add(instrument.base, -base_qty)
            self._add(instrument.quote, quote_qty - fee)
        average_raw = taken.cost_raw // taken.filled  # the fill's average price (raw)
        # Fill(venue, symbol, client_order_id, trade_id, side, price_raw, size_raw, fee,
        # fee_asset, ts_event_ns)
        self.fills.append(_new_fill(self.venue, instrument.symbol, order.client_order_id,
                                    f"shadow-{next(self._trade_ids)}", order.side, average_raw,
                                    taken.filled, fee, fee_asset, self._clock_ns()))  # fmt: skip

    def _add(self, asset: str, amount: float) -> None:
        self.balances[asset] = self.balances.get(asset, 0.0) + amount
