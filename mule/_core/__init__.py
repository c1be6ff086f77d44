"""The hot core: each module has a compiled (Cython) twin and a pure-Python twin.

The compiled twins are used when present; ``MULE_NO_EXTENSIONS=1`` (or a Python
other than CPython) selects the pure-Python twins. Both give identical results;
``IMPLEMENTATION`` says which is loaded. A missing compiled module falls back to the
twin (with a debug log) unless ``MULE_REQUIRE_EXTENSIONS=1`` forbids that fallback, in
which case the import fails with ``CompiledCoreMissing`` (an explicit ``MULE_NO_EXTENSIONS=1``
still selects the twins). Both variables are flags:
unset, empty, ``0``, ``false``, ``no`` and ``off`` mean off; anything else means on.
"""

from __future__ import annotations

import logging
import os
import platform
from types import ModuleType

from mule._core.errors import FramingError

TWIN_MODULES = ("_kadid", "_framing", "_jitter", "_md4")

_FALSE_FLAGS = frozenset({"", "0", "false", "no", "off"})

_log = logging.getLogger(__name__)


class CompiledCoreMissing(ImportError):
    """``MULE_REQUIRE_EXTENSIONS`` is on but the compiled core cannot be used; the message says why."""


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in _FALSE_FLAGS


def extensions_disabled() -> bool:
    return env_flag("MULE_NO_EXTENSIONS") or platform.python_implementation() != "CPython"


def load_twins(implementation: str) -> dict[str, ModuleType]:
    """Import one twin of every core module: ``"cython"`` (suffix ``_c``) or ``"python"`` (``_py``)."""
    suffix = {"cython": "_c", "python": "_py"}[implementation]
    modules = {}
    for name in TWIN_MODULES:
        modules[name] = __import__(f"mule._core.{name}{suffix}", fromlist=["_"])
    return modules


def _select() -> tuple[str, dict[str, ModuleType]]:
    if extensions_disabled():  # an explicit choice of the pure twins: a requirement only forbids falling back
        return "python", load_twins("python")
    try:
        return "cython", load_twins("cython")
    except ImportError as exc:
        if env_flag("MULE_REQUIRE_EXTENSIONS"):
            raise CompiledCoreMissing(
                f"MULE_REQUIRE_EXTENSIONS is set but the compiled core is not built ({exc})"
            ) from exc
        _log.debug("compiled core unavailable, using the pure-Python twin: %s", exc)
    return "python", load_twins("python")


IMPLEMENTATION, _TWINS = _select()

id_from_wire = _TWINS["_kadid"].id_from_wire
id_to_wire = _TWINS["_kadid"].id_to_wire
id_from_md4 = _TWINS["_kadid"].id_from_md4
xor_distance = _TWINS["_kadid"].xor_distance
common_prefix_length = _TWINS["_kadid"].common_prefix_length
compare_distance = _TWINS["_kadid"].compare_distance
closest_k = _TWINS["_kadid"].closest_k
Reader = _TWINS["_framing"].Reader
Writer = _TWINS["_framing"].Writer
JitterSampler = _TWINS["_jitter"].JitterSampler
md4 = _TWINS["_md4"].md4

__all__ = [
    "IMPLEMENTATION",
    "CompiledCoreMissing",
    "FramingError",
    "JitterSampler",
    "Reader",
    "Writer",
    "closest_k",
    "common_prefix_length",
    "compare_distance",
    "id_from_md4",
    "id_from_wire",
    "id_to_wire",
    "md4",
    "xor_distance",
]
