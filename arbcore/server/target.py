"""What the control API needs from an engine (:class:`ControlTarget`), and :class:`EngineControl`,
which provides it for a real :class:`~arbcore.engine.Engine` by reading its public attributes.

Why a narrow protocol: the API and its tests depend on a dozen calls, not on the engine's
insides, so the engine can change underneath without the server noticing, and the server can be
tested on small real parts. Everything returned is JSON-ready. Prices and sizes leave as exact
decimal strings rendered from the raw integers, never through a float.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs

from arbcore.config import AppConfig, load_config
from arbcore.engine import Engine
from arbcore.errors import ConfigError
from arbcore.model import OrderStatus
from arbcore.observability import TOPICS, EventHub
from arbcore.observability.metrics import registry_for, render
from arbcore.observability.publish import decimal_fields
from arbcore.server.feed import EngineFeed
from arbcore.storage.audit import read_orders

__all__ = ["ControlTarget", "EngineControl", "OrderQuery", "OrdersPage", "ReloadOutcome"]

#: how many of the most recent decision latencies the percentiles are taken over (sorting all
#: of the engine's samples would hold the event loop for milliseconds)
LATENCY_WINDOW = 4_096
#: a venue whose connection delivered nothing for this long is not ready
STALE_AFTER_S = 5.0
#: the config sections a reload applies at once; a change anywhere else needs a restart
HOT_SECTIONS = ("risk",)
ORDER_STATES = tuple(status.value for status in OrderStatus)


@attrs.frozen(kw_only=True)
class OrderQuery:
    """``GET /orders``: filters (None: any) and the page wanted."""

    venue: str | None = None
    symbol: str | None = None
    state: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(ORDER_STATES))
    )
    since_ns: int | None = None  # created at or after
    until_ns: int | None = None  # created before
    offset: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    limit: int = attrs.field(default=100, validator=[attrs.validators.ge(1),
                                                     attrs.validators.le(1_000)])  # fmt: skip


@attrs.frozen(kw_only=True)
class OrdersPage:
    orders: tuple[Mapping[str, Any], ...]
    total: int  # orders matching the filters, over all pages
    offset: int
    limit: int

    def as_json(self) -> dict[str, Any]:
        after = self.offset + len(self.orders)
        return {"orders": list(self.orders), "total": self.total, "offset": self.offset,
                "limit": self.limit,
                "next_offset": after if after < self.total else None}  # fmt: skip


@attrs.frozen(kw_only=True)
class ReloadOutcome:
    """What ``POST /config/reload`` did: nothing (``applied`` False, ``reason`` says why), or the
    sections it applied and those that differ but only take effect after a restart."""

    applied: bool
    source: str
    reason: str = ""
    reloaded: tuple[str, ...] = ()
    restart_needed: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"applied": self.applied, "source": self.source, "reason": self.reason,
                "reloaded": list(self.reloaded),
                "restart_needed": list(self.restart_needed)}  # fmt: skip


class ControlTarget(Protocol):
    """What the control API reads and commands; see docs/server.md for each document's shape."""

    events: EventHub

    def health(self) -> dict[str, Any]:
        """Liveness and per-venue readiness (connection up, books synced, data fresh)."""

    def status(self) -> dict[str, Any]:
        """Trading state, PnL today and its limit, counts, decision latency percentiles."""

    def positions(self) -> dict[str, Any]:
        """Positions and exposure per venue, with the limits they are held against."""

    def symbols(self) -> frozenset[str]:
        """The symbols the engine follows (what ``/market-data`` can subscribe to)."""

    async def orders(self, query: OrderQuery) -> OrdersPage:
        """One page of orders from the audit trail, newest first."""

    def start_trading(self) -> dict[str, Any]:
        """Back to ACTIVE; the new state."""

    def stop_trading(self, reason: str) -> dict[str, Any]:
        """HALTED now (the very next risk check refuses); the new state."""

    async def reload_config(self, path: str | None) -> ReloadOutcome:
        """Validate ``path`` (default: the running file) and apply it; a bad file changes
        nothing."""

    def metrics_text(self) -> bytes:
        """The Prometheus exposition text."""

    async def run(self) -> None:
        """Background work while served (publishing onto :attr:`events` what has no event of
        its own); returns when cancelled, or at once when there is none."""


