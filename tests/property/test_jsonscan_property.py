"""The strict frame scanner against its lenient twin (json + Decimal) on generated frames.

Rule: whatever the scanner accepts it reads exactly as the twin does (values, sides, end
offset); whatever the twin rejects, the scanner rejects too. The scanner may decline more
(escapes, odd shapes): its callers then take their validating path.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arbcore_ext import jsonscan
from arbcore_ext.book import LevelBuffer
from arbcore_ext.reference import jsonscan as twin

SPACE = st.sampled_from(["", " ", "\n  ", "\t"])
decimals_text = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("99999999"), places=8, allow_nan=False
).map(lambda d: format(d, "f"))
number = st.one_of(
    decimals_text,  # plain, possibly with trailing zeros
    decimals_text.map(lambda t: t.rstrip("0").rstrip(".") if "." in t else t),
    st.integers(0, 10**9).map(str),
    st.sampled_from(["1e-5", "2.5E+3", "-1", "0.000000001", "", "abc", "1.2.3", "007"]),
)


@st.composite
def level_array(draw: st.DrawFn) -> str:
    quoted = draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        values = [draw(number), draw(number)]
        extras = draw(st.lists(st.sampled_from(['"r"', "0", '"1734567890.123"', "3"]), max_size=2))
        cells = [f'"{v}"' if quoted else (v or "0") for v in values] + extras
        sep = draw(SPACE)
        rows.append("[" + sep + ("," + sep).join(cells) + sep + "]")
    return "[" + draw(SPACE) + ("," + draw(SPACE)).join(rows) + draw(SPACE) + "]"


def _scan(frame: bytes, price_decimals: int, size_decimals: int):  # type: ignore[no-untyped-def]
    compiled = LevelBuffer(4)
    try:
        end = jsonscan.scan_levels_at(frame, b"b", 1, price_decimals, size_decimals, compiled)
        sides, prices, sizes = compiled.arrays()
        got = (end, list(zip(sides.tolist(), prices.tolist(), sizes.tolist(), strict=True)))
    except jsonscan.ScanError:
        got = None
    reference = twin.Levels()
    try:
        end = twin.scan_levels_at(frame, b"b", 1, price_decimals, size_decimals, reference)
        expected = (end, reference.rows)
    except twin.ScanError:
        expected = None
    return got, expected


@given(
    array=level_array(),
    price_decimals=st.integers(0, 8),
    size_decimals=st.integers(0, 8),
    prefix=st.sampled_from(['{"b":', '{"e":"x", "b" : ', '{"data":{"a":[],"b":']),
)
@example(array='[["61737.63000000","0.00000000"]]', price_decimals=2, size_decimals=8,
         prefix='{"b":')  # fmt: skip
@example(array="[[0,007]]", price_decimals=2, size_decimals=8, prefix='{"b":')  # not JSON
def test_scanner_reads_what_the_twin_reads(
    array: str, price_decimals: int, size_decimals: int, prefix: str
) -> None:
    frame = (prefix + array + "}").encode()
    got, expected = _scan(frame, price_decimals, size_decimals)
    if expected is None:
        assert got is None
    elif got is not None:
        assert got == expected


@given(st.binary(max_size=120), st.sampled_from([b"b", b"U", b"s"]))
def test_scanner_random_bytes_never_crash(frame: bytes, key: bytes) -> None:
    at = jsonscan.find_value(frame, key)
    assert at == twin.find_value(frame, key)
    assert jsonscan.string_value(frame, key) == twin.string_value(frame, key)
    with contextlib.suppress(jsonscan.ScanError):
        jsonscan.scan_levels_at(frame, key, 0, 2, 8, LevelBuffer(2))


@given(
    first=st.integers(0, 2**62), last=st.integers(0, 2**62), quoted=st.booleans(),
    array=level_array(),
)  # fmt: skip
def test_scan_message_matches_the_twin(first: int, last: int, quoted: bool, array: str) -> None:
    number = (lambda v: f'"{v}"') if quoted else str
    frame = (
        f'{{"e":"depthUpdate","U":{number(first)},"u":{number(last)},"b":{array},"a":[]}}'
    ).encode()
    compiled = LevelBuffer(4)
    reference = twin.Levels()
    try:
        got = jsonscan.scan_message(frame, (b"U", b"u"), (b"b", b"a"), 2, 8, compiled)
    except jsonscan.ScanError:
        got = None
    try:
        expected = twin.scan_message(frame, (b"U", b"u"), (b"b", b"a"), 2, 8, reference)
    except twin.ScanError:
        expected = None
    if expected is None:
        assert got is None
    elif got is not None:
        assert got == expected == (first, last)
        sides, prices, sizes = compiled.arrays()
        rows = list(zip(sides.tolist(), prices.tolist(), sizes.tolist(), strict=True))
        assert rows == reference.rows


@st.composite
def plain_decimal(draw: st.DrawFn) -> str:
    """A plain decimal as venues print it: 1-10 integer digits (no leading zero) and 0-12
    fraction digits, often with trailing zeros, so every branch of the 8-byte reader is hit."""
    head: str = draw(st.sampled_from(["0", *"123456789"]))
    whole = head if head == "0" else head + draw(st.text("0123456789", max_size=9))
    fraction = draw(st.text("0123456789", max_size=12)) + "0" * draw(st.integers(0, 8))
    return whole + ("." + fraction[:12] if draw(st.booleans()) else "")


@given(value=plain_decimal(), decimals=st.integers(0, 8), quoted=st.booleans())
@example(value="61824.00000000", decimals=2, quoted=True)  # Binance's price shape
@example(value="4.46356000", decimals=8, quoted=True)  # and its size shape
@example(value="12345678.5", decimals=2, quoted=True)  # eight integer digits
@example(value="1.123456789", decimals=8, quoted=False)  # a ninth fraction digit
@example(value="0.10000000000", decimals=1, quoted=True)  # zeros past the 8-byte word
def test_every_plain_decimal_reads_exactly(value: str, decimals: int, quoted: bool) -> None:
    """Whatever the reader's path (8 bytes at a time or bytewise, long tail or frame end), a
    plain decimal is read exactly when it fits the scale and refused when it does not."""
    cell = f'"{value}"' if quoted else value
    scaled = Decimal(value).scaleb(decimals)
    whole_digits = len(value.split(".")[0])
    representable = scaled == scaled.to_integral_value() and whole_digits + decimals <= 18
    for tail in ("]]}", ']],"a":[["1","1"],["2","2"],["3","3"]]}'):
        frame = f'{{"b":[[{cell},{cell}]{tail}'.encode()
        levels = LevelBuffer(2)
        try:
            jsonscan.scan_levels_at(frame, b"b", 0, decimals, decimals, levels)
        except jsonscan.ScanError:
            assert not representable, (frame, decimals)
            continue
        assert representable, (frame, decimals)
        _, prices, sizes = levels.arrays()
        assert prices.tolist() == sizes.tolist() == [int(scaled)]


@given(st.binary(max_size=40))
def test_scan_int_outside_the_frame_is_refused_not_read(frame: bytes) -> None:
    """A missing key's offset (-1) or one past the end never reads memory beside the frame."""
    for offset in (-1, len(frame), len(frame) + 7):
        with pytest.raises(jsonscan.ScanError):
            jsonscan.scan_int(frame, offset)


