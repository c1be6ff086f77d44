"""Fixtures for command-line tests: a private HOME per test, a scripted SAM bridge in a thread, and a bridge
that never answers. Helpers live in cli_helpers.py."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "i2p"))  # the scripted bridge lives with the SAM tests
from cli_helpers import Cli
from fake_bridge import FakeBridge, threaded_bridge


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home)


@pytest.fixture
def bridge() -> Iterator[FakeBridge]:
    """A scripted SAM bridge on its own loop in a thread, for the command under test to talk to."""
    with threaded_bridge() as served:
        yield served.bridge


@pytest.fixture
def silent_bridge() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung router): its port number."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]
