"""Shared pieces of the control-API tests: the demo configuration in a tmp dir, a token."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import attrs
import httpx

from arbcore.config import AppConfig, load_config

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-5f0c"  # what ARBCORE_API_TOKEN is set to in these tests
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def demo_config(tmp_path: Path, extra: str = "") -> AppConfig:
    """config/demo.toml (four simulated venues) with its audit trail in ``tmp_path``, loaded
    from a file there (so a reload may name files in ``tmp_path``); ``extra`` is appended."""
    path = tmp_path / "run.toml"
    path.write_text(f'extends = "{ROOT / "config" / "demo.toml"}"\n'
                    f'[storage]\npath = "{tmp_path / "audit.db"}"\nsynchronous = "NORMAL"\n'
                    f"{extra}")  # fmt: skip
    config = load_config(path, {})
    assert config.sources[-1] == str(path)
    return attrs.evolve(config)


class Api:
    """Requests straight into an ASGI app (no sockets) on a private event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()
