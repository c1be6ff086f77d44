"""The real clock: time.monotonic() read fresh on every call, timers run on the running asyncio loop (uvloop in
production), woken by a thread that sleeps until the exact instant.

``now()`` does not use ``loop.time()``: uvloop caches that at millisecond resolution
once per loop iteration, which would hide exactly the lateness we account for.

Why a waker thread: an event loop's own timers wake on a millisecond grid of the host's
monotonic clock (uvloop's libuv timers and asyncio's ``epoll_wait`` both take whole
milliseconds), so every process on a host would hand off at the same phase modulo 1 ms,
and how far that phase spreads would follow the host's load (docs/contract.md,
"Hand-off instants"). The waker sleeps on a monotonic condition-variable wait (sub-
millisecond, no grid) until the earliest timer is due, then posts one wake-up to the loop
(``call_soon_threadsafe``, which wakes the loop at once). Every callback still runs on
the loop's thread: the thread only decides *when*, never touches a timer's work, so
"only the shaper hands bytes to a transport" holds as before.

That removes the loop's grid, not the kernel's: when the CPU is contended, a thread that
has waited for it often gets it on the scheduler's tick (1 ms, aligned host-wide), so a
*late* wake-up still lands near a fixed phase. ``retry_at`` lets the shaper refuse such a
wake-up (more than ``ON_TIME`` after its aim) and aim again a uniform draw on [0, ``TICK``)
later, by sleeping, not spinning (a spinning thread loses the scheduler's favour to
sleepers and is woken later still): a hand-off then happens only on a wake-up that came
on time for an aim whose phase is uniform, whatever the tick's phase.

Timers are kept in the clock's own heap, ordered by (time, scheduling order). A wake-up
runs every timer whose time has come, in heap order, checking ``now()`` before each: so
a callback never runs early, and never after one scheduled for a later time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Callable

from mule._core import JitterSampler

ON_TIME = 0.0003
"""A wake-up this much after its aim came through the scheduler late (an uncontended one takes about 0.1 ms
here), so it may sit on the scheduler's tick: ``retry_at`` refuses it."""
TICK = 0.001
"""The kernel's scheduler tick to hide (CONFIG_HZ=1000; a dither over 1 ms also covers 250 and 100 Hz ticks' 1 ms
sub-phase, not their whole period)."""
IDLE_CHECK = 1.0
"""Seconds the waker waits with nothing to wake before checking that its loop still exists."""


class _LoopTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class LoopClock:
    __slots__ = ("_dither", "_heap", "_sequence", "_signal", "_target", "_waker", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self._heap: list[tuple[float, int, _LoopTimer]] = []
        """Only the loop's thread touches it."""
        self._sequence = itertools.count()
        self._signal = threading.Condition(threading.Lock())
        self._target: float | None = None
        """When the waker should next wake the loop (shared with the waker, under ``_signal``)."""
        self._waker: threading.Thread | None = None
        self._dither = JitterSampler(0.0, TICK)

    def now(self) -> float:
        return time.monotonic()

    def retry_at(self, aim: float) -> float | None:
        now = time.monotonic()
        return None if now - aim <= ON_TIME else now + self._dither.draw()

    def call_at(self, when: float, callback: Callable[[], None]) -> _LoopTimer:
        timer = _LoopTimer(callback)
        heapq.heappush(self._heap, (when, next(self._sequence), timer))
        if self._heap[0][2] is timer:
            self._wake_up_at(when)
        return timer

    def _wake_up_at(self, when: float) -> None:
        with self._signal:
            if self._target is None or when < self._target:
                self._target = when
                self._signal.notify()
        if self._waker is None:
            self._waker = threading.Thread(target=self._wake_loop, name="mule-clock-waker", daemon=True)
            self._waker.start()

    def _wake_loop(self) -> None:
        """The waker thread: sleep until the target instant (re-aimed whenever an earlier one arrives), then post."""
        signal = self._signal
        while True:
            with signal:
                while True:
                    target = self._target
                    if target is None:
                        signal.wait(IDLE_CHECK)
                        if self.loop.is_closed():
                            return
                        continue
                    remaining = target - time.monotonic()
                    if remaining <= 0:
                        break
                    signal.wait(remaining)
                self._target = None
            try:
                self.loop.call_soon_threadsafe(self._run_due)
            except RuntimeError:  # the loop is closed: nothing left to wake
                return

    def _run_due(self) -> None:
        heap = self._heap
        # Only timers already scheduled and due when this wake-up began: what callbacks schedule meanwhile (a
        # deferred hand-off, a chain) waits for the next wake-up, so the loop always gets its turn (no livelock).
        horizon, cutoff = self.now(), next(self._sequence)
        try:
            while heap:
                when, sequence, timer = heap[0]
                if timer.cancelled:
                    heapq.heappop(heap)
                elif when <= horizon and sequence < cutoff:
                    heapq.heappop(heap)
                    timer.callback()
                else:
                    break
        finally:
            # A callback that raised reaches the loop's exception handler; the timers after it still run.
            while heap and heap[0][2].cancelled:
                heapq.heappop(heap)
            if heap:
                self._wake_up_at(heap[0][0])
