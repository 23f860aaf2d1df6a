"""The matching engine against the plain reference matcher, on random order sequences.

Every step compares the outcome of each placement (rejection or status, fills), the book's levels,
every account's free and locked balances (house and fees included), the conservation of every
asset's total, and at the end that what stays locked is exactly what the open orders hold.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sim_reference import FEES, HOUSE, RefMatcher, RefOrder

from arbcore.model import Instrument, OrderSide, OrderType, TimeInForce
from arbcore.sim.accounts import Ledger
from arbcore.sim.engine import MatchingEngine, SimOrder
from arbcore_ext.book import ASK, BID

INSTRUMENT = Instrument.from_text(
    venue="sim", native_symbol="XY", base="X", quote="Y", tick_size="0.01", lot_size="0.001",
    min_qty="0.002", min_notional="0.5", maker_fee=0.001, taker_fee=0.0025,
)  # fmt: skip
DECIMALS = {"X": 5, "Y": 7}  # finer than the trades need: settlement rescales
ACCOUNTS = ("a", "b", "c")
TIFS = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "post_only": TimeInForce.POST_ONLY,
        "fok": TimeInForce.FOK}  # fmt: skip

prices = st.integers(95, 106).map(lambda ticks: ticks * 100)  # 0.95 .. 1.06 at 2 decimals
sizes = st.integers(0, 40)  # 0 .. 0.040 at 3 decimals, lot 0.001
place = st.tuples(
    st.just("place"), st.sampled_from(ACCOUNTS), st.sampled_from(("buy", "sell")),
    st.one_of(st.none(), prices, st.integers(9_001, 10_999)), sizes,
    st.sampled_from(tuple(TIFS)), st.one_of(st.none(), st.integers(1, 20)),
)  # fmt: skip
cancel = st.tuples(st.just("cancel"), st.integers(0, 30))
house = st.tuples(
    st.just("house"),
    st.dictionaries(st.tuples(st.sampled_from(("buy", "sell")), prices), st.integers(0, 30),
                    max_size=6),
)  # fmt: skip
actions = st.lists(st.one_of(place, place, place, cancel, house), max_size=40)
funding = st.fixed_dictionaries(
    {account: st.tuples(st.integers(0, 3_000_000), st.integers(0, 4_000_000))
     for account in ACCOUNTS}
)  # fmt: skip


def _engine(
    funds: dict[str, tuple[int, int]], clock: Callable[[], int] = lambda: 0
) -> MatchingEngine:
    ledger = Ledger("sim", DECIMALS)
    for account, (base, quote) in funds.items():
        ledger.credit(account, "X", base)
        ledger.credit(account, "Y", quote)
    return MatchingEngine(INSTRUMENT, ledger, clock=clock)


def _reference(funds: dict[str, tuple[int, int]]) -> RefMatcher:
    i = INSTRUMENT
    ref = RefMatcher(
        base="X", quote="Y", tick=i.tick_size, lot=i.lot_size, min_qty=i.min_qty,
        min_notional=i.min_notional, size_unit=10**i.size_decimals,
        quote_scale=10 ** (DECIMALS["Y"] - i.price_decimals - i.size_decimals),
        base_scale=10 ** (DECIMALS["X"] - i.size_decimals),
        maker_fee=Fraction(1, 1000), taker_fee=Fraction(25, 10000),
    )  # fmt: skip
    for account, (base, quote) in funds.items():
        ref.balances[account, "X", "free"] = base
        ref.balances[account, "Y", "free"] = quote
    return ref


def _same_order(mine: SimOrder, theirs: RefOrder) -> None:
    assert mine.status.value == theirs.status
    assert mine.filled_raw == theirs.filled
    got = [(t.price_raw, t.size_raw, t.maker_account, t.taker_account) for t in mine.trades]
    assert got == theirs.trades


def _apply(
    engine: MatchingEngine, ref: RefMatcher, action: tuple[Any, ...], placed: list[Any]
) -> None:
    kind = action[0]
    if kind == "place":
        _, account, side, price, size, tif, cap = action
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT
        if price is None and tif in ("post_only", "fok"):
            tif = "ioc"
        result = engine.place(
            account, OrderSide(side), order_type, size, price_raw=price,
            time_in_force=TIFS[tif], fill_limit_raw=cap,
        )  # fmt: skip
        expected = ref.place(account, side, price, size, tif, cap)
        if isinstance(expected, str):
            assert result.rejection is not None
            assert result.rejection.value == expected
            assert result.order is None
        else:
            assert result.order is not None, result.reason
            placed.append((result.order.order_id, account, expected))
    elif kind == "cancel":
        if not placed:
            return
        order_id, account, expected = placed[action[1] % len(placed)]
        done = engine.cancel(account, order_id=order_id)
        assert (done is not None) == ref.cancel(expected)
    else:
        targets = {(BID if side == "buy" else ASK, price): size
                   for (side, price), size in action[1].items()}  # fmt: skip
        engine.set_house_levels(targets)
        ref.set_house(dict(action[1]))


@given(funds=funding, steps=actions)
def test_engine_matches_the_reference_on_random_sequences(
    funds: dict[str, tuple[int, int]], steps: list[tuple[Any, ...]]
) -> None:
    engine, ref = _engine(funds), _reference(funds)
    totals = engine.ledger.totals()
    placed: list[Any] = []
    for action in steps:
        _apply(engine, ref, action, placed)
        assert engine.levels(BID) == ref.levels("buy")
        assert engine.levels(ASK) == ref.levels("sell")
        for order_id, account, expected in placed:
            mine = engine.order(account, order_id=order_id)
            assert mine is not None
            _same_order(mine, expected)
        for account in (*ACCOUNTS, HOUSE, FEES):
            for asset in ("X", "Y"):
                balance = engine.ledger.balance(account, asset)
                assert balance.free == ref.amount(account, asset, "free"), (account, asset)
                assert balance.locked == ref.amount(account, asset, "locked"), (account, asset)
                if account not in (HOUSE,):
                    assert balance.free >= 0
                    assert balance.locked >= 0
        assert {k: v for k, v in engine.ledger.totals().items() if v} == {
            k: v for k, v in totals.items() if v
        }
    for account in ACCOUNTS:  # what stays locked is exactly what the open orders hold
        open_orders = engine.open_orders(account)
        quote = sum(engine.quote_amount(o.price_raw, o.size_raw - o.filled_raw)
                    for o in open_orders if o.side is OrderSide.BUY)  # fmt: skip
        base = sum(engine.base_amount(o.size_raw - o.filled_raw)
                   for o in open_orders if o.side is OrderSide.SELL)  # fmt: skip
        assert engine.ledger.balance(account, "Y").locked == quote
        assert engine.ledger.balance(account, "X").locked == base


# -- fill or kill ----------------------------------------------------------------------------------

resting = st.tuples(st.sampled_from(("a", "b")), st.sampled_from(("buy", "sell")), prices,
                    st.integers(6, 30))  # fmt: skip
fok = st.tuples(st.sampled_from(("buy", "sell")), prices, st.integers(6, 60),
                st.one_of(st.none(), st.integers(1, 60)), st.sampled_from((0, 5)))  # fmt: skip


def _available(engine: MatchingEngine, side: OrderSide, limit: int) -> int:
    """What others (not "a") offer at or better than ``limit`` against a FOK from "a"."""
    buying = side is OrderSide.BUY

    def crosses(price: int) -> bool:
        return price <= limit if buying else price >= limit

    total = sum(size for price, size in engine.levels(ASK if buying else BID) if crosses(price))
    own = sum(o.size_raw - o.filled_raw for o in engine.open_orders("a")
              if o.side is not side and crosses(o.price_raw))  # fmt: skip
    return total - own


@given(house_book=house, orders=st.lists(resting, max_size=6), order=fok)
def test_fok_never_leaves_a_partial_fill(
    house_book: tuple[Any, ...], orders: list[tuple[str, str, int, int]], order: tuple[Any, ...]
) -> None:
    """All or nothing, whatever the book, the partial-fill cap or a hold (the STUCK fault):
    filled whole, or expired with nothing traded and every balance and level as before."""
    now = [0]
    engine = _engine({"a": (3_000_000, 10**9), "b": (3_000_000, 10**9)}, lambda: now[0])
    engine.set_house_levels({(BID if side == "buy" else ASK, price): size
                             for (side, price), size in house_book[1].items()})  # fmt: skip
    for account, side, price, size in orders:
        engine.place(account, OrderSide(side), OrderType.LIMIT, size, price_raw=price)
    fok_side, limit, size, cap = OrderSide(order[0]), order[1], order[2], order[3]
    available = _available(engine, fok_side, limit)
    balances = {(acct, asset): engine.ledger.balance(acct, asset)
                for acct in ("a", "b") for asset in ("X", "Y")}  # fmt: skip
    levels = (engine.levels(BID), engine.levels(ASK))
    placed = engine.place("a", fok_side, OrderType.LIMIT, size, price_raw=limit,
                          client_order_id="f", time_in_force=TimeInForce.FOK,
                          fill_limit_raw=cap, hold_ns=order[4])  # fmt: skip
    assert placed.order is not None, placed.reason
    now[0] = 10  # a held order arrives now
    done = engine.order("a", client_order_id="f")
    assert done is not None
    if available >= size and (cap is None or cap >= size):
        assert (done.status.value, done.filled_raw) == ("filled", size)
    else:
        assert (done.status.value, done.filled_raw, done.trades) == ("expired", 0, ())
        assert (engine.levels(BID), engine.levels(ASK)) == levels
        assert {key: engine.ledger.balance(*key) for key in balances} == balances
    assert all(o.order_id != done.order_id for o in engine.open_orders("a"))  # never rests
