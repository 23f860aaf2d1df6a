"""Shared test configuration: hypothesis profiles, the location of the real recordings, and a
spy on where the audit trail makes its JSON."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from arbcore.testing.recordings import shared_data_dir

# CI is derandomized: the same examples every run, so a landing never depends on luck; local
# runs ("dev", "thorough") keep searching new ground and pin what they find with @example.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need the real recordings skip when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("the real recordings (../shared/data) are not beside this checkout")
    return path


@pytest.fixture
def json_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads the audit trail makes each row's JSON on (``canonical_json``
    spied), in order: where a test says that work must or must not happen."""
    from arbcore.storage import audit

    made_on: list[str] = []
    encode = audit.canonical_json

    def canonical_json(value: Any) -> str:
        made_on.append(threading.current_thread().name)
        return encode(value)

    monkeypatch.setattr(audit, "canonical_json", canonical_json)
    return made_on
