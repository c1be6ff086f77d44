"""Run node services on an event loop until a signal: uvloop where installed, graceful stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop in production (a dependency); the stock loop only where uvloop cannot load."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        log.warning("uvloop is not available: running on the stock asyncio loop")
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_until_signal(main: Callable[[asyncio.Event], Coroutine[Any, Any, int]]) -> int:
    """Run ``main(stop)`` on a fresh loop; SIGINT and SIGTERM set ``stop`` so ``main`` can shut down cleanly."""

    async def wrapper() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            return await main(stop)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(wrapper())
