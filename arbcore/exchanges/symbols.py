"""Native symbol -> Instrument, the one place a venue package turns wire names into arbcore's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from arbcore.model import Instrument

__all__ = ["SymbolMap"]


@attrs.frozen
class SymbolMap:
    """A venue's instruments by native symbol (case-insensitive: streams often lowercase it)."""

    venue: str
    by_native: Mapping[str, Instrument]
    by_symbol: Mapping[str, Instrument] = attrs.field(init=False)

    @by_symbol.default
    def _index_unified(self) -> Mapping[str, Instrument]:
        return {instrument.symbol: instrument for instrument in self.by_native.values()}

    @classmethod
    def of(cls, venue: str, instruments: Iterable[Instrument]) -> SymbolMap:
        return cls(venue, {i.native_symbol.upper(): i for i in instruments if i.venue == venue})

    def get(self, native: str) -> Instrument | None:
        return self.by_native.get(native.upper())

    def __len__(self) -> int:
        return len(self.by_native)
