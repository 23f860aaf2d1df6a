"""Hand examples for arbcore_ext.fixedpoint, run on the compiled kernel and on its Decimal twin."""

from __future__ import annotations

from decimal import Decimal
from types import ModuleType

import numpy as np
import pytest

from arbcore_ext import fixedpoint
from arbcore_ext.errors import ArbcoreError, DecimalFormatError
from arbcore_ext.reference import fixedpoint as reference_fixedpoint

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

NO_DIGITS = "no digits"
NOT_FINITE = "not a finite number"
SYNTAX = "not a decimal number"
NEGATIVE = "negative values are not allowed here"


def precision(decimals: int) -> str:
    return f"more decimal places than the scale of {decimals} holds"


def overflow(decimals: int) -> str:
    return f"does not fit in 64 bits at {decimals} decimals"


@pytest.fixture(params=[fixedpoint, reference_fixedpoint], ids=["compiled", "reference"])
def fp(request: pytest.FixtureRequest) -> ModuleType:
    """Every example must hold for the kernel and for the oracle the property tests trust."""
    return request.param


# ------------------------------------------------------------------------------- to_raw


@pytest.mark.parametrize(
    ("text", "decimals", "raw"),
    [
        ("61737.63000000", 2, 6173763),
        (b"0.00000500", 8, 500),
        ("37500", 0, 37500),
        ("037500", 0, 37500),
        ("1.25e-5", 8, 1250),
        ("1.25E-5", 7, 125),
        ("1E+3", 0, 1000),
        ("1e3", 2, 100000),
        ("+1.5", 1, 15),
        ("1.", 0, 1),
        (".5", 1, 5),
        ("0", 18, 0),
        ("0e-400", 2, 0),
        ("0.000e99999999999999999999", 0, 0),
        ("1e0000000000000000000000003", 0, 1000),
        ("5e-324", 18, None),
        ("50e-1", 0, 5),
        ("123.4500e-2", 4, 12345),
        ("1", 18, 10**18),
        ("9.223372036854775807", 18, INT64_MAX),
        ("92233720368547758.07", 2, INT64_MAX),
        ("9223372036854775807", 0, INT64_MAX),
        ("922337203685477580.7e1", 0, INT64_MAX),
        ("0000000000000000000009223372036854775807.0000000000000000000000", 0, INT64_MAX),
        # Long mantissas with exponents that cancel: the exponent must not be cut short.
        ("0." + "0" * 1000 + "5e1001", 0, 5),
        ("5" + "0" * 1000 + "e-1000", 0, 5),
        ("0." + "0" * 1000 + "5e1000", 1, 5),
    ],
)
def test_to_raw_valid_text_exact_value(
    fp: ModuleType, text: str | bytes, decimals: int, raw: int | None
) -> None:
    if raw is None:  # a non-zero digit far beyond any scale
        with pytest.raises(DecimalFormatError, match=precision(decimals)):
            fp.to_raw(text, decimals)
    else:
        assert fp.to_raw(text, decimals) == raw


@pytest.mark.parametrize(
    "text",
    [b"61737.63000000", bytearray(b"61737.63000000"), memoryview(b"x61737.63000000")[1:]],
    ids=["bytes", "bytearray", "memoryview"],
)
def test_to_raw_bytes_like_text_same_value(
    fp: ModuleType, text: bytes | bytearray | memoryview
) -> None:
    assert fp.to_raw(text, 2) == 6173763


