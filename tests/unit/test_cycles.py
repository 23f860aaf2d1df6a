"""The cycle engine on a hand-worked market: every number below is derived in the comments.

Four assets, every pair traded once (ids are positions):

    0 BTC/USDT   40000 / 40010        3 BNB/USDT   300    / 300.1
    1 ETH/USDT    2000 / 2001         4 BNB/BTC    0.0075 / 0.00751
    2 ETH/BTC   0.0495 / 0.0496       5 BNB/ETH    0.15   / 0.1501

ETH/BTC is mispriced: ETH is worth 2000 / 40000 = 0.05 BTC but offered at 0.0496, so buying BTC,
then ETH with it, then selling the ETH for USDT earns 2000 / (40010 * 0.0496) = 1.00781 before
three 10 bps fees. Each test runs against the compiled engine and its plain-Python twin.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from arbcore.testing.cycles import ENGINE_KINDS, build_engine, engine_module, make_book
from arbcore_ext.cycles import BUY, SELL
from arbcore_ext.errors import BookError, GraphError

PAIRS = [
    ("BTC", "USDT"),
    ("ETH", "USDT"),
    ("ETH", "BTC"),
    ("BNB", "USDT"),
    ("BNB", "BTC"),
    ("BNB", "ETH"),
]
TOPS = [(40000.0, 40010.0), (2000.0, 2001.0), (0.0495, 0.0496), (300.0, 300.1), (0.0075, 0.00751),
        (0.15, 0.1501)]  # fmt: skip
KEEP = 1.0 - 0.001  # what a 10 bps taker fee leaves

# The documented order: from USDT, edges in ascending market id (BUY 0, BUY 1, BUY 3), then from
# each asset its edges in ascending market id again; the last leg comes home to USDT.
THREE_LEG_CYCLES = [
    ((0, BUY), (2, BUY), (1, SELL)),  # USDT -> BTC -> ETH -> USDT: the mispriced one
    ((0, BUY), (4, BUY), (3, SELL)),  # USDT -> BTC -> BNB -> USDT
    ((1, BUY), (2, SELL), (0, SELL)),  # USDT -> ETH -> BTC -> USDT
    ((1, BUY), (5, BUY), (3, SELL)),  # USDT -> ETH -> BNB -> USDT
    ((3, BUY), (4, SELL), (0, SELL)),  # USDT -> BNB -> BTC -> USDT
    ((3, BUY), (5, SELL), (1, SELL)),  # USDT -> BNB -> ETH -> USDT
]


@pytest.fixture(params=ENGINE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def priced(kind: str, **options: Any) -> Any:
    """The engine over the six markets with every top set."""
    engine = build_engine(kind, PAIRS, **options)
    for market, (bid, ask) in enumerate(TOPS):
        engine.set_top(market, bid, ask)
    return engine


def test_cycles_three_legs_through_usdt_listed_in_documented_order(kind: str) -> None:
    engine = build_engine(kind, PAIRS)
    # three other assets: 3 choices for the first, 2 for the second, one market per pair
    assert engine.cycle_count == 3 * 2
    assert [engine.cycle(c) for c in range(engine.cycle_count)] == THREE_LEG_CYCLES
    assert engine.cycle_assets(0) == ("USDT", "BTC", "ETH")
    assert engine.cycle_assets(5) == ("USDT", "BNB", "ETH")
    assert engine.assets == ("BTC", "ETH", "BNB", "USDT")  # bases, then quotes, first seen
    assert engine.symbols == tuple(f"{base}/{quote}" for base, quote in PAIRS)
    assert engine.market_id("BNB/BTC") == 4


def test_cycles_mispriced_cycle_is_the_only_profitable_one(kind: str) -> None:
    engine = priced(kind)
    # BUY BTC/USDT at the ask, BUY ETH/BTC at the ask, SELL ETH/USDT at the bid, left to right
    expected = (KEEP / 40010.0) * (KEEP / 0.0496) * (2000.0 * KEEP)
    assert engine.rate(0) == expected
    # 2000 / 1984.496 = 1.0078125 (78 bps) less three fees (0.999**3 = 0.997003): 47.9 bps
    assert (engine.rate(0) - 1.0) * 1e4 == pytest.approx(47.92, abs=0.01)
    assert engine.scan().tolist() == [0]
    # the reverse direction pays both spreads the other way: 0.0495 * 40000 / 2001 = 0.98951
    assert engine.rate(2) == pytest.approx(0.0495 * 40000 / 2001 * KEEP**3)
    assert all(engine.rate(c) < 1.0 for c in range(1, 6))


def test_cycles_min_profit_threshold_hides_thin_cycles(kind: str) -> None:
    assert priced(kind, min_profit_bps=47.0).scan().tolist() == [0]
    engine = priced(kind, min_profit_bps=48.0)  # 47.9 bps is not enough
    assert engine.threshold == 1.0 + 48.0 / 1e4
    assert engine.scan().tolist() == []


def test_cycles_set_top_reevaluates_only_that_markets_cycles(kind: str) -> None:
    engine = priced(kind)
    assert engine.cycles_of_market(3).tolist() == [1, 3, 4, 5]  # every cycle through BNB/USDT
    before = engine.rates()
    # BNB rich in USDT: the cycles selling BNB/USDT (1, 3) turn profitable,
    # e.g. cycle 1 = 305 / (40010 * 0.00751) * 0.999**3 = 1.0120
    assert engine.set_top(3, 305.0, 305.1) == 2
    assert engine.changed().tolist() == [1, 3]
    after = engine.rates()
    assert [c for c in range(6) if after[c] != before[c]] == [1, 3, 4, 5]
    assert engine.rate(1) == (KEEP / 40010.0) * (KEEP / 0.00751) * (305.0 * KEEP)
    assert engine.scan().tolist() == [3, 1, 0]  # 124 bps, 120 bps, 48 bps


def test_cycles_changed_lists_only_rates_that_moved(kind: str) -> None:
    engine = priced(kind)
    engine.set_top(3, 305.0, 305.1)
    assert engine.set_top(3, 305.0, 305.1) == 0  # the same top again: nothing moved
    assert engine.changed().tolist() == []
    # a cheaper BTC ask improves the cycles buying BTC/USDT (0, 1); 2 and 4 sell it at the
    # unchanged bid, so their rates did not move although they contain the market
    assert engine.set_top("BTC/USDT", 40000.0, 40005.0) == 2
    assert engine.changed().tolist() == [0, 1]
    assert engine.cycles_of_market(0).tolist() == [0, 1, 2, 4]


def test_cycles_empty_side_prices_its_edge_at_zero(kind: str) -> None:
    engine = priced(kind)
    assert engine.set_top(1, math.nan, 2001.0) == 0  # no ETH/USDT bid
    rates = engine.rates()
    assert rates[0] == 0.0  # sells ETH/USDT
    assert rates[5] == 0.0
    assert rates[2] > 0.0  # buys ETH/USDT at the ask, which is still there
    assert engine.set_top(1, 2000.0, 0.0) == 1  # the bid is back (cycle 0 again), no ask
    assert engine.changed().tolist() == [0]
    assert engine.rate(2) == 0.0
    assert engine.rate(3) == 0.0


def test_cycles_rates_are_zero_before_any_top(kind: str) -> None:
    engine = build_engine(kind, PAIRS)
    assert engine.rates().tolist() == [0.0] * 6
    assert engine.scan().tolist() == []


def test_cycles_four_legs_add_every_ordering_of_the_three_others(kind: str) -> None:
    engine = build_engine(kind, PAIRS, max_legs=4)
    assert engine.max_legs == 4
    # 6 three-leg cycles, then USDT -> A -> B -> C -> USDT for the 3! orders of BTC, ETH, BNB
    assert engine.cycle_count == 6 + 6
    assert [engine.cycle(c) for c in range(6)] == THREE_LEG_CYCLES
    assert engine.cycle(6) == ((0, BUY), (2, BUY), (5, BUY), (3, SELL))
    assert engine.cycle_assets(11) == ("USDT", "BNB", "ETH", "BTC")
    for market, (bid, ask) in enumerate(TOPS):
        engine.set_top(market, bid, ask)
    # a three-leg cycle rates the same in a four-leg index
    assert engine.rate(0) == (KEEP / 40010.0) * (KEEP / 0.0496) * (2000.0 * KEEP)
    assert engine.rate(6) == (KEEP / 40010.0) * (KEEP / 0.0496) * (KEEP / 0.1501) * (300.0 * KEEP)


def canonical(legs: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The rotation of a cycle that starts at its smallest leg: one key per directed cycle."""
    return min(legs[i:] + legs[:i] for i in range(len(legs)))


