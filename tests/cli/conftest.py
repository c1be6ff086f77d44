"""Helpers for command-line tests: the real ``python -m mule`` in a subprocess, with its own HOME (so no test
reads or writes the user's config or data), a scripted SAM bridge in a thread, and a bridge that never answers."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "i2p"))  # the scripted bridge lives with the SAM tests
from fake_bridge import FakeBridge

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


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home)


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


@pytest.fixture
def bridge() -> Iterator[FakeBridge]:
    """A scripted SAM bridge on its own loop in a thread, for the command under test to talk to."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: list[FakeBridge] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        holder.append(loop.run_until_complete(FakeBridge().start()))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield holder[0]
    asyncio.run_coroutine_threadsafe(holder[0].stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture
def silent_bridge() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung router): its port number."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SIGNALS = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