@pytest.mark.parametrize(
    ("text", "decimals", "reason"),
    [
        ("", 2, NO_DIGITS),
        ("-", 2, NO_DIGITS),
        ("+", 2, NO_DIGITS),
        (".", 2, NO_DIGITS),
        ("-.", 2, NO_DIGITS),
        ("nan", 2, NOT_FINITE),
        ("NaN", 2, NOT_FINITE),
        ("sNaN", 2, NOT_FINITE),
        ("inf", 2, NOT_FINITE),
        ("Infinity", 2, NOT_FINITE),
        ("-Infinity", 2, NOT_FINITE),
        ("+INF", 2, NOT_FINITE),
        ("1.2.3", 2, SYNTAX),
        ("12a", 2, SYNTAX),
        (" 1", 2, SYNTAX),
        ("1 ", 2, SYNTAX),
        ("1 000", 2, SYNTAX),
        ("1_000", 2, SYNTAX),
        ("1e", 2, SYNTAX),
        ("1e+", 2, SYNTAX),
        ("1e5.0", 2, SYNTAX),
        ("e5", 2, SYNTAX),
        (".e5", 2, SYNTAX),
        ("--1", 2, SYNTAX),
        ("+-1", 2, SYNTAX),
        ("0x10", 2, SYNTAX),
        ("nan1", 2, SYNTAX),
        ("infinite", 2, SYNTAX),
        ("1\x00", 2, SYNTAX),
        ("\uff11", 2, SYNTAX),  # FULLWIDTH DIGIT ONE: str must be ASCII
        ("1\u00a0", 2, SYNTAX),
        (b"1\xff", 2, SYNTAX),
        ("1.25E-5", 6, precision(6)),
        ("0.001", 2, precision(2)),
        ("61737.630000001", 2, precision(2)),
        ("1e-400", 2, precision(2)),
        ("1e-99999999999999999999", 2, precision(2)),
        ("9223372036854775808", 0, overflow(0)),
        ("92233720368547758.08", 2, overflow(2)),
        ("10", 18, overflow(18)),
        ("1e19", 0, overflow(0)),
        ("1e400", 0, overflow(0)),
        ("1e99999999999999999999", 0, overflow(0)),
        ("99999999999999999999999999999", 0, overflow(0)),
    ],
)
def test_to_raw_bad_text_raises_reason_and_text(
    fp: ModuleType, text: str | bytes, decimals: int, reason: str
) -> None:
    with pytest.raises(DecimalFormatError, match=reason) as caught:
        fp.to_raw(text, decimals)
    assert caught.value.text == text
    assert repr(text) in str(caught.value)


def test_to_raw_error_kind_arbcore_and_value_error(fp: ModuleType) -> None:
    with pytest.raises(DecimalFormatError) as caught:
        fp.to_raw("12a", 2)
    assert isinstance(caught.value, ArbcoreError)
    assert isinstance(caught.value, ValueError)


def test_to_raw_precision_before_overflow_precision(fp: ModuleType) -> None:
    with pytest.raises(DecimalFormatError, match=precision(0)):
        fp.to_raw("99999999999999999999.5", 0)


@pytest.mark.parametrize("text", ["-1.5", "-0", "-0.00"])
def test_to_raw_minus_sign_not_allowed_raises(fp: ModuleType, text: str) -> None:
    with pytest.raises(DecimalFormatError, match=NEGATIVE):
        fp.to_raw(text, 1)


@pytest.mark.parametrize(
    ("text", "decimals", "raw"),
    [
        ("-1.5", 1, -15),
        ("-0", 1, 0),
        ("-9223372036854775808", 0, INT64_MIN),
        ("-92233720368547758.08", 2, INT64_MIN),
        ("-9.223372036854775808", 18, INT64_MIN),
        ("-1.25e-5", 8, -1250),
    ],
)
def test_to_raw_negative_allowed_exact_value(
    fp: ModuleType, text: str, decimals: int, raw: int
) -> None:
    assert fp.to_raw(text, decimals, allow_negative=True) == raw


@pytest.mark.parametrize(
    ("text", "reason"),
    [("-9223372036854775809", overflow(0)), ("-1e19", overflow(0)), ("-nan", NOT_FINITE)],
)
def test_to_raw_negative_allowed_bad_text_raises(fp: ModuleType, text: str, reason: str) -> None:
    with pytest.raises(DecimalFormatError, match=reason):
        fp.to_raw(text, 0, allow_negative=True)


def test_to_raw_not_finite_before_negative_not_finite(fp: ModuleType) -> None:
    with pytest.raises(DecimalFormatError, match=NOT_FINITE):
        fp.to_raw("-inf", 2)


