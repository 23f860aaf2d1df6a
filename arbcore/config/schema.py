"""What a configuration can say, as frozen attrs classes (the TOML keys are the field names).

Files (see ``docs/configuration.md``): ``system.toml`` and the overrides that name it as their
``extends`` base hold :class:`SystemConfig`; ``system_limits.toml`` holds :class:`SystemLimits`;
``slippage/<venue>.toml`` one :class:`VenueCosts` each; ``shadow_trading/default.toml``
:class:`ShadowConfig`. Credentials are never configuration: they come from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from arbcore.config.build import fraction, non_negative, positive

__all__ = [
    "ALERT_RULES",
    "AlertsConfig",
    "AppConfig",
    "CrossExchangeConfig",
    "ExecutionConfig",
    "LoggingConfig",
    "RiskLimits",
    "ServerConfig",
    "ShadowConfig",
    "SimConfig",
    "StorageConfig",
    "StrategiesConfig",
    "SystemConfig",
    "SystemLimits",
    "TracingConfig",
    "TriangularConfig",
    "VenueConfig",
    "VenueCosts",
]


@attrs.frozen(kw_only=True)
class VenueConfig:
    """One venue the engine connects to."""

    enabled: bool = True
    symbols: tuple[str, ...] = ()
    ws_url: str | None = None  # None: the venue's real endpoint (or the simulator's)
    rest_url: str | None = None
    depth: int = attrs.field(default=0, validator=non_negative)  # 0: the venue's full book


@attrs.frozen(kw_only=True)
class CrossExchangeConfig:
    enabled: bool = True
    symbols: tuple[str, ...] = ()  # empty: every symbol listed on two or more venues
    min_profit_bps: float = attrs.field(default=5.0, validator=non_negative)
    slippage_bps: float = attrs.field(default=2.0, validator=non_negative)
    max_notional_usd: float = attrs.field(default=1_000.0, validator=positive)
    rebalance_drift: float = attrs.field(default=0.3, validator=fraction)


@attrs.frozen(kw_only=True)
class TriangularConfig:
    enabled: bool = True
    venues: tuple[str, ...] = ()  # empty: every enabled venue
    start_assets: tuple[str, ...] = ("USDT",)
    min_profit_bps: float = attrs.field(default=5.0, validator=non_negative)
    max_notional_usd: float = attrs.field(default=500.0, validator=positive)


@attrs.frozen(kw_only=True)
class StrategiesConfig:
    cross_exchange: CrossExchangeConfig = attrs.Factory(CrossExchangeConfig)
    triangular: TriangularConfig = attrs.Factory(TriangularConfig)
    cool_off_ms: float = attrs.field(default=250.0, validator=non_negative)


@attrs.frozen(kw_only=True)
class RiskLimits:
    """Hard limits; each refusal names the rule and the numbers that tripped it."""

    max_position_usd: float = attrs.field(default=10_000.0, validator=positive)
    max_daily_loss_usd: float = attrs.field(default=500.0, validator=positive)
    max_exposure_per_exchange_usd: float = attrs.field(default=25_000.0, validator=positive)
    max_correlation_risk: float = attrs.field(default=0.8, validator=fraction)
    stop_loss_pct: float = attrs.field(default=2.0, validator=positive)
    max_open_orders: int = attrs.field(default=20, validator=positive)
    max_orders_per_s: float = attrs.field(default=20.0, validator=positive)
    min_book_freshness_ms: float = attrs.field(default=500.0, validator=positive)


@attrs.frozen(kw_only=True)
class ExecutionConfig:
    leg_failure: Literal["retry", "unwind", "hold"] = "unwind"
    retry_worse_bps: float = attrs.field(default=10.0, validator=non_negative)
    order_timeout_ms: float = attrs.field(default=2_000.0, validator=positive)


@attrs.frozen(kw_only=True)
class StorageConfig:
    path: str = "arbcore-audit.db"
    synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "FULL"


@attrs.frozen(kw_only=True)
class ServerConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = attrs.field(default=8080, validator=non_negative)
    open_reads: bool = False  # reads without the token; writes always need ARBCORE_API_TOKEN


@attrs.frozen(kw_only=True)
class LoggingConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["plain", "json"] = "plain"


#: the alert rules (:mod:`arbcore.observability.alerts`), each switchable by name
ALERT_RULES = ("memory", "api_errors", "detection_latency", "daily_loss", "connectivity",
               "volatility", "strategy_degradation")  # fmt: skip


def _known_rules(
    instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    unknown = sorted(set(value) - set(ALERT_RULES))
    if unknown:
        raise ValueError(f"{attribute.name}: unknown alert rules {unknown}; "
                         f"known: {', '.join(ALERT_RULES)}")  # fmt: skip


@attrs.frozen(kw_only=True)
class AlertsConfig:
    """Alert thresholds; critical: memory, api_errors, detection_latency, daily_loss; warning:
    connectivity, volatility, strategy_degradation. Rates are over the last ``window_s``."""

    enabled: bool = True
    interval_s: float = attrs.field(default=1.0, validator=positive)  # evaluation period
    window_s: float = attrs.field(default=60.0, validator=positive)
    disabled: tuple[str, ...] = attrs.field(default=(), validator=_known_rules)
    webhook_url: str | None = None  # POSTed a JSON body on every alert and its resolution
    webhook_timeout_s: float = attrs.field(default=2.0, validator=positive)
    memory_pct: float = attrs.field(default=90.0, validator=positive)  # of max_memory_gb
    api_error_rate_pct: float = attrs.field(default=5.0, validator=non_negative)
    api_min_requests: int = attrs.field(default=20, validator=positive)
    detection_latency_ms: float = attrs.field(default=10.0, validator=positive)  # p99
    daily_loss_usd: float | None = attrs.field(default=None, validator=positive)  # None: risk's
    disconnected_s: float = attrs.field(default=5.0, validator=non_negative)
    volatility_bps: float = attrs.field(default=300.0, validator=positive)
    volatility_window_s: float = attrs.field(default=60.0, validator=positive)
    strategy_failure_pct: float = attrs.field(default=20.0, validator=non_negative)
    strategy_min_trades: int = attrs.field(default=5, validator=positive)


@attrs.frozen(kw_only=True)
class TracingConfig:
    """OpenTelemetry export of traded opportunities' spans; off unless an endpoint is set
    (needs the ``arbcore[otel]`` extra)."""

    otlp_endpoint: str | None = None  # e.g. "http://127.0.0.1:4318/v1/traces"
    service_name: str = "arbcore"


@attrs.frozen(kw_only=True)
class SimConfig:
    """Start the bundled simulator on loopback and point the venues at it."""

    venues: tuple[str, ...] = ("binance", "okx", "kraken")
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
    seed: int = 7
    dislocation_rate: float = attrs.field(default=0.05, validator=fraction)


@attrs.frozen(kw_only=True)
class SystemConfig:
    mode: Literal["shadow", "live"] = "shadow"
    cpu: int | None = None  # pin the hot loop to this CPU
    #: busy-poll: the event loop never sleeps and rehearses the decision while idle (it burns
    #: its core: pin it with ``cpu``; see arbcore.net.busypoll)
    busy_poll: bool = False
    venues: Mapping[str, VenueConfig] = attrs.Factory(dict)
    strategies: StrategiesConfig = attrs.Factory(StrategiesConfig)
    risk: RiskLimits = attrs.Factory(RiskLimits)
    execution: ExecutionConfig = attrs.Factory(ExecutionConfig)
    storage: StorageConfig = attrs.Factory(StorageConfig)
    server: ServerConfig = attrs.Factory(ServerConfig)
    logging: LoggingConfig = attrs.Factory(LoggingConfig)
    alerts: AlertsConfig = attrs.Factory(AlertsConfig)
    tracing: TracingConfig = attrs.Factory(TracingConfig)
    sim: SimConfig | None = None


@attrs.frozen(kw_only=True)
class SystemLimits:
    """What one engine may use; going over throttles or refuses, never crashes."""

    max_exchanges: int = attrs.field(default=8, validator=positive)
    max_symbols_per_exchange: int = attrs.field(default=500, validator=positive)
    max_requests_per_second: float = attrs.field(default=50.0, validator=positive)
    max_websocket_connections: int = attrs.field(default=32, validator=positive)
    max_memory_gb: float = attrs.field(default=4.0, validator=positive)


@attrs.frozen(kw_only=True)
class VenueCosts:
    """``slippage/<venue>.toml``: endpoints, limits and fees for one venue."""

    rest_url: str | None = None
    ws_url: str | None = None
    rate_limit_per_s: float = attrs.field(default=10.0, validator=positive)
    max_order_size_usd: float = attrs.field(default=10_000.0, validator=positive)
    maker_fee: float = attrs.field(default=0.001, validator=fraction)
    taker_fee: float = attrs.field(default=0.001, validator=fraction)
    withdrawal_fees: Mapping[str, float] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class ShadowConfig:
    """How shadow fills are simulated against the live book."""

    latency_ms: float = attrs.field(default=25.0, validator=non_negative)
    fill_ratio: float = attrs.field(default=1.0, validator=fraction)  # of the depth taken
    #: what each venue's shadow account starts with (asset -> amount)
    balances: Mapping[str, float] = attrs.Factory(
        lambda: {"USDT": 20_000.0, "USD": 20_000.0, "BTC": 0.3, "ETH": 5.0}
    )


@attrs.frozen(kw_only=True)
class AppConfig:
    """Everything loaded for one run: the merged system config and its companion files."""

    system: SystemConfig
    limits: SystemLimits
    costs: Mapping[str, VenueCosts]
    shadow: ShadowConfig
    sources: tuple[str, ...]  # the files read, base first
