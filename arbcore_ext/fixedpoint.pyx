"""Exact conversion between a venue's decimal text and int64 scaled by 10**decimals.

Why: a price of "0.1" has no exact binary float, and one rounding on the way in makes a book
level, a tick check or a checksum silently wrong. So no float is ever involved here: text is
parsed digit by digit into a scaled int64, rendered back the same way, and the arithmetic
helpers (rescale, tick rounding, notional) are exact and overflow checked. Padding zeros
beyond the scale ("61737.63000000" at 2 decimals) are fine; a non-zero digit beyond it is an
error, never a rounding.

The C functions (see fixedpoint.pxd) return a Status; the ``def`` functions below check their
arguments once, call them, and turn a bad status into ``DecimalFormatError``.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_Check, PyByteArray_GET_SIZE
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_Check, PyBytes_GET_SIZE
from cpython.long cimport PyLong_CheckExact
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_Check
from libc.stdint cimport INT64_MAX, int64_t, uint64_t

cimport numpy as cnp

from arbcore_ext._types cimport (
    STATUS_EMPTY,
    STATUS_NEGATIVE,
    STATUS_NOT_FINITE,
    STATUS_OK,
    STATUS_OVERFLOW,
    STATUS_PRECISION,
    STATUS_SYNTAX,
)

import numpy as np

from arbcore_ext.errors import DecimalFormatError

cnp.import_array()

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    bint PyMemoryView_Check(object o)

cdef extern from *:
    """
    /* Checked int64 arithmetic and the 128-bit notional (GCC/Clang builtins). */
    static inline int arb_mul_overflow(int64_t a, int64_t b, int64_t* out) {
        return __builtin_mul_overflow(a, b, out);
    }
    static inline int arb_add_overflow(int64_t a, int64_t b, int64_t* out) {
        return __builtin_add_overflow(a, b, out);
    }
    static inline int arb_sub_overflow(int64_t a, int64_t b, int64_t* out) {
        return __builtin_sub_overflow(a, b, out);
    }
    /* p * q exactly (|p * q| <= 2**126), divided by 10**drop truncating toward zero
       (drop 0..36; two truncating divisions equal one). Returns 1 if it does not fit int64. */
    static inline int arb_notional_i128(int64_t p, int64_t q, int drop, int64_t* out) {
        static const int64_t P10[19] = {
            1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
            100000000LL, 1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL,
            10000000000000LL, 100000000000000LL, 1000000000000000LL, 10000000000000000LL,
            100000000000000000LL, 1000000000000000000LL};
        __int128 prod = (__int128)p * (__int128)q;
        if (drop > 18) { prod /= P10[18]; drop -= 18; }
        prod /= P10[drop];
        if (prod > (__int128)INT64_MAX || prod < (__int128)INT64_MIN) return 1;
        *out = (int64_t)prod;
        return 0;
    }
    """
    int arb_mul_overflow(int64_t a, int64_t b, int64_t* out) noexcept nogil
    int arb_add_overflow(int64_t a, int64_t b, int64_t* out) noexcept nogil
    int arb_sub_overflow(int64_t a, int64_t b, int64_t* out) noexcept nogil
    int arb_notional_i128(int64_t p, int64_t q, int drop, int64_t* out) noexcept nogil

# 10**k as uint64 for k = 0..19 (10**19 < 2**64; used only for the final shift in parsing).
cdef uint64_t _POW10[20]


cdef void _fill_pow10() noexcept:
    cdef int k
    _POW10[0] = 1
    for k in range(1, 20):
        _POW10[k] = _POW10[k - 1] * 10


_fill_pow10()

# An exponent this large already decides the outcome for any text that fits in memory, so the
# parser stops growing it there: no int overflow and no loop proportional to its value.
cdef int64_t _EXPONENT_CLAMP = 1000000000000000   # 10**15


# ---------------------------------------------------------------------------- C level

cdef inline bint _is_digit(char c) noexcept nogil:
    return c'0' <= c <= c'9'


cdef inline char _lower(char c) noexcept nogil:
    return <char>(c + 32) if c'A' <= c <= c'Z' else c


cdef bint _matches_word(const char* s, Py_ssize_t n, const char* word, Py_ssize_t m) noexcept nogil:
    """Whether s[0:n] equals the lowercase ASCII `word` of length m, ignoring case."""
    cdef Py_ssize_t i
    if n != m:
        return False
    for i in range(n):
        if _lower(s[i]) != word[i]:
            return False
    return True


cdef bint _is_not_finite(const char* s, Py_ssize_t n) noexcept nogil:
    return (_matches_word(s, n, b"nan", 3) or _matches_word(s, n, b"snan", 4)
            or _matches_word(s, n, b"inf", 3) or _matches_word(s, n, b"infinity", 8))


cdef int64_t pow10_c(int k) noexcept nogil:
    return <int64_t>_POW10[k]


cdef int parse_decimal_c(const char* s, Py_ssize_t n, int decimals, bint allow_negative,
                         int64_t* out) noexcept nogil:
    cdef Py_ssize_t i = 0, int_start, int_len, frac_start, frac_len = 0, k, total
    cdef bint negative = False, exponent_negative = False
    cdef int64_t exponent = 0, top, shift
    cdef uint64_t limit, limit_div10, limit_mod10, acc = 0, digit
    cdef char c

    # Pass 1: the shape. Sign, mantissa digits, optional exponent, nothing after.
    if i < n and (s[i] == c'+' or s[i] == c'-'):
        negative = s[i] == c'-'
        i += 1
    if i < n and _lower(s[i]) in (c'n', c's', c'i'):
        return STATUS_NOT_FINITE if _is_not_finite(s + i, n - i) else STATUS_SYNTAX
    int_start = i
    while i < n and _is_digit(s[i]):
        i += 1
    int_len = i - int_start
    frac_start = i
    if i < n and s[i] == c'.':
        i += 1
        frac_start = i
        while i < n and _is_digit(s[i]):
            i += 1
        frac_len = i - frac_start
    if int_len + frac_len == 0:
        return STATUS_EMPTY if i == n else STATUS_SYNTAX
    if i < n and (s[i] == c'e' or s[i] == c'E'):
        i += 1
        if i < n and (s[i] == c'+' or s[i] == c'-'):
            exponent_negative = s[i] == c'-'
            i += 1
        if i == n or not _is_digit(s[i]):
            return STATUS_SYNTAX
        while i < n and _is_digit(s[i]):
            if exponent < _EXPONENT_CLAMP:
                exponent = exponent * 10 + (s[i] - c'0')
            i += 1
        if exponent_negative:
            exponent = -exponent
    if i != n:
        return STATUS_SYNTAX
    if negative and not allow_negative:
        return STATUS_NEGATIVE
    if decimals < 0 or decimals > MAX_DECIMALS:
        return STATUS_OVERFLOW

    # Pass 2: the value. Mantissa digit k (integer digits, then fraction digits) is worth
    # 10**(top - 1 - k) raw units, so digits k >= top lie beyond the scale.
    total = int_len + frac_len
    top = int_len + exponent + decimals
    k = top if top > 0 else 0
    while k < total:
        c = s[int_start + k] if k < int_len else s[frac_start + k - int_len]
        if c != c'0':
            return STATUS_PRECISION
        k += 1

    limit = (<uint64_t>INT64_MAX) + negative     # |INT64_MIN| = INT64_MAX + 1
    limit_div10 = limit // 10
    limit_mod10 = limit % 10
    k = 0
    while k < total and k < top:
        c = s[int_start + k] if k < int_len else s[frac_start + k - int_len]
        digit = <uint64_t>(c - c'0')
        if acc > limit_div10 or (acc == limit_div10 and digit > limit_mod10):
            return STATUS_OVERFLOW
        acc = acc * 10 + digit
        k += 1
    if acc != 0 and top > total:
        shift = top - total
        if shift > MAX_DECIMALS or acc > limit // _POW10[shift]:
            return STATUS_OVERFLOW
        acc *= _POW10[shift]
    out[0] = <int64_t>(0 - acc) if negative else <int64_t>acc
    return STATUS_OK


cdef Py_ssize_t format_decimal_c(int64_t raw, int decimals, int places, char* buf) noexcept nogil:
    cdef uint64_t magnitude, whole, fraction, dropped
    cdef int fraction_digits = decimals, j
    cdef Py_ssize_t pos = 0
    cdef char reversed_digits[20]
    cdef int count = 0

    if decimals < 0 or decimals > MAX_DECIMALS or places < 0 or places > MAX_DECIMALS:
        return -STATUS_OVERFLOW
    magnitude = (0 - <uint64_t>raw) if raw < 0 else <uint64_t>raw
    whole = magnitude // _POW10[decimals]
    fraction = magnitude % _POW10[decimals]
    if places < decimals:
        dropped = _POW10[decimals - places]
        if fraction % dropped != 0:
            return -STATUS_PRECISION
        fraction //= dropped
        fraction_digits = places

    if raw < 0:
        buf[pos] = c'-'
        pos += 1
    while True:
        reversed_digits[count] = <char>(c'0' + whole % 10)
        count += 1
        whole //= 10
        if whole == 0:
            break
    while count > 0:
        count -= 1
        buf[pos] = reversed_digits[count]
        pos += 1
    if places > 0:
        buf[pos] = c'.'
        pos += 1
        for j in range(fraction_digits - 1, -1, -1):
            buf[pos + j] = <char>(c'0' + fraction % 10)
            fraction //= 10
        pos += fraction_digits
        for j in range(places - fraction_digits):
            buf[pos] = c'0'
            pos += 1
    return pos


cdef int mul_checked(int64_t a, int64_t b, int64_t* out) noexcept nogil:
    cdef int64_t product
    if arb_mul_overflow(a, b, &product):
        return STATUS_OVERFLOW
    out[0] = product
    return STATUS_OK


cdef int rescale_c(int64_t raw, int from_decimals, int to_decimals, int64_t* out) noexcept nogil:
    cdef int64_t divisor
    if (from_decimals < 0 or from_decimals > MAX_DECIMALS
            or to_decimals < 0 or to_decimals > MAX_DECIMALS):
        return STATUS_OVERFLOW
    if to_decimals >= from_decimals:
        return mul_checked(raw, <int64_t>_POW10[to_decimals - from_decimals], out)
    divisor = <int64_t>_POW10[from_decimals - to_decimals]
    if raw % divisor != 0:
        return STATUS_PRECISION
    out[0] = raw // divisor     # exact, so C's truncating division is fine
    return STATUS_OK


cdef inline int64_t _floor_remainder(int64_t raw, int64_t step) noexcept nogil:
    """raw mod step in [0, step) for step > 0 (C's % truncates toward zero)."""
    cdef int64_t r = raw % step
    return r + step if r < 0 else r


cdef int round_down_to_step(int64_t raw, int64_t step, int64_t* out) noexcept nogil:
    if step <= 0:
        return STATUS_SYNTAX
    # raw - r >= raw - step + 1 > INT64_MIN - step; the check covers raw near INT64_MIN.
    if arb_sub_overflow(raw, _floor_remainder(raw, step), out):
        return STATUS_OVERFLOW
    return STATUS_OK


cdef int round_up_to_step(int64_t raw, int64_t step, int64_t* out) noexcept nogil:
    cdef int64_t r
    if step <= 0:
        return STATUS_SYNTAX
    r = _floor_remainder(raw, step)
    if r == 0:
        out[0] = raw
        return STATUS_OK
    # raw + (step - r), not (raw - r) + step: the floor may not fit when the ceiling does.
    if arb_add_overflow(raw, step - r, out):
        return STATUS_OVERFLOW
    return STATUS_OK


cdef int round_nearest_to_step(int64_t raw, int64_t step, int64_t* out) noexcept nogil:
    cdef int64_t r
    if step <= 0:
        return STATUS_SYNTAX
    r = _floor_remainder(raw, step)
    # Compare r with step - r rather than 2 * r with step: no overflow for any step.
    if r < step - r or (r == step - r and raw < 0):
        return round_down_to_step(raw, step, out)
    return round_up_to_step(raw, step, out)


cdef int notional_raw_c(int64_t price_raw, int64_t qty_raw, int out_decimals_drop,
                        int64_t* out) noexcept nogil:
    cdef int64_t truncated
    if out_decimals_drop < -MAX_DECIMALS or out_decimals_drop > 2 * MAX_DECIMALS:
        return STATUS_OVERFLOW
    if out_decimals_drop >= 0:
        if arb_notional_i128(price_raw, qty_raw, out_decimals_drop, out):
            return STATUS_OVERFLOW
        return STATUS_OK
    if arb_notional_i128(price_raw, qty_raw, 0, &truncated):
        return STATUS_OVERFLOW
    return mul_checked(truncated, <int64_t>_POW10[-out_decimals_drop], out)


# ---------------------------------------------------------------------------- Python level

cdef object _index(object value, str name):
    """The value as an int; a float is refused, not truncated (Cython's int64_t would)."""
    if PyLong_CheckExact(value):
        return value
    try:
        return value.__index__()
    except AttributeError:
        raise TypeError(f"{name} must be an int, was {type(value).__name__}") from None


cdef int64_t _as_int64(object value, str name) except? -1:
    """An int that fits int64 (OverflowError otherwise, as for any int64 argument)."""
    return _index(value, name)


cdef int _check_decimals(object value, str name) except -1:
    """An int in 0..MAX_DECIMALS, else TypeError / ValueError naming the argument."""
    cdef object index = _index(value, name)
    if not 0 <= index <= MAX_DECIMALS:
        raise ValueError(f"{name} must be between 0 and {MAX_DECIMALS}, was {index}")
    return <int>index


cdef str _reason(int status, int decimals):
    """The plain-words reason for a parse status."""
    if status == STATUS_EMPTY:
        return "no digits"
    if status == STATUS_NOT_FINITE:
        return "not a finite number"
    if status == STATUS_NEGATIVE:
        return "negative values are not allowed here"
    if status == STATUS_PRECISION:
        return f"more decimal places than the scale of {decimals} holds"
    if status == STATUS_OVERFLOW:
        return f"does not fit in 64 bits at {decimals} decimals"
    return "not a decimal number (expected digits, an optional '.' and an optional exponent)"


cdef int _parse_object(object text, int decimals, bint allow_negative, int64_t* out) except -1:
    """Parse str (ASCII) / bytes / bytearray / memoryview in place; returns the status."""
    cdef const char* data
    cdef Py_ssize_t size
    cdef Py_buffer view
    cdef int status
    if PyUnicode_Check(text):
        if not PyUnicode_IS_ASCII(text):
            return STATUS_SYNTAX
        data = PyUnicode_AsUTF8AndSize(text, &size)    # ASCII: the str's own buffer, no copy
    elif PyBytes_Check(text):
        data = PyBytes_AS_STRING(text)
        size = PyBytes_GET_SIZE(text)
    elif PyByteArray_Check(text):
        data = PyByteArray_AS_STRING(text)
        size = PyByteArray_GET_SIZE(text)
    elif PyMemoryView_Check(text):
        PyObject_GetBuffer(text, &view, PyBUF_SIMPLE)
        status = parse_decimal_c(<const char*>view.buf, view.len, decimals, allow_negative, out)
        PyBuffer_Release(&view)
        return status
    else:
        raise TypeError(
            f"decimal text must be str, bytes, bytearray or memoryview, was {type(text).__name__}"
            " (numbers are not accepted: a float has already lost the exact value)"
        )
    # No `with nogil` for one value: releasing the GIL costs more than the parse.
    return parse_decimal_c(data, size, decimals, allow_negative, out)


cdef object _readable(object text):
    """The text as the error should show it: bytes for buffers, the object otherwise."""
    if PyByteArray_Check(text) or PyMemoryView_Check(text):
        return bytes(text)
    return text


def to_raw(text, decimals, *, bint allow_negative=False):
    """Parse decimal text exactly into an int scaled by 10**decimals."""
    cdef int scale = _check_decimals(decimals, "decimals")
    cdef int64_t raw = 0
    cdef int status = _parse_object(text, scale, allow_negative, &raw)
    if status != STATUS_OK:
        raise DecimalFormatError(_readable(text), _reason(status, scale))
    return raw


def to_raw_array(texts, decimals, *, bint allow_negative=False):
    """Parse many decimal texts into one new int64 array (one call, not one per value)."""
    cdef int scale = _check_decimals(decimals, "decimals")
    cdef object items = texts if isinstance(texts, (list, tuple)) else list(texts)
    cdef Py_ssize_t count = len(items), i
    cdef cnp.ndarray result = np.empty(count, dtype=np.int64)
    cdef int64_t* raw = <int64_t*>cnp.PyArray_DATA(result)
    cdef int status
    for i in range(count):
        text = items[i]
        status = _parse_object(text, scale, allow_negative, &raw[i])
        if status != STATUS_OK:
            raise DecimalFormatError(
                _readable(text), f"{_reason(status, scale)} (item {i} of {count})"
            )
    return result


cdef str _text(int64_t raw, int decimals, int places):
    """Render; the caller has checked that nothing non-zero is dropped."""
    cdef char buf[FORMAT_BUFFER_SIZE]
    cdef Py_ssize_t length = format_decimal_c(raw, decimals, places, buf)
    return buf[:length].decode("ascii")


def to_text(raw, decimals, places=None):
    """Render raw / 10**decimals with exactly `places` digits after the point."""
    cdef int64_t value = _as_int64(raw, "raw")
    cdef int scale = _check_decimals(decimals, "decimals")
    cdef int digits = scale if places is None else _check_decimals(places, "places")
    cdef char buf[FORMAT_BUFFER_SIZE]
    cdef Py_ssize_t length = format_decimal_c(value, scale, digits, buf)
    if length < 0:
        raise DecimalFormatError(
            _text(value, scale, scale), f"more decimal places than the {digits} places asked for hold"
        )
    return buf[:length].decode("ascii")


def rescale(raw, from_decimals, to_decimals):
    """The same value at another scale, exactly: as if to_text at one and to_raw at the other."""
    cdef int64_t value = _as_int64(raw, "raw")
    cdef int source = _check_decimals(from_decimals, "from_decimals")
    cdef int target = _check_decimals(to_decimals, "to_decimals")
    cdef int64_t result = 0
    cdef int status = rescale_c(value, source, target, &result)
    if status != STATUS_OK:
        raise DecimalFormatError(_text(value, source, source), _reason(status, target))
    return result


def round_to_step(raw, step, str mode not None="down"):
    """Round to a multiple of step: "down" = floor, "up" = ceiling, "nearest" = ties away from 0."""
    cdef int64_t value = _as_int64(raw, "raw")
    cdef int64_t multiple = _as_int64(step, "step")
    cdef int64_t result = 0
    cdef int status
    if multiple <= 0:
        raise ValueError(f"step must be positive, was {multiple}")
    if mode == "down":
        status = round_down_to_step(value, multiple, &result)
    elif mode == "up":
        status = round_up_to_step(value, multiple, &result)
    elif mode == "nearest":
        status = round_nearest_to_step(value, multiple, &result)
    else:
        raise ValueError(f"mode must be 'down', 'up' or 'nearest', was {mode!r}")
    if status != STATUS_OK:
        raise DecimalFormatError(
            value, f"rounding {mode} to a multiple of {multiple} does not fit in 64 bits"
        )
    return result


def notional(price_raw, qty_raw, price_decimals, qty_decimals, out_decimals):
    """price * qty at out_decimals, exact and truncated toward zero; overflow is an error."""
    cdef int64_t price = _as_int64(price_raw, "price_raw")
    cdef int64_t qty = _as_int64(qty_raw, "qty_raw")
    cdef int price_scale = _check_decimals(price_decimals, "price_decimals")
    cdef int qty_scale = _check_decimals(qty_decimals, "qty_decimals")
    cdef int out_scale = _check_decimals(out_decimals, "out_decimals")
    cdef int64_t result = 0
    if notional_raw_c(price, qty, price_scale + qty_scale - out_scale, &result):
        raise DecimalFormatError(
            f"{_text(price, price_scale, price_scale)} * {_text(qty, qty_scale, qty_scale)}",
            f"the notional does not fit in 64 bits at {out_scale} decimals",
        )
    return result
