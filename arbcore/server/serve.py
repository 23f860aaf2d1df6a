"""Serve the control API with uvicorn inside the engine's running event loop, as a task.

One loop for both: the API reads the engine's state directly and its commands take effect
between two events, with no locks. The socket is bound here (port 0: any free port) so the
caller learns the real port before the first request; uvicorn neither installs signal handlers
nor touches the logging configuration (both belong to the application that embeds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Generator, Mapping
from types import TracebackType

import uvicorn

from arbcore.config.schema import ServerConfig
from arbcore.engine import Engine, EngineStats
from arbcore.server.app import StreamLimits, create_app
from arbcore.server.target import ControlTarget, EngineControl

__all__ = ["ControlServer", "run_served"]

logger = logging.getLogger(__name__)

WS_MAX_MESSAGE_BYTES = 64 * 1024  # uvicorn closes (1009) a client sending more than this
STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 5


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the embedding application owns SIGINT/SIGTERM


class ControlServer:
    """``async with ControlServer(target, config) as server:`` serves until the block ends;
    :attr:`port` is the bound port, :attr:`url` the base URL."""

    def __init__(
        self,
        target: ControlTarget,
        config: ServerConfig | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        limits: StreamLimits | None = None,
    ) -> None:
        self.target = target
        self.config = config or ServerConfig()
        self.app = create_app(target, open_reads=self.config.open_reads, environ=environ,
                              limits=limits)  # fmt: skip
        self.port = 0
        self._server: _EmbeddedServer | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        host = self.config.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def start(self) -> int:
        """Bind, start serving and the target's background work; the bound port."""
        if self._server is not None:
            raise RuntimeError("the control server is already running")
        sock = _bind(self.config.host, self.config.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, lifespan="off", log_config=None, access_log=False,
                                ws_max_size=WS_MAX_MESSAGE_BYTES,
                                timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S)  # fmt: skip
        server = self._server = _EmbeddedServer(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]), name="arbcore-api")
        self._tasks = [serving, asyncio.create_task(self.target.run(), name="arbcore-api-feed")]
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        while not server.started:
            if serving.done() or asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise RuntimeError(f"the control API did not start on {self.url}")
            await asyncio.sleep(0.01)
        logger.info("control API on %s", self.url)
        return self.port

    async def stop(self) -> None:
        """Stop serving (open streams are closed) and the background work."""
        server, self._server = self._server, None
        if server is None:
            return
        server.should_exit = True
        serving, *others = self._tasks
        for task in others:
            task.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(serving), SHUTDOWN_TIMEOUT_S + 1)
        except TimeoutError:
            server.force_exit = True
            serving.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:  # fmt: skip
        await self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"control API cannot bind {host}:{port}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


async def run_served(
    engine: Engine,
    duration_s: float | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    announce: Callable[[str], None] | None = None,
    metrics: Callable[[], bytes] | None = None,
) -> EngineStats:
    """``engine.run(duration_s)`` with the control API beside it when ``[server]`` enables
    it; ``announce`` is told the API's URL once it listens; ``metrics`` renders ``/metrics``
    (default: a registry of the engine's own)."""
    config = engine.config.system.server
    if not config.enabled:
        return await engine.run(duration_s)
    control = EngineControl(engine, metrics=metrics)
    async with ControlServer(control, config, environ=environ) as server:
        if announce is not None:
            announce(server.url)
        return await engine.run(duration_s)
