"""``arbcore_ext.slotted.Maker`` builds the object the class's own ``__init__`` builds."""

from __future__ import annotations

from typing import cast

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbcore.model import Opportunity, OpportunityLeg, OrderSide
from arbcore.risk.engine import RiskDecision
from arbcore.storage.audit import canonical_json
from arbcore_ext.slotted import Maker

floats = st.floats(allow_nan=False, allow_infinity=False)  # (JSON has neither)
legs = st.builds(OpportunityLeg, venue=st.text(max_size=5), symbol=st.just("BTC/USDT"),
                 side=st.sampled_from(OrderSide), price=floats, size=floats,
                 price_raw=st.integers(), size_raw=st.integers())  # fmt: skip
opportunities = st.builds(
    Opportunity, kind=st.text(max_size=5), venue=st.text(max_size=5),
    legs=st.lists(legs, max_size=3).map(tuple), rate=floats, profit_bps=floats, size=floats,
    expected_profit=floats, detected_at_ns=st.integers(0, 2**63),
    asset=st.text(max_size=4), expected_profit_usd=st.none() | floats,
)  # fmt: skip
decisions = st.builds(RiskDecision, approved=st.booleans(), rule=st.none() | st.text(max_size=5),
                      value=st.none() | floats, limit=st.none() | floats,
                      detail=st.text(max_size=5), trace_id=st.text(max_size=8))  # fmt: skip


def _same(made: object, expected: object) -> None:
    assert type(made) is type(expected)
    assert made == expected
    assert hash(made) == hash(expected)
    assert repr(made) == repr(expected)
    assert canonical_json(made) == canonical_json(expected)  # what the audit trail stores


@given(opportunities, decisions)
def test_a_made_object_is_the_one_init_makes(opportunity: Opportunity,
                                             decision: RiskDecision) -> None:  # fmt: skip
    for expected in (opportunity, *opportunity.legs, decision):
        values = attrs.astuple(cast("attrs.AttrsInstance", expected), recurse=False)
        _same(Maker(type(expected))(*values), expected)


def test_made_objects_stay_frozen_and_bad_calls_are_refused() -> None:
    leg = Maker(OpportunityLeg)("okx", "BTC/USDT", OrderSide.BUY, 1.0, 2.0, 10, 20)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        leg.price = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 7 values"):
        Maker(OpportunityLeg)("okx", "BTC/USDT")

    @attrs.frozen
    class Checked:
        x: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.define(slots=False)
    class Loose:
        x: int

    for cls in (Checked, Loose, int):
        with pytest.raises(TypeError, match="Maker"):
            Maker(cls)
