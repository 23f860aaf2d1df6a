"""A matching engine for one simulated market, on exact fixed point.

Prices and sizes are raw integers at the instrument's decimals; nothing passes through a float.
Orders match by price, then time. What each order type does:

- LIMIT GTC trades what crosses and rests the remainder; LIMIT IOC and MARKET trade what
  crosses and expire the remainder (a MARKET order has no price limit);
- LIMIT FOK is all or nothing on arrival: it fills its whole size at or better than its limit,
  or trades nothing and expires (its lock returned, balances as before; it never rests). What
  an order may fill in one call (the partial-fill cap) counts: a FOK that could only partly
  fill expires whole;
- LIMIT POST_ONLY is rejected (:attr:`Rejection.WOULD_TAKE`) if it would cross on arrival,
  otherwise it rests without trading;
- self-trade prevention is *expire maker* (Binance's default mode): an incoming order that
  meets a resting order of the same account expires that resting order (status EXPIRED, its
  lock returned) and goes on matching behind it; the two never trade with each other.

An order may be *held* (``place(..., hold_ns=...)``, the simulator's STUCK fault): accepted,
its funds locked and the order visible as open with nothing filled, but not matched and not in
the book until ``hold_ns`` has passed; then it arrives as if placed at that moment (an IOC
matches the book as it is then, a FOK fills whole then or expires, a post-only one that would
take expires). Cancelling it before that cancels it untouched. Held orders are released by
whatever call comes next on the engine (every public method, and each market step), so the
engine needs no timer.

Orders whose shape breaks the instrument's rules (tick, lot, minimum quantity, minimum notional)
or whose account cannot pay are refused: :meth:`MatchingEngine.place` returns a
:class:`Placement` carrying the :class:`Rejection` and no order exists afterwards. A placement
that repeats an account's client order id returns the existing order, never a second one.

Fees are charged on what an account receives (base when buying, quote when selling), rounded up
to the asset's last unit, at the instrument's maker or taker rate; the :data:`HOUSE` account (the
simulated rest of the market) pays none. Every operation that changes the book's levels takes
one update id, and :meth:`MatchingEngine.drain` hands the venue layer the levels changed since
the last drain with the ids they span: a venue's diff-depth message, whatever its wire form.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction

import attrs

from arbcore.errors import ConfigError, InsufficientFunds
from arbcore.model import Instrument, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.sim.accounts import FEES, HOUSE, Ledger
from arbcore_ext.book import ASK, BID

__all__ = ["BookChange", "MatchingEngine", "Placement", "Rejection", "SimOrder", "Trade"]


class Rejection(enum.Enum):
    """Why an order was refused (each venue maps these onto its own error codes)."""

    PRICE_FILTER = "price_filter"  # not positive, or off the tick grid
    LOT_SIZE = "lot_size"  # not positive, off the lot grid, or below the minimum quantity
    MIN_NOTIONAL = "min_notional"  # price * size below the minimum
    INSUFFICIENT_FUNDS = "insufficient_funds"
    WOULD_TAKE = "would_take"  # a post-only order that would cross


@attrs.frozen(kw_only=True)
class Trade:
    """One match: ``quote_raw`` is ``price * size`` at the quote asset's ledger decimals; each
    fee is in the asset its payer received (base for the buyer, quote for the seller)."""

    trade_id: int
    price_raw: int
    size_raw: int
    quote_raw: int
    taker_side: OrderSide
    taker_order_id: int
    maker_order_id: int
    taker_account: str
    maker_account: str
    taker_fee_raw: int
    maker_fee_raw: int
    ts_ns: int

    def fee_of(self, order_id: int) -> int:
        return self.taker_fee_raw if order_id == self.taker_order_id else self.maker_fee_raw


@attrs.frozen(kw_only=True)
class SimOrder:
    """An order's state at one moment. ``price_raw`` is 0 for market orders; ``quote_raw`` is
    the quote its fills moved (at the quote asset's ledger decimals)."""

    order_id: int
    account: str
    client_order_id: str
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce
    price_raw: int
    size_raw: int
    filled_raw: int
    quote_raw: int
    status: OrderStatus
    trades: tuple[Trade, ...]
    ts_created_ns: int
    ts_updated_ns: int

    def to_model(self, instrument: Instrument) -> Order:
        return Order(
            venue=instrument.venue,
            symbol=instrument.symbol,
            client_order_id=self.client_order_id,
            side=self.side,
            type=self.type,
            price_raw=self.price_raw,
            size_raw=self.size_raw,
            time_in_force=self.time_in_force,
            status=self.status,
            filled_raw=self.filled_raw,
            venue_order_id=str(self.order_id),
            ts_created_ns=self.ts_created_ns,
        )


@attrs.frozen(kw_only=True)
class Placement:
    """The outcome of :meth:`MatchingEngine.place`: the order (None when rejected) and the trades
    it took as taker in this call."""

    order: SimOrder | None
    trades: tuple[Trade, ...] = ()
    rejection: Rejection | None = None
    reason: str = ""
    duplicate: bool = False  # the client order id was known: ``order`` is the existing one


@attrs.frozen(kw_only=True)
class BookChange:
    """Levels changed by update ids ``first_id..last_id``: (side, price, size), size 0 gone."""

    first_id: int
    last_id: int
    levels: tuple[tuple[int, int, int], ...]


@attrs.define(slots=True, eq=False)
class _Live:
    """An order inside the engine (mutable; the outside sees :class:`SimOrder` copies)."""

    order_id: int
    account: str
    client_order_id: str
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce
    price: int
    size: int
    created_ns: int
    updated_ns: int
    filled: int = 0
    quote: int = 0
    locked: int = 0
    status: OrderStatus = OrderStatus.OPEN
    resting: bool = False
    trades: list[Trade] = attrs.Factory(list)

    @property
    def remaining(self) -> int:
        return self.size - self.filled

    def snapshot(self) -> SimOrder:
        return SimOrder(
            order_id=self.order_id,
            account=self.account,
            client_order_id=self.client_order_id,
            side=self.side,
            type=self.type,
            time_in_force=self.time_in_force,
            price_raw=self.price,
            size_raw=self.size,
            filled_raw=self.filled,
            quote_raw=self.quote,
            status=self.status,
            trades=tuple(self.trades),
            ts_created_ns=self.created_ns,
            ts_updated_ns=self.updated_ns,
        )


def fee_rate(rate: float | str | Fraction) -> Fraction:
    """A fee fraction exactly as written (0.001 is 1/1000, not the float nearest to it)."""
    if isinstance(rate, Fraction):
        return rate
    return Fraction(Decimal(rate if isinstance(rate, str) else repr(rate)))


def fee_amount(amount: int, rate: Fraction) -> int:
    """``amount * rate`` rounded up to the asset's last unit."""
    return -(-amount * rate.numerator // rate.denominator)


_Plan = tuple[list[tuple[_Live, int]], list[_Live]]


@attrs.frozen
class _Arrival:
    """An arriving order's plan: the makers it takes (and how much), its own resting orders it
    expires on the way (self-trade prevention), and what it locked."""

    takes: list[tuple[_Live, int]]
    expire: list[_Live]
    locked: int


class MatchingEngine:
    """One market's book of every participant's orders, and the fills between them."""

    def __init__(
        self,
        instrument: Instrument,
        ledger: Ledger,
        *,
        clock: Callable[[], int] = time.time_ns,
        maker_fee: float | str | Fraction | None = None,
        taker_fee: float | str | Fraction | None = None,
        first_update_id: int = 0,
    ) -> None:
        self.instrument = instrument
        self.ledger = ledger
        self._clock = clock
        self.maker_fee = fee_rate(instrument.maker_fee if maker_fee is None else maker_fee)
        self.taker_fee = fee_rate(instrument.taker_fee if taker_fee is None else taker_fee)
        pd, sd = instrument.price_decimals, instrument.size_decimals
        quote_places = ledger.decimals(instrument.quote) - pd - sd
        base_places = ledger.decimals(instrument.base) - sd
        if quote_places < 0 or base_places < 0:
            raise ConfigError(f"{instrument.symbol}: the ledger's asset decimals are too coarse")
        self._quote_scale: int = 10**quote_places
        self._base_scale: int = 10**base_places
        self._queues: tuple[dict[int, deque[_Live]], dict[int, deque[_Live]]] = ({}, {})
        self._prices: tuple[list[int], list[int]] = ([], [])  # ascending, per side
        self._depth: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._orders: dict[int, _Live] = {}  # every account order but the house's
        self._by_client: dict[tuple[str, str], int] = {}
        self._house: dict[tuple[int, int], _Live] = {}  # (side, price) -> the house's order
        self._held: list[tuple[int, _Live, int | None]] = []  # (due ns, order, fill cap)
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self.update_id = first_update_id
        self._drained_id = first_update_id
        self._changed: dict[tuple[int, int], None] = {}
        self._dirty = False

    # -- reading ----------------------------------------------------------------------------------

    def best(self, side: int) -> int | None:
        prices = self._prices[side]
        if not prices:
            return None
        return prices[-1] if side == BID else prices[0]

    def levels(self, side: int, depth: int | None = None) -> list[tuple[int, int]]:
        """``(price, size)`` of a side, best first, at most ``depth`` levels."""
        prices = self._prices[side]
        ordered = reversed(prices) if side == BID else iter(prices)
        sizes = self._depth[side]
        return [(price, sizes[price]) for price in itertools.islice(ordered, depth)]

    def order(
        self, account: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> SimOrder | None:
        self.release_held()
        live = self._find(account, order_id, client_order_id)
        return None if live is None else live.snapshot()

    def open_orders(self, account: str) -> list[SimOrder]:
        self.release_held()
        return [
            live.snapshot()
            for live in self._orders.values()
            if live.account == account and not live.status.is_final
        ]

    def quote_amount(self, price_raw: int, size_raw: int) -> int:
        """``price * size`` at the quote asset's ledger decimals."""
        return price_raw * size_raw * self._quote_scale

    def base_amount(self, size_raw: int) -> int:
        return size_raw * self._base_scale

    def drain(self) -> BookChange | None:
        """The levels changed since the last drain, with the update ids they span."""
        if not self._changed:
            return None
        levels = tuple(
            (side, price, self._depth[side].get(price, 0)) for side, price in self._changed
        )
        change = BookChange(first_id=self._drained_id + 1, last_id=self.update_id, levels=levels)
        self._changed = {}
        self._drained_id = self.update_id
        return change

    # -- orders -----------------------------------------------------------------------------------

    def place(
        self,
        account: str,
        side: OrderSide,
        type: OrderType,
        size_raw: int,
        *,
        price_raw: int | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        client_order_id: str | None = None,
        fill_limit_raw: int | None = None,
        hold_ns: int = 0,
    ) -> Placement:
        """Validate, lock, match and (GTC, POST_ONLY) rest one order (module docstring).

        ``fill_limit_raw`` caps what this call may fill (the partial-fill fault): a GTC order
        rests the rest, an IOC or market order expires it, a FOK capped below its size expires
        unfilled. ``hold_ns`` > 0 holds the order unmatched that long (the stuck-order fault;
        module docstring).
        """
        self.release_held()
        if client_order_id is not None:
            known = self._by_client.get((account, client_order_id))
            if known is not None:
                return Placement(order=self._orders[known].snapshot(), duplicate=True)
        problem = self._check(type, size_raw, price_raw)
        if problem is not None:
            return Placement(order=None, rejection=problem[0], reason=problem[1])
        limit = price_raw if type is OrderType.LIMIT else None
        if type is OrderType.MARKET:
            time_in_force = TimeInForce.IOC
        if hold_ns > 0:  # locked now, matched when released (a market buy: at today's cost)
            takes = self._plan(account, side, None, size_raw, None)[0] if limit is None else []
            arrival: _Arrival | tuple[Rejection, str] = self._lock(
                account, side, type, size_raw, limit, takes, []
            )
        else:
            arrival = self._arrive(account, side, type, time_in_force, size_raw, limit,
                                   fill_limit_raw)  # fmt: skip
        if not isinstance(arrival, _Arrival):
            return Placement(order=None, rejection=arrival[0], reason=arrival[1])
        now = self._clock()
        order_id = next(self._order_ids)
        live = _Live(
            order_id=order_id,
            account=account,
            client_order_id=client_order_id or f"sim{order_id}",
            side=side,
            type=type,
            time_in_force=time_in_force,
            price=limit or 0,
            size=size_raw,
            created_ns=now,
            updated_ns=now,
            locked=arrival.locked,
        )
        if account != HOUSE:
            self._orders[order_id] = live
            self._by_client[account, live.client_order_id] = order_id
        if hold_ns > 0:
            self._held.append((now + hold_ns, live, fill_limit_raw))
            return Placement(order=live.snapshot())
        trades = self._settle(live, arrival, now)
        self._commit()
        return Placement(order=live.snapshot(), trades=tuple(trades))

    def release_held(self) -> list[Trade]:
        """Let held orders whose time has come arrive (module docstring); their trades."""
        if not self._held:
            return []
        now = self._clock()
        due = [entry for entry in self._held if entry[0] <= now]
        if not due:
            return []
        self._held = [entry for entry in self._held if entry[0] > now]
        trades: list[Trade] = []
        for _, live, cap in due:
            if live.status.is_final:  # cancelled while held
                continue
            asset = self.instrument.quote if live.side is OrderSide.BUY else self.instrument.base
            self.ledger.unlock(live.account, asset, live.locked)  # locked again as it arrives
            live.locked = 0
            limit = live.price if live.type is OrderType.LIMIT else None
            arrival = self._arrive(live.account, live.side, live.type, live.time_in_force,
                                   live.size, limit, cap)  # fmt: skip
            if not isinstance(arrival, _Arrival):  # would take (post-only), or funds gone
                self._finish(live, OrderStatus.EXPIRED, now)
                continue
            live.locked = arrival.locked
            trades += self._settle(live, arrival, now)
        self._commit()
        return trades

    def cancel(
        self, account: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> SimOrder | None:
        """Cancel an open order; None when the account has no open order by that id."""
        self.release_held()
        live = self._find(account, order_id, client_order_id)
        if live is None or live.status.is_final:
            return None
        self._finish(live, OrderStatus.CANCELED, self._clock())
        self._commit()
        return live.snapshot()

    def set_house_levels(self, targets: Mapping[tuple[int, int], int]) -> list[Trade]:
        """Make the house's resting size at each ``(side, price)`` equal the target (none
        elsewhere): how the simulated market's liquidity enters the book, as one update.

        A changed level is cancelled and placed again at the back of its queue. A new house
        order that crosses an account's resting order trades with it, as the market moving
        through a resting order does; those trades are returned.
        """
        trades = self.release_held()
        now = self._clock()
        for key, live in list(self._house.items()):
            if targets.get(key, 0) != live.remaining:
                self._finish(live, OrderStatus.CANCELED, now)
        for (side, price), size in targets.items():
            if size <= 0 or (side, price) in self._house:
                continue
            order_side = OrderSide.BUY if side == BID else OrderSide.SELL
            takes, expire = self._plan(HOUSE, order_side, price, size, None)
            live = _Live(
                order_id=next(self._order_ids),
                account=HOUSE,
                client_order_id="",
                side=order_side,
                type=OrderType.LIMIT,
                time_in_force=TimeInForce.GTC,
                price=price,
                size=size,
                created_ns=now,
                updated_ns=now,
            )
            trades += self._execute(live, takes, expire, now)
            if live.remaining:
                self._rest(live)
                self._house[side, price] = live
        self._commit()
        return trades

    # -- internals --------------------------------------------------------------------------------

    def _find(
        self, account: str, order_id: int | None, client_order_id: str | None
    ) -> _Live | None:
        if order_id is None and client_order_id is not None:
            order_id = self._by_client.get((account, client_order_id))
        live = None if order_id is None else self._orders.get(order_id)
        return live if live is not None and live.account == account else None

    def _check(self, type: OrderType, size: int, price: int | None) -> tuple[Rejection, str] | None:
        i = self.instrument
        if size <= 0 or size % i.lot_size:
            return Rejection.LOT_SIZE, (
                f"size {i.size_text(size)} is not a positive multiple of the lot "
                f"{i.size_text(i.lot_size)}"
            )
        if size < i.min_qty:
            return Rejection.LOT_SIZE, (
                f"size {i.size_text(size)} is below the minimum {i.size_text(i.min_qty)}"
            )
        if type is OrderType.MARKET:
            return None
        if price is None or price <= 0 or price % i.tick_size:
            shown = "none" if price is None else i.price_text(price)
            return Rejection.PRICE_FILTER, (
                f"price {shown} is not a positive multiple of the tick {i.price_text(i.tick_size)}"
            )
        if price * size < i.min_notional * 10**i.size_decimals:
            return Rejection.MIN_NOTIONAL, (
                f"notional {i.price_text(price)} x {i.size_text(size)} is below the minimum "
                f"{i.price_text(i.min_notional)}"
            )
        return None

    def _opposite(self, side: OrderSide) -> Iterator[int]:
        if side is OrderSide.BUY:
            return iter(self._prices[ASK])
        return reversed(self._prices[BID])

    def _plan(
        self, account: str, side: OrderSide, limit: int | None, size: int, cap: int | None
    ) -> _Plan:
        """The resting orders an incoming order would trade with (and how much), and its own
        resting orders it would expire on the way (self-trade prevention). Changes nothing."""
        takes: list[tuple[_Live, int]] = []
        expire: list[_Live] = []
        wanted = size if cap is None else min(size, cap)
        queues = self._queues[ASK if side is OrderSide.BUY else BID]
        for price in self._opposite(side):
            if wanted == 0 or not _crosses(side, limit, price):
                break
            for maker in queues[price]:
                if maker.account == account:
                    expire.append(maker)
                    continue
                quantity = min(wanted, maker.remaining)
                takes.append((maker, quantity))
                wanted -= quantity
                if wanted == 0:
                    break
        return takes, expire

    def _arrive(
        self,
        account: str,
        side: OrderSide,
        type: OrderType,
        time_in_force: TimeInForce,
        size: int,
        limit: int | None,
        cap: int | None,
    ) -> _Arrival | tuple[Rejection, str]:
        """What an arriving order will trade (post-only checked; a FOK that cannot fill whole
        trades nothing, and expires no own order on the way), its funds locked; or why it is
        refused (nothing changed then)."""
        if time_in_force is TimeInForce.POST_ONLY:
            opposite = self.best(ASK if side is OrderSide.BUY else BID)
            if opposite is not None and _crosses(side, limit, opposite):
                return (
                    Rejection.WOULD_TAKE,
                    "the post-only order would immediately match and take",
                )
            return self._lock(account, side, type, size, limit, [], [])
        takes, expire = self._plan(account, side, limit, size, cap)
        if time_in_force is TimeInForce.FOK and sum(q for _, q in takes) < size:
            takes, expire = [], []  # killed: it will expire untouched
        return self._lock(account, side, type, size, limit, takes, expire)

    def _lock(
        self,
        account: str,
        side: OrderSide,
        type: OrderType,
        size: int,
        limit: int | None,
        takes: list[tuple[_Live, int]],
        expire: list[_Live],
    ) -> _Arrival | tuple[Rejection, str]:
        asset, amount = self._lock_needed(side, type, size, limit, takes)
        try:
            self.ledger.lock(account, asset, amount)
        except InsufficientFunds as exc:
            return Rejection.INSUFFICIENT_FUNDS, str(exc)
        return _Arrival(takes, expire, amount)

    def _settle(self, live: _Live, arrival: _Arrival, now: int) -> list[Trade]:
        """Trade what the arrival planned, then end (filled, IOC/FOK expired) or rest the order."""
        trades = self._execute(live, arrival.takes, arrival.expire, now)
        if live.remaining == 0:
            self._finish(live, OrderStatus.FILLED, now)
        elif live.time_in_force.is_immediate:
            self._finish(live, OrderStatus.EXPIRED, now)
        else:
            self._rest(live)
        return trades

    def _lock_needed(
        self,
        side: OrderSide,
        type: OrderType,
        size: int,
        limit: int | None,
        takes: list[tuple[_Live, int]],
    ) -> tuple[str, int]:
        """What an order must lock: base for a sell, quote at its limit (or, for a market buy,
        the cost of the fills it is about to take) for a buy."""
        i = self.instrument
        if side is OrderSide.SELL:
            return i.base, self.base_amount(size)
        if type is OrderType.MARKET or limit is None:
            return i.quote, sum(self.quote_amount(maker.price, q) for maker, q in takes)
        return i.quote, self.quote_amount(limit, size)

    def _execute(
        self, taker: _Live, takes: list[tuple[_Live, int]], expire: list[_Live], now: int
    ) -> list[Trade]:
        for maker in expire:
            self._finish(maker, OrderStatus.EXPIRED, now)
        return [self._trade(taker, maker, quantity, now) for maker, quantity in takes]

    def _trade(self, taker: _Live, maker: _Live, quantity: int, now: int) -> Trade:
        i = self.instrument
        quote = self.quote_amount(maker.price, quantity)
        base = self.base_amount(quantity)
        taker_fee = self._fee(taker, quote, base, self.taker_fee)
        maker_fee = self._fee(maker, quote, base, self.maker_fee)
        trade = Trade(
            trade_id=next(self._trade_ids),
            price_raw=maker.price,
            size_raw=quantity,
            quote_raw=quote,
            taker_side=taker.side,
            taker_order_id=taker.order_id,
            maker_order_id=maker.order_id,
            taker_account=taker.account,
            maker_account=maker.account,
            taker_fee_raw=taker_fee,
            maker_fee_raw=maker_fee,
            ts_ns=now,
        )
        for live, fee in ((taker, taker_fee), (maker, maker_fee)):
            paid_asset, paid, got_asset, got = (
                (i.quote, quote, i.base, base)
                if live.side is OrderSide.BUY
                else (i.base, base, i.quote, quote)
            )
            self.ledger.pay(live.account, paid_asset, paid)
            live.locked -= paid
            if live.side is OrderSide.BUY and live.price > maker.price:  # price improvement
                saved = self.quote_amount(live.price - maker.price, quantity)
                self.ledger.unlock(live.account, i.quote, saved)
                live.locked -= saved
            self.ledger.credit(live.account, got_asset, got - fee)
            if fee:
                self.ledger.credit(FEES, got_asset, fee)
            live.filled += quantity
            live.quote += quote
            live.updated_ns = now
            if live.account != HOUSE:
                live.trades.append(trade)
        self._take_from_level(maker, quantity)
        if maker.remaining == 0:
            self._finish(maker, OrderStatus.FILLED, now)
        elif maker.status is OrderStatus.OPEN:
            maker.status = OrderStatus.PARTIALLY_FILLED
        if taker.filled < taker.size:
            taker.status = OrderStatus.PARTIALLY_FILLED
        return trade

    def _fee(self, live: _Live, quote: int, base: int, rate: Fraction) -> int:
        if live.account == HOUSE:
            return 0
        return fee_amount(base if live.side is OrderSide.BUY else quote, rate)

    def _rest(self, live: _Live) -> None:
        side = BID if live.side is OrderSide.BUY else ASK
        queue = self._queues[side].get(live.price)
        if queue is None:
            queue = self._queues[side][live.price] = deque()
            bisect.insort(self._prices[side], live.price)
            self._depth[side][live.price] = 0
        queue.append(live)
        live.resting = True
        self._depth[side][live.price] += live.remaining
        self._touch(side, live.price)

    def _take_from_level(self, live: _Live, quantity: int) -> None:
        side = BID if live.side is OrderSide.BUY else ASK
        self._depth[side][live.price] -= quantity
        self._touch(side, live.price)

    def _finish(self, live: _Live, status: OrderStatus, now: int) -> None:
        """End an order: out of the book, what it locked and did not use returned."""
        if live.resting:
            side = BID if live.side is OrderSide.BUY else ASK
            queue = self._queues[side][live.price]
            queue.remove(live)
            self._depth[side][live.price] -= live.remaining
            if not queue:
                del self._queues[side][live.price]
                del self._depth[side][live.price]
                prices = self._prices[side]
                del prices[bisect.bisect_left(prices, live.price)]
            live.resting = False
            self._touch(side, live.price)
            if live.account == HOUSE and self._house.get((side, live.price)) is live:
                del self._house[side, live.price]
        asset = self.instrument.quote if live.side is OrderSide.BUY else self.instrument.base
        self.ledger.unlock(live.account, asset, live.locked)
        live.locked = 0
        live.status = status
        live.updated_ns = now

    def _touch(self, side: int, price: int) -> None:
        self._changed[side, price] = None
        self._dirty = True

    def _commit(self) -> None:
        """One update id for the operation that just changed the book (if it did)."""
        if self._dirty:
            self.update_id += 1
            self._dirty = False


def _crosses(side: OrderSide, limit: int | None, price: int) -> bool:
    if limit is None:
        return True
    return price <= limit if side is OrderSide.BUY else price >= limit