@pytest.mark.parametrize("value", [1, 1.5, Decimal("1.5"), None, ["1"]])
def test_to_raw_non_text_raises_type_error(fp: ModuleType, value: object) -> None:
    with pytest.raises(TypeError, match="decimal text must be str"):
        fp.to_raw(value, 2)


@pytest.mark.parametrize("decimals", [-1, 19, 10**30])
def test_to_raw_decimals_out_of_range_raises_value_error(fp: ModuleType, decimals: int) -> None:
    with pytest.raises(ValueError, match="decimals must be between 0 and 18"):
        fp.to_raw("1", decimals)


def test_to_raw_decimals_not_int_raises_type_error(fp: ModuleType) -> None:
    with pytest.raises(TypeError, match="decimals must be an int"):
        fp.to_raw("1", 2.0)


def test_to_raw_numpy_int_decimals_accepted(fp: ModuleType) -> None:
    assert fp.to_raw("1.5", np.int32(1)) == 15


# ------------------------------------------------------------------------- to_raw_array


def test_to_raw_array_mixed_texts_int64_array(fp: ModuleType) -> None:
    result = fp.to_raw_array(["61737.63", b"0.5", "1e2", "-1"], 2, allow_negative=True)
    assert result.dtype == np.int64
    assert result.tolist() == [6173763, 50, 10000, -100]


def test_to_raw_array_any_iterable_int64_array(fp: ModuleType) -> None:
    assert fp.to_raw_array((t for t in ["1", "2"]), 0).tolist() == [1, 2]
    assert fp.to_raw_array([], 8).shape == (0,)


def test_to_raw_array_bad_item_raises_naming_item(fp: ModuleType) -> None:
    with pytest.raises(DecimalFormatError, match=r"item 1 of 3") as caught:
        fp.to_raw_array(["1", "1.005", "2"], 2)
    assert caught.value.text == "1.005"
    assert caught.value.reason.startswith(precision(2))


def test_to_raw_array_negative_item_raises(fp: ModuleType) -> None:
    with pytest.raises(DecimalFormatError, match=NEGATIVE):
        fp.to_raw_array(["1", "-1"], 2)


# ------------------------------------------------------------------------------ to_text


@pytest.mark.parametrize(
    ("raw", "decimals", "places", "text"),
    [
        (6173763, 2, 8, "61737.63000000"),
        (6173763, 2, None, "61737.63"),
        (500, 8, None, "0.00000500"),
        (500, 8, 6, "0.000005"),
        (500000000, 8, 0, "5"),
        (37500, 0, None, "37500"),
        (37500, 0, 2, "37500.00"),
        (0, 0, None, "0"),
        (0, 18, None, "0.000000000000000000"),
        (-15, 1, None, "-1.5"),
        (-5, 3, None, "-0.005"),
        (-1500, 3, 1, "-1.5"),
        (INT64_MAX, 0, None, "9223372036854775807"),
        (INT64_MIN, 0, None, "-9223372036854775808"),
        (INT64_MIN, 2, None, "-92233720368547758.08"),
        (INT64_MIN, 18, None, "-9.223372036854775808"),
        (INT64_MIN, 18, 18, "-9.223372036854775808"),
        (INT64_MAX, 18, None, "9.223372036854775807"),
        (1, 18, None, "0.000000000000000001"),
    ],
)
def test_to_text_raw_value_exact_text(
    fp: ModuleType, raw: int, decimals: int, places: int | None, text: str
) -> None:
    assert fp.to_text(raw, decimals, places) == text


@pytest.mark.parametrize("raw", [INT64_MIN, INT64_MIN + 1, -1, 0, 1, 6173763, INT64_MAX])
@pytest.mark.parametrize("decimals", [0, 1, 8, 18])
def test_to_text_then_to_raw_round_trip_same_raw(fp: ModuleType, raw: int, decimals: int) -> None:
    assert fp.to_raw(fp.to_text(raw, decimals), decimals, allow_negative=True) == raw


