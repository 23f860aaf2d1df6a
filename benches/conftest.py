"""Fixtures for the benches: the real Binance recordings and the seeded synthetic stream.

Run timed with ``--benchmark-enable``; by default (``--benchmark-disable`` in pyproject) each
bench runs once as a smoke test and still checks its result.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from peers import SYNTHETIC_PREFIX, SYNTHETIC_UPDATES

from arbcore.cli_bench import RECORDING_DAY, SYMBOLS, Stream, binance_stream, synthetic_stream
from arbcore.testing.recordings import shared_data_dir


def recording_path(symbol: str) -> Path:
    """The real recording of ``symbol``; skips the requesting test when it is absent."""
    root = shared_data_dir()
    if root is None:
        pytest.skip("the real recordings (../shared/data or $ARBCORE_SHARED_DATA) are absent")
    path = root / "real/binance/spot" / f"{symbol}_{RECORDING_DAY}.gz"
    if not path.is_file():
        pytest.skip(f"recording {path} is absent")
    return path


@cache
def _load(path: Path) -> Stream:
    return binance_stream(path)


@pytest.fixture(scope="session", params=SYMBOLS)
def real_stream(request: pytest.FixtureRequest) -> Stream:
    """Each real Binance spot recording (BTCUSDT, ETHUSDT) as a synced stream."""
    return _load(recording_path(request.param))


@pytest.fixture(scope="session")
def btcusdt() -> Stream:
    """The BTCUSDT recording alone (micro-benchmarks and depth walks)."""
    return _load(recording_path("btcusdt"))


@pytest.fixture(scope="session")
def synthetic() -> Stream:
    """The seeded 1M-update synthetic stream (needs no data files)."""
    return synthetic_stream(SYNTHETIC_UPDATES)


@pytest.fixture(scope="session")
def synthetic_prefix(synthetic: Stream) -> Stream:
    """The first 100k updates of the synthetic stream (smoke runs and the slow peers)."""
    return synthetic.prefix(SYNTHETIC_PREFIX)
