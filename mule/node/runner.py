"""Run node services on an event loop until a signal, at every phase: uvloop where installed; SIGINT/SIGTERM
ask for a graceful stop (a second one forces it); start-up phases are raced against the stop request so a
signal is never left waiting for a router."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
CANCEL_GRACE_S = 1.5
"""How long a cancelled start-up step may take to close what it opened (a SAM socket) before we move on."""
FORCED_EXIT = 130

T = TypeVar("T")


class Stopped(Exception):
    """A stop was requested (SIGINT/SIGTERM) while waiting for a start-up step; the step was cancelled."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop in production (a dependency); the stock loop only where uvloop cannot load."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        log.warning("uvloop is not available: running on the stock asyncio loop")
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _announce(signum: int, first: bool) -> None:
    name = signal.Signals(signum).name
    if first:
        print(f"mule: {name}: stopping (send it again to stop at once)", file=sys.stderr, flush=True)
    else:
        print(f"mule: {name} again: stopping at once", file=sys.stderr, flush=True)


def _log_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An error nobody awaited (a background task's): one WARNING line, the traceback at DEBUG only, so that an
    operator's terminal never shows a traceback for a fault the node survives."""
    exception = context.get("exception")
    detail = f": {exception!r}" if exception else ""
    log.warning("%s%s", context.get("message", "unhandled error in the event loop"), detail)
    if exception is not None:
        log.debug("traceback", exc_info=(type(exception), exception, exception.__traceback__))


def run_until_signal(main: Callable[[asyncio.Event], Coroutine[Any, Any, int]]) -> int:
    """Run ``main(stop)`` on a fresh loop; SIGINT and SIGTERM set ``stop`` so ``main`` can shut down cleanly.

    A second signal ends the process at once (exit 130), for a shutdown that hangs on something outside mule.
    """

    async def wrapper() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_log_loop_exception)

        def on_signal(signum: int) -> None:
            if stop.is_set():
                _announce(signum, first=False)
                os._exit(FORCED_EXIT)
            _announce(signum, first=True)
            stop.set()

        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            return await main(stop)
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(wrapper())


async def unless_stopped(step: Awaitable[T], stop: asyncio.Event) -> T:
    """``await step``, unless ``stop`` is set first: then cancel it, give it ``CANCEL_GRACE_S`` to clean up, and
    raise ``Stopped``."""
    task = asyncio.ensure_future(step)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: a failure while cancelling is not news once we are stopping
    raise Stopped


@contextlib.contextmanager
def interruptible(on_stop: Callable[[], None]) -> Iterator[None]:
    """For blocking start-up code outside an event loop: SIGINT/SIGTERM run ``on_stop`` (which should make the
    blocked call return, e.g. by killing the process it waits for) and raise ``KeyboardInterrupt`` there."""

    def handler(signum: int, frame: object) -> None:
        _announce(signum, first=True)
        on_stop()
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
