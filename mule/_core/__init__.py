"""The hot core: each module has a compiled (Cython) twin and a pure-Python twin.

The compiled twins are used when present; ``MULE_NO_EXTENSIONS=1`` (or a Python
other than CPython) selects the pure-Python twins. Both give identical results;
``IMPLEMENTATION`` says which is loaded. A missing compiled module falls back to the
twin (with a debug log) unless ``MULE_REQUIRE_EXTENSIONS=1`` forbids that fallback, in
which case the import fails with ``CompiledCoreMissing`` (an explicit ``MULE_NO_EXTENSIONS=1``
still selects the twins). Both variables are flags:
unset, empty, ``0``, ``false``, ``no`` and ``off`` mean off; anything else means on.

Importing this package is cheap: the twins that need numpy or ``cryptography`` (``_kadid``, ``_jitter``, and
``_rc4``'s pure twin) load on first use of one of their names, so a command that never touches them
(``python -m mule version``) never pays for them. The choice of twin is made at import all the same: the compiled
twins without numpy are imported (a broken build shows there) and the others must be present.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import platform
from types import ModuleType
from typing import Any

from mule._core.errors import FramingError

TWIN_MODULES = ("_kadid", "_framing", "_jitter", "_md4", "_rc4", "_release")
# The compiled twins without numpy or cryptography: cheap to import.
_EAGER_MODULES = ("_framing", "_md4", "_rc4", "_release")
_EXPORTS = {
    "id_from_wire": "_kadid",
    "id_to_wire": "_kadid",
    "id_from_md4": "_kadid",
    "xor_distance": "_kadid",
    "common_prefix_length": "_kadid",
    "compare_distance": "_kadid",
    "closest_k": "_kadid",
    "Reader": "_framing",
    "Writer": "_framing",
    "build": "_framing",
    "JitterSampler": "_jitter",
    "md4": "_md4",
    "rc4": "_rc4",
    "rc4_md5": "_rc4",
    "rc4_md5_magic": "_rc4",
    "ReleaseQueue": "_release",
}
_SUFFIXES = {"cython": "_c", "python": "_py"}

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
    suffix = _SUFFIXES[implementation]
    return {name: importlib.import_module(f"mule._core.{name}{suffix}") for name in TWIN_MODULES}


def _check_compiled() -> None:
    """Raise ImportError unless every compiled twin is there; import the cheap ones (a broken build fails here)."""
    for name in TWIN_MODULES:
        if name in _EAGER_MODULES:
            importlib.import_module(f"mule._core.{name}_c")
        elif importlib.util.find_spec(f"mule._core.{name}_c") is None:
            raise ImportError(f"No module named 'mule._core.{name}_c'")


def _select() -> str:
    if extensions_disabled():  # an explicit choice of the pure twins: a requirement only forbids falling back
        return "python"
    try:
        _check_compiled()
        return "cython"
    except ImportError as exc:
        if env_flag("MULE_REQUIRE_EXTENSIONS"):
            raise CompiledCoreMissing(
                f"MULE_REQUIRE_EXTENSIONS is set but the compiled core is not built ({exc})"
            ) from exc
        _log.debug("compiled core unavailable, using the pure-Python twin: %s", exc)
    return "python"


IMPLEMENTATION = _select()


def twin_module(name: str) -> ModuleType:
    """The selected twin of core module ``name`` (e.g. ``"_kadid"``), imported on first use."""
    return importlib.import_module(f"mule._core.{name}{_SUFFIXES[IMPLEMENTATION]}")


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(twin_module(module), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


__all__ = [
    "IMPLEMENTATION",
    "CompiledCoreMissing",
    "FramingError",
    "JitterSampler",
    "Reader",
    "ReleaseQueue",
    "Writer",
    "build",
    "closest_k",
    "common_prefix_length",
    "compare_distance",
    "id_from_md4",
    "id_from_wire",
    "id_to_wire",
    "md4",
    "rc4",
    "rc4_md5",
    "rc4_md5_magic",
    "twin_module",
    "xor_distance",
]
