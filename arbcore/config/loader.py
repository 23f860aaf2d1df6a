"""Load the configuration hierarchy: base, overrides, companion files, environment.

Order (later wins): the base file named by ``extends`` (recursively), then the file itself,
then the environment: ``ARBCORE_LOG`` (log level) and ``MAX_MEMORY_GB``. ``SYSTEM_ENV=test``
(or ``production``) makes :func:`load_config` on a directory read ``<env>_system.toml`` there
instead of ``system.toml``. Companion files sit beside the system file: ``system_limits.toml``,
``slippage/<venue>.toml``, ``shadow_trading/default.toml`` (each optional; defaults otherwise).
Tables merge key by key; any other value (lists included) is replaced.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from arbcore.config.build import build
from arbcore.config.schema import AppConfig, ShadowConfig, SystemConfig, SystemLimits, VenueCosts
from arbcore.errors import ConfigError

__all__ = ["load_config", "masked", "merged_system_table", "read_toml"]

MAX_EXTENDS = 8


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from None


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merged_system_table(path: Path) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The system table after following ``extends`` to the base; and the files, base first."""
    chain: list[Path] = []
    current: Path | None = path
    while current is not None:
        if current in chain:
            raise ConfigError("'extends' loops back to a file already read", file=str(current),
                              key="extends")  # fmt: skip
        if len(chain) == MAX_EXTENDS:
            raise ConfigError(f"more than {MAX_EXTENDS} levels of 'extends'", file=str(current))
        chain.append(current)
        table = read_toml(current)
        base = table.get("extends")
        if base is not None and not isinstance(base, str):
            raise ConfigError(f"expected a file name, was {base!r}", file=str(current),
                              key="extends")  # fmt: skip
        current = (current.parent / base) if base else None
    merged: dict[str, Any] = {}
    for file in reversed(chain):
        table = dict(read_toml(file))
        table.pop("extends", None)
        merged = _merge(merged, table)
    return merged, tuple(str(p) for p in reversed(chain))


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> AppConfig:
    """Load, merge and validate everything; ConfigError naming file, key and reason."""
    env = os.environ if environ is None else environ
    path = Path(path)
    if path.is_dir():
        system_env = env.get("SYSTEM_ENV", "").strip().lower()
        path = path / (f"{system_env}_system.toml" if system_env else "system.toml")
    table, sources = merged_system_table(path)
    if env.get("ARBCORE_LOG"):
        table = _merge(table, {"logging": {"level": env["ARBCORE_LOG"].upper()}})
    system = _build_merged(SystemConfig, table, sources)
    folder = path.parent
    limits_table = _optional(folder / "system_limits.toml")
    if env.get("MAX_MEMORY_GB"):
        limits_table = _merge(limits_table, {"max_memory_gb": _number(env["MAX_MEMORY_GB"])})
    limits = build(SystemLimits, limits_table, file=str(folder / "system_limits.toml"))
    costs = {
        file.stem: build(VenueCosts, read_toml(file), file=str(file))
        for file in sorted((folder / "slippage").glob("*.toml"))
    }
    shadow_file = folder / "shadow_trading" / "default.toml"
    shadow = build(ShadowConfig, _optional(shadow_file), file=str(shadow_file))
    return AppConfig(system=system, limits=limits, costs=costs, shadow=shadow, sources=sources)


def _build_merged(cls: type[SystemConfig], table: dict[str, Any], sources: tuple[str, ...]
                  ) -> SystemConfig:  # fmt: skip
    try:
        return build(cls, table, file=sources[-1])
    except ConfigError as exc:
        if len(sources) == 1 or exc.key is None:
            raise
        owner = _owner(exc.key, sources)  # name the file that actually set the bad key
        raise ConfigError(exc.reason, file=owner, key=exc.key) from None


def _owner(key: str, sources: tuple[str, ...]) -> str:
    parts = [p.split("[")[0] for p in key.split(".")]
    for source in reversed(sources):
        node: Any = read_toml(Path(source))
        for part in parts:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return source
    return sources[-1]


def _optional(path: Path) -> dict[str, Any]:
    return read_toml(path) if path.exists() else {}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"expected a number, was {text!r}", key="MAX_MEMORY_GB") from None


_SECRET_WORDS = ("secret", "token", "password", "passphrase", "api_key", "apikey")


def masked(config: AppConfig) -> dict[str, Any]:
    """The merged configuration as plain data, any secret-looking value masked.

    Credentials never belong in configuration files (they come from the environment), but a
    user may still paste one into a URL or a key: ``check-config`` output must not show it.
    """
    plain = attrs.asdict(config, value_serializer=lambda _i, _a, v: dict(v)
                         if isinstance(v, Mapping) else v)  # fmt: skip
    masked_plain: dict[str, Any] = _mask(plain)
    return masked_plain


def _mask(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _mask(v, k) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_mask(v, key) for v in node]
    if isinstance(node, str) and any(word in key.lower() for word in _SECRET_WORDS):
        return "***"
    if isinstance(node, str) and "@" in node and "://" in node:  # user:password@host URLs
        scheme, _, rest = node.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return node