def test_cycles_second_start_asset_skips_rotations_of_the_first(kind: str) -> None:
    engine = build_engine(kind, PAIRS, start_assets=("USDT", "BTC"))
    # the six USDT cycles keep their ids; from BTC only the cycles avoiding USDT are new
    assert engine.cycle_count == 6 + 2
    assert [engine.cycle(c) for c in range(6)] == THREE_LEG_CYCLES
    assert engine.cycle(6) == ((2, BUY), (5, BUY), (4, SELL))  # BTC -> ETH -> BNB -> BTC
    assert engine.cycle(7) == ((4, BUY), (5, SELL), (2, SELL))  # BTC -> BNB -> ETH -> BTC
    assert engine.cycle_assets(7) == ("BTC", "BNB", "ETH")
    keys = {canonical(engine.cycle(c)) for c in range(engine.cycle_count)}
    assert len(keys) == engine.cycle_count
    four = build_engine(kind, PAIRS, start_assets=("USDT", "BTC"), max_legs=4)
    # a four-leg cycle from BTC needs three assets other than BTC and USDT: there are two
    assert four.cycle_count == 8 + 6
    assert [four.cycle_assets(c)[0] for c in range(four.cycle_count)] == (
        ["USDT"] * 6 + ["BTC"] * 2 + ["USDT"] * 6
    )


