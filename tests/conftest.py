"""Shared test configuration: hypothesis profiles and the location of the real recordings."""

from __future__ import annotations

import os
from pathlib import Path

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
