"""No bypass, by construction and by inspection: only the shaper reaches a transport's send function, and only
that function reaches the calls that put datagram bytes on a socket.

The construction is ``Transport.claim_sender()`` (one owner); the inspection walks every
module of the package and places each reach in its function: ``DatagramSession.send``,
``SamConnection.send_datagram``, the UDP socket's ``sendto`` and the writer's ``DATAGRAM SEND``
sit on one chain under ``SamTransport._send_datagram`` (the runtime side of this proof is
tests/i2p/test_send_path_runtime.py). The self-test and the test bed are the declared
exceptions, and ``python -m mule run`` is shown not to import them. Each check is shown to
fail on a deliberately broken copy of the tree, built in ``tmp_path``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from bypass_checker import ALLOWED, ANYWHERE, EXEMPT_MODULES, Reach, bypasses, send_reaches

import mule

PACKAGE = Path(mule.__file__).parent
SHAPER_MODULES = sorted((PACKAGE / "shaper").glob("*.py"))
CLOCK_MODULES = [PACKAGE / "clock" / "base.py", PACKAGE / "clock" / "virtual.py"]

_LEGIT_TREE = {
    "shaper/shaper.py": """
class Shaper:
    def __init__(self, transport):
        self._transport_send = transport.claim_sender()

    def release(self, destination, payload):
        self._transport_send(destination, payload)
""",
    "transport/interface.py": """
class Transport:
    def claim_sender(self):
        return self._send_datagram

    def _send_datagram(self, destination, payload):
        raise NotImplementedError
""",
    "transport/memory.py": """
class MemoryTransport:
    def _send_datagram(self, destination, payload):
        self._hub._carry(b"", destination, payload)
""",
    "i2p/transport.py": """
class SamTransport:
    def _send_datagram(self, destination, payload):
        self._session.send(destination, payload)
""",
    "i2p/session.py": """
from mule.i2p import sam_protocol as sam

class DatagramSession:
    def send(self, destination, payload):
        if self._udp is None:
            self._connection.send_datagram(destination, payload)
        else:
            self._udp.sendto(sam.udp_datagram("id", "dest", payload), ("127.0.0.1", 7655))

    def close(self):
        self._udp.close()
""",
    "i2p/sam_client.py": """
from mule.i2p import sam_protocol as sam

class SamConnection:
    def send_datagram(self, destination, payload):
        \"\"\"DATAGRAM SEND over this connection (a docstring may say so).\"\"\"
        self._writer.write(sam.datagram_send_command("dest", payload))

    def request(self, command):
        self._writer.write(command)
""",
    "i2p/sam_protocol.py": """
UDP_DATAGRAM_VERSION = "3.0"

def _command(topic, kind, fields):
    return b""

def datagram_send_command(destination, payload):
    return _command("DATAGRAM", "SEND", {"DESTINATION": destination}) + payload

def udp_datagram(session_id, destination, payload):
    return f"{UDP_DATAGRAM_VERSION} {session_id} {destination}\\n".encode() + payload
