"""Binance spot market data: real recordings replay exactly; corruptions are caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arbcore.exchanges.binance import parsing
from arbcore.exchanges.binance.data import BinanceBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import BookEventKind, Instrument
from arbcore.testing.conformance import (
    change_one_size,
    delta_indices,
    load_recording,
    replay_records,
)

pytestmark = pytest.mark.recording

BTCUSDT = "BTC/USDT"


@pytest.fixture(scope="module")
def spot_btc(shared_data: Path):
    return load_recording("binance", [shared_data / "real/binance/spot/btcusdt_20240808.gz"])


def test_binance_hftbacktest_replay_matches_every_book_ticker(spot_btc) -> None:
    report = replay_records(spot_btc).as_json()
    book = report["books"][BTCUSDT]
    # SOURCES.md: zero gaps; the top equals bookTicker whenever its u is the last applied u
    assert (book["updates"], book["snapshots"], book["gaps"], book["resyncs"]) == (3449, 1, 0, 0)
    assert (book["bbo_matches"], book["bbo_mismatches"]) == (564, 0)
    assert (book["best_bid"], book["best_ask"]) == ("61685.99", "61686.00")
    assert report["malformed"] == 0


def test_binance_cryptofeed_capture_syncs_every_symbol(shared_data: Path) -> None:
    folder = shared_data / "real/binance"
    # NKNUSDT's tick became 0.00001 between the instrument capture and the depth capture
    nkn = Instrument.from_text(
        venue="binance", native_symbol="NKNUSDT", base="NKN", quote="USDT",
        tick_size="0.00001", lot_size="0.00000001",
    )  # fmt: skip
    recording = load_recording(
        "binance", [folder / "BINANCE.http.0.0", folder / "BINANCE.ws.1.0"], instruments=[nkn]
    )
    books = replay_records(recording).as_json()["books"]
    # SOURCES.md: NKNUSDT 149 applicable diffs, BLZETH 9, LRCBTC 13, RUNEEUR 1, zero gaps
    assert {symbol: book["updates"] for symbol, book in books.items()} == {
        "BLZ/ETH": 9, "LRC/BTC": 13, "NKN/USDT": 149, "RUNE/EUR": 1,
    }  # fmt: skip
    assert all(book["gaps"] == 0 and book["bbo_mismatches"] == 0 for book in books.values())


def test_binance_dropped_delta_is_a_gap_at_that_message_and_resyncs(spot_btc) -> None:
    deltas = delta_indices(spot_btc, BTCUSDT)
    records = list(spot_btc.records)
    del records[deltas[100]]
    book = replay_records(spot_btc, records).as_json()["books"][BTCUSDT]
    assert (book["gaps"], book["resyncs"]) == (1, 1)
    # 100 diffs came before the hole; the first 2 were already in the snapshot (skipped)
    assert book["updates"] == 98
    assert book["best_bid"] is None  # no second snapshot in the file: the book stays stale


def test_binance_swapped_deltas_are_a_gap(spot_btc) -> None:
    deltas = delta_indices(spot_btc, BTCUSDT)
    records = list(spot_btc.records)
    a, b = deltas[200], deltas[201]
    records[a], records[b] = records[b], records[a]
    book = replay_records(spot_btc, records).as_json()["books"][BTCUSDT]
    assert book["gaps"] == 1


def test_binance_changed_size_is_caught_by_the_book_ticker_cross_check(spot_btc) -> None:
    # Binance spot has no checksum: a changed size at the touch shows against bookTicker
    feed = spot_btc.feed()
    tickers = {}
    for record in spot_btc.records:
        if b"bookTicker" in record.payload:
            (quote,) = feed.parse_ws(record.payload, 0, 0)
            tickers[quote.update_id] = quote
    records = list(spot_btc.records)
    for index in delta_indices(spot_btc, BTCUSDT)[50:]:
        (event,) = feed.parse_ws(records[index].payload, 0, 0)
        quote = tickers.get(event.last_seq)
        touch = [i for i, p in enumerate(event.prices) if quote and p == quote.bid_price]
        if touch and event.sizes[touch[0]]:
            # the size is the quoted decimal right after the price: change that one
            price_text = f'"{quote.bid_price / 100:.8f}"'.encode()
            at = records[index].payload.index(price_text) + len(price_text)
            records[index] = change_one_size(
                records[index], lambda found, at=at: next(m for m in found if m.start() > at)
            )
            break
    else:
        pytest.fail("no diff touches the best bid at a bookTicker's update id")
    book = replay_records(spot_btc, records).as_json()["books"][BTCUSDT]
    assert book["bbo_mismatches"] == 1
    assert book["gaps"] == 0


def test_binance_documentation_depth_update_parses_to_its_values(shared_data: Path) -> None:
    vector = json.loads((shared_data / "vectors/binance/depth_update.json").read_text())
    bnb = Instrument.from_text(
        venue="binance", native_symbol="BNBBTC", base="BNB", quote="BTC",
        tick_size="0.0001", lot_size="1",
    )  # fmt: skip
    frame = json.dumps(vector, indent=2).encode()
    event = parsing.parse_depth_update(frame, SymbolMap.of("binance", [bnb]))
    assert (event.kind, event.first_seq, event.last_seq) == (BookEventKind.DELTA, 157, 160)
    assert event.sides.tolist() == [0, 1]
    assert event.prices.tolist() == [24, 26]  # 0.0024 and 0.0026 at 4 decimals
    assert event.sizes.tolist() == [10, 100]
    assert event.ts_event_ns == 1672515782136 * 1_000_000


def test_binance_scanner_and_validating_path_agree_on_every_recorded_diff(spot_btc) -> None:
    symbols = SymbolMap.of("binance", spot_btc.instruments)
    checked = 0
    for record in spot_btc.records:
        if b"depthUpdate" not in record.payload:
            continue
        fast = parsing.parse_depth_update(record.payload, symbols)
        slow = parsing._validated_depth_update(record.payload, symbols, 0)
        assert (fast.first_seq, fast.last_seq, fast.symbol) == (
            slow.first_seq,
            slow.last_seq,
            slow.symbol,
        )
        assert fast.sides.tolist() == slow.sides.tolist()
        assert fast.prices.tolist() == slow.prices.tolist()
        assert fast.sizes.tolist() == slow.sizes.tolist()
        checked += 1
    assert checked == 3451


def test_binance_feed_ignores_other_streams_and_unknown_symbols(spot_btc) -> None:
    feed = BinanceBookFeed(SymbolMap.of("binance", spot_btc.instruments))
    assert feed.parse_ws(b'{"result":null,"id":1}', 0) == []
    trade = b'{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","p":"1.0"}}'
    assert feed.parse_ws(trade, 0) == []
    other = b'{"e":"depthUpdate","E":1,"s":"NOSUCH","U":1,"u":2,"b":[],"a":[]}'
    assert feed.parse_ws(other, 0) == []
