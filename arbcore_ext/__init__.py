"""arbcore's compiled hot path: fixed point, L2 books, profit kernels, CPU pinning.

Every module here is a Cython extension. If they are not built this package refuses to import
rather than fall back to slow Python silently.
"""

from __future__ import annotations

try:
    from arbcore_ext._buildinfo import COMPILED_WITH_DEBUG
except ImportError as exc:  # exercised by tests/unit/test_build.py in a subprocess
    raise ImportError(
        "arbcore_ext is not compiled: its Cython modules have not been built in this tree. "
        "Build them with `pip install -e .` (or `python setup.py build_ext --inplace`) from "
        "the project root; set ARBCORE_CYTHON_DEBUG=1 for a build with bounds checks."
    ) from exc

__all__ = ["COMPILED_WITH_DEBUG"]
