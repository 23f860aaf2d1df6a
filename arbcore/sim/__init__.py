"""A local multi-venue exchange simulator speaking the venues' real protocols (127.0.0.1 only).

``async with Simulator(SimConfig(...)) as sim`` serves each configured venue on its own port:
the venue's market-data WebSocket and REST API, signed trading endpoints, a matching engine per
market behind them, and a seeded market moving underneath, with faults on demand. ``arbcore sim``
runs one from the command line. See docs/sim.md.
"""

from arbcore.sim.config import DEFAULT_ACCOUNT, AccountConfig, SimConfig
from arbcore.sim.faults import Fault, FaultConfig, FaultInjector
from arbcore.sim.market import MarketConfig
from arbcore.sim.server import Endpoint, Simulator

__all__ = [
    "DEFAULT_ACCOUNT",
    "AccountConfig",
    "Endpoint",
    "Fault",
    "FaultConfig",
    "FaultInjector",
    "MarketConfig",
    "SimConfig",
    "Simulator",
]