@pytest.mark.parametrize(
    ("arguments", "options"),
    [
        ((["A/B"], ["A"], []), {}),
        ((["A/B", "A/B"], ["A", "A"], ["B", "B"]), {"start_assets": ("B",)}),
        ((["A/A"], ["A"], ["A"]), {"start_assets": ("A",)}),
        ((["A/B"], ["A"], ["B"]), {"start_assets": ("B",), "max_legs": 5}),
        ((["A/B"], ["A"], ["B"]), {"start_assets": ("USDT",)}),
        ((["A/B"], ["A"], ["B"]), {"start_assets": ("B", "B")}),
        ((["A/B"], ["A"], ["B"]), {"start_assets": ()}),
        ((["A/B"], ["A"], ["B"]), {"start_assets": ("B",), "taker_fees": [0.001, 0.001]}),
        ((["A/B"], ["A"], ["B"]), {"start_assets": ("B",), "taker_fees": 1.0}),
        ((["A/B"], ["A"], ["B"]), {"start_assets": ("B",), "lots": -1.0}),
        ((["A/B"], ["A"], ["B"]), {"start_assets": ("B",), "slippage_bps": -1.0}),
    ],
    ids=["lengths", "duplicate", "self-pair", "max-legs", "untraded-start", "repeated-start",
         "no-start", "fee-list", "fee-one", "negative-lot", "negative-slippage"],
)  # fmt: skip
def test_cycles_bad_graph_raises_graph_error(
    kind: str, arguments: tuple[list[str], list[str], list[str]], options: dict[str, Any]
) -> None:
    with pytest.raises(GraphError):
        engine_module(kind).CycleEngine(*arguments, **options)


def test_cycles_out_of_range_ids_raise_graph_error(kind: str) -> None:
    engine = build_engine(kind, PAIRS)
    with pytest.raises(GraphError):
        engine.rate(6)
    with pytest.raises(GraphError):
        engine.set_top(6, 1.0, 1.0)
    with pytest.raises(KeyError):
        engine.market_id("DOGE/USDT")


