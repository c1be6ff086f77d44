"""A deterministic virtual clock: time moves only when the test or simulator advances it.

Due callbacks run in (time, scheduling order); while one runs, ``now()`` is exactly
its scheduled time, so timing assertions on virtual time are exact. ``stall`` moves
time on without running anything, as a blocked host would: the overdue callbacks then
run late, at the time of the next ``advance``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from mule.clock.base import HeapTimer


class VirtualClock:
    __slots__ = ("_heap", "_now", "_sequence")

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, HeapTimer]] = []
        self._sequence = itertools.count()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> HeapTimer:
        timer = HeapTimer(callback)
        now = self._now
        heapq.heappush(self._heap, (when if when > now else now, next(self._sequence), timer))
        return timer

    def retry_at(self, aim: float) -> float | None:
        return None

    def pending(self) -> int:
        """Scheduled callbacks not yet run or cancelled."""
        return sum(not timer.cancelled for _, _, timer in self._heap)

    def advance_to(self, when: float) -> None:
        """Move time forward to ``when``, running every callback due on the way, in order."""
        if when < self._now:
            raise ValueError("virtual time never goes backwards")
        heap, pop = self._heap, heapq.heappop
        while heap and heap[0][0] <= when:
            at, _, timer = pop(heap)
            if not timer.cancelled:
                if at > self._now:  # not after a stall, which leaves overdue callbacks at its end
                    self._now = at
                timer.callback()
        self._now = when

    def stall(self, seconds: float) -> None:
        """Let ``seconds`` pass with nothing running (a host-wide stall); overdue callbacks run at the next advance."""
        if seconds < 0:
            raise ValueError("virtual time never goes backwards")
        self._now += seconds

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + seconds)
