"""The code stays ruff-clean and mypy-strict-clean: checked by the test command, not by hand."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(tool: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which(tool)
    if executable is None:
        pytest.skip(f"{tool} is not installed (it comes with the dev extra)")
    return subprocess.run(
        [executable, *arguments], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    result = _run("mypy")  # files and strictness from pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr
