"""Triangular arbitrage on one simulated venue: MarketData -> TriangularScanner -> TradeDesk
(risk, audit trail, Router over a ShadowVenue). Run: python examples/triangular_bot.py [s]"""

from __future__ import annotations

import asyncio
import sys
import tempfile

import httpx

from arbcore import L2Book
from arbcore.config.schema import ExecutionConfig, RiskLimits
from arbcore.exchanges.symbols import SymbolMap
from arbcore.execution import Router, ShadowVenue, TradeDesk
from arbcore.marketdata.market import MarketData
from arbcore.risk import RiskEngine
from arbcore.sim import MarketConfig, SimConfig, Simulator
from arbcore.storage import AuditTrail
from arbcore.strategies import TriangularScanner

VENUE, FUNDS, MIN_BPS = "binance", {"USDT": 20_000.0, "BTC": 0.3, "ETH": 5.0}, 1.0
SIM = SimConfig(venues=VENUE, symbols="BTC/USDT,ETH/USDT,ETH/BTC",  # a price strays now and then
                market=MarketConfig(dislocation_rate=0.2))  # fmt: skip


async def main(seconds: float) -> None:
    async with Simulator(SIM) as sim, httpx.AsyncClient(timeout=10.0) as http:
        market, url = MarketData(http), sim.endpoints[VENUE]
        listed = await market.add_venue(VENUE, rest_url=url.rest_url, ws_url=url.ws_url)
        # every cycle from USDT and back (USDT -> BTC -> ETH -> USDT and its reverse), rates
        # after each market's taker fee, at most 500 USDT a trade
        scanner = TriangularScanner(listed.values(), min_profit_bps=MIN_BPS, max_start=500.0)
        shadow = ShadowVenue(VENUE, SymbolMap.of(VENUE, listed.values()),  # paper fills
                             market.books_of(VENUE), FUNDS)  # fmt: skip
        risk = RiskEngine(RiskLimits(), price_usd=market.usd)
        trail = AuditTrail(tempfile.mkdtemp() + "/audit.db")  # hash-chained, append-only
        router = Router({VENUE: shadow}, market.instrument, ExecutionConfig(), audit=trail,
                        risk=risk, usd=market.usd)  # every leg at once, IOC  # fmt: skip
        desk = TradeDesk(router, risk, trail, usd=market.usd, book_age_ms=market.book_age_ms)

        def on_book(venue: str, symbol: str, book: L2Book) -> None:  # every update; never awaits
            # the cycles through this market, re-priced and sized over depth (lots may cut bps)
            found = [o for o in scanner.on_book(symbol, book) if o.profit_bps >= MIN_BPS]
            if found and (decision := desk.offer(found[0])) is not None:  # None: desk busy
                path = " -> ".join(f"{leg.side.value} {leg.symbol}" for leg in found[0].legs)
                print(f"{path}: {found[0].profit_bps:.1f} bps, {decision.rule or 'approved'}")

        market.on_book = on_book
        async with market:
            await asyncio.sleep(seconds)
        results = await desk.finish()
        trail.close()
    print(f"{desk.summary(results)}; audit trail: {trail.verify()} rows, chain intact")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
