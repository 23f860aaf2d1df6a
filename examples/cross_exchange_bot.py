"""Cross-exchange arbitrage on the simulator: MarketData -> CrossExchangeStrategy -> TradeDesk
(risk, audit trail, Router over ShadowVenues). Run: python examples/cross_exchange_bot.py [s]"""

from __future__ import annotations

import asyncio
import sys
import tempfile

import httpx

from arbcore import L2Book
from arbcore.config.schema import CrossExchangeConfig, ExecutionConfig, RiskLimits
from arbcore.exchanges.symbols import SymbolMap
from arbcore.execution import Router, ShadowVenue, TradeDesk
from arbcore.marketdata.market import MarketData
from arbcore.risk import RiskEngine
from arbcore.sim import MarketConfig, SimConfig, Simulator
from arbcore.storage import AuditTrail
from arbcore.strategies import CrossExchangeStrategy

SYMBOL, FUNDS = "BTC/USDT", {"USDT": 20_000.0, "BTC": 0.3}  # pre-funded on every venue
SIM = SimConfig(venues="binance,okx,bybit", symbols=SYMBOL,  # now and then a venue's price strays
                market=MarketConfig(dislocation_rate=0.2))  # fmt: skip


async def main(seconds: float) -> None:
    async with Simulator(SIM) as sim, httpx.AsyncClient(timeout=10.0) as http:
        market = MarketData(http)  # each venue's own instruments over REST, then its books
        for venue, url in sim.endpoints.items():
            await market.add_venue(venue, [SYMBOL], rest_url=url.rest_url, ws_url=url.ws_url)
        shadows = {venue: ShadowVenue(venue, SymbolMap.of(venue, listed.values()),  # paper fills
                                      market.books_of(venue), FUNDS)
                   for venue, listed in market.instruments.items()}  # fmt: skip
        strategy = CrossExchangeStrategy(
            CrossExchangeConfig(min_profit_bps=2.0), market.instruments, book_of=market.book,
            usd=market.usd, balance_of=lambda venue, asset: shadows[venue].balances.get(asset, 0),
        )  # fmt: skip
        risk = RiskEngine(RiskLimits(), price_usd=market.usd)
        trail = AuditTrail(tempfile.mkdtemp() + "/audit.db")  # hash-chained, append-only
        router = Router(shadows, market.instrument, ExecutionConfig(), audit=trail, risk=risk,
                        usd=market.usd)  # IOC legs at once; a failed leg is unwound  # fmt: skip
        desk = TradeDesk(router, risk, trail, usd=market.usd, book_age_ms=market.book_age_ms)

        def on_book(venue: str, symbol: str, book: L2Book) -> None:  # every update; never awaits
            found = strategy.on_book(venue, symbol, book)  # both ways against every other venue
            if found is not None and (decision := desk.offer(found)) is not None:  # None: busy
                print(f"{found.venue}: {found.profit_bps:.1f} bps, {decision.rule or 'approved'}")

        market.on_book = on_book
        async with market:
            await asyncio.sleep(seconds)
        results = await desk.finish()
    trail.close()
    print(f"{desk.summary(results)}; audit trail: {trail.verify()} rows, chain intact")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
