"""Strictly turn parsed TOML into frozen attrs classes: every mistake is a clear ConfigError.

Why not a library: the rules are few and all of them matter with money at stake. An unknown key
is an error (a misspelt limit must not silently fall back to its default), a wrong type is an
error (``"100"`` is not 100; an int is accepted where a float is expected, never the reverse),
and each class's own validators reject impossible values. Every error names the file, the dotted
key and what was expected.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from arbcore.errors import ConfigError

__all__ = ["build", "describe", "fraction", "non_negative", "positive"]

T = TypeVar("T")


def build(cls: type[T], data: Any, *, file: str | None, key: str = "") -> T:
    """An instance of the attrs class ``cls`` from ``data`` (a TOML table), strictly."""
    return typing.cast(T, _value(cls, data, file, key))


def _where(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _value(kind: Any, data: Any, file: str | None, key: str) -> Any:
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _value(option, data, file, key)
            except ConfigError:
                continue
        raise ConfigError(f"expected {describe(kind)}, was {_shown(data)}", file=file, key=key)
    if origin is typing.Literal:
        if data not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"expected one of {choices}, was {_shown(data)}", file=file, key=key)
        return data
    if attrs.has(kind):
        return _instance(kind, data, file, key)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(data)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in kind)
            raise ConfigError(f"expected one of {choices}, was {_shown(data)}", file=file,
                              key=key) from None  # fmt: skip
    if origin is tuple:
        if not isinstance(data, list):
            raise ConfigError(f"expected a list, was {_shown(data)}", file=file, key=key)
        item = args[0]
        return tuple(_value(item, v, file, f"{key}[{i}]") for i, v in enumerate(data))
    if origin in (dict, Mapping):
        if not isinstance(data, dict):
            raise ConfigError(f"expected a table, was {_shown(data)}", file=file, key=key)
        value_kind = args[1]
        return types.MappingProxyType(
            {str(k): _value(value_kind, v, file, _where(key, str(k))) for k, v in data.items()}
        )
    return _scalar(kind, data, file, key)


def _scalar(kind: Any, data: Any, file: str | None, key: str) -> Any:
    if kind is bool:
        ok = isinstance(data, bool)
    elif kind is int:
        ok = isinstance(data, int) and not isinstance(data, bool)
    elif kind is float:
        ok = isinstance(data, int | float) and not isinstance(data, bool)
        data = float(data) if ok else data
    elif kind is str:
        ok = isinstance(data, str)
    elif kind is Any:
        ok = True
    else:
        raise TypeError(f"config field type {kind!r} is not supported")
    if not ok:
        raise ConfigError(f"expected {describe(kind)}, was {_shown(data)}", file=file, key=key)
    return data


def _instance(cls: type[Any], data: Any, file: str | None, key: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"expected a table, was {_shown(data)}", file=file, key=key or None)
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in attrs.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"unknown key (known keys here: {known})", file=file,
                          key=_where(key, unknown[0]))  # fmt: skip
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = _value(hints[name], data[name], file, _where(key, name))
        elif field.default is attrs.NOTHING:
            raise ConfigError(f"missing (expected {describe(hints[name])})", file=file,
                              key=_where(key, name))  # fmt: skip
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        bad = getattr(exc, "config_key", None)
        where = _where(key, bad) if bad else key or None
        raise ConfigError(str(exc), file=file, key=where) from exc


def describe(kind: Any) -> str:
    """A reader's name for a type: ``a number``, ``one of 'shadow', 'live'``, ``a list of ...``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        return f"a list of {describe(args[0])}"
    if attrs.has(kind) or origin is not None:
        return "a table"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _BadValue(ValueError):
    """A validator's refusal that knows which key it was about."""

    def __init__(self, key: str, reason: str) -> None:
        self.config_key = key
        super().__init__(reason)


def positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise _BadValue(attribute.name, f"must be greater than 0, was {value}")


def non_negative(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value < 0:
        raise _BadValue(attribute.name, f"must be 0 or more, was {value}")


def fraction(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not 0 <= value <= 1:
        raise _BadValue(attribute.name, f"must be between 0 and 1, was {value}")
