"""Execution: the shadow venue (default), order routing and tracking."""

from arbcore.execution.shadow import ShadowVenue

__all__ = ["ShadowVenue"]
