"""The real clock: time.monotonic() read fresh on every call, timers on the running asyncio loop (uvloop in production).

``now()`` does not use ``loop.time()``: uvloop caches that at millisecond resolution
once per loop iteration, which would hide exactly the lateness we account for.

Timers are kept in the clock's own heap, ordered by (time, scheduling order), and the
loop holds a single wake-up for the earliest one. A wake-up runs every timer whose
time has come, in heap order, checking ``now()`` before each: so a callback never runs
early, and never after one scheduled for a later time. (Re-arming each early-fired
loop timer for its remainder, as before, let a later timer overtake it on a loaded
host: loop timers fire in the order of their rounded deadlines, not ours.)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable


class _LoopTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class LoopClock:
    __slots__ = ("_heap", "_sequence", "_wake", "_wake_at", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self._heap: list[tuple[float, int, _LoopTimer]] = []
        self._sequence = itertools.count()
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at: float | None = None

    def now(self) -> float:
        return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], None]) -> _LoopTimer:
        timer = _LoopTimer(callback)
        heapq.heappush(self._heap, (when, next(self._sequence), timer))
        if self._wake_at is None or when < self._wake_at:
            self._wake_up_at(when)
        return timer

    def _wake_up_at(self, when: float) -> None:
        if self._wake is not None:
            self._wake.cancel()
        self._wake_at = when
        self._wake = self.loop.call_later(max(0.0, when - self.now()), self._run_due)

    def _run_due(self) -> None:
        self._wake = self._wake_at = None
        heap = self._heap
        try:
            while heap:
                when, _, timer = heap[0]
                if timer.cancelled:
                    heapq.heappop(heap)
                elif when <= self.now():
                    heapq.heappop(heap)
                    timer.callback()
                else:
                    break
        finally:
            # A callback that raised reaches the loop's exception handler; the timers after it still run.
            if heap and (self._wake_at is None or heap[0][0] < self._wake_at):
                self._wake_up_at(heap[0][0])
