"""Configuration: a TOML hierarchy plus the environment, into frozen attrs classes."""

from arbcore.config.loader import load_config
from arbcore.config.schema import (
    AppConfig,
    RiskLimits,
    ShadowConfig,
    SystemConfig,
    SystemLimits,
    VenueConfig,
    VenueCosts,
)

__all__ = [
    "AppConfig",
    "RiskLimits",
    "ShadowConfig",
    "SystemConfig",
    "SystemLimits",
    "VenueConfig",
    "VenueCosts",
    "load_config",
]
