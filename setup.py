"""Build the compiled hot path: cythonize ``arbcore_ext/*.pyx`` and nothing else.

Switches (environment):
  ARBCORE_CYTHON_DEBUG=1     bounds/wraparound/initialized checks and C asserts back on, -O0 -g
  ARBCORE_CYTHON_ANNOTATE=1  write the annotated HTML next to each .pyx (spot Python in loops)
  ARBCORE_EXT_ONLY=a,b       build only these modules (for working on one kernel)
"""

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("ARBCORE_CYTHON_DEBUG", "") == "1"
ANNOTATE = os.environ.get("ARBCORE_CYTHON_ANNOTATE", "") == "1"
ONLY = {name for name in os.environ.get("ARBCORE_EXT_ONLY", "").split(",") if name}

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

COMPILE_ARGS = ["-O0", "-g"] if DEBUG else ["-O3"]
MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), ("_GNU_SOURCE", None)]
if DEBUG:
    MACROS.append(("ARBCORE_DEBUG", "1"))
else:
    MACROS += [("NDEBUG", None), ("CYTHON_WITHOUT_ASSERTIONS", None)]

sources = sorted(Path("arbcore_ext").glob("*.pyx"))
extensions = [
    Extension(
        f"arbcore_ext.{source.stem}",
        [str(source)],
        include_dirs=[numpy.get_include()],
        define_macros=MACROS,
        extra_compile_args=COMPILE_ARGS,
        libraries=["z"] if source.stem in ("checksum", "htxpath") else [],
    )
    for source in sources
    if not ONLY or source.stem in ONLY
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        annotate=ANNOTATE,
    ),
)