# --- sizing over depth ------------------------------------------------------------------------
# The mispriced cycle alone, no fees, so the hand arithmetic stays exact:
#   BTC/USDT asks 40000 x 0.5, 40100 x 1.0        (2 price, 3 size decimals)
#   ETH/BTC  asks 0.0496 x 5,  0.0500 x 10        (4 price, 2 size decimals)
#   ETH/USDT bids 2000 x 4,    1990 x 10          (2 price, 3 size decimals)
# Leg inputs per level: 0.5 * 40000 = 20000 USDT; 5 * 0.0496 = 0.248 BTC; 4 ETH.
# Top marginal rate 2000 / (40000 * 0.0496) = 1.00806: walk. Per USDT of start, leg 1 gets
# 1/40000 BTC and leg 2 1/1984 ETH, so the levels end at x = 20000, 9920 and 4 * 1984 = 7936.
#   x = 7936: the 2000 bid is used up; next marginal 1990 / 1984 = 1.003 > 1: walk on.
#   x = 9920: the 0.0496 ask is used up (0.248 BTC -> 5 ETH); next 1990 / 2000 < 1: stop.
# Trade at 9920: 0.248 BTC at 40000, 5 ETH at 0.0496, sell 4 ETH at 2000 + 1 at 1990 = 9990.
# Profit 9990 - 9920 = 70 USDT = 70.56 bps.
DEPTH_PAIRS = [("BTC", "USDT"), ("ETH", "USDT"), ("ETH", "BTC")]
MISPRICED = 0  # USDT -> BTC -> ETH -> USDT in this three-market index


def depth_engine(kind: str, **options: Any) -> Any:
    engine = build_engine(kind, DEPTH_PAIRS, taker_fees=0.0, **options)
    books = {
        "BTC/USDT": make_book([(3_999_000, 1_000)], [(4_000_000, 500), (4_010_000, 1_000)], 2, 3),
        "ETH/USDT": make_book([(200_000, 4_000), (199_000, 10_000)], [(201_000, 1_000)], 2, 3),
        "ETH/BTC": make_book([(490, 100)], [(496, 500), (500, 1_000)], 4, 2),
    }
    assert engine.on_book("BTC/USDT", books["BTC/USDT"]) == ()
    assert engine.on_book("ETH/BTC", books["ETH/BTC"]) == ()
    assert engine.on_book("ETH/USDT", books["ETH/USDT"]) == (MISPRICED,)  # the last edge
    return engine


def test_size_walks_to_where_the_marginal_rate_drops_below_one(kind: str) -> None:
    engine = depth_engine(kind)
    assert engine.cycle(MISPRICED) == ((0, BUY), (2, BUY), (1, SELL))
    assert engine.rate(MISPRICED) == (1.0 / 40000.0) * (1.0 / 0.0496) * 2000.0
    sized = engine.size(MISPRICED)
    assert sized
    assert sized.cycle == MISPRICED
    assert sized.start_amount == pytest.approx(9920.0, rel=1e-12)
    assert sized.end_amount == pytest.approx(9990.0, rel=1e-12)
    assert sized.profit == pytest.approx(70.0, rel=1e-9)
    assert sized.profit_bps == pytest.approx(70.0 / 9920.0 * 1e4, rel=1e-9)
    legs = [(leg.market, leg.direction, leg.levels, leg.limit_price) for leg in sized.legs]
    # 0.248 BTC fills the 0.0496 ask exactly: the leg reaches one level, not a dust of a second
    assert legs == [(0, BUY, 1, 4_000_000), (2, BUY, 1, 496), (1, SELL, 2, 199_000)]
    assert [leg.qty for leg in sized.legs] == pytest.approx([0.248, 5.0, 5.0], rel=1e-12)
    assert [leg.price for leg in sized.legs] == pytest.approx([40000.0, 0.0496, 1998.0])


