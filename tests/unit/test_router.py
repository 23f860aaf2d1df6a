"""The router: concurrent IOC legs, every step audited, and the leg-failure policy's promise,
for two-leg (cross-exchange) and three-leg (triangular) trades."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from arbcore.config.schema import CrossExchangeConfig, ExecutionConfig, RiskLimits
from arbcore.errors import InvalidOrder
from arbcore.exchanges.symbols import SymbolMap
from arbcore.exchanges.trading import OrderRequest
from arbcore.execution import ShadowVenue
from arbcore.execution.router import Router, TradeStatus
from arbcore.model import Instrument, Opportunity, Order
from arbcore.risk import RiskEngine
from arbcore.storage import AuditTrail, RecordKind
from arbcore.strategies.cross_exchange import CrossExchangeStrategy
from arbcore.strategies.triangular import TriangularScanner
from arbcore_ext.book import L2Book
from arbcore_ext.profit import limit_price

Levels = list[tuple[int, int]]


def _instrument(venue: str, symbol: str = "BTC/USDT", tick: str = "0.01",
                lot: str = "0.0001") -> Instrument:  # fmt: skip
    base, _, quote = symbol.partition("/")
    return Instrument.from_text(venue=venue, native_symbol=base + quote, base=base, quote=quote,
                                tick_size=tick, lot_size=lot, min_notional=tick,
                                taker_fee=0.001)  # fmt: skip


def _book(instrument: Instrument, bids: Levels, asks: Levels) -> L2Book:
    book = L2Book(instrument.price_decimals, instrument.size_decimals)
    (bp, bq), (ap, aq) = zip(*bids, strict=True), zip(*asks, strict=True)
    book.apply_snapshot(*(np.array(v, dtype=np.int64) for v in (bp, bq, ap, aq)))
    return book


class Refusing:
    """A venue that refuses the first ``refusals`` orders (on ``symbol``, or any), then behaves
    like ``inner``."""

    def __init__(self, inner: ShadowVenue, refusals: int, symbol: str | None = None) -> None:
        self.inner, self.refusals, self.venue, self.symbol = inner, refusals, inner.venue, symbol

    async def place_order(self, order: OrderRequest) -> Order:
        if self.refusals and self.symbol in (None, order.symbol):
            self.refusals -= 1
            raise InvalidOrder("LOT_SIZE filter failure", venue=self.venue, venue_code=-1013)
        return await self.inner.place_order(order)


def _router(tmp_path: Path, venues: dict[str, Any], instruments: dict[str, dict[str, Instrument]],
            policy: str) -> dict[str, Any]:  # fmt: skip
    alerts: list[str] = []
    audit = AuditTrail(tmp_path / "audit.db", synchronous="NORMAL")
    risk = RiskEngine(RiskLimits(), price_usd=lambda asset: 1.0)
    router = Router(venues, lambda venue, symbol: instruments[venue][symbol],
                    ExecutionConfig(leg_failure=policy, retry_worse_bps=10.0),  # type: ignore[arg-type]
                    audit=audit, risk=risk, alert=alerts.append)  # fmt: skip
    return {"router": router, "audit": audit, "alerts": alerts, "risk": risk}


def _shadow(venue: str, instruments: dict[str, Instrument], books: dict[str, L2Book],
            balances: dict[str, float]) -> ShadowVenue:  # fmt: skip
    return ShadowVenue(venue, SymbolMap.of(venue, instruments.values()),
                       lambda symbol: books[symbol], balances, latency_s=0.0)  # fmt: skip


# -- two legs: buy where cheap, sell where dear ---------------------------------------------------


def _setup(tmp_path: Path, policy: str, *, refuse: dict[str, int] | None = None,
           dear_bids: Levels | None = None,
           dear_asks: Levels | None = None) -> dict[str, Any]:  # fmt: skip
    instruments = {v: {"BTC/USDT": _instrument(v)} for v in ("cheap", "dear")}
    books = {
        "cheap": _book(instruments["cheap"]["BTC/USDT"], [(9_990, 10_000), (9_980, 10_000)],
                       [(10_000, 10_000), (10_010, 20_000)]),
        "dear": _book(instruments["dear"]["BTC/USDT"],
                      dear_bids or [(10_050, 15_000), (10_020, 10_000)],
                      dear_asks or [(10_100, 10_000)]),
    }  # fmt: skip
    shadows = {v: _shadow(v, instruments[v], {"BTC/USDT": books[v]}, {"USDT": 1e6, "BTC": 10.0})
               for v in books}  # fmt: skip
    strategy = CrossExchangeStrategy(
        CrossExchangeConfig(min_profit_bps=1.0, slippage_bps=0.0), instruments,
        book_of=lambda venue, symbol: books[venue],
        balance_of=lambda venue, asset: shadows[venue].balances.get(asset, 0.0),
        usd=lambda asset: 1.0,
    )  # fmt: skip
    opportunity = strategy.on_book("cheap", "BTC/USDT")
    assert opportunity is not None
    venues: dict[str, Any] = dict(shadows)
    for venue, count in (refuse or {}).items():
        venues[venue] = Refusing(shadows[venue], count)
    return {**_router(tmp_path, venues, instruments, policy), "opportunity": opportunity,
            "shadows": shadows}  # fmt: skip


def _execute(ctx: dict[str, Any]) -> Any:
    result = asyncio.run(ctx["router"].execute(ctx["opportunity"], "trace-1"))
    ctx["audit"].close()
    return result


def _btc(ctx: dict[str, Any]) -> float:
    """The BTC the two shadow accounts hold together."""
    return sum(shadow.balances["BTC"] for shadow in ctx["shadows"].values())  # type: ignore[no-any-return]


def test_matched_legs_complete_with_the_expected_profit_and_every_step_audited(
    tmp_path: Path,
) -> None:
    ctx = _setup(tmp_path, "unwind")
    result = _execute(ctx)
    opportunity: Opportunity = ctx["opportunity"]
    assert result.status is TradeStatus.COMPLETE
    assert result.net_base == 0.0
    assert result.open_position == {}
    assert [leg.filled_raw for leg in result.legs] == [15_000, 15_000]
    assert result.realized_quote == pytest.approx(opportunity.expected_profit, abs=1e-9)
    # what the router says the trade did is what the accounts show: the fee in BTC is a cost
    assert result.flows["BTC"] == pytest.approx(_btc(ctx) - 20.0, abs=1e-12)
    assert result.flows["BTC"] == pytest.approx(-1.5 * 0.001)
    kinds = [r.kind for r in ctx["audit"].records()]
    assert kinds.count(RecordKind.ORDER_REQUEST) == 2
    assert kinds.count(RecordKind.VENUE_REPLY) == 2
    assert kinds.count(RecordKind.FILL) == 2
    assert kinds[-2:] == [RecordKind.POSITION, RecordKind.PNL]
    assert {r.trace_id for r in ctx["audit"].records()} == {"trace-1"}
    fills = [r.payload for r in ctx["audit"].records(RecordKind.FILL)]
    assert sorted((f["side"], f["price_raw"], f["size_raw"], f["fee_asset"]) for f in fills) == [
        ("buy", 10_003, 15_000, "BTC"), ("sell", 10_050, 15_000, "USDT")]  # fmt: skip
    assert ctx["risk"].open_orders == 0
    assert ctx["audit"].verify() == 8


def test_a_refused_sell_is_unwound_at_market_back_to_flat(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "unwind", refuse={"dear": 1})
    result = _execute(ctx)
    assert result.status is TradeStatus.REPAIRED
    assert result.net_base == 0.0
    (repair,) = result.repairs
    assert (repair.leg.venue, repair.order.side.value, repair.order.type.value) == (
        "cheap", "sell", "market")  # fmt: skip
    assert repair.filled_raw == 14_985  # what the buy delivered after its fee, not 1.5
    assert ctx["shadows"]["cheap"].balances["BTC"] == pytest.approx(10.0, abs=1e-12)
    assert result.flows["BTC"] == pytest.approx(0.0, abs=1e-12)
    assert result.realized_quote < -0.3  # the round trip costs the spread and both fees
    assert ctx["router"].leg_failures == 1
    assert ctx["router"].unhedged == 0


def test_a_refused_buy_is_unwound_by_buying_back_the_base_and_its_fee(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "unwind", refuse={"cheap": 1},
                 dear_asks=[(10_100, 10_000), (10_110, 20_000)])  # fmt: skip
    result = _execute(ctx)
    assert result.status is TradeStatus.REPAIRED
    (repair,) = result.repairs
    assert (repair.leg.venue, repair.order.side.value) == ("dear", "buy")
    assert repair.filled_raw == 15_016  # 1.5 / 0.999 rounded up to the lot
    held = _btc(ctx) - 20.0
    assert 0.0 <= held < 0.0001  # flat within a lot, never short
    assert result.flows["BTC"] == pytest.approx(held, abs=1e-12)


def test_retry_sends_the_short_leg_once_more_at_a_bounded_worse_limit(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "retry", refuse={"dear": 1})
    result = _execute(ctx)
    assert result.status is TradeStatus.REPAIRED
    (repair,) = result.repairs
    assert (repair.leg.venue, repair.order.side.value, repair.retry_of) == ("dear", "sell", 1)
    assert repair.order.price_raw == 10_040  # 100.50 widened by 10 bps (10.05), floored
    assert repair.filled_raw == 15_000
    assert result.open_position == {}


def test_a_retry_that_fails_again_leaves_the_trade_unhedged_and_alerts(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "retry", refuse={"dear": 2})
    result = _execute(ctx)
    assert result.status is TradeStatus.UNHEDGED
    assert result.net_base == pytest.approx(1.5 * 0.999)  # what the account holds, fee paid
    assert ctx["alerts"] == ["trade trace-1 is unhedged: +1.49850000 BTC"]
    kinds = [r.kind for r in ctx["audit"].records()]
    assert RecordKind.PNL not in kinds
    assert kinds[-1] is RecordKind.POSITION


def test_hold_keeps_a_partial_fill_and_records_the_net_position(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "hold", dear_bids=[(10_050, 15_000), (10_020, 10_000)])
    ctx["shadows"]["dear"].fill_ratio = 0.5  # only half of each level is there for us
    result = _execute(ctx)
    assert [leg.filled_raw for leg in result.legs] == [15_000, 7_500]
    assert result.status is TradeStatus.UNHEDGED
    assert result.repairs == ()
    assert result.net_base == pytest.approx(1.5 * 0.999 - 0.75)
    assert _btc(ctx) - 20.0 == pytest.approx(result.net_base, abs=1e-12)
    position = next(r for r in ctx["audit"].records(RecordKind.POSITION))
    assert position.payload["open"] == {"BTC": pytest.approx(0.7485)}


def test_legs_partly_filled_alike_are_hedged(tmp_path: Path) -> None:
    ctx = _setup(tmp_path, "hold", dear_bids=[(10_050, 7_500)])
    ctx["opportunity"] = _halved(ctx["opportunity"])
    result = _execute(ctx)
    assert [leg.filled_raw for leg in result.legs] == [7_500, 7_500]
    assert result.status is TradeStatus.COMPLETE
    assert ctx["alerts"] == []


def _halved(opportunity: Opportunity) -> Opportunity:
    legs = tuple(attrs.evolve(leg, size_raw=7_500) for leg in opportunity.legs)
    return attrs.evolve(opportunity, legs=legs)


# -- three legs on one venue: USDT -> BTC -> ETH -> USDT ------------------------------------------

TRI = {
    "BTC/USDT": ("0.01", "0.0001"),
    "ETH/BTC": ("0.0001", "0.001"),
    "ETH/USDT": ("0.01", "0.001"),
}
START = {"USDT": 1e6, "BTC": 10.0, "ETH": 100.0}


def _triangle(tmp_path: Path, policy: str, refuse: str | None = None,
              refusals: int = 1) -> dict[str, Any]:  # fmt: skip
    """A venue whose ETH/BTC is cheap: buying BTC, then ETH with it, then selling the ETH for
    USDT earns about 0.7% after three fees."""
    instruments = {s: _instrument("v", s, tick, lot) for s, (tick, lot) in TRI.items()}
    books = {
        "BTC/USDT": _book(instruments["BTC/USDT"], [(9_990, 50_000)], [(10_000, 50_000),
                                                                     (10_010, 50_000)]),
        "ETH/BTC": _book(instruments["ETH/BTC"], [(980, 100_000)], [(990, 100_000),
                                                                  (1_000, 100_000)]),
        "ETH/USDT": _book(instruments["ETH/USDT"], [(1_000, 100_000), (990, 100_000)],
                          [(1_010, 100_000)]),
    }  # fmt: skip
    scanner = TriangularScanner(instruments.values(), ("USDT",), max_start=400.0)
    for symbol, book in books.items():
        scanner.on_book(symbol, book)
    (opportunity, *_) = scanner.scan()
    assert [(leg.side.value, leg.symbol) for leg in opportunity.legs] == [
        ("buy", "BTC/USDT"), ("buy", "ETH/BTC"), ("sell", "ETH/USDT")]  # fmt: skip
    shadow = _shadow("v", instruments, books, dict(START))
    venue: Any = shadow if refuse is None else Refusing(shadow, refusals, refuse)
    return {**_router(tmp_path, {"v": venue}, {"v": instruments}, policy),
            "opportunity": opportunity, "shadow": shadow, "instruments": instruments}  # fmt: skip


def _changes(ctx: dict[str, Any]) -> dict[str, float]:
    return {asset: ctx["shadow"].balances[asset] - START[asset] for asset in START}


def test_a_complete_cycle_earns_what_was_sized_and_leaves_only_dust(tmp_path: Path) -> None:
    ctx = _triangle(tmp_path, "unwind")
    result = _execute(ctx)
    opportunity: Opportunity = ctx["opportunity"]
    assert result.status is TradeStatus.COMPLETE
    assert result.repairs == ()
    changes = _changes(ctx)
    assert result.flows == pytest.approx(changes, abs=1e-9)
    assert changes["USDT"] == pytest.approx(opportunity.expected_profit, abs=1e-9)
    assert abs(changes["BTC"]) < 0.0001  # below a lot
    assert abs(changes["ETH"]) < 0.001
    assert opportunity.expected_profit > 2.5


def test_a_refused_middle_leg_is_unwound_to_the_start_asset_at_market(tmp_path: Path) -> None:
    ctx = _triangle(tmp_path, "unwind", refuse="ETH/BTC")
    result = _execute(ctx)
    assert result.status is TradeStatus.REPAIRED
    assert sorted((r.order.side.value, r.leg.symbol, r.order.type.value)
                  for r in result.repairs) == [("buy", "ETH/USDT", "market"),
                                               ("sell", "BTC/USDT", "market")]  # fmt: skip
    changes = _changes(ctx)
    assert 0.0 <= changes["BTC"] < 0.0001  # back within a lot of the start
    assert 0.0 <= changes["ETH"] < 0.001
    assert changes["USDT"] < 0  # the round trips' spread and fees, paid in the start asset
    assert result.flows == pytest.approx(changes, abs=1e-9)
    assert result.open_position == {}
    assert result.realized_quote == pytest.approx(changes["USDT"], abs=0.01)
    assert ctx["router"].leg_failures == 1


def test_a_refused_middle_leg_is_retried_at_a_bounded_worse_limit(tmp_path: Path) -> None:
    ctx = _triangle(tmp_path, "retry", refuse="ETH/BTC")
    result = _execute(ctx)
    opportunity: Opportunity = ctx["opportunity"]
    assert result.status is TradeStatus.REPAIRED
    (repair,) = result.repairs
    middle = opportunity.legs[1]
    assert (repair.leg.symbol, repair.retry_of) == ("ETH/BTC", 1)
    assert repair.order.price_raw == limit_price(middle.price_raw, True, 10.0)
    assert repair.order.size_raw == middle.size_raw
    assert repair.filled_raw == middle.size_raw
    changes = _changes(ctx)
    assert abs(changes["BTC"]) < 0.0001
    assert abs(changes["ETH"]) < 0.001
    assert changes["USDT"] == pytest.approx(opportunity.expected_profit, abs=1e-9)


def test_a_cycle_held_after_a_failed_retry_is_recorded_per_asset_and_alerted(
    tmp_path: Path,
) -> None:
    ctx = _triangle(tmp_path, "retry", refuse="ETH/BTC", refusals=2)
    result = _execute(ctx)
    assert result.status is TradeStatus.UNHEDGED
    changes = _changes(ctx)
    assert result.open_position == pytest.approx({"BTC": changes["BTC"], "ETH": changes["ETH"]})
    assert changes["BTC"] > 3  # bought BTC, sold ETH, no bridge between them
    assert changes["ETH"] < -30
    (alert,) = ctx["alerts"]
    assert alert == (f"trade trace-1 is unhedged: {changes['BTC']:+.8f} BTC, "
                     f"{changes['ETH']:+.8f} ETH")  # fmt: skip
    position = next(r for r in ctx["audit"].records(RecordKind.POSITION))
    assert position.payload["open"] == pytest.approx(result.open_position)
    assert ctx["router"].unhedged == 1


@pytest.mark.parametrize("refused", ["BTC/USDT", "ETH/USDT"])
def test_hold_records_the_cycle_position_whichever_leg_fails(tmp_path: Path, refused: str) -> None:
    ctx = _triangle(tmp_path, "hold", refuse=refused)
    result = _execute(ctx)
    assert result.status is TradeStatus.UNHEDGED
    assert result.repairs == ()
    changes = _changes(ctx)
    assert result.open_position == pytest.approx(
        {a: c for a, c in changes.items() if a != "USDT" and abs(c) > 0.001}
    )
    assert ctx["alerts"]


def test_the_trades_records_are_decided_and_their_position_json_made_off_the_loop(
    tmp_path: Path, json_threads: list[str]
) -> None:
    """The trade's rows take no start-up work on the first trade (Order and Fill are kept by
    reference, decided when the router is imported), and its position and PnL rows are handed
    to the trail: their JSON is not made on the loop while the trade runs, and is the same text."""
    import threading

    from arbcore.model import Fill
    from arbcore.storage import audit as audit_module

    assert audit_module._IMMUTABLE.get(Order) is True
    assert audit_module._IMMUTABLE.get(Fill) is True
    ctx = _setup(tmp_path, "unwind")
    result = asyncio.run(ctx["router"].execute(ctx["opportunity"], "trace-1"))
    assert threading.current_thread().name not in json_threads  # none while the trade ran
    ctx["audit"].close()  # (what is still held, it prepares on this thread)
    assert json_threads
    (position,) = (r.payload for r in ctx["audit"].records(RecordKind.POSITION))
    assert position == {"trade": "trace-1", "status": "complete", "net_base": 0.0,
                        "flows": result.flows, "open": {}}  # fmt: skip
    result.flows.clear()  # the rows hold their own copies
    (pnl,) = (r.payload for r in ctx["audit"].records(RecordKind.PNL))
    assert pnl["flows"]
    assert pnl["realized"] == result.realized_quote


def test_a_value_json_cannot_hold_still_fails_the_trade_at_its_row(tmp_path: Path) -> None:
    """A non-finite amount (no real fill makes one) is not handed over: the PnL row's append
    snapshots it and raises there, as any mutable payload's does, before risk counts it."""
    ctx = _setup(tmp_path, "unwind")
    ctx["router"]._value = lambda flows, asset, done: float("inf")
    with pytest.raises(ValueError, match="JSON"):
        asyncio.run(ctx["router"].execute(ctx["opportunity"], "trace-1"))
    ctx["audit"].close()
    kinds = [r.kind for r in ctx["audit"].records()]
    assert kinds[-1] is RecordKind.POSITION
    assert kinds.count(RecordKind.FILL) == 2
    assert ctx["risk"].daily_pnl_usd == 0.0
