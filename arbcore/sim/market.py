"""The simulated market: one seeded price process, each venue's view of it, and its depth.

- :class:`PriceProcess`: every asset's dollar price is a log random walk (correlated through a
  common factor, stable coins fixed), calm most of the time with volatility bursts. A symbol's
  price is base over quote, so the markets of one venue start out free of triangular arbitrage.
- :class:`VenueView`: what one venue shows: the shared prices ``lag_steps`` late, times its own
  slowly varying noise, and now and then a dislocation (a symbol on one venue pushed some basis
  points away for a few steps) at ``dislocation_rate`` per venue, symbol and step. Lags, noise
  and dislocations are where the cross-venue and triangular opportunities come from, at a rate
  the configuration controls.
- :class:`Ladder`: the resting liquidity around a venue's price: a touch about
  ``half_spread_bps`` either side, then levels on a fixed grid ``level_spacing_bps`` apart
  (fixed, so a small move changes a few levels, not all), sizes worth about
  ``level_value_usd`` growing with distance, a few redrawn every step.

Prices and sizes come out as raw integers on the instrument's tick and lot grids; floats are only
the process's internal state. Everything is a pure function of the seed and the step count:
orders placed by accounts never change what the market does next (its liquidity just returns).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from arbcore.errors import ConfigError
from arbcore.model import Instrument
from arbcore.sim.catalog import REFERENCE_PRICES, STABLE_ASSETS
from arbcore_ext.book import ASK, BID

__all__ = ["Ladder", "Market", "MarketConfig", "PriceProcess", "Targets", "VenueView"]

#: ``(side, price_raw) -> size_raw`` of the liquidity a venue's book should hold
Targets = dict[tuple[int, int], int]


def _probability(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"must be between 0 and 1, was {value}", key=attribute.name)


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ConfigError(f"must be >= 0, was {value}", key=attribute.name)


@attrs.frozen(kw_only=True)
class MarketConfig:
    """How the market moves and how deep it is; rates and volatilities are per step."""

    volatility_bps: float = attrs.field(default=0.5, validator=_non_negative)
    correlation: float = attrs.field(default=0.7, validator=_probability)
    burst_probability: float = attrs.field(default=0.002, validator=_probability)
    burst_multiplier: float = attrs.field(default=6.0, validator=_non_negative)
    burst_steps: int = attrs.field(default=30, validator=_non_negative)
    levels: int = attrs.field(default=20, validator=_non_negative)
    half_spread_bps: float = attrs.field(default=0.05, validator=_non_negative)
    level_spacing_bps: float = attrs.field(default=0.5, validator=_non_negative)
    level_value_usd: float = attrs.field(default=25_000.0, validator=_non_negative)
    depth_growth: float = attrs.field(default=0.1, validator=_non_negative)
    churn: float = attrs.field(default=0.1, validator=_probability)
    noise_bps: float = attrs.field(default=0.3, validator=_non_negative)
    noise_persistence: float = attrs.field(default=0.9, validator=_probability)
    lag_steps: Mapping[str, int] = attrs.field(factory=dict)
    dislocation_rate: float = attrs.field(default=0.0, validator=_probability)
    dislocation_bps: float = attrs.field(default=25.0, validator=_non_negative)
    dislocation_steps: int = attrs.field(default=10, validator=_non_negative)
    prices: Mapping[str, float] = attrs.field(factory=lambda: dict(REFERENCE_PRICES))


def _require_prices(assets: Sequence[str], config: MarketConfig) -> None:
    missing = [asset for asset in assets if asset not in config.prices]
    if missing:
        raise ConfigError(f"no reference price for {', '.join(missing)}", key="prices")


class PriceProcess:
    """Dollar log prices of a set of assets, one step at a time, with a history for lags."""

    def __init__(self, assets: Sequence[str], config: MarketConfig, seed: int) -> None:
        self._assets = sorted(set(assets))
        _require_prices(self._assets, config)
        self.config = config
        self._rng = random.Random(f"{seed}/prices")
        self._log = {asset: math.log(config.prices[asset]) for asset in self._assets}
        depth = max(config.lag_steps.values(), default=0) + 1
        self._history: deque[dict[str, float]] = deque([dict(self._log)], maxlen=depth)
        self._burst_left = 0
        self.steps = 0

    def reconfigure(self, config: MarketConfig) -> None:
        _require_prices(self._assets, config)
        self.config = config
        depth = max(config.lag_steps.values(), default=0) + 1
        self._history = deque(self._history, maxlen=depth)

    def step(self) -> None:
        config, rng = self.config, self._rng
        if self._burst_left:
            self._burst_left -= 1
        elif rng.random() < config.burst_probability:
            self._burst_left = config.burst_steps
        sigma = config.volatility_bps * 1e-4
        if self._burst_left:
            sigma *= config.burst_multiplier
        common = rng.gauss(0.0, 1.0)
        shared, own = math.sqrt(config.correlation), math.sqrt(1.0 - config.correlation)
        for asset in self._assets:
            own_draw = rng.gauss(0.0, 1.0)
            if asset not in STABLE_ASSETS:
                self._log[asset] += sigma * (shared * common + own * own_draw)
        self._history.append(dict(self._log))
        self.steps += 1

    def log_price(self, asset: str, lag: int = 0) -> float:
        """The asset's log dollar price ``lag`` steps ago (the oldest kept, if further)."""
        history = self._history
        return history[max(0, len(history) - 1 - lag)][asset]

    def price(self, symbol: str, lag: int = 0) -> float:
        base, _, quote = symbol.partition("/")
        return math.exp(self.log_price(base, lag) - self.log_price(quote, lag))


