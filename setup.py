"""Builds the compiled twins under mule/_core (every ``*_c.pyx`` there)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

# Identical floating-point results in both twins need plain IEEE double steps:
# no fused multiply-add contraction.
_COMPILE_ARGS = ["-O3", "-ffp-contract=off"]
# Translating and compiling the twins one per CPU: a build (pip install, the wheel, the newcomer test) takes about
# half the time on two CPUs; the objects are the same.
_JOBS = len(os.sched_getaffinity(0))


def _extensions() -> list[Extension]:
    # Read as mule._core reads it at run time: "0", "false", "no", "off" and empty mean "build them".
    if os.environ.get("MULE_NO_EXTENSIONS", "").strip().lower() not in {"", "0", "false", "no", "off"}:
        return []
    sources = sorted(Path("mule/_core").glob("*_c.pyx"))
    extensions = [
        Extension(
            f"mule._core.{source.stem}",
            [str(source)],
            include_dirs=[np.get_include()],
            extra_compile_args=_COMPILE_ARGS,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for source in sources
    ]
    return cythonize(
        extensions,
        nthreads=_JOBS,
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False, "cdivision": True},
    )


setup(ext_modules=_extensions(), options={"build_ext": {"parallel": _JOBS}})
