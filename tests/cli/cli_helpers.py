"""Helpers for command-line tests: the real ``python -m mule`` in a subprocess, with its own HOME (so no test
reads or writes the user's config or data). Imported by name (``from cli_helpers import ...``): a module named
``conftest`` is ambiguous when several test folders are collected together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 60.0
"""A hang bound only, never a timing assertion: a run that needs this long has failed anyway."""


@dataclass
class Cli:
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MULE_CONFIG", "XDG_", "NOTIFY_SOCKET"))}
        return env | {"HOME": str(self.home), "PYTHONPATH": str(REPO)} | extra

    def run(self, *args: str, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mule", *args],
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
            env=env or self.env(),
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "mule", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or self.env(),
        )


def wait_for_line(process: subprocess.Popen[str], needle: str, seen: list[str]) -> str:
    """Read stderr lines until one contains ``needle`` (all lines read go to ``seen``)."""
    assert process.stderr is not None
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} never printed; stderr so far:\n{''.join(seen)}")


def stop_with(process: subprocess.Popen[str], signum: int, seen: list[str]) -> int:
    process.send_signal(signum)
    _, rest = process.communicate(timeout=DEADLINE_S)
    seen.append(rest)
    return process.returncode


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SIGNALS = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
