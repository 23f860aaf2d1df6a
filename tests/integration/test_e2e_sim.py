"""End to end on the simulator: a dislocation injected on one venue is found, sized, executed on
both venues through their real execution clients, and recorded; the PnL the opportunity promised
is the PnL the venues' own accounts show."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sim_trading import change, engine_on_sim, kinds, traded, until

from arbcore.storage.audit import RecordKind, verify_chain

FEE = 0.001  # both simulated venues' taker fee (their defaults), charged in the asset received
PUSH_BPS = 60.0


def test_a_dislocation_is_found_sized_executed_on_both_venues_and_recorded(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with engine_on_sim(tmp_path, ("binance", "okx"), ("BTC/USDT", "ETH/USDT")) as on:
            before = await on.balances()
            await asyncio.sleep(0.2)
            assert on.engine.stats.trades == 0  # the frozen market offers nothing by itself
            on.sim.dislocate("binance", "BTC/USDT", -PUSH_BPS, duration_s=0.05)
            on.sim.step()
            await until(lambda: on.engine.stats.trades >= 1)
            await asyncio.sleep(0.2)  # (a second trade would show here)
            after = await on.balances()
        stats = on.engine.stats
        assert stats.opportunities["cross_exchange"] >= 1
        assert (stats.trades, stats.leg_failures, stats.unhedged) == (1, 0, 0)
        records = on.records()
        assert verify_chain(on.audit_path) == len(records)
        (trace,) = traded(records)
        mine = on.records(trace)
        # every step recorded, in order: opportunity, decision, the legs, position, PnL
        assert kinds(mine)[:2] == [RecordKind.OPPORTUNITY, RecordKind.RISK_DECISION]
        legs_kinds = sorted(k.value for k in kinds(mine)[2:-2])
        assert legs_kinds == ["fill", "fill", "order_request", "order_request", "venue_reply",
                              "venue_reply"]  # fmt: skip
        assert kinds(mine)[-2:] == [RecordKind.POSITION, RecordKind.PNL]
        opportunity, decision, *_, position, pnl = (r.payload for r in mine)
        assert decision["approved"] is True
        assert opportunity["venue"] == "binance->okx"  # bought where it was pushed down
        legs = opportunity["legs"]
        assert [(leg["venue"], leg["side"], leg["symbol"]) for leg in legs] == [
            ("binance", "buy", "BTC/USDT"), ("okx", "sell", "BTC/USDT")]  # fmt: skip
        replies = {r.venue: r.payload for r in mine if r.kind is RecordKind.VENUE_REPLY}
        decimals = {v: on.engine.instruments[v]["BTC/USDT"].size_decimals for v in replies}
        filled = {v: reply["filled_raw"] / 10 ** decimals[v] for v, reply in replies.items()}
        assert filled["binance"] == filled["okx"] == opportunity["size"]  # both legs in full
        bought_at = replies["binance"]["filled_quote"] / filled["binance"]
        # sized to the notional cap; earns the push less both fees (and each venue's own small
        # noise, frozen at whatever it was when the market stopped: under 2 bps)
        assert replies["binance"]["filled_quote"] == pytest.approx(1_000.0, abs=2.0)
        assert opportunity["profit_bps"] == pytest.approx(PUSH_BPS - 2e4 * FEE, abs=2.0)
        # the net position the router recorded is what the venues' accounts show
        moved = change(before, after)
        assert set(moved) == {"BTC", "USDT"}
        assert position["flows"] == pytest.approx(moved, abs=1e-6)
        assert (position["status"], position["open"]) == ("complete", {})
        assert moved["BTC"] == pytest.approx(-filled["binance"] * FEE, abs=1e-8)  # the buy's fee
        # realised (the accounts; the BTC fee at the buy's price) == expected (the opportunity),
        # to the venues' rounding of each fee up to the asset's last unit
        realised = moved["USDT"] + moved["BTC"] * bought_at
        assert realised == pytest.approx(opportunity["expected_profit"], abs=1e-6)
        assert pnl["realized"] == pytest.approx(realised, abs=1e-6)
        assert realised == pytest.approx(4.0, abs=0.25)

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))
