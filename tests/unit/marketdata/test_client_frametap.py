"""The live client's compiled frame handler (:class:`~arbcore_ext.frametap.FrameTap`) against
its Python handler, on the real recordings of every venue.

Each recording is fed to a fresh venue client twice, without sockets: once through what the
connection calls (``client._on_frame``, the tap) and once through the Python handler alone
(``client._handle_frame``, what every frame went through before the tap). Both runs must give
the same book callbacks in the same order (with the same top of book at each), the same counters,
quote checks, buffered deltas and recorded frames, and the same books at the end; the tap must
have taken frames to the callback in C. State changes mid-stream (recorder on and off, books
added and removed, a reconnect: not ready until the server greets it) must be honoured from the
next frame.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import arbcore.exchanges  # noqa: F401  (registers the venues)
from arbcore.exchanges.registry import get_venue
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.recorder import Recorder
from arbcore.marketdata.records import Record, RecordKind
from arbcore.testing.conformance import (
    VENUE_RECORDINGS,
    Recording,
    load_venue_recording,
    replay_records,
)
from arbcore.testing.recordings import shared_data_dir
from arbcore_ext.book import L2Book

Top = tuple[str, int | None, int | None, int | None, int | None]


@attrs.frozen
class Trace:
    """What a run produced: every book callback (symbol and top of book at that moment), and
    the state at the end."""

    callbacks: tuple[Top, ...]
    books: dict[str, tuple[list[int], ...]]
    sync_counters: dict[str, dict[str, int]]
    states: dict[str, Any]
    bbo: dict[str, tuple[int, int]]
    client_counters: tuple[int, ...]
    pending: tuple[str, ...]
    recorded: tuple[tuple[str, int, bytes], ...]
    #: the frames handed in while a recorder was set (what it must have been given)
    fed_recording: tuple[bytes, ...]


@attrs.define
class Calls:
    """How many frames reached each of the client's Python handlers."""

    handle: int = 0
    after_path: int = 0


class MemoryRecorder(Recorder):
    """A recorder that keeps its records in memory (no file)."""

    def __init__(self) -> None:
        self.records = 0
        self.written: list[Record] = []

    def write(
        self,
        kind: RecordKind,
        ts_ns: int,
        payload: bytes,
        connection: int = 0,
        url: str | None = None,
    ) -> None:
        self.written.append(Record(kind, ts_ns, payload, connection, url))
        self.records += 1


@cache
def _recording(venue: str) -> tuple[Recording, tuple[str, ...]]:
    """The venue's recording and the symbols its replay keeps books for."""
    shared = shared_data_dir()
    assert shared is not None
    recording = load_venue_recording(venue, shared)
    return recording, tuple(sorted(replay_records(recording).books))


Op = tuple[str, str]  # (action, symbol or "")


async def _drive(
    venue: str,
    records: Sequence[Record],
    symbols: Sequence[str],
    *,
    tap: bool,
    ops: dict[int, list[Op]] | None = None,
) -> tuple[Trace, Calls]:
    """Feed ``records`` to a new client (``ops`` before the record at their index)."""
    recording, _ = _recording(venue)
    callbacks: list[Top] = []
    calls = Calls()
    recorder = MemoryRecorder()

    def on_book(symbol: str, book: L2Book) -> None:
        callbacks.append(
            (symbol, book.best_bid(), book.best_bid_size(), book.best_ask(), book.best_ask_size())
        )

    def counted(name: str, method: Callable[..., None]) -> Callable[..., None]:
        def call(self: BookClient, *args: Any) -> None:
            setattr(calls, name, getattr(calls, name) + 1)
            method(self, *args)

        return call

    wanted = set(symbols)
    instruments = [i for i in recording.instruments if i.symbol in wanted]
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    make = get_venue(venue).client
    assert make is not None
    with (
        mock.patch.object(BookClient, "_handle_frame", counted("handle", BookClient._handle_frame)),
        mock.patch.object(BookClient, "_after_path", counted("after_path", BookClient._after_path)),
    ):
        client: BookClient = make(instruments, http=http, on_book=on_book)
        handle = client._on_frame if tap else client._handle_frame
    fed_recording: list[bytes] = []

    def feed(frame: bytes, ts_ns: int) -> None:
        if client.recorder is not None:
            fed_recording.append(frame)
        handle(frame, ts_ns)

    def reconnect() -> None:
        """What a new connection does: the books suspended, (the URL provider) not ready until
        greeted, the connect hook (resyncs)."""
        client._on_disconnect()
        if client._ready is not None:
            client._set_ready(False)
        client._on_connect()

    await client.add_symbols(symbols)
    client._on_connect()  # connected before the first record: its first "open" is this one
    welcome = next((r.payload for r in records if r.kind == "ws"), b"")
    opened = False
    for index, record in enumerate(records):
        for action, symbol in (ops or {}).get(index, ()):
            if action == "record":
                client.recorder = recorder
            elif action == "unrecord":
                client.recorder = None
            elif action == "remove":
                await client.remove_symbols([symbol])
            elif action == "add":
                await client.add_symbols([symbol])
            elif action == "reconnect":
                reconnect()
            elif action == "welcome":
                feed(welcome, record.ts_ns)
        if record.kind == "ws":
            feed(record.payload, record.ts_ns)
        elif record.kind == "rest":  # the snapshot a fetch would bring (as _fetch_snapshot)
            for event in client.feed.parse_rest(record.url, record.payload, record.ts_ns):
                sync = client.syncs.get(event.symbol)
                if sync is not None and sync.on_event(event):
                    client._updated(sync.symbol, sync.book)
        elif record.kind == "open":
            if opened:
                reconnect()
            opened = True
    pending = tuple(sorted(client._pending))
    await client.close()
    await asyncio.gather(*client._pending.values(), return_exceptions=True)
    await http.aclose()
    trace = Trace(
        callbacks=tuple(callbacks),
        books={
            s: tuple(a.tolist() for side in (0, 1) for a in sync.book.levels(side))
            for s, sync in client.syncs.items()
        },
        sync_counters={s: sync.counters.as_dict() for s, sync in client.syncs.items()},
        # (deltas buffered while a book waits for its snapshot: frames taken or dropped)
        states={
            s: (sync.state, sync.book_id, len(sync._buffer)) for s, sync in client.syncs.items()
        },
        bbo={s: (check.matches, check.mismatches) for s, check in client.bbo.items()},
        client_counters=attrs.astuple(client.counters),
        pending=pending,
        recorded=tuple((r.kind, r.ts_ns, r.payload) for r in recorder.written),
        fed_recording=tuple(fed_recording),
    )
    return trace, calls


