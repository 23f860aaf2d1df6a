"""Seeing what the engine does: the event hub (``events``); metrics, tracing, structured logs
and alerts build on it."""

from arbcore.observability.events import TOPICS, Event, EventHub, Subscription

__all__ = ["TOPICS", "Event", "EventHub", "Subscription"]
