"""The real clock: time.monotonic() read fresh on every call, timers run on the running asyncio loop (uvloop in
production), woken by a kernel timer (timerfd) aimed at the exact instant.

``now()`` does not use ``loop.time()``: uvloop caches that at millisecond resolution
once per loop iteration, which would hide exactly the lateness we account for.

Why a timerfd: an event loop's own timers wake on a millisecond grid of the host's
monotonic clock (uvloop's libuv timers and asyncio's ``epoll_wait`` both take whole
milliseconds), so every process on a host would hand off at the same phase modulo 1 ms,
and how far that phase spreads would follow the host's load (docs/contract.md,
"Hand-off instants"). The clock instead arms one kernel timer (``mule.clock.timerfd``,
nanosecond aim, no grid) for its earliest timer and lets the loop poll it like a socket:
the loop's own thread wakes straight into the due callbacks. (A waker thread did this
before; its two thread hand-offs and the GIL made wake-ups ten times later at p99.)

That removes the loop's grid, not the kernel's: when the CPU is contended, a thread that
has waited for it often gets it on the scheduler's tick (1 ms, aligned host-wide), so a
*late* wake-up still lands near a fixed phase. ``retry_at`` lets the shaper refuse such a
wake-up (more than ``ON_TIME`` after its aim) and aim again a uniform draw on [0, ``TICK``)
later, by sleeping, not spinning (a spinning thread loses the scheduler's favour to
sleepers and is woken later still): a hand-off then happens only on a wake-up that came
on time for an aim whose phase is uniform, whatever the tick's phase. And one hand-off per
wake-up: messages that fell due together (a wake-up came late, or their aims were close) would
otherwise leave back to back, as far apart as the host's per-send cost, which is the host's
speed and load; ``retry_at`` takes the first and names fresh dithered aims for the others.

Timers are kept in the clock's own heap, ordered by (time, scheduling order). A wake-up
runs every timer whose time has come, in heap order, checking ``now()`` before each: so
a callback never runs early, and never after one scheduled for a later time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

from mule._core import JitterSampler
from mule.clock.base import HeapTimer
from mule.clock.timerfd import TimerFd

ON_TIME = 0.0003
"""A wake-up this much after its aim came through the scheduler late (an uncontended one takes about 0.1 ms
here), so it may sit on the scheduler's tick: ``retry_at`` refuses it."""
TICK = 0.001
"""The kernel's scheduler tick to hide (CONFIG_HZ=1000; a dither over 1 ms also covers 250 and 100 Hz ticks' 1 ms
sub-phase, not their whole period)."""


class LoopClock:
    __slots__ = ("_armed", "_dither", "_handed_off", "_heap", "_sequence", "_timer", "_wake_ups", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self._heap: list[tuple[float, int, HeapTimer]] = []
        self._sequence = itertools.count()
        self._timer: TimerFd | None = None
        """The kernel timer the loop polls, made on first use (a clock nobody schedules on holds no descriptor)."""
        self._armed: float | None = None
        """The instant ``_timer`` is set for, until it fires."""
        self._dither = JitterSampler(0.0, TICK)
        self._wake_ups = 0
        """Wake-ups so far; ``retry_at`` lets one hand-off through per wake-up (``_handed_off`` names the last)."""
        self._handed_off = -1

    def now(self) -> float:
        return time.monotonic()

    def retry_at(self, aim: float) -> float | None:
        now = time.monotonic()
        if now - aim <= ON_TIME and self._handed_off != self._wake_ups:
            self._handed_off = self._wake_ups
            return None
        return now + self._dither.draw()

    def call_at(self, when: float, callback: Callable[[], None]) -> HeapTimer:
        timer = HeapTimer(callback)
        heapq.heappush(self._heap, (when, next(self._sequence), timer))
        if self._heap[0][2] is timer:
            self._wake_up_at(when)
        return timer

    def _wake_up_at(self, when: float) -> None:
        if self._timer is None:
            self._timer = TimerFd()
            self.loop.add_reader(self._timer.fd, self._on_timer)
        if self._armed is None or when < self._armed:
            self._armed = when
            self._timer.arm(when)

    def _on_timer(self) -> None:
        if self._timer is not None:
            self._timer.clear()
        self._armed = None
        self._wake_ups += 1
        self._run_due()

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
