"""Triangular arbitrage on one simulated venue, every piece wired by hand: the live book client
-> TriangularScanner -> RiskEngine -> Router over a ShadowVenue -> AuditTrail.

Run: python examples/triangular_bot.py [seconds]   (default 5)
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import time
from collections import Counter

import httpx

from arbcore import L2Book, Opportunity
from arbcore.config.schema import ExecutionConfig, RiskLimits
from arbcore.exchanges import fetch_instruments, get_venue
from arbcore.exchanges.symbols import SymbolMap
from arbcore.execution import Router, ShadowVenue, TradeResult
from arbcore.risk import RiskEngine, proposed_trade
from arbcore.sim import MarketConfig, SimConfig, Simulator
from arbcore.storage import AuditTrail, RecordKind
from arbcore.strategies import TriangularScanner

VENUE, FUNDS, MIN_BPS = "binance", {"USDT": 20_000.0, "BTC": 0.3, "ETH": 5.0}, 1.0
MARKET = MarketConfig(dislocation_rate=0.2)  # now and then one market's price strays for a while
SIM = SimConfig(venues=VENUE, symbols="BTC/USDT,ETH/USDT,ETH/BTC", market=MARKET)


async def main(seconds: float) -> None:
    updated: dict[tuple[str, str], float] = {}  # (venue, symbol) -> its book's last change
    trades: list[asyncio.Task[TradeResult]] = []
    async with Simulator(SIM) as sim, httpx.AsyncClient(timeout=10.0) as http:
        url = sim.endpoints[VENUE]  # the venue's own instrument list, over REST
        listed = {i.symbol: i for i in await fetch_instruments(VENUE, http, url.rest_url)}
        # every cycle from USDT and back (USDT -> BTC -> ETH -> USDT and its reverse), rates
        # after each market's taker fee, at most 500 USDT a trade
        scanner = TriangularScanner(listed.values(), min_profit_bps=MIN_BPS, max_start=500.0)
        symbols = SymbolMap.of(VENUE, listed.values())
        shadow = ShadowVenue(VENUE, symbols, lambda symbol: client.fresh_book(symbol), FUNDS)
        risk = RiskEngine(RiskLimits(), price_usd=scanner.usd_price)
        trail = AuditTrail(tempfile.mkdtemp() + "/audit.db")
        router = Router({VENUE: shadow}, lambda venue, symbol: listed[symbol], ExecutionConfig(),
                        audit=trail, risk=risk, usd=scanner.usd_price)  # fmt: skip

        def on_book(symbol: str, book: L2Book) -> None:  # every update; never awaits
            updated[VENUE, symbol] = time.monotonic()  # risk checks the books' age
            # only the cycles through this market are re-priced, then sized over depth; lot
            # rounding can leave a sized cycle below the rate its top of book promised
            found = [o for o in scanner.on_book(symbol, book) if o.profit_bps >= MIN_BPS]
            if not found or not all(task.done() for task in trades):
                return  # one trade at a time, so no balance is spent twice
            best, trace_id = found[0], secrets.token_hex(16)
            decision = risk.check(proposed_trade(best, scanner.usd_price, trace_id=trace_id,
                                                 book_age_ms=book_age_ms))  # fmt: skip
            now = time.time_ns()
            trail.append(RecordKind.OPPORTUNITY, best, ts_ns=now, trace_id=trace_id)
            trail.append(RecordKind.RISK_DECISION, decision, ts_ns=now, trace_id=trace_id)
            path = " -> ".join(f"{leg.side.value} {leg.symbol}" for leg in best.legs)
            verdict = decision.rule or "approved"
            print(f"{path}: {best.size:.2f} USDT at {best.profit_bps:.1f} bps: {verdict}")
            if decision.approved:  # the legs go out in a task: orders never hold up the feed
                trades.append(asyncio.create_task(trade(best, trace_id)))

        async def trade(opportunity: Opportunity, trace_id: str) -> TradeResult:
            return await router.execute(opportunity, trace_id)  # every leg at once, IOC

        def book_age_ms(venue: str, symbol: str) -> float:  # risk refuses trades on old books
            return (time.monotonic() - updated[venue, symbol]) * 1e3

        client = get_venue(VENUE).client(list(listed.values()), http=http, on_book=on_book,
                             ws_url=url.ws_url, rest_url=url.rest_url)  # fmt: skip
        await client.add_symbols(list(listed))
        runner = asyncio.create_task(client.run())
        await asyncio.sleep(seconds)
        await client.close()
        results = await asyncio.gather(*trades)
        await asyncio.gather(runner, return_exceptions=True)
        trail.close()
    statuses = Counter(result.status.value for result in results)  # repaired: a leg fell short
    pnl = sum(result.realized_usd or 0.0 for result in results)
    print(f"{len(results)} trades {dict(statuses)}, realised {pnl:+.2f} USD")
    print(f"risk refused {dict(risk.refusals)}; audit trail: {trail.verify()} rows, chain intact")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
