"""A deliberately plain matcher: the oracle the simulator's engine is tested against.

One flat list of resting orders in arrival order, sorted afresh for every incoming order; balances
in a dict; fees with ``Fraction``. Same rules as ``arbcore.sim.engine`` (price-time priority,
expire-maker self-trade prevention, locks, fees on what is received, rounded up), none of its code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

HOUSE = "~house"
FEES = "~fees"


@dataclass
class RefOrder:
    seq: int
    account: str
    side: str  # "buy" / "sell"
    price: int | None  # None: market
    size: int
    tif: str  # "gtc" / "ioc" / "post_only" / "fok"
    filled: int = 0
    locked: int = 0
    status: str = "open"
    trades: list[tuple[int, int, str, str]] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.size - self.filled


@dataclass
class RefMatcher:
    base: str
    quote: str
    tick: int
    lot: int
    min_qty: int
    min_notional: int  # at price decimals
    size_unit: int  # 10**size_decimals
    quote_scale: int
    base_scale: int
    maker_fee: Fraction
    taker_fee: Fraction
    balances: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (acct, asset, kind)
    resting: list[RefOrder] = field(default_factory=list)
    orders: list[RefOrder] = field(default_factory=list)
    house: dict[tuple[str, int], RefOrder] = field(default_factory=dict)
    seq: int = 0

    # -- balances ---------------------------------------------------------------------------------

    def amount(self, account: str, asset: str, kind: str) -> int:
        return self.balances.get((account, asset, kind), 0)

    def _add(self, account: str, asset: str, kind: str, delta: int) -> None:
        if account == HOUSE:
            kind = "free"
        self.balances[account, asset, kind] = self.amount(account, asset, kind) + delta

    def _lock(self, order: RefOrder, asset: str, amount: int) -> bool:
        if order.account != HOUSE:
            if self.amount(order.account, asset, "free") < amount:
                return False
            self._add(order.account, asset, "free", -amount)
            self._add(order.account, asset, "locked", amount)
        order.locked = amount
        return True

    def _release(self, order: RefOrder, amount: int) -> None:
        if order.account != HOUSE:
            asset = self.quote if order.side == "buy" else self.base
            self._add(order.account, asset, "locked", -amount)
            self._add(order.account, asset, "free", amount)
        order.locked -= amount

    # -- matching ---------------------------------------------------------------------------------

    @staticmethod
    def _crosses(order: RefOrder, price: int) -> bool:
        if order.price is None:
            return True
        return price <= order.price if order.side == "buy" else price >= order.price

    def _candidates(self, order: RefOrder) -> list[RefOrder]:
        other = "sell" if order.side == "buy" else "buy"
        found = [o for o in self.resting if o.side == other and self._crosses(order, o.price or 0)]
        sign = 1 if order.side == "buy" else -1
        return sorted(found, key=lambda o: (sign * (o.price or 0), o.seq))

    def _end(self, order: RefOrder, status: str) -> None:
        if order in self.resting:
            self.resting.remove(order)
        self._release(order, order.locked)
        order.status = status
        for key, live in list(self.house.items()):
            if live is order:
                del self.house[key]

    def _fee(self, order: RefOrder, received: int, rate: Fraction) -> int:
        if order.account == HOUSE:
            return 0
        product = received * rate
        return -(-product.numerator // product.denominator)

    def _trade(self, taker: RefOrder, maker: RefOrder, qty: int) -> None:
        price = maker.price or 0
        quote = price * qty * self.quote_scale
        base = qty * self.base_scale
        for order, rate in ((taker, self.taker_fee), (maker, self.maker_fee)):
            if order.side == "buy":
                self._add(order.account, self.quote, "locked", -quote)
                order.locked -= quote
                if order.price is not None and order.price > price:
                    self._release(order, (order.price - price) * qty * self.quote_scale)
                fee = self._fee(order, base, rate)
                self._add(order.account, self.base, "free", base - fee)
                self._add(FEES, self.base, "free", fee)
            else:
                self._add(order.account, self.base, "locked", -base)
                order.locked -= base
                fee = self._fee(order, quote, rate)
                self._add(order.account, self.quote, "free", quote - fee)
                self._add(FEES, self.quote, "free", fee)
            order.filled += qty
            order.trades.append((price, qty, maker.account, taker.account))
        if maker.remaining == 0:
            self._end(maker, "filled")
        else:
            maker.status = "partially_filled"
        if taker.remaining:
            taker.status = "partially_filled"

    def _match(self, order: RefOrder, cap: int | None = None) -> None:
        wanted = order.size if cap is None else min(order.size, cap)
        for maker in self._candidates(order):
            if wanted == 0:
                break
            if maker.account == order.account:
                self._end(maker, "expired")
                continue
            qty = min(wanted, maker.remaining)
            self._trade(order, maker, qty)
            wanted -= qty

    def _plan_cost(self, order: RefOrder, cap: int | None) -> int:
        wanted, cost = order.size if cap is None else min(order.size, cap), 0
        for maker in self._candidates(order):
            if wanted == 0:
                break
            if maker.account == order.account:
                continue
            qty = min(wanted, maker.remaining)
            cost += (maker.price or 0) * qty * self.quote_scale
            wanted -= qty
        return cost

    def _fillable(self, order: RefOrder, cap: int | None) -> int:
        """What the order could take from others now, up to its size and the cap."""
        wanted = order.size if cap is None else min(order.size, cap)
        other = sum(m.remaining for m in self._candidates(order) if m.account != order.account)
        return min(wanted, other)

    # -- the API the test drives ------------------------------------------------------------------

    def place(
        self, account: str, side: str, price: int | None, size: int, tif: str, cap: int | None
    ) -> RefOrder | str:
        """The order, or the rejection's name (the house's orders are not checked)."""
        if account != HOUSE and (size <= 0 or size % self.lot or size < self.min_qty):
            return "lot_size"
        if price is not None and account != HOUSE:
            if price <= 0 or price % self.tick:
                return "price_filter"
            if price * size < self.min_notional * self.size_unit:
                return "min_notional"
        self.seq += 1
        order = RefOrder(self.seq, account, side, price, size, tif if price is not None else "ioc")
        opposite = self._candidates(order)
        if order.tif == "post_only" and opposite:
            return "would_take"
        if side == "sell":
            lock, asset = size * self.base_scale, self.base
        elif price is None:
            lock, asset = self._plan_cost(order, cap), self.quote
        else:
            lock, asset = price * size * self.quote_scale, self.quote
        if not self._lock(order, asset, lock):
            return "insufficient_funds"
        if account != HOUSE:
            self.orders.append(order)
        killed = order.tif == "fok" and self._fillable(order, cap) < size
        if order.tif != "post_only" and not killed:
            self._match(order, cap)
        if order.remaining == 0:
            self._end(order, "filled")
        elif order.tif in ("ioc", "fok"):
            self._end(order, "expired")
        else:
            self.resting.append(order)
        return order

    def cancel(self, order: RefOrder) -> bool:
        if order.status in ("filled", "canceled", "expired"):
            return False
        self._end(order, "canceled")
        return True

    def set_house(self, targets: dict[tuple[str, int], int]) -> None:
        for key, live in list(self.house.items()):
            if targets.get(key, 0) != live.remaining:
                self._end(live, "canceled")
        for (side, price), size in targets.items():
            if size > 0 and (side, price) not in self.house:
                order = self.place(HOUSE, side, price, size, "gtc", None)
                assert isinstance(order, RefOrder)
                if order.remaining:
                    self.house[side, price] = order

    def levels(self, side: str) -> list[tuple[int, int]]:
        sizes: dict[int, int] = {}
        for order in self.resting:
            if order.side == side:
                sizes[order.price or 0] = sizes.get(order.price or 0, 0) + order.remaining
        return sorted(sizes.items(), reverse=side == "buy")
