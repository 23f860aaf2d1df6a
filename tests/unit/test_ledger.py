"""The Ledger (venues' free balances and the orchestrator's reservations, one copy in C) against
the dicts it replaces: a venue's dict and a defaultdict(float)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import MutableMapping
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.config import load_config
from arbcore.execution.shadow import ShadowVenue
from arbcore.execution.venues import TradingVenues, build_venues
from arbcore.model import Balance
from arbcore.strategies.orchestrator import Orchestrator
from arbcore_ext.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
VENUES = st.sampled_from(["binance", "okx"])
ASSETS = st.sampled_from(["USDT", "BTC", "ETH", "USD"])
AMOUNTS = st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, -0.0, 1e-12])
#: (operation, venue, asset, amount)
OPS = st.lists(st.tuples(st.sampled_from(["set", "add", "del", "pop", "reserve", "unreserve",
                                          "read_reserved", "del_reserved", "release", "replace",
                                          "clear"]),
                         VENUES, ASSETS, AMOUNTS), max_size=60)  # fmt: skip


@given(OPS)
def test_the_ledger_reads_and_writes_as_the_dicts_it_replaces(
    ops: list[tuple[str, str, str, float]],
) -> None:
    ledger = Ledger()
    views = {venue: ledger.balances(venue) for venue in ("binance", "okx")}
    free: dict[str, dict[str, float]] = {venue: {} for venue in views}
    reserved: defaultdict[tuple[str, str], float] = defaultdict(float)
    for op, venue, asset, amount in ops:
        view, reference = views[venue], free[venue]
        if op == "set":
            view[asset] = amount
            reference[asset] = amount
        elif op == "add":  # (the shadow venue's fill)
            view[asset] = view.get(asset, 0.0) + amount
            reference[asset] = reference.get(asset, 0.0) + amount
        elif op == "del" and asset in reference:
            del view[asset]
            del reference[asset]
        elif op == "pop":
            assert view.pop(asset, None) == reference.pop(asset, None)
        elif op == "reserve":  # (Orchestrator.admit)
            ledger.reserved[venue, asset] += amount
            reserved[venue, asset] += amount
        elif op == "unreserve":  # (Orchestrator.finish)
            ledger.reserved[venue, asset] -= amount
            reserved[venue, asset] -= amount
        elif op == "release":  # (Orchestrator.finish: a ticket's legs, the same key twice too)
            legs = ((venue, asset, amount), (venue, "USDT", amount / 3), (venue, asset, 1.5))
            ledger.release(legs)
            for leg_venue, leg_asset, leg_amount in legs:
                reserved[leg_venue, leg_asset] -= leg_amount
            assert list(ledger.reserved.items()) == list(reserved.items())
        elif op == "read_reserved":  # a missing key is added with 0.0, as a defaultdict's
            assert ledger.reserved[venue, asset] == reserved[venue, asset]
        elif op == "del_reserved" and (venue, asset) in reserved:
            del ledger.reserved[venue, asset]
            del reserved[venue, asset]
        elif op == "replace":  # (a live venue's balances read again)
            new = {asset: amount, "USDT": -amount}
            view.replace(new)
            free[venue] = reference = dict(new)
        elif op == "clear":
            view.clear()
            reference.clear()
        assert view.get(asset) == reference.get(asset)
        assert (asset in view) == (asset in reference)
        expected = reference.get(asset, 0.0) - reserved.get((venue, asset), 0.0)
        assert ledger.available(venue, asset) == expected  # what the compiled decision reads
        assert ledger.reserved.get((venue, asset)) == reserved.get((venue, asset))
    for venue, view in views.items():
        assert list(view.items()) == list(free[venue].items())  # the order assets came in
        assert list(view) == list(free[venue])
        assert len(view) == len(free[venue])
        assert view == free[venue]
        assert dict(view) == free[venue]
        assert isinstance(view, MutableMapping)
    assert list(ledger.reserved.items()) == list(reserved.items())
    assert ledger.reserved == reserved
    assert dict(ledger.reserved) == dict(reserved)


def test_a_missing_balance_reads_as_a_dict_and_a_wrong_key_is_refused() -> None:
    ledger = Ledger()
    view = ledger.balances("a")
    assert ledger.balances("a") is view  # one view per venue
    with pytest.raises(KeyError):
        view["BTC"]
    assert ledger.available("a", "BTC") == 0.0
    assert "BTC" not in view  # (a slot made by a read is not a key)
    assert len(view) == 0
    with pytest.raises(TypeError):
        ledger.reserved["a"] = 1.0  # type: ignore[index]


def test_shadow_fills_live_reads_and_reservations_are_one_copy() -> None:
    """The shadow venue's balances, TradingVenues' view, the orchestrator's reservations and
    the ledger's C slots are the same numbers, whoever writes them."""
    base = load_config(ROOT / "config" / "system.toml", {})
    config = attrs.evolve(base, system=attrs.evolve(base.system, mode="shadow"))
    ledger = Ledger()
    venues = build_venues(config, {"binance": {}}, credentials={}, endpoints={},
                          clock_ns=lambda: 0, book_of=lambda venue: lambda symbol: None,
                          ledger=ledger)  # fmt: skip
    orchestrator = Orchestrator(1.0, balance_of=venues.balance, ledger=ledger)
    paper = venues.clients["binance"]
    assert isinstance(paper, ShadowVenue)
    paper.balances["BTC"] += 0.25  # a fill
    orchestrator.reserved["binance", "BTC"] += 0.05
    held = venues.held["binance"].free
    assert held is ledger.balances("binance") is paper.balances
    assert ledger.available("binance", "BTC") == orchestrator.available("binance", "BTC")
    assert orchestrator.available("binance", "BTC") == pytest.approx(0.3 + 0.25 - 0.05)

    class Live:
        def __init__(self) -> None:
            self.reads = [[Balance(venue="v", asset="USDT", free=10.0, locked=0.0)],
                          [Balance(venue="v", asset="BTC", free=2.0, locked=1.0)]]  # fmt: skip

        async def fetch_balances(self) -> list[Balance]:
            return self.reads.pop(0)

    live = TradingVenues({"v": Live()}, live=True, ledger=ledger)  # type: ignore[dict-item]
    asyncio.run(live.start())
    view = live.held["v"].free
    assert ledger.available("v", "USDT") == 10.0
    asyncio.run(live.refresh(["v"]))
    assert live.held["v"].free is view  # read again into the same slots, not a new dict
    assert (dict(view), ledger.available("v", "USDT"), ledger.available("v", "BTC")) == (
        {"BTC": 2.0}, 0.0, 2.0)  # fmt: skip