def test_size_limit_price_widens_by_the_slippage_allowance(kind: str) -> None:
    sized = depth_engine(kind, slippage_bps=10.0).size(MISPRICED)
    # 10 bps of the raw worst price, rounded toward the book: 4000 up, 0.49 -> 0 up, 199 down
    assert [leg.limit_price for leg in sized.legs] == [4_004_000, 496, 198_801]
    assert sized.profit == pytest.approx(70.0, rel=1e-9)  # slippage only widens the limits


def test_size_rounds_each_leg_down_to_its_lot(kind: str) -> None:
    engine = depth_engine(kind, lots=[0.01, 0.01, 0.01])  # BTC/USDT, ETH/USDT, ETH/BTC
    sized = engine.size(MISPRICED, max_start=5000.0)
    # 5000 USDT buys 0.125 BTC -> 0.12 BTC for 4800 USDT; 0.12 / 0.0496 = 2.419 -> 2.41 ETH for
    # 0.119536 BTC (0.000464 BTC stays behind); 2.41 ETH sell at 2000 for 4820 USDT
    assert sized.start_amount == pytest.approx(4800.0, rel=1e-12)
    assert sized.end_amount == pytest.approx(4820.0, rel=1e-12)
    assert sized.profit == pytest.approx(20.0, rel=1e-9)
    assert [leg.qty for leg in sized.legs] == pytest.approx([0.12, 2.41, 2.41], rel=1e-12)
    unrounded = depth_engine(kind).size(MISPRICED, max_start=5000.0)
    # without lots: 0.125 BTC -> 2.5202 ETH -> 5040.32 USDT, 40.32 profit
    assert unrounded.start_amount == 5000.0
    assert unrounded.profit == pytest.approx(5000.0 / 40000.0 / 0.0496 * 2000.0 - 5000.0)


@pytest.mark.parametrize(
    "options",
    [
        {"lots": [0.01, 0.01, 0.01], "min_notional": [0.0, 5000.0, 0.0]},  # sells 4820 USDT
        {"lots": [0.01, 0.01, 0.01], "min_qty": [0.2, 0.0, 0.0]},  # buys 0.12 BTC
        {"lots": [1.0, 0.0, 0.0]},  # 0.125 BTC is no whole BTC
    ],
    ids=["min-notional", "min-qty", "lot-rounds-to-zero"],
)
def test_size_below_minimums_rejects_the_cycle(kind: str, options: dict[str, Any]) -> None:
    sized = depth_engine(kind, **options).size(MISPRICED, max_start=5000.0)
    assert not sized
    assert (sized.start_amount, sized.end_amount, sized.profit, sized.legs) == (0.0, 0.0, 0.0, ())


def test_size_unprofitable_cycle_is_not_traded(kind: str) -> None:
    engine = depth_engine(kind)
    assert engine.rate(1) < 1.0  # USDT -> ETH -> BTC -> USDT
    assert not engine.size(1)
    assert not engine.size(MISPRICED, max_start=0.0)


def test_size_without_a_book_raises_book_error(kind: str) -> None:
    engine = priced(kind)  # tops only, no books
    with pytest.raises(BookError):
        engine.size(0)


def test_size_lot_rounding_dust_reaches_no_further_level(kind: str) -> None:
    # BTC/USDT asks 100, ETH/BTC asks 0.099, ETH/USDT bids 10.000 x 0.3 then 9.500; no fees.
    # Top rate 10 / (100 * 0.099) = 1.0101; the 10.000 bid takes 0.3 ETH = 0.0297 BTC = 2.97
    # USDT, and 9.5 / 9.9 < 1 stops the walk there: sell 0.3 ETH for 3.00, profit 0.03.
    # The 0.1 ETH lot rounds 0.3 to 3 * 0.1 = 0.30000000000000004 in floats: that dust must not
    # reach the 9.500 bid and make it the leg's limit price.
    engine = build_engine(kind, DEPTH_PAIRS, taker_fees=0.0, lots=[0.0, 0.1, 0.0])
    engine.on_book("BTC/USDT", make_book([(9_900, 100)], [(10_000, 100)], 2, 0))
    engine.on_book("ETH/BTC", make_book([(980, 100)], [(990, 100)], 4, 0))
    engine.on_book("ETH/USDT", make_book([(10_000, 3), (9_500, 50)], [(10_100, 1)], 3, 1))
    sized = engine.size(MISPRICED)
    assert sized.start_amount == pytest.approx(2.97, rel=1e-12)
    assert sized.profit == pytest.approx(0.03, rel=1e-9)
    sell = sized.legs[2]
    assert (sell.levels, sell.limit_price) == (1, 10_000)
    assert sell.qty == pytest.approx(0.3, rel=1e-12)


