"""Bitfinex v2 market data: the real recording replays exactly; corruptions are caught."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import attrs
import pytest

from arbcore.cli_replay import run_replay
from arbcore.exchanges.bitfinex import parsing
from arbcore.exchanges.bitfinex.data import BitfinexBookFeed
from arbcore.exchanges.bitfinex.parsing import MessageKind
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import ReplayReport, VenueFeed, replay
from arbcore.marketdata.records import Record
from arbcore.model import BookEvent, BookEventKind, Instrument
from arbcore.testing.conformance import Recording, delta_indices, load_recording, replay_records
from arbcore_ext.book import ASK, BID, L2Book, LevelBuffer

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


def test_bitfinex_books_use_the_flat_layout_not_a_megabyte_window(session: Recording) -> None:
    report = replay_records(session)
    assert len(report.books) == 7
    for book in report.books.values():
        assert book.sync.book.widths == (0, 0)
        assert book.sync.book.nbytes < 64 * 1024


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
    frame = json.dumps([chan_id, "cs", value, seq + 1], separators=(",", ":")).encode()
    return [*records[: index + 1], attrs.evolve(records[index], payload=frame), *shifted]


def test_bitfinex_checksum_frames_are_checked_and_a_changed_size_fails(session: Recording) -> None:
    feed = session.feed()
    for record in session.records:
        if record.kind == "ws":
            feed.parse_ws(record.payload, 0, record.connection)
    assert isinstance(feed, BitfinexBookFeed)
    (chan_id,) = feed.channels(["tMNABTC"])
    deltas = delta_indices(session, "MNA/BTC")
    index = deltas[50]
    book = replay_records(session, list(session.records)[: index + 1]).books["MNA/BTC"].sync.book
    good = _with_checksum_after(session, index, chan_id, parsing.book_checksum(book))
    books = _books(session, good)
    assert (books["MNA/BTC"]["checksum_ok"], books["MNA/BTC"]["checksum_failed"]) == (1, 0)
    assert all(b["gaps"] == 0 for b in books.values())
    # the same frames with one amount of that update changed: the checksum catches it
    update = good[index]
    match = parsing.PLAIN_FRAME.fullmatch(update.payload)
    assert match is not None
    amount = match.group(4)
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
    update = parsing.parse_channel_message(parsing.decode(frame))
    assert update.kind is MessageKind.UPDATE
    sides, prices, sizes = parsing.level_arrays([update.payload], btc)
    assert (sides.tolist(), prices.tolist(), sizes.tolist()) == ([0], [725450000000], [0])
    match = parsing.PLAIN_FRAME.fullmatch(frame)  # the fast path reads it the same
    assert match is not None
    assert match.groups() == (b"17082", b"7254.5", b"0", b"1", None, None)


# -- the fast delta path (parse_delta_into) against the validating one (parse_ws) ------------------


@pytest.fixture
def _quiet_resyncs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="arbcore.marketdata.sync")


def _without_sequence(records: list[Record]) -> list[Record]:
    """The session as a connection without SEQ_ALL would have sent it: no trailing sequence."""
    return [
        attrs.evolve(r, payload=re.sub(rb",\d+\]$", b"]", r.payload))
        if r.kind == "ws" and r.payload[:1] == b"["
        else r
        for r in records
    ]


def _checksummed(session: Recording, corrupt: bool) -> list[Record]:
    """A correct ``cs`` frame after MNA/BTC's 51st update; ``corrupt``: that update's amount
    changed, so the checksum fails."""
    records = list(session.records)
    index = delta_indices(session, "MNA/BTC")[50]
    feed = session.feed()
    assert isinstance(feed, BitfinexBookFeed)
    for record in records[: index + 1]:
        if record.kind == "ws":
            feed.parse_ws(record.payload, 0, record.connection)
    (chan_id,) = feed.channels(["tMNABTC"])
    book = replay_records(session, records[: index + 1]).books["MNA/BTC"].sync.book
    records = _with_checksum_after(session, index, chan_id, parsing.book_checksum(book))
    if corrupt:
        match = parsing.PLAIN_FRAME.fullmatch(records[index].payload)
        assert match is not None
        start, end = match.span(4)
        payload = records[index].payload
        changed = payload[:start] + payload[start:end].replace(b".", b"1.", 1) + payload[end:]
        records[index] = attrs.evolve(records[index], payload=changed)
    return records


SESSIONS = ("recorded", "dropped", "swapped", "checksum", "checksum failed", "no SEQ_ALL")


def _session(session: Recording, name: str) -> list[Record]:
    records = list(session.records)
    if name == "dropped":
        del records[delta_indices(session, "MNA/BTC")[100]]
    elif name == "swapped":
        deltas = delta_indices(session, "IOT/ETH")
        records[deltas[300]], records[deltas[301]] = records[deltas[301]], records[deltas[300]]
    elif name.startswith("checksum"):
        records = _checksummed(session, corrupt=name == "checksum failed")
    elif name == "no SEQ_ALL":
        records = _without_sequence(records)
    return records


def _parse_ws_only(feed: VenueFeed) -> VenueFeed:
    """The feed without its fast path: replay then reads every frame with parse_ws."""
    return cast(VenueFeed, SimpleNamespace(
        venue=feed.venue, symbols=feed.symbols, parse_ws=feed.parse_ws,
        parse_rest=feed.parse_rest, new_sync=feed.new_sync,
    ))  # fmt: skip


def _outcome(report: ReplayReport) -> dict[str, Any]:
    """Everything a replay leaves: totals, and per book its counters, sequence and levels."""
    books = {}
    for symbol, book in report.books.items():
        sync = book.sync
        levels = [array.tolist() for side in (BID, ASK) for array in sync.book.levels(side)]
        books[symbol] = (sync.counters.as_dict(), sync.book_id, sync.in_sync, levels)
    return {"totals": (report.messages, report.book_events, report.malformed), "books": books}


@pytest.mark.usefixtures("_quiet_resyncs")
@pytest.mark.parametrize("name", SESSIONS)
def test_bitfinex_fast_path_replays_exactly_like_parse_ws(session: Recording, name: str) -> None:
    records = _session(session, name)
    fast = replay(records, session.feed())
    assert _outcome(fast) == _outcome(replay(records, _parse_ws_only(session.feed())))
    counters = {symbol: book.sync.counters for symbol, book in fast.books.items()}
    checksums = sum(c.checksum_ok for c in counters.values())
    failed = sum(c.checksum_failed for c in counters.values())
    gaps = sum(c.gaps for c in counters.values())
    assert (checksums, failed, gaps) == {
        "recorded": (0, 0, 0), "dropped": (0, 0, 6), "swapped": (0, 0, 7),
        "checksum": (1, 0, 0), "checksum failed": (0, 1, 0), "no SEQ_ALL": (0, 0, 0),
    }[name]  # fmt: skip
    if name in ("recorded", "no SEQ_ALL"):
        assert {symbol: c.updates for symbol, c in counters.items()} == UPDATES


@pytest.mark.parametrize("name", SESSIONS)
def test_bitfinex_fast_and_validating_paths_agree_on_every_recorded_update(
    session: Recording, name: str
) -> None:
    """Frame by frame: every frame the fast path takes, parse_ws reads as exactly that one
    delta (levels, sequence, predecessor, checksum). A delta it leaves either breaks the
    connection's sequence (parse_ws reports the gap) or is not in the plain shape (the
    recording has one: ``[204928,[2e-8,0,1],50]``, an exponent)."""
    fast_feed, slow_feed = session.feed(), session.feed()
    assert isinstance(fast_feed, BitfinexBookFeed)
    levels = LevelBuffer(8)
    taken = gaps = unplain = 0
    for record in _session(session, name):
        if record.kind != "ws":
            continue
        events = slow_feed.parse_ws(record.payload, 0, record.connection)
        scanned = fast_feed.parse_delta_into(record.payload, 0, record.connection, levels)
        if scanned is None:
            fast_feed.parse_ws(record.payload, 0, record.connection)  # as replay does
            left = events[-1] if events else None
            if (
                isinstance(left, BookEvent)
                and left.kind is BookEventKind.DELTA
                and (len(left.prices) or left.checksum is not None)
            ):
                if parsing.PLAIN_FRAME.fullmatch(record.payload) is None:
                    unplain += 1
                else:
                    assert left.prev_seq is None  # the gap: nothing before it counts
                    gaps += 1
            continue
        (event,) = events
        assert isinstance(event, BookEvent)
        assert event.kind is BookEventKind.DELTA
        symbol, seq = scanned
        assert (symbol, seq.first_seq, seq.last_seq, seq.prev_seq, seq.checksum) == (
            event.symbol, event.first_seq, event.last_seq, event.prev_seq, event.checksum,
        )  # fmt: skip
        assert [array.tolist() for array in levels.arrays()] == [
            event.sides.tolist(), event.prices.tolist(), event.sizes.tolist(),
        ]  # fmt: skip
        taken += 1
    assert (taken, gaps, unplain) == {
        "recorded": (1592, 0, 1), "dropped": (1590, 1, 1), "swapped": (1589, 3, 1),
        "checksum": (1593, 0, 1), "checksum failed": (1593, 0, 1), "no SEQ_ALL": (1592, 0, 1),
    }[name]  # fmt: skip


def test_bitfinex_fast_path_reads_checksum_frames_and_leaves_the_rest(session: Recording) -> None:
    feed = BitfinexBookFeed(SymbolMap.of("bitfinex", session.instruments))
    levels = LevelBuffer(8)
    feed.parse_ws(b'{"event":"subscribed","channel":"book","chanId":5,"symbol":"tMNABTC"}', 0, 0)
    assert feed.parse_delta_into(b"[5,[0.00002505,1,10],1]", 0, 1, levels) is None  # unknown
    (snapshot,) = feed.parse_ws(b"[5,[[0.00002505,1,10]],1]", 0, 0)
    assert isinstance(snapshot, BookEvent)
    assert snapshot.kind is BookEventKind.SNAPSHOT
    scanned = feed.parse_delta_into(b'[5,"cs",-931816132,2]', 0, 0, levels)
    assert scanned is not None
    symbol, seq = scanned
    assert (symbol, seq.last_seq, seq.prev_seq, seq.checksum, len(levels)) == (
        "MNA/BTC", 2, 1, -931816132, 0,
    )  # fmt: skip
    scanned = feed.parse_delta_into(b"[5,[0.00002506,0,-1],3]", 0, 0, levels)
    assert scanned is not None
    assert scanned[1].prev_seq == 2
    assert [a.tolist() for a in levels.arrays()] == [[ASK], [2506], [0]]  # count 0: delete
    for other in (
        b"[5,[0.00002506,1,-1],5]",  # seq 4 lost: parse_ws turns it into gap events
        b"[5,[0.00002506, 1,-1],4]",  # a space: JSON, but not the plain shape
        b"[5,[0.00002506,1,-1e-8],4]",  # an exponent
        b"[5,[0.00002506,01,-1],4]",  # not JSON: a leading zero
        b"[5,[0.00002506,1,0],4]",  # amount 0 has no side: parse_ws refuses it
        b"[6,[0.00002506,1,-1],4]",  # not a book channel
        b'[5,"hb",4]',
    ):
        assert feed.parse_delta_into(other, 0, 0, levels) is None, other
    # declining changed nothing: the next frame continues from seq 3
    assert feed.parse_delta_into(b"[5,[0.00002507,2,3.5],4]", 0, 0, levels) is not None
    (gap, delta) = feed.parse_ws(b"[5,[0.00002506,1,-1],6]", 0, 0)
    assert isinstance(gap, BookEvent)
    assert isinstance(delta, BookEvent)
    assert (gap.prev_seq, gap.last_seq, len(gap.prices), delta.prev_seq) == (None, 6, 0, None)


def test_bitfinex_feed_maps_channels_per_connection(session: Recording) -> None:
    feed = BitfinexBookFeed(SymbolMap.of("bitfinex", session.instruments))
    subscribed = (
        b'{"event":"subscribed","channel":"book","chanId":5,"symbol":"tMNABTC","prec":"P0"}'
    )
    feed.parse_ws(subscribed, 0, 1)
    assert feed.parse_ws(b"[5,[[0.00002505,1,10]],1]", 0, 2) == []  # other connection
    (event,) = feed.parse_ws(b"[5,[[0.00002505,1,10]],1]", 0, 1)
    assert isinstance(event, BookEvent)
    assert (event.symbol, event.last_seq, event.prices.tolist()) == ("MNA/BTC", 1, [2505])


def test_bitfinex_replay_command_reports_the_recording(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_replay([str(shared_data / RECORDING), "--venue", "bitfinex", "--json"]) == 0
    books = json.loads(capsys.readouterr().out)["books"]
    assert {symbol: book["updates"] for symbol, book in books.items()} == UPDATES


@pytest.mark.parametrize("frame", [b"[5,[0.00002506,1,-1],9223372036854775808]", b'[5,"hb",-1]'])
def test_bitfinex_sequence_number_outside_int64_is_a_malformed_message(
    session: Recording, frame: bytes
) -> None:
    """The channel state counts in int64: a sequence it cannot hold is refused as malformed
    (counted by the feed's caller), never an OverflowError out of the feed."""
    feed = BitfinexBookFeed(SymbolMap.of("bitfinex", session.instruments))
    feed.parse_ws(b'{"event":"subscribed","channel":"book","chanId":5,"symbol":"tMNABTC"}', 0, 0)
    feed.parse_ws(b"[5,[[0.00002505,1,10]],1]", 0, 0)
    with pytest.raises(parsing.MalformedMessage, match="out of range"):
        feed.parse_ws(frame, 0, 0)
    (delta,) = feed.parse_ws(b"[5,[0.00002506,1,-1],2]", 0, 0)  # the state is unchanged
    assert isinstance(delta, BookEvent)
    assert (delta.last_seq, delta.prev_seq) == (2, 1)
