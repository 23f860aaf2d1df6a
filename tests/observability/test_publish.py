"""The engine's events as they happen: every audit row on ``trades`` exactly as the trail stores
it, trading state on ``system`` at once, tops of book on ``market-data`` coalesced; nothing
built while nobody listens."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

import attrs
import pytest

from arbcore.config import load_config
from arbcore.engine import Engine
from arbcore.model import Instrument, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.observability.events import Event, EventHub, Subscription
from arbcore.observability.publish import QUOTE_INTERVAL_S, STREAM_KINDS, QuoteEvents, TradeEvents
from arbcore.observability.tracing import TraceIdFilter
from arbcore.storage.audit import AuditTrail, RecordKind, read_records
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.fixedpoint import to_text

ROOT = Path(__file__).resolve().parents[2]
BTC = Instrument(venue="binance", symbol="BTC/USDT", native_symbol="BTCUSDT", base="BTC",
                 quote="USDT", price_decimals=2, size_decimals=5, tick_size=1,
                 lot_size=1)  # fmt: skip


def drained(subscription: Subscription) -> list[Event]:
    """Every event queued so far (the subscription is closed: ``get`` ends on None)."""
    subscription.close()

    async def read() -> list[Event]:
        return [event async for event in subscription]

    return asyncio.run(read())


ORDER = Order(venue="binance", symbol="BTC/USDT", client_order_id="o-1", side=OrderSide.BUY,
              type=OrderType.LIMIT, price_raw=6_512_345, size_raw=150_000,
              time_in_force=TimeInForce.IOC, status=OrderStatus.PARTIALLY_FILLED,
              filled_raw=100_000, ts_created_ns=1)  # fmt: skip


# -- audit rows on `trades` ---------------------------------------------------------------------


def test_an_order_row_is_published_as_the_trail_stores_it_with_exact_decimals(
    tmp_path: Path,
) -> None:
    hub = EventHub()
    events = TradeEvents(hub, lambda venue, symbol: BTC if symbol == "BTC/USDT" else None)
    subscription = hub.subscribe(["trades"])
    with AuditTrail(tmp_path / "a.db", synchronous="NORMAL") as audit:
        for kind, payload, symbol in ((RecordKind.VENUE_REPLY, ORDER, "BTC/USDT"),
                                      (RecordKind.VENUE_REPLY, ORDER, "ETH/USDT"),
                                      (RecordKind.STATE, {"state": "halted"}, "")):  # fmt: skip
            seq = audit.append(kind, payload, ts_ns=7, trace_id="t" * 32, venue="binance",
                               symbol=symbol)  # fmt: skip
            events(kind, payload, seq, 7, "t" * 32, "binance", symbol)
        audit.flush()
    known, unknown = drained(subscription)  # the STATE row is not a trades event
    (row, _, _) = read_records(tmp_path / "a.db")
    assert (known.topic, known.kind, known.ts_ns) == ("trades", "order", 7)
    assert known.data["record"] == row.payload
    assert known.data["seq"] == row.seq
    assert (known.data["price"], known.data["size"], known.data["filled"]) == (
        "65123.45", "1.50000", "1.00000")  # fmt: skip
    assert "price" not in unknown.data  # no instrument known: raw integers only


def test_rows_are_rendered_on_the_loop_s_next_turn_in_order() -> None:
    """Not inside the book callback that appended them: its other decisions come first."""
    hub = EventHub()
    events = TradeEvents(hub, lambda venue, symbol: None)
    subscription = hub.subscribe(["trades"])

    async def run() -> tuple[int, list[int]]:
        for seq in (1, 2, 3):
            events(RecordKind.PNL, {"n": seq}, seq, seq, "", "", "")
        during = hub.published
        await asyncio.sleep(0)
        subscription.close()
        return during, [e.data["seq"] async for e in subscription]

    assert asyncio.run(run()) == (0, [1, 2, 3])


def test_nothing_is_serialised_while_nobody_listens() -> None:
    hub = EventHub()
    events = TradeEvents(hub, lambda venue, symbol: None)
    unserialisable = object()  # canonical_json would raise on it
    events(RecordKind.OPPORTUNITY, unserialisable, 1, 1, "", "binance", "")
    assert hub.published == 0


def demo_engine(folder: Path) -> Engine:
    """config/demo.toml (four simulated venues) with its audit trail in ``folder``."""
    config = load_config(ROOT / "config" / "demo.toml", {})
    storage = attrs.evolve(config.system.storage, path=str(folder / "audit.db"),
                           synchronous="NORMAL")  # fmt: skip
    return Engine(attrs.evolve(config, system=attrs.evolve(config.system, storage=storage)))


def test_a_running_engine_streams_every_row_once_in_order_as_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(TraceIdFilter())
    caplog.set_level(logging.DEBUG, logger="arbcore.engine")
    engine = demo_engine(tmp_path)
    trades = engine.events.subscribe(["trades"], maxsize=1_000_000)
    system = engine.events.subscribe(["system"])
    quotes = engine.events.subscribe(["market-data"], maxsize=1_000_000)

    async def run() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        task = asyncio.create_task(engine.run(4.0))
        await asyncio.sleep(3.0)
        engine.risk.kill("test stop")
        await task
        return loop.time() - started

    elapsed = asyncio.run(run())
    streamed = drained(trades)
    rows = {row.seq: row for row in read_records(tmp_path / "audit.db")}
    assert engine.stats.trades > 0
    assert [e.data["seq"] for e in streamed] == sorted(
        seq for seq, row in rows.items() if row.kind in STREAM_KINDS
    )  # every row but STATE, once each, in the trail's order
    for event in streamed:
        row = rows[event.data["seq"]]
        assert event.kind == STREAM_KINDS[row.kind]
        assert (event.ts_ns, event.data["trace_id"], event.data["venue"], event.data["symbol"]) == (
            row.ts_ns, row.trace_id, row.venue, row.symbol)  # fmt: skip
        assert event.data["record"] == row.payload
        if event.kind == "order" and "price_raw" in row.payload:
            decimals = engine.instruments[row.venue][row.symbol].price_decimals
            assert event.data["price"] == to_text(row.payload["price_raw"], decimals)
    assert {"opportunity", "decision", "order", "fill", "position", "pnl"} <= {
        e.kind for e in streamed
    }
    # each trade's task runs in its trace: its closing log line carries the id
    closing = [r for r in caplog.records if r.getMessage().startswith("trade ")
               and r.name == "arbcore.engine"]  # fmt: skip
    assert len(closing) == engine.stats.trades
    assert all(getattr(r, "trace_id", "") == r.args[0] for r in closing)  # type: ignore[index]

    (halted,) = [e for e in drained(system) if e.kind == "state"]
    assert halted.data == {"state": "halted", "reason": "test stop"}

    # tops of book: every book quoted, exact text, coalesced to one per book per interval
    published = drained(quotes)
    per_book = Counter((e.data["venue"], e.data["symbol"]) for e in published)
    assert len(per_book) == 12  # four venues, three markets
    assert max(per_book.values()) <= elapsed / QUOTE_INTERVAL_S + 2
    assert sum(per_book.values()) < engine.stats.book_updates
    assert all(e.data["bid"] < e.data["ask"] and "e" not in e.data["bid"] for e in published
               if e.data["symbol"] == "BTC/USDT")  # fmt: skip


# -- tops of book on `market-data` --------------------------------------------------------------


def _book(bid: int, ask: int) -> L2Book:
    book = L2Book(2, 5)
    book.set_level(BID, bid, 100_000)
    book.set_level(ASK, ask, 200_000)
    return book


def test_quotes_coalesce_to_the_latest_top_and_skip_what_did_not_change() -> None:
    hub = EventHub()
    books: dict[tuple[str, str], L2Book | None] = {("okx", "BTC/USDT"): _book(100, 201),
                                                    ("okx", "ETH/USDT"): None}  # fmt: skip
    quotes = QuoteEvents(hub, lambda venue, symbol: books[venue, symbol], interval_s=0.01)
    subscription = hub.subscribe(["market-data"])

    async def run() -> None:
        book = books["okx", "BTC/USDT"]
        assert book is not None
        for price in range(100, 200):  # a hundred updates within one interval
            book.set_level(BID, price, 100_000)
            quotes.changed("okx", "BTC/USDT")
            quotes.changed("okx", "ETH/USDT")  # out of sync: never quoted
        await asyncio.sleep(0.05)
        quotes.changed("okx", "BTC/USDT")  # the same top again: nothing new to say
        await asyncio.sleep(0.05)

    asyncio.run(run())
    (quote,) = drained(subscription)
    assert quote.data == {"venue": "okx", "symbol": "BTC/USDT", "bid": "1.99", "ask": "2.01",
                          "bid_size": "1.00000", "ask_size": "2.00000"}  # fmt: skip


def test_no_quote_is_built_when_the_last_listener_left_before_the_interval() -> None:
    hub = EventHub()
    calls: list[str] = []

    def book_of(venue: str, symbol: str) -> L2Book:
        calls.append(symbol)
        return _book(100, 101)

    quotes = QuoteEvents(hub, book_of, interval_s=0.01)
    subscription = hub.subscribe(["market-data"])

    async def run() -> None:
        quotes.changed("okx", "BTC/USDT")
        subscription.close()
        await asyncio.sleep(0.05)

    asyncio.run(run())
    assert calls == []
    assert hub.published == 0


def test_an_engine_nobody_listens_to_publishes_nothing(tmp_path: Path) -> None:
    engine = demo_engine(tmp_path)
    engine.events.subscribe(["system"])  # listened to, but not `trades` nor `market-data`
    asyncio.run(engine.run(2.0))
    assert engine.stats.trades > 0
    assert engine.events.published == 0  # (and no state change happened)
