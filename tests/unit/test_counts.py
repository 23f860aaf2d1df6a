"""Counts (the orchestrator's and the engine's counts, kept in C) against a Counter."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import MutableMapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from arbcore_ext.crossbook import Check, Counts, Gate

KEYS = st.sampled_from(["cool_off", "liquidity_in_use", ("k", "a->b"), ("k", "b->a"), "x"])
#: (operation, key, value): add one, set, delete, read
OPS = st.lists(st.tuples(st.sampled_from(["add", "set", "del", "get"]), KEYS,
                         st.integers(0, 5)), max_size=40)  # fmt: skip


@given(OPS)
def test_counts_read_and_count_as_a_counter_does(ops: list[tuple[str, object, int]]) -> None:
    counts: Counts[object] = Counts()
    reference: Counter[object] = Counter()
    for op, key, value in ops:
        if op == "add":
            counts[key] += 1
            reference[key] += 1
        elif op == "set":
            counts[key] = value
            reference[key] = value
        elif op == "del" and key in reference:
            del counts[key]
            del reference[key]
        assert counts[key] == reference[key]  # (a missing key reads 0 and is not added)
        assert counts.get(key) == reference.get(key)
        assert (key in counts) == (key in reference)
    assert list(counts.items()) == list(reference.items())  # the order keys came in
    assert list(counts) == list(reference)
    assert len(counts) == len(reference)
    assert counts == dict(reference)
    assert dict(counts) == dict(reference)
    total: Counter[object] = Counter()
    total.update(counts)
    assert total == reference
    assert isinstance(counts, MutableMapping)


def test_a_compiled_refusal_counts_in_c_what_a_dict_would_hold() -> None:
    """Two checks refusing the same keys: one counting into Counts (the C slots), one into
    dicts; the counts and their order are the same."""
    now = [0]
    gate = Gate(100, lambda: now[0])
    by_slot: tuple[Counts[Any], ...] = (Counts(), Counts(), Counts())
    by_dict: tuple[MutableMapping[Any, int], ...] = (defaultdict(int), Counter(), defaultdict(int))
    checks = [Check(gate, refused, "k", found, detected)
              for refused, found, detected in (by_slot, by_dict)]  # fmt: skip
    gate.taken[("k", "a->b", "legs")] = 0
    gate.busy.add(("b", "ETH/USDT"))
    for key, markets in ((("k", "a->b", "legs"), [("a", "BTC/USDT")]),
                         (("k", "b->a", "legs"), [("b", "ETH/USDT")]),
                         (("k", "a->b", "legs"), [("b", "ETH/USDT")]),
                         (("k", "c->a", "legs"), [("c", "ETH/USDT")])):  # fmt: skip
        assert [check(key, markets) for check in checks] == [key[1] != "c->a"] * 2
    for counted, expected in zip(by_slot, by_dict, strict=True):
        assert list(counted.items()) == list(expected.items())
    assert by_slot[0] == {"cool_off": 2, "liquidity_in_use": 1}
    assert gate.offered == 6  # (both checks count their refusals as offered)
    assert by_slot[2] == {("k", "a->b"): 2, ("k", "b->a"): 1}
