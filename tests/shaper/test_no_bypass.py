"""No bypass, by construction and by inspection: only the shaper reaches a transport's send function.

The construction is ``Transport.claim_sender()`` (one owner); the inspection walks
every module of the package. Each check is shown to fail on a deliberately broken
copy of the tree, built in ``tmp_path``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from bypass_checker import ALLOWED, Reach, bypasses, send_reaches

import mule

PACKAGE = Path(mule.__file__).parent
SHAPER_MODULES = sorted((PACKAGE / "shaper").glob("*.py"))
CLOCK_MODULES = [PACKAGE / "clock" / "base.py", PACKAGE / "clock" / "virtual.py"]

_LEGIT_SHAPER = """
class Shaper:
    def __init__(self, transport):
        self._transport_send = transport.claim_sender()

    def release(self, destination, payload):
        self._transport_send(destination, payload)
"""
_LEGIT_INTERFACE = """
class Transport:
    def claim_sender(self):
        return self._send_datagram

    def _send_datagram(self, destination, payload):
        raise NotImplementedError
"""
_SNEAKY_MODULES = {
    "direct-call": "def answer(transport, dest):\n    transport._send_datagram(dest, b'pong')\n",
    "second-claim": "def grab(transport):\n    return transport.claim_sender()\n",
    "getattr": "def answer(transport, dest):\n    getattr(transport, '_send_datagram')(dest, b'pong')\n",
    "imported-name": "from mule.transport.interface import _send_datagram\n",
    "shaper-handle": "def answer(shaper, dest):\n    shaper._transport_send(dest, b'pong')\n",
}
_SNEAKY_CYTHON = "cpdef answer(object transport, bytes dest):\n    transport._send_datagram(dest, b'pong')\n"


def write_tree(root: Path, sneaky: dict[str, str]) -> Path:
    """A package ``mule`` with a legitimate shaper and transport, plus the given extra modules."""
    files = {"shaper/shaper.py": _LEGIT_SHAPER, "transport/interface.py": _LEGIT_INTERFACE, **sneaky}
    package = root / "mule"
    for relative, text in files.items():
        target = package / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / "__init__.py").touch()
        target.write_text(text)
    return package


def test_nothing_but_the_shaper_reaches_the_transport_send() -> None:
    assert bypasses(PACKAGE) == []


def test_the_checker_sees_the_legitimate_reaches() -> None:
    """Guards against a checker that passes because it found nothing at all."""
    found = {(reach.path, reach.name) for reach in send_reaches(PACKAGE)}
    assert found == set(ALLOWED)


def test_a_legitimate_fixture_tree_passes(tmp_path: Path) -> None:
    assert bypasses(write_tree(tmp_path, {})) == []


@pytest.mark.parametrize("variant", sorted(_SNEAKY_MODULES))
def test_negative_control_a_module_that_sends_is_caught(tmp_path: Path, variant: str) -> None:
    package = write_tree(tmp_path, {"node/sneaky.py": _SNEAKY_MODULES[variant]})
    assert [reach.path for reach in bypasses(package)] == ["mule/node/sneaky.py"]


def test_negative_control_a_compiled_module_that_sends_is_caught(tmp_path: Path) -> None:
    package = write_tree(tmp_path, {"_core/_sneaky_c.pyx": _SNEAKY_CYTHON})
    assert bypasses(package) == [Reach("mule/_core/_sneaky_c.pyx", 2, "_send_datagram")]


# --- the injected clock ---------------------------------------------------------------------------------------

WALL_CLOCK_MODULES = frozenset({"time", "datetime", "asyncio", "socket", "selectors", "threading", "random"})


def wall_clock_imports(path: Path) -> list[str]:
    """Imports through which a module could read real time or do I/O on its own."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] in WALL_CLOCK_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in WALL_CLOCK_MODULES:
            found.append(node.module or "")
    return found


@pytest.mark.parametrize("path", SHAPER_MODULES + CLOCK_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shaper_and_virtual_clock_take_time_only_from_the_injected_clock(path: Path) -> None:
    assert wall_clock_imports(path) == []


def test_negative_control_a_wall_clock_import_is_caught(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text("import time\nfrom asyncio import get_running_loop\n")
    assert wall_clock_imports(leaky) == ["time", "asyncio"]
