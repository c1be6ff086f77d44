"""Fixtures for command-line tests: a private HOME per test, a scripted SAM bridge in a thread, and a bridge
that never answers. Helpers live in cli_helpers.py."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "i2p"))  # the scripted bridge lives with the SAM tests
from cli_helpers import Cli
from fake_bridge import FakeBridge


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home)


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
