"""The one-call delta path (``arbcore_ext.deltapath``): what it applies itself, what it hands to
``BookSync`` and what it declines, on Binance-shaped frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from arbcore.exchanges.kucoin.parsing import level2_path
from arbcore.marketdata.sync import BookSync, RangeRule, SeqView
from arbcore.model import BookEvent, BookEventKind
from arbcore_ext.book import ASK, BID, L2Book
from arbcore_ext.deltapath import (
    APPLIED,
    DECLINED,
    DEFER,
    SCANNED,
    SKIPPED,
    UNROUTED,
    VERIFY,
    BookCounters,
    DeltaPath,
    Route,
)


def _path() -> DeltaPath:
    return DeltaPath(
        [Route(b"BTCUSDT", "BTC/USDT", 2, 8)], anchor=b'"depthUpdate"', window=96,
        symbol_key=b"s", first_key=b"U", last_key=b"u", time_key=b"E", time_required=True,
        time_unit_ns=1_000_000, level_keys=((b"b", BID), (b"a", ASK)),
    )  # fmt: skip


def _frame(first: int, last: int, bids: list[list[str]], asks: list[list[str]],
           symbol: str = "BTCUSDT") -> bytes:  # fmt: skip
    data = {"e": "depthUpdate", "E": 1723161265213, "s": symbol, "U": first, "u": last,
            "b": bids, "a": asks}  # fmt: skip
    return json.dumps({"stream": "x@depth", "data": data}, separators=(",", ":")).encode()


def _sync(last: int = 10) -> BookSync:
    sync = BookSync("binance", "BTC/USDT", L2Book(2, 8), RangeRule())
    snapshot = BookEvent(venue="binance", symbol="BTC/USDT", kind=BookEventKind.SNAPSHOT,
                         sides=np.array([BID, ASK], dtype=np.int8),
                         prices=np.array([10000, 10100], dtype=np.int64),
                         sizes=np.array([5, 5], dtype=np.int64), first_seq=last,
                         last_seq=last)  # fmt: skip
    assert sync.on_event(snapshot)
    return sync


def test_a_continuing_delta_is_applied_and_counted_in_one_call() -> None:
    path, sync = _path(), _sync()
    path.attach("BTC/USDT", sync.core, sync)
    frame = _frame(11, 12, [["100.50", "0.25000000"]], [["101.00", "0"]])
    assert path.apply(frame, 777) == APPLIED
    assert sync.book.bbo() == (10050, None)
    assert (sync.book_id, sync.counters.updates, sync.updated_at_ns) == (12, 1, 777)
    assert path.owner is sync
    assert path.symbol == "BTC/USDT"
    assert (path.first_seq, path.last_seq, path.ts_event_ns) == (11, 12, 1723161265213_000_000)


def test_old_deltas_are_skipped_and_gaps_left_to_the_rule_object() -> None:
    path, sync = _path(), _sync()
    path.attach("BTC/USDT", sync.core, sync)
    asked: list[str] = []
    sync.on_resync = lambda s: asked.append(s.symbol)
    assert path.apply(_frame(5, 10, [["1.00", "1"]], []), 0) == SKIPPED
    assert sync.counters.skipped == 1
    assert sync.book.depth(BID) == 1
    status = path.apply(_frame(12, 13, [["1.00", "1"]], []), 0)
    assert status == DEFER  # a gap: decided by RangeRule in Python
    assert not sync.on_path(path, status)
    assert (sync.counters.gaps, sync.counters.resyncs, asked) == (1, 1, ["BTC/USDT"])
    assert sync.fresh_book() is None


def test_a_waiting_book_buffers_what_the_path_scanned() -> None:
    path = _path()
    sync = BookSync("binance", "BTC/USDT", L2Book(2, 8), RangeRule())
    path.attach("BTC/USDT", sync.core, sync)
    status = path.apply(_frame(11, 12, [["100.50", "1"]], []), 5)
    assert status == DEFER
    assert not sync.on_path(path, status)
    snapshot = BookEvent(venue="binance", symbol="BTC/USDT", kind=BookEventKind.SNAPSHOT,
                         sides=np.array([ASK], dtype=np.int8),
                         prices=np.array([10100], dtype=np.int64),
                         sizes=np.array([5], dtype=np.int64), first_seq=10,
                         last_seq=10)  # fmt: skip
    assert sync.on_event(snapshot)  # the buffered delta applies on top of the snapshot
    assert (sync.book.bbo(), sync.book_id, sync.updated_at_ns) == ((10050, 10100), 12, 5)


def test_a_crossed_book_is_applied_then_verified_and_resynced() -> None:
    path, sync = _path(), _sync()
    path.attach("BTC/USDT", sync.core, sync)
    status = path.apply(_frame(11, 11, [["102.00", "1"]], []), 0)
    assert status == VERIFY
    assert not sync.on_path(path, status)
    assert (sync.counters.updates, sync.counters.crossed, sync.counters.resyncs) == (1, 1, 1)
    assert sync.fresh_book() is None


def test_unattached_unknown_and_out_of_shape_frames() -> None:
    path = _path()
    frame = _frame(11, 12, [["100.50", "1"]], [])
    assert path.apply(frame, 0) == UNROUTED  # known symbol, no book yet
    assert path.symbol == "BTC/USDT"
    assert path.levels.arrays()[1].tolist() == [10050]
    assert path.scan(frame) == SCANNED
    declined = [
        _frame(11, 12, [], [], symbol="ETHUSDT"),  # not kept
        frame.replace(b'"E":', b'"F":'),  # no event time
        frame.replace(b'"100.50"', b'"100.505"'),  # finer than the price scale
        frame.replace(b"depthUpdate", b"depthUpdatX"),
        frame.replace(b'"x@depth"', b'"' + b"x" * 100 + b'"'),  # the anchor too far in
        frame[:-10],  # truncated
    ]
    for bad in declined:
        assert path.apply(bad, 0) == DECLINED, bad
        assert path.symbol is None


def test_detach_stops_applying() -> None:
    path, sync = _path(), _sync()
    path.attach("BTC/USDT", sync.core, sync)
    path.detach("BTC/USDT")
    assert path.apply(_frame(11, 12, [["100.50", "1"]], []), 0) == UNROUTED
    assert sync.counters.updates == 0


def test_kucoin_shape_drops_zero_price_rows_and_takes_single_sequences_only() -> None:
    path = level2_path([Route(b"BTC-USDT", "BTC/USDT", 1, 4)])
    frame = (b'{"data":{"sequenceStart":7,"symbol":"BTC-USDT","changes":{"asks":[["0","0","7"],'
             b'["42996.7","0.0023","7"]],"bids":[]},"sequenceEnd":7},"subject":"trade.l2update",'
             b'"type":"message"}')  # fmt: skip
    assert path.scan(frame) == SCANNED
    assert [a.tolist() for a in path.levels.arrays()] == [[ASK], [429967], [23]]
    assert path.ts_event_ns == 0  # no time: 0, as the validating path
    assert path.scan(frame.replace(b'"sequenceEnd":7', b'"sequenceEnd":8')) == DECLINED


def test_age_is_the_receive_time_of_the_last_update() -> None:
    sync = _sync()
    assert sync.age_ns(1_000) is None  # no update carried a receive time yet
    seq = SeqView(first_seq=11, last_seq=11, ts_recv_ns=900)
    path = _path()
    path.scan(_frame(11, 11, [["100.00", "1"]], []))
    assert sync.on_levels(seq, path.levels, "BTC/USDT")
    assert sync.updated_at_ns == 900
    assert sync.age_ns(1_000) == 100
    sync.resync("test")
    assert sync.age_ns(1_000) is None  # a stale book has no age to trust


def test_counters_compare_and_list() -> None:
    counters = BookCounters(updates=3, gaps=1)
    counters.updates += 1
    assert counters == BookCounters(updates=4, gaps=1)
    assert counters != BookCounters()
    assert counters.as_dict()["updates"] == 4
    assert "BookCounters(updates=4" in repr(counters)
    with pytest.raises(TypeError):
        hash(counters)