def _scaled(value: str, decimals: int) -> int | None:
    """The value at ``decimals`` places, or None when the scanner must refuse it."""
    scaled = Decimal(value).scaleb(decimals)
    whole_digits = len(value.split(".")[0])
    if scaled != scaled.to_integral_value() or whole_digits + decimals > 18:
        return None
    return int(scaled)


@given(
    rows=st.lists(st.tuples(plain_decimal(), plain_decimal()), min_size=1, max_size=8),
    price_decimals=st.integers(0, 8),
    size_decimals=st.integers(0, 8),
)
@example(rows=[("61737.63000000", "0.00012000")] * 3, price_decimals=2, size_decimals=8)
@example(rows=[("1234567.1", "1.5")] * 3, price_decimals=1, size_decimals=8)  # 7 + 8 digits
@example(rows=[("61737.63000001", "1")] * 3, price_decimals=2, size_decimals=0)  # past scale
@example(rows=[("5.123456789", "1.0")] * 3, price_decimals=8, size_decimals=1)  # ninth digit
def test_quoted_levels_read_exactly(
    rows: list[tuple[str, str]], price_decimals: int, size_decimals: int
) -> None:
    """The quoted compact level (``["p","q"]``, one pass per value when short) reads every
    level exactly, whichever reader takes it (the long padding keeps the one-pass reader's
    16-byte loads inside the frame for all but the last levels)."""
    array = ",".join(f'["{price}","{size}"]' for price, size in rows)
    frame = ('{"b":[' + array + '],"a":[' + '["1","1"],' * 4 + '["1","1"]]}').encode()
    expected = [
        (_scaled(price, price_decimals), _scaled(size, size_decimals)) for price, size in rows
    ]
    levels = LevelBuffer(2)
    try:
        jsonscan.scan_levels_at(frame, b"b", 0, price_decimals, size_decimals, levels)
    except jsonscan.ScanError:
        assert any(p is None or s is None for p, s in expected), frame
        return
    _, prices, sizes = levels.arrays()
    assert list(zip(prices.tolist(), sizes.tolist(), strict=True)) == expected


