"""Every example runs, and every ``python`` code block in the README and docs/ executes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs_and_prints(example: Path, shared_data: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("document", DOCUMENTS, ids=[path.name for path in DOCUMENTS])
def test_document_python_blocks_execute(document: Path) -> None:
    blocks = BLOCK.findall(document.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(document), "exec"), namespace)


def test_cli_info_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "arbcore", "info"], capture_output=True, text=True, check=True
    )
    assert "extension build: release" in result.stdout
