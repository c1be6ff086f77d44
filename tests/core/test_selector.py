"""The twin selector: MULE_NO_EXTENSIONS forces the pure twins; a missing compiled module falls back quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import mule._core as c; print(c.IMPLEMENTATION, c.Reader.__module__, c.md4.__module__)"


def _probe(env_update: dict[str, str], prelude: str = "") -> str:
    selectors = ("MULE_NO_EXTENSIONS", "MULE_REQUIRE_EXTENSIONS")
    env = {k: v for k, v in os.environ.items() if k not in selectors} | env_update
    result = subprocess.run(
        [sys.executable, "-c", prelude + PROBE], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip() + result.stderr


def test_environment_variable_selects_the_pure_twins():
    assert _probe({"MULE_NO_EXTENSIONS": "1"}).split() == ["python", "mule._core._framing_py", "mule._core._md4_py"]


def test_compiled_twins_are_chosen_when_built(both_twins):
    assert _probe({}).split() == ["cython", "mule._core._framing_c", "mule._core._md4_c"]


def test_missing_compiled_module_falls_back_with_a_debug_log():
    prelude = (
        "import logging, sys; logging.basicConfig(level=logging.DEBUG);"
        "sys.modules['mule._core._md4_c'] = None;"  # makes importing it raise ImportError
    )
    out = _probe({}, prelude)
    assert out.startswith("python mule._core._framing_py")
    assert "compiled core unavailable, using the pure-Python twin" in out


@pytest.mark.parametrize("implementation", ["nonsense"])
def test_unknown_implementation_name_is_refused(implementation):
    import mule._core as core

    with pytest.raises(KeyError):
        core.load_twins(implementation)


HEAVY = "import sys; print(*(name in sys.modules for name in ('numpy', 'cryptography', 'mule.node.core')))"


@pytest.mark.parametrize("selector", [{}, {"MULE_NO_EXTENSIONS": "1"}])
def test_version_command_imports_neither_numpy_nor_the_node(selector):
    out = _probe(selector, "from mule.cli import main; main(['version']);" + HEAVY + ";")
    assert out.splitlines()[-2] == "False False False"


def test_first_use_of_a_numpy_twin_loads_it():
    """The negative control: the probe above would see numpy had a core name pulled it in."""
    out = _probe({}, "import mule._core as c; c.closest_k;" + HEAVY + ";")
    assert out.splitlines()[0] == "True False False"