class Ladder:
    """One venue's resting liquidity for one instrument around a price (module docstring)."""

    def __init__(self, instrument: Instrument, rng: random.Random) -> None:
        self.instrument = instrument
        self._rng = rng
        self._tick_value = instrument.tick_size / 10**instrument.price_decimals
        self._sizes: Targets = {}

    def targets(self, mid: float, base_usd: float, config: MarketConfig) -> Targets:
        """The book's levels for a mid price (quote units) and the base asset's dollar price."""
        tick = self.instrument.tick_size
        mid_ticks = mid / self._tick_value
        half = max(mid_ticks * config.half_spread_bps * 1e-4, 0.5)
        best_bid = max(1, math.floor(mid_ticks - half))
        best_ask = max(best_bid + 1, math.ceil(mid_ticks + half))
        spacing = max(1, round(mid_ticks * config.level_spacing_bps * 1e-4))
        prices = {BID: _grid(best_bid, -spacing, config.levels),
                  ASK: _grid(best_ask, spacing, config.levels)}  # fmt: skip
        sizes: Targets = {}
        for side, ticks in prices.items():
            for index, level in enumerate(ticks):
                key = (side, level * tick)
                size = self._sizes.get(key)
                if size is None or self._rng.random() < config.churn:
                    size = self._draw(index, base_usd, config)
                sizes[key] = size
        self._sizes = sizes
        return dict(sizes)

    def _draw(self, index: int, base_usd: float, config: MarketConfig) -> int:
        instrument = self.instrument
        value = config.level_value_usd * (1.0 + config.depth_growth * index)
        value *= self._rng.uniform(0.4, 1.6)
        unit: int = 10**instrument.size_decimals
        lots = math.floor(value / base_usd * unit / instrument.lot_size)
        return max(lots * instrument.lot_size, instrument.min_qty, instrument.lot_size)


