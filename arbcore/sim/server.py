"""The simulator: every configured venue served on 127.0.0.1, the market stepping behind them.

::

    async with Simulator(SimConfig(venues=("binance",), symbols=("BTC/USDT",), seed=7)) as sim:
        endpoint = sim.endpoints["binance"]  # .rest_url, .ws_url
        ...

Each venue gets its own uvicorn server on its own port (0: any free one) bound to 127.0.0.1 and
nothing else. The market takes one step before the servers start (books are never empty) and
then one every ``step_interval_s``; :meth:`Simulator.step` is public, so a test can also hold the
clock (``autostep=False``) and step by hand. ``sim.faults`` changes faults at runtime,
``sim.market.reconfigure`` the market's behaviour, ``sim.dislocate`` one venue's price.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import time
from collections.abc import Callable

import attrs
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from arbcore.sim.catalog import market_spec
from arbcore.sim.config import SimConfig
from arbcore.sim.exchange import SimVenue
from arbcore.sim.faults import FaultInjector
from arbcore.sim.market import Market
from arbcore.sim.venues import VenueServer, get_protocol

__all__ = ["LOOPBACK", "Endpoint", "Simulator"]

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"  # the only address the simulator ever binds
#: Binance's keepalive: a ping every 20 s, no pong within a minute closes the connection
_PING_INTERVAL_S = 20.0
_PING_TIMEOUT_S = 60.0


@attrs.frozen
class Endpoint:
    """Where one simulated venue listens: its REST base URL and WebSocket URL."""

    venue: str
    rest_url: str
    ws_url: str


@attrs.frozen
class ReceivedRequest:
    """One REST request as a simulated venue received it."""

    monotonic_s: float
    method: str
    path: str


def _logging_requests(app: ASGIApp, log: list[ReceivedRequest]) -> ASGIApp:
    """The venue's app, with every HTTP request appended to ``log`` as it arrives."""

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            log.append(ReceivedRequest(time.monotonic(), scope["method"], scope["path"]))
        await app(scope, receive, send)

    return logged


class Simulator:
    """Simulated venues over loopback (see the module docstring)."""

    def __init__(
        self,
        config: SimConfig,
        *,
        clock: Callable[[], int] = time.time_ns,
        autostep: bool = True,
    ) -> None:
        self.config = config
        self.autostep = autostep
        self.faults = FaultInjector(config.faults, seed=config.seed, venues=config.venue_faults)
        protocols = {name: get_protocol(name) for name in config.venues}
        specs = [market_spec(symbol, config.market.prices) for symbol in config.symbols]
        self.venues = {
            name: SimVenue(
                name,
                [protocol.instrument(spec, config.fees.get(name)) for spec in specs],
                config.accounts_of(name),
                clock=clock,
            )
            for name, protocol in protocols.items()
        }
        self.market = Market(
            config.market, config.seed, {name: v.instruments for name, v in self.venues.items()}
        )
        self.servers: dict[str, VenueServer] = {
            name: protocol.server(self.venues[name], self.faults)
            for name, protocol in protocols.items()
        }
        self.endpoints: dict[str, Endpoint] = {}
        #: every REST request each venue received, in arrival order: what a test checks a
        #: client's rate limiting against (the venue's view, not the client's)
        self.requests: dict[str, list[ReceivedRequest]] = {name: [] for name in self.servers}
        self._uvicorns: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
        self._stepper: asyncio.Task[None] | None = None

    def step(self) -> None:
        """One market step on every venue, then every venue publishes what changed."""
        targets = self.market.step()
        for name, venue in self.venues.items():
            venue.apply(targets[name])
            self.servers[name].publish()

    def dislocate(self, venue: str, symbol: str, bps: float, duration_s: float) -> None:
        """Push ``venue``'s ``symbol`` ``bps`` away (negative: cheaper) from the next step on,
        for ``duration_s`` of market time (at least one step)."""
        steps = max(1, math.ceil(duration_s / self.config.step_interval_s - 1e-9))
        self.market.dislocate(venue, symbol, bps, steps)

    async def start(self) -> None:
        self.step()
        try:
            for name, server in self.servers.items():
                await self._serve(name, server)
        except BaseException:
            await self.stop()
            raise
        if self.autostep:
            self._stepper = asyncio.get_running_loop().create_task(self._run_steps())

    async def stop(self) -> None:
        if self._stepper is not None:
            self._stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stepper
            self._stepper = None
        for server, _ in self._uvicorns:
            server.should_exit = True
        for _, task in self._uvicorns:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._uvicorns.clear()

    async def wait_stopped(self) -> None:
        """Return once any venue's server has stopped (uvicorn stops on SIGINT and SIGTERM)."""
        tasks = [task for _, task in self._uvicorns]
        if tasks:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, name: str, server: VenueServer) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, self.config.ports.get(name, 0)))
        port = listener.getsockname()[1]
        config = uvicorn.Config(
            _logging_requests(server.app, self.requests[name]),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            ws_ping_interval=_PING_INTERVAL_S,
            ws_ping_timeout=_PING_TIMEOUT_S,
            timeout_graceful_shutdown=1,
        )
        instance = uvicorn.Server(config)
        task = asyncio.get_running_loop().create_task(instance.serve(sockets=[listener]))
        self._uvicorns.append((instance, task))
        while not instance.started:
            if task.done():
                task.result()  # raises why it could not start
                raise RuntimeError(f"{name}: the server stopped before it started")
            await asyncio.sleep(0.005)
        base = f"{LOOPBACK}:{port}"
        self.endpoints[name] = Endpoint(name, f"http://{base}", f"ws://{base}{server.ws_path}")

    async def _run_steps(self) -> None:
        interval = self.config.step_interval_s
        next_at = time.monotonic()
        while True:
            try:
                self.step()
            except Exception:  # one bad step must not stop the market
                logger.exception("simulator step failed")
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
