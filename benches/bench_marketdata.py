"""Parse + apply per venue message, from raw frame bytes to an updated book, side by side.

arbcore: the venue feed's compiled delta path (``feed.delta_path.apply``: strict scanner, the
venue's sequence rule, the book update and its counters in one call per frame; the rare
statuses go to ``BookSync.on_path``), exactly what the live client and ``arbcore replay`` run.
Peer: the pipeline a cryptofeed-style user has: ``json.loads``, ``Decimal`` for every price and
size, bmoscon's ``order_book.OrderBook``. Both start from the same REST snapshot and must end
with the same top of book.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from typing import Any

import pytest
from peers import bench_calls

from arbcore.exchanges.binance.data import BinanceBookFeed
from arbcore.exchanges.registry import VENUE_NAMES
from arbcore.marketdata.feed import replay
from arbcore.testing.conformance import (
    Recording,
    load_recording,
    load_venue_recording,
)
from arbcore.testing.recordings import shared_data_dir
from arbcore_ext.deltapath import APPLIED, SKIPPED

GROUP = "market data: Binance BTCUSDT depth frame -> applied book"
VENUE_GROUP = "market data: every venue's recording replayed, per message"


@pytest.fixture(scope="module")
def binance() -> Recording:
    root = shared_data_dir()
    if root is None:
        pytest.skip("the real recordings (../shared/data or $ARBCORE_SHARED_DATA) are absent")
    return load_recording("binance", [root / "real/binance/spot/btcusdt_20240808.gz"])


def _frames(recording: Recording) -> tuple[bytes, list[bytes]]:
    snapshot = next(r.payload for r in recording.records if r.kind == "rest")
    frames = [r.payload for r in recording.records if b"depthUpdate" in r.payload]
    return snapshot, frames


def _arbcore(recording: Recording) -> tuple[Any, Any]:
    snapshot, frames = _frames(recording)
    feed = recording.feed()
    assert isinstance(feed, BinanceBookFeed)
    instrument = feed.symbols.by_symbol["BTC/USDT"]
    path = feed.delta_path
    state: dict[str, Any] = {}

    def setup() -> None:
        sync = feed.new_sync(instrument)
        (event,) = feed.parse_rest("depth?symbol=BTCUSDT", snapshot, 0)
        sync.on_event(event)
        path.attach(instrument.symbol, sync.core, sync)
        state["sync"] = sync

    def loop() -> None:
        apply, on_path = path.apply, state["sync"].on_path
        for frame in frames:
            status = apply(frame, 0)
            if status != APPLIED and status != SKIPPED:  # rare: gaps, crossed, waiting
                on_path(path, status)

    def top() -> tuple[str, str]:
        book = state["sync"].book
        bid, ask = book.bbo()
        return f"{bid / 100:.2f}", f"{ask / 100:.2f}"

    return (setup, loop), top


def _cryptofeed_style(recording: Recording) -> tuple[Any, Any]:
    from order_book import OrderBook

    snapshot, frames = _frames(recording)
    state: dict[str, Any] = {}

    def setup() -> None:
        book = OrderBook(max_depth=0)
        body = json.loads(snapshot)
        for price, size in body["bids"]:
            book.bids[Decimal(price)] = Decimal(size)
        for price, size in body["asks"]:
            book.asks[Decimal(price)] = Decimal(size)
        state["book"], state["id"] = book, body["lastUpdateId"]

    def loop() -> None:
        book = state["book"]
        last = state["id"]
        for frame in frames:
            data = json.loads(frame)["data"]
            if data["u"] <= last:
                continue
            last = data["u"]
            for side, key in ((book.bids, "b"), (book.asks, "a")):
                for price_text, size_text in data[key]:
                    price, size = Decimal(price_text), Decimal(size_text)
                    if size:
                        side[price] = size
                    elif price in side:
                        del side[price]

    def top() -> tuple[str, str]:
        book = state["book"]
        return f"{book.bids.index(0)[0]:.2f}", f"{book.asks.index(0)[0]:.2f}"

    return (setup, loop), top


CONTENDERS = {"arbcore feed fast path": _arbcore, "cryptofeed-style (json+Decimal+order-book)":
              _cryptofeed_style}  # fmt: skip


@pytest.mark.parametrize("contender", list(CONTENDERS))
def test_parse_and_apply(benchmark: Any, binance: Recording, contender: str) -> None:
    if contender.startswith("cryptofeed"):
        pytest.importorskip("order_book")
    (setup, loop), top = CONTENDERS[contender](binance)
    _, frames = _frames(binance)
    bench_calls(
        benchmark, loop, len(frames), group=GROUP, contender=contender, unit="message",
        baseline="cryptofeed-style (json+Decimal+order-book)", setup=setup,
        target_ns=1500.0 if contender.startswith("arbcore") else None,
    )  # fmt: skip
    setup()
    loop()
    assert top() == ("61685.99", "61686.00")  # both end on the recording's last top


# -- every venue: replay of its real recording vs the same messages through json+Decimal+books --


def _decimal_pipeline(payloads: list[bytes]) -> Any:
    """The least a json + Decimal + order-book stack must do with the same frames.

    Decode each frame (gunzip for HTX), parse it with ``json``, and put every ``[price, size,
    ...]`` row it holds into a bmoscon book as Decimals (bids for keys starting with "b", else
    asks). No sequencing, no checksums: a lower bound on that stack's cost, so the ratio to
    arbcore (which does all of it) is conservative.
    """
    from order_book import OrderBook

    def rows(node: Any, key: str, book: Any) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                rows(value, name, book)
        elif isinstance(node, list):
            if node and all(isinstance(r, list) and len(r) >= 2 for r in node):
                side = book.bids if key[:1].lower() == "b" else book.asks
                for row in node:
                    if isinstance(row[0], str | int | float) and isinstance(
                        row[1], str | int | float
                    ):
                        price, size = Decimal(str(row[0])), Decimal(str(row[1]))
                        if size:
                            side[price] = abs(size)
                        elif price in side:
                            del side[price]
            else:
                for item in node:
                    rows(item, key, book)

    def loop() -> None:
        book = OrderBook(max_depth=0)
        for payload in payloads:
            if payload[:2] == b"\x1f\x8b":
                payload = gzip.decompress(payload)
            try:
                rows(json.loads(payload), "", book)
            except ValueError:
                continue

    return loop


@pytest.mark.parametrize("venue", VENUE_NAMES)
@pytest.mark.parametrize("contender", ["arbcore replay", "json+Decimal+order-book (lower bound)"])
def test_venue_replay(benchmark: Any, venue: str, contender: str) -> None:
    root = shared_data_dir()
    if root is None:
        pytest.skip("the real recordings (../shared/data or $ARBCORE_SHARED_DATA) are absent")
    recording = load_venue_recording(venue, root)
    messages = [r for r in recording.records if r.kind in ("ws", "rest")]
    state: dict[str, Any] = {}
    setup = None
    if contender.startswith("arbcore"):

        def setup() -> None:  # a fresh feed per round (feeds keep per-connection state), untimed
            state["feed"] = recording.feed()

        def loop() -> Any:
            return replay(messages, state["feed"])
    else:
        pytest.importorskip("order_book")
        loop = _decimal_pipeline([r.payload for r in messages])
    bench_calls(
        benchmark, loop, len(messages), group=f"{VENUE_GROUP}: {venue}", contender=contender,
        unit="message", baseline="json+Decimal+order-book (lower bound)", setup=setup,
    )  # fmt: skip
    if setup is not None:
        setup()
        report = loop().as_json()
        assert report["malformed"] == 0
        assert all(book["gaps"] == 0 for book in report["books"].values())