def test_size_float_sum_of_levels_reaches_no_further_level(kind: str) -> None:
    # USDT -> ETH -> BTC -> USDT (cycle 1), no fees, no lots:
    #   ETH/USDT asks 9.701 x 1, 9.702 x 1; ETH/BTC bids 0.10005 x 0.8, 0.10004 x 0.3,
    #   0.10003 x 0.1; BTC/USDT bids 96.99 x 1.
    # Marginal rates 0.10005 * 96.99 / 9.701 = 1.00029, then (0.8 ETH sold) 0.10004 * 96.99 /
    # 9.701 = 1.00019, then (1 ETH bought) / 9.702 = 1.00009, then (1.1 ETH sold) 0.10003 *
    # 96.99 / 9.702 = 0.99999: stop at 1.1 ETH = 9.701 + 0.1 * 9.702 = 10.6712 USDT.
    # 0.8 * 0.10005 + 0.3 * 0.10004 = 0.110052 BTC -> 10.67394348 USDT: profit 0.00274348.
    # The ETH/BTC leg sells exactly its first two levels, though 0.8 + 0.3 is not 1.1 in floats.
    engine = build_engine(kind, DEPTH_PAIRS, taker_fees=0.0)
    engine.on_book("BTC/USDT", make_book([(9_699, 1), (9_698, 1)], [(9_701, 1)], 2, 0))
    engine.on_book("ETH/USDT", make_book([(9_699, 1)], [(9_701, 1), (9_702, 1)], 3, 0))
    engine.on_book(
        "ETH/BTC", make_book([(10_005, 8), (10_004, 3), (10_003, 1)], [(10_007, 1)], 5, 1)
    )
    assert engine.cycle(1) == ((1, BUY), (2, SELL), (0, SELL))
    sized = engine.size(1)
    assert sized.start_amount == pytest.approx(10.6712, rel=1e-12)
    assert sized.profit == pytest.approx(0.00274348, rel=1e-9)
    assert [leg.qty for leg in sized.legs] == pytest.approx([1.1, 1.1, 0.110052], rel=1e-12)
    assert [(leg.levels, leg.limit_price) for leg in sized.legs] == [
        (2, 9_702), (2, 10_004), (1, 9_699)
    ]  # fmt: skip


def test_on_book_reads_the_touch_and_calls_the_emit_hook(kind: str) -> None:
    class Recording(engine_module(kind).CycleEngine):
        """What TriangularScanner does: turn changed ids into its own values."""

        def _emit(self, ids: Any) -> Any:
            return [("cycle", int(c)) for c in ids]

    symbols = [f"{base}/{quote}" for base, quote in DEPTH_PAIRS]
    engine = Recording(symbols, [b for b, _ in DEPTH_PAIRS], [q for _, q in DEPTH_PAIRS])
    engine.set_top(0, 39_990.0, 40_000.0)
    engine.set_top(2, 0.0495, 0.0496)
    # ETH/USDT bid 2000.00 (raw 200000 at 2 decimals) completes the mispriced cycle
    assert engine.on_book("ETH/USDT", make_book([(200_000, 1)], [], 2, 0)) == [("cycle", 0)]
    assert engine.rate(0) == (KEEP / 40_000.0) * (KEEP / 0.0496) * (200_000 / 100 * KEEP)
    assert engine.rate(1) == 0.0  # buys ETH/USDT: the book has no asks
    assert engine.on_book("ETH/USDT", make_book([(200_000, 2)], [], 2, 0)) == ()  # same touch