@pytest.mark.parametrize(("raw", "places"), [(6173763, 1), (-6173763, 0), (1, 17)])
def test_to_text_dropping_non_zero_digit_raises(fp: ModuleType, raw: int, places: int) -> None:
    decimals = 2 if places < 2 else 18
    with pytest.raises(DecimalFormatError, match=f"than the {places} places asked for hold"):
        fp.to_text(raw, decimals, places)


@pytest.mark.parametrize(("decimals", "places"), [(19, None), (-1, None), (2, 19), (2, -1)])
def test_to_text_scale_out_of_range_raises_value_error(
    fp: ModuleType, decimals: int, places: int | None
) -> None:
    with pytest.raises(ValueError, match="must be between 0 and 18"):
        fp.to_text(1, decimals, places)


@pytest.mark.parametrize(("raw", "error"), [(2**63, OverflowError), (1.5, TypeError)])
def test_to_text_raw_not_int64_raises(fp: ModuleType, raw: object, error: type) -> None:
    with pytest.raises(error):
        fp.to_text(raw, 2)


# ------------------------------------------------------------------------------ rescale


@pytest.mark.parametrize(
    ("raw", "from_decimals", "to_decimals", "result"),
    [
        (150, 2, 5, 150000),
        (150000, 5, 2, 150),
        (-150000, 5, 2, -150),
        (7, 3, 3, 7),
        (1, 0, 18, 10**18),
        (INT64_MIN, 0, 0, INT64_MIN),
        (9, 0, 18, 9 * 10**18),
        (10**18, 18, 0, 1),
    ],
)
def test_rescale_exact_change_same_value(
    fp: ModuleType, raw: int, from_decimals: int, to_decimals: int, result: int
) -> None:
    assert fp.rescale(raw, from_decimals, to_decimals) == result


def test_rescale_losing_digit_raises_precision_naming_value(fp: ModuleType) -> None:
    with pytest.raises(DecimalFormatError, match=precision(1)) as caught:
        fp.rescale(-123, 2, 1)
    assert caught.value.text == "-1.23"


@pytest.mark.parametrize(("raw", "to_decimals"), [(10, 18), (-10, 18), (INT64_MAX, 1)])
def test_rescale_too_large_raises_overflow(fp: ModuleType, raw: int, to_decimals: int) -> None:
    with pytest.raises(DecimalFormatError, match=overflow(to_decimals)):
        fp.rescale(raw, 0, to_decimals)


# ------------------------------------------------------------------------ round_to_step


@pytest.mark.parametrize(
    ("raw", "step", "mode", "result"),
    [
        (1234, 100, "down", 1200),
        (1234, 100, "up", 1300),
        (1234, 100, "nearest", 1200),
        (1250, 100, "nearest", 1300),
        (1251, 100, "nearest", 1300),
        (1200, 100, "up", 1200),
        (1200, 100, "down", 1200),
        (-1234, 100, "down", -1300),  # floor: toward -inf
        (-1234, 100, "up", -1200),
        (-1250, 100, "nearest", -1300),  # ties away from zero
        (-1249, 100, "nearest", -1200),
        (5, 1, "up", 5),
        (7, 3, "nearest", 6),
        (8, 3, "nearest", 9),
        (INT64_MAX, INT64_MAX, "down", INT64_MAX),
        (INT64_MAX - 1, INT64_MAX, "nearest", INT64_MAX),
        (INT64_MIN, 2, "down", INT64_MIN),
        (INT64_MIN, INT64_MAX, "up", -INT64_MAX),
        (-3, INT64_MAX, "nearest", 0),
    ],
)
def test_round_to_step_each_mode_multiple(
    fp: ModuleType, raw: int, step: int, mode: str, result: int
) -> None:
    assert fp.round_to_step(raw, step, mode) == result


def test_round_to_step_default_mode_down(fp: ModuleType) -> None:
    assert fp.round_to_step(1299, 100) == 1200


