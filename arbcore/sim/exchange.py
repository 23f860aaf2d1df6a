"""One simulated venue's state, whatever protocol it speaks: markets, ledger, accounts.

A :class:`SimVenue` holds a :class:`~arbcore.sim.engine.MatchingEngine` per market, all settling
into one :class:`~arbcore.sim.accounts.Ledger`, and knows which API key belongs to which
account. The venue's protocol module (``arbcore.sim.venues.<name>``) reads and changes it; the
simulator feeds it the market's liquidity each step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from arbcore.exchanges.symbols import SymbolMap
from arbcore.model import Instrument
from arbcore.sim.accounts import Ledger, asset_decimals
from arbcore.sim.config import AccountConfig
from arbcore.sim.engine import BookChange, MatchingEngine, Trade
from arbcore.sim.market import Targets

__all__ = ["SimVenue"]


class SimVenue:
    """Markets, balances and credentials of one simulated venue."""

    def __init__(
        self,
        name: str,
        instruments: Sequence[Instrument],
        accounts: Sequence[AccountConfig],
        *,
        clock: Callable[[], int] = time.time_ns,
        first_update_id: int = 0,
    ) -> None:
        self.name = name
        self.clock = clock
        self.instruments = tuple(instruments)
        self.symbols = SymbolMap.of(name, instruments)
        self.ledger = Ledger(name, asset_decimals(instruments))
        for account in accounts:
            for asset, amount in sorted(account.balances.items()):
                self.ledger.deposit_text(account.name, asset, amount)
        self._accounts = {account.api_key: account for account in accounts}
        self.engines = {
            instrument.symbol: MatchingEngine(
                instrument, self.ledger, clock=clock, first_update_id=first_update_id
            )
            for instrument in instruments
        }

    def account(self, api_key: str) -> AccountConfig | None:
        return self._accounts.get(api_key)

    def engine(self, native: str) -> MatchingEngine | None:
        """The market of a native symbol (any case), or None."""
        instrument = self.symbols.get(native)
        return None if instrument is None else self.engines[instrument.symbol]

    def apply(self, targets: Mapping[str, Targets]) -> list[Trade]:
        """The market's liquidity for this step, symbol by symbol (trades it caused)."""
        trades: list[Trade] = []
        for symbol, levels in targets.items():
            trades += self.engines[symbol].set_house_levels(levels)
        return trades

    def drain(self) -> list[tuple[Instrument, BookChange]]:
        """Every market's levels changed since the last drain."""
        changes = []
        for engine in self.engines.values():
            change = engine.drain()
            if change is not None:
                changes.append((engine.instrument, change))
        return changes