# Bytes a changed level may carry: digits, the punctuation around values, ':' to '?' (a digit's
# high nibble), bytes whose +6 carries (0xFA..0xFF), and those that XOR '0' turns into 0xFA..0xFF
# (0xCA..0xCF: accepted as digits with wrong values before the mask test also checked x itself).
LEVEL_BYTES = b'0123456789.",][ :?x\x00\xfa\xff\xca\xcf'


@st.composite
def shaped_levels(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """Quoted levels that mostly share one shape (integer and fraction digit counts per value,
    1..12 and 0..9), the way a venue prints a frame, so the scanner's remembered-shape path
    reads most of them; up to two of them changed at one byte each, and a scale per value."""

    def value(whole: int, places: int) -> str:
        digits = draw(st.text("0123456789", min_size=whole, max_size=whole))
        kept = draw(st.integers(0, places))
        fraction = draw(st.text("0123456789", min_size=kept, max_size=kept))
        return digits + ("." + fraction + "0" * (places - kept) if places else "")

    shape = draw(st.tuples(st.integers(1, 12), st.integers(0, 9), st.integers(1, 12),
                           st.integers(0, 9)))  # fmt: skip
    rows = [
        f'["{value(shape[0], shape[1])}","{value(shape[2], shape[3])}"]'.encode()
        for _ in range(draw(st.integers(1, 10)))
    ]
    for _ in range(draw(st.integers(0, 2))):
        index = draw(st.integers(0, len(rows) - 1))
        row = bytearray(rows[index])
        row[draw(st.integers(0, len(row) - 1))] = draw(st.sampled_from(LEVEL_BYTES))
        rows[index] = bytes(row)
    return b"[" + b",".join(rows) + b"]", draw(st.integers(0, 8)), draw(st.integers(0, 8))


def _reads_as_the_twin(array: bytes, price_decimals: int, size_decimals: int,
                      padded: bool) -> None:  # fmt: skip
    """``array`` as the frame's bids (asks after it when ``padded``) reads exactly as the twin
    reads it, or is refused when the twin refuses it."""
    tail = b',"a":[' + b'["1","1"],' * 4 + b'["1","1"]]}' if padded else b"}"
    got, expected = _scan(b'{"b":' + array + tail, price_decimals, size_decimals)
    if expected is None:
        assert got is None
    else:
        assert got == expected


@given(levels=shaped_levels(), padded=st.booleans())
@example(  # Binance's shape, then a size with two integer digits, then back
    levels=(b'[["61824.00000000","4.46356000"],["61823.77000000","12.11865000"],'
            b'["61823.64000000","0.09704000"],["61823.38000000","0.00000000"]]', 2, 8),
    padded=True,
)  # fmt: skip
@example(  # sizes of two integer digits read on the short shaped path (learnt, then matched)
    levels=(b'[["61824.00000000","12.46356000"],["61823.77000000","10.11865000"],'
            b'["61823.64000000","99.09704000"]]', 2, 8),
    padded=True,
)  # fmt: skip
@example(levels=(b'[["1.5","2"],["1.5","2"],["1.:","2"],["1.5","2"]]', 1, 0), padded=True)
@example(levels=(b'[["7.25","1.0"],["7.2\xfa","1.0"],["7.25","1.0"]]', 2, 1), padded=True)
@example(levels=(b'[["7.25","1.0"],["7.2\xca","1.0"],["7.25","1.0"]]', 2, 1), padded=True)
@example(  # 7 + 8 digits: the longest value whose closing quote ends its 16 bytes
    levels=(b'[["1234567.12345678","1.5"],["7654321.87654321","2.5"]]', 8, 1), padded=True
)
def test_levels_of_one_shape_read_as_the_twin_reads(
    levels: tuple[bytes, int, int], padded: bool
) -> None:
    """Levels read in a remembered shape read exactly as the twin reads them, and a level that
    differs from the shape anywhere (a digit, the dot, a quote, a bracket) is read as the twin
    reads it or refused when the twin refuses it; levels left unchanged are never refused."""
    array, price_decimals, size_decimals = levels
    _reads_as_the_twin(array, price_decimals, size_decimals, padded)


@given(levels=shaped_levels(), same_scale=st.booleans(), padded=st.booleans())
@example(  # Binance's template learnt from an earlier frame, then a byte 0xCA in a digit's place
    levels=(b'[["61737.63000000","0.00012000"],["61737.6\xca000000","0.00012000"],'
            b'["61737.63000000","0.00012000"]]', 2, 8),
    same_scale=True, padded=True,
)  # fmt: skip
@example(  # two templates in turn (sizes of one and of two integer digits): one slot each
    levels=(b'[["61737.63000000","0.00012000"],["61737.64000000","12.00012000"],'
            b'["61737.65000000","0.10000000"],["61737.66000000","13.50000000"]]', 2, 8),
    same_scale=True, padded=True,
)  # fmt: skip
@example(  # the template's last level closes its array: its ']' read in place of the ','
    levels=(b'[["61737.63000000","0.00012000"],["61737.64000000","1.00000000"]]', 2, 8),
    same_scale=True, padded=False,
)  # fmt: skip
def test_levels_read_with_a_template_learnt_in_an_earlier_frame(
    levels: tuple[bytes, int, int], same_scale: bool, padded: bool
) -> None:
    """The scanner keeps the last level template it learnt (a venue's frames share it): an
    array read with one learnt from an earlier frame (at the same scale or another) reads
    exactly as the twin reads it, its first level included, or is refused when the twin
    refuses it."""
    array, price_decimals, size_decimals = levels
    first = array[1 : array.find(b"]") + 1]
    teacher = b'{"b":[' + first + b"," + first + b"]}"
    taught = (price_decimals, size_decimals) if same_scale else (price_decimals ^ 1, size_decimals)
    with contextlib.suppress(jsonscan.ScanError):
        jsonscan.scan_levels_at(teacher, b"b", 0, *taught, LevelBuffer(2))
    _reads_as_the_twin(array, price_decimals, size_decimals, padded)


@given(
    value=st.one_of(st.integers(0, 10**18 - 1), st.integers(0, 10**16).map(lambda v: v * 100)),
    quoted=st.booleans(),
    tail=st.sampled_from([",", "}", "]", " ", "x", ".5", ".0", "e3", "-", '"']),
    padded=st.booleans(),
)
@example(value=50093239189, quoted=False, tail=",", padded=True)  # Binance's U: 11 digits
@example(value=1723161255208, quoted=False, tail=",", padded=True)  # its E: 13
@example(value=10**15, quoted=True, tail=",", padded=True)  # 16 digits: one at a time
@example(value=10**14, quoted=False, tail=",", padded=True)  # 15: the longest at once
@example(value=12345678, quoted=False, tail=".5", padded=True)  # 8, then not an integer
def test_integers_read_as_the_twin_reads(value: int, quoted: bool, tail: str, padded: bool) -> None:
    """Sequence ids and times read 8 bytes at a time (up to 15 digits) or one at a time read
    exactly as the twin reads them, and what the twin refuses is refused (the scanner may also
    refuse a number the twin stops reading early, such as ``0-``; never one a venue sends)."""
    cell = f'"{value}"' if quoted else str(value)
    frame = ('{"U":' + cell + tail + (',"pad":"' + "x" * 20 + '"}' if padded else "")).encode()
    at = jsonscan.find_value(frame, b"U")
    try:
        got: tuple[int, int] | None = jsonscan.scan_int(frame, at)
    except jsonscan.ScanError:
        got = None
    try:
        expected: tuple[int, int] | None = twin.scan_int(frame, at)
    except twin.ScanError:
        expected = None
    if expected is None:
        assert got is None, (frame, got)
        return
    if quoted or tail in ",}] ":
        assert got is not None, frame
    if got is not None:
        assert got == expected, frame