def _run(
    venue: str, records: Sequence[Record], symbols: Sequence[str], **kwargs: Any
) -> tuple[tuple[Trace, Calls], tuple[Trace, Calls]]:
    """The tap's run and the Python handler's."""

    async def both() -> tuple[tuple[Trace, Calls], tuple[Trace, Calls]]:
        fast = await _drive(venue, records, symbols, tap=True, **kwargs)
        slow = await _drive(venue, records, symbols, tap=False, **kwargs)
        return fast, slow

    return asyncio.run(both())


@pytest.mark.parametrize("venue", sorted(VENUE_RECORDINGS))
def test_tap_matches_the_python_handler_on_the_real_recording(
    shared_data: Path, venue: str
) -> None:
    recording, symbols = _recording(venue)
    (fast, fast_calls), (slow, slow_calls) = _run(venue, recording.records, symbols)
    frames = sum(record.kind == "ws" for record in recording.records)
    assert fast == slow
    assert fast.callbacks  # books were updated at all
    # the reference ran every frame in Python; the tap ran some only in C
    assert slow_calls.handle == frames
    assert fast_calls.handle + fast_calls.after_path < frames


def test_quotes_are_read_without_the_python_handler(shared_data: Path) -> None:
    """Binance's bookTickers, most of its frames, go from the tap to the quote reader and the
    books' checks in C; the checks count what the Python handler's do."""
    recording, symbols = _recording("binance")
    (fast, fast_calls), (slow, _) = _run("binance", recording.records, symbols)
    frames = sum(record.kind == "ws" for record in recording.records)
    assert fast.bbo == slow.bbo
    assert sum(matches for matches, _ in fast.bbo.values()) > 100
    assert fast_calls.handle + fast_calls.after_path < frames // 100


def test_a_declined_depth_frame_still_reaches_the_validating_parser(shared_data: Path) -> None:
    """A depth frame the compiled path declines (its event's keys in reverse order: valid, not
    the strict shape) goes on past the quote reader to the validating parse, tap or not."""
    recording, symbols = _recording("binance")
    records, reordered = [], 0
    for record in recording.records:
        if record.kind == "ws" and b"depthUpdate" in record.payload and len(records) % 7 == 0:
            message = json.loads(record.payload)
            message["data"] = dict(reversed(message["data"].items()))
            payload = json.dumps(message, separators=(",", ":")).encode()
            record = attrs.evolve(record, payload=payload)
            reordered += 1
        records.append(record)
    (fast, _), (slow, _) = _run("binance", records, symbols)
    assert reordered > 100
    assert fast == slow
    counted = fast.sync_counters["BTC/USDT"]  # none lost to the reorder:
    assert counted["updates"] > 3_000
    assert counted["gaps"] == 0


#: venues for the state-change properties: quotes checked in C (Binance); a connection that
#: is ready only after the server's welcome, and several books (KuCoin). Records: a prefix.
STATE_VENUES = {"binance": 300, "kucoin": 500}
ACTIONS = ("record", "unrecord", "remove", "add", "reconnect", "welcome")


@st.composite
def _schedules(draw: st.DrawFn) -> tuple[str, dict[int, list[Op]]]:
    """A venue and what happens before which of its records."""
    venue = draw(st.sampled_from(sorted(STATE_VENUES)))
    _, symbols = _recording(venue)
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(0, STATE_VENUES[venue] - 1),
                st.sampled_from(ACTIONS),
                st.sampled_from(symbols[:3]),
            ),
            max_size=6,
        )
    )
    ops: dict[int, list[Op]] = {}
    for index, action, symbol in sorted(steps, key=lambda step: step[0]):
        ops.setdefault(index, []).append((action, symbol))
    return venue, ops


@pytest.mark.usefixtures("shared_data")
@given(_schedules())
def test_state_changes_are_honoured_from_the_next_frame(
    schedule: tuple[str, dict[int, list[Op]]],
) -> None:
    venue, ops = schedule
    recording, symbols = _recording(venue)
    (fast, _), (slow, _) = _run(venue, recording.records[: STATE_VENUES[venue]], symbols, ops=ops)
    assert fast == slow
    assert tuple(payload for kind, _, payload in fast.recorded if kind == "ws") == (
        fast.fed_recording
    )


def test_the_tap_is_bound_only_without_a_recorder_and_when_ready() -> None:
    make = get_venue("kucoin").client
    assert make is not None
    client: BookClient = make([], http=httpx.AsyncClient())
    tap = client._tap
    assert tap is not None
    assert client._on_frame == tap.on_frame
    assert not tap.bound  # KuCoin: not ready before the server's welcome
    client._set_ready(True)
    assert tap.bound
    client.recorder = MemoryRecorder()
    assert not tap.bound
    client.recorder = None
    assert tap.bound
    client._set_ready(False)
    assert not tap.bound
