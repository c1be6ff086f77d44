"""Finds every place in a source tree that could reach a transport's send function or a socket send under it.

A *reach* is any use of a watched name: an attribute (``t._send_datagram(...)``, ``s.sendto(...)``),
a bare name or import of it, or a string literal equal to it (``getattr(t, "_send_datagram")``).
Defining a function with that name, or assigning to a module constant, is not a reach. Two more
forms build SAM's ``DATAGRAM SEND`` by hand: a string or bytes literal starting with it (docstrings
aside) and a call whose first two arguments are ``"DATAGRAM", "SEND"``. Each reach records the
function it sits in (``Class.method``), so the rule can say *which function* may send, not only
which file. Cython sources cannot be parsed by ``ast``, so they are scanned token by token (no
function is recorded: no reach is allowed there).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

SEND_NAMES = frozenset({"claim_sender", "_send_datagram", "_transport_send"})
"""The transport's claim and send methods, and the shaper's private handle to the claimed sender."""
SOCKET_METHODS = frozenset({"send", "sendto", "sendall", "sendmsg"})
"""``DatagramSession.send``, the UDP socket's ``sendto`` and their kin. The names are common words, so only
a method use (``x.send``) or a string naming it counts: a local called ``send`` is not a reach."""
WIRE_NAMES = SOCKET_METHODS | frozenset(
    {
        "send_datagram",  # SamConnection.send_datagram (DATAGRAM SEND on the session's TCP socket)
        "datagram_send_command",  # builds DATAGRAM SEND for a writer
        "udp_datagram",  # builds the bridge's UDP datagram
        "UDP_DATAGRAM_VERSION",  # ... by hand
        "_writer",  # the SAM connection's socket writer
        "_udp",  # the session's UDP socket
        "_carry",  # the in-memory hub's "wire"
        "release_at",  # ReleaseQueue.release_at: the release thread sends it at its instant
    }
)
"""What puts datagram bytes on a socket (or builds them for one), below the transport's send function."""
DATAGRAM_SEND = "DATAGRAM SEND"
WATCHED = SEND_NAMES | WIRE_NAMES
ANYWHERE = "*"
"""In ``ALLOWED``: any function of the file."""

ALLOWED = frozenset(
    {
        # The shaper claims the sender once and is the only caller of what it claimed.
        ("mule/shaper/shaper.py", ANYWHERE, "claim_sender"),
        ("mule/shaper/shaper.py", ANYWHERE, "_transport_send"),
        ("mule/transport/interface.py", "Transport.claim_sender", "_send_datagram"),
        # The trace wrapper holds its inner transport's one claim, and is itself claimed by the shaper.
        ("mule/transport/trace.py", "TracedTransport.__init__", "claim_sender"),
        # Below the transport's _send_datagram, one chain down to the sockets.
        ("mule/transport/memory.py", "MemoryTransport._send_datagram", "_carry"),
        ("mule/bench/constancy/wire.py", "SocketTransport._send_datagram", "sendto"),  # the bench's loopback socket
        ("mule/bench/constancy/wire.py", "SocketTransport._send_datagram", "release_at"),
        ("mule/i2p/transport.py", "SamTransport._send_datagram", "send"),
        ("mule/i2p/session.py", "DatagramSession.send", "send_datagram"),
        ("mule/i2p/session.py", "DatagramSession.send", "sendto"),
        ("mule/i2p/session.py", "DatagramSession.send", "udp_datagram"),
        ("mule/i2p/session.py", "DatagramSession.send", "release_at"),
        # The release queue (mule.transport.release): its thread (the pure twin: its helper process, fed over a
        # socket pair) puts each queued datagram on its socket; reached only through release_at, above.
        ("mule/_core/_release_c.pyx", ANYWHERE, "send"),
        ("mule/_core/_release_c.pyx", ANYWHERE, "sendto"),
        ("mule/_core/_release_py.py", ANYWHERE, "send"),
        ("mule/_core/_release_py.py", ANYWHERE, "sendto"),
        ("mule/i2p/session.py", ANYWHERE, "_udp"),  # the session owns its UDP socket (open, close)
        ("mule/i2p/sam_client.py", "SamConnection.send_datagram", "datagram_send_command"),
        ("mule/i2p/sam_client.py", ANYWHERE, "_writer"),  # the connection owns its writer (commands, close)
        ("mule/i2p/sam_protocol.py", "datagram_send_command", DATAGRAM_SEND),
        ("mule/i2p/sam_protocol.py", "udp_datagram", "UDP_DATAGRAM_VERSION"),
        # systemd's readiness datagram goes to the local $NOTIFY_SOCKET (AF_UNIX), never to a network peer.
        ("mule/cli/sdnotify.py", "sd_notify", "sendto"),
    }
)
"""(file, function, name): where a reach is part of the one legitimate path."""

