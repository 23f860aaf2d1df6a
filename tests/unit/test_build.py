"""The extension must refuse to import when unbuilt instead of falling back to Python."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import arbcore_ext

PACKAGE = Path(arbcore_ext.__file__).parent


def test_build_unbuilt_tree_fails_with_instructions(tmp_path: Path) -> None:
    copy = tmp_path / "arbcore_ext"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("*.so", "*.c", "*.html"))
    result = subprocess.run(
        # -S: no site-packages, so an editable install's import hook cannot supply the build
        [sys.executable, "-S", "-c", "import arbcore_ext"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "not compiled" in result.stderr
    assert "pip install -e ." in result.stderr


def test_build_every_kernel_is_compiled() -> None:
    names = sorted(path.stem for path in PACKAGE.glob("*.pyx"))
    assert {"book", "fixedpoint", "profit", "affinity", "cycles", "jsonscan", "checksum"} <= set(
        names
    )
    for name in names:
        module = __import__(f"arbcore_ext.{name}", fromlist=["_"])
        assert module.__file__ is not None
        assert module.__file__.endswith(".so"), module.__file__


def test_build_debug_switch_turns_checks_on(tmp_path: Path) -> None:
    root = PACKAGE.parent
    build = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_ext",
            "--build-lib",
            str(tmp_path / "lib"),
            "--build-temp",
            str(tmp_path / "tmp"),
        ],
        cwd=root,
        env={**os.environ, "ARBCORE_CYTHON_DEBUG": "1", "ARBCORE_EXT_ONLY": "_buildinfo"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (built,) = (tmp_path / "lib" / "arbcore_ext").glob("_buildinfo*.so")
    spec = importlib.util.spec_from_file_location("arbcore_ext._buildinfo", built)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.COMPILED_WITH_DEBUG is True
