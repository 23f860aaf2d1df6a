"""What a simulation is: venues, markets, seed, accounts, market behaviour and faults.

Frozen attrs values checked when built: an unknown venue, a symbol without rules or prices, two
accounts sharing a name or an API key are :class:`~arbcore.errors.ConfigError` at once, not a
surprise later. The default account's key and secret are public test values: the simulator only
ever listens on 127.0.0.1. :func:`credential_accounts` opens a venue's account with the keys a
client will sign with (``arbcore run --live`` on loopback with made-up keys).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping

import attrs

from arbcore.errors import ConfigError
from arbcore.exchanges.base import FeeSchedule
from arbcore.exchanges.credentials import Credentials, env_names
from arbcore.exchanges.registry import VENUE_NAMES
from arbcore.sim.catalog import market_spec
from arbcore.sim.faults import FaultConfig
from arbcore.sim.market import MarketConfig

__all__ = ["DEFAULT_ACCOUNT", "AccountConfig", "SimConfig", "credential_accounts"]


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"a,b"`` or an iterable of names as a tuple (the CLI passes comma lists)."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item.strip())


@attrs.frozen(kw_only=True)
class AccountConfig:
    """An account every simulated venue opens: its API credentials and starting balances
    (decimal text per asset). ``passphrase``: what OKX and KuCoin keys also need."""

    name: str
    api_key: str
    secret: str = attrs.field(repr=False)
    balances: Mapping[str, str] = attrs.field(factory=dict)
    passphrase: str | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.name or self.name.startswith("~"):
            raise ConfigError(f"account name {self.name!r} must be non-empty, not '~...'")


DEFAULT_ACCOUNT = AccountConfig(
    name="trader",
    api_key="arbcore-sim-key",
    secret="arbcore-sim-secret",
    passphrase="arbcore-sim-passphrase",
    balances={"USDT": "1000000", "USDC": "1000000", "BTC": "10", "ETH": "200", "SOL": "2000"},
)


def _kraken_secret(private_key: str) -> str:
    """The account secret whose Base64 is ``private_key`` (Kraken's API secret is Base64)."""
    try:
        return base64.b64decode(private_key, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ConfigError(
            "the simulator takes a Kraken secret that is the Base64 of UTF-8 text (make one "
            "up: `printf my-secret | base64`)",
            key=env_names("kraken")[1],
        ) from None


def credential_accounts(
    credentials: Mapping[str, Credentials], base: AccountConfig = DEFAULT_ACCOUNT
) -> dict[str, tuple[AccountConfig, ...]]:
    """Per venue, ``base``'s account opened with that venue's credentials instead of its own
    (for :attr:`SimConfig.venue_accounts`): a client signing with them trades on it."""
    accounts: dict[str, tuple[AccountConfig, ...]] = {}
    for venue, keys in credentials.items():
        secret = _kraken_secret(keys.secret) if venue == "kraken" else keys.secret
        accounts[venue] = (attrs.evolve(base, api_key=keys.api_key, secret=secret,
                                        passphrase=keys.passphrase),)  # fmt: skip
    return accounts


@attrs.frozen(kw_only=True)
class SimConfig:
    """One simulation. ``step_interval_s`` is how often the market moves and books publish;
    ``ports`` maps venues to fixed ports (0 or absent: any free one); ``venue_accounts`` gives
    a venue accounts of its own instead of ``accounts``."""

    venues: tuple[str, ...] = attrs.field(default=("binance",), converter=_names)
    symbols: tuple[str, ...] = attrs.field(default=("BTC/USDT",), converter=_names)
    seed: int = 0
    step_interval_s: float = 0.1
    market: MarketConfig = attrs.field(factory=MarketConfig)
    faults: FaultConfig = attrs.field(factory=FaultConfig)
    venue_faults: Mapping[str, FaultConfig] = attrs.field(factory=dict)
    accounts: tuple[AccountConfig, ...] = (DEFAULT_ACCOUNT,)
    venue_accounts: Mapping[str, tuple[AccountConfig, ...]] = attrs.field(factory=dict)
    fees: Mapping[str, FeeSchedule] = attrs.field(factory=dict)
    ports: Mapping[str, int] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        unknown = [venue for venue in self.venues if venue not in VENUE_NAMES]
        if unknown or not self.venues:
            raise ConfigError(
                f"venues {unknown or '(none)'} are not among {', '.join(VENUE_NAMES)}",
                key="venues",
            )
        if not self.symbols:
            raise ConfigError("at least one symbol is needed", key="symbols")
        for symbol in self.symbols:
            market_spec(symbol, self.market.prices)
        if self.step_interval_s <= 0:
            raise ConfigError(f"must be > 0, was {self.step_interval_s}", key="step_interval_s")
        for venue in self.venues:
            for key in ("name", "api_key"):
                values = [getattr(account, key) for account in self.accounts_of(venue)]
                if len(set(values)) != len(values):
                    raise ConfigError(f"two {venue} accounts share one {key}", key="accounts")
        stray = set(self.venue_faults) | set(self.fees) | set(self.ports) | set(self.venue_accounts)
        if stray - set(self.venues):
            raise ConfigError(
                f"settings for venues not simulated: {sorted(stray - set(self.venues))}"
            )

    def accounts_of(self, venue: str) -> tuple[AccountConfig, ...]:
        """The accounts ``venue`` opens."""
        return self.venue_accounts.get(venue, self.accounts)
