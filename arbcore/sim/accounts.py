"""Balances per account and asset on one simulated venue, exact.

Every amount is a raw integer at the asset's decimals (:func:`asset_decimals`), chosen so that
every trade settles without rounding: a base amount has the size decimals of every market the
asset is the base of, a quote amount has price + size decimals of every market it quotes. So a
trade moves exactly ``price * size`` and the ledger's totals are conserved to the last unit,
which the property tests check.

An order locks what it may spend (:meth:`Ledger.lock`); fills pay from the lock and credit the
counterparty, fees go to the :data:`FEES` account, and what an order did not use is unlocked when
it ends. :data:`HOUSE` is the simulated rest of the market: it holds no locks, pays no fees, and
its balances may go negative (it stands for every other participant at once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from arbcore.errors import ConfigError, InsufficientFunds
from arbcore.model import Instrument
from arbcore_ext.fixedpoint import to_raw, to_text

__all__ = [
    "DEFAULT_ASSET_DECIMALS",
    "FEES",
    "HOUSE",
    "INT64_MAX",
    "AssetBalance",
    "Ledger",
    "asset_decimals",
]

HOUSE = "~house"  # the simulated other participants (never an API account's name)
FEES = "~fees"  # where every fee goes
INT64_MAX = 2**63 - 1
#: decimals of an asset that no listed market trades (Binance's asset precision)
DEFAULT_ASSET_DECIMALS = 8


def asset_decimals(instruments: Iterable[Instrument]) -> dict[str, int]:
    """The decimals each asset needs so that every trade of these markets settles exactly."""
    decimals: dict[str, int] = {}
    for instrument in instruments:
        base_need = instrument.size_decimals
        quote_need = instrument.price_decimals + instrument.size_decimals
        decimals[instrument.base] = max(decimals.get(instrument.base, 0), base_need)
        decimals[instrument.quote] = max(decimals.get(instrument.quote, 0), quote_need)
    too_fine = {asset: places for asset, places in decimals.items() if places > 18}
    if too_fine:
        raise ConfigError(f"assets need more than 18 decimals to settle exactly: {too_fine}")
    return decimals


@attrs.frozen(kw_only=True)
class AssetBalance:
    """One asset of one account: raw amounts at ``decimals``."""

    asset: str
    free: int
    locked: int
    decimals: int

    @property
    def locked_text(self) -> str:
        return to_text(self.locked, self.decimals)


@attrs.define(slots=True)
class _Holding:
    free: int = 0
    locked: int = 0


class Ledger:
    """Every account's balances on one venue (see the module docstring)."""

    def __init__(self, venue: str, decimals: Mapping[str, int]) -> None:
        self.venue = venue
        self._decimals = dict(decimals)
        self._holdings: dict[tuple[str, str], _Holding] = {}

    def decimals(self, asset: str) -> int:
        return self._decimals.get(asset, DEFAULT_ASSET_DECIMALS)

    def deposit_text(self, account: str, asset: str, amount: str) -> None:
        """Credit ``amount`` (decimal text) of ``asset``: how configured balances arrive."""
        self.credit(account, asset, to_raw(amount, self.decimals(asset)))

    def balance(self, account: str, asset: str) -> AssetBalance:
        holding = self._holdings.get((account, asset), _Holding())
        return AssetBalance(
            asset=asset, free=holding.free, locked=holding.locked, decimals=self.decimals(asset)
        )

    def balances(self, account: str) -> list[AssetBalance]:
        """The account's assets, sorted by name (every asset it ever held)."""
        assets = sorted(asset for owner, asset in self._holdings if owner == account)
        return [self.balance(account, asset) for asset in assets]

    def totals(self) -> dict[str, int]:
        """Free plus locked per asset over every account (the house and fees included)."""
        totals: dict[str, int] = {}
        for (_, asset), holding in self._holdings.items():
            totals[asset] = totals.get(asset, 0) + holding.free + holding.locked
        return totals

    # -- movements ------------------------------------------------------------------------------

    def lock(self, account: str, asset: str, amount: int) -> None:
        """Move ``amount`` from free to locked; InsufficientFunds when free holds less."""
        if account == HOUSE or amount == 0:
            return
        holding = self._holding(account, asset)
        if holding.free < amount:
            raise InsufficientFunds(
                f"{account} has {to_text(holding.free, self.decimals(asset))} {asset} free, "
                f"the order needs {to_text(amount, self.decimals(asset))}",
                venue=self.venue,
            )
        holding.free -= amount
        holding.locked += amount

    def unlock(self, account: str, asset: str, amount: int) -> None:
        """Return ``amount`` an order locked but did not use."""
        if account == HOUSE or amount == 0:
            return
        holding = self._holding(account, asset)
        if holding.locked < amount:
            raise AssertionError(f"{account} unlocks more {asset} than it locked")
        holding.locked -= amount
        holding.free += amount

    def pay(self, account: str, asset: str, amount: int) -> None:
        """Spend ``amount`` out of the account's lock (the house spends from free)."""
        holding = self._holding(account, asset)
        if account == HOUSE:
            holding.free -= amount
            return
        if holding.locked < amount:
            raise AssertionError(f"{account} pays more {asset} than it locked")
        holding.locked -= amount

    def credit(self, account: str, asset: str, amount: int) -> None:
        holding = self._holding(account, asset)
        if holding.free + amount > INT64_MAX:
            raise OverflowError(f"{account} {asset} balance would not fit int64")
        holding.free += amount

    def _holding(self, account: str, asset: str) -> _Holding:
        key = (account, asset)
        holding = self._holdings.get(key)
        if holding is None:
            holding = self._holdings[key] = _Holding()
        return holding
