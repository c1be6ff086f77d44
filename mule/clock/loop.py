"""The real clock: time.monotonic() read fresh on every call, timers on the running asyncio loop (uvloop in production).

``now()`` does not use ``loop.time()``: uvloop caches that at millisecond resolution
once per loop iteration, which would hide exactly the lateness we account for.
Loop timers may fire slightly early (uvloop rounds delays to whole milliseconds),
so an early callback is re-armed for the remainder: ``call_at`` never runs early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class _LoopTimer:
    __slots__ = ("_callback", "_clock", "_handle", "_when")

    def __init__(self, clock: LoopClock, when: float, callback: Callable[[], None]) -> None:
        self._clock = clock
        self._when = when
        self._callback = callback
        self._arm()

    def _arm(self) -> None:
        self._handle = self._clock.loop.call_later(max(0.0, self._when - self._clock.now()), self._fire)

    def _fire(self) -> None:
        if self._clock.now() < self._when:
            self._arm()
            return
        self._callback()

    def cancel(self) -> None:
        self._handle.cancel()


class LoopClock:
    __slots__ = ("loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()

    def now(self) -> float:
        return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], None]) -> _LoopTimer:
        return _LoopTimer(self, when, callback)