def _grid(touch: int, step: int, count: int) -> list[int]:
    """``count`` prices in ticks: the touch, then multiples of ``|step|`` away from it."""
    if count <= 0:
        return []
    spacing = abs(step)
    first = (touch // spacing) * spacing if step < 0 else -(-touch // spacing) * spacing
    if first == touch:
        first += step
    levels = [touch] + [first + i * step for i in range(count - 1)]
    return [level for level in levels if level > 0]


class VenueView:
    """One venue's prices: late, noisy, sometimes dislocated; and its ladders (module doc)."""

    def __init__(
        self,
        venue: str,
        instruments: Sequence[Instrument],
        process: PriceProcess,
        seed: int,
    ) -> None:
        self.venue = venue
        self.process = process
        self.instruments = {instrument.symbol: instrument for instrument in instruments}
        self._rng = random.Random(f"{seed}/venue/{venue}")
        self._noise = dict.fromkeys(self.instruments, 0.0)
        self._dislocations: dict[str, tuple[float, int]] = {}
        self._ladders = {
            symbol: Ladder(instrument, random.Random(f"{seed}/{venue}/{symbol}"))
            for symbol, instrument in self.instruments.items()
        }

    def dislocate(self, symbol: str, bps: float, steps: int) -> None:
        """Push ``symbol`` ``bps`` basis points away on this venue, now and for the next
        ``steps`` steps (0 ends a dislocation at the next step)."""
        if symbol not in self.instruments:
            raise ConfigError(f"{self.venue} does not list {symbol}", key="symbol")
        if steps < 0:
            raise ConfigError(f"must be >= 0, was {steps}", key="steps")
        # step() counts one off before it moves the book: +1 makes the next step the first
        self._dislocations[symbol] = (bps, steps + 1)

    def dislocation_bps(self, symbol: str) -> float:
        return self._dislocations.get(symbol, (0.0, 0))[0]

    def mid(self, symbol: str) -> float:
        config = self.process.config
        lag = config.lag_steps.get(self.venue, 0)
        shift = self._noise[symbol] + self.dislocation_bps(symbol)
        return self.process.price(symbol, lag) * math.exp(shift * 1e-4)

    def step(self) -> dict[str, Targets]:
        """Advance noise and dislocations one step; every symbol's target levels."""
        config, rng = self.process.config, self._rng
        keep = config.noise_persistence
        targets: dict[str, Targets] = {}
        for symbol in self.instruments:
            fresh = rng.gauss(0.0, config.noise_bps) * math.sqrt(1.0 - keep * keep)
            self._noise[symbol] = keep * self._noise[symbol] + fresh
            start = rng.random() < config.dislocation_rate
            size = config.dislocation_bps * rng.uniform(0.5, 1.5) * rng.choice((-1.0, 1.0))
            bps, left = self._dislocations.pop(symbol, (0.0, 0))
            if left > 1:
                self._dislocations[symbol] = (bps, left - 1)
            elif start and config.dislocation_steps:
                self._dislocations[symbol] = (size, config.dislocation_steps)
            base_usd = math.exp(self.process.log_price(self.instruments[symbol].base))
            ladder = self._ladders[symbol]
            targets[symbol] = ladder.targets(self.mid(symbol), base_usd, config)
        return targets


class Market:
    """The shared process and every venue's view, stepped together (one step: every venue)."""

    def __init__(
        self, config: MarketConfig, seed: int, instruments: Mapping[str, Sequence[Instrument]]
    ) -> None:
        assets = {asset for listed in instruments.values() for i in listed
                  for asset in (i.base, i.quote)}  # fmt: skip
        self.process = PriceProcess(sorted(assets), config, seed)
        self.views = {
            venue: VenueView(venue, listed, self.process, seed)
            for venue, listed in instruments.items()
        }

    @property
    def config(self) -> MarketConfig:
        return self.process.config

    def reconfigure(self, config: MarketConfig) -> None:
        """Change volatility, dislocation rate, ... from the next step on (at runtime)."""
        self.process.reconfigure(config)

    def dislocate(self, venue: str, symbol: str, bps: float, steps: int) -> None:
        """Push one venue's ``symbol`` ``bps`` basis points away (negative: cheaper) for the
        next ``steps`` steps: the cross-venue opportunity a test wants, when it wants it."""
        view = self.views.get(venue)
        if view is None:
            raise ConfigError(f"{venue} is not simulated", key="venue")
        view.dislocate(symbol, bps, steps)

    def step(self) -> dict[str, dict[str, Targets]]:
        """One step of the process; per venue, per symbol, the levels its book should hold."""
        self.process.step()
        return {venue: view.step() for venue, view in self.views.items()}
