"""Finds every place in a source tree that could reach a transport's send function.

A *reach* is any use of one of the send names: an attribute (``t._send_datagram(...)``,
``t.claim_sender()``), a bare name or import of it, or a string literal equal to it
(``getattr(t, "_send_datagram")``). Defining a method with that name is not a reach.
Cython sources cannot be parsed by ``ast``, so they are scanned token by token.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

SEND_NAMES = frozenset({"claim_sender", "_send_datagram", "_transport_send"})
"""The transport's claim and send methods, and the shaper's private handle to the claimed sender."""

ALLOWED = frozenset(
    {
        ("mule/shaper/shaper.py", "claim_sender"),  # the shaper claims the sender once, at construction
        ("mule/shaper/shaper.py", "_transport_send"),  # ... and is the only caller of what it claimed
        ("mule/transport/interface.py", "_send_datagram"),  # claim_sender hands the bound method out
        ("mule/transport/trace.py", "claim_sender"),  # the trace wrapper owns its inner sender; the shaper claims it
    }
)

_CYTHON_TOKEN = re.compile(r"\b(" + "|".join(sorted(SEND_NAMES)) + r")\b")
_CYTHON_DEFINITION = re.compile(r"\bc?p?def\b[^(]*\(")


@dataclass(frozen=True, slots=True)
class Reach:
    path: str
    """Relative to the package's parent, with forward slashes (``mule/node/service.py``)."""
    line: int
    name: str


def _python_reaches(tree: ast.AST, path: str) -> list[Reach]:
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.alias):
            name = node.name.rpartition(".")[2]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value
        if name in SEND_NAMES:
            found.append(Reach(path, getattr(node, "lineno", 0), name))
    return found


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
    return reaches


def bypasses(package: Path) -> list[Reach]:
    """Reaches outside the allowed places: each one is a way around the shaper."""
    return [reach for reach in send_reaches(package) if (reach.path, reach.name) not in ALLOWED]
