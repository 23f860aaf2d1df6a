"""Bitfinex's per-connection channel state (``ChannelState``) against a plain-dict model.

The state keeps each channel's route and last message number in C records the compiled reader
finds by the channel id's value; ``book_last`` is their Python view. Any sequence of subscribes,
unsubscribes, counted frames and gaps must leave it exactly as the dicts it replaced would be
(same keys, values and order: ``_gap`` emits its events in that order), and the compiled reader
must see a channel as a book exactly when ``books`` has it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.model import Instrument
from arbcore_ext.bitfinexpath import ChannelPath
from arbcore_ext.deltapath import DECLINED, SCANNED, Route

_INSTRUMENT = Instrument.from_text(
    venue="bitfinex", native_symbol="tA", base="A", quote="B", tick_size="0.01", lot_size="0.001"
)
#: ids a frame can spell and ids it cannot (leading zero, sign, 19 digits): the latter are books
#: only the validating path can see
_CHANS = [b"5", b"7", b"12", b"05", b"-3", b"1234567890123456789"]

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(_CHANS)),
        st.tuples(st.just("drop"), st.sampled_from(_CHANS)),
        st.tuples(st.just("count"), st.sampled_from([None, *_CHANS]), st.booleans()),
        st.tuples(st.just("gap")),
    ),
    max_size=40,
)


class _Model:
    """The dicts ChannelState kept before its C records (the reference)."""

    def __init__(self) -> None:
        self.books: dict[bytes, Any] = {}
        self.book_last: dict[bytes, int] = {}
        self.counter = 0
        self.last: int | None = None

    def count(self, seq: int | None, chan: bytes | None) -> tuple[int, int | None]:
        self.counter += 1
        self.last = seq
        number = seq if seq is not None else self.counter
        if chan is None:
            return number, None
        prev = self.book_last.get(chan)
        self.book_last[chan] = number
        return number, prev

    def continues(self, seq: int | None) -> bool:
        if not self.book_last:
            return True
        if self.last is None:
            return seq is None
        return seq is not None and seq == self.last + 1


@given(ops=_ops)
def test_channel_state_keeps_what_the_dicts_kept(ops: list[tuple[Any, ...]]) -> None:
    path = ChannelPath([Route(b"tA", "A/B", 2, 3)])
    state, model = path.state(0), _Model()
    for op in ops:
        if op[0] == "add":
            state.add_book(op[1], _INSTRUMENT)
            model.books[op[1]] = _INSTRUMENT
        elif op[0] == "drop":
            state.drop_book(op[1])
            model.books.pop(op[1], None)
            model.book_last.pop(op[1], None)
        elif op[0] == "count":
            seq = (model.last or 0) + 1 if op[2] else None
            assert state.count_frame(seq, op[1]) == model.count(seq, op[1])
        else:
            state.clear_book_last()
            model.book_last.clear()
        assert list(state.book_last.items()) == list(model.book_last.items())
        assert (state.books, state.counter, state.last_seq) == (
            model.books, model.counter, model.last
        )  # fmt: skip
        seq = (model.last or 0) + 1
        for candidate in (None, seq, seq + 1):
            assert state.continues(candidate) == model.continues(candidate)
        for chan in _CHANS[:3]:  # the compiled reader sees exactly the books
            frame = b"[" + chan + b',"cs",1,' + str(seq).encode() + b"]"
            before = (state.counter, state.book_last)
            status = path.scan(frame)
            expected = chan in model.books and model.continues(seq)
            assert status == (SCANNED if expected else DECLINED), (chan, ops)
            if status == SCANNED:
                assert path.first_seq == seq
                assert path.prev_seq == model.count(seq, chan)[1]
            else:
                assert (state.counter, state.book_last) == before
            seq = (model.last or 0) + 1


def test_forget_drops_the_state_the_reader_keeps() -> None:
    """The reader keeps the last connection's state; ``forget`` must end that (a new socket
    assigns new channel ids), and ``state`` gives the new connection a fresh one."""
    path = ChannelPath([Route(b"tA", "A/B", 2, 3)])
    path.state(0).add_book(b"5", _INSTRUMENT)
    assert path.scan(b"[5,[1.5,1,2],1]") == SCANNED
    path.forget(0)
    assert path.scan(b"[5,[1.5,1,2],2]") == DECLINED  # no state for connection 0
    fresh = path.state(0)
    assert path.scan(b"[5,[1.5,1,2],2]") == DECLINED  # channel 5 is not a book of the new one
    fresh.add_book(b"5", _INSTRUMENT)
    assert path.scan(b"[5,[1.5,1,2],2]") == SCANNED
    assert (path.first_seq, path.prev_seq) == (2, None)
    assert dict(path.connections) == {0: fresh}
    with pytest.raises(TypeError):
        path.connections[1] = fresh  # type: ignore[index]
