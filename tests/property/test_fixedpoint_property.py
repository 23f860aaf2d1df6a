"""The compiled fixed-point kernel against its Decimal twin, on generated values and texts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from arbcore_ext import fixedpoint as compiled
from arbcore_ext.errors import DecimalFormatError
from arbcore_ext.reference import fixedpoint as reference

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

Outcome = tuple[object, ...]


def outcome(function: Callable[..., object], *args: object, **kwargs: object) -> Outcome:
    """The result, or the error class with what it says: equal outcomes mean equal behaviour."""
    try:
        return ("ok", function(*args, **kwargs))
    except DecimalFormatError as error:
        return ("DecimalFormatError", error.text, error.reason)
    except (TypeError, ValueError, OverflowError) as error:
        return (type(error).__name__,)


def same_outcome(name: str, *args: object, **kwargs: object) -> Outcome:
    expected = outcome(getattr(reference, name), *args, **kwargs)
    assert outcome(getattr(compiled, name), *args, **kwargs) == expected
    return expected


decimals_st = st.integers(0, 18)

# Values near the edges, where the overflow checks live, mixed with anything in int64.
_edges = [0, 1, -1, 2, 10, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1]
_edges += [sign * 10**k + delta for k in range(19) for sign in (1, -1) for delta in (-1, 0, 1)]
int64_st = st.one_of(
    st.sampled_from(_edges),
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(-(10**6), 10**6),
    st.builds(lambda k, m: m * 10**k, st.integers(0, 16), st.integers(-922, 922)),
)
# For the same-outcome tests: also ints just outside int64, which both must refuse alike.
raw_st = st.one_of(int64_st, st.sampled_from([INT64_MAX + 1, INT64_MIN - 1, 10**30]))


# Finite decimals: a coefficient of up to 25 digits and an exponent either side of any scale.
def _decimal(sign: int, coefficient: int, exponent: int) -> Decimal:
    return Decimal((sign, tuple(map(int, str(coefficient))), exponent))


decimal_st = st.builds(
    _decimal,
    st.integers(0, 1),
    st.one_of(st.integers(0, 10**25), st.sampled_from([INT64_MAX, 2**63, 10**19])),
    st.integers(-40, 40),
)


@st.composite
def decimal_text_st(draw: st.DrawFn) -> str:
    """One value in one of the textual forms venues send: plain, padded, scientific."""
    value = draw(decimal_st)
    plain = format(value, "f")
    form = draw(st.sampled_from(["plain", "padded", "str", "e", "E", "coefficient", "plus"]))
    if form == "padded":
        zeros = "0" * draw(st.integers(1, 12))
        body = plain.lstrip("-")
        sign = "-" if plain.startswith("-") else ""
        leading = "0" * draw(st.integers(0, 3))
        return sign + leading + body + (zeros if "." in body else "." + zeros)
    if form == "str":
        return str(value)
    if form in ("e", "E"):
        return format(value, form)
    if form == "coefficient":
        sign, digits, exponent = value.as_tuple()
        text = "-" * sign + "".join(map(str, digits)) + draw(st.sampled_from("eE")) + str(exponent)
        return text
    if form == "plus":
        return plain if plain.startswith("-") else "+" + plain
    return plain


@given(decimal_text_st(), decimals_st, st.booleans())
def test_to_raw_decimal_text_same_outcome(text: str, decimals: int, allow_negative: bool) -> None:
    expected = same_outcome("to_raw", text, decimals, allow_negative=allow_negative)
    if expected[0] == "ok":
        assert Decimal(expected[1]).scaleb(-decimals) == Decimal(text)


@given(decimal_text_st(), decimals_st)
def test_to_raw_bytes_and_str_same_outcome(text: str, decimals: int) -> None:
    as_str = outcome(compiled.to_raw, text, decimals, allow_negative=True)
    as_bytes = outcome(compiled.to_raw, text.encode(), decimals, allow_negative=True)
    assert as_str[:1] == as_bytes[:1]
    assert as_str[-1] == as_bytes[-1]


# Characters of numbers and of the words for non-finite values, plus a few that never belong.
ODD_ALPHABET = "0123456789.eE+-nNaAiIfFsStTyY _x\u00e9\uff11\x00"


@given(st.text(alphabet=ODD_ALPHABET, max_size=14), decimals_st)
def test_to_raw_arbitrary_text_same_outcome(text: str, decimals: int) -> None:
    same_outcome("to_raw", text, decimals)
    same_outcome("to_raw", text, decimals, allow_negative=True)


@given(st.binary(max_size=12), decimals_st)
def test_to_raw_arbitrary_bytes_same_outcome(data: bytes, decimals: int) -> None:
    same_outcome("to_raw", data, decimals, allow_negative=True)


@given(st.lists(decimal_text_st(), max_size=8), decimals_st, st.booleans())
def test_to_raw_array_many_texts_same_outcome(
    texts: list[str], decimals: int, allow_negative: bool
) -> None:
    expected = outcome(reference.to_raw_array, texts, decimals, allow_negative=allow_negative)
    actual = outcome(compiled.to_raw_array, texts, decimals, allow_negative=allow_negative)
    if expected[0] == "ok":
        assert actual[0] == "ok"
        assert actual[1].dtype == expected[1].dtype
        assert actual[1].tolist() == expected[1].tolist()
    else:
        assert actual == expected


@given(raw_st, decimals_st, st.one_of(st.none(), decimals_st))
def test_to_text_any_raw_same_outcome(raw: int, decimals: int, places: int | None) -> None:
    same_outcome("to_text", raw, decimals, places)


@given(int64_st, decimals_st)
def test_to_text_then_to_raw_round_trip_same_value(raw: int, decimals: int) -> None:
    text = compiled.to_text(raw, decimals)
    assert Decimal(text) == Decimal(raw).scaleb(-decimals)
    assert compiled.to_raw(text, decimals, allow_negative=True) == raw
    assert compiled.to_raw(text.encode(), decimals, allow_negative=True) == raw


@given(raw_st, decimals_st, decimals_st)
def test_rescale_any_raw_same_outcome(raw: int, from_decimals: int, to_decimals: int) -> None:
    same_outcome("rescale", raw, from_decimals, to_decimals)


@given(int64_st, decimals_st, decimals_st)
def test_rescale_matches_text_round_trip(raw: int, from_decimals: int, to_decimals: int) -> None:
    """Rescaling is re-parsing the rendered text at the new scale: same value, same error."""
    via_text = outcome(
        compiled.to_raw, compiled.to_text(raw, from_decimals), to_decimals, allow_negative=True
    )
    assert outcome(compiled.rescale, raw, from_decimals, to_decimals) == via_text


@given(raw_st, st.one_of(raw_st, st.integers(1, 1000)), st.sampled_from(["down", "up", "nearest"]))
def test_round_to_step_any_raw_same_outcome(raw: int, step: int, mode: str) -> None:
    expected = same_outcome("round_to_step", raw, step, mode)
    if expected[0] == "ok" and step > 0:
        assert expected[1] % step == 0
        assert abs(expected[1] - raw) < step


@given(raw_st, raw_st, decimals_st, decimals_st, decimals_st)
def test_notional_any_raw_same_outcome(
    price_raw: int, qty_raw: int, price_decimals: int, qty_decimals: int, out_decimals: int
) -> None:
    same_outcome("notional", price_raw, qty_raw, price_decimals, qty_decimals, out_decimals)
