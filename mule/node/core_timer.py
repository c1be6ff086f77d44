"""One clock timer armed at the node core's ``next_tick``, shared by the service and the simulator.

The core says when it next wants waking after every call; the shell keeps a single timer and
moves it only when the core wants waking *earlier*, so a busy node costs one timer, not one per call.
"""

from __future__ import annotations

from collections.abc import Callable

from mule.clock import Clock, Timer


class CoreTimer:
    __slots__ = ("_at", "_clock", "_on_due", "_timer")

    def __init__(self, clock: Clock, on_due: Callable[[], None]) -> None:
        self._clock = clock
        self._on_due = on_due
        self._timer: Timer | None = None
        self._at: float | None = None

    def arm(self, when: float) -> None:
        """Call ``on_due`` at ``when``, unless it is already due at or before then."""
        if self._at is not None and self._at <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._at = when
        self._timer = self._clock.call_at(when, self._fire)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._at = None

    def _fire(self) -> None:
        self._timer = self._at = None
        self._on_due()
