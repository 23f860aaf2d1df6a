"""Bitfinex v2 market data: the real recording replays exactly; corruptions are caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbcore.cli_replay import run_replay
from arbcore.exchanges.bitfinex import parsing
from arbcore.exchanges.bitfinex.data import BitfinexBookFeed
from arbcore.exchanges.bitfinex.parsing import MessageKind
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.records import Record
from arbcore.model import Instrument
from arbcore.testing.conformance import Recording, delta_indices, load_recording, replay_records
from arbcore_ext.book import L2Book

pytestmark = pytest.mark.recording

RECORDING = "real/bitfinex/BITFINEX.ws.11.0"
# SOURCES.md: 7 book snapshots + 1,593 book updates; per book as replayed
UPDATES = {
    "BFT/USD": 0, "DOG/USD": 384, "IOT/ETH": 783, "MNA/BTC": 321,
    "ODE/USD": 17, "SNG/USD": 9, "TESTBTC/TESTUSD": 79,
}  # fmt: skip


@pytest.fixture(scope="module")
def session(shared_data: Path) -> Recording:
    return load_recording("bitfinex", [shared_data / RECORDING])


def _books(recording: Recording, records: Any = None) -> dict[str, Any]:
    books: dict[str, Any] = replay_records(recording, records).as_json()["books"]
    return books


def test_bitfinex_recording_replays_every_book_update(session: Recording) -> None:
    report = replay_records(session).as_json()
    assert (report["messages"], report["book_events"], report["malformed"]) == (1693, 1600, 0)
    books = report["books"]
    assert {symbol: book["updates"] for symbol, book in books.items()} == UPDATES
    assert sum(UPDATES.values()) == 1593
    assert all(book["snapshots"] == 1 and book["gaps"] == 0 for book in books.values())
    assert all(book["checksum_ok"] == book["checksum_failed"] == 0 for book in books.values())
    assert (books["IOT/ETH"]["best_bid"], books["IOT/ETH"]["best_ask"]) == (
        "0.00102600", "0.00102720",
    )  # fmt: skip


def test_bitfinex_recording_sequence_runs_1_to_1670(session: Recording) -> None:
    seqs = [
        parsing.parse_channel_message(parsing.decode(r.payload)).seq
        for r in session.records
        if r.kind == "ws" and r.payload[:1] == b"["
    ]
    assert seqs == list(range(1, 1671))


def test_bitfinex_dropped_update_is_a_gap_for_every_book_of_the_connection(
    session: Recording,
) -> None:
    deltas = delta_indices(session, "MNA/BTC")
    records = list(session.records)
    del records[deltas[100]]
    books = _books(session, records)
    # the lost frame could have been any channel's: every book resyncs at the next frame
    # SNG/USD's snapshot comes after the hole: that book starts clean and stays in sync
    hit = {symbol for symbol, book in books.items() if (book["gaps"], book["resyncs"]) == (1, 1)}
    assert hit == set(UPDATES) - {"SNG/USD"}
    assert books["MNA/BTC"]["updates"] == 100
    assert all(books[symbol]["best_bid"] is None for symbol in hit)  # no later snapshots
    assert (books["SNG/USD"]["gaps"], books["SNG/USD"]["updates"]) == (0, 9)


def test_bitfinex_swapped_frames_are_a_gap(session: Recording) -> None:
    deltas = delta_indices(session, "IOT/ETH")
    records = list(session.records)
    a, b = deltas[300], deltas[301]
    records[a], records[b] = records[b], records[a]
    books = _books(session, records)
    assert (books["IOT/ETH"]["gaps"], books["IOT/ETH"]["resyncs"]) == (1, 1)
    assert books["IOT/ETH"]["best_bid"] is None


def _with_checksum_after(session: Recording, index: int, chan_id: int, value: int) -> list[Record]:
    records = list(session.records)
    seq = parsing.parse_channel_message(parsing.decode(records[index].payload)).seq
    assert seq is not None
    # a checksum frame takes the next sequence number: renumber the frames after it
    shifted = []
    for record in records[index + 1 :]:
        if record.kind == "ws" and record.payload[:1] == b"[":
            head, _, number = record.payload.rstrip(b"]").rpartition(b",")
            record = attrs.evolve(
                record, payload=head + b"," + str(int(number) + 1).encode() + b"]"
            )
        shifted.append(record)
    frame = json.dumps([chan_id, "cs", value, seq + 1]).encode()
    return [*records[: index + 1], attrs.evolve(records[index], payload=frame), *shifted]


def test_bitfinex_checksum_frames_are_checked_and_a_changed_size_fails(session: Recording) -> None:
    feed = session.feed()
    for record in session.records:
        if record.kind == "ws":
            feed.parse_ws(record.payload, 0, record.connection)
    chan_id = next(c for c, i in feed._connections[0].books.items() if i.symbol == "MNA/BTC")  # type: ignore[attr-defined]
    deltas = delta_indices(session, "MNA/BTC")
    index = deltas[50]
    book = replay_records(session, list(session.records)[: index + 1]).books["MNA/BTC"].sync.book
    good = _with_checksum_after(session, index, chan_id, parsing.book_checksum(book))
    books = _books(session, good)
    assert (books["MNA/BTC"]["checksum_ok"], books["MNA/BTC"]["checksum_failed"]) == (1, 0)
    assert all(b["gaps"] == 0 for b in books.values())
    # the same frames with one amount of that update changed: the checksum catches it
    update = good[index]
    message = parsing.scan_update(update.payload)
    assert message is not None
    amount = message.payload[2]
    changed = amount[:-1] + (b"1" if amount[-1:] != b"1" else b"2")
    good[index] = attrs.evolve(update, payload=update.payload.replace(amount, changed, 1))
    books = _books(session, good)
    mna = books["MNA/BTC"]
    assert (mna["checksum_ok"], mna["checksum_failed"], mna["resyncs"]) == (0, 1, 1)
    assert mna["best_bid"] is None


def test_bitfinex_checksum_matches_the_documented_cases(shared_data: Path) -> None:
    vector = json.loads((shared_data / "vectors/bitfinex/book_checksum.json").read_text())
    for case in vector["cases"]:
        if case["entry_format"] != "[PRICE,COUNT,AMOUNT]":
            continue  # R0 books hash order ids, not prices: not implemented
        book = L2Book(9, 8)
        for price, _, amount in case["bids"] + case["asks"]:
            book.set_level(0 if amount > 0 else 1, f"{price:.9f}", f"{abs(amount):.8f}")
        assert parsing.checksum_text(book) == case["checksum_input"]
        assert parsing.book_checksum(book) == case["expected_checksum_signed"]


def test_bitfinex_documentation_book_messages_parse(shared_data: Path) -> None:
    vector = json.loads((shared_data / "vectors/bitfinex/ws_book_messages.json").read_text())
    btc = Instrument.from_text(
        venue="bitfinex", native_symbol="tBTCUSD", base="BTC", quote="USD",
        tick_size="0.00000001", lot_size="0.00000001",
    )  # fmt: skip
    snapshot = parsing.parse_channel_message(
        parsing.decode(json.dumps(vector["p0_snapshot"]).encode())
    )
    assert (snapshot.chan_id, snapshot.kind, snapshot.seq) == (17082, MessageKind.SNAPSHOT, None)
    sides, prices, sizes = parsing.level_arrays(snapshot.payload, btc)
    assert (sides.tolist(), prices.tolist(), sizes.tolist()) == ([0], [725470000000], [330000000])
    frame = json.dumps(vector["p0_update_remove_bid_level"], separators=(",", ":")).encode()
    update = parsing.scan_update(frame)
    assert update is not None
    assert update.kind is MessageKind.UPDATE
    sides, prices, sizes = parsing.level_arrays([update.payload], btc)
    assert (sides.tolist(), prices.tolist(), sizes.tolist()) == ([0], [725450000000], [0])


def test_bitfinex_fast_and_validating_paths_agree_on_every_recorded_update(
    session: Recording,
) -> None:
    instrument = session.instruments[0]
    checked = 0
    for record in session.records:
        if record.kind != "ws" or record.payload[:1] != b"[":
            continue
        fast = parsing.scan_update(record.payload)
        slow = parsing.parse_channel_message(parsing.decode(record.payload))
        if fast is None:
            assert slow.kind is not MessageKind.UPDATE or len(slow.payload) != 3
            continue
        assert (fast.chan_id, fast.kind, fast.seq) == (slow.chan_id, slow.kind, slow.seq)
        fast_levels = parsing.level_arrays([fast.payload], instrument)
        slow_levels = parsing.level_arrays([slow.payload], instrument)
        assert [a.tolist() for a in fast_levels] == [a.tolist() for a in slow_levels]
        checked += 1
    assert checked == 1593


def test_bitfinex_feed_maps_channels_per_connection(session: Recording) -> None:
    feed = BitfinexBookFeed(SymbolMap.of("bitfinex", session.instruments))
    subscribed = (
        b'{"event":"subscribed","channel":"book","chanId":5,"symbol":"tMNABTC","prec":"P0"}'
    )
    feed.parse_ws(subscribed, 0, 1)
    assert feed.parse_ws(b"[5,[[0.00002505,1,10]],1]", 0, 2) == []  # other connection
    (event,) = feed.parse_ws(b"[5,[[0.00002505,1,10]],1]", 0, 1)
    assert (event.symbol, event.last_seq, event.prices.tolist()) == ("MNA/BTC", 1, [2505])


def test_bitfinex_replay_command_reports_the_recording(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_replay([str(shared_data / RECORDING), "--venue", "bitfinex", "--json"]) == 0
    books = json.loads(capsys.readouterr().out)["books"]
    assert {symbol: book["updates"] for symbol, book in books.items()} == UPDATES