@pytest.mark.parametrize(
    ("raw", "step", "mode"),
    [
        (INT64_MAX, 10, "up"),
        (INT64_MAX, 10, "nearest"),
        (INT64_MIN, 10, "down"),
        (INT64_MIN, 10, "nearest"),
        (INT64_MIN, INT64_MAX, "down"),
    ],
)
def test_round_to_step_beyond_int64_raises(fp: ModuleType, raw: int, step: int, mode: str) -> None:
    with pytest.raises(DecimalFormatError, match="does not fit in 64 bits"):
        fp.round_to_step(raw, step, mode)


@pytest.mark.parametrize(
    ("step", "mode", "message"),
    [
        (0, "down", "step must be positive"),
        (-5, "up", "step must be positive"),
        (10, "half", "mode must be"),
    ],
)
def test_round_to_step_bad_argument_raises_value_error(
    fp: ModuleType, step: int, mode: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fp.round_to_step(100, step, mode)


# ----------------------------------------------------------------------------- notional


@pytest.mark.parametrize(
    ("price_raw", "qty_raw", "decimals", "result"),
    [
        (6173763, 150000000, (2, 8, 4), 926064450),  # 61737.63 * 1.5 = 92606.445
        (6173763, 150000000, (2, 8, 2), 9260644),  # truncated
        (-6173763, 150000000, (2, 8, 2), -9260644),  # toward zero, not floor
        (6173763, 150000000, (2, 8, 10), 926064450000000),  # more places: multiplied
        (10**18, 10**18, (18, 18, 18), 10**18),  # 1 * 1 through a 10**36 product
        (INT64_MAX, INT64_MAX, (18, 18, 0), 85),  # 9.22... ** 2 = 85.07...
        (INT64_MIN, 1, (0, 0, 0), INT64_MIN),
        (0, INT64_MIN, (0, 0, 18), 0),
    ],
)
def test_notional_exact_product_truncated(
    fp: ModuleType,
    price_raw: int,
    qty_raw: int,
    decimals: tuple[int, int, int],
    result: int,
) -> None:
    assert fp.notional(price_raw, qty_raw, *decimals) == result


@pytest.mark.parametrize(
    ("price_raw", "qty_raw", "decimals"),
    [
        (INT64_MIN, -1, (0, 0, 0)),
        (2**32, 2**31, (0, 0, 0)),
        (1, 10, (0, 0, 18)),
        (INT64_MAX, INT64_MAX, (2, 2, 4)),
    ],
)
def test_notional_beyond_int64_raises_naming_operands(
    fp: ModuleType, price_raw: int, qty_raw: int, decimals: tuple[int, int, int]
) -> None:
    with pytest.raises(DecimalFormatError, match="the notional does not fit in 64 bits") as caught:
        fp.notional(price_raw, qty_raw, *decimals)
    price_text = fp.to_text(price_raw, decimals[0])
    assert caught.value.text == f"{price_text} * {fp.to_text(qty_raw, decimals[1])}"


def test_notional_decimals_out_of_range_raises_value_error(fp: ModuleType) -> None:
    with pytest.raises(ValueError, match="out_decimals must be between 0 and 18"):
        fp.notional(1, 1, 2, 8, 19)


# ------------------------------------------------------------------------------ module


def test_fixedpoint_public_api_same_names() -> None:
    names = ["notional", "rescale", "round_to_step", "to_raw", "to_raw_array", "to_text"]
    assert all(callable(getattr(fixedpoint, name)) for name in names)
    assert sorted(reference_fixedpoint.__all__) == names


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("rescale", (1.0, 0, 2)),
        ("round_to_step", (100, 1.0)),
        ("round_to_step", (1.0, 100)),
        ("notional", (1.0, 1, 0, 0, 0)),
        ("notional", (1, 1.0, 0, 0, 0)),
    ],
)
def test_raw_argument_float_raises_type_error(
    fp: ModuleType, call: str, args: tuple[object, ...]
) -> None:
    """A float raw would be truncated by a plain int64 conversion; it must be refused."""
    with pytest.raises(TypeError):
        getattr(fp, call)(*args)
