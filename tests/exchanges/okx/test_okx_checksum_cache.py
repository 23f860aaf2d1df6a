"""OKX's checksum verified in C through the book's top cache gives the validating rule's verdict.

Random sessions of one BTC-USDT book (a snapshot of up to 40 levels a side, then updates of
1-4 levels around the top 25's edge, each carrying the CRC32 of ``parsing.checksum_text`` of
the reference book after it, or one carrying a wrong value): the compiled path says APPLIED to
every right checksum (a stale cache would say VERIFY) and VERIFY to the wrong one, and a replay
through it ends with the counters (ok, failed, resyncs) of a replay through ``parse_ws`` alone.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from arbcore.exchanges.okx import parsing
from arbcore.exchanges.okx.data import OKXBookFeed
from arbcore.exchanges.symbols import SymbolMap
from arbcore.marketdata.feed import replay
from arbcore.marketdata.records import Record
from arbcore.model import BookEvent, Instrument
from arbcore_ext.book import L2Book
from arbcore_ext.deltapath import APPLIED, VERIFY
from tests.exchanges.kraken.test_kraken_market_data import _parse_ws_only

BTC = Instrument.from_text(
    venue="okx", native_symbol="BTC-USDT", base="BTC", quote="USDT",
    tick_size="0.1", lot_size="0.00000001",
)  # fmt: skip
MID = 300_000  # 30000.0 at one price place
_SIZES = st.sampled_from([0, 0, 1, 10**8, 123456789, 5 * 10**9])


def _text(raw: int, decimals: int) -> str:
    """OKX's shortest decimal of ``raw`` (no float anywhere)."""
    whole, fraction = divmod(raw, 10**decimals)
    text = f"{whole}.{fraction:0{decimals}d}".rstrip("0").rstrip(".")
    return text


def _rows(levels: list[tuple[int, int]]) -> list[list[str]]:
    return [[_text(price, 1), _text(size, 8), "0", "1"] for price, size in levels]


def _push(action: str, seq: int, asks: list[tuple[int, int]], bids: list[tuple[int, int]],
          checksum: int) -> bytes:  # fmt: skip
    entry = {"asks": _rows(asks), "bids": _rows(bids), "ts": "1597026383085",
             "checksum": checksum, "prevSeqId": seq - 1, "seqId": seq}  # fmt: skip
    message = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action, "data": [entry]}
    return json.dumps(message, separators=(",", ":")).encode()


def _okx_crc(book: L2Book) -> int:
    """The validating rule: CRC32 of ``checksum_text`` as a signed 32-bit integer."""
    crc = zlib.crc32(parsing.checksum_text(book).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


@st.composite
def _session(draw: st.DrawFn) -> tuple[list[Record], int, bool]:
    """A snapshot and random updates, each with the validating rule's checksum of the reference
    book after it: the records, how many updates come before the one whose checksum is wrong
    (all of them when none is), and whether one is."""
    book = L2Book(BTC.price_decimals, BTC.size_decimals)
    levels = st.integers(1, 10**10)
    bids = draw(st.lists(st.tuples(st.integers(MID - 40, MID), levels), max_size=40,
                         unique_by=lambda level: level[0]))  # fmt: skip
    asks = draw(st.lists(st.tuples(st.integers(MID + 1, MID + 41), levels), max_size=40,
                         unique_by=lambda level: level[0]))  # fmt: skip
    for side, rows in ((0, bids), (1, asks)):
        for price, size in rows:
            book.set_level(side, price, size)
    records = [Record("ws", 1, _push("snapshot", 1, asks, bids, 0))]
    wrong = draw(st.integers(-1, 30))
    for n in range(draw(st.integers(1, 30))):
        prices = st.integers(MID - 45, MID + 46)
        changes = draw(st.lists(st.tuples(prices, _SIZES), min_size=1, max_size=4,
                                unique_by=lambda change: change[0]))  # fmt: skip
        mine: list[list[tuple[int, int]]] = [[], []]
        for price, size in changes:
            side = 0 if price <= MID else 1
            mine[side].append((price, size))
            book.set_level(side, price, size)
        checksum = _okx_crc(book)
        if checksum == 0:
            return records, n, False  # the empty book's: a 0 reads as no checksum
        if n == wrong:
            checksum = (checksum ^ 1) or (checksum ^ 2)  # 0 would read as no checksum
        records.append(Record("ws", 2 + n, _push("update", 2 + n, mine[1], mine[0], checksum)))
        if n == wrong:
            return records, n, True
    return records, len(records) - 1, False


@given(session=_session())
def test_okx_checksum_cache_gives_the_validating_rules_verdict(
    session: tuple[list[Record], int, bool],
) -> None:
    records, good, wrong = session
    feed = OKXBookFeed(SymbolMap.of("okx", [BTC]))
    sync = feed.new_sync(BTC)
    (snapshot,) = feed.parse_ws(records[0].payload, 1)
    assert isinstance(snapshot, BookEvent)
    assert sync.on_event(snapshot)
    feed.delta_path.attach(BTC.symbol, sync.core, sync)
    statuses = [feed.delta_path.apply(record.payload) for record in records[1:]]
    assert statuses == [APPLIED] * good + [VERIFY] * wrong
    assert (sync.counters.checksum_ok, sync.counters.updates) == (good, good + wrong)
    fast = replay(records, OKXBookFeed(SymbolMap.of("okx", [BTC])))
    slow = replay(records, _parse_ws_only(OKXBookFeed(SymbolMap.of("okx", [BTC]))))
    counters: Any = fast.books[BTC.symbol].sync.counters
    assert (counters.checksum_ok, counters.checksum_failed) == (good, int(wrong))
    assert counters.resyncs == int(wrong)
    assert counters.as_dict() == slow.books[BTC.symbol].sync.counters.as_dict()
