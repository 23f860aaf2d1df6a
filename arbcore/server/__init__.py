"""The control plane: a REST + WebSocket API and the risk dashboard, served beside the engine.

``ControlTarget`` is what the API needs, ``EngineControl`` provides it for a real engine,
``create_app`` builds the Starlette app and ``ControlServer`` serves it with uvicorn on the
engine's own event loop. See docs/server.md.
"""

from arbcore.server.app import StreamLimits, create_app
from arbcore.server.serve import ControlServer, run_served
from arbcore.server.target import (
    ControlTarget,
    EngineControl,
    OrderQuery,
    OrdersPage,
    ReloadOutcome,
)

__all__ = [
    "ControlServer",
    "ControlTarget",
    "EngineControl",
    "OrderQuery",
    "OrdersPage",
    "ReloadOutcome",
    "StreamLimits",
    "create_app",
    "run_served",
]
