"""API credentials, from the environment only, never shown.

One scheme for every venue: ``<VENUE>_API_KEY``, ``<VENUE>_SECRET_KEY`` and, for the venues that
have one (OKX, KuCoin), ``<VENUE>_PASSPHRASE``; for example ``BINANCE_API_KEY``,
``OKX_PASSPHRASE``. The secret and passphrase never appear in a repr, a log line or an
exception; the key shows only its last four characters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from arbcore.errors import ConfigError

__all__ = ["Credentials", "env_names"]

PASSPHRASE_VENUES = frozenset({"okx", "kucoin"})


def _masked(value: str) -> str:
    return f"…{value[-4:]}" if len(value) > 8 else "…"


@attrs.frozen(repr=False)
class Credentials:
    """What a venue needs to sign a request. Build with :meth:`from_env`."""

    api_key: str
    secret: str
    passphrase: str | None = None

    def __repr__(self) -> str:
        extra = ", passphrase=<redacted>" if self.passphrase is not None else ""
        return f"Credentials(api_key={_masked(self.api_key)!r}, secret=<redacted>{extra})"

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never be shown (for log redaction)."""
        return tuple(v for v in (self.api_key, self.secret, self.passphrase) if v)

    @classmethod
    def from_env(cls, venue: str, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read the venue's variables; ConfigError naming the missing ones (never a value)."""
        env = os.environ if environ is None else environ
        names = env_names(venue)
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise ConfigError(
                f"{venue} credentials incomplete: set {', '.join(missing)} in the environment",
                key=missing[0],
            )
        values = [env[name] for name in names]
        return cls(*values)


def env_names(venue: str) -> tuple[str, ...]:
    """The environment variables a venue's credentials come from, in Credentials order."""
    prefix = venue.upper()
    names = (f"{prefix}_API_KEY", f"{prefix}_SECRET_KEY")
    return names + ((f"{prefix}_PASSPHRASE",) if venue.lower() in PASSPHRASE_VENUES else ())