class EngineControl:
    """:class:`ControlTarget` over a real engine (running or not yet started).

    The streams serve the engine's own hub (``engine.events``: the engine publishes as things
    happen); :class:`~arbcore.server.feed.EngineFeed` adds the two periodic ``system`` events,
    looking every ``interval_s``. ``metrics``: what ``/metrics`` renders (default: a registry
    of the engine's own, :func:`~arbcore.observability.metrics.registry_for`).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        metrics: Callable[[], bytes] | None = None,
        interval_s: float = 0.1,
    ) -> None:
        self.engine = engine
        self.events: EventHub = engine.events
        self._metrics = metrics or functools.partial(render, registry_for(engine))
        self.feed = EngineFeed(self, interval_s=interval_s)

    # -- reads ------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        venues = {venue: self._venue_health(venue) for venue in sorted(self.engine.clients)}
        return {"live": True, "ready": bool(venues) and all(v["ready"] for v in venues.values()),
                "venues": venues}  # fmt: skip

    def _venue_health(self, venue: str) -> dict[str, Any]:
        client = self.engine.clients[venue]
        syncs = self.engine.syncs.get(venue, {})
        last_ns = client.connection.counters.last_message_ns
        age_ms = (self.engine.clock_ns() - last_ns) / 1e6 if last_ns else None
        connected = client.connection.is_open
        synced = sorted(symbol for symbol, sync in syncs.items() if sync.in_sync)
        fresh = age_ms is not None and age_ms <= STALE_AFTER_S * 1_000
        return {"connected": connected, "books": len(syncs), "synced": len(synced),
                "stale": sorted(set(syncs) - set(synced)), "last_message_age_ms": age_ms,
                "resyncs": sum(sync.counters.resyncs for sync in syncs.values()),
                "ready": connected and fresh and len(synced) == len(syncs) > 0}  # fmt: skip

    def status(self) -> dict[str, Any]:
        engine, stats, risk = self.engine, self.engine.stats, self.engine.risk
        started = stats.started_ns
        return {
            "mode": engine.config.system.mode,
            "running": started > 0,
            "uptime_s": (time.monotonic_ns() - started) / 1e9 if started else 0.0,
            "trading": {"state": risk.state.value, "reason": risk.state_reason},
            "pnl": {"today_usd": risk.daily_pnl_usd, "session_usd": stats.pnl_usd,
                    "max_daily_loss_usd": risk.limits.max_daily_loss_usd},
            "counts": {"book_updates": stats.book_updates,
                       "opportunities": dict(stats.opportunities), "admitted": stats.admitted,
                       "risk_refused": dict(stats.risk_refused), "trades": stats.trades,
                       "filled_legs": stats.filled_legs, "leg_failures": stats.leg_failures,
                       "unhedged": stats.unhedged, "open_orders": risk.open_orders},
            "latency_us": latency_summary(stats.latencies_ns),
            "streams": {topic: self.events.subscribers(topic) for topic in TOPICS},
        }  # fmt: skip

    def positions(self) -> dict[str, Any]:
        engine, risk = self.engine, self.engine.risk
        venues: dict[str, dict[str, Any]] = {}
        for venue in sorted(set(engine.venues.clients) | {v for v, _ in risk.positions}):
            balances = dict(engine.venues.balances(venue))
            assets = {}
            for asset in sorted(set(balances) | {a for v, a in risk.positions if v == venue}):
                held = risk.positions.get((venue, asset), 0.0)
                price = engine.usd(asset)
                assets[asset] = {"position": held, "balance": balances.get(asset),
                                 "usd": None if price is None else held * price}  # fmt: skip
            exposure = sum(abs(a["usd"] or 0.0) for a in assets.values())
            venues[venue] = {"assets": assets, "exposure_usd": exposure}
        limits = risk.limits
        return {"venues": venues, "max_position_usd": limits.max_position_usd,
                "max_exposure_per_exchange_usd": limits.max_exposure_per_exchange_usd}  # fmt: skip

    def symbols(self) -> frozenset[str]:
        return frozenset(symbol for chosen in self.engine.instruments.values() for symbol in chosen)

    async def orders(self, query: OrderQuery) -> OrdersPage:
        path = Path(self.engine.config.system.storage.path)
        if not path.exists():
            return OrdersPage(orders=(), total=0, offset=query.offset, limit=query.limit)
        rows, total = await asyncio.to_thread(
            read_orders, path, venue=query.venue, symbol=query.symbol, status=query.state,
            since_ns=query.since_ns, until_ns=query.until_ns, offset=query.offset,
            limit=query.limit,
        )  # fmt: skip
        return OrdersPage(orders=tuple(self._with_decimals(row) for row in rows),
                          total=total, offset=query.offset, limit=query.limit)  # fmt: skip

    def _with_decimals(self, row: dict[str, Any]) -> dict[str, Any]:
        """Add the order's price, size and filled size as decimal text (raw ints stay)."""
        instrument = self.engine.instruments.get(row["venue"], {}).get(row["symbol"])
        row.update(decimal_fields(instrument, row["order"]))
        return row

    def metrics_text(self) -> bytes:
        return self._metrics()

    # -- commands ---------------------------------------------------------------------------------

    def start_trading(self) -> dict[str, Any]:
        self.engine.risk.resume("resumed through the control API")
        return self._state_changed()

    def stop_trading(self, reason: str) -> dict[str, Any]:
        self.engine.risk.kill(f"stopped through the control API: {reason}")
        return self._state_changed()

    def _state_changed(self) -> dict[str, Any]:
        risk = self.engine.risk  # (the engine put the change on the /system stream already)
        return {"state": risk.state.value, "reason": risk.state_reason}

    async def reload_config(self, path: str | None) -> ReloadOutcome:
        old = self.engine.config
        try:
            source = self._config_path(old, path)
            new = await asyncio.to_thread(load_config, source)
        except ConfigError as error:
            return ReloadOutcome(applied=False, source=path or "", reason=str(error))
        changed = changed_sections(old, new)
        hot = tuple(name for name in changed if name in HOT_SECTIONS)
        if "risk" in hot:
            self.engine.risk.limits = new.system.risk
            self.engine.config = attrs.evolve(
                old, system=attrs.evolve(old.system, risk=new.system.risk)
            )
        return ReloadOutcome(applied=True, source=str(source), reloaded=hot,
                             restart_needed=tuple(n for n in changed if n not in hot))  # fmt: skip

    @staticmethod
    def _config_path(config: AppConfig, path: str | None) -> Path:
        """The file to load: ``path`` (relative to the running file's directory), or the running
        file; never outside that directory (the endpoint must not read arbitrary files)."""
        running = Path(config.sources[-1]).resolve() if config.sources else None
        if path is None:
            if running is None:
                raise ConfigError("name the file to load: this engine was not loaded from one")
            return running
        candidate = Path(path)
        if running is not None:
            candidate = (running.parent / candidate).resolve()
            if not candidate.is_relative_to(running.parent):
                raise ConfigError(f"{path!r} is outside the configuration directory "
                                  f"{running.parent}", key="path")  # fmt: skip
        if candidate.suffix != ".toml":
            raise ConfigError(f"{path!r} is not a .toml file", key="path")
        return candidate

    async def run(self) -> None:
        await self.feed.run()


def changed_sections(old: AppConfig, new: AppConfig) -> list[str]:
    """The names of what differs: system fields (``risk``, ``venues``, ...) and the companion
    files (``limits``, ``costs``, ``shadow``)."""
    names = [f.name for f in attrs.fields(type(old.system))
             if getattr(old.system, f.name) != getattr(new.system, f.name)]  # fmt: skip
    names += [name for name in ("limits", "costs", "shadow")
              if getattr(old, name) != getattr(new, name)]  # fmt: skip
    return names


def latency_summary(samples_ns: deque[int]) -> dict[str, Any]:
    """p50/p90/p99/max (us) of the most recent :data:`LATENCY_WINDOW` samples of a deque."""
    recent = sorted(itertools.islice(reversed(samples_ns), LATENCY_WINDOW))
    if not recent:
        return {"samples": 0, "p50": None, "p90": None, "p99": None, "max": None}
    last = len(recent) - 1

    def at(quantile: float) -> float:
        return float(recent[min(last, int(quantile * len(recent)))]) / 1_000

    return {"samples": len(recent), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99),
            "max": recent[-1] / 1_000}  # fmt: skip
