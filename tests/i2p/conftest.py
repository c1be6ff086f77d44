"""Fixtures for the SAM tests: each asyncio scenario runs on both event loops (uvloop is production's)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest
import uvloop

sys.path.insert(0, str(Path(__file__).parent))  # fake_bridge beside the tests
from fake_bridge import Run

T = TypeVar("T")


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    """``run(coroutine)`` on a fresh loop of each kind, with a hard time limit so a hang fails fast."""
    factory = asyncio.new_event_loop if request.param == "asyncio" else uvloop.new_event_loop

    def runner(awaitable: Awaitable[T]) -> T:
        async def bounded() -> T:
            async with asyncio.timeout(10):
                return await awaitable

        with asyncio.Runner(loop_factory=factory) as loop_runner:
            return loop_runner.run(bounded())

    return runner
