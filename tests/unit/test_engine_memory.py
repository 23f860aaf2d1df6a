"""Memory at the seed's limits: 8 venues x 500 symbols x 1000 levels a side under 1 GB RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GIB = 1024**3


def test_the_seed_limits_fit_in_one_gigabyte() -> None:
    """A fresh process builds every book (snapshot applied) and both strategies."""
    result = subprocess.run([sys.executable, str(ROOT / "benches" / "engine_memory.py")],
                            capture_output=True, text=True, timeout=300, check=False,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    stages = json.loads(result.stdout)
    assert stages["books_count"] == 8 * 500
    assert stages["btc_usdt_cycles"] > 0  # the triangular scanners were built over the books
    assert stages["books"] > stages["start"] + 100 * 1024**2  # the levels are really held
    assert stages["strategies"] < GIB
