"""Leg failure end to end: the simulator refuses a leg, the configured policy runs, and the net
position the venues' own accounts show is what the policy promises (and what was recorded)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from sim_trading import LastAndRefused, Policy, change, engine_on_sim, traded, until

from arbcore.sim import Fault
from arbcore.storage.audit import RecordKind
from arbcore_ext.profit import limit_price

FEE = 0.001
BTC_LOT = 1e-5  # BTC/USDT's lot on the simulated venues


def _run(scenario: Any) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def _outcome(on: Any) -> tuple[str, list[Any]]:
    records = on.records()
    (trace,) = traded(records)
    return trace, on.records(trace)


def _of(records: list[Any], kind: RecordKind) -> list[dict[str, Any]]:
    return [r.payload for r in records if r.kind is kind]


@pytest.mark.parametrize("policy", ["unwind", "retry", "hold"])
def test_a_refused_second_leg_ends_where_the_policy_promises(
    tmp_path: Path, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        venues, symbols = ("binance", "okx"), ("BTC/USDT",)
        async with engine_on_sim(tmp_path, venues, symbols, policy=policy) as on:
            before = await on.balances()
            on.sim.faults.arm(Fault.REJECT, "okx")  # okx gets the second leg: the sell
            on.sim.dislocate("binance", "BTC/USDT", -60.0, duration_s=0.05)
            on.sim.step()
            await until(lambda: on.engine.stats.trades >= 1)
            after = await on.balances()
        assert on.sim.faults.injected == {("okx", Fault.REJECT): 1}
        assert on.engine.stats.leg_failures == 1
        trace, records = _outcome(on)
        requests = _of(records, RecordKind.ORDER_REQUEST)
        replies = _of(records, RecordKind.VENUE_REPLY)
        (position,) = _of(records, RecordKind.POSITION)
        refused = [r for r in records if r.kind is RecordKind.VENUE_REPLY and "error" in r.payload]
        assert [r.venue for r in refused] == ["okx"]  # the sell was refused, by the venue
        bought = next(r for r in replies if r.get("side") == "buy")["filled_raw"] / 1e8
        assert bought > 0.01
        moved = change(before, after)
        assert position["flows"] == pytest.approx(moved, abs=1e-6)  # recorded == the accounts
        btc = moved.get("BTC", 0.0)
        if policy == "unwind":  # the BTC bought is sold back at market: flat within a lot
            assert position["status"] == "repaired"
            assert requests[-1]["type"] == "market"
            assert (requests[-1]["venue"], requests[-1]["side"]) == ("binance", "sell")
            assert 0.0 <= btc < BTC_LOT
            assert moved["USDT"] < 0  # the round trip's cost, in the quote
        elif policy == "retry":  # the sell once more, at a limit at most 10 bps worse
            assert position["status"] == "repaired"
            first, retry = (r for r in requests if r["side"] == "sell")
            bound = limit_price(first["price_raw"], False, 10.0)
            assert retry["price_raw"] == bound
            (sold,) = (f for f in _of(records, RecordKind.FILL) if f["side"] == "sell")
            assert sold["price_raw"] >= bound
            assert sold["size_raw"] / 1e5 == bought
            assert btc == pytest.approx(-bought * FEE, abs=1e-8)  # hedged: only the buy's fee
            assert _of(records, RecordKind.PNL)
        else:  # hold: the BTC stays, recorded and alerted
            assert position["status"] == "unhedged"
            assert btc == pytest.approx(bought * (1 - FEE), abs=1e-8)
            assert position["open"] == {"BTC": pytest.approx(btc, abs=1e-8)}
            assert f"ALERT: trade {trace} is unhedged: +{btc:.8f} BTC" in caplog.text
            assert not _of(records, RecordKind.PNL)
            assert on.engine.stats.unhedged == 1

    with caplog.at_level(logging.ERROR, logger="arbcore.execution.router"):
        _run(scenario)


TRIANGLE = ("BTC/USDT", "ETH/BTC", "ETH/USDT")
START = "USDT"
LOTS = {"BTC": 1e-5, "ETH": 1e-4}


@pytest.mark.parametrize("policy", ["unwind", "retry", "hold"])
def test_a_triangle_whose_middle_leg_is_refused_follows_the_policy(
    tmp_path: Path, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        def refusing(sim: Any, executions: dict[str, Any]) -> dict[str, Any]:
            return {"binance": LastAndRefused(executions["binance"], sim, "ETH/BTC")}

        async with engine_on_sim(tmp_path, ("binance",), TRIANGLE, policy=policy,
                                 triangular=True, wrap=refusing) as on:  # fmt: skip
            before = await on.balances()
            on.sim.dislocate("binance", "ETH/BTC", -60.0, duration_s=0.05)  # ETH cheap in BTC
            on.sim.step()
            await until(lambda: on.engine.stats.trades >= 1)
            after = await on.balances()
        assert on.sim.faults.injected == {("binance", Fault.REJECT): 1}
        trace, records = _outcome(on)
        (opportunity,) = _of(records, RecordKind.OPPORTUNITY)
        assert [(leg["side"], leg["symbol"]) for leg in opportunity["legs"]] == [
            ("buy", "BTC/USDT"), ("buy", "ETH/BTC"), ("sell", "ETH/USDT")]  # fmt: skip
        refused = [r for r in records if r.kind is RecordKind.VENUE_REPLY and "error" in r.payload]
        assert [(r.symbol, "injected fault" in r.payload["message"]) for r in refused] == [
            ("ETH/BTC", True)]  # fmt: skip
        (position,) = _of(records, RecordKind.POSITION)
        moved = change(before, after)
        assert position["flows"] == pytest.approx(moved, abs=1e-6)  # recorded == the accounts
        others = {asset: moved.get(asset, 0.0) for asset in LOTS}
        requests = _of(records, RecordKind.ORDER_REQUEST)
        if policy == "unwind":  # BTC bought and ETH sold go back to USDT at market
            assert position["status"] == "repaired"
            assert sorted((r["side"], r["symbol"], r["type"]) for r in requests[3:]) == [
                ("buy", "ETH/USDT", "market"), ("sell", "BTC/USDT", "market")]  # fmt: skip
            for asset, amount in others.items():
                assert 0.0 <= amount < LOTS[asset], asset  # flat within a lot
        elif policy == "retry":  # the middle leg once more, at a limit at most 10 bps worse
            assert position["status"] == "repaired"
            (retry,) = requests[3:]
            middle = opportunity["legs"][1]
            assert (retry["symbol"], retry["side"]) == ("ETH/BTC", "buy")
            assert retry["price_raw"] == limit_price(middle["price_raw"], True, 10.0)
            assert retry["size_raw"] == middle["size_raw"]
            for asset, amount in others.items():  # the cycle closed: only lot dust is left
                assert abs(amount) < LOTS[asset], asset
            assert moved[START] > 0
        else:  # hold: BTC bought and ETH sold stay, recorded per asset and alerted
            assert position["status"] == "unhedged"
            assert others["BTC"] > 0.005
            assert others["ETH"] < -0.1
            assert position["open"] == pytest.approx(others, abs=1e-8)
            assert f"ALERT: trade {trace} is unhedged" in caplog.text
            assert not _of(records, RecordKind.PNL)

    with caplog.at_level(logging.ERROR, logger="arbcore.execution.router"):
        _run(scenario)
