"""Cross-exchange arbitrage on the bundled simulator, every piece wired by hand: live book
clients -> CrossExchangeStrategy -> RiskEngine -> Router over ShadowVenues -> AuditTrail.

Run: python examples/cross_exchange_bot.py [seconds]   (default 5)
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import sys
import tempfile
import time
from collections import Counter

import httpx

from arbcore import L2Book, Opportunity
from arbcore.config.schema import CrossExchangeConfig, ExecutionConfig, RiskLimits
from arbcore.exchanges import fetch_instruments, get_venue
from arbcore.exchanges.symbols import SymbolMap
from arbcore.execution import Router, ShadowVenue, TradeResult
from arbcore.risk import RiskEngine, proposed_trade
from arbcore.sim import MarketConfig, SimConfig, Simulator
from arbcore.storage import AuditTrail, RecordKind
from arbcore.strategies import CrossExchangeStrategy

SYMBOL, FUNDS = "BTC/USDT", {"USDT": 20_000.0, "BTC": 0.3}  # pre-funded on every venue
MARKET = MarketConfig(dislocation_rate=0.2)  # now and then one venue's price strays for a while
SIM = SimConfig(venues="binance,okx,bybit", symbols=SYMBOL, market=MARKET)


async def main(seconds: float) -> None:
    prices = {"USDT": 1.0}  # USD per unit; BTC's follows the books
    updated: dict[tuple[str, str], float] = {}  # (venue, symbol) -> its book's last change
    trades: list[asyncio.Task[TradeResult]] = []
    async with Simulator(SIM) as sim, httpx.AsyncClient(timeout=10.0) as http:
        instruments, clients = {}, {}  # venue -> symbol -> Instrument; venue -> book client
        for venue, url in sim.endpoints.items():  # each venue's own instrument list, over REST
            listed = await fetch_instruments(venue, http, url.rest_url)
            instruments[venue] = {instrument.symbol: instrument for instrument in listed}

        def book_of(venue: str, symbol: str) -> L2Book | None:
            return clients[venue].fresh_book(symbol)  # None while out of sync: never stale

        def book_age_ms(venue: str, symbol: str) -> float:  # risk refuses trades on old books
            return (time.monotonic() - updated[venue, symbol]) * 1e3

        shadows = {}  # paper venues: an order fills against the live book after a 25 ms latency
        for venue, by_symbol in instruments.items():
            symbols = SymbolMap.of(venue, by_symbol.values())
            shadows[venue] = ShadowVenue(venue, symbols, functools.partial(book_of, venue), FUNDS)
        strategy = CrossExchangeStrategy(
            CrossExchangeConfig(min_profit_bps=2.0), instruments, book_of=book_of, usd=prices.get,
            balance_of=lambda venue, asset: shadows[venue].balances.get(asset, 0.0))  # fmt: skip
        risk = RiskEngine(RiskLimits(), price_usd=prices.get)
        trail = AuditTrail(tempfile.mkdtemp() + "/audit.db")
        router = Router(shadows, lambda venue, symbol: instruments[venue][symbol],
                        ExecutionConfig(), audit=trail, risk=risk, usd=prices.get)  # fmt: skip

        def on_book(venue: str, symbol: str, book: L2Book) -> None:  # every update; never awaits
            updated[venue, symbol] = time.monotonic()  # risk checks the books' age
            prices["BTC"] = (book.best_bid_float() + book.best_ask_float()) / 2
            found = strategy.on_book(venue, symbol)  # both directions against every other venue
            if found is None or not all(task.done() for task in trades):
                return  # one trade at a time, so no balance is spent twice
            trace_id = secrets.token_hex(16)  # one W3C trace id follows the trade everywhere
            decision = risk.check(proposed_trade(found, prices.get, trace_id=trace_id,
                                                 book_age_ms=book_age_ms))  # fmt: skip
            now = time.time_ns()
            trail.append(RecordKind.OPPORTUNITY, found, ts_ns=now, trace_id=trace_id)
            trail.append(RecordKind.RISK_DECISION, decision, ts_ns=now, trace_id=trace_id)
            verdict = decision.rule or "approved"
            print(f"{found.venue} {found.size:.4f} BTC at {found.profit_bps:.1f} bps: {verdict}")
            if decision.approved:  # the legs go out in a task: orders never hold up the feed
                trades.append(asyncio.create_task(trade(found, trace_id)))

        async def trade(opportunity: Opportunity, trace_id: str) -> TradeResult:
            return await router.execute(opportunity, trace_id)  # every leg at once, IOC

        for venue, url in sim.endpoints.items():
            clients[venue] = get_venue(venue).client(
                list(instruments[venue].values()), http=http, ws_url=url.ws_url,
                rest_url=url.rest_url, on_book=functools.partial(on_book, venue))  # fmt: skip
            await clients[venue].add_symbols([SYMBOL])
        runners = [asyncio.create_task(client.run()) for client in clients.values()]
        await asyncio.sleep(seconds)
        await asyncio.gather(*(client.close() for client in clients.values()))
        results = await asyncio.gather(*trades)
        await asyncio.gather(*runners, return_exceptions=True)
        trail.close()
    statuses = Counter(result.status.value for result in results)  # repaired: a leg fell short
    pnl = sum(result.realized_usd or 0.0 for result in results)
    print(f"{len(results)} trades {dict(statuses)}, realised {pnl:+.2f} USD")
    print(f"risk refused {dict(risk.refusals)}; audit trail: {trail.verify()} rows, chain intact")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