""",
}
_SNEAKY_MODULES = {
    "direct-call": "def answer(transport, dest):\n    transport._send_datagram(dest, b'pong')\n",
    "second-claim": "def grab(transport):\n    return transport.claim_sender()\n",
    "getattr": "def answer(transport, dest):\n    getattr(transport, '_send_datagram')(dest, b'pong')\n",
    "imported-name": "from mule.transport.interface import _send_datagram\n",
    "shaper-handle": "def answer(shaper, dest):\n    shaper._transport_send(dest, b'pong')\n",
    "session-send": "def answer(session, dest):\n    session.send(dest, b'pong')\n",
    "session-send-getattr": "def answer(session, dest):\n    getattr(session, 'send')(dest, b'pong')\n",
    "connection-send-datagram": "def answer(connection, dest):\n    connection.send_datagram(dest, b'pong')\n",
    "udp-sendto": "def answer(udp, dest):\n    udp.sendto(b'3.0 id dest\\npong', ('127.0.0.1', 7655))\n",
    "udp-builder": "from mule.i2p.sam_protocol import udp_datagram\n",
    "writer-builder": "def answer(w, d):\n    w.write(datagram_send_command(d, b'pong'))\n",
    "writer-literal": "def answer(w):\n    w.write(b'DATAGRAM SEND DESTINATION=abc SIZE=4\\npong')\n",
    "writer-fstring": "def answer(w, d):\n    w.write(f'datagram send DESTINATION={d} SIZE=4\\n'.encode())\n",
    "writer-command": "def answer(sam, d):\n    return sam._command('DATAGRAM', 'SEND', {'DESTINATION': d})\n",
    "connection-writer": "def answer(connection, data):\n    connection._writer.write(data)\n",
    "session-udp": "def answer(session, data):\n    session._udp.sendto(data, None)\n",
    "memory-hub": "def answer(hub, dest):\n    hub._carry(b'', dest, b'pong')\n",
}
_SNEAKY_CYTHON = "cpdef answer(object transport, bytes dest):\n    transport._send_datagram(dest, b'pong')\n"
_SNEAKY_CYTHON_WIRE = "cpdef answer(object session, bytes dest):\n    session.send(dest, b'pong')\n"
_SNEAKY_IN_PLACE = {
    "another transport method": (
        "i2p/transport.py",
        "SamTransport.reply_fast",
        "\n    def reply_fast(self, destination):\n        self._session.send(destination, b'pong')\n",
    ),
    "another session method": (
        "i2p/session.py",
        "DatagramSession.answer",
        "\n    def answer(self, destination):\n        self._connection.send_datagram(destination, b'pong')\n",
    ),
    "a helper nested in the send function": (
        "i2p/transport.py",
        "SamTransport._send_datagram.leak",
        "        def leak():\n            self._session.send(destination, b'pong')\n        return leak\n",
    ),
}


def write_tree(root: Path, sneaky: dict[str, str]) -> Path:
    """A package ``mule`` with a legitimate shaper, transports and SAM chain, plus (or with) the given modules."""
    files = {**_LEGIT_TREE, **sneaky}
    package = root / "mule"
    for relative, text in files.items():
        target = package / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / "__init__.py").touch()
        target.write_text(text)
    return package


def test_nothing_but_the_shaper_reaches_the_transport_send_and_nothing_else_the_sockets() -> None:
    assert bypasses(PACKAGE) == []


def test_the_checker_sees_every_legitimate_reach() -> None:
    """Guards against a checker that passes because it found nothing at all (or lost a link of the chain)."""
    reaches = send_reaches(PACKAGE)
    found = {(r.path, function, r.name) for r in reaches for function in (r.function, ANYWHERE)}
    assert set(ALLOWED) <= found
    assert {path for path in EXEMPT_MODULES if (PACKAGE.parent / path).is_file()} == set(EXEMPT_MODULES)


def test_a_legitimate_fixture_tree_passes(tmp_path: Path) -> None:
    package = write_tree(tmp_path, {})
    assert bypasses(package) == []
    assert {(r.path, r.function, r.name) for r in send_reaches(package)} >= {
        ("mule/i2p/session.py", "DatagramSession.send", "sendto"),
        ("mule/i2p/sam_protocol.py", "datagram_send_command", "DATAGRAM SEND"),
    }


@pytest.mark.parametrize("variant", sorted(_SNEAKY_MODULES))
def test_negative_control_a_module_that_sends_is_caught(tmp_path: Path, variant: str) -> None:
    package = write_tree(tmp_path, {"node/sneaky.py": _SNEAKY_MODULES[variant]})
    assert {reach.path for reach in bypasses(package)} == {"mule/node/sneaky.py"}


@pytest.mark.parametrize("variant", sorted(_SNEAKY_IN_PLACE))
def test_negative_control_a_send_in_the_right_file_but_the_wrong_function_is_caught(
    tmp_path: Path, variant: str
) -> None:
    relative, function, code = _SNEAKY_IN_PLACE[variant]
    package = write_tree(tmp_path, {relative: _LEGIT_TREE[relative] + code})
    assert [(reach.path, reach.function) for reach in bypasses(package)] == [(f"mule/{relative}", function)]


def test_negative_control_an_exempt_module_may_not_claim_a_sender(tmp_path: Path) -> None:
    package = write_tree(tmp_path, {"cli/selftest.py": _SNEAKY_MODULES["second-claim"]})
    assert [reach.name for reach in bypasses(package)] == ["claim_sender"]
    exempt_wire = write_tree(tmp_path / "other", {"cli/selftest.py": _SNEAKY_MODULES["session-send"]})
    assert bypasses(exempt_wire) == []


@pytest.mark.parametrize("source", [_SNEAKY_CYTHON, _SNEAKY_CYTHON_WIRE], ids=["transport", "session"])
def test_negative_control_a_compiled_module_that_sends_is_caught(tmp_path: Path, source: str) -> None:
    package = write_tree(tmp_path, {"_core/_sneaky_c.pyx": source})
    assert bypasses(package) == [
        Reach("mule/_core/_sneaky_c.pyx", 2, "_send_datagram" if "transport" in source else "send")
    ]


# --- the declared exceptions stay out of the node ---------------------------------------------------------------

_EXEMPT_NAMES = sorted(path.removesuffix(".py").replace("/", ".") for path in EXEMPT_MODULES)
_REPORT_EXEMPT_IMPORTS = f"""
import atexit, sys
atexit.register(lambda: print("IMPORTED", sorted(set(sys.modules) & {set(_EXEMPT_NAMES)!r})))
"""


def _imported_exempt_modules(code: str, *args: str) -> set[str]:
    """Run ``code`` in a fresh interpreter on this tree; the exempt modules it had imported when it ended."""
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_EXEMPT_IMPORTS + code, *args],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("IMPORTED ")]
    assert lines, done.stderr
    return set(ast.literal_eval(lines[-1].removeprefix("IMPORTED ")))


def test_the_run_command_and_the_node_import_neither_the_selftest_nor_the_test_bed() -> None:
    assert _imported_exempt_modules("import mule.cli.run, mule.node.service, mule.i2p.transport") == set()


def test_negative_control_the_import_probe_sees_an_exempt_module() -> None:
    assert _imported_exempt_modules("import mule.i2p.testbed") == {"mule.i2p.testbed"}


def test_python_m_mule_run_without_testbed_imports_no_test_bed(tmp_path: Path) -> None:
    """The whole command, against a SAM port where nothing listens (it exits: no router)."""
    imported = _imported_exempt_modules(
        "import runpy, sys; sys.argv[0] = 'mule'; runpy.run_module('mule', run_name='__main__')",
        "run",
        "--sam",
        "127.0.0.1:1",
        "--data-dir",
        str(tmp_path),
    )
    assert imported <= {"mule.cli.selftest"}
    assert "mule.i2p.testbed" not in imported and "mule.node.testbed_network" not in imported


def test_python_m_mule_run_without_testbed_does_not_import_the_selftest(tmp_path: Path) -> None:
    imported = _imported_exempt_modules(
        "import runpy, sys; sys.argv[0] = 'mule'; runpy.run_module('mule', run_name='__main__')",
        "run",
        "--sam",
        "127.0.0.1:1",
        "--data-dir",
        str(tmp_path),
    )
    assert imported == set()


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
