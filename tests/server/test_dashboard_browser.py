"""The dashboard in a real headless browser (Debian's chromium over the DevTools protocol),
against a real engine trading on the simulator: data arrives, Stop halts trading."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from server_kit import TOKEN, demo_config

from arbcore.engine import Engine
from arbcore.risk.engine import TradingState
from arbcore.server import ControlServer, EngineControl

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
UPDATE = bool(os.environ.get("ARBCORE_UPDATE_SCREENSHOT"))  # rewrite docs/dashboard.png

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package "
                       "(apt-get install -y chromium); .ci/run installs it"),
]  # fmt: skip


class DevTools:
    """Just enough of the Chrome DevTools protocol: one page, commands by id."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        await self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            reply = json.loads(await self.socket.recv())
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))

    async def js(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 20.0) -> Any:
        """Evaluate until truthy (the page fills itself in over a few polls)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.js(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"never true: {expression}")
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[DevTools]:
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1400,1700",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with httpx.AsyncClient() as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        page = next(t for t in targets if t["type"] == "page")
        async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
            yield DevTools(socket)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_dashboard_shows_the_engine_live_and_stop_halts_it(tmp_path: Path) -> None:
    engine = Engine(demo_config(tmp_path))

    async def scenario() -> bytes:
        control = EngineControl(engine)
        env = {"ARBCORE_API_TOKEN": TOKEN}
        async with ControlServer(control, engine.config.system.server, environ=env) as server:
            run = asyncio.create_task(engine.run(60))
            try:
                with tempfile.TemporaryDirectory(dir=tmp_path) as profile:
                    async with chromium(Path(profile)) as page:
                        await page.call("Page.enable")
                        await page.call("Page.navigate", url=server.url + "/")
                        await page.until("document.readyState === 'complete' && !!window.fetch")
                        # no token yet: reads are refused and the page says so
                        await page.until("document.getElementById('message').textContent"
                                         ".includes('401')")  # fmt: skip
                        await page.js(f"document.getElementById('token').value = '{TOKEN}';"
                                      "document.getElementById('save-token').click()")  # fmt: skip
                        assert await page.js("sessionStorage.getItem('arbcore.token')") == TOKEN
                        await page.until(
                            "document.getElementById('state').textContent === 'active'"
                        )
                        await page.until(
                            "document.querySelectorAll('#health tbody tr').length === 4"
                            " && document.querySelectorAll('#quotes tbody tr').length >= 8"
                        )
                        await page.until(
                            "document.querySelectorAll('#opportunities li').length > 0"
                            " && document.querySelectorAll('#trades li').length > 0"
                        )
                        await page.until(
                            "Number(document.getElementById('lat-samples').textContent) > 0"
                        )
                        health = await page.js(
                            "[...document.querySelectorAll('#health tbody tr')]"
                            ".map(r => r.cells[5].textContent)"
                        )
                        assert health == ["ready"] * 4
                        await asyncio.sleep(20 if UPDATE else 3)  # points on the chart
                        await page.js("document.getElementById('stop').click()")
                        await page.until(
                            "document.getElementById('state').textContent === 'halted'"
                        )
                        assert engine.risk.state is TradingState.HALTED
                        await page.until(
                            "[...document.querySelectorAll('#system li')]"
                            ".some(li => li.textContent.includes('trading halted'))"
                        )
                        shot = await page.call(
                            "Page.captureScreenshot", format="png", captureBeyondViewport=True
                        )
                        return base64.b64decode(shot["data"])
            finally:
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run

    png = asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    assert png.startswith(b"\x89PNG")
    (tmp_path / "dashboard.png").write_bytes(png)
    if UPDATE:
        (ROOT / "docs" / "dashboard.png").write_bytes(png)
