"""MarketData over the simulator: several venues' books, their age and dollar prices."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from arbcore.errors import ConfigError
from arbcore.marketdata.market import MarketData
from arbcore.sim import SimConfig, Simulator
from arbcore.testing.simwire import until
from arbcore_ext.book import L2Book

SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")


def test_books_of_several_venues_their_age_and_dollar_prices() -> None:
    seen: list[tuple[str, str]] = []
    usd_seen: list[float | None] = []

    async def run() -> MarketData:
        sim_config = SimConfig(venues="binance,okx", symbols=SYMBOLS)
        async with Simulator(sim_config) as sim, httpx.AsyncClient(timeout=10.0) as http:
            market = MarketData(http)
            for venue, url in sim.endpoints.items():
                chosen = await market.add_venue(venue, SYMBOLS, rest_url=url.rest_url,
                                                    ws_url=url.ws_url)  # fmt: skip
                assert sorted(chosen) == sorted(SYMBOLS)

            def on_book(venue: str, symbol: str, book: L2Book) -> None:
                assert market.book(venue, symbol) is book  # only in-sync books arrive
                seen.append((venue, symbol))
                if symbol == "BTC/USDT":
                    usd_seen.append(market.usd("BTC"))

            market.on_book = on_book
            async with market:
                await until(lambda: all(market.book(v, s) for v in market.venues
                                        for s in SYMBOLS), timeout_s=10.0)  # fmt: skip
                # the price follows the book
                await until(lambda: len(set(usd_seen)) >= 3, timeout_s=10.0)
                await asyncio.sleep(2.0)  # the books keep changing (a market step each 100 ms)
                for venue in market.venues:  # their age counts from the last frame, not the first
                    assert 0 <= market.book_age_ms(venue, "BTC/USDT") < 1_000
                assert market.book_age_ms("binance", "SOL/USDT") == math.inf  # no such book
                btc = market.usd("BTC")
                book = market.book(market.venues[0], "BTC/USDT")
                assert book is not None
                bid, ask = book.bbo()
                assert bid is not None
                assert ask is not None
                assert btc == pytest.approx((bid + ask) / 2 / 100, rel=1e-12)
                assert market.usd("USDT") == 1.0
                assert market.usd("DOGE") is None
            return market

    market = asyncio.run(run())
    assert {venue for venue, _ in seen} == {"binance", "okx"}
    assert {symbol for _, symbol in seen} == set(SYMBOLS)
    assert market.venues == ("binance", "okx")
    assert market.instrument("okx", "ETH/BTC").quote == "BTC"


def test_a_venue_that_lists_none_of_the_symbols_is_refused_clearly() -> None:
    async def run() -> None:
        sim_config = SimConfig(venues="binance", symbols=SYMBOLS)
        async with Simulator(sim_config) as sim, httpx.AsyncClient(timeout=10.0) as http:
            market = MarketData(http)
            url = sim.endpoints["binance"]
            await market.add_venue("binance", ["NOPE/USDT"], rest_url=url.rest_url,
                                       ws_url=url.ws_url)  # fmt: skip

    with pytest.raises(ConfigError, match="binance lists none of NOPE/USDT"):
        asyncio.run(run())


def test_a_venue_that_cannot_list_its_instruments_is_refused_clearly() -> None:
    async def run() -> None:
        async with httpx.AsyncClient(timeout=2.0) as http:
            await MarketData(http).add_venue("okx", rest_url="http://127.0.0.1:9")

    with pytest.raises(ConfigError, match="okx: no instrument list"):
        asyncio.run(run())