EXEMPT_MODULES = frozenset(
    {"mule/cli/selftest.py", "mule/i2p/testbed.py", "mule/node/testbed_network.py", "mule/bench/constancy/probe.py"}
)
"""Declared exceptions: the self-test, the test bed and the constancy bench's probe (other peers, in a process of
their own) send on their own sockets (never a node's), and may use the wire names. They may not claim a
transport's sender. ``python -m mule run`` never imports them."""

_CYTHON_TOKEN = re.compile(r"\b(" + "|".join(sorted(WATCHED)) + r")\b")
_CYTHON_DEFINITION = re.compile(r"\bc?p?def\b[^(]*\(")


@dataclass(frozen=True, slots=True)
class Reach:
    path: str
    """Relative to the package's parent, with forward slashes (``mule/node/service.py``)."""
    line: int
    name: str
    function: str = ""
    """The enclosing function as ``Class.method`` (``""`` at module level and in Cython sources)."""


class _Finder(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.scope: list[str] = []
        self.found: list[Reach] = []
        self.documentation: set[int] = set()

    def _add(self, node: ast.AST, name: str) -> None:
        self.found.append(Reach(self.path, getattr(node, "lineno", 0), name, ".".join(self.scope)))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            self.documentation.add(id(node.value))  # a bare string is documentation, not bytes for a socket
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in WATCHED:
            self._add(node, node.attr)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in WATCHED - SOCKET_METHODS and not (isinstance(node.ctx, ast.Store) and not self.scope):
            self._add(node, node.id)  # a module constant's own assignment is its definition

    def visit_alias(self, node: ast.alias) -> None:
        name = node.name.rpartition(".")[2]
        if name in WATCHED - SOCKET_METHODS:
            self._add(node, name)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str) or id(node) in self.documentation:
            return
        if value in WATCHED:
            self._add(node, value)
        elif value.upper().startswith(DATAGRAM_SEND):
            self._add(node, DATAGRAM_SEND)

    def visit_Call(self, node: ast.Call) -> None:
        words = [arg.value for arg in node.args[:2] if isinstance(arg, ast.Constant)]
        if words == ["DATAGRAM", "SEND"]:
            self._add(node, DATAGRAM_SEND)
        self.generic_visit(node)


def _python_reaches(tree: ast.AST, path: str) -> list[Reach]:
    finder = _Finder(path)
    finder.visit(tree)
    return finder.found


def send_reaches(package: Path) -> list[Reach]:
    """Every reach in every ``.py``, ``.pyx`` and ``.pxd`` file under ``package``."""
    reaches: list[Reach] = []
    for source in sorted(package.rglob("*")):
        if source.suffix not in {".py", ".pyx", ".pxd"}:
            continue
        path = source.relative_to(package.parent).as_posix()
        text = source.read_text(encoding="utf-8")
        if source.suffix == ".py":
            reaches += _python_reaches(ast.parse(text, filename=str(source)), path)
            continue
        for number, line in enumerate(text.splitlines(), 1):
            code = _CYTHON_DEFINITION.sub("(", line.split("#", 1)[0])  # defining a send method is not a reach
            reaches += [Reach(path, number, match) for match in _CYTHON_TOKEN.findall(code)]
            if DATAGRAM_SEND in code.upper():
                reaches.append(Reach(path, number, DATAGRAM_SEND))
    return reaches


def is_allowed(reach: Reach) -> bool:
    """Allowed in exactly the function named (a function nested in it is another function), or anywhere in
    the file where ``ALLOWED`` says so, or in an exempt module (wire names only)."""
    if reach.path in EXEMPT_MODULES and reach.name not in SEND_NAMES:
        return True
    return any((reach.path, function, reach.name) in ALLOWED for function in (reach.function, ANYWHERE))


def bypasses(package: Path) -> list[Reach]:
    """Reaches outside the allowed places: each one is a way around the shaper."""
    return [reach for reach in send_reaches(package) if not is_allowed(reach)]
